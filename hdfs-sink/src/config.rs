//! Configuration: plain structs with documented defaults, built and validated by
//! [`SinkConfigBuilder`].

use std::collections::BTreeMap;
use std::time::Duration;

use parquet::basic::{Compression as PqCompression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

use crate::error::ConfigError;

/// Parquet compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Zstandard at the given level (1..=22). Default: level 3 (the zstd CLI's and Spark's
    /// default).
    Zstd(i32),
    /// Snappy (Spark's default codec).
    Snappy,
    /// LZ4 in the `LZ4_RAW` Parquet codec (the non-deprecated one; read by Spark 3.3+, DuckDB,
    /// DataFusion, Trino).
    Lz4,
    /// No compression.
    None,
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd(3)
    }
}

impl Compression {
    pub(crate) fn to_parquet(self) -> Result<PqCompression, ConfigError> {
        Ok(match self {
            Compression::Zstd(level) => {
                PqCompression::ZSTD(ZstdLevel::try_new(level).map_err(|e| {
                    ConfigError::Invalid {
                        field: "parquet.compression",
                        reason: e.to_string(),
                    }
                })?)
            }
            Compression::Snappy => PqCompression::SNAPPY,
            Compression::Lz4 => PqCompression::LZ4_RAW,
            Compression::None => PqCompression::UNCOMPRESSED,
        })
    }
}

/// Encoding of a column's values when they are not dictionary-encoded (see
/// [`ColumnOptions::encoding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Values as they are (Parquet's default fallback).
    Plain,
    /// Differences between consecutive integers, bit-packed (`INT32`/`INT64` columns only):
    /// a few bits per value for offsets, counters and small indexes, no hashing. Read by
    /// Spark 3.3+, DuckDB, Trino, DataFusion and pyarrow.
    DeltaBinaryPacked,
}

impl Encoding {
    fn to_parquet(self) -> parquet::basic::Encoding {
        match self {
            Encoding::Plain => parquet::basic::Encoding::PLAIN,
            Encoding::DeltaBinaryPacked => parquet::basic::Encoding::DELTA_BINARY_PACKED,
        }
    }
}

/// Column statistics written into the Parquet file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Statistics {
    /// No statistics.
    None,
    /// Per column chunk (row group) min/max/null count.
    Chunk,
    /// Per column chunk and per page (column index). Default.
    #[default]
    Page,
}

/// Parquet writer settings.
///
/// Timestamps are written as Arrow gives them: a `Timestamp(Microsecond, Some("UTC"))` column
/// becomes `INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true)`, which Spark, DuckDB, Trino and
/// DataFusion read as a UTC timestamp. The Arrow schema is embedded (`ARROW:schema`).
#[derive(Debug, Clone, PartialEq)]
pub struct ParquetOptions {
    /// Codec. Default: [`Compression::Zstd`]`(3)`.
    pub compression: Compression,
    /// Maximum rows per row group. Default: 1,048,576.
    pub max_row_group_rows: usize,
    /// Maximum estimated encoded bytes per row group (a row group is buffered in memory until
    /// flushed). Default: 64 MiB.
    pub max_row_group_bytes: usize,
    /// Memory budget, in bytes, for the row groups buffered by **all** open files of a
    /// [`Warehouse`](crate::Warehouse) (every open range, every table). A write that leaves
    /// the total above it flushes the writing range's largest buffered row groups until the
    /// total is back under it, so a process landing many partitions at once stays bounded
    /// (its row groups get smaller instead). Default: 128 MiB.
    pub max_buffered_bytes: usize,
    /// Dictionary encoding. Default: `true`.
    pub dictionary: bool,
    /// Statistics. Default: [`Statistics::Page`].
    pub statistics: Statistics,
    /// Target data page size in bytes. Default: 1 MiB.
    pub data_page_size_bytes: usize,
    /// Per-column overrides, keyed by table name, then by the column's dotted Parquet leaf
    /// path (`value`, `sequences.questions.list.item.id`: a list's element is named after the
    /// Arrow list field, `item`). A range declaring a table refuses overrides of columns the
    /// table does not have ([`ConfigError::UnknownColumn`]). Default: none.
    pub columns: BTreeMap<String, BTreeMap<String, ColumnOptions>>,
}

/// Settings of one column that override the file-wide [`ParquetOptions`]; `None` keeps the
/// file-wide value. Useful for a large high-cardinality column (e.g. a raw message body:
/// a cheaper codec level, no dictionary attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColumnOptions {
    /// Codec of this column.
    pub compression: Option<Compression>,
    /// Dictionary encoding of this column.
    pub dictionary: Option<bool>,
    /// Statistics of this column.
    pub statistics: Option<Statistics>,
    /// Encoding of this column's values when not dictionary-encoded: with the dictionary on,
    /// only after the dictionary overflows; with `dictionary: Some(false)`, always. An
    /// encoding the column's type does not support is refused when a range declaring the
    /// table begins ([`ConfigError::UnsupportedColumnOption`]).
    pub encoding: Option<Encoding>,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        Self {
            compression: Compression::default(),
            max_row_group_rows: 1024 * 1024,
            max_row_group_bytes: 64 * 1024 * 1024,
            max_buffered_bytes: 128 * 1024 * 1024,
            dictionary: true,
            statistics: Statistics::Page,
            data_page_size_bytes: 1024 * 1024,
            columns: BTreeMap::new(),
        }
    }
}

impl Statistics {
    fn to_parquet(self) -> EnabledStatistics {
        match self {
            Statistics::None => EnabledStatistics::None,
            Statistics::Chunk => EnabledStatistics::Chunk,
            Statistics::Page => EnabledStatistics::Page,
        }
    }
}

impl ParquetOptions {
    fn builder(&self) -> Result<WriterPropertiesBuilder, ConfigError> {
        Ok(WriterProperties::builder()
            .set_compression(self.compression.to_parquet()?)
            .set_max_row_group_row_count(Some(self.max_row_group_rows))
            .set_max_row_group_bytes(Some(self.max_row_group_bytes))
            .set_dictionary_enabled(self.dictionary)
            .set_statistics_enabled(self.statistics.to_parquet())
            .set_data_page_size_limit(self.data_page_size_bytes)
            .set_created_by(format!(
                "hdfs-sink {} ({})",
                env!("CARGO_PKG_VERSION"),
                parquet::file::properties::DEFAULT_CREATED_BY
            )))
    }

    /// Properties of files of tables without column overrides.
    pub(crate) fn writer_properties(&self) -> Result<WriterProperties, ConfigError> {
        Ok(self.builder()?.build())
    }

    /// Properties of the files of each table that has column overrides.
    pub(crate) fn table_properties(
        &self,
    ) -> Result<BTreeMap<String, WriterProperties>, ConfigError> {
        let mut out = BTreeMap::new();
        for (table, columns) in &self.columns {
            let mut b = self.builder()?;
            for (column, o) in columns {
                let path =
                    ColumnPath::from(column.split('.').map(str::to_owned).collect::<Vec<_>>());
                if let Some(c) = o.compression {
                    b = b.set_column_compression(path.clone(), c.to_parquet()?);
                }
                if let Some(d) = o.dictionary {
                    b = b.set_column_dictionary_enabled(path.clone(), d);
                }
                if let Some(e) = o.encoding {
                    b = b.set_column_encoding(path.clone(), e.to_parquet());
                }
                if let Some(st) = o.statistics {
                    b = b.set_column_statistics_enabled(path, st.to_parquet());
                }
            }
            out.insert(table.clone(), b.build());
        }
        Ok(out)
    }
}

/// When to cut a range (and so close its files). Used by the caller through
/// [`RotationPolicy::should_rotate`]; a range never spans two Kafka partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate when the range holds this many rows, summed over its tables. Default: 10,000,000.
    pub max_rows: u64,
    /// Rotate when the range's files reach this many bytes (encoded bytes written plus the
    /// estimate of the buffered row groups), summed over its files. Default: 128 MiB.
    pub max_bytes: u64,
    /// Rotate when the range has been open this long (wall clock, whether or not new rows
    /// arrive: call `should_rotate` from a timer too). Default: 5 minutes.
    pub max_age: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            max_rows: 10_000_000,
            max_bytes: 128 * 1024 * 1024,
            max_age: Duration::from_secs(300),
        }
    }
}

/// Retry of single storage operations (create, rename, delete, list, mkdirs, marker write).
///
/// Transient errors (connection refused or reset, timeouts, DataNode pipeline errors,
/// `RetriableException`/`StandbyException`) are retried with exponential backoff
/// `initial_backoff · 2^n` capped at `max_backoff`, for at most `max_attempts` attempts. Safe
/// mode is retried the same way until `safe_mode_wait` has elapsed. Permission denied, no
/// space, not found and other errors are not retried. Streamed writes of a Parquet file are not
/// retried individually (a half-written file cannot be resumed): the range fails, the caller
/// aborts it and lands the offsets again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per operation, including the first. Default: 5.
    pub max_attempts: u32,
    /// First backoff. Default: 200 ms.
    pub initial_backoff: Duration,
    /// Backoff cap. Default: 5 s.
    pub max_backoff: Duration,
    /// Time limit of one attempt (also applied to each streamed write and to closing a file).
    /// Default: 120 s.
    pub op_timeout: Duration,
    /// How long to keep retrying while the NameNode is in safe mode. Default: 60 s.
    pub safe_mode_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            op_timeout: Duration::from_secs(120),
            safe_mode_wait: Duration::from_secs(60),
        }
    }
}

/// Hive-style partitioning of a table by the UTC date of a timestamp column:
/// `<table>/<key>=YYYY-MM-DD/…`. Rows whose timestamp is null go to
/// `<key>=__HIVE_DEFAULT_PARTITION__`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePartitioning {
    /// The column: `Timestamp` (any unit; the date is taken in UTC whatever the zone),
    /// `Date32` or `Date64`.
    pub column: String,
    /// Partition key in the directory name. Default: `date`. Must not be a column of the
    /// table.
    pub key: String,
}

/// Sink configuration. Build with [`SinkConfig::builder`]; `Default` is valid.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SinkConfig {
    /// Parquet writer settings.
    pub parquet: ParquetOptions,
    /// Rotation thresholds (see [`RotationPolicy`]).
    pub rotation: RotationPolicy,
    /// Retry of storage operations.
    pub retry: RetryPolicy,
    /// Per table: Hive date partitioning. Default: none.
    pub date_partitioning: BTreeMap<String, DatePartitioning>,
    /// Local backend only: `fsync` each file before it is renamed and each directory after a
    /// rename, so a committed range survives a power loss (not just a process crash).
    /// Default: `true`.
    pub fsync: bool,
    /// HDFS only: replication of the files written. Default: `None` (server default).
    pub replication: Option<u32>,
    /// HDFS only: block size of the files written, in bytes. Default: `None` (server default).
    pub block_size: Option<u64>,
    /// Permission bits of files created. Default: `0o644`.
    pub file_permission: u32,
    /// Permission bits of directories created. Default: `0o755`.
    pub dir_permission: u32,
    /// HDFS only: extra client configuration (`dfs.*`, `fs.*` keys), on top of
    /// `$HADOOP_CONF_DIR`. Default: empty.
    pub hdfs_options: BTreeMap<String, String>,
    /// The `Int64` column holding each row's Kafka offset. When a range is landed again
    /// after some tables committed it (a crash between the tables' commits), the rows of a
    /// table whose offset it has already committed are dropped by this column. Needed only
    /// by tables of such a range. Default: `_offset`.
    pub offset_column: String,
}

impl Default for SinkConfig {
    fn default() -> Self {
        Self {
            parquet: ParquetOptions::default(),
            rotation: RotationPolicy::default(),
            retry: RetryPolicy::default(),
            date_partitioning: BTreeMap::new(),
            fsync: true,
            replication: None,
            block_size: None,
            file_permission: 0o644,
            dir_permission: 0o755,
            hdfs_options: BTreeMap::new(),
            offset_column: "_offset".to_owned(),
        }
    }
}

impl SinkConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> SinkConfigBuilder {
        SinkConfigBuilder {
            config: SinkConfig::default(),
        }
    }

    /// Check every setting; [`SinkConfigBuilder::build`] calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.to_owned(),
            })
        };
        self.parquet.compression.to_parquet()?;
        self.parquet.table_properties()?;
        for (table, columns) in &self.parquet.columns {
            if table.is_empty() || columns.keys().any(|c| c.is_empty()) {
                return invalid(
                    "parquet.columns",
                    "table and column names must be non-empty",
                );
            }
        }
        if self.parquet.max_row_group_rows == 0 {
            return invalid("parquet.max_row_group_rows", "must be > 0");
        }
        if self.parquet.max_row_group_bytes == 0 {
            return invalid("parquet.max_row_group_bytes", "must be > 0");
        }
        if self.parquet.max_buffered_bytes == 0 {
            return invalid("parquet.max_buffered_bytes", "must be > 0");
        }
        if self.parquet.data_page_size_bytes == 0 {
            return invalid("parquet.data_page_size_bytes", "must be > 0");
        }
        if self.rotation.max_rows == 0 {
            return invalid("rotation.max_rows", "must be > 0");
        }
        if self.rotation.max_bytes == 0 {
            return invalid("rotation.max_bytes", "must be > 0");
        }
        if self.rotation.max_age.is_zero() {
            return invalid("rotation.max_age", "must be > 0");
        }
        if self.retry.max_attempts == 0 {
            return invalid("retry.max_attempts", "must be >= 1");
        }
        if self.retry.op_timeout.is_zero() {
            return invalid("retry.op_timeout", "must be > 0");
        }
        if self.retry.initial_backoff > self.retry.max_backoff {
            return invalid("retry.initial_backoff", "must be <= retry.max_backoff");
        }
        if self.replication == Some(0) {
            return invalid("replication", "must be >= 1");
        }
        if self.block_size == Some(0) {
            return invalid("block_size", "must be > 0");
        }
        if self.file_permission > 0o7777 || self.dir_permission > 0o7777 {
            return invalid("file_permission/dir_permission", "must be <= 0o7777");
        }
        for (table, p) in &self.date_partitioning {
            if table.is_empty() || p.column.is_empty() {
                return invalid("date_partitioning", "table and column must be non-empty");
            }
            if p.key.is_empty() || p.key.contains(['/', '=', '+']) {
                return invalid(
                    "date_partitioning.key",
                    "must be non-empty without '/', '=', '+'",
                );
            }
        }
        Ok(())
    }
}

/// Validating builder of [`SinkConfig`].
#[derive(Debug, Clone)]
pub struct SinkConfigBuilder {
    config: SinkConfig,
}

impl SinkConfigBuilder {
    /// Parquet codec (default zstd level 3).
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.config.parquet.compression = compression;
        self
    }

    /// Maximum rows per row group (default 1,048,576).
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.config.parquet.max_row_group_rows = rows;
        self
    }

    /// Maximum encoded bytes per row group (default 64 MiB).
    pub fn with_row_group_bytes(mut self, bytes: usize) -> Self {
        self.config.parquet.max_row_group_bytes = bytes;
        self
    }

    /// Memory budget for the row groups buffered by all open files (default 128 MiB); see
    /// [`ParquetOptions::max_buffered_bytes`].
    pub fn with_max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.config.parquet.max_buffered_bytes = bytes;
        self
    }

    /// Dictionary encoding on or off (default on).
    pub fn with_dictionary(mut self, enabled: bool) -> Self {
        self.config.parquet.dictionary = enabled;
        self
    }

    /// Statistics level (default per page).
    pub fn with_statistics(mut self, statistics: Statistics) -> Self {
        self.config.parquet.statistics = statistics;
        self
    }

    /// Override the codec, dictionary or statistics of one column of `table` (`column` is the
    /// dotted leaf path, e.g. `value`).
    pub fn with_column_options(
        mut self,
        table: impl Into<String>,
        column: impl Into<String>,
        options: ColumnOptions,
    ) -> Self {
        self.config
            .parquet
            .columns
            .entry(table.into())
            .or_default()
            .insert(column.into(), options);
        self
    }

    /// All Parquet settings at once.
    pub fn with_parquet(mut self, parquet: ParquetOptions) -> Self {
        self.config.parquet = parquet;
        self
    }

    /// Rotation thresholds.
    pub fn with_rotation(mut self, rotation: RotationPolicy) -> Self {
        self.config.rotation = rotation;
        self
    }

    /// Retry policy of storage operations.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// Partition `table` by the UTC date of `column` into `date=YYYY-MM-DD/` directories.
    pub fn with_date_partitioning(
        mut self,
        table: impl Into<String>,
        column: impl Into<String>,
    ) -> Self {
        self.config.date_partitioning.insert(
            table.into(),
            DatePartitioning {
                column: column.into(),
                key: "date".to_owned(),
            },
        );
        self
    }

    /// The `Int64` column holding each row's Kafka offset (default `_offset`), see
    /// [`SinkConfig::offset_column`].
    pub fn with_offset_column(mut self, column: impl Into<String>) -> Self {
        self.config.offset_column = column.into();
        self
    }

    /// `fsync` files and directories on the local backend (default on).
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.config.fsync = fsync;
        self
    }

    /// HDFS replication of written files (default: server default).
    pub fn with_replication(mut self, replication: u32) -> Self {
        self.config.replication = Some(replication);
        self
    }

    /// HDFS block size of written files in bytes (default: server default).
    pub fn with_block_size(mut self, bytes: u64) -> Self {
        self.config.block_size = Some(bytes);
        self
    }

    /// An extra HDFS client option (e.g. `dfs.client.use.datanode.hostname`).
    pub fn with_hdfs_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.hdfs_options.insert(key.into(), value.into());
        self
    }

    /// Validate and return the configuration.
    pub fn build(self) -> Result<SinkConfig, ConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = SinkConfig::builder().build().expect("defaults");
        assert_eq!(c.rotation.max_bytes, 128 * 1024 * 1024);
        assert_eq!(c.parquet.compression, Compression::Zstd(3));
        assert!(c.parquet.writer_properties().is_ok());
    }

    #[test]
    fn rejects_bad_values() {
        let e = SinkConfig::builder()
            .with_compression(Compression::Zstd(99))
            .build()
            .expect_err("must fail");
        assert!(matches!(
            e,
            ConfigError::Invalid {
                field: "parquet.compression",
                ..
            }
        ));
        let e = SinkConfig::builder()
            .with_row_group_rows(0)
            .build()
            .expect_err("must fail");
        assert!(e.to_string().contains("max_row_group_rows"), "{e}");
        let e = SinkConfig::builder()
            .with_rotation(RotationPolicy {
                max_age: Duration::ZERO,
                ..RotationPolicy::default()
            })
            .build()
            .expect_err("must fail");
        assert!(e.to_string().contains("max_age"), "{e}");
    }
}
