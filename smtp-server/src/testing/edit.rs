//! Reply rewrites the fault rules make: EHLO keywords left out, enhanced codes
//! stripped, malformed and endless replies.

use bytes::BytesMut;
use smtp_proto::{Encode, Limits, ReplyDecoder, decode_capabilities, encode_capabilities};

/// An EHLO reply without the extensions of `keywords` (case ignored): decoded and
/// encoded again by the core's capability codec, so the list stays well formed. Bytes
/// that are not one whole EHLO reply are left as they are.
pub(crate) fn without_keywords(reply: &[u8], keywords: &[String]) -> Vec<u8> {
    let mut buf = BytesMut::from(reply);
    let decoded = ReplyDecoder::new(Limits::default()).decode(&mut buf);
    let Some(mut caps) = decoded
        .ok()
        .flatten()
        .as_ref()
        .and_then(decode_capabilities)
    else {
        return reply.to_vec();
    };
    caps.extensions
        .retain(|e| !keywords.iter().any(|k| k.eq_ignore_ascii_case(e.keyword())));
    let mut out = encode_capabilities(&caps).to_bytes().to_vec();
    out.extend_from_slice(&buf);
    out
}

/// Each reply line without its enhanced status code (`250 2.1.0 Ok` → `250 Ok`).
pub(crate) fn without_enhanced_codes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for l in data.split_inclusive(|&b| b == b'\n') {
        let rest = l.get(4..).unwrap_or_default();
        let code_len = rest.iter().position(|&b| b == b' ').unwrap_or(0);
        let code = &rest[..code_len];
        let is_code = code.len() >= 5
            && code.split(|&b| b == b'.').count() == 3
            && code.iter().all(|&b| b.is_ascii_digit() || b == b'.');
        if is_code {
            out.extend_from_slice(&l[..4]);
            out.extend_from_slice(&rest[code_len + 1..]);
        } else {
            out.extend_from_slice(l);
        }
    }
    out
}

/// A reply whose last line carries another code (RFC 5321 §4.2.1 wants the same code
/// on every line of a reply).
pub(crate) fn malformed(data: &[u8]) -> Vec<u8> {
    let code = data.get(..3).unwrap_or(b"250");
    let other = if code == b"250" { b"521" } else { b"250" };
    let mut out = Vec::new();
    out.extend_from_slice(code);
    out.extend_from_slice(b"-This reply is malformed on purpose\r\n");
    out.extend_from_slice(other);
    out.extend_from_slice(b" and its last line has another code\r\n");
    out
}

/// A block of continuation lines of a reply that never ends.
pub(crate) fn endless_block(code: &[u8], from: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * 40);
    for i in from..from + 64 {
        out.extend_from_slice(code);
        out.extend_from_slice(format!("-endless reply line {i}\r\n").as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehlo_lines_are_left_out_and_marks_mended() {
        let r = b"250-localhost\r\n250-PIPELINING\r\n250-SIZE 10\r\n250 STARTTLS\r\n";
        let out = without_keywords(r, &["STARTTLS".into(), "size".into()]);
        assert_eq!(out, b"250-localhost\r\n250 PIPELINING\r\n");
    }

    #[test]
    fn enhanced_codes_are_stripped() {
        let out = without_enhanced_codes(b"250-2.1.0 Ok\r\n250 2.1.0 Fine\r\n354 Go on\r\n");
        assert_eq!(out, b"250-Ok\r\n250 Fine\r\n354 Go on\r\n");
    }
}
