//! The landing engine behind `land` and `pipeline`: messages → [`Chunker`] (one thread) →
//! [`hdfs_sink`] ranges (the async side), so flattening and Parquet encoding use both cores.
//!
//! Three sources produce [`Chunk`]s, the flattened tables of a run of messages of *one*
//! partition: an event file ([`land_file`]), a Kafka topic read up to its high watermarks
//! ([`land_topic_bounded`]), and a consumer-group member landing continuously
//! ([`land_topic_follow`], see [`follow`]). A [`Sink`] writes each chunk into the open range
//! of its partition, commits a range when the warehouse's rotation policy says so, and
//! commits everything at [`Sink::finish`]. Progress goes to a [`Progress`] the caller
//! renders; the Parquet settings of each column come from [`sink_config_builder`].
//!
//! | module | owns |
//! |---|---|
//! | [`options`] | what to land: [`LandOptions`] and each source's options |
//! | [`chunk`] | [`Chunk`] and the [`Chunker`] every source flattens with |
//! | [`sink`] | [`Sink`]: open ranges, rotation, commits, fencing |
//! | `in_flight` | chunk writes running as tasks (chunks of different partitions at once) |
//! | `file` | the file source |
//! | `bounded` | the bounded Kafka source |
//! | [`follow`] | the consumer-group source (consumer thread, sink task, rebalances) |
//! | [`columns`] | column roles → Parquet column options |
//! | [`progress`], [`totals`] | what has landed, for the caller to render |
//! | [`error`] | [`Error`] |

mod bounded;
pub mod chunk;
pub mod columns;
pub mod error;
mod file;
pub mod follow;
mod in_flight;
pub mod options;
pub mod progress;
pub mod sink;
pub mod totals;

pub use bounded::land_topic_bounded;
pub use chunk::{Chunk, Chunker};
pub use columns::{column_options, sink_config_builder};
pub use error::{Error, Result};
pub use file::{land_file, topic_for_file};
pub use follow::land_topic_follow;
pub use options::{
    BoundedLandOptions, DEFAULT_CHUNK_MESSAGES, DEFAULT_CONCURRENT_WRITES, FileLandOptions,
    FollowOptions, LandOptions, parse_tables, select_tables, table_schemas_of,
};
pub use progress::{Progress, Silent, Snapshot};
pub use sink::Sink;
pub use totals::Totals;

use assessment_flatten::Message;

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
