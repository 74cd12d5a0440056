//! Offset planning for bounded reads: where each partition starts and ends, and the
//! retention-gap rule. Pure functions, tested without a broker.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Where a bounded read starts in each partition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartPosition {
    /// Every partition from its low watermark (the recipe's `startingOffsets=earliest`).
    Earliest,
    /// Only the listed partitions, each from the given offset; other partitions are not read.
    Offsets(BTreeMap<i32, i64>),
    /// Every partition from the first offset whose timestamp is at or after this time
    /// (milliseconds since the epoch); partitions with nothing that recent are empty.
    Timestamp(i64),
    /// Every partition, each from the caller's next offset (e.g. the sink's committed
    /// `end + 1`); partitions not listed start at their low watermark.
    Resume(BTreeMap<i32, i64>),
}

/// The planned range of one partition: `start..end`, `end` being the high watermark
/// snapshotted when the read began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRange {
    /// Partition.
    pub partition: i32,
    /// Low watermark when the read began.
    pub low_watermark: i64,
    /// First offset to read.
    pub start: i64,
    /// End of the read, exclusive (the high-watermark snapshot).
    pub end: i64,
}

impl PartitionRange {
    /// Whether there is nothing to read.
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// Number of offsets in the range (messages, unless there are compaction holes or
    /// transaction markers).
    pub fn len(&self) -> i64 {
        (self.end - self.start).max(0)
    }
}

/// Offsets that no longer existed when they should have been read (accepted because of
/// [`crate::BoundedOptions::accept_gaps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// First missing offset.
    pub from: i64,
    /// End of the missing range, exclusive (the low watermark that was found).
    pub to: i64,
}

/// Plans one partition: `requested` is the offset the caller wants to start at.
///
/// Below the low watermark is a retention gap: an error, or with `accept_gaps` a start at
/// the low watermark plus the recorded [`Gap`]. Above the high watermark is an error.
pub(crate) fn plan_partition(
    topic: &str,
    partition: i32,
    (low, high): (i64, i64),
    requested: i64,
    accept_gaps: bool,
) -> Result<(PartitionRange, Option<Gap>)> {
    let mut gap = None;
    let start = if requested < low {
        if !accept_gaps {
            return Err(Error::RetentionGap {
                topic: topic.to_owned(),
                partition,
                requested,
                low_watermark: low,
            });
        }
        tracing::warn!(
            topic,
            partition,
            from = requested,
            to = low,
            "accepting retention gap"
        );
        gap = Some(Gap {
            topic: topic.to_owned(),
            partition,
            from: requested,
            to: low,
        });
        low
    } else if requested > high {
        return Err(Error::OffsetOutOfRange {
            topic: topic.to_owned(),
            partition,
            requested,
            high_watermark: high,
        });
    } else {
        requested
    };
    Ok((
        PartitionRange {
            partition,
            low_watermark: low,
            start,
            end: high,
        },
        gap,
    ))
}

/// The offset each partition is requested to start at, before watermark checks; `None`
/// means the partition is not read. Timestamps are resolved by the caller beforehand and
/// passed in `resolved`.
pub(crate) fn requested_offsets(
    topic: &str,
    start: &StartPosition,
    watermarks: &BTreeMap<i32, (i64, i64)>,
    resolved: Option<&BTreeMap<i32, i64>>,
) -> Result<BTreeMap<i32, i64>> {
    let check_known = |m: &BTreeMap<i32, i64>| -> Result<()> {
        for p in m.keys() {
            if !watermarks.contains_key(p) {
                return Err(Error::UnknownPartition {
                    topic: topic.to_owned(),
                    partition: *p,
                });
            }
        }
        Ok(())
    };
    Ok(match start {
        StartPosition::Earliest => watermarks.iter().map(|(p, (low, _))| (*p, *low)).collect(),
        StartPosition::Offsets(m) => {
            check_known(m)?;
            m.clone()
        }
        StartPosition::Resume(m) => {
            check_known(m)?;
            watermarks
                .iter()
                .map(|(p, (low, _))| (*p, m.get(p).copied().unwrap_or(*low)))
                .collect()
        }
        StartPosition::Timestamp(_) => {
            let r = resolved.cloned().unwrap_or_default();
            watermarks
                .iter()
                .map(|(p, (_, high))| {
                    // -1 / missing: no message that recent, the partition is empty.
                    let o = r.get(p).copied().filter(|o| *o >= 0).unwrap_or(*high);
                    (*p, o.min(*high))
                })
                .collect()
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn wm() -> BTreeMap<i32, (i64, i64)> {
        BTreeMap::from([(0, (0, 10)), (1, (5, 5)), (2, (100, 250))])
    }

    #[test]
    fn earliest_and_resume() {
        let e = requested_offsets("t", &StartPosition::Earliest, &wm(), None).unwrap();
        assert_eq!(e, BTreeMap::from([(0, 0), (1, 5), (2, 100)]));
        let r = requested_offsets(
            "t",
            &StartPosition::Resume(BTreeMap::from([(2, 200)])),
            &wm(),
            None,
        )
        .unwrap();
        assert_eq!(r, BTreeMap::from([(0, 0), (1, 5), (2, 200)]));
        let o = requested_offsets(
            "t",
            &StartPosition::Offsets(BTreeMap::from([(0, 3)])),
            &wm(),
            None,
        )
        .unwrap();
        assert_eq!(o, BTreeMap::from([(0, 3)]));
        let err = requested_offsets(
            "t",
            &StartPosition::Offsets(BTreeMap::from([(7, 3)])),
            &wm(),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnknownPartition { partition: 7, .. }));
    }

    #[test]
    fn timestamps_resolve_missing_to_end() {
        let resolved = BTreeMap::from([(0, 4), (2, -1)]);
        let t =
            requested_offsets("t", &StartPosition::Timestamp(1), &wm(), Some(&resolved)).unwrap();
        assert_eq!(t, BTreeMap::from([(0, 4), (1, 5), (2, 250)]));
    }

    #[test]
    fn gap_is_an_error_unless_accepted() {
        let err = plan_partition("t", 2, (100, 250), 40, false).unwrap_err();
        match err {
            Error::RetentionGap {
                partition,
                requested,
                low_watermark,
                ..
            } => assert_eq!((partition, requested, low_watermark), (2, 40, 100)),
            e => panic!("{e}"),
        }
        let (range, gap) = plan_partition("t", 2, (100, 250), 40, true).unwrap();
        assert_eq!((range.start, range.end, range.len()), (100, 250, 150));
        assert_eq!(
            gap,
            Some(Gap {
                topic: "t".into(),
                partition: 2,
                from: 40,
                to: 100
            })
        );
    }

    #[test]
    fn empty_and_out_of_range() {
        let (r, g) = plan_partition("t", 1, (5, 5), 5, false).unwrap();
        assert!(r.is_empty() && g.is_none());
        assert!(matches!(
            plan_partition("t", 0, (0, 10), 11, true),
            Err(Error::OffsetOutOfRange { .. })
        ));
    }
}
