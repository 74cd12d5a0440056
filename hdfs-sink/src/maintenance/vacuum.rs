//! [`Warehouse::vacuum`]: delete the data files no version needs any more.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use tracing::{debug, info};

use super::{VacuumOptions, VacuumReason, VacuumReport, VacuumedFile, live_adds};
use crate::delta::{LoggedCommit, StoredFile};
use crate::error::{Error, Result};
use crate::marker::now_ms;
use crate::names::{self, DELTA_LOG_DIR};
use crate::warehouse::Warehouse;

impl Warehouse {
    /// Delete the data files no version needs any more: files removed from their table
    /// (e.g. by [`compact`](Self::compact)) longer than [`VacuumOptions::retention`] ago,
    /// and orphans (never referenced by any version) older than the retention. Never a file
    /// the latest version references, never a file modified within the retention (a live
    /// writer's), never a log file. Rules in the [crate docs](crate#table-maintenance).
    ///
    /// Fails with [`Error::NotATable`] if `options.table` names a directory without a log,
    /// and with storage and Delta errors (files deleted before the error stay deleted;
    /// running it again finishes the job).
    pub async fn vacuum(&self, options: &VacuumOptions) -> Result<VacuumReport> {
        let started = Instant::now();
        let inner = &self.inner;
        let tables = match &options.table {
            Some(t) => {
                names::validate_table(t)?;
                vec![t.clone()]
            }
            None => inner.table_names().await?,
        };
        let retention_ms = i64::try_from(options.retention.as_millis()).unwrap_or(i64::MAX);
        let mut report = VacuumReport {
            dry_run: options.dry_run,
            retention: options.retention,
            ..VacuumReport::default()
        };
        for table in &tables {
            self.vacuum_table(table, options, retention_ms, &mut report)
                .await?;
        }
        report.deleted.sort_by(|a, b| a.path.cmp(&b.path));
        report.files_after = report.files_before - report.deleted.len();
        report.bytes_after = report.bytes_before - report.deleted_bytes();
        report.elapsed = started.elapsed();
        info!(
            tables = report.tables, deleted = report.deleted.len(),
            bytes = report.deleted_bytes(), dry_run = options.dry_run,
            elapsed = ?report.elapsed, "vacuum done"
        );
        Ok(report)
    }

    /// Vacuum one table, counting it into `report`.
    async fn vacuum_table(
        &self,
        table: &str,
        options: &VacuumOptions,
        retention_ms: i64,
        report: &mut VacuumReport,
    ) -> Result<()> {
        let inner = &self.inner;
        let log = inner.table_log(table)?;
        let now = now_ms() as i64;
        // Listed before the log is read: a file committed after the listing is then
        // known to the log read.
        let files: Vec<StoredFile> = log
            .list_files()
            .await?
            .into_iter()
            .filter(|f| is_data_file(&f.path))
            .collect();
        let commits = log.commits().await?;
        if commits.is_empty() {
            if options.table.is_some() {
                return Err(Error::NotATable {
                    table: table.to_owned(),
                    url: log.url.to_string(),
                });
            }
            return Ok(());
        }
        let first = classify(&files, &commits, now, retention_ms);
        drop(commits);
        // Read the log again right before deleting: keep what got committed meanwhile.
        let commits = log.commits().await?;
        let second = classify(&files, &commits, now, retention_ms);
        let still: HashSet<(&str, VacuumReason)> = second
            .doomed
            .iter()
            .map(|(f, r)| (f.path.as_str(), *r))
            .collect();
        report.tables += 1;
        report.files_before += files.len();
        report.bytes_before += files.iter().map(|f| f.size).sum::<u64>();
        report.rows += second.rows;
        report.kept_recent += second.kept_recent;
        let mut deleted = 0usize;
        for (f, reason) in &first.doomed {
            if !still.contains(&(f.path.as_str(), *reason)) {
                debug!(table, path = %f.path, "committed meanwhile: kept");
                continue;
            }
            let rel = format!("{table}/{}", f.path);
            if !options.dry_run {
                inner.delete(&rel).await?;
            }
            debug!(table, path = %rel, ?reason, dry_run = options.dry_run, "vacuumed");
            deleted += 1;
            report.deleted.push(VacuumedFile {
                path: rel,
                bytes: f.size,
                modified_ms: f.modified_ms,
                reason: *reason,
            });
        }
        info!(
            table,
            files = files.len(),
            deleted,
            kept_recent = second.kept_recent,
            dry_run = options.dry_run,
            "vacuumed table"
        );
        Ok(())
    }
}

/// A data file of a table: `*.parquet`, not in the log nor in a hidden (`_`/`.`) directory.
fn is_data_file(path: &str) -> bool {
    path.ends_with(".parquet")
        && !path
            .split('/')
            .any(|c| c == DELTA_LOG_DIR || c.starts_with('_') || c.starts_with('.'))
}

/// What vacuum would delete of `files` given the log `commits`.
struct Classified<'a> {
    doomed: Vec<(&'a StoredFile, VacuumReason)>,
    kept_recent: usize,
    rows: u64,
}

fn classify<'a>(
    files: &'a [StoredFile],
    commits: &[LoggedCommit],
    now: i64,
    retention_ms: i64,
) -> Classified<'a> {
    let live = live_adds(commits);
    let active: HashSet<&str> = live.iter().map(|a| a.path.as_str()).collect();
    let ever: HashSet<&str> = commits
        .iter()
        .flat_map(|c| &c.adds)
        .map(|a| a.path.as_str())
        .collect();
    let mut removed_at: HashMap<&str, Option<i64>> = HashMap::new();
    for c in commits {
        for (i, p) in c.removes.iter().enumerate() {
            let at = c.remove_times.get(i).copied().flatten().or(c.timestamp_ms);
            removed_at.insert(p.as_str(), at);
        }
    }
    let old = |t: i64| now.saturating_sub(t) >= retention_ms;
    let mut out = Classified {
        doomed: Vec::new(),
        kept_recent: 0,
        rows: live.iter().filter_map(|a| a.num_records).sum(),
    };
    for f in files {
        let p = f.path.as_str();
        if active.contains(p) {
            continue;
        }
        let reason = if ever.contains(p) {
            VacuumReason::Removed
        } else {
            VacuumReason::Orphan
        };
        let removal_old = match removed_at.get(p) {
            Some(Some(t)) => old(*t),
            // Removed without a known time: the modification time alone decides.
            _ => true,
        };
        if old(f.modified_ms) && (reason == VacuumReason::Orphan || removal_old) {
            out.doomed.push((f, reason));
        } else {
            out.kept_recent += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::add;

    #[test]
    fn vacuum_classification() {
        let file = |path: &str, modified_ms| StoredFile {
            path: path.to_owned(),
            size: 1,
            modified_ms,
        };
        let files = vec![
            file("live.parquet", 0),
            file("old-removed.parquet", 0),
            file("young-removed.parquet", 0),
            file("orphan.parquet", 0),
            file("young-orphan.parquet", 950),
        ];
        let commits = vec![
            LoggedCommit {
                version: 0,
                adds: vec![
                    add("live.parquet", 1),
                    add("old-removed.parquet", 1),
                    add("young-removed.parquet", 1),
                ],
                ..LoggedCommit::default()
            },
            LoggedCommit {
                version: 1,
                removes: vec![
                    "old-removed.parquet".to_owned(),
                    "young-removed.parquet".to_owned(),
                ],
                remove_times: vec![Some(100), Some(960)],
                ..LoggedCommit::default()
            },
        ];
        let c = classify(&files, &commits, 1000, 100);
        let doomed: Vec<(&str, VacuumReason)> = c
            .doomed
            .iter()
            .map(|(f, r)| (f.path.as_str(), *r))
            .collect();
        assert_eq!(
            doomed,
            vec![
                ("old-removed.parquet", VacuumReason::Removed),
                ("orphan.parquet", VacuumReason::Orphan)
            ]
        );
        assert_eq!(c.kept_recent, 2);
        assert_eq!(c.rows, 1);
        assert!(is_data_file("date=2024-01-01/x.parquet"));
        assert!(!is_data_file(
            "_delta_log/00000000000000000100.checkpoint.parquet"
        ));
        assert!(!is_data_file(".tmp/x.parquet"));
        assert!(!is_data_file("x.json"));
    }
}
