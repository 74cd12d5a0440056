//! What a publish call reports: progress, the final report, the invalid elements it sent,
//! and the file its read-first pass examined.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};
use crate::json::{ElementIndex, InputCompression, InputFile, InputFormat};

/// How many invalid elements a report lists (all are counted).
pub const MAX_LISTED_INVALID: usize = 100;

/// An element that is not valid JSON, sent as it is (a lander keeps it as a reject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidElement {
    /// Zero-based index of the element in the input.
    pub element_index: u64,
    /// Line of the problem, from 1.
    pub line: u64,
    /// Column (byte in the line) of the problem, from 1.
    pub column: u64,
    /// Byte offset of the problem in the input.
    pub byte: u64,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for InvalidElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "element #{} at line {}, column {} (byte {}): {}",
            self.element_index, self.line, self.column, self.byte, self.reason
        )
    }
}

/// What a publish call did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishReport {
    /// Topic written to.
    pub topic: String,
    /// Input format (`None` for [`Publisher::publish_records`]).
    pub format: Option<InputFormat>,
    /// Elements read from the input (every one is a message).
    pub elements: u64,
    /// Messages acknowledged by the brokers.
    pub delivered: u64,
    /// Payload bytes acknowledged.
    pub delivered_bytes: u64,
    /// Messages sent with a null key (key field missing or `null`, or the element is not
    /// valid JSON).
    pub null_keys: u64,
    /// Elements that are not valid JSON, sent as they are.
    pub invalid: u64,
    /// The first [`MAX_LISTED_INVALID`] of them, with their positions.
    pub invalid_elements: Vec<InvalidElement>,
    /// Delivered messages per partition.
    pub partitions: BTreeMap<i32, u64>,
    /// Bytes of input read (of the decompressed text, for a compressed file).
    pub input_bytes: u64,
    /// Wall time of the call.
    pub elapsed: Duration,
}

/// Which pass a publish call is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishPhase {
    /// Checking the whole input before sending anything.
    Validating,
    /// Sending messages.
    Sending,
    /// Waiting for the last delivery reports.
    Flushing,
}

/// Progress of a publish call, reported every 1,024 elements and at phase changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishProgress {
    /// Current pass.
    pub phase: PublishPhase,
    /// Elements processed in this pass.
    pub elements: u64,
    /// Input bytes consumed in this pass.
    pub bytes_read: u64,
    /// Input size in bytes (0 if unknown, e.g. for a compressed file).
    pub bytes_total: u64,
    /// Messages acknowledged so far.
    pub delivered: u64,
}

/// A file read by [`Publisher::validate_file`]: what it is, how many elements it has and
/// where they are, for [`Publisher::publish_validated`].
#[derive(Debug)]
pub struct ValidatedFile {
    pub(super) input: InputFile,
    pub(super) stamp: FileStamp,
    pub(super) index: Option<ElementIndex>,
    pub(super) elements: u64,
    pub(super) invalid: u64,
    pub(super) started: Instant,
}

impl ValidatedFile {
    /// The file.
    pub fn path(&self) -> &Path {
        self.input.path()
    }

    /// Its format (detected from the first non-blank byte).
    pub fn format(&self) -> InputFormat {
        self.input.format()
    }

    /// Its compression (detected from its first bytes).
    pub fn compression(&self) -> InputCompression {
        self.input.compression()
    }

    /// Elements in the file (every one becomes a message).
    pub fn elements(&self) -> u64 {
        self.elements
    }

    /// Elements that are not valid JSON (sent as they are).
    pub fn invalid(&self) -> u64 {
        self.invalid
    }
}

/// Length and modification time of a file, to notice it changing between two passes.
pub(super) type FileStamp = (u64, Option<SystemTime>);

pub(super) fn file_stamp(path: &Path) -> Result<FileStamp> {
    let m = std::fs::metadata(path).map_err(|error| Error::Io {
        path: path.to_owned(),
        error,
    })?;
    Ok((m.len(), m.modified().ok()))
}
