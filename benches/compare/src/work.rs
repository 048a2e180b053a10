//! The work each implementation does, written once and used both by the acceptance
//! check and by the timed passes, so what is checked is what is timed.
//!
//! Input reaches every implementation the same way: each read is copied into the
//! buffer that implementation reads from (our `BytesMut`; for Stalwart a `Vec` it
//! iterates over), as a socket read into that buffer would. A one-line parser gets the
//! line in the form its API takes: ours and mailrs without the CRLF, Stalwart's with it
//! (its parser stops at the LF).

use bytes::BytesMut;
use mailrs_smtp_proto::parse_command;
use smtp_proto::{
    BareLineEndings, BodyStep, CommandDecoder, DotDecoder, ParseOptions, ReplyDecoder,
    decode_capabilities, decode_command,
};
use stalwart_smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use stalwart_smtp_proto::{EhloResponse, Request};
use std::hint::black_box;

/// Socket read size for the streamed work, (a) and (d).
pub const READ: usize = 16 << 10;

/// The implementations, in the order each round runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imp {
    /// This tree's `smtp-proto`.
    Ours,
    /// Stalwart's `smtp-proto` 0.2.
    Stalwart,
    /// `mailrs-smtp-proto` 1.2.
    Mailrs,
}

impl Imp {
    /// The name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Imp::Ours => "ours",
            Imp::Stalwart => "Stalwart",
            Imp::Mailrs => "mailrs",
        }
    }
}

/// Our parse options for the whole corpus: SMTPUTF8 on, as a server turns it on for a
/// transaction whose MAIL carried the parameter (its RCPTs may then be UTF-8).
pub fn options() -> ParseOptions {
    ParseOptions::default().with_smtputf8(true)
}

/// The line without its CRLF.
fn bare(line: &str) -> &str {
    line.strip_suffix("\r\n").unwrap_or(line)
}

/// (b) One complete command line (with CRLF), without framing. True when it parsed.
pub fn one_line(imp: Imp, line: &str, opts: &ParseOptions) -> bool {
    match imp {
        Imp::Ours => black_box(decode_command(bare(line).as_bytes(), opts)).is_ok(),
        Imp::Stalwart => black_box(Request::parse(&mut line.as_bytes().iter())).is_ok(),
        Imp::Mailrs => black_box(parse_command(bare(line))).is_ok(),
    }
}

/// (a) A stream of command lines through our `CommandDecoder`, in `READ`-byte reads.
/// Returns (commands, errors).
pub fn stream_ours(stream: &[u8], opts: ParseOptions, buf: &mut BytesMut) -> (usize, usize) {
    let mut decoder = CommandDecoder::default();
    decoder.options = opts;
    buf.clear();
    let (mut ok, mut err) = (0, 0);
    for read in stream.chunks(READ) {
        buf.extend_from_slice(read);
        loop {
            match decoder.decode(buf) {
                Ok(Some(cmd)) => {
                    black_box(cmd);
                    ok += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    black_box(e);
                    err += 1;
                }
            }
        }
    }
    (ok, err)
}

/// (a) The same stream through Stalwart's `RequestReceiver`.
pub fn stream_stalwart(stream: &[u8], buf: &mut Vec<u8>) -> (usize, usize) {
    let mut receiver = RequestReceiver::default();
    let (mut ok, mut err) = (0, 0);
    for read in stream.chunks(READ) {
        buf.clear();
        buf.extend_from_slice(read);
        let mut bytes = buf.iter();
        loop {
            match receiver.ingest(&mut bytes) {
                Ok(request) => {
                    black_box(request);
                    ok += 1;
                }
                Err(stalwart_smtp_proto::Error::NeedsMoreData { .. }) => break,
                Err(e) => {
                    black_box(e);
                    err += 1;
                }
            }
        }
    }
    (ok, err)
}

/// (c) Concatenated EHLO replies through our `ReplyDecoder` and `decode_capabilities`.
/// Returns how many replies gave capabilities, and how many did not.
pub fn ehlo_ours(replies: &[u8], buf: &mut BytesMut) -> (usize, usize) {
    let mut decoder = ReplyDecoder::default();
    buf.clear();
    buf.extend_from_slice(replies);
    let (mut ok, mut err) = (0, 0);
    loop {
        match decoder.decode(buf) {
            Ok(Some(reply)) => match decode_capabilities(&reply) {
                Some(caps) => {
                    black_box(caps);
                    ok += 1;
                }
                None => err += 1,
            },
            Ok(None) => break,
            // A reply decoder error is terminal: count the rest as lost.
            Err(_) => return (ok, err + 1),
        }
    }
    (ok, err)
}

/// (c) The same replies through Stalwart's `EhloResponse::parse`.
pub fn ehlo_stalwart(replies: &[u8], buf: &mut Vec<u8>) -> (usize, usize) {
    buf.clear();
    buf.extend_from_slice(replies);
    let mut bytes = buf.iter();
    let (mut ok, mut err) = (0, 0);
    while bytes.len() > 0 {
        match EhloResponse::parse(&mut bytes) {
            Ok(caps) => {
                black_box(caps);
                ok += 1;
            }
            Err(stalwart_smtp_proto::Error::NeedsMoreData { .. }) => return (ok, err + 1),
            Err(e) => {
                black_box(e);
                err += 1;
            }
        }
    }
    (ok, err)
}

/// (d) A DATA body (wire form, ending in CRLF . CRLF) through our `DotDecoder` in
/// `READ`-byte reads; `sink` sees every piece of the message. True if the end was found.
pub fn data_ours(wire: &[u8], buf: &mut BytesMut, mut sink: impl FnMut(&[u8])) -> bool {
    let mut decoder = DotDecoder::new(BareLineEndings::Reject);
    buf.clear();
    for read in wire.chunks(READ) {
        buf.extend_from_slice(read);
        loop {
            match decoder.decode(buf) {
                BodyStep::Chunk(chunk) => sink(&chunk),
                BodyStep::NeedInput => break,
                BodyStep::End => return true,
            }
        }
    }
    false
}

/// (d) The same body through Stalwart's `DataReceiver`, which appends the message to a
/// `Vec`; `sink` sees what each read added, then the `Vec` is cleared for the next.
pub fn data_stalwart(
    wire: &[u8],
    buf: &mut Vec<u8>,
    out: &mut Vec<u8>,
    mut sink: impl FnMut(&[u8]),
) -> bool {
    let mut receiver = DataReceiver::new();
    for read in wire.chunks(READ) {
        buf.clear();
        buf.extend_from_slice(read);
        out.clear();
        let end = receiver.ingest(&mut buf.iter(), out);
        sink(out);
        if end {
            return true;
        }
    }
    false
}

/// (d) The floor: the same reads copied into a `BytesMut` and split off, as our decoder
/// does with a body that needs no unstuffing.
pub fn data_memcpy(wire: &[u8], buf: &mut BytesMut) -> usize {
    let mut n = 0;
    for read in wire.chunks(READ) {
        buf.extend_from_slice(read);
        n += black_box(buf.split()).len();
    }
    n
}
