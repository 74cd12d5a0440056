//! The Delta log of each table, through delta-rs: creating tables, reading the application
//! transaction of a partition, committing a range's Add actions with its transaction, and
//! reading the commits back (for recovery, markers and verification).
//!
//! delta-rs owns only the log (`_delta_log/`): data files are encoded and written by this
//! crate. Every commit of this crate carries an `hdfsSink` entry in its commitInfo (see
//! [`SinkMeta`]), so that a table's log alone says which offsets each version covers.

use std::collections::{BTreeMap, HashMap};
use std::future::IntoFuture as _;
use std::sync::Once;
use std::time::Duration;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use deltalake_core::kernel::engine::arrow_conversion::TryFromArrow;
use deltalake_core::kernel::transaction::TransactionError;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitConflictError, CommitProperties};
use deltalake_core::kernel::{Action, Add, StructField, StructType, Transaction};
use deltalake_core::logstore::LogStoreRef;
use deltalake_core::operations::create::CreateBuilder;
use deltalake_core::protocol::{DeltaOperation, OutputMode, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableBuilder, DeltaTableError, TableProperty};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};
use url::Url;

use crate::checkpoint;
use crate::config::DatePartitioning;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::names::TopicPartition;

/// How many times a log operation that stalled past the op timeout is tried again on fresh
/// storage connections before [`Error::LogTimeout`] is returned.
const STALL_RETRIES: u32 = 2;

/// Key of this crate's entry in a commitInfo.
pub(crate) const COMMIT_INFO_KEY: &str = "hdfsSink";

/// Key of the commitInfo entry of a maintenance commit (compaction): deliberately not
/// [`COMMIT_INFO_KEY`], so recovery, markers and verification never take it for a range.
pub(crate) const MAINTENANCE_INFO_KEY: &str = "hdfsSinkMaintenance";

/// Application id of a Kafka partition in the tables' `txn` actions.
pub(crate) fn app_id(tp: &TopicPartition) -> String {
    format!("kafka/{}/{}", tp.topic, tp.partition)
}

/// Parse an application id made by [`app_id`].
pub(crate) fn parse_app_id(id: &str) -> Option<TopicPartition> {
    let rest = id.strip_prefix("kafka/")?;
    let (topic, p) = rest.rsplit_once('/')?;
    Some(TopicPartition::new(topic, p.parse().ok()?))
}

/// Register delta-rs's `hdfs://` handlers, once per process, before the first HDFS table URL
/// is opened.
pub(crate) fn register_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| deltalake_hdfs::register_handlers(None));
}

/// This crate's part of a commitInfo: what the version covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SinkMeta {
    /// Format version, currently 1.
    pub(crate) version: u32,
    /// `"range"` (landed rows) or `"gap"` (accepted missing offsets).
    pub(crate) kind: String,
    pub(crate) topic: String,
    pub(crate) partition: i32,
    /// First offset of the range as cut by the writer.
    pub(crate) start: i64,
    /// Last offset (inclusive); the table's txn version after this commit.
    pub(crate) end: i64,
    /// First offset this table's commit covers: `start`, or later when the table had already
    /// committed the beginning of the range (its rows there were dropped).
    pub(crate) table_start: i64,
    /// The writer's nonce, shared by the commits of all tables of one range.
    pub(crate) nonce: String,
    /// Rows of every table of the range over `start..=end`, as the writer received them
    /// (before rows already committed were dropped): the balance rules check these.
    pub(crate) rows: BTreeMap<String, u64>,
    /// Why a gap is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// Milliseconds since the epoch.
    pub(crate) committed_at_ms: u64,
}

/// An Add action as read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggedAdd {
    /// Relative to the table directory (decoded).
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) num_records: Option<u64>,
    /// The Add's partition values (`None`: null).
    pub(crate) partition_values: BTreeMap<String, Option<String>>,
}

/// One version of a table's log.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoggedCommit {
    pub(crate) version: i64,
    pub(crate) sink: Option<SinkMeta>,
    pub(crate) adds: Vec<LoggedAdd>,
    pub(crate) removes: Vec<String>,
    /// The `deletionTimestamp` of each Remove (same order as `removes`), if it has one.
    pub(crate) remove_times: Vec<Option<i64>>,
    pub(crate) txns: Vec<(String, i64)>,
    /// The commitInfo's `timestamp` (milliseconds since the epoch).
    pub(crate) timestamp_ms: Option<i64>,
    /// The version carries a `metaData` or `protocol` action (schema, partitioning or
    /// protocol change).
    pub(crate) changes_metadata: bool,
    /// The nonce of a maintenance commit (its [`MAINTENANCE_INFO_KEY`] entry).
    pub(crate) maintenance_nonce: Option<String>,
}

/// What a table's txn version must be for a commit to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Exactly this version (`None`: no txn for the partition yet).
    Exactly(Option<i64>),
    /// The partition's state was not recovered by this process: no txn, or `start - 1`.
    NoneOrBefore(i64),
}

impl Expect {
    fn accepts(self, found: Option<i64>) -> bool {
        match self {
            Expect::Exactly(v) => v == found,
            Expect::NoneOrBefore(start) => found.is_none() || found == Some(start - 1),
        }
    }

    pub(crate) fn shown(self) -> Option<i64> {
        match self {
            Expect::Exactly(v) => v,
            Expect::NoneOrBefore(start) => (start > 0).then_some(start - 1),
        }
    }
}

/// The Delta side of one table: its URL, and a loaded `DeltaTable` plus the commits read so
/// far (both refreshed incrementally).
pub(crate) struct TableLog {
    pub(crate) name: String,
    pub(crate) url: Url,
    storage_options: HashMap<String, String>,
    /// Limit of one log operation (a commit, with delta-rs's retries: four times this).
    op_timeout: Duration,
    state: tokio::sync::Mutex<LogState>,
    /// Set once [`ensure`](Self::ensure) succeeded in this process.
    ensured: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct LogState {
    table: Option<DeltaTable>,
    /// Versions `0..commits.len()`, read by [`TableLog::commits`].
    commits: Vec<LoggedCommit>,
    /// The latest txn version of each app id as of version `txns_at` (`None`: not read yet).
    txns: BTreeMap<String, i64>,
    txns_at: Option<i64>,
}

impl std::fmt::Debug for TableLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableLog")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// Map a delta-rs error at the crate boundary.
pub(crate) fn delta_error(
    table: &str,
    url: &Url,
    version: Option<i64>,
    e: DeltaTableError,
) -> Error {
    Error::Delta {
        table: table.to_owned(),
        url: url.to_string(),
        version,
        source: Box::new(e),
    }
}

impl TableLog {
    pub(crate) fn new(
        name: &str,
        url: Url,
        storage_options: HashMap<String, String>,
        op_timeout: Duration,
    ) -> Self {
        if url.scheme() != "file" {
            register_handlers();
        }
        Self {
            name: name.to_owned(),
            url,
            storage_options,
            op_timeout,
            state: tokio::sync::Mutex::new(LogState::default()),
            ensured: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn err(&self, version: Option<i64>, e: DeltaTableError) -> Error {
        delta_error(&self.name, &self.url, version, e)
    }

    fn not_a_table(&self) -> Error {
        Error::NotATable {
            table: self.name.clone(),
            url: self.url.to_string(),
        }
    }

    /// `fut`'s result, its error mapped by `map_err`, unless it takes longer than `limit`:
    /// then [`Error::LogTimeout`].
    async fn bounded<T, E>(
        &self,
        op: impl FnOnce() -> String,
        limit: Duration,
        fut: impl Future<Output = std::result::Result<T, E>>,
        map_err: impl FnOnce(E) -> Error,
    ) -> Result<T> {
        match tokio::time::timeout(limit, fut).await {
            Ok(r) => r.map_err(map_err),
            Err(_) => Err(Error::LogTimeout {
                table: self.name.clone(),
                url: self.url.to_string(),
                op: op(),
                after: limit,
            }),
        }
    }

    fn stalls(&self, reopening: &'static str) -> Stalls<'_> {
        Stalls {
            log: self,
            reopening,
            count: 0,
        }
    }

    /// `read` on the log store of the loaded table `t`, bounded by `limit` (see
    /// [`bounded`](Self::bounded)); a read that stalls is done again through a fresh log store
    /// (new storage connections), up to [`STALL_RETRIES`] times.
    async fn on_store<T, E, Fut>(
        &self,
        t: &DeltaTable,
        op: impl Fn() -> String + Sync,
        limit: Duration,
        read: impl Fn(LogStoreRef) -> Fut + Sync,
        map_err: impl Fn(E) -> Error + Sync,
    ) -> Result<T>
    where
        Fut: Future<Output = std::result::Result<T, E>> + Send,
        T: Send,
        E: Send,
    {
        let mut stalls = self.stalls("reading through a fresh store");
        let mut store = t.log_store();
        loop {
            let r = self
                .bounded(&op, limit, read(store.clone()), &map_err)
                .await;
            if !stalls.retry(&r) {
                return r;
            }
            store = self.fresh_table()?.log_store();
        }
    }

    fn builder(&self) -> Result<DeltaTableBuilder> {
        Ok(DeltaTableBuilder::from_url(self.url.clone())
            .map_err(|e| self.err(None, e))?
            .with_storage_options(self.storage_options.clone()))
    }

    /// A table with new storage connections, not loaded.
    fn fresh_table(&self) -> Result<DeltaTable> {
        self.builder()?.build().map_err(|e| self.err(None, e))
    }

    /// Load (or refresh) the table. `Ok(false)` if it is not a Delta table (no log). A load
    /// that stalls past the op timeout is tried again on a fresh table (new storage
    /// connections), up to [`STALL_RETRIES`] times.
    async fn refresh(&self, st: &mut LogState) -> Result<bool> {
        let mut stalls = self.stalls("reopening the table");
        loop {
            let r = self.refresh_once(st).await;
            if !stalls.retry(&r) {
                return r;
            }
            st.table = None;
        }
    }

    async fn refresh_once(&self, st: &mut LogState) -> Result<bool> {
        if let Some(t) = st.table.as_mut() {
            let update = t.update_incremental(None);
            self.bounded(
                || "refresh".to_owned(),
                self.op_timeout,
                update,
                |e| self.err(None, e),
            )
            .await?;
            return Ok(true);
        }
        let mut t = self.fresh_table()?;
        let load = async {
            match t.load().await {
                Ok(()) => Ok(true),
                Err(DeltaTableError::NotATable(_)) => Ok(false),
                Err(e) => Err(e),
            }
        };
        let loaded = self
            .bounded(
                || "load".to_owned(),
                self.op_timeout,
                load,
                |e| self.err(None, e),
            )
            .await?;
        if loaded {
            st.table = Some(t);
        }
        Ok(loaded)
    }

    /// The Delta schema of a table landed from `schema`: its columns, plus the date partition
    /// key (type `date`) if partitioned. Data files do not hold the partition column: readers
    /// take it from the Add actions' partition values.
    pub(crate) fn delta_schema(
        &self,
        schema: &SchemaRef,
        part: Option<&DatePartitioning>,
    ) -> Result<StructType> {
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        if let Some(p) = part {
            fields.push(Field::new(&p.key, DataType::Date32, true));
        }
        let arrow = Schema::new(fields);
        StructType::try_from_arrow(&arrow).map_err(|e| Error::IncompatibleSchema {
            table: self.name.clone(),
            url: self.url.to_string(),
            reason: format!("the Arrow schema has no Delta equivalent: {e}"),
        })
    }

    /// Create the table if it has no log; check an existing table's schema and partitioning.
    pub(crate) async fn ensure(
        &self,
        schema: &SchemaRef,
        part: Option<&DatePartitioning>,
    ) -> Result<()> {
        let wanted = self.delta_schema(schema, part)?;
        let wanted_parts: Vec<String> = part.map(|p| p.key.clone()).into_iter().collect();
        let mut st = self.state.lock().await;
        if !self.refresh(&mut st).await? && self.create(&mut st, &wanted, &wanted_parts).await? {
            return Ok(());
        }
        let Some(t) = st.table.as_ref() else {
            return Err(self.not_a_table());
        };
        self.check_schema(t, &wanted, &wanted_parts)
    }

    /// Create the table, which has no log: `Ok(true)` if created, `Ok(false)` if another
    /// process created it in the meantime (it is loaded then).
    async fn create(
        &self,
        st: &mut LogState,
        wanted: &StructType,
        wanted_parts: &[String],
    ) -> Result<bool> {
        let fields: Vec<StructField> = wanted.fields().cloned().collect();
        let create = CreateBuilder::new()
            .with_location(self.url.as_str())
            .with_storage_options(self.storage_options.clone())
            .with_table_name(self.name.clone())
            .with_columns(fields)
            .with_partition_columns(wanted_parts.to_vec())
            .with_save_mode(SaveMode::ErrorIfExists)
            // The log is the record of which offsets each version holds: it is never
            // cleaned up automatically (checkpoints keep opening fast).
            .with_configuration_property(TableProperty::EnableExpiredLogCleanup, Some("false"))
            .with_configuration_property(TableProperty::CheckpointInterval, Some("100"))
            .into_future();
        let created = self
            .bounded(
                || "create".to_owned(),
                self.op_timeout,
                create,
                |e| self.err(Some(0), e),
            )
            .await;
        match created {
            Ok(t) => {
                info!(table = %self.name, url = %self.url, "delta table created");
                st.table = Some(t);
                Ok(true)
            }
            Err(e) => {
                let Some(cause) = delta_source(&e) else {
                    return Err(e);
                };
                // Another process may have created it in the meantime.
                debug!(table = %self.name, error = %cause, "create failed; re-reading the log");
                if !self.refresh(st).await? {
                    return Err(e);
                }
                Ok(false)
            }
        }
    }

    /// Whether the existing table `t` takes the batches of the `wanted` schema and partitioning.
    fn check_schema(
        &self,
        t: &DeltaTable,
        wanted: &StructType,
        wanted_parts: &[String],
    ) -> Result<()> {
        let snap = t.snapshot().map_err(|e| self.err(None, e))?;
        let have = snap.schema();
        let have_parts = snap.metadata().partition_columns().to_vec();
        let mismatch = |reason: String| Error::IncompatibleSchema {
            table: self.name.clone(),
            url: self.url.to_string(),
            reason,
        };
        if have_parts.as_slice() != wanted_parts {
            return Err(mismatch(format!(
                "the table is partitioned by {have_parts:?}, the configuration says {wanted_parts:?}"
            )));
        }
        for f in wanted.fields() {
            match have.field(f.name()) {
                None => {
                    return Err(mismatch(format!("the table has no column {:?}", f.name())));
                }
                Some(h) if h.data_type() != f.data_type() => {
                    return Err(mismatch(format!(
                        "column {:?} is {} in the table, {} in the batches",
                        f.name(),
                        h.data_type(),
                        f.data_type()
                    )));
                }
                Some(h) if !h.is_nullable() && f.is_nullable() => {
                    return Err(mismatch(format!(
                        "column {:?} is not nullable in the table, nullable in the batches",
                        f.name()
                    )));
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = have.fields().find(|h| wanted.field(h.name()).is_none()) {
            return Err(mismatch(format!(
                "the table has column {:?}, the batches do not",
                extra.name()
            )));
        }
        Ok(())
    }

    /// [`ensure`](Self::ensure), unless it already succeeded in this process.
    pub(crate) async fn ensure_once(
        &self,
        schema: &SchemaRef,
        part: Option<&DatePartitioning>,
    ) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.ensured.load(Ordering::Acquire) {
            return Ok(());
        }
        self.ensure(schema, part).await?;
        self.ensured.store(true, Ordering::Release);
        Ok(())
    }

    /// The table's txn version for `app_id` as of the loaded version.
    async fn txn_of(&self, st: &mut LogState, app_id: &str) -> Result<Option<i64>> {
        self.advance_txns(st).await?;
        Ok(st.txns.get(app_id).copied())
    }

    /// Every app id's txn version as of the latest version (empty if not a table).
    pub(crate) async fn txns(&self) -> Result<BTreeMap<String, i64>> {
        let mut st = self.state.lock().await;
        if !self.refresh(&mut st).await? {
            return Ok(BTreeMap::new());
        }
        self.advance_txns(&mut st).await?;
        Ok(st.txns.clone())
    }

    /// Bring `st.txns` up to the loaded version: the first time from the last checkpoint
    /// (or from version 0 without one), then through the commits after what it has seen.
    async fn advance_txns(&self, st: &mut LogState) -> Result<()> {
        let LogState {
            table,
            commits,
            txns,
            txns_at,
        } = st;
        let Some(t) = table.as_ref() else {
            return Ok(());
        };
        let latest = t.version().map_or(-1, |v| v as i64);
        let at = match *txns_at {
            Some(at) => at,
            None => {
                let (at, base) = self
                    .checkpoint_txns(t, latest)
                    .await?
                    .unwrap_or((-1, BTreeMap::new()));
                *txns = base;
                at
            }
        };
        let cached = commits.len() as i64;
        let read = self.read_versions(t, (at + 1).max(cached), latest).await?;
        let from_cache = commits.iter().skip(usize::try_from(at + 1).unwrap_or(0));
        for c in from_cache.chain(read.iter()) {
            for (id, v) in &c.txns {
                txns.insert(id.clone(), *v);
            }
        }
        *txns_at = Some(latest.max(at));
        Ok(())
    }

    /// The txns of the checkpoint `_last_checkpoint` names, with its version, if it is one
    /// this crate reads and not past `latest`; `None` means: replay from version 0.
    async fn checkpoint_txns(
        &self,
        t: &DeltaTable,
        latest: i64,
    ) -> Result<Option<(i64, BTreeMap<String, i64>)>> {
        let Some(hint) = self.read_log_file(t, checkpoint::LAST_CHECKPOINT).await? else {
            return Ok(None);
        };
        let Some(files) = checkpoint::files_of_hint(&hint) else {
            warn!(table = %self.name, "unusable _last_checkpoint; replaying the log from version 0");
            return Ok(None);
        };
        if files.version > latest {
            // Written after the version loaded: the versions up to it are read instead.
            return Ok(None);
        }
        let mut txns = BTreeMap::new();
        for part in &files.parts {
            let Some(bytes) = self.read_log_file(t, part).await? else {
                warn!(table = %self.name, part, "checkpoint part missing; replaying the log from version 0");
                return Ok(None);
            };
            checkpoint::read_txns(bytes, &mut txns).map_err(|reason| Error::CorruptLog {
                table: self.name.clone(),
                url: self.url.to_string(),
                version: Some(files.version),
                reason: format!("checkpoint {part}: {reason}"),
            })?;
        }
        debug!(table = %self.name, version = files.version, apps = txns.len(), "txns from checkpoint");
        Ok(Some((files.version, txns)))
    }

    /// The bytes of `_delta_log/<name>`, `None` if there is no such file.
    async fn read_log_file(&self, t: &DeltaTable, name: &str) -> Result<Option<bytes::Bytes>> {
        use object_store::ObjectStoreExt as _;
        let get = |log: LogStoreRef| async move {
            let store = log.object_store(None);
            let path = log.log_path().clone().join(name);
            match async { store.get(&path).await?.bytes().await }.await {
                Ok(b) => Ok(Some(b)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        self.on_store(
            t,
            || format!("read _delta_log/{name}"),
            self.op_timeout,
            get,
            |e| self.err(None, DeltaTableError::from(e)),
        )
        .await
    }

    /// Commit `adds` with `txn(app_id, meta.end)` and `meta` in the commitInfo, if the table's
    /// txn version of `app_id` is still `expect`; returns the new table version.
    ///
    /// Fencing: the txn is read from the latest version right before the commit; a writer of
    /// the same partition committing in between is caught by delta-rs's conflict checker
    /// (concurrent transaction for the same app id), re-read, and reported as
    /// [`Error::Fenced`]. Appends of other partitions do not conflict and are retried by
    /// delta-rs on the next version. An error after which the log file may exist (ambiguous
    /// commit) is resolved by looking for this range's nonce in the versions after the one
    /// read.
    pub(crate) async fn commit(
        &self,
        tp: &TopicPartition,
        expect: Expect,
        adds: Vec<Add>,
        meta: &SinkMeta,
    ) -> Result<i64> {
        let app = app_id(tp);
        let mut st = self.state.lock().await;
        if !self.refresh(&mut st).await? {
            return Err(self.not_a_table());
        }
        let found = self.txn_of(&mut st, &app).await?;
        let fenced = |found: Option<i64>| Error::Fenced {
            topic: tp.topic.clone(),
            partition: tp.partition,
            table: self.name.clone(),
            expected: expect.shown(),
            found,
        };
        if !expect.accepts(found) {
            return Err(fenced(found));
        }
        let Some(table) = st.table.as_ref() else {
            return Err(self.not_a_table());
        };
        let base = table.version();
        let props = self.range_commit_props(&app, meta)?;
        let actions: Vec<Action> = adds.into_iter().map(Action::Add).collect();
        let operation = DeltaOperation::StreamingUpdate {
            output_mode: OutputMode::Append,
            query_id: app.clone(),
            epoch_id: meta.end,
        };
        let snap = table
            .snapshot()
            .map_err(|e| self.err(base.map(|v| v as i64), e))?;
        failpoint::hit("commit.before_log");
        let commit = CommitBuilder::from(props)
            .with_actions(actions)
            .build(Some(snap), table.log_store(), operation)
            .into_future();
        let committed = self
            .bounded(
                || "commit".to_owned(),
                self.op_timeout * 4,
                commit,
                |e| self.err(base.map(|b| b as i64 + 1), e),
            )
            .await;
        let failed = match committed {
            Ok(done) => {
                failpoint::hit("commit.after_log");
                let version = done.version() as i64;
                debug!(table = %self.name, version, topic = %tp.topic, partition = tp.partition,
                    end = meta.end, retries = done.metrics.num_retries, "delta commit");
                return Ok(version);
            }
            Err(e) if delta_source(&e).is_some_and(is_concurrent_transaction) => {
                self.refresh(&mut st).await?;
                let found = self.txn_of(&mut st, &app).await?;
                return Err(fenced(found));
            }
            Err(e) => e,
        };
        warn!(table = %self.name, error = %failed, "delta commit failed; checking whether it landed");
        self.landed(&mut st, base, &meta.nonce, failed).await
    }

    /// The commit properties of a range: its txn, its `hdfsSink` commitInfo entry, a
    /// checkpoint when due, no log cleanup, delta-rs's retries past non-conflicting commits.
    fn range_commit_props(&self, app: &str, meta: &SinkMeta) -> Result<CommitProperties> {
        let meta_json = serde_json::to_value(meta).map_err(|e| Error::CorruptLog {
            table: self.name.clone(),
            url: self.url.to_string(),
            version: None,
            reason: e.to_string(),
        })?;
        Ok(CommitProperties::default()
            .with_application_transaction(Transaction::new_with_last_update(
                app,
                meta.end,
                Some(meta.committed_at_ms as i64),
            ))
            .with_metadata([(COMMIT_INFO_KEY.to_owned(), meta_json)])
            .with_create_checkpoint(true)
            .with_cleanup_expired_logs(Some(false))
            .with_max_retries(100))
    }

    /// After a commit failed with `failed` in a way that may have landed it: the version
    /// after `base` that carries `nonce`, else `failed`.
    async fn landed(
        &self,
        st: &mut LogState,
        base: Option<u64>,
        nonce: &str,
        failed: Error,
    ) -> Result<i64> {
        match self.find_nonce(st, base, nonce).await {
            Ok(Some(version)) => Ok(version),
            Ok(None) => Err(failed),
            Err(check) => {
                warn!(table = %self.name, error = %check, "could not re-read the log");
                Err(failed)
            }
        }
    }

    /// The version after `base` whose commitInfo carries `nonce` (a range's or a maintenance
    /// commit's), if any.
    async fn find_nonce(
        &self,
        st: &mut LogState,
        base: Option<u64>,
        nonce: &str,
    ) -> Result<Option<i64>> {
        self.refresh(st).await?;
        let Some(t) = st.table.as_ref() else {
            return Ok(None);
        };
        let latest = t.version().map_or(-1, |v| v as i64);
        let from = base.map_or(0, |b| b as i64 + 1);
        for v in from..=latest {
            if let Some(c) = self.read_version(t, v).await?
                && (c.sink.as_ref().is_some_and(|m| m.nonce == nonce)
                    || c.maintenance_nonce.as_deref() == Some(nonce))
            {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Version `v`'s commit, `None` if it does not exist. A read that stalls is tried again
    /// through a fresh log store (new storage connections), up to [`STALL_RETRIES`] times.
    async fn read_version(&self, t: &DeltaTable, v: i64) -> Result<Option<LoggedCommit>> {
        let bytes = self
            .on_store(
                t,
                || format!("read version {v}"),
                self.op_timeout,
                |log| async move { log.read_commit_entry(v as u64).await },
                |e| self.err(Some(v), e),
            )
            .await?;
        match bytes {
            None => Ok(None),
            Some(b) => self.parse_commit(v, &b).map(Some),
        }
    }

    fn parse_commit(&self, version: i64, bytes: &[u8]) -> Result<LoggedCommit> {
        let corrupt = |reason: String| Error::CorruptLog {
            table: self.name.clone(),
            url: self.url.to_string(),
            version: Some(version),
            reason,
        };
        let mut c = LoggedCommit {
            version,
            ..LoggedCommit::default()
        };
        for line in bytes.split(|b| *b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_slice(line).map_err(|e| corrupt(e.to_string()))?;
            if let Some(ci) = v.get("commitInfo") {
                if let Some(m) = ci.get(COMMIT_INFO_KEY) {
                    let m: SinkMeta = serde_json::from_value(m.clone())
                        .map_err(|e| corrupt(format!("{COMMIT_INFO_KEY}: {e}")))?;
                    c.sink = Some(m);
                }
                c.timestamp_ms = ci.get("timestamp").and_then(|t| t.as_i64());
                c.maintenance_nonce = ci
                    .get(MAINTENANCE_INFO_KEY)
                    .and_then(|m| m.get("nonce"))
                    .and_then(|n| n.as_str())
                    .map(str::to_owned);
            } else if v.get("metaData").is_some() || v.get("protocol").is_some() {
                c.changes_metadata = true;
            } else if let Some(a) = v.get("add") {
                let path = a
                    .get("path")
                    .and_then(|p| p.as_str())
                    .ok_or_else(|| corrupt("add without path".to_owned()))?;
                let size = a.get("size").and_then(|s| s.as_u64()).unwrap_or(0);
                let num_records = a
                    .get("stats")
                    .and_then(|s| s.as_str())
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                    .and_then(|s| s.get("numRecords").and_then(|n| n.as_u64()));
                let partition_values = a
                    .get("partitionValues")
                    .and_then(|p| p.as_object())
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned)))
                            .collect()
                    })
                    .unwrap_or_default();
                c.adds.push(LoggedAdd {
                    path: decode_path(path),
                    size,
                    num_records,
                    partition_values,
                });
            } else if let Some(r) = v.get("remove") {
                if let Some(p) = r.get("path").and_then(|p| p.as_str()) {
                    c.removes.push(decode_path(p));
                    c.remove_times
                        .push(r.get("deletionTimestamp").and_then(|t| t.as_i64()));
                }
            } else if let Some(t) = v.get("txn")
                && let (Some(id), Some(ver)) = (
                    t.get("appId").and_then(|x| x.as_str()),
                    t.get("version").and_then(|x| x.as_i64()),
                )
            {
                c.txns.push((id.to_owned(), ver));
            }
        }
        Ok(c)
    }

    /// Every commit of the table, oldest first (read once, then incrementally). Empty if the
    /// table does not exist.
    pub(crate) async fn commits(&self) -> Result<Vec<LoggedCommit>> {
        let mut st = self.state.lock().await;
        if !self.refresh(&mut st).await? {
            return Ok(Vec::new());
        }
        let Some(t) = st.table.as_ref() else {
            return Ok(Vec::new());
        };
        let latest = t.version().map_or(-1, |v| v as i64);
        let new = self
            .read_versions(t, st.commits.len() as i64, latest)
            .await?;
        st.commits.extend(new);
        Ok(st.commits.clone())
    }

    /// Versions `from..=to` of the log, read 8 at a time; every one must exist.
    async fn read_versions(&self, t: &DeltaTable, from: i64, to: i64) -> Result<Vec<LoggedCommit>> {
        let read: Vec<Result<Option<LoggedCommit>>> = futures::stream::iter(from..=to)
            .map(|v| self.read_version(t, v))
            .buffered(8)
            .collect()
            .await;
        let mut out = Vec::with_capacity(read.len());
        for (v, r) in (from..).zip(read) {
            let Some(c) = r? else {
                return Err(Error::CorruptLog {
                    table: self.name.clone(),
                    url: self.url.to_string(),
                    version: Some(v),
                    reason: "the commit file is missing (log cleaned up?): the offsets \
                             of the versions before the checkpoint are unknown"
                        .to_owned(),
                });
            };
            out.push(c);
        }
        Ok(out)
    }
}

/// Outcome of [`TableLog::commit_rewrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rewrite {
    /// Committed as this version.
    Committed(i64),
    /// The table has versions after the base (found before committing, or one was created
    /// while committing): nothing was committed.
    Stale,
}

/// A file of a table directory, as its storage lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredFile {
    /// Relative to the table directory (decoded), e.g. `date=2024-01-01/x.parquet`.
    pub(crate) path: String,
    pub(crate) size: u64,
    /// Last modification, milliseconds since the epoch.
    pub(crate) modified_ms: i64,
}

impl TableLog {
    /// Commit `actions` — Remove and Add actions that do not change the data (a compaction) —
    /// as exactly version `base + 1`, operation `OPTIMIZE`, with `metadata` in the commitInfo
    /// (its [`MAINTENANCE_INFO_KEY`] entry carries `nonce`). No `txn` action and no
    /// [`COMMIT_INFO_KEY`] entry: recovery, markers and verification do not see a range in it.
    ///
    /// delta-rs's own retry loop is off (`max_retries(0)`): its conflict checker lets two
    /// rewrites that remove the same files with `dataChange = false` both commit (duplicating
    /// rows), so on [`Rewrite::Stale`] the caller checks the versions after `base` itself and
    /// calls again with the latest. Appends committing concurrently are not held up: this
    /// commit is an `OPTIMIZE` (no data change, reads no predicate), which delta-rs's conflict
    /// checker lets their commits retry past. An error after which the commit may have landed
    /// is resolved by looking for `nonce` in the versions after `base`.
    pub(crate) async fn commit_rewrite(
        &self,
        base: i64,
        actions: Vec<Action>,
        metadata: Vec<(String, serde_json::Value)>,
        nonce: &str,
        target_size: i64,
    ) -> Result<Rewrite> {
        let mut st = self.state.lock().await;
        if !self.refresh(&mut st).await? {
            return Err(self.not_a_table());
        }
        let Some(table) = st.table.as_ref() else {
            return Err(self.not_a_table());
        };
        if table.version().map_or(-1, |v| v as i64) != base {
            return Ok(Rewrite::Stale);
        }
        let props = CommitProperties::default()
            .with_metadata(metadata)
            .with_create_checkpoint(true)
            .with_cleanup_expired_logs(Some(false))
            .with_max_retries(0);
        let operation = DeltaOperation::Optimize {
            predicate: None,
            target_size,
        };
        let snap = table.snapshot().map_err(|e| self.err(Some(base), e))?;
        let commit = CommitBuilder::from(props)
            .with_actions(actions)
            .build(Some(snap), table.log_store(), operation)
            .into_future();
        let committed = self
            .bounded(
                || "rewrite commit".to_owned(),
                self.op_timeout * 4,
                commit,
                |e| self.err(Some(base + 1), e),
            )
            .await;
        let failed = match committed {
            Ok(done) => {
                let version = done.version() as i64;
                debug!(table = %self.name, version, "delta rewrite committed");
                return Ok(Rewrite::Committed(version));
            }
            Err(e) if delta_source(&e).is_some_and(is_stale_rewrite) => return Ok(Rewrite::Stale),
            Err(e) => e,
        };
        warn!(table = %self.name, error = %failed, "delta rewrite failed; checking whether it landed");
        let from = u64::try_from(base).ok();
        self.landed(&mut st, from, nonce, failed)
            .await
            .map(Rewrite::Committed)
    }

    /// Every file under the table directory (the log's too), with size and modification
    /// time, through the table's object store (local or HDFS). Empty if it is not a table.
    pub(crate) async fn list_files(&self) -> Result<Vec<StoredFile>> {
        use object_store::ObjectStore as _;
        let mut st = self.state.lock().await;
        if !self.refresh(&mut st).await? {
            return Ok(Vec::new());
        }
        let Some(t) = st.table.as_ref() else {
            return Ok(Vec::new());
        };
        let list = |log: LogStoreRef| async move {
            let store = log.object_store(None);
            let mut out = Vec::new();
            let mut listing = store.list(None);
            while let Some(meta) = listing.next().await {
                let meta = meta?;
                out.push(StoredFile {
                    path: decode_path(meta.location.as_ref()),
                    size: meta.size,
                    modified_ms: meta.last_modified.timestamp_millis(),
                });
            }
            Ok::<_, object_store::Error>(out)
        };
        self.on_store(
            t,
            || "list".to_owned(),
            self.op_timeout * 4,
            list,
            |e| self.err(None, DeltaTableError::from(e)),
        )
        .await
    }
}

/// The stall retries of one log operation: after an [`Error::LogTimeout`] the operation is
/// done again on fresh storage connections, up to [`STALL_RETRIES`] times.
struct Stalls<'a> {
    log: &'a TableLog,
    /// What doing it again means, for the log.
    reopening: &'static str,
    count: u32,
}

impl Stalls<'_> {
    /// Whether to do the operation again after `r`: it stalled and retries are left.
    fn retry<T>(&mut self, r: &Result<T>) -> bool {
        match r {
            Err(e @ Error::LogTimeout { .. }) if self.count < STALL_RETRIES => {
                self.count += 1;
                warn!(table = %self.log.name, error = %e, "log stalled; {}", self.reopening);
                true
            }
            _ => false,
        }
    }
}

/// The delta-rs error inside an [`Error::Delta`].
fn delta_source(e: &Error) -> Option<&DeltaTableError> {
    match e {
        Error::Delta { source, .. } => Some(source),
        _ => None,
    }
}

/// A range's commit lost to a writer of the same partition (a concurrent transaction of the
/// same app id).
fn is_concurrent_transaction(e: &DeltaTableError) -> bool {
    matches!(
        e,
        DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(CommitConflictError::ConcurrentTransaction),
        }
    )
}

/// A rewrite not committed because the log moved past its base (seen before writing, or the
/// version file already existed), or delta-rs found a conflict.
fn is_stale_rewrite(e: &DeltaTableError) -> bool {
    matches!(
        e,
        DeltaTableError::Transaction {
            source: TransactionError::MaxCommitAttempts(_) | TransactionError::CommitConflict(_),
        } | DeltaTableError::VersionAlreadyExists(_)
    )
}

/// Replay adds and removes: the active files, in the order they were added.
pub(crate) fn active_files(commits: &[LoggedCommit]) -> Vec<(String, u64)> {
    let mut order: Vec<String> = Vec::new();
    let mut live: HashMap<String, u64> = HashMap::new();
    for c in commits {
        for r in &c.removes {
            live.remove(r);
        }
        for a in &c.adds {
            if live.insert(a.path.clone(), a.size).is_none() {
                order.push(a.path.clone());
            }
        }
    }
    order
        .into_iter()
        .filter_map(|p| live.get(&p).map(|s| (p.clone(), *s)))
        .collect()
}

/// Add paths are URIs: decode `%XX` escapes.
fn decode_path(p: &str) -> String {
    let bytes = p.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(h) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| p.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_round_trip() {
        let tp = TopicPartition::new("a.b-c_d", 7);
        assert_eq!(app_id(&tp), "kafka/a.b-c_d/7");
        assert_eq!(parse_app_id(&app_id(&tp)), Some(tp));
        assert_eq!(parse_app_id("other/x/1"), None);
    }

    #[test]
    fn paths_are_decoded() {
        assert_eq!(
            decode_path("date%3D2024-01-01/a%20b.parquet"),
            "date=2024-01-01/a b.parquet"
        );
    }

    #[test]
    fn expectations() {
        assert!(Expect::Exactly(None).accepts(None));
        assert!(!Expect::Exactly(None).accepts(Some(3)));
        assert!(Expect::NoneOrBefore(10).accepts(Some(9)));
        assert!(!Expect::NoneOrBefore(10).accepts(Some(12)));
        assert_eq!(Expect::NoneOrBefore(0).shown(), None);
    }
}
