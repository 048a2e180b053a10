//! Property tests: decoders are chunk-boundary independent and total on arbitrary bytes.

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use smtp_proto::*;

mod support;
use support::split;

/// Decodes everything in `chunks`, feeding one chunk at a time; returns every result.
fn commands(
    chunks: &[&[u8]],
    opts: ParseOptions,
    endings: LineEndings,
) -> Vec<Result<Command, ParseErrorKind>> {
    let mut d = CommandDecoder::new(Limits::default()).with_line_endings(endings);
    d.options = opts;
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(c)) => out.push(Ok(c)),
                Ok(None) => break,
                Err(e) => out.push(Err(e.kind().clone())),
            }
        }
        // Bounded: the decoder never holds more than one line's limit of unparsed input
        // (plus the chunk just appended).
        assert!(buf.len() <= Limits::default().auth_line + chunk.len());
    }
    out
}

fn replies(chunks: &[&[u8]]) -> Vec<Result<Reply, ParseErrorKind>> {
    let mut d = ReplyDecoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(r)) => {
                    let _ = decode_capabilities(&r);
                    out.push(Ok(r));
                }
                Ok(None) => break,
                Err(e) => {
                    // Terminal: the same error again, then stop.
                    assert_eq!(d.decode(&mut buf).unwrap_err(), e);
                    out.push(Err(e.kind().clone()));
                    return out;
                }
            }
        }
    }
    out
}

/// SMTP-looking input: valid lines, broken lines, stray CR/LF, long lines, AUTH lines.
fn smtp_soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"MAIL FROM:<a@b.c> SIZE=10\r\n".to_vec()),
        Just(b"RCPT TO:<\"x> y\"@b.c> NOTIFY=NEVER\r\n".to_vec()),
        Just(b"RCPT TO:<Postmaster>\r\n".to_vec()),
        Just(b"EHLO x.y\r\n".to_vec()),
        Just(b"DATA\r\n".to_vec()),
        Just(b"BDAT 10 LAST\r\n".to_vec()),
        Just(b"AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n".to_vec()),
        Just(format!("AUTH XOAUTH2 {}\r\n", "QUFB".repeat(300)).into_bytes()),
        Just(format!("NOOP {}\r\n", "x".repeat(600)).into_bytes()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"QUIT\r\n".to_vec()),
        Just("MAIL FROM:<ü@x.y> SMTPUTF8\r\n".as_bytes().to_vec()),
        vec(any::<u8>(), 0..20),
    ];
    vec(piece, 0..20).prop_map(|v| v.concat())
}

fn reply_soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"250-mx.example.com\r\n250-SIZE 100\r\n250 STARTTLS\r\n".to_vec()),
        Just(b"250 2.1.0 Ok\r\n".to_vec()),
        Just(b"550-5.1.1 no\r\n550 5.1.1 user\r\n".to_vec()),
        Just(b"250-a\r\n251 b\r\n".to_vec()),
        Just(b"354\r\n".to_vec()),
        Just(format!("250 {}\r\n", "x".repeat(600)).into_bytes()),
        Just("250-x\r\n".repeat(130).into_bytes()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        vec(any::<u8>(), 0..20),
    ];
    vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn commands_are_chunk_independent(input in smtp_soup(), cuts in vec(any::<usize>(), 0..12), utf8: bool, lf: bool) {
        let opts = ParseOptions::default().with_smtputf8(utf8);
        let endings = if lf { LineEndings::AllowBareLf } else { LineEndings::Strict };
        let whole = commands(&[&input], opts, endings);
        prop_assert_eq!(&commands(&split(&input, &cuts), opts, endings), &whole);
        let bytewise: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&commands(&bytewise, opts, endings), &whole);
    }

    #[test]
    fn replies_are_chunk_independent(input in reply_soup(), cuts in vec(any::<usize>(), 0..12)) {
        let whole = replies(&[&input]);
        prop_assert_eq!(&replies(&split(&input, &cuts)), &whole);
        let bytewise: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&replies(&bytewise), &whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..2048), cuts in vec(any::<usize>(), 0..8)) {
        let chunks = split(&input, &cuts);
        commands(&chunks, ParseOptions::default(), LineEndings::Strict);
        commands(&chunks, ParseOptions::default().with_smtputf8(true), LineEndings::AllowBareLf);
        replies(&chunks);
    }
}
