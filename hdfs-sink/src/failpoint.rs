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
/// | `write.before_create` | before a temp data file is created |
/// | `write.after_batch` | after each batch is handed to a Parquet writer |
/// | `commit.before_close` | commit entered, files still open |
/// | `commit.after_close` | after each temp file is closed (complete on the storage) |
/// | `commit.before_rename` | before each data file rename |
/// | `commit.after_rename` | after each data file rename |
/// | `commit.before_marker` | all data in place, marker not written |
/// | `commit.marker_written` | marker written under `_tmp/`, not yet renamed |
/// | `commit.after_marker` | marker renamed into `_commits/` (range committed), before cleanup |
/// | `commit.after_cleanup` | after the temp directory is removed |
/// | `recover.before_delete` | before each delete made by recovery |
/// | `recover.after_delete` | after each delete made by recovery |
/// | `abort.before_delete` | before an aborted range's temp directory is deleted |
pub const FAILPOINTS: &[&str] = &[
    "write.before_create",
    "write.after_batch",
    "commit.before_close",
    "commit.after_close",
    "commit.before_rename",
    "commit.after_rename",
    "commit.before_marker",
    "commit.marker_written",
    "commit.after_marker",
    "commit.after_cleanup",
    "recover.before_delete",
    "recover.after_delete",
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
