//! Property tests of the body decoders against a plain byte-by-byte model: the same
//! content, the same end, the same defect, however the input is split.

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use smtp_proto::*;

mod support;
use support::split;

/// Bytes that matter to framing, plus one ordinary letter: short dense bodies, and
/// longer ones that are mostly letters and CRLFs, so that clean 256-byte blocks and
/// everything that straddles their edges are exercised.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    let dense = vec(
        prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a')],
        0..64,
    );
    let piece = prop_oneof![
        8 => Just(&b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"[..]),
        8 => Just(&b"\r\n"[..]),
        2 => Just(&b"\r\n.."[..]),
        1 => Just(&b"\r\n."[..]),
        1 => Just(&b"\n"[..]),
        1 => Just(&b"\r"[..]),
        1 => Just(&b"."[..]),
        1 => Just(&b"a"[..]),
    ];
    let long = vec(piece, 0..80).prop_map(|v| v.concat());
    prop_oneof![dense, long]
}

/// The model: (content, consumed length, defect) or `None` when the end is not in `input`.
fn model_data(input: &[u8], policy: BareLineEndings) -> Option<(Vec<u8>, usize, bool)> {
    // The body starts at a line start: look for CRLF "." CRLF with a virtual CRLF before.
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(input);
    let end = framed.windows(5).position(|w| w == b"\r\n.\r\n")?;
    // Content is input[..end] (the CRLF before the dot belongs to the content).
    let region = &input[..end];
    let consumed = end + 3;
    let mut out = Vec::new();
    let mut defect = false;
    let mut line_start = true;
    let mut i = 0;
    while i < region.len() {
        let b = region[i];
        if line_start && b == b'.' {
            line_start = false;
            i += 1;
            continue;
        }
        line_start = false;
        let prev_cr = i > 0 && region[i - 1] == b'\r';
        let next_lf = input.get(i + 1) == Some(&b'\n');
        match b {
            b'\r' if next_lf => out.push(b),
            b'\n' if prev_cr => {
                out.push(b);
                line_start = true;
            }
            b'\r' | b'\n' => match policy {
                BareLineEndings::Normalize => out.extend_from_slice(b"\r\n"),
                _ => {
                    defect = true;
                    out.push(b);
                }
            },
            _ => out.push(b),
        }
        i += 1;
    }
    Some((out, consumed, defect))
}

fn run_data(chunks: &[&[u8]], policy: BareLineEndings) -> Option<(Vec<u8>, usize, bool)> {
    let mut d = DotDecoder::new(policy);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        loop {
            match d.decode(&mut buf) {
                BodyStep::Chunk(c) => {
                    assert!(!c.is_empty());
                    out.extend_from_slice(&c);
                }
                BodyStep::NeedInput => {
                    assert!(buf.len() <= 2, "holds back at most '.\\r' or a CR");
                    break;
                }
                BodyStep::End => {
                    let drop_after = fed - buf.len();
                    return Some((out, drop_after, d.defect().is_some()));
                }
            }
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn data_decoder_matches_the_model(
        input in body_bytes(),
        cuts in vec(any::<usize>(), 0..6),
        normalize in any::<bool>(),
    ) {
        let policy = if normalize { BareLineEndings::Normalize } else { BareLineEndings::Reject };
        let want = model_data(&input, policy);
        let got = run_data(&split(&input, &cuts), policy);
        prop_assert_eq!(&got, &want);
        let bytewise: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(run_data(&bytewise, policy), want);
    }

    #[test]
    fn chunk_decoder_keeps_content_and_finds_every_bare_ending(
        input in body_bytes(),
        sizes in vec(0usize..20, 0..8),
        cuts in vec(any::<usize>(), 0..6),
        normalize in any::<bool>(),
    ) {
        let policy = if normalize { BareLineEndings::Normalize } else { BareLineEndings::Reject };
        // BDAT chunk sizes covering the input, the last one taking the rest.
        let mut chunk_sizes = Vec::new();
        let mut left = input.len();
        for s in sizes {
            let s = s.min(left);
            chunk_sizes.push(s);
            left -= s;
        }
        chunk_sizes.push(left);
        let mut d = ChunkDecoder::new(Some(policy));
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut pieces = split(&input, &cuts).into_iter();
        for size in chunk_sizes {
            d.start_chunk(size as u64);
            loop {
                match d.decode(&mut buf) {
                    BodyStep::Chunk(c) => out.extend_from_slice(&c),
                    BodyStep::End => break,
                    BodyStep::NeedInput => match pieces.next() {
                        Some(p) => buf.extend_from_slice(p),
                        None => panic!("ran out of input"),
                    },
                }
            }
        }
        if let Some(lf) = d.finish() {
            out.extend_from_slice(&lf);
        }
        let bare = |i: usize| match input[i] {
            b'\r' => input.get(i + 1) != Some(&b'\n'),
            b'\n' => i == 0 || input[i - 1] != b'\r',
            _ => false,
        };
        let any_bare = (0..input.len()).any(bare);
        if normalize {
            let mut want = Vec::new();
            for (i, &byte) in input.iter().enumerate() {
                if bare(i) { want.extend_from_slice(b"\r\n") } else { want.push(byte) }
            }
            prop_assert_eq!(out, want);
            prop_assert!(d.defect().is_none());
        } else {
            prop_assert_eq!(&out, &input);
            prop_assert_eq!(d.defect().is_some(), any_bare);
        }
    }
}

#[test]
fn binary_chunks_are_not_checked() {
    let mut d = ChunkDecoder::new(None);
    let mut buf = BytesMut::from(&b"\n\r\0."[..]);
    d.start_chunk(4);
    assert_eq!(
        d.decode(&mut buf),
        BodyStep::Chunk(bytes::Bytes::from_static(b"\n\r\0."))
    );
    assert_eq!(d.decode(&mut buf), BodyStep::End);
    assert_eq!(d.finish(), None);
    assert_eq!(d.defect(), None);
}
