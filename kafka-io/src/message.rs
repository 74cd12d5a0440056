//! Consumed messages: a per-partition [`Batch`] stores all keys and payloads in one buffer
//! and hands out borrowed [`MessageRef`] views, so a batch of 10,000 messages costs a few
//! allocations, not 20,000.

use std::ops::Range;
use std::sync::Arc;

use rdkafka::Message as _;
use rdkafka::message::BorrowedMessage;

/// A topic and a partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// Creates a topic-partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// A view of one message in a [`Batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// Message timestamp in milliseconds since the epoch (create or log-append time), if any.
    pub timestamp_ms: Option<i64>,
    /// Key bytes; `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// Value bytes; `None` for a null value (a tombstone).
    pub payload: Option<&'a [u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    offset: i64,
    timestamp_ms: Option<i64>,
    key: Option<Range<usize>>,
    payload: Option<Range<usize>>,
}

/// Consecutive messages of one partition, in offset order.
///
/// Offsets are increasing but not necessarily contiguous (compaction, transaction markers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    topic: Arc<str>,
    partition: i32,
    entries: Vec<Entry>,
    data: Vec<u8>,
}

impl Batch {
    /// An empty batch for `topic` / `partition`.
    pub fn new(topic: Arc<str>, partition: i32) -> Self {
        Batch {
            topic,
            partition,
            entries: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub(crate) fn topic_arc(&self) -> Arc<str> {
        self.topic.clone()
    }

    /// Partition.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch has no message.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total key + payload bytes.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Offset of the first message, `None` if empty.
    pub fn first_offset(&self) -> Option<i64> {
        self.entries.first().map(|e| e.offset)
    }

    /// Offset of the last message, `None` if empty.
    pub fn last_offset(&self) -> Option<i64> {
        self.entries.last().map(|e| e.offset)
    }

    /// The `i`-th message.
    pub fn get(&self, i: usize) -> Option<MessageRef<'_>> {
        self.entries.get(i).map(|e| self.view(e))
    }

    /// Iterates the messages in offset order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = MessageRef<'_>> + '_ {
        self.entries.iter().map(|e| self.view(e))
    }

    fn view<'a>(&'a self, e: &Entry) -> MessageRef<'a> {
        MessageRef {
            topic: &self.topic,
            partition: self.partition,
            offset: e.offset,
            timestamp_ms: e.timestamp_ms,
            key: e.key.clone().map(|r| &self.data[r]),
            payload: e.payload.clone().map(|r| &self.data[r]),
        }
    }

    /// Appends a message (its offset must be above the last one's).
    pub fn push(
        &mut self,
        offset: i64,
        timestamp_ms: Option<i64>,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
    ) {
        debug_assert!(self.last_offset().is_none_or(|l| l < offset));
        let key = key.map(|k| self.append(k));
        let payload = payload.map(|p| self.append(p));
        self.entries.push(Entry {
            offset,
            timestamp_ms,
            key,
            payload,
        });
    }

    fn append(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        start..self.data.len()
    }

    pub(crate) fn push_borrowed(&mut self, m: &BorrowedMessage<'_>) {
        let ts = m.timestamp().to_millis();
        self.push(m.offset(), ts, m.key(), m.payload());
    }

    /// Removes every message, keeping the allocations.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.data.clear();
    }

    /// Empties the batch for reuse with another partition of the same topic.
    pub(crate) fn reuse_for(&mut self, partition: i32) {
        self.clear();
        self.partition = partition;
    }
}

impl<'a> IntoIterator for &'a Batch {
    type Item = MessageRef<'a>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = MessageRef<'a>> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn batch_views() {
        let mut b = Batch::new(Arc::from("t"), 2);
        b.push(5, Some(1000), Some(b"k"), Some(b"{}"));
        b.push(7, None, None, None);
        b.push(8, None, Some(b""), Some(b"xyz"));
        assert_eq!(b.len(), 3);
        assert_eq!(b.bytes(), 6);
        assert_eq!((b.first_offset(), b.last_offset()), (Some(5), Some(8)));
        let v: Vec<_> = b.iter().collect();
        assert_eq!(v[0].key, Some(&b"k"[..]));
        assert_eq!(v[0].payload, Some(&b"{}"[..]));
        assert_eq!(v[1].key, None);
        assert_eq!(v[1].payload, None);
        assert_eq!(v[2].key, Some(&b""[..]));
        assert_eq!(v[2].topic, "t");
        assert_eq!(v[2].partition, 2);
        b.clear();
        assert!(b.is_empty());
    }
}
