//! The client's body encoder: CRLF line endings everywhere, and for DATA a dot doubled
//! at the start of every line (RFC 5321 §4.5.2) and the `CRLF . CRLF` terminator.
//!
//! A lone LF or CR in what the application gives becomes CRLF (or is refused, by
//! option), so no `<LF>.<LF>` or other smuggling sequence can ever leave this client,
//! and a line that starts with a dot after such an ending is stuffed too.

use bytes::{BufMut, BytesMut};

/// What a bare CR or LF in a message given to the client does.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BareEndingsOut {
    /// Sent as CRLF. The default.
    #[default]
    Normalize,
    /// Refused with [`BareEnding`].
    Refuse,
}

/// A bare CR or LF was given under [`BareEndingsOut::Refuse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bare CR or LF in the message body")]
pub struct BareEnding;

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
        }
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

    /// Appends the wire form of `chunk` to `out`.
    pub fn encode(&mut self, chunk: &[u8], out: &mut BytesMut) -> Result<(), BareEnding> {
        if !self.eight_bit && !chunk.is_ascii() {
            self.eight_bit = true;
        }
        if self.raw {
            out.put_slice(chunk);
            return Ok(());
        }
        out.reserve(chunk.len() + 8);
        let mut i = 0;
        while i < chunk.len() {
            if self.cr {
                self.cr = false;
                if chunk[i] == b'\n' {
                    out.put_slice(b"\r\n");
                    i += 1;
                } else {
                    self.bare(out)?;
                }
                self.line_start = true;
                continue;
            }
            if self.line_start && self.stuff && chunk[i] == b'.' {
                out.put_u8(b'.');
            }
            self.line_start = false;
            let rest = &chunk[i..];
            match memchr::memchr2(b'\r', b'\n', rest) {
                None => {
                    out.put_slice(rest);
                    return Ok(());
                }
                Some(j) => {
                    out.put_slice(&rest[..j]);
                    i += j + 1;
                    if rest[j] == b'\r' {
                        self.cr = true;
                    } else {
                        self.bare(out)?;
                        self.line_start = true;
                    }
                }
            }
        }
        Ok(())
    }

    fn bare(&mut self, out: &mut BytesMut) -> Result<(), BareEnding> {
        match self.policy {
            BareEndingsOut::Normalize => {
                out.put_slice(b"\r\n");
                Ok(())
            }
            BareEndingsOut::Refuse => Err(BareEnding),
        }
    }

    /// Ends the body: a pending CR becomes CRLF, a last line without an ending gets
    /// CRLF, and for DATA the terminator `.CRLF` follows.
    pub fn finish(&mut self, out: &mut BytesMut) -> Result<(), BareEnding> {
        if self.raw {
            return Ok(());
        }
        if std::mem::take(&mut self.cr) {
            self.bare(out)?;
            self.line_start = true;
        }
        if self.stuff {
            if !self.line_start {
                out.put_slice(b"\r\n");
            }
            out.put_slice(b".\r\n");
        }
        self.line_start = true;
        Ok(())
    }
}
