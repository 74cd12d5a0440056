//! Child processes with a deadline: a hung child fails its own test, with its stack and its
//! stderr so far, instead of holding up the whole suite until CI's limit.

#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a child left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stderr: String,
}

/// Spawn `cmd` (stderr piped, stdout discarded) and wait for it at most `limit`; see
/// [`wait_within`].
pub fn run_within(cmd: &mut Command, limit: Duration) -> Result<Finished, String> {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {:?}: {e}", cmd.get_program()))?;
    wait_within(child, limit)
}

/// Wait for `child` (stderr piped) at most `limit`. Past it, the child's threads' stacks are
/// taken with gdb (when installed), the child is killed, and the error carries both and the
/// stderr it wrote.
pub fn wait_within(mut child: Child, limit: Duration) -> Result<Finished, String> {
    let stderr = child.stderr.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let Some(status) = status else {
        let stacks = stacks_of(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let err = stderr
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        return Err(format!(
            "child {} still running after {limit:?}: killed.\nits stderr:\n{err}\nits threads:\n{stacks}",
            child.id()
        ));
    };
    let stderr = stderr
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    Ok(Finished { status, stderr })
}

/// Every thread's backtrace of process `pid`, by gdb in batch mode (empty without gdb).
fn stacks_of(pid: u32) -> String {
    Command::new("gdb")
        .args([
            "-p",
            &pid.to_string(),
            "-batch",
            "-ex",
            "thread apply all bt 30",
        ])
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("(no stacks: gdb: {e})"))
}
