//! Crash-testing hooks.
//!
//! When the environment variable `SINK_CRASH_AT` is set to `<point>` or `<point>:<n>`, the
//! process calls [`std::process::abort`] (no destructor, no flush: like `SIGKILL`) the `n`-th
//! time (default 1st) execution reaches the failpoint named `<point>`. The variable is read once;
//! when it is unset a failpoint costs one atomic load. Points are listed in [`FAILPOINTS`].

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every failpoint, in protocol order.
///
/// | point | where |
/// |---|---|
/// | `write.before_create` | before a data file is created (in its table directory) |
/// | `write.after_batch` | after each batch is handed to a Parquet writer |
/// | `commit.before_close` | commit entered, files still open |
/// | `commit.after_close` | after each data file is closed (complete on the storage) |
/// | `commit.before_log` | before each table's Delta commit (earlier tables committed) |
/// | `commit.after_log` | after each table's Delta commit (later tables not committed) |
/// | `commit.after_all` | every table committed, in-memory state not yet updated |
/// | `commit.after_cleanup` | commit done, before it returns |
/// | `abort.before_delete` | before an aborted range's files are deleted |
pub const FAILPOINTS: &[&str] = &[
    "write.before_create",
    "write.after_batch",
    "commit.before_close",
    "commit.after_close",
    "commit.before_log",
    "commit.after_log",
    "commit.after_all",
    "commit.after_cleanup",
    "abort.before_delete",
];

/// Environment variable read by the failpoints.
pub const ENV_VAR: &str = "SINK_CRASH_AT";

static SPEC: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

fn spec() -> &'static Option<(String, u64)> {
    SPEC.get_or_init(|| {
        let v = std::env::var(ENV_VAR).ok()?;
        let (point, n) = match v.split_once(':') {
            Some((p, n)) => (p.to_owned(), n.parse().unwrap_or(1)),
            None => (v, 1),
        };
        Some((point, n.max(1)))
    })
}

/// Abort the process here if `SINK_CRASH_AT` selects this point and hit count.
pub(crate) fn hit(point: &'static str) {
    if let Some((p, n)) = spec()
        && p == point
    {
        let count = HITS.fetch_add(1, Ordering::SeqCst) + 1;
        if count == *n {
            eprintln!("hdfs-sink failpoint: aborting at {point}:{n}");
            std::process::abort();
        }
    }
}
