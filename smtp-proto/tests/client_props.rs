//! Property tests of the client: each server reply split anywhere gives the same
//! session; arbitrary server bytes never panic or hang; the body encoder's output
//! decodes back to the normalised body and never holds a bare line ending.

mod client_support;
mod support;

use bytes::BytesMut;
use client_support::*;
use proptest::collection::vec;
use proptest::prelude::*;
use smtp_proto::client::policy::TlsPolicy;
use smtp_proto::framing::stuff::{BareEndingsOut, BodyError, DotStuffer};
use smtp_proto::*;
use support::split;

fn reply_piece() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        Just(&b"220 mx.example.com ESMTP\r\n"[..]),
        Just(&b"250-mx.example.com\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 STARTTLS\r\n"[..]),
        Just(&b"250 mx.example.com\r\n"[..]),
        Just(&b"250 2.1.0 Ok\r\n"[..]),
        Just(&b"550 5.1.1 No\r\n"[..]),
        Just(&b"354 Go\r\n"[..]),
        Just(&b"220 2.0.0 Ready\r\n"[..]),
        Just(&b"502 5.5.1 No\r\n"[..]),
        Just(&b"421 4.3.2 Bye\r\n"[..]),
        Just(&b"221 Bye\r\n"[..]),
        Just(&b"334 VXNlcm5hbWU6\r\n"[..]),
        Just(&b"235 Ok\r\n"[..]),
        Just(&b"250-x\r\n"[..]),
    ]
}

fn options(pol: u8) -> smtp_proto::client::ClientOptions {
    let mut o = opts();
    o.tls_policy = match pol & 3 {
        0 => TlsPolicy::None,
        1 => TlsPolicy::May,
        _ => TlsPolicy::Encrypt,
    };
    o.chunking = pol & 4 != 0;
    o
}

fn script() -> Script {
    Script {
        messages: vec![
            (
                env("<a@b.example>", &["<c@d.example>", "<e@d.example>"]),
                b"x\n.y\n".to_vec(),
            ),
            (env("<>", &["<f@d.example>"]), b"z".to_vec()),
        ],
        verified: true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn server_chunking_does_not_change_the_client(
        pieces in vec(reply_piece(), 0..20),
        cuts in vec(any::<usize>(), 0..6),
        pol in any::<u8>(),
    ) {
        // Without STARTTLS, how each reply is split cannot matter. (With it, bytes after
        // the 220 in the same read are injection: timing matters by design, and the
        // STARTTLS case is checked per reply below.) Replies are not joined: a server
        // answers a command only once it has it, and bytes that arrive before their
        // command was sent answer nothing (`client_unsolicited.rs`).
        let plain = pol & !3;
        let whole = crun(options(plain), TransportSecurity::Plain, &pieces, script());
        let cut: Vec<&[u8]> = pieces.iter().flat_map(|p| split(p, &cuts)).collect();
        let bytewise: Vec<&[u8]> = pieces.iter().flat_map(|p| p.chunks(1)).collect();
        for chunks in [cut, bytewise] {
            let again = crun(options(plain), TransportSecurity::Plain, &chunks, script());
            prop_assert_eq!(whole.wire(), again.wire());
            prop_assert_eq!(&whole.results, &again.results);
            prop_assert_eq!(&whole.errors, &again.errors);
        }
        let per_reply = crun(options(pol), TransportSecurity::Plain, &pieces, script());
        let per_reply_again = crun(options(pol), TransportSecurity::Plain, &pieces, script());
        prop_assert_eq!(per_reply.wire(), per_reply_again.wire());
    }

    #[test]
    fn arbitrary_server_bytes_never_panic_or_hang(
        pieces in vec(prop_oneof![reply_piece().prop_map(|p| p.to_vec()), vec(any::<u8>(), 0..40)], 0..20),
        cuts in vec(any::<usize>(), 0..6),
        pol in any::<u8>(),
    ) {
        let input = pieces.concat();
        let r = crun(options(pol), TransportSecurity::Plain, &split(&input, &cuts), script());
        prop_assert!(r.closed);
    }

    #[test]
    fn the_encoder_output_decodes_to_the_normalised_body(
        body in vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a')], 0..80),
        cuts in vec(any::<usize>(), 0..5),
    ) {
        let mut enc = DotStuffer::new(true, BareEndingsOut::Normalize);
        let mut wire = BytesMut::new();
        for piece in split(&body, &cuts) {
            enc.encode(piece, &mut wire).unwrap();
        }
        enc.finish(&mut wire).unwrap();
        // Decodes cleanly, ends exactly at the end, and gives the body with CRLF endings.
        let mut dec = DotDecoder::new(BareLineEndings::Reject);
        let mut buf = wire.clone();
        let mut out = Vec::new();
        loop {
            match dec.decode(&mut buf) {
                BodyStep::Chunk(c) => out.extend_from_slice(&c),
                BodyStep::End => break,
                BodyStep::NeedInput => prop_assert!(false, "no end marker in {:?}", wire),
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(dec.defect(), None);
        let mut want = Vec::new();
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\r' if body.get(i + 1) == Some(&b'\n') => { want.extend_from_slice(b"\r\n"); i += 2; continue; }
                b'\r' | b'\n' => want.extend_from_slice(b"\r\n"),
                b => want.push(b),
            }
            i += 1;
        }
        if !want.is_empty() && !want.ends_with(b"\r\n") {
            want.extend_from_slice(b"\r\n");
        }
        prop_assert_eq!(out, want);
    }
}

proptest! {
    /// `crlf_size` (the RFC 1870 size a client declares) is what the encoder sends for
    /// BDAT, where nothing is stuffed.
    #[test]
    fn crlf_size_is_the_unstuffed_wire_length(
        body in vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a')], 0..80),
    ) {
        let mut enc = DotStuffer::new(false, BareEndingsOut::Normalize);
        let mut wire = BytesMut::new();
        enc.encode(&body, &mut wire).unwrap();
        enc.finish(&mut wire).unwrap();
        prop_assert_eq!(smtp_proto::framing::stuff::crlf_size(&body), wire.len() as u64);
    }
}

#[test]
fn declared_size_counts_crlf() {
    use smtp_proto::framing::stuff::crlf_size;
    assert_eq!(crlf_size(b"a\r\nb\r\n"), 6);
    assert_eq!(crlf_size(b"a\nb\n"), 6);
    assert_eq!(crlf_size(b"a\rb"), 4);
    assert_eq!(crlf_size(b""), 0);
}

/// Encodes `pieces` one by one (lines of at most 40 octets): the wire, or the error.
fn encode_pieces(stuff: bool, refuse: bool, pieces: &[&[u8]]) -> Result<Vec<u8>, BodyError> {
    let policy = if refuse {
        BareEndingsOut::Refuse
    } else {
        BareEndingsOut::Normalize
    };
    support::encode_body(stuff, policy, 40, pieces)
}

#[test]
fn a_cr_held_across_an_empty_piece_still_pairs_with_the_next_lf() {
    let pieces: [&[u8]; 3] = [b"a\r", b"", b"\n.b"];
    assert_eq!(
        encode_pieces(true, true, &pieces).unwrap(),
        b"a\r\n..b\r\n.\r\n"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_encoder_does_not_depend_on_how_the_body_is_cut(
        pieces in vec(vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a')], 0..30), 0..8),
        stuff in any::<bool>(),
        refuse in any::<bool>(),
    ) {
        // Empty pieces included; lines near the 40-octet limit of this encoder.
        let whole = pieces.concat();
        let cut: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(
            encode_pieces(stuff, refuse, &cut),
            encode_pieces(stuff, refuse, &[&whole])
        );
    }
}
