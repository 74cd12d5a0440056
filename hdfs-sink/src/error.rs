//! The crate's error types: [`Error`] (run time), [`ConfigError`] (building a
//! [`SinkConfig`](crate::SinkConfig)) and [`BackendError`] (the opaque foreign error kept as
//! `source`).
//!
//! Foreign errors (hdfs-native's `HdfsError`, `std::io::Error`, `ParquetError`) are mapped here,
//! at the crate boundary, into *semantic* variants a caller can act on: permission denied, no
//! space, safe mode, unreachable, already exists … Each variant names the path it concerns
//! and, where known, the Kafka coordinates (topic, partition, offsets) and the table.

use std::fmt;
use std::time::Duration;

use arrow_schema::SchemaRef;
use hdfs_native::HdfsError;
use parquet::errors::ParquetError;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The storage operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Connecting to the storage / building the client.
    Connect,
    /// Creating a file.
    Create,
    /// Writing bytes to an open file.
    Write,
    /// Closing (completing, syncing) a file.
    Close,
    /// Renaming a file into place.
    Rename,
    /// Deleting a file or directory.
    Delete,
    /// Listing a directory.
    List,
    /// Creating directories.
    Mkdirs,
    /// Reading a file.
    Read,
    /// Stat of a file.
    Stat,
    /// Changing permissions.
    SetPermission,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Connect => "connect",
            Op::Create => "create",
            Op::Write => "write",
            Op::Close => "close",
            Op::Rename => "rename",
            Op::Delete => "delete",
            Op::List => "list",
            Op::Mkdirs => "mkdirs",
            Op::Read => "read",
            Op::Stat => "stat",
            Op::SetPermission => "set permission on",
        })
    }
}

/// Invalid configuration, reported by [`SinkConfigBuilder::build`](crate::SinkConfigBuilder::build).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A numeric or duration setting is out of its allowed range.
    #[error("invalid value for {field}: {reason}")]
    Invalid {
        /// The configuration field, e.g. `rotation.max_bytes`.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A per-column override names a column that the table's Parquet schema does not have
    /// (reported when a range declaring the table begins).
    #[error(
        "column options for {table}.{column}: the table has no such Parquet leaf column \
         (its leaf columns: {})",
        known.join(", ")
    )]
    UnknownColumn {
        /// The table.
        table: String,
        /// The dotted leaf path given.
        column: String,
        /// The table's leaf paths.
        known: Vec<String>,
    },
    /// A per-column override the column cannot take, e.g. a delta encoding on a string
    /// column (reported when a range declaring the table begins).
    #[error("column options for {table}.{column}: {reason}")]
    UnsupportedColumnOption {
        /// The table.
        table: String,
        /// The dotted leaf path.
        column: String,
        /// What the column cannot take, and why.
        reason: String,
    },
}

/// The foreign error behind a storage failure (hdfs-native or `std::io`), kept opaque so that
/// hdfs-native's types are not part of this crate's API. Its `Display` carries the original
/// message (for HDFS: the Java exception class and message).
#[derive(Debug)]
pub struct BackendError(pub(crate) BackendErrorInner);

#[derive(Debug)]
pub(crate) enum BackendErrorInner {
    Io(std::io::Error),
    Hdfs(HdfsError),
    Timeout(Duration),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            BackendErrorInner::Io(e) => write!(f, "{e}"),
            // The NameNode's message carries the Java stack trace: show its first line only
            // (`{:?}` keeps everything).
            BackendErrorInner::Hdfs(HdfsError::RPCError(class, msg))
            | BackendErrorInner::Hdfs(HdfsError::FatalRPCError(class, msg)) => {
                write!(
                    f,
                    "{class}: {}",
                    msg.lines().next().unwrap_or_default().trim()
                )
            }
            BackendErrorInner::Hdfs(e) => write!(f, "{e}"),
            BackendErrorInner::Timeout(d) => write!(f, "no answer within {d:?}"),
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            BackendErrorInner::Io(e) => e.source(),
            BackendErrorInner::Hdfs(e) => e.source(),
            BackendErrorInner::Timeout(_) => None,
        }
    }
}

impl From<std::io::Error> for BackendError {
    fn from(e: std::io::Error) -> Self {
        BackendError(BackendErrorInner::Io(e))
    }
}

impl From<HdfsError> for BackendError {
    fn from(e: HdfsError) -> Self {
        BackendError(BackendErrorInner::Hdfs(e))
    }
}

/// How a backend error is classified (decides retry and the public variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Network trouble, connection refused: retried; final error `Unreachable`.
    Unreachable,
    /// Other transient trouble (DataNode pipeline, timeouts): retried.
    Transient,
    /// NameNode in safe mode: retried up to `RetryPolicy::safe_mode_wait`.
    SafeMode,
    PermissionDenied,
    NoSpace,
    NotFound,
    AlreadyExists,
    /// Permanent, not otherwise classified.
    Other,
}

impl Class {
    pub(crate) fn retried(self) -> bool {
        matches!(
            self,
            Class::Unreachable | Class::Transient | Class::SafeMode
        )
    }
}

impl BackendError {
    pub(crate) fn timeout(d: Duration) -> Self {
        BackendError(BackendErrorInner::Timeout(d))
    }

    pub(crate) fn class(&self) -> Class {
        match &self.0 {
            BackendErrorInner::Io(e) => classify_io(e),
            BackendErrorInner::Hdfs(e) => classify_hdfs(e),
            BackendErrorInner::Timeout(_) => Class::Transient,
        }
    }
}

fn classify_io(e: &std::io::Error) -> Class {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::PermissionDenied | K::ReadOnlyFilesystem => Class::PermissionDenied,
        K::StorageFull | K::QuotaExceeded | K::FileTooLarge => Class::NoSpace,
        K::NotFound => Class::NotFound,
        K::AlreadyExists => Class::AlreadyExists,
        K::ConnectionRefused
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::NetworkDown
        | K::AddrNotAvailable => Class::Unreachable,
        K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::BrokenPipe
        | K::TimedOut
        | K::UnexpectedEof
        | K::Interrupted
        | K::WouldBlock
        | K::ResourceBusy => Class::Transient,
        _ => Class::Other,
    }
}

fn classify_hdfs(e: &HdfsError) -> Class {
    match e {
        HdfsError::IOError(io) => classify_io(io),
        HdfsError::FileNotFound(_) => Class::NotFound,
        HdfsError::AlreadyExists(_) => Class::AlreadyExists,
        HdfsError::DataTransferError(_)
        | HdfsError::ChecksumError
        | HdfsError::BlocksNotFound(_)
        | HdfsError::OperationFailed(_) => Class::Transient,
        HdfsError::RPCError(class, msg) | HdfsError::FatalRPCError(class, msg) => {
            classify_rpc(class, msg)
        }
        _ => Class::Other,
    }
}

fn classify_rpc(class: &str, msg: &str) -> Class {
    let short = class.rsplit('.').next().unwrap_or(class);
    match short {
        "AccessControlException" | "AuthorizationException" => Class::PermissionDenied,
        "SafeModeException" => Class::SafeMode,
        "RetriableException" if msg.to_ascii_lowercase().contains("safe mode") => Class::SafeMode,
        "RetriableException" | "StandbyException" | "ObserverRetryOnActiveException" => {
            Class::Transient
        }
        "FileNotFoundException" => Class::NotFound,
        "FileAlreadyExistsException" | "AlreadyBeingCreatedException" => Class::AlreadyExists,
        "DSQuotaExceededException" | "NSQuotaExceededException" | "QuotaExceededException" => {
            Class::NoSpace
        }
        _ if msg.contains("could only be written to 0 of the")
            || msg.contains("could only be replicated to 0 nodes") =>
        {
            // No DataNode can take the block: all full (or none alive). Retried, then reported
            // as `NoSpace` with the NameNode's message.
            Class::NoSpace
        }
        _ if msg.to_ascii_lowercase().contains("safe mode") => Class::SafeMode,
        _ => Class::Other,
    }
}

/// Every run-time error of the sink.
///
/// Storage variants carry the operation and the path (local path or `hdfs://` URL) plus the
/// foreign error as `source`. Errors raised while a range is being written or committed are
/// wrapped in [`Error::Range`], which adds the Kafka coordinates and the table; use
/// [`Error::root`] to look through it and [`Error::is_transient`] to decide whether retrying the
/// whole range later may succeed (the sink already retried single operations with bounded
/// exponential backoff, see [`RetryPolicy`](crate::RetryPolicy)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The warehouse URL cannot be used.
    #[error("invalid warehouse URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The storage refused access (HDFS `AccessControlException`, local `EACCES`/`EROFS`).
    /// Permanent.
    #[error("permission denied: cannot {op} {path}")]
    PermissionDenied {
        /// Failed operation.
        op: Op,
        /// Path (local path or `hdfs://` URL).
        path: String,
        /// The foreign error.
        #[source]
        source: BackendError,
    },

    /// The storage could not be reached (connection refused, network down) even after
    /// retrying. Transient.
    #[error("storage unreachable: cannot {op} {path} after {attempts} attempts in {elapsed:?}")]
    Unreachable {
        /// Failed operation.
        op: Op,
        /// Path (local path or `hdfs://` URL).
        path: String,
        /// How many attempts were made.
        attempts: u32,
        /// Time spent retrying.
        elapsed: Duration,
        /// The last foreign error.
        #[source]
        source: BackendError,
    },

    /// The HDFS NameNode stayed in safe mode longer than
    /// [`RetryPolicy::safe_mode_wait`](crate::RetryPolicy::safe_mode_wait). Permanent for this
    /// call.
    #[error("HDFS is in safe mode: cannot {op} {path}, still refused after {elapsed:?}")]
    SafeMode {
        /// Failed operation.
        op: Op,
        /// Path (`hdfs://` URL).
        path: String,
        /// Time spent waiting.
        elapsed: Duration,
        /// The last foreign error.
        #[source]
        source: BackendError,
    },

    /// Disk full, quota exceeded or no DataNode could take the block. Permanent.
    #[error("no space left: cannot {op} {path}")]
    NoSpace {
        /// Failed operation.
        op: Op,
        /// Path (local path or `hdfs://` URL).
        path: String,
        /// The foreign error.
        #[source]
        source: BackendError,
    },

    /// A path that must exist does not.
    #[error("not found: cannot {op} {path}")]
    NotFound {
        /// Failed operation.
        op: Op,
        /// Path (local path or `hdfs://` URL).
        path: String,
        /// The foreign error.
        #[source]
        source: BackendError,
    },

    /// A path that must not exist does (e.g. a data file left by a crashed writer when
    /// [`Warehouse::recover`](crate::Warehouse::recover) was not run first).
    #[error("already exists: cannot {op} {path}")]
    AlreadyExists {
        /// Failed operation.
        op: Op,
        /// Path (local path or `hdfs://` URL).
        path: String,
        /// The foreign error.
        #[source]
        source: BackendError,
    },

    /// Any other storage failure; `transient` tells whether it was classified as retryable
    /// (and retries were exhausted) or permanent.
    #[error("storage error: cannot {op} {path} (after {attempts} attempts)")]
    Storage {
        /// Failed operation.
        op: Op,
        /// Path (local path or `hdfs://` URL).
        path: String,
        /// How many attempts were made.
        attempts: u32,
        /// Whether the error was classified as transient.
        transient: bool,
        /// The foreign error.
        #[source]
        source: BackendError,
    },

    /// Parquet encoding (or decoding, when reading back) failed.
    #[error("parquet error on {path}")]
    Parquet {
        /// The file concerned.
        path: String,
        /// The foreign error.
        #[source]
        source: Box<ParquetError>,
    },

    /// A batch was written for a table not declared in
    /// [`Warehouse::begin_range`](crate::Warehouse::begin_range).
    #[error("table {table:?} was not declared for this range")]
    UnknownTable {
        /// The table name.
        table: String,
    },

    /// A batch's schema differs from the schema declared for its table.
    #[error("batch schema does not match the declared schema of table {table:?}")]
    SchemaMismatch {
        /// The table name.
        table: String,
        /// Declared schema.
        expected: SchemaRef,
        /// The batch's schema.
        found: SchemaRef,
    },

    /// The Hive date-partitioning column of a table is missing or of an unsupported type.
    #[error("date partitioning of table {table:?} by column {column:?}: {reason}")]
    PartitionColumn {
        /// The table name.
        table: String,
        /// The configured timestamp column.
        column: String,
        /// What is wrong.
        reason: String,
    },

    /// A topic or table name cannot be used in paths.
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName {
        /// `"topic"` or `"table"`.
        kind: &'static str,
        /// The name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// `end < start`, or a negative offset.
    #[error("invalid offset range {start}..={end} for {topic}/{partition}")]
    InvalidRange {
        /// Kafka topic.
        topic: String,
        /// Kafka partition.
        partition: i32,
        /// First offset.
        start: i64,
        /// Last offset (inclusive).
        end: i64,
    },

    /// A new range starts at or below an offset that is already committed: landing it would
    /// duplicate rows.
    #[error(
        "range of {topic}/{partition} starting at {start} overlaps committed offsets up to {committed_end}"
    )]
    Overlap {
        /// Kafka topic.
        topic: String,
        /// Kafka partition.
        partition: i32,
        /// Requested first offset.
        start: i64,
        /// Last committed offset.
        committed_end: i64,
    },

    /// A new range starts after the next offset to land: offsets would be skipped. Record the
    /// gap with [`Warehouse::record_gap`](crate::Warehouse::record_gap) first if it is accepted.
    #[error(
        "range of {topic}/{partition} starts at {start} but the next offset to land is {expected}"
    )]
    Gap {
        /// Kafka topic.
        topic: String,
        /// Kafka partition.
        partition: i32,
        /// The next offset to land.
        expected: i64,
        /// Requested first offset.
        start: i64,
    },

    /// A range of this partition is already being written by this `Warehouse`.
    #[error("a range of {topic}/{partition} is already open")]
    RangeInProgress {
        /// Kafka topic.
        topic: String,
        /// Kafka partition.
        partition: i32,
    },

    /// A commit of this partition failed, or its writer was dropped without commit or abort:
    /// its state in storage is unknown until
    /// [`Warehouse::recover_partitions`](crate::Warehouse::recover_partitions) has run.
    #[error("{topic}/{partition} must be recovered before a new range can begin")]
    RecoveryRequired {
        /// Kafka topic.
        topic: String,
        /// Kafka partition.
        partition: i32,
    },

    /// A write of this range failed earlier: it cannot be committed. Abort it and land the
    /// offsets again.
    #[error("range cannot be committed after a failed write; abort it and land the offsets again")]
    RangeFailed,

    /// The commit marker of this range already exists.
    #[error("range {topic}/{partition} {start}..={end} is already committed ({path})")]
    AlreadyCommitted {
        /// Kafka topic.
        topic: String,
        /// Kafka partition.
        partition: i32,
        /// First offset.
        start: i64,
        /// Last offset (inclusive).
        end: i64,
        /// The marker path.
        path: String,
    },

    /// A commit marker (or gap record) cannot be parsed.
    #[error("corrupt marker {path}: {reason}")]
    CorruptMarker {
        /// The marker path.
        path: String,
        /// What is wrong.
        reason: String,
    },

    /// The table's txn version for the partition is no longer the one the range started
    /// from: another writer committed these offsets (or later ones) in the meantime. Nothing
    /// further of the range is committed; re-seek (recover the partition) and land again.
    #[error(
        "fenced: another writer committed {topic}/{partition} in table {table:?} up to offset {} \
         while this range expected {}; nothing further of the range is committed (recover the \
         partition and land from the table's offset)",
        found.map_or("none".to_owned(), |v| v.to_string()),
        expected.map_or("none".to_owned(), |v| v.to_string())
    )]
    Fenced {
        /// Kafka topic.
        topic: String,
        /// Kafka partition.
        partition: i32,
        /// The table whose commit was refused.
        table: String,
        /// The txn version the range started from (`None`: no txn).
        expected: Option<i64>,
        /// The txn version found in the log.
        found: Option<i64>,
    },

    /// The root holds a warehouse of the earlier marker protocol (`_commits/`).
    #[error(
        "{url} is a warehouse of the marker protocol (it has _commits/): land into a new root; \
         Delta tables and markers are not mixed"
    )]
    LegacyLayout {
        /// The warehouse root.
        url: String,
    },

    /// The Delta log of a table failed (delta-rs error), with the table URL and, where
    /// known, the version concerned.
    #[error("delta table {table:?} at {url}{}: {source}",
        version.map(|v| format!(" version {v}")).unwrap_or_default())]
    Delta {
        /// Table name.
        table: String,
        /// Table URL.
        url: String,
        /// The version read or committed, if known.
        version: Option<i64>,
        /// The delta-rs error.
        #[source]
        source: Box<deltalake_core::DeltaTableError>,
    },

    /// A Delta log operation (through delta-rs) did not finish within its time limit
    /// ([`RetryPolicy::op_timeout`](crate::RetryPolicy::op_timeout)): the storage is stalled
    /// or overloaded. Transient; after a commit timed out, whether it landed is checked.
    #[error(
        "delta table {table:?} at {url}: {op} did not finish within {after:?} (storage stalled? \
         retry later, or raise RetryPolicy::op_timeout)"
    )]
    LogTimeout {
        /// Table name.
        table: String,
        /// Table URL.
        url: String,
        /// What was being done (`"load"`, `"read version 12"`, `"commit"`, ...).
        op: String,
        /// The limit.
        after: Duration,
    },

    /// An existing table's schema or partitioning differs from the batches'.
    #[error("delta table {table:?} at {url} is incompatible: {reason}")]
    IncompatibleSchema {
        /// Table name.
        table: String,
        /// Table URL.
        url: String,
        /// What differs.
        reason: String,
    },

    /// The table directory holds no Delta log.
    #[error(
        "{url} is not a delta table (table {table:?}); create it with Warehouse::create_tables"
    )]
    NotATable {
        /// Table name.
        table: String,
        /// Table URL.
        url: String,
    },

    /// A version of a table's log cannot be read as this crate wrote it.
    #[error("delta log of table {table:?} at {url}{}: {reason}",
        version.map(|v| format!(" version {v}")).unwrap_or_default())]
    CorruptLog {
        /// Table name.
        table: String,
        /// Table URL.
        url: String,
        /// The version, if known.
        version: Option<i64>,
        /// What is wrong.
        reason: String,
    },

    /// A table declared for a range must hold the offset column (to drop rows a table has
    /// already committed) but does not, or it is not `Int64`.
    #[error("table {table:?} has no Int64 offset column {column:?}")]
    OffsetColumn {
        /// The table.
        table: String,
        /// The configured column name.
        column: String,
    },

    /// An error while writing, committing or aborting a range, with the range's coordinates.
    /// Its `Display` shows the coordinates only; the cause is its `source()` (print the chain,
    /// e.g. with `anyhow`'s `{:#}`).
    #[error("{topic}/{partition} range from offset {start}{}{}",
        end.map(|e| format!(" to {e}")).unwrap_or_default(),
        table.as_ref().map(|t| format!(" (table {t:?})")).unwrap_or_default())]
    Range {
        /// Kafka topic.
        topic: String,
        /// Kafka partition.
        partition: i32,
        /// First offset of the range.
        start: i64,
        /// Last offset (inclusive), once known (at commit).
        end: Option<i64>,
        /// The table concerned, if any.
        table: Option<String>,
        /// The underlying error.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The innermost error, looking through [`Error::Range`].
    pub fn root(&self) -> &Error {
        match self {
            Error::Range { source, .. } => source.root(),
            e => e,
        }
    }

    /// Whether retrying the whole operation (or range) later may succeed: the storage was
    /// unreachable, timed out, in safe mode, or failed transiently. Permission denied, no space,
    /// invalid input and protocol violations are permanent.
    pub fn is_transient(&self) -> bool {
        match self.root() {
            Error::Unreachable { .. } | Error::SafeMode { .. } | Error::LogTimeout { .. } => true,
            Error::Delta { source, .. } => matches!(
                source.as_ref(),
                deltalake_core::DeltaTableError::ObjectStore { .. }
                    | deltalake_core::DeltaTableError::Io { .. }
                    | deltalake_core::DeltaTableError::VersionAlreadyExists(_)
            ),
            Error::Storage { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The path concerned, if the error names one.
    pub fn path(&self) -> Option<&str> {
        match self.root() {
            Error::PermissionDenied { path, .. }
            | Error::Unreachable { path, .. }
            | Error::SafeMode { path, .. }
            | Error::NoSpace { path, .. }
            | Error::NotFound { path, .. }
            | Error::AlreadyExists { path, .. }
            | Error::Storage { path, .. }
            | Error::Parquet { path, .. }
            | Error::AlreadyCommitted { path, .. }
            | Error::CorruptMarker { path, .. } => Some(path),
            Error::Delta { url, .. }
            | Error::LogTimeout { url, .. }
            | Error::IncompatibleSchema { url, .. }
            | Error::NotATable { url, .. }
            | Error::CorruptLog { url, .. }
            | Error::LegacyLayout { url } => Some(url),
            _ => None,
        }
    }

    /// Map a backend error that ended the retry loop into the public variant.
    pub(crate) fn from_backend(
        op: Op,
        path: String,
        attempts: u32,
        elapsed: Duration,
        source: BackendError,
    ) -> Error {
        match source.class() {
            Class::PermissionDenied => Error::PermissionDenied { op, path, source },
            Class::NoSpace => Error::NoSpace { op, path, source },
            Class::NotFound => Error::NotFound { op, path, source },
            Class::AlreadyExists => Error::AlreadyExists { op, path, source },
            Class::SafeMode => Error::SafeMode {
                op,
                path,
                elapsed,
                source,
            },
            Class::Unreachable => Error::Unreachable {
                op,
                path,
                attempts,
                elapsed,
                source,
            },
            Class::Transient => Error::Storage {
                op,
                path,
                attempts,
                transient: true,
                source,
            },
            Class::Other => Error::Storage {
                op,
                path,
                attempts,
                transient: false,
                source,
            },
        }
    }

    pub(crate) fn parquet(path: impl Into<String>, source: ParquetError) -> Error {
        Error::Parquet {
            path: path.into(),
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_hdfs_rpc_errors() {
        let e = |c: &str, m: &str| {
            BackendError::from(HdfsError::RPCError(c.to_owned(), m.to_owned())).class()
        };
        assert_eq!(
            e(
                "org.apache.hadoop.security.AccessControlException",
                "Permission denied: user=x"
            ),
            Class::PermissionDenied
        );
        assert_eq!(
            e(
                "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
                "Name node is in safe mode"
            ),
            Class::SafeMode
        );
        assert_eq!(
            e(
                "org.apache.hadoop.ipc.RetriableException",
                "NameNode still not started"
            ),
            Class::Transient
        );
        assert_eq!(
            e(
                "org.apache.hadoop.hdfs.protocol.DSQuotaExceededException",
                "quota"
            ),
            Class::NoSpace
        );
        assert_eq!(
            e(
                "java.io.IOException",
                "File /x could only be written to 0 of the 1 minReplication nodes"
            ),
            Class::NoSpace
        );
        assert_eq!(e("java.io.IOException", "boom"), Class::Other);
        let shown = BackendError::from(HdfsError::RPCError(
            "org.apache.hadoop.security.AccessControlException".to_owned(),
            "Permission denied: user=nobody\n\tat org.apache.Foo(Foo.java:1)".to_owned(),
        ))
        .to_string();
        assert_eq!(
            shown,
            "org.apache.hadoop.security.AccessControlException: Permission denied: user=nobody"
        );
        let refused = BackendError::from(HdfsError::IOError(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(refused.class(), Class::Unreachable);
        assert!(refused.class().retried());
    }

    #[test]
    fn classifies_io_errors() {
        let c = |k| BackendError::from(std::io::Error::from(k)).class();
        assert_eq!(
            c(std::io::ErrorKind::PermissionDenied),
            Class::PermissionDenied
        );
        assert_eq!(c(std::io::ErrorKind::StorageFull), Class::NoSpace);
        assert_eq!(c(std::io::ErrorKind::NotFound), Class::NotFound);
        assert_eq!(c(std::io::ErrorKind::Other), Class::Other);
    }

    #[test]
    fn range_wrapper_is_transparent_for_queries() {
        let inner = Error::Unreachable {
            op: Op::Create,
            path: "hdfs://nn:1/w".into(),
            attempts: 3,
            elapsed: Duration::from_secs(1),
            source: BackendError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        };
        let e = Error::Range {
            topic: "t".into(),
            partition: 2,
            start: 10,
            end: Some(20),
            table: Some("raw".into()),
            source: Box::new(inner),
        };
        assert!(e.is_transient());
        assert_eq!(e.path(), Some("hdfs://nn:1/w"));
        let text = e.to_string();
        assert!(
            text.contains("t/2 range from offset 10 to 20 (table \"raw\")"),
            "{text}"
        );
        assert!(
            std::mem::size_of::<Error>() <= 128,
            "{}",
            std::mem::size_of::<Error>()
        );
    }
}
