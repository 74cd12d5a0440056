//! Validation errors that say where (a JSON path), what was expected and what was found.

use std::fmt;

/// One step of a [`JsonPath`]: an object key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// An object member, by its (static, schema-known) key.
    Key(&'static str),
    /// An array element, by its zero-based index.
    Index(u32),
}

/// A JSON path inside one event, such as `sequences.questions[2].options[1].checked`.
///
/// Paths are built only on the error path, so they may allocate; the happy path never does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JsonPath(Vec<PathSegment>);

impl JsonPath {
    /// The empty path: the top-level value itself (printed as `$`).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Builds a path from its segments, outermost first.
    pub fn from_segments(segments: impl IntoIterator<Item = PathSegment>) -> Self {
        Self(segments.into_iter().collect())
    }

    /// This path followed by one more segment.
    #[must_use]
    pub fn push(mut self, seg: PathSegment) -> Self {
        self.0.push(seg);
        self
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// True for the top-level value.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("$");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSegment::Key(k) if i == 0 => f.write_str(k)?,
                PathSegment::Key(k) => write!(f, ".{k}")?,
                PathSegment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The class of a reject, stored in the `rejects.error_kind` column.
///
/// The string forms ([`ErrorKind::as_str`]) are stable: queries filter on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The Kafka message had no value (a tombstone) or an empty one.
    EmptyValue,
    /// The value is not valid UTF-8.
    InvalidUtf8,
    /// The value is not well-formed JSON (including trailing garbage after the value).
    MalformedJson,
    /// The value is JSON, but the top level is not an object.
    NotAnObject,
    /// The value nests deeper than the documented limit.
    TooDeep,
    /// The value is larger than the documented limit.
    TooLarge,
    /// A required field (`keen_id`) is missing or null.
    MissingField,
    /// A known field holds a JSON type the schema cannot take.
    WrongType,
    /// A known field has the right JSON type but a value that cannot be converted
    /// (an unparsable timestamp, `"maybe"` for a bool, an integer out of range).
    InvalidValue,
    /// A known field appears twice in the same object.
    DuplicateField,
}

impl ErrorKind {
    /// The stable name stored in `rejects.error_kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::EmptyValue => "empty_value",
            ErrorKind::InvalidUtf8 => "invalid_utf8",
            ErrorKind::MalformedJson => "malformed_json",
            ErrorKind::NotAnObject => "not_an_object",
            ErrorKind::TooDeep => "too_deep",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::MissingField => "missing_field",
            ErrorKind::WrongType => "wrong_type",
            ErrorKind::InvalidValue => "invalid_value",
            ErrorKind::DuplicateField => "duplicate_field",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validation error: why one event cannot become an `assessments` row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A known field has the wrong JSON type.
    #[error("{path}: expected {expected}, found {found}")]
    WrongType {
        /// Where.
        path: JsonPath,
        /// What the schema takes, e.g. `bool`.
        expected: &'static str,
        /// The JSON type found, e.g. `string`.
        found: &'static str,
    },
    /// A known field's value cannot be converted.
    #[error("{path}: expected {expected}, found {found:?}")]
    InvalidValue {
        /// Where.
        path: JsonPath,
        /// What the schema takes, e.g. `epoch seconds as a decimal string`.
        expected: &'static str,
        /// The offending value (truncated to 64 characters).
        found: String,
    },
    /// A required field is missing or null.
    #[error("{path}: required field is missing")]
    MissingField {
        /// The missing field's path.
        path: JsonPath,
    },
    /// A known field appears more than once in one object.
    #[error("{path}: duplicate field")]
    DuplicateField {
        /// The duplicated field's path.
        path: JsonPath,
    },
    /// The top-level value is not an object.
    #[error("$: expected object, found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// Not JSON at all, or not UTF-8, or too deep, or empty: a parse-level failure.
    #[error("{kind} at byte {byte_offset}: {message}")]
    Parse {
        /// The class of failure.
        kind: ErrorKind,
        /// Byte offset into the value where the parser stopped (0 when unknown).
        byte_offset: usize,
        /// The parser's description.
        message: String,
    },
}

impl Error {
    /// The class of this error, for `rejects.error_kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::WrongType { .. } => ErrorKind::WrongType,
            Error::InvalidValue { .. } => ErrorKind::InvalidValue,
            Error::MissingField { .. } => ErrorKind::MissingField,
            Error::DuplicateField { .. } => ErrorKind::DuplicateField,
            Error::NotAnObject { .. } => ErrorKind::NotAnObject,
            Error::Parse { kind, .. } => *kind,
        }
    }

    /// The JSON path of the error, if it concerns one field.
    pub fn path(&self) -> Option<&JsonPath> {
        match self {
            Error::WrongType { path, .. }
            | Error::InvalidValue { path, .. }
            | Error::MissingField { path }
            | Error::DuplicateField { path } => Some(path),
            Error::NotAnObject { .. } | Error::Parse { .. } => None,
        }
    }

    /// An [`Error::InvalidValue`] whose `found` is truncated to 64 characters.
    pub fn invalid_value(path: JsonPath, expected: &'static str, found: &str) -> Self {
        let found = match found.char_indices().nth(64) {
            Some((cut, _)) => format!("{}…", &found[..cut]),
            None => found.to_owned(),
        };
        Error::InvalidValue {
            path,
            expected,
            found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display_matches_the_documented_form() {
        let p = JsonPath::root()
            .push(PathSegment::Key("sequences"))
            .push(PathSegment::Key("questions"))
            .push(PathSegment::Index(2))
            .push(PathSegment::Key("options"))
            .push(PathSegment::Index(1))
            .push(PathSegment::Key("checked"));
        assert_eq!(p.to_string(), "sequences.questions[2].options[1].checked");
        assert_eq!(JsonPath::root().to_string(), "$");
        let e = Error::WrongType {
            path: p,
            expected: "bool",
            found: "string",
        };
        assert_eq!(
            e.to_string(),
            "sequences.questions[2].options[1].checked: expected bool, found string"
        );
        assert_eq!(e.kind().as_str(), "wrong_type");
    }

    #[test]
    fn invalid_value_truncates_long_values_on_a_char_boundary() {
        let long = "é".repeat(100);
        let Error::InvalidValue { found, .. } = Error::invalid_value(JsonPath::root(), "x", &long)
        else {
            panic!("wrong variant")
        };
        assert_eq!(found.chars().count(), 65);
        assert!(found.ends_with('…'));
    }
}
