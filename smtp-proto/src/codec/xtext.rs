//! xtext (RFC 3461 §4; RFC 4954 §8 for `AUTH=`).
//!
//! ```text
//! xtext   = *( xchar / hexchar )
//! xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except "+" and "="
//! hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
//! ```
//!
//! Decoding accepts lower-case hex as well: RFC 4954 §8 writes `hexchar = "+" HEXDIG
//! HEXDIG`, and ABNF's HEXDIG is case-insensitive (RFC 5234 §2.3). Encoding always emits
//! upper case.

use crate::types::str::class;
use bytes::{BufMut, BytesMut};
use std::borrow::Cow;

/// Decodes xtext. `None` if a `+` is not followed by two hex digits or a byte is not an
/// xchar. Borrowed when there is nothing to decode.
pub(crate) fn decode(s: &[u8]) -> Option<Cow<'_, [u8]>> {
    decode_with(s, false)
}

/// Decodes xtext that may also carry raw UTF-8 (RFC 6533 `utf-8-addr-unitext`, allowed
/// in ORCPT under SMTPUTF8).
pub(crate) fn decode_utf8(s: &[u8]) -> Option<Cow<'_, [u8]>> {
    decode_with(s, true)
}

fn decode_with(s: &[u8], utf8: bool) -> Option<Cow<'_, [u8]>> {
    let ok = |b: u8| class::XCHAR[b as usize] || (utf8 && b >= 0x80);
    if s.iter().any(|&b| !ok(b) && b != b'+') {
        return None;
    }
    if !s.contains(&b'+') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                let hi = hex(*s.get(i + 1)?)?;
                let lo = hex(*s.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b if ok(b) => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    Some(Cow::Owned(out))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Appends `s` as xtext.
pub(crate) fn encode(s: &[u8], out: &mut BytesMut) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s {
        if class::XCHAR[b as usize] {
            out.put_u8(b);
        } else {
            out.put_slice(&[b'+', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

/// The length of `s` once encoded.
pub(crate) fn encoded_len(s: &[u8]) -> usize {
    s.iter()
        .map(|&b| if class::XCHAR[b as usize] { 1 } else { 3 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // RFC 3461 §4.2 example: ORCPT=rfc822;Bob+20Smith@example.com
        assert_eq!(
            &*decode(b"Bob+20Smith@example.com").unwrap(),
            b"Bob Smith@example.com"
        );
        assert_eq!(&*decode(b"a+2Bb").unwrap(), b"a+b");
        assert_eq!(&*decode(b"a+2bb").unwrap(), b"a+b");
        assert!(decode(b"a+2").is_none());
        assert!(decode(b"a+ZZ").is_none());
        assert!(decode(b"a=b").is_none());
        let mut out = BytesMut::new();
        encode(b"a+b=c d", &mut out);
        assert_eq!(&out[..], b"a+2Bb+3Dc+20d");
        assert_eq!(encoded_len(b"a+b=c d"), out.len());
    }
}
