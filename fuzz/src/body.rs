//! The message body decoders: `DotDecoder` (DATA) and `ChunkDecoder` (BDAT), each
//! against the byte-at-a-time references of [`crate::reference`], under every
//! `BareLineEndings` policy, with the input cut into pieces where the fuzzer says.

use crate::reference::{RefChunks, RefDot};
use crate::{PIECE, pieces, sizes};
use bytes::BytesMut;
use smtp_proto::{BareLineEndings, BodyStep, ChunkDecoder, DotDecoder};

/// The policies a body can be decoded under (`None`: BDAT with BINARYMIME).
const POLICIES: [Option<BareLineEndings>; 3] = [
    Some(BareLineEndings::Reject),
    Some(BareLineEndings::Normalize),
    None,
];

/// `DotDecoder` against [`RefDot`]. Input: a flags byte (policy, mid-line start, piece
/// size), a seed for the piece lengths, then the body bytes.
///
/// Whenever the decoder asks for input, and at the end, both must have delivered the same
/// bytes, found the same first defect at the same output offset, and agree on whether
/// the terminator was read; after it, the decoder must have consumed exactly the bytes
/// through the terminator and left the rest in the buffer.
pub fn dot_differential(data: &[u8]) {
    let [flags, seed, body @ ..] = data else {
        return;
    };
    let policy = if flags & 1 == 0 {
        BareLineEndings::Reject
    } else {
        BareLineEndings::Normalize
    };
    let mid_line = flags & 2 != 0;
    let max = PIECE[usize::from(flags >> 2) & 7];
    let mut lib = if mid_line {
        DotDecoder::new_mid_line(policy)
    } else {
        DotDecoder::new(policy)
    };
    let mut reference = RefDot::new(policy, mid_line);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut defect_at = None;
    let mut checked = 0;
    let mut fed = 0;
    let mut end = None;
    for piece in pieces(body, *seed, max) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        reference.feed(piece);
        loop {
            let before = out.len();
            let had = lib.defect().is_some();
            let step = lib.decode(&mut buf);
            if !had && lib.defect().is_some() {
                defect_at = Some(before);
            }
            match step {
                BodyStep::Chunk(c) => {
                    assert!(!c.is_empty(), "empty chunk");
                    out.extend_from_slice(&c);
                }
                BodyStep::NeedInput => break,
                BodyStep::End => {
                    end = Some(fed - buf.len());
                    break;
                }
            }
        }
        assert_eq!(
            end.is_some(),
            reference.ended(),
            "end of data after {fed} bytes"
        );
        // Both only ever append: compare what is new since the last check.
        assert_eq!(
            out.len(),
            reference.out.len(),
            "content length after {fed} bytes"
        );
        assert!(
            out[checked..] == reference.out[checked..],
            "content after {fed} bytes: {:?} != {:?}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&reference.out)
        );
        checked = out.len();
        assert_eq!(
            lib.defect().zip(defect_at),
            reference.defect,
            "defect (kind, output offset) after {fed} bytes"
        );
        if let Some(end) = end {
            assert_eq!(
                end, reference.consumed,
                "bytes consumed through the terminator"
            );
            assert_eq!(&buf[..], &body[end..fed], "bytes left for the next command");
            return;
        }
    }
}

/// The body decoders on arbitrary bytes. Input: a flags byte (policy, piece size), a
/// seed, then the body.
///
/// - `DotDecoder`: never panics, never delivers more than it was given under `Reject`,
///   and ends exactly after the first `<CRLF>.<CRLF>` (the body starting a line).
/// - `ChunkDecoder` (every policy, binary included): the body is cut into BDAT chunks
///   whose sizes come from the seed, fed in pieces that straddle chunk boundaries; each
///   chunk ends after exactly its size, and the content and first defect match
///   [`RefChunks`].
pub fn data_decoder(data: &[u8]) {
    let [flags, seed, body @ ..] = data else {
        return;
    };
    let policy = POLICIES[usize::from(flags % 3)];
    let max = PIECE[usize::from(flags >> 2) & 7];
    if let Some(p) = policy {
        dot_properties(body, p, *seed, max);
    }
    chunks(body, policy, *seed, max);
}

fn dot_properties(body: &[u8], policy: BareLineEndings, seed: u8, max: usize) {
    let mut d = DotDecoder::new(policy);
    let mut buf = BytesMut::new();
    let mut out = 0;
    let mut fed = 0;
    let mut end = None;
    'outer: for piece in pieces(body, seed, max) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            match d.decode(&mut buf) {
                BodyStep::Chunk(c) => out += c.len(),
                BodyStep::NeedInput => break,
                BodyStep::End => {
                    end = Some(fed - buf.len());
                    break 'outer;
                }
            }
        }
    }
    if policy == BareLineEndings::Reject {
        assert!(out <= fed);
    }
    // The message ends exactly at the first CRLF "." CRLF (the body starts a line).
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(body);
    let first = framed
        .windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|i| i + 3);
    assert_eq!(end, first);
}

fn chunks(body: &[u8], policy: Option<BareLineEndings>, seed: u8, max: usize) {
    // Chunk sizes (0 allowed: `BDAT 0 LAST`) from a second stream of the seed.
    let mut sizes = sizes(seed.wrapping_mul(31).wrapping_add(7), max);
    let mut c = ChunkDecoder::new(policy);
    let mut reference = RefChunks::new(policy);
    let mut buf = BytesMut::new();
    let mut input = pieces(body, seed, max);
    let mut out = Vec::new();
    let mut fed = 0;
    let mut taken = 0;
    while taken < body.len() {
        let size = (sizes() - 1).min(body.len() - taken);
        c.start_chunk(size as u64);
        loop {
            match c.decode(&mut buf) {
                BodyStep::Chunk(x) => {
                    assert!(!x.is_empty(), "empty chunk");
                    out.extend_from_slice(&x);
                }
                BodyStep::End => break,
                BodyStep::NeedInput => {
                    let piece = input
                        .next()
                        .expect("a chunk asked for bytes beyond the body");
                    buf.extend_from_slice(piece);
                    fed += piece.len();
                }
            }
        }
        assert_eq!(c.remaining(), 0);
        reference.feed(&body[taken..taken + size]);
        taken += size;
        assert_eq!(fed - buf.len(), taken, "octets taken by a chunk of {size}");
        // All of the chunk went out, a final CR included (the reference holds that CR
        // until the next byte shows whether it is bare).
        let mut expected = reference.out.clone();
        if reference.pending_cr() {
            expected.push(b'\r');
        }
        assert_eq!(out, expected, "content after {taken} octets");
        if policy == Some(BareLineEndings::Reject) {
            assert_eq!(c.defect(), reference.defect);
        }
        if size == 0 {
            break;
        }
    }
    if let Some(lf) = c.finish() {
        out.extend_from_slice(&lf);
    }
    reference.finish();
    assert_eq!(out, reference.out, "content at the end");
    assert_eq!(c.defect(), reference.defect, "defect at the end");
    if policy.is_none() {
        assert_eq!(out, &body[..taken]);
    }
}
