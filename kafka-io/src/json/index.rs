//! What a first pass over an input learned about its elements, for a second pass over the
//! same bytes that then cuts them without scanning again.

/// The length and key range of every element a first pass found valid and compact (its
/// message bytes are its input bytes). A second pass over the same bytes
/// ([`JsonElements::with_index`](super::JsonElements::with_index)) cuts those elements at
/// their recorded length; the others it scans again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElementIndex {
    /// Per element: (input length, key start, key end); [`SCAN`] as the length: scan it.
    entries: Vec<(u32, u32, u32)>,
}

/// Index entry length for "scan this element".
const SCAN: u32 = u32::MAX;
/// Index entry key start for "no key".
const NO_KEY: u32 = u32::MAX;
/// An index stops growing past this many entries (64 MiB); the rest is scanned again.
const MAX_ENTRIES: usize = 64 << 20 >> 4;

/// An element a replayed index knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Known {
    /// Input length (also the length of the message: the element is compact).
    pub(super) len: usize,
    /// The key field's value range in the element.
    pub(super) key: Option<std::ops::Range<usize>>,
}

impl ElementIndex {
    /// Number of elements recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of elements a replay cuts without scanning.
    pub fn known(&self) -> usize {
        self.entries.iter().filter(|e| e.0 != SCAN).count()
    }

    /// Appends the entries of the elements that follow (a later segment of the same
    /// input). Returns `false`, appending nothing, if the index would outgrow its limit.
    pub(super) fn append(&mut self, next: ElementIndex) -> bool {
        if self.entries.len() + next.entries.len() > MAX_ENTRIES {
            return false;
        }
        self.entries.extend(next.entries);
        true
    }

    /// Records the next element as one to scan; `false` once the index is full.
    pub(super) fn push_unknown(&mut self) -> bool {
        if self.entries.len() >= MAX_ENTRIES {
            return false;
        }
        self.entries.push((SCAN, NO_KEY, NO_KEY));
        true
    }

    /// Turns the last entry into a known one (an element too long for the index stays
    /// unknown).
    pub(super) fn set_last(&mut self, known: &Known) {
        let (Some(e), Ok(len)) = (self.entries.last_mut(), u32::try_from(known.len)) else {
            return;
        };
        *e = match &known.key {
            Some(r) => (len, r.start as u32, r.end as u32),
            None => (len, NO_KEY, NO_KEY),
        };
    }

    /// Entry `i`: `Some` if the element is known, `None` if it is to be scanned (or past
    /// the end of the index).
    pub(super) fn get(&self, i: usize) -> Option<Known> {
        let &(len, ks, ke) = self.entries.get(i)?;
        (len != SCAN).then(|| Known {
            len: len as usize,
            key: (ks != NO_KEY).then_some(ks as usize..ke as usize),
        })
    }
}
