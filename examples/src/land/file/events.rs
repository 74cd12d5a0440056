//! The events of a file, as kafka-io's splitter reads them.

use assessment_flatten::Origin;
use kafka_io::json::{InputFile, InputFormat, InputReader, JsonElements, NdjsonLines};

/// The events of a file, read by kafka-io's splitter as what the file is (plain, gzip or
/// zstd; a byte-order mark skipped): a JSON array's elements (compacted), or NDJSON's
/// non-blank lines as they are — a line that is not one valid JSON value is a message like
/// any other, which the flattener lands as a reject, and the next line is read. A line's
/// offset is its index among the non-blank lines. An array element the splitter can
/// delimit but not parse comes with its diagnosis; a structural error (the element has no
/// known end) ends the file with an error naming line, column and byte.
pub(super) enum FileEvents {
    Array(Box<JsonElements<InputReader>>),
    Lines(Box<NdjsonLines<InputReader>>),
}

/// One event of a file: its index, its bytes, where it starts in the file and, for an array
/// element that is not valid JSON, where it broke and why.
pub(super) struct FileEvent<'a> {
    pub(super) index: u64,
    pub(super) bytes: &'a [u8],
    pub(super) origin: Origin,
    pub(super) malformed: Option<(usize, String)>,
}

impl FileEvent<'_> {
    /// The event's offset: its index.
    pub(super) fn offset(&self) -> i64 {
        i64::try_from(self.index).unwrap_or(i64::MAX)
    }
}

impl FileEvents {
    pub(super) fn open(input: &InputFile) -> kafka_io::json::Result<Self> {
        Ok(match input.format() {
            InputFormat::Ndjson => FileEvents::Lines(Box::new(input.lines()?)),
            _ => FileEvents::Array(Box::new(input.elements()?)),
        })
    }

    pub(super) fn next_event(&mut self) -> kafka_io::json::Result<Option<FileEvent<'_>>> {
        Ok(match self {
            FileEvents::Lines(lines) => lines.next_line()?.map(|l| FileEvent {
                index: l.index,
                bytes: l.bytes,
                origin: Origin {
                    line: l.line,
                    column: l.column,
                    byte: l.byte_offset,
                    verbatim: true,
                },
                malformed: None,
            }),
            FileEvents::Array(elements) => elements.next_element()?.map(|e| FileEvent {
                index: e.index,
                bytes: e.bytes,
                origin: Origin {
                    line: e.line,
                    column: e.column,
                    byte: e.byte_offset,
                    verbatim: false,
                },
                malformed: e.invalid.map(|i| (i.at, e.diagnosis().unwrap_or_default())),
            }),
        })
    }
}
