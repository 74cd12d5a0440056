//! The bounded Kafka source: every partition of a topic from the warehouse's committed
//! offsets up to the high watermarks snapshotted at start.

use super::chunk::{Chunk, Chunker};
use super::error::{Error, Result};
use super::kafka_message;
use super::options::BoundedLandOptions;
use super::progress::Progress;
use super::sink::{start_sink, write_chunks};
use super::totals::Totals;
use hdfs_sink::Warehouse;
use kafka_io::{BoundedConsumer, BoundedReport, KafkaConfig, StartPosition};
use std::collections::BTreeMap;
use tokio::sync::mpsc;

/// Chunks queued between the reading thread and the writer.
const IN_FLIGHT_CHUNKS: usize = 2;

/// Lands a Kafka topic, bounded: every partition from the warehouse's committed offsets
/// (recovery; never Kafka's group offsets) up to the high watermarks snapshotted at start,
/// then commits and returns. Messages of one partition are flattened in chunks of
/// `opts.chunk_messages`. A retention gap (next offset below the low watermark) is an error
/// naming topic, partition and the missing range unless `opts.read.accept_gaps`, in which
/// case it is recorded in the warehouse (`_gaps/`), where `verify` reports it.
pub async fn land_topic_bounded(
    kafka: &KafkaConfig,
    topic: &str,
    warehouse: Warehouse,
    opts: &BoundedLandOptions,
    progress: Box<dyn Progress>,
) -> Result<Totals> {
    let (sink, recovered) = start_sink(&warehouse, &opts.land, progress).await?;
    let resume: BTreeMap<i32, i64> = recovered
        .next_offsets
        .iter()
        .filter(|(tp, _)| tp.topic == topic)
        .map(|(tp, next)| (tp.partition, *next))
        .collect();
    let consumer = BoundedConsumer::start(
        kafka,
        topic,
        StartPosition::Resume(resume),
        opts.read.clone(),
    )
    .map_err(|source| Error::StartBounded {
        topic: topic.to_owned(),
        source: Box::new(source),
    })?;
    record_accepted_gaps(&warehouse, topic, &consumer).await?;
    // Read and flatten on a thread of its own while this task encodes and writes the
    // previous chunks: the two overlap (one core each), as in the file source.
    let (tx, mut rx) = mpsc::channel::<Result<Chunk>>(IN_FLIGHT_CHUNKS);
    let chunker = Chunker::new(opts.land.flatten_config(), opts.chunk_messages);
    let reader_topic = topic.to_owned();
    let reader = std::thread::spawn(move || read_topic(consumer, &reader_topic, chunker, &tx));
    let sink = write_chunks(sink, &mut rx).await?;
    let report = reader.join().map_err(|_| Error::ThreadPanicked {
        thread: "reading and flattening",
    })?;
    tracing::info!(
        messages = report.messages,
        partitions = report.partitions.len(),
        "bounded read done"
    );
    sink.finish().await
}

/// Records the retention gaps the consumer found and was told to accept.
async fn record_accepted_gaps(
    warehouse: &Warehouse,
    topic: &str,
    consumer: &BoundedConsumer,
) -> Result<()> {
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
            .map_err(|source| Error::RecordGap {
                topic: topic.to_owned(),
                partition: gap.partition,
                from: gap.from,
                to: gap.to - 1,
                source: Box::new(source),
            })?;
    }
    Ok(())
}

/// The reading thread of [`land_topic_bounded`]: reads the partition batches, flattens them
/// into chunks (a chunk never spans two batches, so it is of one partition) and sends them
/// until the read is done, fails, or the writer hangs up. Returns the read's report.
fn read_topic(
    mut consumer: BoundedConsumer,
    topic: &str,
    mut chunker: Chunker,
    tx: &mpsc::Sender<Result<Chunk>>,
) -> BoundedReport {
    let send = |c: Result<Chunk>| tx.blocking_send(c).is_ok();
    loop {
        let batch = match consumer.next_batch() {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(source) => {
                send(Err(Error::Read {
                    topic: topic.to_owned(),
                    source: Box::new(source),
                }));
                break;
            }
        };
        for m in batch.iter() {
            if let Err(e) = chunker.push(&kafka_message(&m)) {
                send(Err(e));
                return consumer.report();
            }
            if chunker.is_full() && !send_flushed(&mut chunker, &send) {
                return consumer.report();
            }
        }
        if !send_flushed(&mut chunker, &send) {
            return consumer.report();
        }
        consumer.recycle(batch);
    }
    consumer.report()
}

/// Sends what `chunker` holds, if anything (or its flush error); false if the writer hung
/// up.
fn send_flushed(chunker: &mut Chunker, send: &impl Fn(Result<Chunk>) -> bool) -> bool {
    match chunker.flush() {
        Ok(None) => true,
        Ok(Some(chunk)) => send(Ok(chunk)),
        Err(e) => send(Err(e)),
    }
}
