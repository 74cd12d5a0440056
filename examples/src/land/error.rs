//! The landing engine's errors: each names where it happened (topic, partition, offset, file,
//! warehouse); the crates' own errors are kept as sources.

use std::path::PathBuf;

/// A result of the landing engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why landing stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--tables` named a table that does not exist.
    #[error("unknown table {name:?}: expected some of {expected}")]
    UnknownTable {
        /// The name given.
        name: String,
        /// The table names, comma-separated.
        expected: String,
    },
    /// The input file could not be opened, read or split into events (its position is in
    /// the message).
    #[error(transparent)]
    Input(#[from] kafka_io::json::Error),
    /// The flattener failed (bad input is never an error: it becomes a reject).
    #[error(transparent)]
    Flatten(#[from] assessment_flatten::Error),
    /// The tables could not be created with the schemas of this landing.
    #[error(
        "creating the tables of {warehouse} (a Delta table has one schema: land with the \
         --tables and --without-sequences of the earlier runs, or into another warehouse)"
    )]
    CreateTables {
        /// The warehouse URL.
        warehouse: String,
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// Recovery of the warehouse failed.
    #[error("recovering the warehouse")]
    Recover {
        /// The warehouse URL.
        warehouse: String,
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// Recovery of assigned partitions failed for longer than the recovery timeout.
    #[error("recovering partitions {partitions:?} of warehouse {warehouse}")]
    RecoverPartitions {
        /// The partitions.
        partitions: Vec<kafka_io::TopicPartition>,
        /// The warehouse URL.
        warehouse: String,
        /// The last failure.
        source: Box<hdfs_sink::Error>,
    },
    /// The Delta logs could not be read.
    #[error("reading the commit log")]
    ReadLog {
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// A committed data file could not be read.
    #[error("reading the committed file {path}")]
    ReadFile {
        /// The file's path in the warehouse.
        path: String,
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// A file is landed under a source name that holds other content.
    #[error(
        "{} is not the file landed before as source {topic:?}: its event #{offset} \
         (line {line}, column {column} (byte {byte})) differs from the one landed at that \
         offset ({committed} events of {topic:?} are committed). Land it under its own name \
         (--source NAME) or into another warehouse",
        path.display()
    )]
    NotSameSource {
        /// The file.
        path: PathBuf,
        /// The source name.
        topic: String,
        /// The offset (event index) that differs.
        offset: i64,
        /// Its line in the file.
        line: u64,
        /// Its column.
        column: u64,
        /// Its byte offset.
        byte: u64,
        /// Events of the source committed.
        committed: i64,
    },
    /// A range could not be opened.
    #[error("opening a range of {topic}[{partition}]")]
    BeginRange {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// A source handed the sink offsets at or below those it already wrote.
    #[error(
        "offsets of {topic}[{partition}] went backwards: chunk starts at {first_offset} after {last_offset}"
    )]
    OffsetsBackwards {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// First offset of the chunk.
        first_offset: i64,
        /// Last offset written before it.
        last_offset: i64,
    },
    /// A chunk could not be written into its range.
    #[error("writing a chunk of {topic}[{partition}]")]
    WriteChunk {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// Another writer committed the range's offsets first: this one lands nothing of it.
    #[error(
        "committing {topic}[{partition}] up to offset {offset}: another writer holds this \
         range (it committed these offsets first); this one gives way and lands nothing of it"
    )]
    Fenced {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The range's last offset.
        offset: i64,
        /// The refusal.
        source: Box<hdfs_sink::Error>,
    },
    /// A range could not be committed.
    #[error("committing {topic}[{partition}] up to offset {offset}")]
    Commit {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The range's last offset.
        offset: i64,
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// An open range could not be abandoned (its temp files deleted).
    #[error("abandoning the open range of {topic}[{partition}]")]
    AbortRange {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// An accepted retention gap could not be recorded.
    #[error("recording an accepted retention gap")]
    RecordGap {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// First missing offset.
        from: i64,
        /// Last missing offset.
        to: i64,
        /// Why.
        source: Box<hdfs_sink::Error>,
    },
    /// A bounded read could not start.
    #[error("starting a bounded read of topic {topic}")]
    StartBounded {
        /// Topic.
        topic: String,
        /// Why.
        source: Box<kafka_io::Error>,
    },
    /// Reading a topic failed.
    #[error("reading topic {topic}")]
    Read {
        /// Topic.
        topic: String,
        /// Why.
        source: Box<kafka_io::Error>,
    },
    /// The consumer could not join its group.
    #[error("joining group {group}")]
    JoinGroup {
        /// The consumer group.
        group: String,
        /// Why.
        source: Box<kafka_io::Error>,
    },
    /// The consumer cannot go on (offsets out of range, authorization, a failed rebalance).
    #[error(transparent)]
    Consumer(#[from] kafka_io::Error),
    /// The follow consumer stopped with an error.
    #[error("consuming topic {topic}")]
    Consume {
        /// Topic.
        topic: String,
        /// Why.
        source: Box<Error>,
    },
    /// A consumed partition batch held no message.
    #[error("empty batch")]
    EmptyBatch {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// The writing side stopped while the consumer still had chunks for it.
    #[error("the writer stopped")]
    WriterStopped,
    /// One partition failed to land too many times in a row.
    #[error("{topic}[{partition}] failed to land {failures} times in a row")]
    TooManyFailures {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The allowed failures in a row.
        failures: u32,
        /// The last failure.
        source: Box<Error>,
    },
    /// A thread of the engine could not be started.
    #[error("starting the {thread} thread")]
    SpawnThread {
        /// Which thread.
        thread: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A thread of the engine panicked.
    #[error("the {thread} thread panicked")]
    ThreadPanicked {
        /// Which thread.
        thread: &'static str,
    },
    /// A thread of the engine could not be joined.
    #[error("joining the {thread} thread: {reason}")]
    JoinThread {
        /// Which thread.
        thread: &'static str,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// Whether this is, or was caused by, a commit refused because another writer committed
    /// the range's offsets first (see [`hdfs_sink::Error::Fenced`]).
    pub fn is_fenced(&self) -> bool {
        match self {
            Error::Fenced { .. } => true,
            Error::Consume { source, .. } | Error::TooManyFailures { source, .. } => {
                source.is_fenced()
            }
            e => e.sink_error().is_some_and(is_fenced),
        }
    }

    /// The `hdfs-sink` error this one wraps, if any.
    pub fn sink_error(&self) -> Option<&hdfs_sink::Error> {
        match self {
            Error::CreateTables { source, .. }
            | Error::Recover { source, .. }
            | Error::RecoverPartitions { source, .. }
            | Error::ReadLog { source }
            | Error::ReadFile { source, .. }
            | Error::BeginRange { source, .. }
            | Error::WriteChunk { source, .. }
            | Error::Fenced { source, .. }
            | Error::Commit { source, .. }
            | Error::AbortRange { source, .. }
            | Error::RecordGap { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }

    /// The message with its causes, `outer: inner: innermost` (as `anyhow` prints `{:#}`),
    /// for logs and for the rebalance callback's answer.
    pub fn chain(&self) -> String {
        let mut s = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cause = c.source();
        }
        s
    }
}

/// Whether `e` is a commit refused because another writer committed the range's offsets
/// first (see [`hdfs_sink::Error::Fenced`]).
pub fn is_fenced(e: &hdfs_sink::Error) -> bool {
    matches!(e.root(), hdfs_sink::Error::Fenced { .. })
}
