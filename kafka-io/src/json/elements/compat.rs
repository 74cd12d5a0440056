//! The splitter's earlier interface, kept until its last caller (the file lander in
//! `examples`) moves to [`JsonElements::next_element`]: there an element that is not valid
//! JSON was an error, with the element (compacted) available afterwards.

use std::io::Read;

use super::{Element, JsonElements};

impl<R: Read> JsonElements<R> {
    /// Moves to the next element: `Ok(true)` if there is a valid one, then
    /// [`JsonElements::current`] returns it; `Ok(false)` at the end of the input. An
    /// element that is not valid JSON is `Err(Error::Malformed)` (absolute byte offset of
    /// the problem) and [`JsonElements::malformed_element`] returns it, compacted.
    ///
    /// Superseded by [`JsonElements::next_element`], which returns such an element with
    /// its [`Element::invalid`] diagnosis.
    ///
    /// # Errors
    /// As described, and a structural or read error as [`crate::Error::Input`].
    #[doc(hidden)]
    pub fn advance(&mut self) -> crate::Result<bool> {
        self.reported_invalid = false;
        if !self.step()? {
            return Ok(false);
        }
        let Some(cur) = &self.cur else {
            return Ok(false);
        };
        let Some(invalid) = cur.invalid else {
            return Ok(true);
        };
        self.reported_invalid = true;
        Err(crate::Error::Malformed {
            element_index: self.index - 1,
            byte_offset: cur.start.byte + invalid.at as u64,
            reason: invalid.reason.to_owned(),
        })
    }

    /// The element the last [`JsonElements::advance`] rejected, compacted (compaction may
    /// make a malformed element parse: keep the error with it). `None` after a success or
    /// any other error.
    #[doc(hidden)]
    pub fn malformed_element(&self) -> Option<Element<'_>> {
        if !self.reported_invalid {
            return None;
        }
        let cur = self.cur.as_ref()?;
        Some(Element {
            index: self.index - 1,
            line: cur.start.line,
            column: cur.start.column,
            byte_offset: cur.start.byte,
            bytes: self.compact_form(),
            key_value: None,
            invalid: cur.invalid,
            raw: &self.src.window()[..cur.len],
        })
    }
}
