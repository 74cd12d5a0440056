//! Smoke test against a real HDFS (the MiniDFS of `scripts/test-cluster up`), with the
//! hdfs-native client directly: create a directory, write a file, read it back, rename,
//! list, delete; plus a file larger than one block (the test cluster uses 16 MiB blocks).
//!
//! Runs only with `--features it`; the NameNode is `$IT_HDFS_URL` (default hdfs://127.0.0.1:9000).
#![cfg(feature = "it")]

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hdfs_native::{Client, ClientBuilder, WriteOptions};

fn hdfs_url() -> String {
    std::env::var("IT_HDFS_URL").unwrap_or_else(|_| "hdfs://127.0.0.1:9000".to_string())
}

fn client() -> Client {
    ClientBuilder::new()
        .with_url(hdfs_url())
        .build()
        .unwrap_or_else(|e| panic!("hdfs client for {}: {e}", hdfs_url()))
}

/// A directory no other run has used.
fn unique_dir(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("/it-smoke/{name}-{nanos}-{}", std::process::id())
}

async fn write_file(client: &Client, path: &str, data: Bytes) {
    let mut writer = client
        .create(path, WriteOptions::default())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create {path} on {}: {e} (is the test cluster up? scripts/test-cluster up)",
                hdfs_url()
            )
        });
    // Several writes, as a Parquet writer would do.
    let mut rest = data;
    while !rest.is_empty() {
        let chunk = rest.split_to(rest.len().min(1024 * 1024));
        let n = writer.write(chunk.clone()).await.expect("write");
        assert_eq!(n, chunk.len());
    }
    writer.close().await.expect("close");
}

async fn read_file(client: &Client, path: &str) -> Bytes {
    let reader = client.read(path).await.expect("open for read");
    reader
        .read_range(0, reader.file_length())
        .await
        .expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_write_read_rename_list_delete() {
    let client = client();
    let dir = unique_dir("files");

    client.mkdirs(&dir, 0o755, true).await.expect("mkdirs");
    let info = client.get_file_info(&dir).await.expect("stat dir");
    assert!(info.isdir);

    // write + read back
    let tmp = format!("{dir}/_tmp/part-0.bin");
    let data = Bytes::from_static(b"assessment events, byte for byte\n\x00\x01\x02\xff");
    write_file(&client, &tmp, data.clone()).await;
    let info = client.get_file_info(&tmp).await.expect("stat file");
    assert!(!info.isdir);
    assert_eq!(info.length, data.len());
    assert_eq!(read_file(&client, &tmp).await, data);

    // creating it again without overwrite fails: the file exists
    assert!(
        client.create(&tmp, WriteOptions::default()).await.is_err(),
        "create without overwrite must fail on an existing file"
    );

    // rename without overwrite: what a Delta log commit on HDFS relies on (a version file
    // is created by renaming a temp file onto `_delta_log/<version>.json`, refused if taken)
    let table = format!("{dir}/raw/_delta_log");
    client.mkdirs(&table, 0o755, true).await.expect("mkdirs");
    let final_path = format!("{table}/00000000000000000001.json");
    client
        .rename(&tmp, &final_path, false)
        .await
        .expect("rename");
    assert!(client.get_file_info(&tmp).await.is_err(), "source is gone");
    assert_eq!(read_file(&client, &final_path).await, data);
    write_file(&client, &tmp, data.clone()).await;
    assert!(
        client.rename(&tmp, &final_path, false).await.is_err(),
        "a taken version is refused"
    );
    client.delete(&tmp, false).await.expect("delete tmp");

    // list
    let listed = client.list_status(&table, false).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(names, vec![final_path.as_str()], "listing of {table}");
    assert_eq!(listed[0].length, data.len());
    let all = client
        .list_status(&dir, true)
        .await
        .expect("list recursive");
    assert!(all.iter().any(|s| s.path == final_path));

    // delete
    assert!(
        client
            .delete(&final_path, false)
            .await
            .expect("delete file")
    );
    assert!(client.get_file_info(&final_path).await.is_err());
    assert!(client.delete(&dir, true).await.expect("delete dir"));
    assert!(client.get_file_info(&dir).await.is_err(), "dir is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_larger_than_one_block_round_trips() {
    let client = client();
    let dir = unique_dir("blocks");
    let path = format!("{dir}/big.bin");

    // 20 MiB: more than one 16 MiB block in the test cluster.
    let data: Bytes = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect::<Vec<u8>>()
        .into();
    write_file(&client, &path, data.clone()).await;
    let info = client.get_file_info(&path).await.expect("stat");
    assert_eq!(info.length, data.len());
    let back = read_file(&client, &path).await;
    assert_eq!(back.len(), data.len());
    assert!(back == data, "20 MiB file read back intact");

    assert!(client.delete(&dir, true).await.expect("delete"));
}
