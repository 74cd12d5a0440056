//! Table maintenance: [`Warehouse::compact`] (module `compact`) and [`Warehouse::vacuum`]
//! (module `vacuum`). The rules are in the crate docs ("Table maintenance").

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::delta::{LoggedAdd, LoggedCommit};
use crate::error::{ConfigError, Error, Result};
#[cfg(doc)]
use crate::warehouse::Warehouse;

mod compact;
mod vacuum;

/// Default [`CompactOptions::target_file_bytes`]: 128 MiB.
pub const DEFAULT_TARGET_FILE_BYTES: u64 = 128 << 20;

/// Default [`VacuumOptions::retention`]: 7 days (Delta's default file retention).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How [`Warehouse::compact`] packs files (rules in the [crate docs](crate#table-maintenance)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactOptions {
    /// Target size of a compacted file in bytes (sum of its input files' sizes). Files of at
    /// least half of it are left alone. Default [`DEFAULT_TARGET_FILE_BYTES`] (128 MiB).
    pub target_file_bytes: u64,
    /// Commit attempts before giving up when concurrent commits keep taking the next version
    /// (each attempt first checks the versions committed in between). Default 100.
    pub max_attempts: u32,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self {
            target_file_bytes: DEFAULT_TARGET_FILE_BYTES,
            max_attempts: 100,
        }
    }
}

impl CompactOptions {
    /// Set [`target_file_bytes`](Self::target_file_bytes).
    pub fn with_target_file_bytes(mut self, bytes: u64) -> Self {
        self.target_file_bytes = bytes;
        self
    }

    /// Set [`max_attempts`](Self::max_attempts).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.target_file_bytes < 2 {
            return Err(Error::Config(ConfigError::Invalid {
                field: "compact.target_file_bytes",
                reason: format!("must be at least 2 bytes, got {}", self.target_file_bytes),
            }));
        }
        if self.max_attempts == 0 {
            return Err(Error::Config(ConfigError::Invalid {
                field: "compact.max_attempts",
                reason: "must be at least 1".to_owned(),
            }));
        }
        Ok(())
    }
}

/// How a table's compaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompactOutcome {
    /// The rewrite is committed as this table version.
    Committed {
        /// The table version of the `OPTIMIZE` commit.
        version: i64,
    },
    /// No partition has two small files to pack: nothing written, nothing committed.
    NothingToDo,
    /// A concurrent change conflicts with the rewrite (it removed a file being rewritten,
    /// changed the table's metadata or protocol), or the commit lost the race for the next
    /// version too often: the files written were deleted, the table is unchanged. Running
    /// the compaction again starts from the new state.
    GaveUp {
        /// What conflicted.
        reason: String,
    },
}

/// What [`Warehouse::compact`] did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactReport {
    /// The table.
    pub table: String,
    /// How it ended.
    pub outcome: CompactOutcome,
    /// Active files of the version the compaction read.
    pub files_before: usize,
    /// Active files after the compaction's commit (the read version's, minus rewritten, plus
    /// written; ranges committed concurrently not counted). Equals `files_before` unless
    /// committed.
    pub files_after: usize,
    /// Bytes of the active files of the version read.
    pub bytes_before: u64,
    /// Bytes of the active files after the commit (see `files_after`).
    pub bytes_after: u64,
    /// Rows of the active files of the version read (from the log's `numRecords`): what a
    /// reader sees, before and after.
    pub rows: u64,
    /// Files rewritten (removed by the commit); 0 unless committed.
    pub files_rewritten: usize,
    /// Files written (added by the commit); 0 unless committed.
    pub files_written: usize,
    /// Bytes of the rewritten files.
    pub bytes_rewritten: u64,
    /// Bytes of the written files.
    pub bytes_written: u64,
    /// Rows rewritten.
    pub rows_rewritten: u64,
    /// Directories (date partitions, or the table directory) compacted.
    pub partitions: usize,
    /// Commit attempts (0 if nothing was committed or attempted).
    pub attempts: u32,
    /// Time spent.
    pub elapsed: Duration,
}

/// What [`Warehouse::vacuum`] considers (rules in the [crate docs](crate#table-maintenance)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumOptions {
    /// Files modified, or removed from the table, less than this long ago are kept. Default
    /// [`DEFAULT_RETENTION`] (7 days). Keep it far above the longest time a range stays open
    /// (the rotation interval) and the longest query.
    pub retention: Duration,
    /// Only list what would be deleted. Default `false`.
    pub dry_run: bool,
    /// Only this table. Default: every table of the warehouse.
    pub table: Option<String>,
}

impl Default for VacuumOptions {
    fn default() -> Self {
        Self {
            retention: DEFAULT_RETENTION,
            dry_run: false,
            table: None,
        }
    }
}

impl VacuumOptions {
    /// Set [`retention`](Self::retention).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Set [`dry_run`](Self::dry_run).
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Set [`table`](Self::table).
    pub fn with_table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }
}

/// Why [`Warehouse::vacuum`] deletes a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum VacuumReason {
    /// An earlier version referenced it, a later one removed it (e.g. a compaction), longer
    /// ago than the retention.
    Removed,
    /// No version ever referenced it (a crashed writer's or an uncommitted compaction's
    /// file), and it is older than the retention.
    Orphan,
}

/// A file [`Warehouse::vacuum`] deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumedFile {
    /// Path relative to the warehouse root.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Last modification, milliseconds since the epoch.
    pub modified_ms: i64,
    /// Why.
    pub reason: VacuumReason,
}

/// What [`Warehouse::vacuum`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumReport {
    /// Whether nothing was deleted (only listed).
    pub dry_run: bool,
    /// The retention applied.
    pub retention: Duration,
    /// Tables vacuumed.
    pub tables: usize,
    /// Data files in the tables' directories, before.
    pub files_before: usize,
    /// Data files after (in a dry run: as there would be).
    pub files_after: usize,
    /// Bytes of the data files before.
    pub bytes_before: u64,
    /// Bytes of the data files after (in a dry run: as there would be).
    pub bytes_after: u64,
    /// Rows of the tables' latest versions (from the log's `numRecords`): unchanged.
    pub rows: u64,
    /// The files deleted (in a dry run: that would be), sorted by path.
    pub deleted: Vec<VacuumedFile>,
    /// Unreferenced or removed data files kept because they are younger than the retention.
    pub kept_recent: usize,
    /// Time spent.
    pub elapsed: Duration,
}

impl VacuumReport {
    /// Bytes of [`deleted`](Self::deleted).
    pub fn deleted_bytes(&self) -> u64 {
        self.deleted.iter().map(|f| f.bytes).sum()
    }

    /// How many deleted files had `reason`.
    pub fn count(&self, reason: VacuumReason) -> usize {
        self.deleted.iter().filter(|f| f.reason == reason).count()
    }
}

/// The active files of the latest version, in the order they were added.
fn live_adds(commits: &[LoggedCommit]) -> Vec<LoggedAdd> {
    let mut order: Vec<String> = Vec::new();
    let mut live: HashMap<String, LoggedAdd> = HashMap::new();
    for c in commits {
        for r in &c.removes {
            live.remove(r);
        }
        for a in &c.adds {
            if live.insert(a.path.clone(), a.clone()).is_none() {
                order.push(a.path.clone());
            }
        }
    }
    let mut seen = HashSet::new();
    order
        .into_iter()
        .filter(|p| seen.insert(p.clone()))
        .filter_map(|p| live.remove(&p))
        .collect()
}

#[cfg(test)]
fn add(path: &str, size: u64) -> LoggedAdd {
    LoggedAdd {
        path: path.to_owned(),
        size,
        num_records: Some(1),
        partition_values: std::collections::BTreeMap::new(),
    }
}
