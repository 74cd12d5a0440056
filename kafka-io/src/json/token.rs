//! The grammar of strings, numbers and literals, for both scanners: tight loops over whole
//! strings and tokens for the fast path, a check of a whole token for the exact one.

use super::fast::Stop;

/// A string starting at `s[i]` (`"`): the index after its closing quote.
#[inline]
pub(super) fn fast_string(s: &[u8], i: usize) -> Result<usize, Stop> {
    let n = s.len();
    let mut j = i + 1;
    loop {
        j += string_run(&s[j..]);
        if j >= n {
            return Err(Stop::NeedMore);
        }
        match s[j] {
            b'"' => return Ok(j + 1),
            b'\\' => {
                let Some(&e) = s.get(j + 1) else {
                    return Err(Stop::NeedMore);
                };
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                    b'u' => {
                        let Some(hex) = s.get(j + 2..j + 6) else {
                            return Err(Stop::NeedMore);
                        };
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(Stop::Bail);
                        }
                        j += 6;
                    }
                    _ => return Err(Stop::Bail),
                }
            }
            _ => return Err(Stop::Bail), // control character
        }
    }
}

/// The literal `lit` at `s[i]`: the index after it.
#[inline]
pub(super) fn fast_literal(s: &[u8], i: usize, lit: &[u8]) -> Result<usize, Stop> {
    let end = i + lit.len();
    match s.get(i..end) {
        Some(t) if t == lit => {}
        Some(_) => return Err(Stop::Bail),
        None => return Err(Stop::NeedMore),
    }
    match s.get(end) {
        None => Err(Stop::NeedMore),
        Some(b) if is_token_byte(*b) => Err(Stop::Bail),
        Some(_) => Ok(end),
    }
}

/// A number at `s[i]` (`-` or a digit): the index after it. The JSON grammar:
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, followed by a non-token byte.
#[inline]
pub(super) fn fast_number(s: &[u8], i: usize) -> Result<usize, Stop> {
    let n = s.len();
    let mut j = i;
    let digits = |j: &mut usize| -> Result<(), Stop> {
        let from = *j;
        while *j < n && s[*j].is_ascii_digit() {
            *j += 1;
        }
        if *j >= n {
            Err(Stop::NeedMore)
        } else if *j == from {
            Err(Stop::Bail)
        } else {
            Ok(())
        }
    };
    if s[j] == b'-' {
        j += 1;
        if j >= n {
            return Err(Stop::NeedMore);
        }
    }
    if s[j] == b'0' {
        j += 1;
        if j >= n {
            return Err(Stop::NeedMore);
        }
    } else {
        digits(&mut j)?;
    }
    if s[j] == b'.' {
        j += 1;
        digits(&mut j)?;
    }
    if s[j] == b'e' || s[j] == b'E' {
        j += 1;
        if j < n && (s[j] == b'+' || s[j] == b'-') {
            j += 1;
        }
        digits(&mut j)?;
    }
    if is_token_byte(s[j]) {
        return Err(Stop::Bail);
    }
    Ok(j)
}

/// Length of the prefix of `s` without `"`, `\` or control characters, 8 bytes at a time.
pub(super) fn string_run(s: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(word);
        let q = w ^ (LO * u64::from(b'"'));
        let bs = w ^ (LO * u64::from(b'\\'));
        let m = (q.wrapping_sub(LO) & !q & HI)
            | (bs.wrapping_sub(LO) & !bs & HI)
            | (w.wrapping_sub(LO * 0x20) & !w & HI);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() {
        let b = s[i];
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// A byte that can be part of a number or literal token.
pub(super) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

/// JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub(super) fn valid_number(t: &[u8]) -> bool {
    let mut i = 0;
    let n = t.len();
    if i < n && t[i] == b'-' {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < n && t[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if i < n && t[i] == b'0' {
        i += 1;
    } else if digits(&mut i) == 0 {
        return false;
    }
    if i < n && t[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < n && (t[i] == b'e' || t[i] == b'E') {
        i += 1;
        if i < n && (t[i] == b'+' || t[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for ok in ["0", "-0", "1.5", "1e5", "1E+2", "-0.1e-3", "12"] {
            assert!(valid_number(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "1e+", "0x1"] {
            assert!(!valid_number(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn string_runs_stop_at_quotes_backslashes_and_control_bytes() {
        assert_eq!(string_run(b"abcdefghij\"x"), 10);
        assert_eq!(string_run(b"abc\\"), 3);
        assert_eq!(string_run(b"abcdefgh\x01"), 8);
        assert_eq!(string_run("caf\u{e9} \u{1F600}".as_bytes()), 10);
    }

    #[test]
    fn tokens_end_where_the_grammar_says() {
        assert_eq!(fast_string(br#""a\"b" "#, 0), Ok(6));
        assert_eq!(fast_string(br#""a\u00e9""#, 0), Ok(9));
        assert_eq!(fast_string(br#""a\q""#, 0), Err(Stop::Bail));
        assert_eq!(fast_string(br#""ab"#, 0), Err(Stop::NeedMore));
        assert_eq!(fast_literal(b"true,", 0, b"true"), Ok(4));
        assert_eq!(fast_literal(b"truex", 0, b"true"), Err(Stop::Bail));
        assert_eq!(fast_number(b"-1.5e+3]", 0), Ok(7));
        assert_eq!(fast_number(b"01]", 0), Err(Stop::Bail));
        assert_eq!(fast_number(b"12", 0), Err(Stop::NeedMore));
    }
}
