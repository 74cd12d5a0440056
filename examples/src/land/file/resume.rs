//! Resuming a file source: the file must be the one landed before under its name.

use super::events::FileEvents;
use crate::land::error::{Error, Result};
use hdfs_sink::Warehouse;
use kafka_io::json::InputFile;
use std::collections::BTreeMap;

/// Refuses to resume `topic` from `input` when the events already landed under that name
/// came from different content: the first and the last landed event (from `raw`) must equal
/// the file's events at those offsets. A file that grew (events appended) resumes.
pub(super) async fn check_same_source(
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
        let offset = e.offset();
        if offset > resume - 1 {
            break;
        }
        if let Some(value) = landed.get(&offset)
            && value.as_slice() != e.bytes
        {
            return Err(Error::NotSameSource {
                path: input.path().to_owned(),
                topic: topic.to_owned(),
                offset,
                line: e.origin.line,
                column: e.origin.column,
                byte: e.origin.byte,
                committed: resume,
            });
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
    let markers = warehouse.markers().await.map_err(|source| Error::ReadLog {
        source: Box::new(source),
    })?;
    let mut out = BTreeMap::new();
    for m in markers.iter().filter(|m| {
        m.topic == topic
            && m.partition == 0
            && offsets.iter().any(|o| (m.start..=m.end).contains(o))
    }) {
        let Some(raw) = m.tables.get("raw") else {
            continue;
        };
        for f in &raw.files {
            let batches = warehouse
                .read_parquet_file(&f.path)
                .await
                .map_err(|source| Error::ReadFile {
                    path: f.path.clone(),
                    source: Box::new(source),
                })?;
            for b in batches {
                let (Some(o), Some(v)) = (b.column_by_name("_offset"), b.column_by_name("value"))
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
    Ok(out)
}
