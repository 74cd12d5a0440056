//! The file source: an event file (JSON array or NDJSON, plain, gzip or zstd) landed as
//! partition 0 of a source named after it, offset = the event's index.

mod events;
mod resume;

use super::chunk::{Chunk, Chunker};
use super::error::{Error, Result};
use super::options::FileLandOptions;
use super::progress::Progress;
use super::sink::{start_sink, write_chunks};
use super::totals::Totals;
use assessment_flatten::Message;
use events::FileEvents;
use hdfs_sink::Warehouse;
use kafka_io::json::{InputFile, open_input};
use std::path::Path;
use tokio::sync::mpsc;

/// Chunks queued between the flattening thread and the writer.
const IN_FLIGHT_CHUNKS: usize = 4;

/// Lands an event file (JSON array or NDJSON, plain, gzip or zstd) into the warehouse:
/// topic = `opts.source` or the file's name ([`topic_for_file`]), partition 0, offset = the
/// event's index (see `FileEvents`: a bad NDJSON line is a reject, a broken array an
/// error). Resumes after the last committed offset, so running it twice lands nothing
/// twice; a different file under a name already landed is refused.
pub async fn land_file(
    path: &Path,
    warehouse: Warehouse,
    opts: &FileLandOptions,
    progress: Box<dyn Progress>,
) -> Result<Totals> {
    let topic = opts.source.clone().unwrap_or_else(|| topic_for_file(path));
    let input = open_input(path)?;
    let (sink, recovered) = start_sink(&warehouse, &opts.land, progress).await?;
    let resume = recovered.next_offset(&topic, 0).unwrap_or(0);
    if resume > 0 {
        resume::check_same_source(&warehouse, &input, &topic, resume).await?;
        tracing::info!(%topic, resume, "resuming after the committed offsets");
    }
    let (tx, mut rx) = mpsc::channel::<Result<Chunk>>(IN_FLIGHT_CHUNKS);
    let chunker = Chunker::new(opts.land.flatten_config(), opts.chunk_messages);
    let reader = std::thread::spawn(move || {
        if let Err(e) = read_file(&input, &topic, resume, chunker, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let sink = write_chunks(sink, &mut rx).await?;
    reader.join().map_err(|_| Error::ThreadPanicked {
        thread: "flattening",
    })?;
    sink.finish().await
}

/// The reading thread of [`land_file`]: flattens the events from offset `resume` on and
/// sends them in chunks until the file ends or the writer hangs up.
fn read_file(
    input: &InputFile,
    topic: &str,
    resume: i64,
    mut chunker: Chunker,
    tx: &mpsc::Sender<Result<Chunk>>,
) -> Result<()> {
    let send = |c: Chunk| tx.blocking_send(Ok(c)).is_ok();
    let mut events = FileEvents::open(input)?;
    while let Some(event) = events.next_event()? {
        let offset = event.offset();
        if offset < resume {
            continue;
        }
        let msg = Message::new(topic, 0, offset, event.bytes);
        match &event.malformed {
            None => chunker.push_at(&msg, event.origin)?,
            Some((at, reason)) => chunker.push_malformed(&msg, *at, reason)?,
        }
        if chunker.is_full()
            && let Some(chunk) = chunker.flush()?
            && !send(chunk)
        {
            return Ok(());
        }
    }
    if let Some(chunk) = chunker.flush()? {
        send(chunk);
    }
    Ok(())
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
