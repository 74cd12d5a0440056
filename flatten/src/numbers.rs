//! Numbers that simd-json's tape cannot hold, on a cold path.
//!
//! RFC 8259 sets no limit on a number's size, precision or exponent, and producers write
//! `18446744073709551616`, 100-digit integers or `1e400`. simd-json keeps a number in its tape
//! as an `i64`, a `u64` or a finite `f64`, and refuses the whole value with `InvalidNumber` for
//! an integer outside `[i64::MIN, u64::MAX]` or a number whose nearest `f64` is infinite,
//! wherever it stands, also in fields the schema never reads. When a parse fails that way:
//!
//! 1. [`WideNumbers::mask`] scans a copy of the value (strings skipped, escapes honoured),
//!    overwrites every such number with `0` and spaces (same length: byte offsets of later
//!    errors are still those of the value) and records the tape node it will become;
//! 2. the copy is parsed again by simd-json, so every other byte is read exactly as on the
//!    fast path (strings, escapes, depth, UTF-8 and syntax checks);
//! 3. [`WideNumbers::patch`] writes into each recorded node the number's nearest `f64`
//!    (±infinity beyond the `f64` range). simd-json never puts an infinity in a tape, nor an
//!    `f64` where the text was an integer, so a known field can tell these numbers apart and
//!    its error quotes the number as written ([`WideNumbers::written`]).
//!
//! In a field the schema does not read, such a number therefore changes nothing: the typed
//! rows are those the value would give with a small number in its place. The fast path does
//! not change at all: none of this runs unless simd-json reported `InvalidNumber`.

use simd_json::{Node, StaticNode};

/// One number of a value that the tape cannot hold.
#[derive(Debug, Clone, PartialEq)]
struct Wide {
    /// Index of its node in the tape.
    node: usize,
    /// Written without fraction or exponent (an integer beyond `[i64::MIN, u64::MAX]`).
    integer: bool,
    /// Its nearest `f64`, infinite beyond the `f64` range.
    value: f64,
    /// Where its text is in [`WideNumbers::text`].
    text: std::ops::Range<usize>,
}

/// The numbers of one value that the tape cannot hold, in tape order. Empty except while a
/// value that has some is decoded.
#[derive(Debug, Default)]
pub(crate) struct WideNumbers {
    numbers: Vec<Wide>,
    /// Their texts, as written, one after the other.
    text: String,
}

/// What a known field finds in a node that [`WideNumbers::patch`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WideKind {
    /// An integer outside `[i64::MIN, u64::MAX]`.
    Integer,
    /// A number with a fraction or exponent beyond the `f64` range.
    Float,
}

impl WideNumbers {
    /// True when no number was recorded (always, on the fast path).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.numbers.clear();
        self.text.clear();
    }

    /// Finds every number of `json` that simd-json refuses, replaces it in place by `0` and
    /// spaces, and records it (after clearing what was recorded). A number that is not
    /// well-formed JSON is left as it is, for the parser to report.
    pub(crate) fn mask(&mut self, json: &mut [u8]) {
        self.clear();
        let mut i = 0;
        // Tape index of the next value or key: every string (key or value), number,
        // literal, object and array is one node; closing brackets and separators are none.
        let mut node = 0;
        while i < json.len() {
            match json[i] {
                b'"' => {
                    i += 1;
                    while i < json.len() {
                        match json[i] {
                            b'\\' => i += 2,
                            b'"' => {
                                i += 1;
                                break;
                            }
                            _ => i += 1,
                        }
                    }
                    node += 1;
                }
                b'-' | b'0'..=b'9' => {
                    let start = i;
                    i += 1;
                    while i < json.len()
                        && matches!(json[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                    {
                        i += 1;
                    }
                    if let Some((integer, value)) = refused(&json[start..i]) {
                        let from = self.text.len();
                        // A token of these bytes is ASCII.
                        self.text
                            .extend(json[start..i].iter().map(|&b| char::from(b)));
                        self.numbers.push(Wide {
                            node,
                            integer,
                            value,
                            text: from..self.text.len(),
                        });
                        json[start] = b'0';
                        json[start + 1..i].fill(b' ');
                    }
                    node += 1;
                }
                b'{' | b'[' => {
                    i += 1;
                    node += 1;
                }
                b't' | b'f' | b'n' => {
                    while i < json.len() && json[i].is_ascii_lowercase() {
                        i += 1;
                    }
                    node += 1;
                }
                _ => i += 1,
            }
        }
    }

    /// Writes each recorded number into its node of the tape parsed from the masked copy.
    /// False if a recorded node is not the `0` written there by [`WideNumbers::mask`] (the
    /// scan and the parser disagree on the value's layout): the tape must not be decoded.
    pub(crate) fn patch(&self, nodes: &mut [Node<'_>]) -> bool {
        for w in &self.numbers {
            match nodes.get_mut(w.node) {
                Some(n @ Node::Static(StaticNode::U64(0))) => {
                    *n = Node::Static(StaticNode::F64(w.value));
                }
                _ => return false,
            }
        }
        true
    }

    /// The number at tape index `node`, if it is one of the recorded ones: its kind and its
    /// text as written.
    pub(crate) fn written(&self, node: usize) -> Option<(WideKind, &str)> {
        let i = self.numbers.binary_search_by_key(&node, |w| w.node).ok()?;
        let w = &self.numbers[i];
        let kind = if w.integer {
            WideKind::Integer
        } else {
            WideKind::Float
        };
        Some((kind, &self.text[w.text.clone()]))
    }
}

/// For a well-formed JSON number that simd-json refuses: whether it is written as an integer,
/// and its nearest `f64`. `None` for every other token.
fn refused(token: &[u8]) -> Option<(bool, f64)> {
    let (negative, body) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    let int_len = body.iter().take_while(|b| b.is_ascii_digit()).count();
    if int_len == 0 || (body[0] == b'0' && int_len > 1) {
        return None;
    }
    let mut rest = &body[int_len..];
    let mut integer = true;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        integer = false;
        rest = &frac[n..];
    }
    if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"+")
            .or_else(|| exp.strip_prefix(b"-"))
            .unwrap_or(exp);
        let n = exp.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        integer = false;
        rest = &exp[n..];
    }
    if !rest.is_empty() {
        return None;
    }
    // The grammar is checked: the token is ASCII and Rust reads it as JSON means it.
    let value: f64 = std::str::from_utf8(token).ok()?.parse().ok()?;
    let refused = if integer {
        let digits = &body[..int_len];
        // 20 digits hold every u64; fewer than 19 fit an i64 either way.
        digits.len() > 20 || {
            let mut n: u128 = 0;
            for &d in digits {
                n = n * 10 + u128::from(d - b'0');
            }
            if negative {
                n > 1 << 63
            } else {
                n > u128::from(u64::MAX)
            }
        }
    } else {
        value.is_infinite()
    };
    refused.then_some((integer, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(json: &str) -> (String, WideNumbers) {
        let mut bytes = json.as_bytes().to_vec();
        let mut w = WideNumbers::default();
        w.mask(&mut bytes);
        (String::from_utf8(bytes).unwrap(), w)
    }

    #[test]
    fn refuses_exactly_what_simd_json_refuses() {
        for (token, want) in [
            ("18446744073709551615", None),
            ("18446744073709551616", Some(true)),
            ("-9223372036854775808", None),
            ("-9223372036854775809", Some(true)),
            ("-18446744073709551617", Some(true)),
            ("1e400", Some(false)),
            ("-1e400", Some(false)),
            ("1.7976931348623157e308", None),
            ("1.7976931348623159e308", Some(false)),
            ("1e-400", None),
            ("1.5e-10", None),
            ("-0.0", None),
            ("123456789012345678901234567890.5", None),
            ("0", None),
            ("01", None),
            ("1.", None),
            ("-", None),
            ("1e", None),
            ("1e+", None),
            ("1-2", None),
            ("--1", None),
        ] {
            let got = refused(token.as_bytes()).map(|(integer, _)| integer);
            assert_eq!(got, want, "{token}");
            // simd-json agrees on every well-formed token: it refuses exactly these.
            let mut doc = format!("[{token}]").into_bytes();
            let simd_ok = simd_json::to_tape(&mut doc).is_ok();
            let well_formed =
                serde_json::from_str::<serde::de::IgnoredAny>(token).is_ok() || want.is_some();
            if well_formed {
                assert_eq!(simd_ok, want.is_none(), "{token}: simd-json disagrees");
            }
        }
        let hundred = "9".repeat(100);
        assert_eq!(refused(hundred.as_bytes()), Some((true, 1e100)));
        let huge = "9".repeat(400);
        assert_eq!(refused(huge.as_bytes()), Some((true, f64::INFINITY)));
    }

    #[test]
    fn masks_numbers_outside_strings_and_counts_tape_nodes() {
        let json = r#"{"a\"18446744073709551616":[1,18446744073709551616,{"b":-1e400}],"c":true,"d":1e400}"#;
        let (out, w) = masked(json);
        assert_eq!(out.len(), json.len());
        assert_eq!(
            out,
            r#"{"a\"18446744073709551616":[1,0                   ,{"b":0     }],"c":true,"d":0    }"#
        );
        // Layout: 0 {, 1 key, 2 [, 3 1, 4 big, 5 {, 6 "b", 7 -1e400, 8 "c", 9 true, 10 "d", 11.
        let mut bytes = out.into_bytes();
        let mut tape = simd_json::to_tape(&mut bytes).unwrap();
        assert!(w.patch(&mut tape.0));
        assert_eq!(
            w.written(4),
            Some((WideKind::Integer, "18446744073709551616"))
        );
        assert_eq!(w.written(7), Some((WideKind::Float, "-1e400")));
        assert_eq!(w.written(11), Some((WideKind::Float, "1e400")));
        assert_eq!(w.written(3), None);
        assert!(matches!(
            tape.0[4],
            Node::Static(StaticNode::F64(v)) if v == 18_446_744_073_709_551_616.0
        ));
        assert!(matches!(
            tape.0[7],
            Node::Static(StaticNode::F64(v)) if v == f64::NEG_INFINITY
        ));
    }

    #[test]
    fn patch_refuses_a_tape_of_another_layout() {
        let (_, w) = masked("[18446744073709551616]");
        let mut other = b"[1]".to_vec();
        let mut tape = simd_json::to_tape(&mut other).unwrap();
        assert!(!w.patch(&mut tape.0));
        let mut empty: Vec<Node<'_>> = Vec::new();
        assert!(!w.patch(&mut empty));
    }
}
