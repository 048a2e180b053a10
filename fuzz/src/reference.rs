//! Reference body decoders for the differential targets: one byte at a time, written
//! from the RFC text and the documented `BareLineEndings` policies, with no lookahead
//! buffer and no fast path. They are slow and obvious on purpose.
//!
//! RFC 5321 §4.5.2 (transparency), receiver side:
//!
//! > When a line of mail text is received by the SMTP server, it checks the line. If the
//! > line is composed of a single period, it is treated as the end of mail indicator. If
//! > the first character is a period and there are other characters on the line, the
//! > first character is deleted.
//!
//! RFC 5321 §4.1.1.4: the mail data "is terminated by a line containing only a period,
//! that is, the character sequence `<CRLF>.<CRLF>`, where the first `<CRLF>` is actually
//! the terminator of the previous line". At the very start of the body the previous line
//! is the `DATA` command line, so `.<CRLF>` there ends an empty message.
//!
//! Lines end only at CRLF (RFC 5321 §2.3.8). A bare CR or bare LF never ends a line: it
//! neither ends the data nor makes a following dot a stuffed one. What happens to it is
//! the library's policy (`smtp-proto/src/framing/data.rs`):
//!
//! - `Reject`: the byte is delivered as it came, and the first such byte is the defect
//!   (`BareCr` for a CR not followed by LF, `BareLf` for an LF not preceded by CR). It is
//!   reported once everything before it has been delivered: the output offset of the
//!   defect is part of what is compared.
//! - `Normalize`: the byte is delivered as CRLF; no defect.
//!
//! A CR is only classified once the next byte is known, so both decoders hold a final CR
//! back; a dot at a line start is held until the next byte (or two) shows whether the
//! line is the terminator.

use smtp_proto::{BareLineEndings, BodyDefect};

/// Where the reference DATA decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dot {
    /// At the start of a line (after a CRLF): a dot here is special.
    LineStart,
    /// A dot at the start of a line was read.
    Dot,
    /// A dot and then a CR at the start of a line were read.
    DotCr,
    /// Inside a line.
    Mid,
    /// Inside a line, after a CR whose next byte is not known yet.
    Cr,
    /// The terminator was read.
    Ended,
}

/// The reference DATA decoder (dot-unstuffing, end of data, bare CR/LF policy).
#[derive(Debug, Clone)]
pub struct RefDot {
    policy: BareLineEndings,
    state: Dot,
    /// Content delivered so far.
    pub out: Vec<u8>,
    /// The first defect under `Reject`, with the output offset of the offending byte.
    pub defect: Option<(BodyDefect, usize)>,
    /// Input bytes consumed, the terminator included once it was read.
    pub consumed: usize,
}

impl RefDot {
    /// A decoder at the start of a body; `mid_line` when the `DATA` line ended in a bare
    /// LF (so the body does not start a line).
    pub fn new(policy: BareLineEndings, mid_line: bool) -> Self {
        Self {
            policy,
            state: if mid_line { Dot::Mid } else { Dot::LineStart },
            out: Vec::new(),
            defect: None,
            consumed: 0,
        }
    }

    /// Whether the terminator has been read.
    pub fn ended(&self) -> bool {
        self.state == Dot::Ended
    }

    /// Reads `bytes` up to the terminator; the rest is not consumed.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.ended() {
                return;
            }
            self.consumed += 1;
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        match self.state {
            Dot::LineStart if b == b'.' => self.state = Dot::Dot,
            Dot::LineStart | Dot::Mid => self.mid(b),
            Dot::Dot if b == b'\r' => self.state = Dot::DotCr,
            // "other characters on the line": the dot is deleted.
            Dot::Dot => self.mid(b),
            Dot::DotCr if b == b'\n' => self.state = Dot::Ended,
            // ".<CR>x": not the terminator; the dot is deleted and the CR is bare.
            Dot::DotCr => self.cr_then(b),
            Dot::Cr => self.cr_then(b),
            Dot::Ended => unreachable!(),
        }
    }

    /// A byte inside a line.
    fn mid(&mut self, b: u8) {
        match b {
            b'\r' => self.state = Dot::Cr,
            b'\n' => {
                self.bare(BodyDefect::BareLf, b'\n');
                self.state = Dot::Mid;
            }
            _ => {
                self.out.push(b);
                self.state = Dot::Mid;
            }
        }
    }

    /// The byte after a CR.
    fn cr_then(&mut self, b: u8) {
        if b == b'\n' {
            self.out.extend_from_slice(b"\r\n");
            self.state = Dot::LineStart;
        } else {
            self.bare(BodyDefect::BareCr, b'\r');
            self.mid(b);
        }
    }

    fn bare(&mut self, what: BodyDefect, byte: u8) {
        match self.policy {
            BareLineEndings::Normalize => self.out.extend_from_slice(b"\r\n"),
            _ => {
                if self.defect.is_none() {
                    self.defect = Some((what, self.out.len()));
                }
                self.out.push(byte);
            }
        }
    }
}

/// The reference BDAT decoder (RFC 3030): chunks of exactly their declared size, no
/// unstuffing and no terminator; line endings checked across chunk boundaries unless
/// the body is binary (`policy` `None`, `BODY=BINARYMIME`), with the same bare CR/LF
/// policies as DATA. A CR that ends the last chunk is bare.
#[derive(Debug, Clone)]
pub struct RefChunks {
    policy: Option<BareLineEndings>,
    /// The last content byte was a CR whose next byte is not known yet.
    cr: bool,
    /// Content delivered so far (a pending CR not included).
    pub out: Vec<u8>,
    /// The first defect under `Reject`.
    pub defect: Option<BodyDefect>,
}

impl RefChunks {
    /// A decoder for one message.
    pub fn new(policy: Option<BareLineEndings>) -> Self {
        Self {
            policy,
            cr: false,
            out: Vec::new(),
            defect: None,
        }
    }

    /// Reads content bytes (chunk boundaries do not matter).
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.policy.is_none() {
                self.out.push(b);
                continue;
            }
            if std::mem::take(&mut self.cr) {
                if b == b'\n' {
                    self.out.extend_from_slice(b"\r\n");
                    continue;
                }
                self.bare(BodyDefect::BareCr, b'\r');
            }
            match b {
                b'\r' => self.cr = true,
                b'\n' => self.bare(BodyDefect::BareLf, b'\n'),
                _ => self.out.push(b),
            }
        }
    }

    /// Whether the last byte fed was a CR whose fate is not known yet.
    pub fn pending_cr(&self) -> bool {
        self.cr
    }

    /// The end of the message: a pending CR is bare.
    pub fn finish(&mut self) {
        if std::mem::take(&mut self.cr) {
            self.bare(BodyDefect::BareCr, b'\r');
        }
    }

    fn bare(&mut self, what: BodyDefect, byte: u8) {
        match self.policy {
            Some(BareLineEndings::Normalize) => self.out.extend_from_slice(b"\r\n"),
            _ => {
                self.defect.get_or_insert(what);
                self.out.push(byte);
            }
        }
    }
}

/// `body` with every bare CR and bare LF replaced by CRLF: what the client's encoder
/// documents it sends (`smtp_proto::framing::stuff`), before dot-stuffing.
pub fn crlf_normalised(body: &[u8]) -> Vec<u8> {
    let mut r = RefChunks::new(Some(BareLineEndings::Normalize));
    r.feed(body);
    r.finish();
    r.out
}
