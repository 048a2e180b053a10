//! [`ServerReply`]: one reply as the server sent it, its raw lines kept beside what
//! smtp-proto's decoder makes of them; and the tolerant framing that finds where a
//! reply ends in whatever a server sends.

use bytes::BytesMut;
use smtp_proto::{Reply, ReplyDecoder};
use std::fmt;

/// One reply: its lines exactly as received, the code of its first line, and the
/// [`Reply`] smtp-proto's strict decoder makes of it when it can.
///
/// A reply ends at the first line whose fourth octet is not `-` (RFC 5321 §4.2.1:
/// `Reply-code [ SP textstring ] CRLF` ends a reply, `Reply-code "-" ...` continues
/// it). Lines end at LF, with or without the CR RFC 5321 §2.3.8 requires, so a server
/// that sends bare LFs is still understood (and [`is_strict`](Self::is_strict) says
/// it did not conform); a line too short to carry a code ends its reply too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    lines: Vec<Vec<u8>>,
    code: Option<u16>,
    parsed: Option<Reply>,
}

impl ServerReply {
    /// A reply from its raw lines (each with its line ending).
    pub(crate) fn from_lines(lines: Vec<Vec<u8>>) -> Self {
        let code = lines.first().and_then(|l| code_of(l));
        let raw: Vec<u8> = lines.concat();
        let mut buf = BytesMut::from(&raw[..]);
        let limits = smtp_proto::client::ClientOptions::DEFAULT_LIMITS;
        let parsed = match ReplyDecoder::new(limits).decode(&mut buf) {
            Ok(Some(reply)) if buf.is_empty() => Some(reply),
            _ => None,
        };
        Self {
            lines,
            code,
            parsed,
        }
    }

    /// The raw lines, each with the line ending it came with.
    pub fn lines(&self) -> &[Vec<u8>] {
        &self.lines
    }

    /// All the bytes of the reply.
    pub fn raw(&self) -> Vec<u8> {
        self.lines.concat()
    }

    /// The three-digit code of the first line (`None`: it has none).
    pub fn code(&self) -> Option<u16> {
        self.code
    }

    /// What smtp-proto's reply decoder made of it: `None` when the reply breaks RFC
    /// 5321 §4.2 (bare LF, no code, mixed codes, text it does not allow).
    pub fn reply(&self) -> Option<&Reply> {
        self.parsed.as_ref()
    }

    /// Whether the reply is well-formed (smtp-proto's strict decoder took it).
    pub fn is_strict(&self) -> bool {
        self.parsed.is_some()
    }

    /// Whether the code is exactly `code`.
    pub fn is(&self, code: u16) -> bool {
        self.code == Some(code)
    }

    /// A 2yz reply (positive completion).
    pub fn is_positive(&self) -> bool {
        matches!(self.code, Some(200..=299))
    }

    /// A 3yz reply (positive intermediate: 354 after DATA, 334 in AUTH).
    pub fn is_intermediate(&self) -> bool {
        matches!(self.code, Some(300..=399))
    }

    /// A 4yz or 5yz reply, or one without a code.
    pub fn is_negative(&self) -> bool {
        !self.is_positive() && !self.is_intermediate()
    }

    /// The text of every line after its code and separator, lossily decoded and
    /// without line endings.
    pub fn texts(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| {
                let l = trim_eol(l);
                String::from_utf8_lossy(l.get(4..).unwrap_or_default()).into_owned()
            })
            .collect()
    }

    /// The first line without its line ending, control characters replaced by `?` and
    /// cut to 200 characters: for one-line summaries.
    pub fn summary(&self) -> String {
        let first = self.lines.first().map(|l| trim_eol(l)).unwrap_or_default();
        let mut s: String = String::from_utf8_lossy(first)
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .take(200)
            .collect();
        if self.lines.len() > 1 {
            s.push_str(&format!(" (+{} lines)", self.lines.len() - 1));
        }
        s
    }

    /// The EHLO keywords of this reply (every line after the first, its first word in
    /// upper case), with their parameters: `("AUTH", ["PLAIN", "LOGIN"])`. The old
    /// `AUTH=PLAIN LOGIN` form counts as `AUTH`.
    pub fn ehlo_keywords(&self) -> Vec<(String, Vec<String>)> {
        self.texts()
            .iter()
            .skip(1)
            .filter_map(|t| {
                let mut words = t.split_whitespace();
                let first = words.next()?.to_ascii_uppercase();
                let mut params: Vec<String> = words.map(str::to_ascii_uppercase).collect();
                match first.strip_prefix("AUTH=") {
                    Some(m) => {
                        params.insert(0, m.to_owned());
                        Some(("AUTH".to_owned(), params))
                    }
                    None => Some((first, params)),
                }
            })
            .collect()
    }

    /// Whether this (EHLO) reply offers the extension `keyword`.
    pub fn offers(&self, keyword: &str) -> bool {
        self.ehlo_keywords()
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(keyword))
    }

    /// The SASL mechanisms this (EHLO) reply offers in its `AUTH` lines.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, params) in self.ehlo_keywords() {
            if k == "AUTH" {
                for p in params {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }
}

/// Each line, without its line ending, control characters replaced by `?`.
impl fmt::Display for ServerReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let text: String = String::from_utf8_lossy(trim_eol(l))
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            f.write_str(&text)?;
        }
        Ok(())
    }
}

/// `line` without its trailing LF and the CR before it.
fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The three-digit code at the start of a line.
fn code_of(line: &[u8]) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Where the first reply in a buffer ends.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A whole reply: its lines are these ranges of the buffer, ending at the last
    /// range's end.
    Whole(Vec<std::ops::Range<usize>>),
    /// More bytes are needed.
    Partial,
    /// A limit was broken (why, in words).
    TooLarge(String),
}

/// Finds the first reply at the front of `buf`, lines up to `max_line` octets (line
/// ending included) and at most `max_lines` of them.
pub(crate) fn frame(buf: &[u8], max_line: usize, max_lines: usize) -> Framing {
    let mut lines = Vec::new();
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        let Some(i) = rest.iter().position(|&b| b == b'\n') else {
            if rest.len() > max_line {
                return Framing::TooLarge(format!("a reply line over {max_line} octets"));
            }
            return Framing::Partial;
        };
        if i + 1 > max_line {
            return Framing::TooLarge(format!("a reply line over {max_line} octets"));
        }
        let line = &rest[..=i];
        lines.push(at..at + i + 1);
        at += i + 1;
        if line.get(3) != Some(&b'-') {
            return Framing::Whole(lines);
        }
        if lines.len() >= max_lines {
            return Framing::TooLarge(format!("a reply of more than {max_lines} lines"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(raw: &[u8]) -> ServerReply {
        match frame(raw, 512, 10) {
            Framing::Whole(r) => {
                ServerReply::from_lines(r.into_iter().map(|r| raw[r].to_vec()).collect())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn framing() {
        assert_eq!(frame(b"250-a\r\n250 b", 512, 10), Framing::Partial);
        assert_eq!(
            frame(b"250-a\r\n250 b\r\nX", 512, 10),
            Framing::Whole(vec![0..7, 7..14])
        );
        let one = |buf: &[u8], end| match frame(buf, 512, 10) {
            Framing::Whole(r) => r.len() == 1 && r[0] == (0..end),
            _ => false,
        };
        assert!(one(b"250\n", 4));
        assert!(one(b"x\n", 2));
        assert!(matches!(frame(&[b'2'; 600], 512, 10), Framing::TooLarge(_)));
        assert!(matches!(
            frame(&b"250-a\r\n".repeat(11), 512, 10),
            Framing::TooLarge(_)
        ));
    }

    #[test]
    fn replies_strict_and_not() {
        let r =
            reply(b"250-mx.test\r\n250-PIPELINING\r\n250-AUTH=LOGIN\r\n250 AUTH plain LOGIN\r\n");
        assert!(r.is_strict() && r.is_positive() && r.offers("pipelining"));
        assert_eq!(r.auth_mechanisms(), ["LOGIN", "PLAIN"]);
        assert_eq!(r.summary(), "250-mx.test (+3 lines)");
        let bare = reply(b"354 go\n");
        assert!(!bare.is_strict() && bare.is_intermediate() && bare.is(354));
        let junk = reply(b"\x01\xff\n");
        assert_eq!(junk.code(), None);
        assert!(junk.is_negative());
        assert_eq!(junk.summary(), "?\u{fffd}");
    }
}
