//! What a connection said and heard, line by line, as a test reads it.

use std::fmt;

/// Who a [`Line`] is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client's command (SASL responses redacted).
    Client,
    /// The server's reply line.
    Server,
    /// A note from the server: a TLS handshake, a fault that fired, body octets.
    Note,
}

/// One line of a [`Transcript`], without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Who sent it.
    pub side: Side,
    /// The text (invalid UTF-8 replaced; control characters but tabs shown as `\xNN`).
    pub text: String,
}

/// A session's transcript: commands, replies and notes, in order. Message bodies are
/// not kept here (only their size); [`Message::data`](super::Message::data) has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    lines: Vec<Line>,
}

/// Lines kept at most (an endless reply or a flood of commands stays bounded).
const MAX_LINES: usize = 10_000;

impl Transcript {
    /// The lines.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Whether a line of `side` contains `text` (ASCII case ignored).
    pub fn has(&self, side: Side, text: &str) -> bool {
        let text = text.to_ascii_lowercase();
        self.lines
            .iter()
            .any(|l| l.side == side && l.text.to_ascii_lowercase().contains(&text))
    }

    pub(crate) fn push(&mut self, side: Side, bytes: &[u8]) {
        if self.lines.len() >= MAX_LINES {
            return;
        }
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let mut text = String::with_capacity(bytes.len());
        for c in String::from_utf8_lossy(bytes).chars() {
            if c.is_control() && c != '\t' {
                text.push_str(&format!("\\x{:02X}", c as u32));
            } else {
                text.push(c);
            }
        }
        self.lines.push(Line { side, text });
    }

    /// Each line of `bytes` (a write of replies, a command).
    pub(crate) fn push_lines(&mut self, side: Side, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1);
            self.push(side, &rest[..end]);
            rest = &rest[end..];
        }
    }

    pub(crate) fn note(&mut self, text: impl Into<String>) {
        if self.lines.len() < MAX_LINES {
            self.lines.push(Line {
                side: Side::Note,
                text: text.into(),
            });
        }
    }
}

impl fmt::Display for Transcript {
    /// `C: EHLO client`, `S: 250-localhost`, `*: TLS …`, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            let who = match l.side {
                Side::Client => "C",
                Side::Server => "S",
                Side::Note => "*",
            };
            writeln!(f, "{who}: {}", l.text)?;
        }
        Ok(())
    }
}
