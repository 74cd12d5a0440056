//! Writes of chunks running as tasks of their own, so that a [`Sink`](super::Sink) with
//! concurrent writes encodes chunks of different partitions at once: while the slowest table
//! of one partition's chunk is still encoding on one core, the next partition's tables start
//! on the other.
//!
//! A write task owns its partition's open range for as long as it runs and gives it back
//! (or commits it, when its rotation is due) in a [`Landed`].

use super::chunk::Chunk;
use super::error::{Error, Result, is_fenced};
use assessment_flatten::BatchStats;
use assessment_schema::tables::Table;
use hdfs_sink::{CommitInfo, RangeWriter, Warehouse};
use kafka_io::TopicPartition;
use std::collections::VecDeque;
use tokio::task::JoinHandle;

/// An open range: its writer and the last offset written into it.
pub(crate) type Open = (RangeWriter, i64);

/// What a write task gives back.
pub(crate) struct Landed {
    pub(crate) tp: TopicPartition,
    /// The range, still open (`None` once committed).
    pub(crate) open: Option<Open>,
    /// The counts of the chunk, if it was written.
    pub(crate) stats: Option<BatchStats>,
    /// Whether the chunk was written, and the range's commit if its rotation was due.
    pub(crate) outcome: Result<Option<CommitInfo>>,
}

/// The write tasks of a sink, oldest first.
#[derive(Default)]
pub(crate) struct InFlight {
    tasks: VecDeque<(TopicPartition, JoinHandle<Landed>)>,
}

impl InFlight {
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    pub(crate) fn contains(&self, tp: &TopicPartition) -> bool {
        self.tasks.iter().any(|(t, _)| t == tp)
    }

    pub(crate) fn partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.tasks.iter().map(|(t, _)| t)
    }

    /// Starts writing `chunk` into `open` (its partition's range) as a task.
    pub(crate) fn spawn(
        &mut self,
        warehouse: &Warehouse,
        tables: &[Table],
        open: Open,
        chunk: Chunk,
    ) {
        let tp = chunk.tp.clone();
        let task = write_task(warehouse.clone(), tables.to_vec(), open, chunk);
        self.tasks.push_back((tp, tokio::spawn(task)));
    }

    /// Waits for the oldest task (`None` if there is none). A panic inside it is resumed here.
    pub(crate) async fn next(&mut self) -> Option<Landed> {
        let (_, task) = self.tasks.pop_front()?;
        match task.await {
            Ok(landed) => Some(landed),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a chunk's write task was cancelled: {e}"),
        }
    }
}

/// Tasks still running when their sink goes away (it failed) are stopped: what they wrote
/// is not committed (their files stay orphans; a commit cut between tables is completed by
/// the next start's recovery).
impl Drop for InFlight {
    fn drop(&mut self) {
        for (_, task) in &self.tasks {
            task.abort();
        }
    }
}

/// Writes the chunk's tables (those of `tables` with rows) into the range and commits the
/// range if the warehouse's rotation policy says so.
async fn write_task(
    warehouse: Warehouse,
    tables: Vec<Table>,
    (mut writer, last): Open,
    chunk: Chunk,
) -> Landed {
    let Chunk {
        tp,
        last_offset,
        tables: flattened,
        ..
    } = chunk;
    // All tables of the chunk at once: hdfs-sink encodes them in parallel.
    let batches: Vec<(&str, &arrow_array::RecordBatch)> = flattened
        .iter()
        .filter(|(t, b)| b.num_rows() > 0 && tables.contains(t))
        .map(|(t, b)| (t.name(), b))
        .collect();
    if let Err(source) = writer.write_tables(&batches).await {
        let outcome = Err(Error::WriteChunk {
            topic: tp.topic.clone(),
            partition: tp.partition,
            source: Box::new(source),
        });
        let open = Some((writer, last));
        return Landed {
            tp,
            open,
            stats: None,
            outcome,
        };
    }
    let stats = Some(flattened.stats.clone());
    if !warehouse.rotation().should_rotate(&writer) {
        let open = Some((writer, last_offset));
        return Landed {
            tp,
            open,
            stats,
            outcome: Ok(None),
        };
    }
    let outcome = commit_range(&tp, writer, last_offset).await.map(Some);
    Landed {
        tp,
        open: None,
        stats,
        outcome,
    }
}

/// Commits `writer`'s range through offset `last`; a refused commit is [`Error::Fenced`].
pub(crate) async fn commit_range(
    tp: &TopicPartition,
    writer: RangeWriter,
    last: i64,
) -> Result<CommitInfo> {
    writer.commit(last).await.map_err(|source| {
        let (topic, partition, offset) = (tp.topic.clone(), tp.partition, last);
        if is_fenced(&source) {
            Error::Fenced {
                topic,
                partition,
                offset,
                source: Box::new(source),
            }
        } else {
            Error::Commit {
                topic,
                partition,
                offset,
                source: Box::new(source),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Chunker, Sink, sink_config_builder};
    use crate::generator::Generator;
    use assessment_flatten::{FlattenConfig, Message};
    use hdfs_sink::{RotationPolicy, Warehouse};
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// Chunks of three partitions, interleaved, 100 messages each (the chunk's first offset
    /// is 0, 100, 200... per partition).
    fn interleaved_chunks(per_partition: usize) -> Vec<super::Chunk> {
        let events: Vec<String> = Generator::new(5, 3 * per_partition).collect();
        let mut chunker = Chunker::new(FlattenConfig::default(), 100);
        let mut chunks = Vec::new();
        for (round, group) in events.chunks(300).enumerate() {
            for (partition, part) in group.chunks(100).enumerate() {
                for (i, e) in part.iter().enumerate() {
                    let offset = (round * 100 + i) as i64;
                    let m = Message::new("t", partition as i32, offset, e.as_bytes());
                    chunker.push(&m).unwrap();
                }
                chunks.push(chunker.flush().unwrap().unwrap());
            }
        }
        chunks
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_commit_every_offset_of_every_partition_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().to_str().unwrap().to_owned();
        // Rotation due every 250 messages' raw rows or so: ranges commit inside write tasks.
        let rotation = RotationPolicy {
            max_rows: 1_000,
            max_bytes: u64::MAX,
            max_age: Duration::from_secs(3600),
        };
        let config = sink_config_builder(true)
            .with_rotation(rotation)
            .build()
            .unwrap();
        let wh = Warehouse::open(&url, config).await.unwrap();
        let mut sink = Sink::new(wh.clone()).with_concurrent_writes(2);
        sink.create_tables().await.unwrap();
        for chunk in interleaved_chunks(1_000) {
            sink.write(chunk).await.unwrap();
        }
        let totals = sink.finish().await.unwrap();
        assert_eq!(totals.messages, 3_000);
        assert_eq!(totals.accepted + totals.rejected, 3_000);
        assert!(
            totals.ranges > 3,
            "ranges rotated inside write tasks: {totals:?}"
        );

        let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        for b in wh.read_committed("raw").await.unwrap() {
            let p = b.column_by_name("_partition").unwrap();
            let o = b.column_by_name("_offset").unwrap();
            let p = arrow_array::cast::as_primitive_array::<arrow_array::types::Int32Type>(p);
            let o = arrow_array::cast::as_primitive_array::<arrow_array::types::Int64Type>(o);
            for (p, o) in p.values().iter().zip(o.values()) {
                offsets.entry(*p).or_default().push(*o);
            }
        }
        assert_eq!(offsets.len(), 3);
        for (p, mut got) in offsets {
            got.sort_unstable();
            assert_eq!(got, (0..1_000).collect::<Vec<i64>>(), "partition {p}");
        }
        let report = wh.recover().await.unwrap();
        for p in 0..3 {
            let next = report.next_offsets.iter().find(|(tp, _)| tp.partition == p);
            assert_eq!(next.map(|(_, n)| *n), Some(1_000), "partition {p}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_chunk_behind_its_partition_is_refused_while_another_partition_writes() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().to_str().unwrap().to_owned();
        let wh = Warehouse::open(&url, sink_config_builder(true).build().unwrap())
            .await
            .unwrap();
        let mut sink = Sink::new(wh).with_concurrent_writes(2);
        sink.create_tables().await.unwrap();
        let mut chunks = interleaved_chunks(200).into_iter();
        let (p0, p1, p2) = (chunks.next(), chunks.next(), chunks.next());
        sink.write(p0.unwrap()).await.unwrap();
        sink.write(p1.unwrap()).await.unwrap();
        sink.write(p2.unwrap()).await.unwrap();
        let again = interleaved_chunks(200).into_iter().next().unwrap();
        let err = sink.write(again).await.unwrap_err();
        assert!(
            matches!(err, super::Error::OffsetsBackwards { partition: 0, .. }),
            "{err}"
        );
        // The range refused the chunk but is still open and commits what it holds.
        let totals = sink.finish().await.unwrap();
        assert_eq!(totals.messages, 300);
        assert_eq!(totals.ranges, 3);
    }
}
