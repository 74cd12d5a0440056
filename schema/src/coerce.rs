//! Exact conversions from the source's string encodings to typed values.
//!
//! The original events encode almost everything as strings: epoch seconds with up to 7
//! fractional digits (`"1516738921.1137421"`), booleans (`"false"`), floats (`"1.0"`).
//! These functions are the single definition of how such strings become Arrow values; the
//! hot path calls them directly.
//!
//! * Timestamps are microseconds since the Unix epoch, UTC (Arrow `Timestamp(µs, "UTC")`).
//! * Epoch-second strings are converted with integer decimal arithmetic, never through
//!   `f64`: digits beyond the sixth fractional digit are **truncated** (toward zero), so
//!   `"1516738921.1137421"` becomes `1_516_738_921_113_742` µs, and the result is the same
//!   on every machine.
//! * ISO-8601 timestamps take the form `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM|±HHMM)`
//!   (a space is accepted in place of `T`); fractional digits beyond microseconds are
//!   truncated; a missing zone is an error (a wall-clock time without a zone is ambiguous).
//!
//! JSON numbers in known fields:
//!
//! * An integer column (`attempt`, the six integer counts, `options.submitted`) takes a JSON
//!   integer in the `i64` range, written without fraction or exponent. An integral float
//!   (`1.0`, `1e0`, `2.0e1`, `-0.0`) is not taken, nor is an integer beyond `i64`
//!   (`18446744073709551616`): both are `invalid_value` rejects with the JSON path and the
//!   number as written (`sequences.counts.total: expected an integer from … without fraction
//!   or exponent, found "1.0"`; [`EXPECTED_INT64`]). A parser
//!   holds a float as its nearest `f64`, not its digits: `1.0000000000000000001` and
//!   `9007199254740993.0` read as integral floats that are not the integers they name, so
//!   the only exact rule is the one on how the number is written. It is also the rule of
//!   serde_json's `i64` ([`crate::event`]) and of Spark's `LongType`.
//! * A float column (`max_attempts`) takes any number within the `f64` range, an integer as
//!   its nearest `f64` (beyond `u64` too), or a decimal string ([`str_to_f64`]); `-0.0` stays
//!   `-0.0`; a number beyond the range (`1e400`) is an `invalid_value` reject.
//! * Epoch seconds (`keen_timestamp`, `keen_created_at`) may also be a JSON integer of
//!   seconds; beyond the `i64` microsecond range it is `invalid_value`, a float `wrong_type`.
//! * A number in a field the schema does not read never makes a reject, whatever its size,
//!   precision or exponent (RFC 8259 sets no limit): it stays in `raw`, byte for byte.

use std::fmt;

/// A value that a coercion could not convert. Carries what was expected, so callers can
/// build an [`crate::Error::InvalidValue`] with the JSON path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoerceError {
    /// What the coercion accepts, in words.
    pub expected: &'static str,
}

impl fmt::Display for CoerceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}", self.expected)
    }
}

impl std::error::Error for CoerceError {}

/// What [`epoch_seconds_to_micros`] accepts.
pub const EXPECTED_EPOCH: &str = "epoch seconds as a decimal string, e.g. \"1516717442.735266\"";
/// What [`iso8601_to_micros`] accepts.
pub const EXPECTED_ISO8601: &str =
    "an ISO-8601 timestamp with a zone, e.g. \"2018-01-23T14:23:19.082Z\"";
/// What [`str_to_bool`] accepts.
pub const EXPECTED_BOOL_STR: &str = "\"true\" or \"false\"";
/// What [`str_to_f64`] accepts.
pub const EXPECTED_F64_STR: &str = "a decimal number as a string, e.g. \"1.0\"";
/// What an integer column accepts: see the [module docs](self).
pub const EXPECTED_INT64: &str =
    "an integer from -9223372036854775808 to 9223372036854775807, without fraction or exponent";
/// What a float column accepts as a JSON number.
pub const EXPECTED_F64: &str = "a number within the float64 range";

const MICROS_PER_SEC: i64 = 1_000_000;

/// Converts epoch seconds written as a decimal string to microseconds, exactly.
///
/// Accepts an optional leading `-`, at least one integer digit, and an optional `.` followed
/// by at least one digit. Digits beyond the sixth fractional digit are truncated toward zero.
///
/// ```
/// use assessment_schema::coerce::epoch_seconds_to_micros;
/// assert_eq!(epoch_seconds_to_micros("1516717442.735266"), Ok(1_516_717_442_735_266));
/// assert_eq!(epoch_seconds_to_micros("1516738921.1137421"), Ok(1_516_738_921_113_742));
/// assert_eq!(epoch_seconds_to_micros("12"), Ok(12_000_000));
/// assert_eq!(epoch_seconds_to_micros("-1.5"), Ok(-1_500_000));
/// assert!(epoch_seconds_to_micros("1e9").is_err());
/// ```
pub fn epoch_seconds_to_micros(s: &str) -> Result<i64, CoerceError> {
    const ERR: CoerceError = CoerceError {
        expected: EXPECTED_EPOCH,
    };
    let b = s.as_bytes();
    let (neg, b) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let (int_part, frac_part) = match b.iter().position(|&c| c == b'.') {
        Some(dot) => {
            let frac = &b[dot + 1..];
            if frac.is_empty() {
                return Err(ERR);
            }
            (&b[..dot], Some(frac))
        }
        None => (b, None),
    };
    if int_part.is_empty() {
        return Err(ERR);
    }
    let mut secs: i64 = 0;
    for &c in int_part {
        let d = digit(c).ok_or(ERR)?;
        secs = secs
            .checked_mul(10)
            .and_then(|v| v.checked_add(d))
            .ok_or(ERR)?;
    }
    let mut frac: i64 = 0;
    if let Some(frac_part) = frac_part {
        let mut scale = 100_000;
        for &c in frac_part {
            let d = digit(c).ok_or(ERR)?;
            if scale > 0 {
                frac += d * scale;
                scale /= 10;
            }
        }
    }
    let micros = secs
        .checked_mul(MICROS_PER_SEC)
        .and_then(|v| v.checked_add(frac))
        .ok_or(ERR)?;
    Ok(if neg { -micros } else { micros })
}

#[inline]
fn digit(c: u8) -> Option<i64> {
    c.is_ascii_digit().then(|| i64::from(c - b'0'))
}

/// Parses exactly `n` ASCII digits at `b[at..at+n]`.
#[inline]
fn fixed_digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let mut v = 0;
    for &c in b.get(at..at + n)? {
        v = v * 10 + digit(c)?;
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Converts an ISO-8601 / RFC 3339 timestamp with a zone to microseconds since the epoch, UTC.
///
/// ```
/// use assessment_schema::coerce::iso8601_to_micros;
/// assert_eq!(iso8601_to_micros("2018-01-23T14:23:19.082Z"), Ok(1_516_717_399_082_000));
/// assert_eq!(iso8601_to_micros("2018-01-23T14:23:19Z"), Ok(1_516_717_399_000_000));
/// assert_eq!(iso8601_to_micros("2018-01-23T15:23:19.082+01:00"), Ok(1_516_717_399_082_000));
/// assert!(iso8601_to_micros("2018-01-23T14:23:19").is_err()); // no zone
/// assert!(iso8601_to_micros("2018-02-30T00:00:00Z").is_err()); // no such day
/// ```
pub fn iso8601_to_micros(s: &str) -> Result<i64, CoerceError> {
    parse_iso8601(s.as_bytes()).ok_or(CoerceError {
        expected: EXPECTED_ISO8601,
    })
}

fn parse_iso8601(b: &[u8]) -> Option<i64> {
    // YYYY-MM-DDTHH:MM:SS
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = fixed_digits(b, 0, 4)?;
    let month = fixed_digits(b, 5, 2)?;
    let day = fixed_digits(b, 8, 2)?;
    let hour = fixed_digits(b, 11, 2)?;
    let minute = fixed_digits(b, 14, 2)?;
    let second = fixed_digits(b, 17, 2)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut micros = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000;
        while let Some(d) = b.get(i).and_then(|&c| digit(c)) {
            micros += d * scale;
            scale /= 10;
            i += 1;
            if i - start > 9 {
                return None;
            }
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        &sign @ (b'+' | b'-') => {
            let rest = &b[i + 1..];
            let (h, m) = match rest.len() {
                5 if rest[2] == b':' => (fixed_digits(rest, 0, 2)?, fixed_digits(rest, 3, 2)?),
                4 => (fixed_digits(rest, 0, 2)?, fixed_digits(rest, 2, 2)?),
                2 => (fixed_digits(rest, 0, 2)?, 0),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * MICROS_PER_SEC + micros)
}

/// Converts `"true"` / `"false"` to a bool (exact, lower case).
///
/// ```
/// use assessment_schema::coerce::str_to_bool;
/// assert_eq!(str_to_bool("false"), Ok(false));
/// assert!(str_to_bool("False").is_err());
/// ```
pub fn str_to_bool(s: &str) -> Result<bool, CoerceError> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(CoerceError {
            expected: EXPECTED_BOOL_STR,
        }),
    }
}

/// Converts a decimal string such as `"1.0"` to a finite `f64`.
///
/// ```
/// use assessment_schema::coerce::str_to_f64;
/// assert_eq!(str_to_f64("1.0"), Ok(1.0));
/// assert!(str_to_f64("NaN").is_err());
/// assert!(str_to_f64("").is_err());
/// ```
pub fn str_to_f64(s: &str) -> Result<f64, CoerceError> {
    const ERR: CoerceError = CoerceError {
        expected: EXPECTED_F64_STR,
    };
    // Rust's parser accepts "inf", "NaN", "+1": accept only JSON-like decimals.
    let b = s.as_bytes();
    let body = b.strip_prefix(b"-").unwrap_or(b);
    if body.first().is_none_or(|c| !c.is_ascii_digit())
        || !b
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return Err(ERR);
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or(ERR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn epoch_strings_of_the_real_sample() {
        for (s, us) in [
            ("1516717442.735266", 1_516_717_442_735_266),
            ("1516717377.639827", 1_516_717_377_639_827),
            ("1516738973.653394", 1_516_738_973_653_394),
            ("1516738921.1137421", 1_516_738_921_113_742),
            ("1516737000.212122", 1_516_737_000_212_122),
            ("1516737000.2", 1_516_737_000_200_000),
            ("0.000001", 1),
            ("0.0000009", 0),
        ] {
            assert_eq!(epoch_seconds_to_micros(s), Ok(us), "{s}");
        }
    }

    #[test]
    fn epoch_rejects_non_decimals_and_overflow() {
        for s in [
            "",
            "-",
            ".",
            "1.",
            ".5",
            "1.2.3",
            "1e9",
            " 1",
            "1 ",
            "+1",
            "abc",
            "99999999999999999",
        ] {
            assert!(epoch_seconds_to_micros(s).is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn iso_forms() {
        let base = 1_516_717_399_082_000;
        assert_eq!(iso8601_to_micros("2018-01-23T14:23:19.082Z"), Ok(base));
        assert_eq!(iso8601_to_micros("2018-01-23T14:23:19.082000Z"), Ok(base));
        assert_eq!(
            iso8601_to_micros("2018-01-23T14:23:19.082000999Z"),
            Ok(base)
        );
        assert_eq!(iso8601_to_micros("2018-01-23 14:23:19.082Z"), Ok(base));
        assert_eq!(iso8601_to_micros("2018-01-23T09:23:19.082-05:00"), Ok(base));
        assert_eq!(iso8601_to_micros("2018-01-23T09:23:19.082-0500"), Ok(base));
        assert_eq!(iso8601_to_micros("2018-01-23T09:23:19.082-05"), Ok(base));
        assert_eq!(iso8601_to_micros("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            iso8601_to_micros("2000-02-29T00:00:00Z"),
            Ok(951_782_400_000_000)
        );
        for bad in [
            "2018-01-23T14:23:19",
            "2018-01-23T14:23:19.Z",
            "2018-13-01T00:00:00Z",
            "2019-02-29T00:00:00Z",
            "2018-01-23T24:00:00Z",
            "2018-01-23T14:23:19ZZ",
            "2018-01-23T14:23:19.0820000001Z",
            "2018-01-23",
            "",
        ] {
            assert!(iso8601_to_micros(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        /// Any (seconds, micros) pair printed with 6 or more fractional digits comes back exactly.
        #[test]
        fn epoch_round_trips(secs in 0i64..4_000_000_000, micros in 0i64..1_000_000, extra in 0u8..10, pad in 0usize..3) {
            let s = format!("{secs}.{micros:06}{}", extra.to_string().repeat(pad));
            prop_assert_eq!(epoch_seconds_to_micros(&s), Ok(secs * 1_000_000 + micros));
        }

        /// ISO strings built from a timestamp parse back to it (in every supported form).
        #[test]
        fn iso_round_trips(t in -2_000_000_000_000_000i64..4_000_000_000_000_000) {
            let secs = t.div_euclid(1_000_000);
            let micros = t.rem_euclid(1_000_000);
            let days = secs.div_euclid(86_400);
            let sod = secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            let s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3600, sod / 60 % 60, sod % 60);
            prop_assert_eq!(iso8601_to_micros(&s), Ok(t));
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = epoch_seconds_to_micros(&s);
            let _ = iso8601_to_micros(&s);
            let _ = str_to_f64(&s);
            let _ = str_to_bool(&s);
        }
    }

    fn civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (if m <= 2 { y + 1 } else { y }, m, d)
    }
}
