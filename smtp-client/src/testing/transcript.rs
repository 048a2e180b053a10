//! [`Transcript`]: every write as sent and every reply as received, in order, with
//! the control characters made visible.

use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;

/// Who produced an [`Exchange`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Bytes the client wrote, as one write (`C:`).
    Sent,
    /// Bytes from the server: one reply, or what had arrived of one when a step ended
    /// (`S:`).
    Received,
    /// Something that happened on the connection: the TLS handshake, a close, a
    /// timeout (`--`).
    Note,
}

impl Direction {
    /// `sent`, `received` or `note` (the JSON name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Received => "received",
            Self::Note => "note",
        }
    }
}

/// One entry of a [`Transcript`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Who.
    pub direction: Direction,
    /// The bytes exactly as written or read (for a note: its text).
    pub data: Vec<u8>,
    /// Whether it went through TLS.
    pub tls: bool,
    /// Time since the connection was made.
    pub at: Duration,
}

/// What went over one connection, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    entries: Vec<Exchange>,
}

/// Lines longer than this (escaped) are shortened by [`Transcript`]'s `Display`.
const DISPLAY_LINE: usize = 160;

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[Exchange] {
        &self.entries
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds an entry.
    pub fn push(
        &mut self,
        direction: Direction,
        data: impl Into<Vec<u8>>,
        tls: bool,
        at: Duration,
    ) {
        self.entries.push(Exchange {
            direction,
            data: data.into(),
            tls,
            at,
        });
    }

    /// Everything the client sent, concatenated.
    pub fn sent(&self) -> Vec<u8> {
        self.joined(Direction::Sent)
    }

    /// Everything received from the server, concatenated.
    pub fn received(&self) -> Vec<u8> {
        self.joined(Direction::Received)
    }

    fn joined(&self, direction: Direction) -> Vec<u8> {
        self.entries
            .iter()
            .filter(|e| e.direction == direction)
            .flat_map(|e| e.data.iter().copied())
            .collect()
    }

    /// The first `head` and the last `tail` entries, with a note of how many were
    /// left out between them (the whole transcript when it is that short).
    pub fn excerpt(&self, head: usize, tail: usize) -> Transcript {
        let n = self.entries.len();
        if n <= head + tail {
            return self.clone();
        }
        let mut entries = self.entries[..head].to_vec();
        let skipped = n - head - tail;
        let last = &self.entries[n - tail];
        entries.push(Exchange {
            direction: Direction::Note,
            data: format!("... {skipped} entries left out ...").into_bytes(),
            tls: last.tls,
            at: last.at,
        });
        entries.extend_from_slice(&self.entries[n - tail..]);
        Transcript { entries }
    }

    /// The transcript as JSON: an array of `{"direction", "tls", "data"}` objects, the
    /// data escaped as [`escape`] does.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.entries
                .iter()
                .map(|e| {
                    json!({
                        "direction": e.direction.as_str(),
                        "tls": e.tls,
                        "data": escape(&e.data),
                    })
                })
                .collect(),
        )
    }
}

/// Bytes as printable text: `\r`, `\n`, `\t`, `\\` and `\xNN` for every other byte
/// outside printable ASCII, so that a bare LF or a NUL is plain to see.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// An escaped line cut to about [`DISPLAY_LINE`] characters, saying how much was left
/// out.
fn shorten(line: &str) -> String {
    if line.len() <= DISPLAY_LINE {
        return line.to_owned();
    }
    // The escaped text is ASCII: byte offsets are character offsets.
    let (head, tail) = (&line[..100], &line[line.len() - 40..]);
    format!("{head}...[{} characters]...{tail}", line.len() - 140)
}

/// `C: ` / `S: ` (`C~ ` / `S~ ` inside TLS) before each line, a line per LF, notes
/// after `-- `; control characters escaped, very long lines shortened.
impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            let prefix = match (e.direction, e.tls) {
                (Direction::Sent, false) => "C: ",
                (Direction::Sent, true) => "C~ ",
                (Direction::Received, false) => "S: ",
                (Direction::Received, true) => "S~ ",
                (Direction::Note, _) => "-- ",
            };
            if e.direction == Direction::Note {
                writeln!(f, "{prefix}{}", String::from_utf8_lossy(&e.data))?;
                continue;
            }
            if e.data.is_empty() {
                writeln!(f, "{prefix}(nothing)")?;
            }
            for line in e.data.split_inclusive(|&b| b == b'\n') {
                writeln!(f, "{prefix}{}", shorten(&escape(line)))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_lines() {
        assert_eq!(
            escape(b"NOOP\nX\r\n\0\\\xff"),
            "NOOP\\nX\\r\\n\\x00\\\\\\xff"
        );
        let mut t = Transcript::new();
        t.push(
            Direction::Sent,
            b"NOOP\nNOOP\r\n".to_vec(),
            false,
            Duration::ZERO,
        );
        t.push(
            Direction::Received,
            b"250 ok\r\n".to_vec(),
            true,
            Duration::ZERO,
        );
        t.push(Direction::Note, b"closed".to_vec(), true, Duration::ZERO);
        assert_eq!(
            t.to_string(),
            "C: NOOP\\n\nC: NOOP\\r\\n\nS~ 250 ok\\r\\n\n-- closed\n"
        );
        let long = format!("NOOP {}\r\n", "x".repeat(1000));
        assert!(shorten(&escape(long.as_bytes())).contains("characters]"));
    }

    #[test]
    fn excerpt_notes_what_it_leaves_out() {
        let mut t = Transcript::new();
        for i in 0..10 {
            t.push(
                Direction::Sent,
                format!("{i}").into_bytes(),
                false,
                Duration::ZERO,
            );
        }
        let e = t.excerpt(2, 3);
        assert_eq!(e.len(), 6);
        assert_eq!(e.entries()[2].data, b"... 5 entries left out ...");
        assert_eq!(t.excerpt(5, 5), t);
    }
}
