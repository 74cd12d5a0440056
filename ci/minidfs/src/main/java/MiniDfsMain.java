// A long-running MiniDFSCluster (one real NameNode + DataNodes in this JVM) for the test
// cluster. Started by scripts/test-cluster; compiled there with javac (Java 17).
//
// usage: MiniDfsMain <baseDir> <nnRpcPort> <nnHttpPort> <numDataNodes> <readyFile> [-Dkey=value ...]
//
// Everything binds 127.0.0.1. After waitActive() it makes "/" world-writable (so any local
// user can create the warehouse root while permissions stay on), then writes <readyFile>
// (JSON, atomically) and keeps running until SIGTERM, when it shuts the cluster down.
// Creating <readyFile>.restart (or SIGHUP) restarts the NameNode in place (same ports, same
// metadata; the DataNode re-registers) and rewrites <readyFile> when it is active again:
// `scripts/test-cluster restart namenode`. The file is the reliable trigger: a JVM started
// with SIGHUP ignored (under nohup, say) never sees the signal.
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CountDownLatch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.datanode.DataNode;

public class MiniDfsMain {
    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: MiniDfsMain <baseDir> <nnRpcPort> <nnHttpPort> <numDataNodes> <readyFile> [-Dk=v ...]");
            System.exit(2);
        }
        String baseDir = args[0];
        int rpcPort = Integer.parseInt(args[1]);
        int httpPort = Integer.parseInt(args[2]);
        int numDataNodes = Integer.parseInt(args[3]);
        Path ready = new File(args[4]).toPath();
        Files.deleteIfExists(ready);

        Configuration conf = new HdfsConfiguration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir);
        conf.set("dfs.replication", Integer.toString(Math.min(numDataNodes, 3)));
        conf.set("dfs.blocksize", "16777216"); // 16 MiB, as hdfs-native's own MiniDFS
        conf.set("dfs.namenode.http-address", "127.0.0.1:" + httpPort);
        conf.set("dfs.datanode.hostname", "127.0.0.1");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        conf.set("dfs.webhdfs.enabled", "true");
        // The NameNode must not drop into safe mode on a busy dev disk.
        conf.set("dfs.namenode.resource.du.reserved", "10485760");
        for (int i = 5; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-D") || !a.contains("=")) {
                throw new IllegalArgumentException("expected -Dkey=value, got " + a);
            }
            int eq = a.indexOf('=');
            conf.set(a.substring(2, eq), a.substring(eq + 1));
        }

        MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf)
                .nameNodePort(rpcPort)
                .nameNodeHttpPort(httpPort)
                .numDataNodes(numDataNodes)
                .format(true)
                .checkDataNodeAddrConfig(true)
                .checkDataNodeHostConfig(true)
                .build();
        dfs.waitActive();

        FileSystem fs = dfs.getFileSystem();
        fs.setPermission(new org.apache.hadoop.fs.Path("/"), new FsPermission((short) 0777));

        // SIGTERM/SIGINT: shut the cluster down on the main thread, before the JVM's shutdown
        // hooks run (Hadoop's own hooks object to a MiniDFSCluster closed from inside a hook).
        CountDownLatch stop = new CountDownLatch(1);
        sun.misc.SignalHandler onSignal = sig -> stop.countDown();
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), onSignal);
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), onSignal);
        java.util.concurrent.atomic.AtomicBoolean restart = new java.util.concurrent.atomic.AtomicBoolean();
        sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> restart.set(true));

        StringBuilder dns = new StringBuilder();
        for (DataNode dn : dfs.getDataNodes()) {
            if (dns.length() > 0) dns.append(',');
            dns.append('"').append(dn.getXferAddress().getAddress().getHostAddress())
               .append(':').append(dn.getXferPort()).append('"');
        }
        String json = "{\"namenode_rpc\":\"hdfs://127.0.0.1:" + dfs.getNameNodePort() + "\","
                + "\"namenode_http\":\"http://127.0.0.1:" + httpPort + "\","
                + "\"datanodes\":[" + dns + "],"
                + "\"superuser\":\"" + System.getProperty("user.name") + "\","
                + "\"pid\":" + ProcessHandle.current().pid() + "}\n";
        Path tmp = ready.resolveSibling(ready.getFileName() + ".tmp");
        Files.write(tmp, json.getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, ready, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        System.err.println("MiniDfsMain: READY " + json.trim());

        // Run until SIGTERM; exit non-zero if the cluster dies on its own.
        Path restartRequest = ready.resolveSibling(ready.getFileName() + ".restart");
        while (!stop.await(200, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            if (restart.getAndSet(false) | Files.deleteIfExists(restartRequest)) {
                Files.deleteIfExists(ready);
                System.err.println("MiniDfsMain: SIGHUP: restarting the NameNode");
                dfs.restartNameNode(true);
                dfs.waitActive();
                Files.write(tmp, json.getBytes(StandardCharsets.UTF_8));
                Files.move(tmp, ready, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                System.err.println("MiniDfsMain: NameNode restarted, READY again");
                continue;
            }
            if (!dfs.isClusterUp()) {
                System.err.println("MiniDfsMain: cluster is no longer up, exiting");
                System.exit(1);
            }
        }
        System.err.println("MiniDfsMain: signal received, shutting down the MiniDFSCluster");
        dfs.shutdown(true);
        System.err.println("MiniDfsMain: stopped");
        System.exit(0);
    }
}
