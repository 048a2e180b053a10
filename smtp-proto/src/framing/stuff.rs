//! The client's body encoder: CRLF line endings everywhere, and for DATA a dot doubled
//! at the start of every line (RFC 5321 §4.5.2) and the `CRLF . CRLF` terminator.
//!
//! A lone LF or CR in what the application gives becomes CRLF (or is refused, by
//! option), so no `<LF>.<LF>` or other smuggling sequence can ever leave this client,
//! and a line that starts with a dot after such an ending is stuffed too.
//!
//! With [`DotStuffer::with_line_limit`] no line longer than the limit leaves either
//! (RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including the `<CRLF>`
//! is 1000 octets (not counting the leading dot duplicated for transparency)"). The
//! limit is applied to the line as given, CRLF included; the dot that stuffing doubles
//! is not counted, as that section says.

use bytes::{BufMut, BytesMut};

/// What a bare CR or LF in a message given to the client does.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BareEndingsOut {
    /// Sent as CRLF. The default.
    #[default]
    Normalize,
    /// Refused with [`BodyError::BareEnding`].
    Refuse,
}

/// Why a body cannot be sent as given.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// A bare CR or LF under [`BareEndingsOut::Refuse`].
    #[error("bare CR or LF in the message body")]
    BareEnding,
    /// A line longer than the limit of [`DotStuffer::with_line_limit`] (CRLF included,
    /// a stuffed dot not).
    #[error("a line of the message body is longer than {limit} octets")]
    LineTooLong {
        /// The limit, in octets including CRLF.
        limit: usize,
    },
}

/// The size of `body` once every line ending is CRLF, as [`DotStuffer`] sends it, without
/// the dots stuffing adds: the message size RFC 1870 §4 asks a client to declare in
/// `SIZE=` ("including CR-LF pairs, but not the ... doubled quoting dots").
pub fn crlf_size(body: &[u8]) -> u64 {
    let mut extra = 0u64;
    // Each bare CR or bare LF becomes two octets.
    for i in memchr::memchr2_iter(b'\r', b'\n', body) {
        let paired = match body[i] {
            b'\n' => i > 0 && body[i - 1] == b'\r',
            _ => body.get(i + 1) == Some(&b'\n'),
        };
        if !paired {
            extra += 1;
        }
    }
    body.len() as u64 + extra
}

/// Streams a body into its wire form.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    line_start: bool,
    /// A CR ended the last input; its LF (or not) comes with the next.
    cr: bool,
    stuff: bool,
    /// Binary content (BDAT with `BODY=BINARYMIME`): sent byte for byte.
    raw: bool,
    policy: BareEndingsOut,
    eight_bit: bool,
    /// Longest line as sent, CRLF included (`None`: unlimited).
    max_line: Option<usize>,
    /// Octets of the current line so far (CRLF and a stuffed dot not counted).
    line_len: usize,
}

impl DotStuffer {
    /// An encoder for DATA (`stuff`: dot-stuffing and terminator) or for BDAT (line
    /// endings only).
    pub fn new(stuff: bool, policy: BareEndingsOut) -> Self {
        Self {
            line_start: true,
            cr: false,
            stuff,
            raw: false,
            policy,
            eight_bit: false,
            max_line: None,
            line_len: 0,
        }
    }

    /// Refuses lines longer than `limit` octets, CRLF included and a stuffed dot not
    /// (RFC 5321 §4.5.3.1.6; see the [module docs](self)). Lines are counted across calls of
    /// [`DotStuffer::encode`]. No effect on [`DotStuffer::raw`] (RFC 3030 §3: BINARYMIME
    /// content has no lines).
    pub fn with_line_limit(mut self, limit: usize) -> Self {
        self.max_line = Some(limit);
        self
    }

    /// Counts `n` more octets of the current line.
    fn grow(&mut self, n: usize) -> Result<(), BodyError> {
        self.line_len = self.line_len.saturating_add(n);
        match self.max_line {
            Some(limit) if self.line_len.saturating_add(2) > limit => {
                Err(BodyError::LineTooLong { limit })
            }
            _ => Ok(()),
        }
    }

    fn end_line(&mut self) {
        self.line_start = true;
        self.line_len = 0;
    }

    /// An encoder for binary content (RFC 3030 BINARYMIME over BDAT): nothing is
    /// changed.
    pub fn raw() -> Self {
        Self {
            raw: true,
            ..Self::new(false, BareEndingsOut::Normalize)
        }
    }

    /// Whether any byte above 0x7F was seen (the message needs 8BITMIME).
    pub fn saw_eight_bit(&self) -> bool {
        self.eight_bit
    }

    /// Appends the wire form of `chunk` to `out`. On an error, part of `chunk` may have
    /// been appended and the encoder is in an unspecified state: encode a clone to keep
    /// it as it was.
    pub fn encode(&mut self, chunk: &[u8], out: &mut BytesMut) -> Result<(), BodyError> {
        if !self.eight_bit && !chunk.is_ascii() {
            self.eight_bit = true;
        }
        if self.raw {
            out.put_slice(chunk);
            return Ok(());
        }
        if chunk.is_empty() {
            // Nothing to say yet about a CR held from the last chunk.
            return Ok(());
        }
        out.reserve(chunk.len() + 8);
        // Bytes that go out unchanged (lines ending in CRLF, not starting with a dot) are
        // only scanned, and copied in one piece from `run` when something must change
        // (a dot to double, a bare CR or LF) or at the end of `chunk`.
        let mut run = 0;
        let mut i = 0;
        if std::mem::take(&mut self.cr) {
            // The CR that ended the last chunk.
            if chunk.first() == Some(&b'\n') {
                out.put_slice(b"\r\n");
                run = 1;
                i = 1;
            } else {
                self.bare(out)?;
            }
            self.end_line();
        }
        while i < chunk.len() {
            if self.line_start && self.stuff && chunk[i] == b'.' {
                // Not counted (RFC 5321 §4.5.3.1.6).
                out.put_slice(&chunk[run..i]);
                out.put_u8(b'.');
                run = i;
            }
            self.line_start = false;
            let rest = &chunk[i..];
            let Some(j) = memchr::memchr2(b'\r', b'\n', rest) else {
                self.grow(rest.len())?;
                break;
            };
            self.grow(j)?;
            let at = i + j;
            if rest[j] == b'\r' {
                match rest.get(j + 1) {
                    Some(b'\n') => i = at + 2,
                    None => {
                        // Whether it ends a line depends on the next chunk: hold it.
                        out.put_slice(&chunk[run..at]);
                        self.cr = true;
                        return Ok(());
                    }
                    Some(_) => {
                        out.put_slice(&chunk[run..at]);
                        self.bare(out)?;
                        run = at + 1;
                        i = at + 1;
                    }
                }
            } else {
                // An LF not after a CR (a CR before it would have been found first).
                out.put_slice(&chunk[run..at]);
                self.bare(out)?;
                run = at + 1;
                i = at + 1;
            }
            self.end_line();
        }
        out.put_slice(&chunk[run..]);
        Ok(())
    }

    fn bare(&mut self, out: &mut BytesMut) -> Result<(), BodyError> {
        match self.policy {
            BareEndingsOut::Normalize => {
                out.put_slice(b"\r\n");
                Ok(())
            }
            BareEndingsOut::Refuse => Err(BodyError::BareEnding),
        }
    }

    /// Ends the body: a pending CR becomes CRLF, a last line without an ending gets
    /// CRLF, and for DATA the terminator `.CRLF` follows.
    pub fn finish(&mut self, out: &mut BytesMut) -> Result<(), BodyError> {
        if self.raw {
            return Ok(());
        }
        if std::mem::take(&mut self.cr) {
            self.bare(out)?;
            self.end_line();
        }
        if self.stuff {
            if !self.line_start {
                out.put_slice(b"\r\n");
            }
            out.put_slice(b".\r\n");
        }
        self.end_line();
        Ok(())
    }
}
