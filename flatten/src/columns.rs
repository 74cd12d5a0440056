//! Growable, truncatable column buffers that become Arrow arrays on flush.
//!
//! Arrow's builders cannot take back rows, but the flattener appends an event's questions and
//! options before it knows the whole event is valid. These buffers support
//! [`truncate`](StrCol::truncate), so a late validation error undoes the event's rows without
//! a second pass over the tape. Buffers keep their capacity across flushes: after warm-up the
//! happy path performs no heap allocation per event.
//!
//! This is the only module of the crate with `unsafe` code (see [`StrCol::finish`]).

use arrow_array::types::{ArrowPrimitiveType, Int32Type, Int64Type};
use arrow_array::{ArrayRef, BinaryArray, BooleanArray, PrimitiveArray, StringArray};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use std::sync::Arc;

/// Validity of one column. Materialized lazily: a column that never sees a null (most of
/// them) costs one counter increment per row and gets no null buffer.
#[derive(Debug, Default)]
pub(crate) struct Validity {
    len: usize,
    /// One byte per row, only once the first null arrived.
    valid: Vec<bool>,
    materialized: bool,
    nulls: usize,
}

impl Validity {
    #[inline]
    pub(crate) fn push(&mut self, valid: bool) {
        if !self.materialized {
            if valid {
                self.len += 1;
                return;
            }
            self.materialize();
        }
        self.valid.push(valid);
        self.len += 1;
        self.nulls += usize::from(!valid);
    }

    #[cold]
    fn materialize(&mut self) {
        self.valid.clear();
        self.valid.resize(self.len, true);
        self.materialized = true;
    }

    fn truncate(&mut self, len: usize) {
        if len < self.len {
            if self.materialized {
                self.nulls -= self.valid[len..].iter().filter(|v| !**v).count();
                self.valid.truncate(len);
            }
            self.len = len;
        }
    }

    fn finish(&mut self) -> Option<NullBuffer> {
        let out = (self.nulls > 0).then(|| NullBuffer::new(pack_bits(&self.valid)));
        self.valid.clear();
        self.materialized = false;
        self.len = 0;
        self.nulls = 0;
        out
    }
}

/// Packs bools into an Arrow bitmap, 64 at a time.
fn pack_bits(bools: &[bool]) -> BooleanBuffer {
    let mut words: Vec<u64> = Vec::with_capacity(bools.len().div_ceil(64));
    for chunk in bools.chunks(64) {
        let mut w = 0u64;
        for (i, &b) in chunk.iter().enumerate() {
            w |= u64::from(b) << i;
        }
        words.push(w);
    }
    BooleanBuffer::new(Buffer::from_vec(words), 0, bools.len())
}

/// Moves a vector's contents out, leaving an empty vector behind with room for as many
/// values plus an eighth: the next batch of similar size fills it without growing (no copy
/// of what it holds). Sized from the length, not the capacity, so doubling's overshoot is
/// not carried from batch to batch (a 25 MB column stays under glibc's 32 MiB limit for
/// reusing freed memory instead of mapping fresh pages for every batch).
fn take_keep_capacity<T>(v: &mut Vec<T>) -> Vec<T> {
    let hint = v.len() + v.len() / 8;
    std::mem::replace(v, Vec::with_capacity(hint))
}

/// A nullable UTF-8 column (Arrow `Utf8`).
#[derive(Debug)]
pub(crate) struct StrCol {
    offsets: Vec<i32>,
    data: Vec<u8>,
    validity: Validity,
}

impl Default for StrCol {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            data: Vec::new(),
            validity: Validity::default(),
        }
    }
}

impl StrCol {
    #[inline]
    pub(crate) fn push(&mut self, s: &str) {
        self.data.extend_from_slice(s.as_bytes());
        self.offsets.push(offset_i32(self.data.len()));
        self.validity.push(true);
    }

    #[inline]
    pub(crate) fn push_opt(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.push(s),
            None => self.push_null(),
        }
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.offsets.push(offset_i32(self.data.len()));
        self.validity.push(false);
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The row holding exactly `s`, if any (a linear scan: for small dictionaries).
    pub(crate) fn position(&self, s: &str) -> Option<usize> {
        self.offsets
            .windows(2)
            .position(|w| &self.data[w[0] as usize..w[1] as usize] == s.as_bytes())
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.offsets.truncate(len + 1);
            self.data.truncate(self.offsets[len] as usize);
            self.validity.truncate(len);
        }
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        let nulls = self.validity.finish();
        let mut offsets = take_keep_capacity(&mut self.offsets);
        self.offsets.push(0);
        if offsets.is_empty() {
            offsets.push(0);
        }
        let data = take_keep_capacity(&mut self.data);
        // SAFETY: `offsets` starts at 0, is monotonically non-decreasing and ends at
        // `data.len()` (each push appends the new end; truncate cuts both consistently), and
        // every slice between two offsets is a whole `&str` copied by `push`, so the values
        // are valid UTF-8 on every boundary; `nulls`, when present, has one bit per row.
        // These are exactly the invariants `StringArray::try_new` would re-check by scanning
        // all the bytes again.
        let array = unsafe {
            StringArray::new_unchecked(
                OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
                Buffer::from_vec(data),
                nulls,
            )
        };
        Arc::new(array)
    }
}

/// A nullable binary column (Arrow `Binary`).
#[derive(Debug)]
pub(crate) struct BinCol {
    offsets: Vec<i32>,
    data: Vec<u8>,
    validity: Validity,
}

impl Default for BinCol {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            data: Vec::new(),
            validity: Validity::default(),
        }
    }
}

impl BinCol {
    #[inline]
    pub(crate) fn push_opt(&mut self, b: Option<&[u8]>) {
        if let Some(b) = b {
            self.data.extend_from_slice(b);
        }
        self.offsets.push(offset_i32(self.data.len()));
        self.validity.push(b.is_some());
    }

    pub(crate) fn data_len(&self) -> usize {
        self.data.len()
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        let nulls = self.validity.finish();
        let offsets = take_keep_capacity(&mut self.offsets);
        self.offsets.push(0);
        let data = take_keep_capacity(&mut self.data);
        Arc::new(BinaryArray::new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_vec(data),
            nulls,
        ))
    }
}

/// A nullable primitive column.
#[derive(Debug)]
pub(crate) struct PrimCol<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    validity: Validity,
}

impl<T: ArrowPrimitiveType> Default for PrimCol<T> {
    fn default() -> Self {
        Self {
            values: Vec::new(),
            validity: Validity::default(),
        }
    }
}

impl<T: ArrowPrimitiveType> PrimCol<T> {
    #[inline]
    pub(crate) fn push(&mut self, v: T::Native) {
        self.values.push(v);
        self.validity.push(true);
    }

    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<T::Native>) {
        self.values.push(v.unwrap_or_default());
        self.validity.push(v.is_some());
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.validity.truncate(len);
    }

    pub(crate) fn finish_array(&mut self) -> PrimitiveArray<T> {
        let nulls = self.validity.finish();
        PrimitiveArray::new(
            ScalarBuffer::from(take_keep_capacity(&mut self.values)),
            nulls,
        )
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        Arc::new(self.finish_array())
    }
}

/// A nullable timestamp (µs, UTC) column.
#[derive(Debug, Default)]
pub(crate) struct TsCol(pub(crate) PrimCol<Int64Type>);

impl TsCol {
    pub(crate) fn finish(&mut self) -> ArrayRef {
        let a = self.0.finish_array();
        let (_, values, nulls) = a.into_parts();
        Arc::new(arrow_array::TimestampMicrosecondArray::new(values, nulls).with_timezone("UTC"))
    }
}

/// A nullable boolean column.
#[derive(Debug, Default)]
pub(crate) struct BoolCol {
    values: Vec<bool>,
    validity: Validity,
}

impl BoolCol {
    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<bool>) {
        self.values.push(v.unwrap_or(false));
        self.validity.push(v.is_some());
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.validity.truncate(len);
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        let nulls = self.validity.finish();
        let values = pack_bits(&self.values);
        self.values.clear();
        Arc::new(BooleanArray::new(values, nulls))
    }
}

/// List offsets for a nested `List` column (always valid here: a null list is tracked by a
/// separate [`Validity`] in [`ListOffsets`]).
#[derive(Debug)]
pub(crate) struct ListOffsets {
    offsets: Vec<i32>,
    validity: Validity,
}

impl Default for ListOffsets {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            validity: Validity::default(),
        }
    }
}

impl ListOffsets {
    /// Closes the current list at `end` (the child column's length); `valid = false` for null.
    #[inline]
    pub(crate) fn push(&mut self, end: usize, valid: bool) {
        self.offsets.push(offset_i32(end));
        self.validity.push(valid);
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.offsets.truncate(len + 1);
        self.validity.truncate(len);
    }

    pub(crate) fn finish(&mut self) -> (OffsetBuffer<i32>, Option<NullBuffer>) {
        let nulls = self.validity.finish();
        let offsets = take_keep_capacity(&mut self.offsets);
        self.offsets.push(0);
        (OffsetBuffer::new(ScalarBuffer::from(offsets)), nulls)
    }
}

/// A struct-level validity (for `sequences` and `sequences.counts`).
#[derive(Debug, Default)]
pub(crate) struct StructValidity(Validity);

impl StructValidity {
    #[inline]
    pub(crate) fn push(&mut self, valid: bool) {
        self.0.push(valid);
    }

    pub(crate) fn finish(&mut self) -> Option<NullBuffer> {
        self.0.finish()
    }
}

/// A `Dictionary(Int32, Utf8)` column whose values array is supplied at flush (a parent
/// column, shared zero-copy); rows are keys into it.
#[derive(Debug, Default)]
pub(crate) struct DictCol {
    keys: Vec<i32>,
    validity: Validity,
}

impl DictCol {
    /// A row pointing at `key` of the values; `valid = false` for a null row.
    #[inline]
    pub(crate) fn push(&mut self, key: usize, valid: bool) {
        self.keys.push(offset_i32(key));
        self.validity.push(valid);
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.keys.truncate(len);
        self.validity.truncate(len);
    }

    /// The dictionary array over `values` (which must be longer than every key).
    pub(crate) fn finish(
        &mut self,
        values: ArrayRef,
    ) -> Result<ArrayRef, arrow_schema::ArrowError> {
        let nulls = self.validity.finish();
        let keys = PrimitiveArray::<Int32Type>::new(
            ScalarBuffer::from(take_keep_capacity(&mut self.keys)),
            nulls,
        );
        Ok(Arc::new(arrow_array::DictionaryArray::try_new(
            keys, values,
        )?))
    }
}

/// An `Int32` column of non-null values.
pub(crate) type I32Col = PrimCol<Int32Type>;
/// An `Int64` column.
pub(crate) type I64Col = PrimCol<Int64Type>;

/// Converts a buffer length to an Arrow `i32` offset. The flattener refuses any message that
/// would push a column past `i32::MAX` bytes before it appends anything (see
/// `Flattener::push`), so this cannot fail for lengths it produces.
#[inline]
fn offset_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn truncate_undoes_pushes_including_nulls() {
        let mut c = StrCol::default();
        c.push("a");
        c.push_null();
        c.push("bcd");
        c.truncate(1);
        c.push("x");
        let a = c.finish();
        let a = a.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a.value(0), "a");
        assert_eq!(a.value(1), "x");
        assert_eq!(a.null_count(), 0);
        // Reusable after finish.
        c.push_null();
        assert_eq!(c.finish().null_count(), 1);
    }

    #[test]
    fn bool_and_prim_truncate() {
        let mut b = BoolCol::default();
        b.push_opt(Some(true));
        b.push_opt(None);
        b.truncate(1);
        let a = b.finish();
        assert_eq!((a.len(), a.null_count()), (1, 0));
        let mut p = I64Col::default();
        p.push_opt(None);
        p.push(5);
        p.truncate(1);
        let a = p.finish();
        assert_eq!((a.len(), a.null_count()), (1, 1));
    }

    #[test]
    fn one_large_value_is_not_kept_past_the_next_batch() {
        let mut c = BinCol::default();
        c.push_opt(Some(&vec![b'x'; 2 << 20]));
        drop(c.finish());
        // The batch after it may reuse room for it, then room follows what batches hold.
        assert!(c.data.capacity() >= 2 << 20);
        c.push_opt(Some(b"small"));
        drop(c.finish());
        assert!(c.data.capacity() < 64, "{}", c.data.capacity());
    }
}
