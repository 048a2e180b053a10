//! Message body framing: `DATA` (dot-stuffed, RFC 5321 §4.5.2) and `BDAT` chunks
//! (counted, RFC 3030), both validating every line ending as it streams.
//!
//! RFC 5321 §4.1.1.4: "the mail data is terminated by a line containing only a period,
//! that is, the character sequence "\<CRLF>.\<CRLF>"". Only that sequence ends a message.
//! `<LF>.<LF>`, `<LF>.<CRLF>`, `<CR>.<CR>` and `<CRLF>.<LF>` never do: a server that
//! took any of them as the end while a relay in front of it did not would let a sender
//! smuggle a second message (SMTP smuggling, CVE-2023-51764 class). A bare CR or LF in
//! the body is a [`BodyDefect`] under [`BareLineEndings::Reject`] (the default), or
//! becomes CRLF under [`BareLineEndings::Normalize`]; in neither case does it end a line
//! for the purpose of finding the end of data or removing a leading dot.
//!
//! Chunks are slices of the receive buffer (`Bytes` sharing its memory): nothing is
//! copied, and the only per-line work is one `memchr2` hit per CR and LF.

use bytes::{Buf, Bytes, BytesMut};

/// What a bare CR or LF in a message body does.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BareLineEndings {
    /// The message is refused after its end (`550 5.5.2`); the stream stays in sync.
    /// The default (RFC 5321 §2.3.8: CR and LF "MUST NOT" appear other than as CRLF).
    #[default]
    Reject,
    /// A bare LF or bare CR is delivered as CRLF.
    ///
    /// Background: some old clients and scripts send LF-only bodies. Normalising them
    /// delivers their mail with valid line endings. It never changes where a message
    /// ends: only `<CRLF>.<CRLF>` ends it, and a dot after a bare line ending is content.
    Normalize,
}

/// A body defect found while streaming.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyDefect {
    /// An LF not preceded by CR.
    BareLf,
    /// A CR not followed by LF.
    BareCr,
}

/// One step of body decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyStep {
    /// Message content (dot-unstuffed), a slice of the input or an inserted CRLF.
    Chunk(Bytes),
    /// The end: `<CRLF>.<CRLF>` for DATA (consumed, not part of the content), or the
    /// declared size reached for a BDAT chunk.
    End,
    /// Every buffered byte is used; feed more.
    NeedInput,
}

/// Bytes checked at once by [`block_is_plain`] before falling back to visiting each CR
/// and LF.
const BLOCK: usize = 256;

/// Whether `buf[from..to]` needs no attention: every CR is followed by LF, every LF
/// follows a CR, and no line starts with a dot. One branch-free pass the compiler
/// vectorises; blocks that fail it are visited CR by CR and LF by LF.
fn block_is_plain(buf: &[u8], from: usize, to: usize) -> bool {
    if from == 0 && buf.first() == Some(&b'\n') {
        return false;
    }
    let from = from.max(1);
    if from >= to {
        return true;
    }
    let (prev, cur) = (&buf[from - 1..to - 1], &buf[from..to]);
    let odd = |a: u8, b: u8| {
        (u8::from(b == b'\n') ^ u8::from(a == b'\r')) | (u8::from(a == b'\n') & u8::from(b == b'.'))
    };
    // Lane-wise accumulation, reduced once at the end: the loop compiles to plain
    // vector compares with no per-iteration horizontal step.
    let mut lanes = [0u8; 32];
    let (p32, c32) = (prev.chunks_exact(32), cur.chunks_exact(32));
    let (pr, cr) = (p32.remainder(), c32.remainder());
    for (p, c) in p32.zip(c32) {
        for k in 0..32 {
            lanes[k] |= odd(p[k], c[k]);
        }
    }
    let mut acc = lanes.iter().fold(0, |x, &y| x | y);
    for (&a, &b) in pr.iter().zip(cr) {
        acc |= odd(a, b);
    }
    acc == 0
}

/// Where the next unread byte stands in a line, for the decoders' one-step lookahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    /// Deliver these bytes before anything else (normalised line ending).
    Insert(&'static [u8]),
}

/// The `DATA` body decoder: dot-unstuffing and the end-of-data line.
#[derive(Debug, Clone)]
pub struct DotDecoder {
    line_start: bool,
    pending: Pending,
    policy: BareLineEndings,
    defect: Option<BodyDefect>,
}

impl DotDecoder {
    /// A decoder at the start of a message body (just after the 354 reply).
    pub fn new(policy: BareLineEndings) -> Self {
        Self {
            line_start: true,
            pending: Pending::None,
            policy,
            defect: None,
        }
    }

    /// A decoder for a body whose `DATA` line ended in a bare LF (possible only under
    /// [`crate::LineEndings::AllowBareLf`]): the body does not start at a line start for
    /// framing purposes, so `<LF>.<CRLF>` cannot end it.
    pub fn new_mid_line(policy: BareLineEndings) -> Self {
        Self {
            line_start: false,
            ..Self::new(policy)
        }
    }

    /// The first bare CR or LF seen under [`BareLineEndings::Reject`].
    pub fn defect(&self) -> Option<BodyDefect> {
        self.defect
    }

    /// Takes the next piece of the body off the front of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> BodyStep {
        if let Pending::Insert(b) = std::mem::replace(&mut self.pending, Pending::None) {
            return BodyStep::Chunk(Bytes::from_static(b));
        }
        if self.line_start {
            match buf.first() {
                None => return BodyStep::NeedInput,
                Some(b'.') => match (buf.get(1), buf.get(2)) {
                    (None, _) | (Some(b'\r'), None) => return BodyStep::NeedInput,
                    (Some(b'\r'), Some(b'\n')) => {
                        buf.advance(3);
                        return BodyStep::End;
                    }
                    // RFC 5321 §4.5.2: "If the first character is a period and there are
                    // other characters on the line, the first character is deleted."
                    _ => buf.advance(1),
                },
                Some(_) => {}
            }
            self.line_start = false;
        }
        // (emit this many bytes, then skip this many, then insert CRLF?)
        let len = buf.len();
        if len == 0 {
            return BodyStep::NeedInput;
        }
        let mut p = 0;
        let cut = loop {
            if p >= len {
                // Only blocks found clean in bulk get here with work left: hold back a
                // final CR, and note a line start after a final CRLF.
                break if buf[len - 1] == b'\r' {
                    (len - 1, 0, false)
                } else {
                    self.line_start = buf.ends_with(b"\r\n");
                    (len, 0, false)
                };
            }
            let end = (p + BLOCK).min(len);
            if block_is_plain(buf, p, end) {
                p = end;
                continue;
            }
            // Something to look at in this block: visit its CRs and LFs (from two bytes
            // back, so a CRLF "." straddling the block edge is seen).
            if let Some(c) = self.scan(buf, p.saturating_sub(2), end) {
                break c;
            }
            p = end;
        };
        let (emit, skip, insert) = cut;
        if insert {
            self.pending = Pending::Insert(b"\r\n");
        }
        if emit == 0 {
            buf.advance(skip);
            return match self.pending {
                Pending::Insert(_) => self.decode(buf),
                Pending::None if self.line_start => self.decode(buf),
                Pending::None => BodyStep::NeedInput,
            };
        }
        let chunk = buf.split_to(emit).freeze();
        buf.advance(skip);
        BodyStep::Chunk(chunk)
    }

    /// Visits the CRs and LFs of `buf[from..to]`; returns where to cut, if anywhere.
    fn scan(&mut self, buf: &[u8], from: usize, to: usize) -> Option<(usize, usize, bool)> {
        for j in memchr::memchr2_iter(b'\r', b'\n', &buf[from..to]) {
            let j = from + j;
            if buf[j] == b'\r' {
                match buf.get(j + 1) {
                    // Keep a final CR: whether it is a line end depends on the next byte.
                    None => return Some((j, 0, false)),
                    Some(b'\n') => match buf.get(j + 2) {
                        // A line starts: stop so the next call can look for a dot.
                        None | Some(b'.') => {
                            self.line_start = true;
                            return Some((j + 2, 0, false));
                        }
                        Some(_) => {}
                    },
                    Some(_) => {
                        if let Some(c) = self.bare(j, BodyDefect::BareCr) {
                            return Some(c);
                        }
                    }
                }
            } else if j == 0 || buf[j - 1] != b'\r' {
                if let Some(c) = self.bare(j, BodyDefect::BareLf) {
                    return Some(c);
                }
            }
        }
        None
    }

    /// A bare CR or LF at `j`: under `Reject` remember it and go on; under `Normalize`
    /// cut there, drop it, and insert CRLF.
    ///
    /// Under `Reject` the content before the first defect goes out first (a cut at it),
    /// and the defect is recorded when it stands at the front: so what is delivered
    /// before the defect does not depend on how the input was split.
    fn bare(&mut self, j: usize, what: BodyDefect) -> Option<(usize, usize, bool)> {
        match self.policy {
            BareLineEndings::Reject if j > 0 && self.defect.is_none() => Some((j, 0, false)),
            BareLineEndings::Reject => {
                self.defect.get_or_insert(what);
                None
            }
            BareLineEndings::Normalize => Some((j, 1, true)),
        }
    }
}

/// The `BDAT` chunk decoder: exactly `size` octets, line endings checked across chunk
/// boundaries (a CRLF may be split between two chunks), or not at all for BINARYMIME.
#[derive(Debug, Clone)]
pub struct ChunkDecoder {
    remaining: u64,
    /// The content byte just before the next unread one was a CR.
    prev_cr: bool,
    pending: Pending,
    /// `None`: binary content (RFC 3030 BINARYMIME), nothing is checked.
    policy: Option<BareLineEndings>,
    defect: Option<BodyDefect>,
}

impl ChunkDecoder {
    /// A decoder for one message; `policy` `None` for `BODY=BINARYMIME`.
    pub fn new(policy: Option<BareLineEndings>) -> Self {
        Self {
            remaining: 0,
            prev_cr: false,
            pending: Pending::None,
            policy,
            defect: None,
        }
    }

    /// Starts the next chunk of `size` octets.
    pub fn start_chunk(&mut self, size: u64) {
        self.remaining = size;
    }

    /// Octets of the current chunk not yet taken.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The first bare CR or LF seen under [`BareLineEndings::Reject`].
    pub fn defect(&self) -> Option<BodyDefect> {
        self.defect
    }

    /// Takes the next piece of the current chunk; [`BodyStep::End`] once it is complete.
    pub fn decode(&mut self, buf: &mut BytesMut) -> BodyStep {
        if let Pending::Insert(b) = std::mem::replace(&mut self.pending, Pending::None) {
            self.prev_cr = b == b"\r";
            return BodyStep::Chunk(Bytes::from_static(b));
        }
        if self.remaining == 0 {
            return BodyStep::End;
        }
        if buf.is_empty() {
            return BodyStep::NeedInput;
        }
        let n = usize::try_from(self.remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let mut emit = match self.policy {
            None => n,
            Some(policy) => self.scan(&buf[..n], policy),
        };
        // A CR at the end of what has arrived, inside the chunk, waits for the next byte
        // (as in DATA), so what goes out does not depend on how the input was split.
        if self.policy.is_some()
            && emit == n
            && (n as u64) < self.remaining
            && buf[n - 1] == b'\r'
            && self.pending == Pending::None
        {
            emit -= 1;
        }
        if emit == 0 {
            return match self.pending {
                Pending::Insert(_) => self.decode(buf),
                Pending::None => BodyStep::NeedInput,
            };
        }
        self.prev_cr = buf[emit - 1] == b'\r';
        self.remaining -= emit as u64;
        BodyStep::Chunk(buf.split_to(emit).freeze())
    }

    /// How much of `w` can go out now; sets `pending` for a normalised line ending.
    fn scan(&mut self, w: &[u8], policy: BareLineEndings) -> usize {
        let normalize = policy == BareLineEndings::Normalize;
        if self.prev_cr && w[0] != b'\n' {
            self.prev_cr = false;
            if normalize {
                self.pending = Pending::Insert(b"\n");
                return 0;
            }
            self.defect.get_or_insert(BodyDefect::BareCr);
        }
        for j in memchr::memchr2_iter(b'\r', b'\n', w) {
            if w[j] == b'\r' {
                match w.get(j + 1) {
                    None | Some(b'\n') => {}
                    Some(_) if normalize => {
                        self.pending = Pending::Insert(b"\n");
                        return j + 1;
                    }
                    // Reject: the content before the first defect goes out first.
                    Some(_) if j > 0 && self.defect.is_none() => return j,
                    Some(_) => {
                        self.defect.get_or_insert(BodyDefect::BareCr);
                    }
                }
            } else {
                let after_cr = if j == 0 {
                    self.prev_cr
                } else {
                    w[j - 1] == b'\r'
                };
                if !after_cr {
                    if normalize {
                        // The inserted CR goes out before this LF.
                        self.pending = Pending::Insert(b"\r");
                        return j;
                    }
                    if j > 0 && self.defect.is_none() {
                        return j;
                    }
                    self.defect.get_or_insert(BodyDefect::BareLf);
                }
            }
        }
        w.len()
    }

    /// Ends the message (after the `LAST` chunk): a final CR is a bare CR. Returns the
    /// LF to append under [`BareLineEndings::Normalize`].
    pub fn finish(&mut self) -> Option<Bytes> {
        let cr = std::mem::take(&mut self.prev_cr);
        match self.policy {
            Some(BareLineEndings::Normalize) if cr => Some(Bytes::from_static(b"\n")),
            Some(BareLineEndings::Reject) if cr => {
                self.defect.get_or_insert(BodyDefect::BareCr);
                None
            }
            _ => None,
        }
    }
}
