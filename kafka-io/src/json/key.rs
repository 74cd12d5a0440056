//! Message keys: the value of a top-level field of an element.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The key for the JSON text `raw` of a field's value: a string's unescaped content, any
/// other value's text; `None` for `null`.
pub(super) fn key_of_value(raw: &[u8]) -> Option<Cow<'_, [u8]>> {
    if raw == b"null" {
        return None;
    }
    if raw.len() >= 2 && raw[0] == b'"' {
        let inner = &raw[1..raw.len() - 1];
        if !inner.contains(&b'\\') {
            return Some(Cow::Borrowed(inner));
        }
        return serde_json::from_slice::<String>(raw)
            .ok()
            .map(|s| Cow::Owned(s.into_bytes()));
    }
    Some(Cow::Borrowed(raw))
}

/// Validates `element` as JSON and returns the value of its top-level field `field` as
/// key bytes: a string's unescaped content, any other value's JSON text. `Ok(None)` when
/// the element is not an object, lacks the field, or the field is `null`.
///
/// With `field == None` the element is only validated.
///
/// # Errors
/// The element is not valid JSON: the message is serde_json's (with the line and column
/// in `element`).
///
/// ```
/// use kafka_io::json::extract_key;
/// let k = extract_key(br#"{"a":1,"user_exam_id":"u-1"}"#, Some("user_exam_id")).unwrap();
/// assert_eq!(k.as_deref(), Some(&b"u-1"[..]));
/// assert!(extract_key(br#"{"a":tru}"#, None).is_err());
/// ```
pub fn extract_key<'a>(
    element: &'a [u8],
    field: Option<&str>,
) -> std::result::Result<Option<Cow<'a, [u8]>>, String> {
    let mut de = serde_json::Deserializer::from_slice(element);
    let raw = KeySeed { field }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if !inner.contains('\\') {
            return Ok(Some(Cow::Borrowed(inner.as_bytes())));
        }
        let s: String = serde_json::from_str(text).map_err(|e| e.to_string())?;
        return Ok(Some(Cow::Owned(s.into_bytes())));
    }
    Ok(Some(Cow::Borrowed(text.as_bytes())))
}

struct KeySeed<'f> {
    field: Option<&'f str>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(KeyVisitor { field: self.field })
    }
}

struct KeyVisitor<'f> {
    field: Option<&'f str>,
}

macro_rules! scalar_none {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E: serde::de::Error>(self, _v: $t) -> std::result::Result<Self::Value, E> {
            Ok(None)
        })*
    };
}

impl<'de> Visitor<'de> for KeyVisitor<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    scalar_none!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut found: Option<&'de RawValue> = None;
        while let Some(is_key) = map.next_key_seed(FieldIs { field: self.field })? {
            if is_key && found.is_none() {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Deserializes a map key, answering whether it equals the wanted field.
struct FieldIs<'f> {
    field: Option<&'f str>,
}

impl<'de> DeserializeSeed<'de> for FieldIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for FieldIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<bool, E> {
        Ok(self.field == Some(v))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_extraction() {
        let k = |e: &[u8]| extract_key(e, Some("k")).map(|o| o.map(|c| c.into_owned()));
        assert_eq!(
            k(br#"{"k":"a\"b","x":{"k":1}}"#).unwrap(),
            Some(b"a\"b".to_vec())
        );
        assert_eq!(
            k(br#"{"x":{"k":1},"k":12.50}"#).unwrap(),
            Some(b"12.50".to_vec())
        );
        assert_eq!(k(br#"{"x":1}"#).unwrap(), None);
        assert_eq!(k(br#"{"k":null}"#).unwrap(), None);
        assert_eq!(k(br#"[1,2]"#).unwrap(), None);
        assert!(k(br#"{"k":1,}"#).is_err());
        assert!(k(br#"{"k":01}"#).is_err());
        assert!(k(br#"{"k":"\x"}"#).is_err());
    }

    #[test]
    fn keys_of_values() {
        let k = |v: &[u8]| key_of_value(v).map(Cow::into_owned);
        assert_eq!(k(br#""a\"b""#), Some(b"a\"b".to_vec()));
        assert_eq!(k(br#""ab""#), Some(b"ab".to_vec()));
        assert_eq!(k(b"12.5"), Some(b"12.5".to_vec()));
        assert_eq!(k(b"null"), None);
    }
}
