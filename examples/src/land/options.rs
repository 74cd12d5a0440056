//! What to land and how: [`LandOptions`] common to every source, and each source's own
//! ([`FileLandOptions`], [`BoundedLandOptions`], [`FollowOptions`]).

use super::error::{Error, Result};
use super::sink::Sink;
use assessment_flatten::FlattenConfig;
use assessment_schema::tables::Table;
use hdfs_sink::Warehouse;
use kafka_io::StreamingOptions;
use std::time::Duration;

/// What every source lands: which tables, flattened how.
#[derive(Debug, Clone)]
pub struct LandOptions {
    /// Flattener settings.
    pub flatten: FlattenConfig,
    /// Tables to land (`rejects` is always landed, see [`select_tables`]). Without `raw`,
    /// the flattener does not build it. Default: all five.
    pub tables: Vec<Table>,
    /// Chunk writes of different partitions that may run at once in the file and bounded
    /// sources (a file is one partition; `--follow` writes one chunk at a time): while one
    /// partition's slowest table is still encoding, the next partition's tables use the
    /// other core. One partition's chunks are always written in order. Default:
    /// [`DEFAULT_CONCURRENT_WRITES`]; 1 writes one chunk at a time.
    pub concurrent_writes: usize,
}

/// Chunk writes running at once by default: two, one per core of the machines this runs on.
pub const DEFAULT_CONCURRENT_WRITES: usize = 2;

impl Default for LandOptions {
    fn default() -> Self {
        Self {
            flatten: FlattenConfig::default(),
            tables: Table::ALL.to_vec(),
            concurrent_writes: DEFAULT_CONCURRENT_WRITES,
        }
    }
}

impl LandOptions {
    /// The flattener settings for the selected tables: `raw` is built only if it is landed.
    pub fn flatten_config(&self) -> FlattenConfig {
        FlattenConfig {
            build_raw: self.flatten.build_raw && self.tables.contains(&Table::Raw),
            ..self.flatten.clone()
        }
    }

    /// A sink landing the selected tables (plus `rejects`), declaring `assessments` the way
    /// the flattener builds it (with or without the nested `sequences` column).
    pub(crate) fn sink(&self, warehouse: Warehouse) -> Sink {
        let sink = Sink::with_tables(warehouse, &self.tables);
        if self.flatten.nested_sequences {
            sink
        } else {
            sink.without_sequences()
        }
    }
}

/// Messages per chunk handed from a flattening thread to the writer by default: about 20 MB
/// of events; smaller chunks are no faster, larger ones only hold more memory.
pub const DEFAULT_CHUNK_MESSAGES: usize = 8_192;

/// Options of [`super::land_file`].
#[derive(Debug, Clone)]
pub struct FileLandOptions {
    /// Tables and flattening.
    pub land: LandOptions,
    /// Messages per chunk handed from the flattening thread to the writer. Default
    /// [`DEFAULT_CHUNK_MESSAGES`].
    pub chunk_messages: usize,
    /// The source name (topic) the file's events land under. Default (`None`): the file's
    /// name ([`super::topic_for_file`]).
    pub source: Option<String>,
}

impl Default for FileLandOptions {
    fn default() -> Self {
        Self {
            land: LandOptions::default(),
            chunk_messages: DEFAULT_CHUNK_MESSAGES,
            source: None,
        }
    }
}

/// Options of [`super::land_topic_bounded`].
#[derive(Debug, Clone)]
pub struct BoundedLandOptions {
    /// Tables and flattening.
    pub land: LandOptions,
    /// Messages of one partition per chunk handed from the reading thread to the writer.
    /// Default [`DEFAULT_CHUNK_MESSAGES`].
    pub chunk_messages: usize,
    /// The bounded read (e.g. whether retention gaps are accepted).
    pub read: kafka_io::BoundedOptions,
}

impl Default for BoundedLandOptions {
    fn default() -> Self {
        Self {
            land: LandOptions::default(),
            chunk_messages: DEFAULT_CHUNK_MESSAGES,
            read: kafka_io::BoundedOptions::default(),
        }
    }
}

/// Options of [`super::land_topic_follow`].
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Tables and flattening.
    pub land: LandOptions,
    /// The consumer group and its batching (a partition batch becomes one chunk). Defaults
    /// of [`StreamingOptions`] except batches of at most 2 MiB, fetches of 1 MiB per
    /// partition and a prefetch queue of 4 MiB: with 3 chunks in flight that bounds what is
    /// held before the writer.
    pub streaming: StreamingOptions,
    /// Chunks queued between the consumer thread and the writer before the consumer pauses
    /// its partitions. Default 3.
    pub in_flight_chunks: usize,
    /// How often the consumer asks the brokers for high watermarks to report lag. Default 2 s.
    pub lag_every: Duration,
    /// Consecutive failed writes of one partition (each followed by recovery and a re-read)
    /// before the program gives up. Default 10.
    pub max_write_failures: u32,
    /// How long the sink keeps retrying recovery of a partition (e.g. while HDFS is down)
    /// before giving up. Default 5 minutes.
    pub recovery_timeout: Duration,
}

impl FollowOptions {
    /// Options for consumer group `group`, everything else at its default.
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            streaming: StreamingOptions {
                // Small chunks, fetches and prefetch bound the memory of a long-running
                // member (the prefetch queue stays full while the writer is the bottleneck,
                // and a fetch response may overshoot it by a partition fetch per partition).
                max_batch_bytes: 2 << 20,
                max_prefetch_bytes: 4 << 20,
                fetch_partition_bytes: 1 << 20,
                ..StreamingOptions::new(group)
            },
            land: LandOptions::default(),
            in_flight_chunks: 3,
            lag_every: Duration::from_secs(2),
            max_write_failures: 10,
            recovery_timeout: Duration::from_secs(300),
        }
    }
}

/// `tables` plus `rejects` (always landed: bad input is never dropped), deduplicated, in
/// [`Table::ALL`] order.
pub fn select_tables(tables: &[Table]) -> Vec<Table> {
    Table::ALL
        .into_iter()
        .filter(|t| *t == Table::Rejects || tables.contains(t))
        .collect()
}

/// Parses a comma-separated list of table names (`assessments,questions,options`); `rejects`
/// is added by [`select_tables`].
pub fn parse_tables(list: &str) -> Result<Vec<Table>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(t) = Table::from_name(name) else {
            let all: Vec<_> = Table::ALL.iter().map(|t| t.name()).collect();
            return Err(Error::UnknownTable {
                name: name.to_owned(),
                expected: all.join(","),
            });
        };
        out.push(t);
    }
    Ok(select_tables(&out))
}

/// `(name, schema)` of each of `tables`, as `hdfs-sink` takes them; `assessments` with or
/// without its nested `sequences` column ([`assessment_schema::tables::landed_schema`]).
pub fn table_schemas_of(
    tables: &[Table],
    nested_sequences: bool,
) -> Vec<(&'static str, arrow_schema::SchemaRef)> {
    tables
        .iter()
        .map(|t| {
            (
                t.name(),
                assessment_schema::tables::landed_schema(*t, nested_sequences),
            )
        })
        .collect()
}
