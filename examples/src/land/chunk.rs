//! [`Chunk`]s, the unit handed from a flattening thread to the sink, and the one
//! [`Chunker`] every source builds them with.

use super::error::Result;
use assessment_flatten::{ErrorKind, FlattenConfig, Flattened, Flattener, Message, Origin};
use kafka_io::TopicPartition;

/// The flattened tables of consecutive messages of one partition.
#[derive(Debug)]
pub struct Chunk {
    /// The partition.
    pub tp: TopicPartition,
    /// First offset in the chunk.
    pub first_offset: i64,
    /// Last offset in the chunk (inclusive).
    pub last_offset: i64,
    /// The tables.
    pub tables: Flattened,
}

/// A [`Flattener`] that remembers the partition and the first and last offsets of what it
/// holds, so that [`Chunker::flush`] hands out a [`Chunk`] that says which offsets it covers.
/// Messages pushed between two flushes must be of one partition, in offset order.
#[derive(Debug)]
pub struct Chunker {
    flattener: Flattener,
    /// The partition and first offset of what is held since the last flush.
    open: Option<(TopicPartition, i64)>,
    last_offset: i64,
    max_messages: usize,
}

impl Chunker {
    /// A chunker flattening with `config`, full at `max_messages` messages.
    pub fn new(config: FlattenConfig, max_messages: usize) -> Self {
        Self {
            flattener: Flattener::new(config),
            open: None,
            last_offset: 0,
            max_messages,
        }
    }

    /// Flattens one message (see [`Flattener::push`]).
    pub fn push(&mut self, msg: &Message<'_>) -> Result<()> {
        self.flattener.push(msg)?;
        self.held(msg);
        Ok(())
    }

    /// Flattens one message of a file, naming where it starts (see [`Flattener::push_at`]).
    pub fn push_at(&mut self, msg: &Message<'_>, origin: Origin) -> Result<()> {
        self.flattener.push_at(msg, origin)?;
        self.held(msg);
        Ok(())
    }

    /// Lands a message that is not valid JSON as a reject: broken at byte `at` for `reason`
    /// (see [`Flattener::push_malformed`]); `kind` is [`ErrorKind::InvalidUtf8`] if the bytes
    /// are not UTF-8, else [`ErrorKind::MalformedJson`].
    pub fn push_malformed(&mut self, msg: &Message<'_>, at: usize, reason: &str) -> Result<()> {
        let kind = if std::str::from_utf8(msg.value.unwrap_or_default()).is_err() {
            ErrorKind::InvalidUtf8
        } else {
            ErrorKind::MalformedJson
        };
        self.flattener.push_malformed(msg, kind, at, reason)?;
        self.held(msg);
        Ok(())
    }

    fn held(&mut self, msg: &Message<'_>) {
        if self.open.is_none() {
            self.open = Some((TopicPartition::new(msg.topic, msg.partition), msg.offset));
        }
        self.last_offset = msg.offset;
    }

    /// Whether it holds `max_messages` messages or more: time to [`Chunker::flush`].
    pub fn is_full(&self) -> bool {
        self.flattener.len() >= self.max_messages
    }

    /// The chunk of what was pushed since the last flush, or `None` if nothing was.
    pub fn flush(&mut self) -> Result<Option<Chunk>> {
        let Some((tp, first_offset)) = self.open.take() else {
            return Ok(None);
        };
        Ok(Some(Chunk {
            tp,
            first_offset,
            last_offset: self.last_offset,
            tables: self.flattener.flush()?,
        }))
    }
}
