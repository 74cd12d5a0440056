//! The landing loop shared by `land` and `pipeline`: messages → [`Flattener`] (one thread) →
//! [`hdfs_sink`] ranges (the async side), so flattening and Parquet encoding use both cores.
//!
//! Sources produce [`Chunk`]s: the flattened tables of a run of messages of *one* partition.
//! [`Sink`] writes each chunk into the open range of its partition, commits a range when the
//! warehouse's rotation policy says so, and commits everything at [`Sink::finish`].

use anyhow::{Context as _, Result, bail};
use assessment_flatten::{ErrorKind, FlattenConfig, Flattened, Flattener, Message, Origin};
use assessment_schema::tables::{self, Table};
use hdfs_sink::{CommitInfo, RangeWriter, Warehouse};
use kafka_io::json::{InputFile, InputFormat, InputReader, JsonElements, NdjsonLines, open_input};
use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The flattened tables of consecutive messages of one partition.
#[derive(Debug)]
pub struct Chunk {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// First offset in the chunk.
    pub first_offset: i64,
    /// Last offset in the chunk (inclusive).
    pub last_offset: i64,
    /// The tables.
    pub tables: Flattened,
}

/// The `(name, schema)` list of every table, as `hdfs-sink` takes it.
pub fn table_schemas() -> Vec<(&'static str, arrow_schema::SchemaRef)> {
    table_schemas_of(&Table::ALL, true)
}

/// The `(name, schema)` list of `tables`, as `hdfs-sink` takes it; `assessments` with or
/// without its nested `sequences` column ([`tables::landed_schema`]).
pub fn table_schemas_of(
    tables: &[Table],
    nested_sequences: bool,
) -> Vec<(&'static str, arrow_schema::SchemaRef)> {
    tables
        .iter()
        .map(|t| (t.name(), tables::landed_schema(*t, nested_sequences)))
        .collect()
}

/// The sink settings for event tables: the defaults (zstd(3), dictionaries, page statistics)
/// with these per-column overrides, each measured with `benches/e2e_file.sh` (BENCHMARKS.md):
///
/// * message bodies (`raw.value`, `rejects.value`, ~2.5 KB of JSON each, all distinct):
///   zstd(1), no dictionary attempt, no min/max statistics (meaningless on JSON bytes). That
///   halves the cost of encoding `raw` for ~10% more bytes;
/// * identifiers (the random UUIDs of events, attempts, questions' options, and the parent
///   keys repeated on child rows): zstd(1) — random hex compresses through entropy coding,
///   which level 1 does as well as level 3, at less CPU — and no min/max statistics (ranges
///   of random ids prune nothing);
/// * timestamps (distinct to the millisecond or microsecond): no dictionary attempt;
/// * provenance `_partition`/`_offset` and the child tables' `question_index`/`option_index`
///   (constant, increasing, or small cycling integers): delta-encoded instead of
///   dictionary-encoded — no hashing per row, and fewer bytes.
///
/// `nested_sequences`: whether `assessments` is landed with its nested `sequences` column
/// (the overrides of its leaves apply only then).
pub fn sink_config_builder(nested_sequences: bool) -> hdfs_sink::SinkConfigBuilder {
    let body = hdfs_sink::ColumnOptions {
        compression: Some(hdfs_sink::Compression::Zstd(1)),
        dictionary: Some(false),
        statistics: Some(hdfs_sink::Statistics::None),
        ..hdfs_sink::ColumnOptions::default()
    };
    // Identifiers unique per event: a dictionary never pays off (parquet would intern
    // values until the dictionary page overflows, then fall back to plain).
    let unique_id = hdfs_sink::ColumnOptions {
        compression: Some(hdfs_sink::Compression::Zstd(1)),
        dictionary: Some(false),
        statistics: Some(hdfs_sink::Statistics::None),
        ..hdfs_sink::ColumnOptions::default()
    };
    // Parent keys repeated on every child row, option ids repeated across attempts: the
    // dictionary is what makes them small while it fits.
    let repeated_id = hdfs_sink::ColumnOptions {
        compression: Some(hdfs_sink::Compression::Zstd(1)),
        statistics: Some(hdfs_sink::Statistics::None),
        ..hdfs_sink::ColumnOptions::default()
    };
    let timestamp = hdfs_sink::ColumnOptions {
        dictionary: Some(false),
        ..hdfs_sink::ColumnOptions::default()
    };
    let sequence = hdfs_sink::ColumnOptions {
        dictionary: Some(false),
        encoding: Some(hdfs_sink::Encoding::DeltaBinaryPacked),
        ..hdfs_sink::ColumnOptions::default()
    };
    let mut b = hdfs_sink::SinkConfig::builder()
        .with_column_options(Table::Raw.name(), "value", body)
        .with_column_options(Table::Rejects.name(), "value", body);
    for (table, column, options) in [
        (Table::Raw, "key", unique_id),
        (Table::Assessments, "keen_id", unique_id),
        (Table::Assessments, "user_exam_id", unique_id),
        (Table::Assessments, OPTION_ID, repeated_id),
        (Table::Questions, "keen_id", repeated_id),
        (Table::Questions, "user_exam_id", repeated_id),
        (Table::Options, "keen_id", repeated_id),
        (Table::Options, "question_id", repeated_id),
        (Table::Options, "option_id", repeated_id),
        (Table::Assessments, "keen_timestamp", timestamp),
        (Table::Assessments, "keen_created_at", timestamp),
        (Table::Assessments, "started_at", timestamp),
        (Table::Assessments, OPTION_AT, timestamp),
        (Table::Options, "at", timestamp),
    ] {
        if nested_sequences || !column.starts_with("sequences.") {
            b = b.with_column_options(table.name(), column, options);
        }
    }
    for table in Table::ALL {
        for column in ["_partition", "_offset"] {
            b = b.with_column_options(table.name(), column, sequence);
        }
    }
    for (table, column) in [
        (Table::Questions, "question_index"),
        (Table::Options, "question_index"),
        (Table::Options, "option_index"),
    ] {
        b = b.with_column_options(table.name(), column, sequence);
    }
    b
}

/// Leaf paths of the nested `sequences` column (Parquet names a list's element `item`, as
/// Arrow's list field is named).
const OPTION_ID: &str = "sequences.questions.list.item.options.list.item.id";
const OPTION_AT: &str = "sequences.questions.list.item.options.list.item.at";

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
            bail!("unknown table {name:?}: expected some of {}", all.join(","));
        };
        out.push(t);
    }
    Ok(select_tables(&out))
}

/// Running totals, printed as progress and as the final summary.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    /// Messages landed.
    pub messages: u64,
    /// Of which valid events.
    pub accepted: u64,
    /// Of which rejects.
    pub rejected: u64,
    /// Bytes of message values.
    pub input_bytes: u64,
    /// Unknown fields seen (kept in `raw`).
    pub unknown_fields: u64,
    /// Rows per table committed.
    pub rows: BTreeMap<&'static str, u64>,
    /// Ranges committed.
    pub ranges: u64,
    /// Parquet files written.
    pub files: u64,
    /// Bytes of Parquet written.
    pub parquet_bytes: u64,
    /// Per (topic, partition): first and last committed offsets.
    pub offsets: BTreeMap<(String, i32), (i64, i64)>,
}

impl Totals {
    fn add_commit(&mut self, info: &CommitInfo) {
        self.ranges += 1;
        self.parquet_bytes += info.bytes;
        for t in &info.tables {
            if let Some(table) = Table::from_name(&t.table) {
                *self.rows.entry(table.name()).or_default() += t.rows;
            }
            self.files += t.files.len() as u64;
        }
        let tp = &info.topic_partition;
        let e = self
            .offsets
            .entry((tp.topic.clone(), tp.partition))
            .or_insert((info.range.start, info.range.end));
        e.0 = e.0.min(info.range.start);
        e.1 = e.1.max(info.range.end);
    }

    /// A multi-line human summary.
    pub fn summary(&self, elapsed: Duration) -> String {
        use std::fmt::Write as _;
        let secs = elapsed.as_secs_f64().max(1e-9);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "landed {} messages ({} events, {} rejects) in {:.2}s: {:.0} events/s, {:.1} MB/s of JSON",
            self.messages,
            self.accepted,
            self.rejected,
            secs,
            self.messages as f64 / secs,
            self.input_bytes as f64 / secs / 1e6
        );
        let _ = writeln!(
            s,
            "  {} ranges committed, {} Parquet files, {:.1} MB; {} unknown fields kept in raw",
            self.ranges,
            self.files,
            self.parquet_bytes as f64 / 1e6,
            self.unknown_fields
        );
        for (table, rows) in &self.rows {
            let _ = writeln!(s, "  {table:<12} {rows:>10} rows");
        }
        for ((topic, p), (first, last)) in &self.offsets {
            let _ = writeln!(s, "  {topic}[{p}] offsets {first}..={last}");
        }
        s
    }
}

/// Writes chunks into ranges of the warehouse.
#[derive(Debug)]
pub struct Sink {
    warehouse: Warehouse,
    open: BTreeMap<(String, i32), (RangeWriter, i64)>,
    /// What has been committed so far.
    pub totals: Totals,
    started: Instant,
    last_progress: Instant,
    tty: bool,
    /// `(topic, partition, end)` of every range committed since the last
    /// [`Sink::take_commits`].
    commits: Vec<(String, i32, i64)>,
    /// Appended to the progress line (e.g. the consumer lag).
    status: String,
    /// The tables landed (declared in every range); always includes `rejects`.
    tables: Vec<Table>,
    /// Whether `assessments` carries its nested `sequences` column.
    nested_sequences: bool,
}

impl Sink {
    /// A sink over an opened (and recovered) warehouse.
    pub fn new(warehouse: Warehouse) -> Self {
        Self {
            warehouse,
            open: BTreeMap::new(),
            totals: Totals::default(),
            started: Instant::now(),
            last_progress: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            commits: Vec::new(),
            status: String::new(),
            tables: Table::ALL.to_vec(),
            nested_sequences: true,
        }
    }

    /// Declares `assessments` without its nested `sequences` column in the ranges it
    /// begins (chunks must come from a flattener with `nested_sequences = false`).
    pub fn without_sequences(mut self) -> Self {
        self.nested_sequences = false;
        self
    }

    /// A sink that lands only `tables` (plus `rejects`, always: bad input is never dropped).
    /// The ranges' markers list only these tables; rows of other tables are not written.
    pub fn with_tables(warehouse: Warehouse, tables: &[Table]) -> Self {
        let mut sink = Self::new(warehouse);
        sink.tables = select_tables(tables);
        sink
    }

    /// The ranges committed since the last call: `(topic, partition, last offset)`.
    pub fn take_commits(&mut self) -> Vec<(String, i32, i64)> {
        std::mem::take(&mut self.commits)
    }

    /// Whether a range of `key` is open.
    pub fn is_open(&self, key: &(String, i32)) -> bool {
        self.open.contains_key(key)
    }

    /// Abandons the open range of `key`, if any: its temp files are deleted, nothing of it is
    /// committed (the offsets are landed again later).
    pub async fn abort_partition(&mut self, key: &(String, i32)) -> Result<()> {
        if let Some((w, _)) = self.open.remove(key) {
            w.abort()
                .await
                .with_context(|| format!("abandoning the open range of {}[{}]", key.0, key.1))?;
        }
        Ok(())
    }

    /// The earliest moment a time-based rotation is due among the open ranges.
    pub fn next_due(&self) -> Option<Duration> {
        self.open
            .values()
            .map(|(w, _)| self.warehouse.rotation().time_until_due(w))
            .min()
    }

    /// Sets text appended to the progress line (e.g. the consumer lag).
    pub fn set_status(&mut self, status: String) {
        self.status = status;
    }

    /// Creates the tables this sink lands that do not exist yet (each a Delta table with its
    /// schema), so that every engine reads an empty table as empty before anything lands.
    pub async fn create_tables(&self) -> Result<()> {
        self.warehouse
            .create_tables(&table_schemas_of(&self.tables, self.nested_sequences))
            .await
            .with_context(|| {
                format!(
                    "creating the tables of {} (a Delta table has one schema: land with the \
                     --tables and --without-sequences of the earlier runs, or into another \
                     warehouse)",
                    self.warehouse.url()
                )
            })
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    /// Writes one chunk; commits the partition's range if rotation is due.
    pub async fn write(&mut self, chunk: Chunk) -> Result<()> {
        let key = (chunk.topic.clone(), chunk.partition);
        if !self.open.contains_key(&key) {
            let w = self
                .warehouse
                .begin_range(
                    &chunk.topic,
                    chunk.partition,
                    chunk.first_offset,
                    &table_schemas_of(&self.tables, self.nested_sequences),
                )
                .with_context(|| {
                    format!("opening a range of {}[{}]", chunk.topic, chunk.partition)
                })?;
            self.open.insert(key.clone(), (w, chunk.first_offset - 1));
        }
        let Some((writer, last)) = self.open.get_mut(&key) else {
            bail!("range of {}[{}] vanished", chunk.topic, chunk.partition);
        };
        if chunk.first_offset <= *last {
            bail!(
                "offsets of {}[{}] went backwards: chunk starts at {} after {}",
                chunk.topic,
                chunk.partition,
                chunk.first_offset,
                last
            );
        }
        // All tables of the chunk at once: hdfs-sink encodes them in parallel.
        let batches: Vec<(&str, &arrow_array::RecordBatch)> = chunk
            .tables
            .iter()
            .filter(|(t, b)| b.num_rows() > 0 && self.tables.contains(t))
            .map(|(t, b)| (t.name(), b))
            .collect();
        writer
            .write_tables(&batches)
            .await
            .with_context(|| format!("writing a chunk of {}[{}]", chunk.topic, chunk.partition))?;
        *last = chunk.last_offset;
        let s = &chunk.tables.stats;
        self.totals.messages += s.messages as u64;
        self.totals.accepted += s.accepted as u64;
        self.totals.rejected += s.rejected as u64;
        self.totals.input_bytes += s.input_bytes as u64;
        self.totals.unknown_fields += s.unknown_fields;
        if self.warehouse.rotation().should_rotate(writer) {
            self.commit(&key).await?;
        }
        self.progress();
        Ok(())
    }

    /// Commits the open range of `(topic, partition)`, if any.
    pub async fn commit(&mut self, key: &(String, i32)) -> Result<Option<CommitInfo>> {
        let Some((writer, last)) = self.open.remove(key) else {
            return Ok(None);
        };
        let info = writer.commit(last).await.map_err(|e| {
            let context = format!("committing {}[{}] up to offset {last}", key.0, key.1);
            if is_fenced(&e) {
                anyhow::Error::new(e).context(format!(
                    "{context}: another writer holds this range (it committed these offsets \
                     first); this one gives way and lands nothing of it"
                ))
            } else {
                anyhow::Error::new(e).context(context)
            }
        })?;
        tracing::info!(
            topic = %key.0, partition = key.1, start = info.range.start, end = info.range.end,
            bytes = info.bytes, "range committed"
        );
        self.totals.add_commit(&info);
        self.commits.push((key.0.clone(), key.1, info.range.end));
        Ok(Some(info))
    }

    /// The partitions whose open range is due for rotation (call from a timer too:
    /// time-based rotation must happen even when no message arrives).
    pub fn due_partitions(&self) -> Vec<(String, i32)> {
        self.open
            .iter()
            .filter(|(_, (w, _))| self.warehouse.rotation().should_rotate(w))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Commits all open ranges and returns the totals.
    pub async fn finish(mut self) -> Result<Totals> {
        let keys: Vec<_> = self.open.keys().cloned().collect();
        for k in keys {
            self.commit(&k).await?;
        }
        if self.tty {
            eprintln!();
        }
        Ok(self.totals)
    }

    /// Abandons every open range (its temp files are deleted; nothing is committed).
    pub async fn abort(mut self) -> Result<()> {
        for (_, (w, _)) in std::mem::take(&mut self.open) {
            w.abort().await?;
        }
        Ok(())
    }

    /// Prints the progress line if a second has passed since the last one.
    pub fn progress(&mut self) {
        if self.last_progress.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last_progress = Instant::now();
        let secs = self.started.elapsed().as_secs_f64();
        let t = &self.totals;
        let line = format!(
            "{} messages ({} rejects), {:.0} events/s, {:.1} MB/s, {} ranges committed{}",
            t.messages,
            t.rejected,
            t.messages as f64 / secs,
            t.input_bytes as f64 / secs / 1e6,
            t.ranges,
            self.status
        );
        if self.tty {
            eprint!("\r{line}   ");
        } else {
            tracing::info!("{line}");
        }
    }
}

/// The flattener's view of a consumed Kafka message (`flatten` does not know `kafka-io`).
pub fn kafka_message<'a>(m: &kafka_io::MessageRef<'a>) -> Message<'a> {
    Message {
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        timestamp_ms: m.timestamp_ms,
        key: m.key,
        value: m.payload,
    }
}

/// A topic name for a file source: the file's name with characters outside
/// `[A-Za-z0-9._-]` replaced by `_` (Kafka's topic alphabet).
pub fn topic_for_file(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "input".into(), |n| n.to_string_lossy().into_owned());
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Options of [`land_file`].
#[derive(Debug, Clone)]
pub struct FileLandOptions {
    /// Messages per chunk handed from the flattening thread to the writer. Default 8,192
    /// (~20 MB of events: smaller chunks measured no faster, larger ones only hold more
    /// memory).
    pub chunk_messages: usize,
    /// Flattener settings.
    pub flatten: FlattenConfig,
    /// Tables to land (`rejects` is always landed, see [`select_tables`]). Without `raw`,
    /// the flattener does not build it. Default: all five.
    pub tables: Vec<Table>,
    /// The source name (topic) the file's events land under. Default (`None`): the file's
    /// name ([`topic_for_file`]).
    pub source: Option<String>,
}

impl Default for FileLandOptions {
    fn default() -> Self {
        Self {
            chunk_messages: 8_192,
            flatten: FlattenConfig::default(),
            tables: Table::ALL.to_vec(),
            source: None,
        }
    }
}

impl FileLandOptions {
    /// The flattener settings for the selected tables (`raw` built only if landed).
    fn flatten_config(&self) -> FlattenConfig {
        flatten_config_for(&self.flatten, &self.tables)
    }

    /// A sink for the selected tables, with `assessments` as the flattener builds it.
    fn sink(&self, warehouse: Warehouse) -> Sink {
        sink_for(warehouse, &self.tables, &self.flatten)
    }
}

/// `flatten` for landing `tables`: `raw` is built only if it is landed.
pub(crate) fn flatten_config_for(flatten: &FlattenConfig, tables: &[Table]) -> FlattenConfig {
    FlattenConfig {
        build_raw: flatten.build_raw && tables.contains(&Table::Raw),
        ..flatten.clone()
    }
}

/// A sink landing `tables` (plus `rejects`), declaring `assessments` the way a flattener
/// with `flatten` builds it (with or without the nested `sequences` column).
pub(crate) fn sink_for(warehouse: Warehouse, tables: &[Table], flatten: &FlattenConfig) -> Sink {
    let sink = Sink::with_tables(warehouse, tables);
    if flatten.nested_sequences {
        sink
    } else {
        sink.without_sequences()
    }
}

/// The writing side of `land_file` and `land_topic_bounded`: writes the chunks the reading
/// thread sends until it is done. An error from that thread abandons the open ranges (nothing
/// partial is committed) and is returned.
async fn write_chunks(mut sink: Sink, rx: &mut mpsc::Receiver<Result<Chunk>>) -> Result<Sink> {
    while let Some(chunk) = rx.recv().await {
        match chunk {
            Ok(chunk) => sink.write(chunk).await?,
            Err(e) => {
                sink.abort().await.ok();
                return Err(e);
            }
        }
    }
    Ok(sink)
}

/// The events of a file, read by kafka-io's splitter as what the file is (plain, gzip or
/// zstd; a byte-order mark skipped): a JSON array's elements (compacted), or NDJSON's
/// non-blank lines as they are — a line that is not one valid JSON value is a message like
/// any other, which the flattener lands as a reject, and the next line is read. A line's
/// offset is its index among the non-blank lines. An array element the splitter can
/// delimit but not parse comes with its diagnosis; a structural error (the element has no
/// known end) ends the file with an error naming line, column and byte.
enum FileEvents {
    Array(Box<JsonElements<InputReader>>),
    Lines(Box<NdjsonLines<InputReader>>),
}

/// One event of a file: its index, its bytes, where it starts in the file and, for an array
/// element that is not valid JSON, where it broke and why.
struct FileEvent<'a> {
    index: u64,
    bytes: &'a [u8],
    origin: Origin,
    malformed: Option<(usize, String)>,
}

impl FileEvents {
    fn open(input: &InputFile) -> kafka_io::json::Result<Self> {
        Ok(match input.format() {
            InputFormat::Ndjson => FileEvents::Lines(Box::new(input.lines()?)),
            _ => FileEvents::Array(Box::new(input.elements()?)),
        })
    }

    fn next_event(&mut self) -> kafka_io::json::Result<Option<FileEvent<'_>>> {
        Ok(match self {
            FileEvents::Lines(lines) => lines.next_line()?.map(|l| FileEvent {
                index: l.index,
                bytes: l.bytes,
                origin: Origin {
                    line: l.line,
                    column: l.column,
                    byte: l.byte_offset,
                    verbatim: true,
                },
                malformed: None,
            }),
            FileEvents::Array(elements) => elements.next_element()?.map(|e| FileEvent {
                index: e.index,
                bytes: e.bytes,
                origin: Origin {
                    line: e.line,
                    column: e.column,
                    byte: e.byte_offset,
                    verbatim: false,
                },
                malformed: e.invalid.map(|i| (i.at, e.diagnosis().unwrap_or_default())),
            }),
        })
    }
}

/// Whether `e` is a commit refused because another writer committed the range's offsets
/// first (see [`hdfs_sink::Error::Fenced`]).
pub fn is_fenced(e: &hdfs_sink::Error) -> bool {
    matches!(e.root(), hdfs_sink::Error::Fenced { .. })
}

/// Whether any cause in the chain of `e` is a fenced commit ([`is_fenced`]).
pub fn is_fenced_any(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<hdfs_sink::Error>())
        .any(is_fenced)
}

/// Where a file's events go: the source name (topic), partition 0.
fn file_source(path: &Path, opts: &FileLandOptions) -> String {
    opts.source.clone().unwrap_or_else(|| topic_for_file(path))
}

/// Refuses to resume `topic` from `input` when the events already landed under that name
/// came from different content: the first and the last landed event (from `raw`) must equal
/// the file's events at those offsets. A file that grew (events appended) resumes.
async fn check_same_source(
    warehouse: &Warehouse,
    input: &InputFile,
    topic: &str,
    resume: i64,
) -> Result<()> {
    let want = [0, resume - 1];
    let landed = landed_raw_values(warehouse, topic, &want).await?;
    if landed.is_empty() {
        tracing::warn!(
            %topic,
            "raw is not landed for this source: cannot check that the file is the one landed before"
        );
        return Ok(());
    }
    let mut events = FileEvents::open(input)?;
    while let Some(e) = events.next_event()? {
        let offset = i64::try_from(e.index).unwrap_or(i64::MAX);
        if offset > resume - 1 {
            break;
        }
        if let Some(value) = landed.get(&offset)
            && value.as_slice() != e.bytes
        {
            bail!(
                "{} is not the file landed before as source {topic:?}: its event #{offset} \
                 (line {}, column {} (byte {})) differs from the one landed at that offset \
                 ({resume} events of {topic:?} are committed). Land it under its own name \
                 (--source NAME) or into another warehouse",
                input.path().display(),
                e.origin.line,
                e.origin.column,
                e.origin.byte
            );
        }
    }
    Ok(())
}

/// The `raw` values of `topic` partition 0 at `offsets`, from the committed ranges that
/// hold them (only those files are read).
async fn landed_raw_values(
    warehouse: &Warehouse,
    topic: &str,
    offsets: &[i64],
) -> Result<BTreeMap<i64, Vec<u8>>> {
    use arrow_array::cast::AsArray as _;
    let markers = warehouse
        .markers()
        .await
        .context("reading the commit log")?;
    let mut out = BTreeMap::new();
    for m in markers.iter().filter(|m| {
        m.topic == topic
            && m.partition == 0
            && offsets.iter().any(|o| (m.start..=m.end).contains(o))
    }) {
        if let Some(raw) = m.tables.get("raw") {
            for f in &raw.files {
                for b in warehouse.read_parquet_file(&f.path).await? {
                    let (Some(o), Some(v)) =
                        (b.column_by_name("_offset"), b.column_by_name("value"))
                    else {
                        continue;
                    };
                    let o = o.as_primitive::<arrow_array::types::Int64Type>();
                    let v = v.as_binary::<i32>();
                    for i in 0..b.num_rows() {
                        if offsets.contains(&o.value(i)) {
                            out.insert(o.value(i), v.value(i).to_vec());
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Lands an event file (JSON array or NDJSON, plain, gzip or zstd) into the warehouse:
/// topic = `opts.source` or the file's name ([`topic_for_file`]), partition 0, offset = the
/// event's index (see `FileEvents`: a bad NDJSON line is a reject, a broken array an
/// error). Resumes after the last committed offset, so running it twice lands nothing
/// twice; a different file under a name already landed is refused.
pub async fn land_file(
    path: &Path,
    warehouse: Warehouse,
    opts: &FileLandOptions,
) -> Result<Totals> {
    let topic = file_source(path, opts);
    let input = open_input(path)?;
    let sink = opts.sink(warehouse.clone());
    sink.create_tables().await?;
    let recovered = warehouse
        .recover()
        .await
        .context("recovering the warehouse")?;
    let resume = recovered.next_offset(&topic, 0).unwrap_or(0);
    if resume > 0 {
        check_same_source(&warehouse, &input, &topic, resume).await?;
        tracing::info!(%topic, resume, "resuming after the committed offsets");
    }
    let (tx, mut rx) = mpsc::channel::<Result<Chunk>>(4);
    let opts = opts.clone();
    let reader_topic = topic.clone();
    let reader = std::thread::spawn(move || {
        let send = |c: Result<Chunk>| tx.blocking_send(c).is_ok();
        let mut events = match FileEvents::open(&input) {
            Ok(events) => events,
            Err(e) => {
                send(Err(e.into()));
                return;
            }
        };
        let mut flattener = Flattener::new(opts.flatten_config());
        let mut first = None;
        let mut last = 0;
        loop {
            let event = match events.next_event() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    send(Err(e.into()));
                    return;
                }
            };
            let offset = i64::try_from(event.index).unwrap_or(i64::MAX);
            if offset < resume {
                continue;
            }
            let msg = Message::new(&reader_topic, 0, offset, event.bytes);
            let pushed = match &event.malformed {
                None => flattener.push_at(&msg, event.origin),
                Some((at, reason)) => {
                    let kind = if std::str::from_utf8(event.bytes).is_err() {
                        ErrorKind::InvalidUtf8
                    } else {
                        ErrorKind::MalformedJson
                    };
                    flattener.push_malformed(&msg, kind, *at, reason)
                }
            };
            if let Err(e) = pushed {
                send(Err(e.into()));
                return;
            }
            first.get_or_insert(offset);
            last = offset;
            if flattener.len() >= opts.chunk_messages {
                let chunk = flattener.flush().map(|tables| Chunk {
                    topic: reader_topic.clone(),
                    partition: 0,
                    first_offset: first.take().unwrap_or(offset),
                    last_offset: last,
                    tables,
                });
                if !send(chunk.map_err(Into::into)) {
                    return;
                }
            }
        }
        if let Some(first) = first {
            let chunk = flattener.flush().map(|tables| Chunk {
                topic: reader_topic.clone(),
                partition: 0,
                first_offset: first,
                last_offset: last,
                tables,
            });
            send(chunk.map_err(Into::into));
        }
    });
    let sink = write_chunks(sink, &mut rx).await?;
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the flattening thread panicked"))?;
    sink.finish().await
}

/// Lands a Kafka topic, bounded: every partition from the warehouse's committed offsets
/// (recovery; never Kafka's group offsets) up to the high watermarks snapshotted at start,
/// then commits and returns. Messages of one partition are flattened in chunks of
/// `opts.chunk_messages`. A retention gap (next offset below the low watermark) is an error
/// naming topic, partition and the missing range unless `bounded.accept_gaps`, in which case
/// it is recorded in the warehouse (`_gaps/`), where `verify` reports it.
pub async fn land_topic_bounded(
    kafka: &kafka_io::KafkaConfig,
    topic: &str,
    warehouse: Warehouse,
    bounded: kafka_io::BoundedOptions,
    opts: &FileLandOptions,
) -> Result<Totals> {
    let sink = opts.sink(warehouse.clone());
    sink.create_tables().await?;
    let recovered = warehouse
        .recover()
        .await
        .context("recovering the warehouse")?;
    let resume: BTreeMap<i32, i64> = recovered
        .next_offsets
        .iter()
        .filter(|(tp, _)| tp.topic == topic)
        .map(|(tp, next)| (tp.partition, *next))
        .collect();
    let mut consumer = kafka_io::BoundedConsumer::start(
        kafka,
        topic,
        kafka_io::StartPosition::Resume(resume),
        bounded,
    )
    .with_context(|| format!("starting a bounded read of topic {topic}"))?;
    for gap in consumer.report().gaps {
        warehouse
            .record_gap(
                topic,
                gap.partition,
                gap.from,
                gap.to - 1,
                "expired before it landed (accepted gap)",
            )
            .await
            .context("recording an accepted retention gap")?;
    }
    // Read and flatten on a thread of its own while this task encodes and writes the
    // previous chunks: the two overlap (one core each), as in `land_file`.
    let (tx, mut rx) = mpsc::channel::<Result<Chunk>>(2);
    let flatten_config = opts.flatten_config();
    let chunk_messages = opts.chunk_messages;
    let reader_topic = topic.to_owned();
    let reader = std::thread::spawn(move || -> kafka_io::BoundedReport {
        let send = |c: Result<Chunk>| tx.blocking_send(c).is_ok();
        let mut flattener = Flattener::new(flatten_config);
        loop {
            let batch = match consumer.next_batch() {
                Ok(Some(batch)) => batch,
                Ok(None) => break,
                Err(e) => {
                    send(Err(
                        anyhow::Error::new(e).context(format!("reading topic {reader_topic}"))
                    ));
                    break;
                }
            };
            let mut first = None;
            let mut last = 0;
            let chunk_of = |flattener: &mut Flattener, first: i64, last: i64| {
                flattener.flush().map_err(Into::into).map(|tables| Chunk {
                    topic: reader_topic.clone(),
                    partition: batch.partition(),
                    first_offset: first,
                    last_offset: last,
                    tables,
                })
            };
            for m in batch.iter() {
                if let Err(e) = flattener.push(&kafka_message(&m)) {
                    send(Err(e.into()));
                    return consumer.report();
                }
                let first_offset = *first.get_or_insert(m.offset);
                last = m.offset;
                if flattener.len() >= chunk_messages {
                    first = None;
                    if !send(chunk_of(&mut flattener, first_offset, last)) {
                        return consumer.report();
                    }
                }
            }
            if let Some(first_offset) = first
                && !send(chunk_of(&mut flattener, first_offset, last))
            {
                return consumer.report();
            }
            consumer.recycle(batch);
        }
        consumer.report()
    });
    let sink = write_chunks(sink, &mut rx).await?;
    let report = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reading and flattening thread panicked"))?;
    tracing::info!(
        messages = report.messages,
        partitions = report.partitions.len(),
        "bounded read done"
    );
    sink.finish().await
}
