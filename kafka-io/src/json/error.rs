//! The splitter's errors: what went wrong with a file, and where.

use std::path::{Path, PathBuf};

use super::Position;

/// Result of the framing functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an input cannot be cut into elements. An element that can be delimited but is not
/// valid JSON is not an error: it comes out of the splitter with its
/// [`Invalid`](super::Invalid) diagnosis.
///
/// Every message names the file (when the splitter knows it) and, for problems in the
/// text, the position as `line L, column C (byte B)`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A JSON array whose structure is broken: an unbalanced bracket, a string or
    /// element that the input ends inside, a missing `,` or `[`. Nothing after this point
    /// can be delimited.
    #[error(
        "{}line {line}, column {column} (byte {byte}): {reason} (element #{element}); the \
         JSON array's structure is broken here, so no element after it can be delimited: \
         repair the file at this position",
        in_file(path.as_deref())
    )]
    Structure {
        /// The file, when known.
        path: Option<PathBuf>,
        /// Zero-based index of the element that could not be delimited.
        element: u64,
        /// Line of the problem, from 1.
        line: u64,
        /// Column (byte in the line) of the problem, from 1.
        column: u64,
        /// Byte offset of the problem, from 0.
        byte: u64,
        /// What is wrong.
        reason: String,
    },

    /// Reading the input failed (an I/O error, or corrupt compressed data).
    #[error(
        "{}reading failed at line {line}, column {column} (byte {byte}): {error}",
        in_file(path.as_deref())
    )]
    Read {
        /// The file, when known.
        path: Option<PathBuf>,
        /// Line where reading stopped, from 1.
        line: u64,
        /// Column where reading stopped, from 1.
        column: u64,
        /// Byte offset where reading stopped, from 0.
        byte: u64,
        /// The I/O (or decompression) error.
        error: std::io::Error,
    },

    /// The file cannot be opened or its first bytes cannot be read.
    #[error("cannot open {}: {error}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },

    /// The file is in a form the splitter does not read (a compression other than gzip
    /// and zstd, an archive, UTF-16 text).
    #[error("{} is {what}, which is not read here: {remedy}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What the file is, e.g. `"bzip2-compressed"`.
        what: &'static str,
        /// What to do instead.
        remedy: &'static str,
    },
}

fn in_file(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

impl Error {
    /// Where in the input the problem is (`None` for [`Error::Open`] and
    /// [`Error::Unsupported`]).
    pub fn position(&self) -> Option<Position> {
        match self {
            Error::Structure {
                line, column, byte, ..
            }
            | Error::Read {
                line, column, byte, ..
            } => Some(Position {
                line: *line,
                column: *column,
                byte: *byte,
            }),
            Error::Open { .. } | Error::Unsupported { .. } => None,
        }
    }

    pub(super) fn structure(
        path: Option<&Path>,
        element: u64,
        at: Position,
        reason: impl Into<String>,
    ) -> Error {
        Error::Structure {
            path: path.map(Path::to_owned),
            element,
            line: at.line,
            column: at.column,
            byte: at.byte,
            reason: reason.into(),
        }
    }

    pub(super) fn read(path: Option<&Path>, at: Position, error: std::io::Error) -> Error {
        Error::Read {
            path: path.map(Path::to_owned),
            line: at.line,
            column: at.column,
            byte: at.byte,
            error,
        }
    }

    /// The same error with its element index shifted by `elements` and its position
    /// replaced by `at` (a segment's error, placed in the whole input).
    pub(super) fn placed(self, elements: u64, at: Position) -> Error {
        match self {
            Error::Structure {
                path,
                element,
                reason,
                ..
            } => Error::Structure {
                path,
                element: element + elements,
                line: at.line,
                column: at.column,
                byte: at.byte,
                reason,
            },
            Error::Read { path, error, .. } => Error::Read {
                path,
                line: at.line,
                column: at.column,
                byte: at.byte,
                error,
            },
            other => other,
        }
    }
}
