//! Regression tests for problems found in review: desynchronisation, canonical forms,
//! Unicode spoofing, and the must-close cases.

use bytes::BytesMut;
use smtp_proto::*;

fn decode_all(d: &mut CommandDecoder, input: &[u8]) -> Vec<Result<Command, ParseError>> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match d.decode(&mut buf) {
            Ok(Some(c)) => out.push(Ok(c)),
            Ok(None) => return out,
            Err(e) => out.push(Err(e)),
        }
    }
}

#[test]
fn reply_errors_are_terminal_so_a_broken_reply_is_never_credited_to_the_next_command() {
    let long = format!("250-a\r\n250-{}\r\n250 b\r\n354 go\r\n", "x".repeat(600));
    let mut d = ReplyDecoder::default();
    let mut buf = BytesMut::from(long.as_bytes());
    let e = d.decode(&mut buf).unwrap_err();
    assert!(matches!(e.kind(), ParseErrorKind::LineTooLong { .. }));
    assert_eq!(
        d.decode(&mut buf),
        Err(e.clone()),
        "no merged 250 a/b reply afterwards"
    );
    assert_eq!(d.error(), Some(&e));
    d.reset();
    assert!(d.error().is_none());

    let mut d = ReplyDecoder::default();
    let mut buf = BytesMut::from(&b"250-ok\r\n250-\x7f\r\n250 done\r\n"[..]);
    assert_eq!(
        d.decode(&mut buf).unwrap_err().kind(),
        &ParseErrorKind::ControlCharacter
    );
    assert!(
        d.decode(&mut buf).is_err(),
        "the tail is never read as a reply"
    );
}

#[test]
fn sasl_challenges_may_be_long() {
    let challenge = format!("334 {}\r\n", "QUFB".repeat(1000));
    let r = Reply::from_bytes(challenge.as_bytes()).unwrap();
    assert_eq!(r.code(), ReplyCode::AUTH_CHALLENGE);
    let other = format!("250 {}\r\n", "QUFB".repeat(1000));
    assert!(Reply::from_bytes(other.as_bytes()).is_err());
}

#[test]
fn auth_limit_is_not_chosen_from_discarded_bytes() {
    let input = format!(
        "x\rAUTH \r\nMAIL FROM:<{}@b.c>\r\nQUIT\r\n",
        "a".repeat(11000)
    );
    let out = decode_all(&mut CommandDecoder::default(), input.as_bytes());
    let kinds: Vec<_> = out
        .iter()
        .map(|r| r.as_ref().map_err(|e| e.kind().clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            Err(ParseErrorKind::BareCr),
            Err(ParseErrorKind::LineTooLong { limit: 512 }),
            Ok(&Command::Quit)
        ]
    );
}

#[test]
fn unreadable_bdat_lines_must_close() {
    for line in [
        "BDAT 99999999999999999999999 LAST\r\n",
        "BDAT 5 LASTX\r\n",
        "BDAT x\r\n",
        "bdat\r\n",
    ] {
        let e = Command::from_bytes(line.as_bytes()).unwrap_err();
        assert!(e.must_close(), "{line:?}");
    }
    let long = format!("BDAT 5 {}\r\n", "x".repeat(600));
    let out = decode_all(&mut CommandDecoder::default(), long.as_bytes());
    assert!(out[0].as_ref().unwrap_err().must_close());
    assert!(
        !Command::from_bytes(b"MAIL FROM:<x>\r\n")
            .unwrap_err()
            .must_close()
    );
    assert!(!Command::from_bytes(b"FOO\r\n").unwrap_err().must_close());
}

#[test]
fn unicode_spoofing_is_refused() {
    let mut d = CommandDecoder::default();
    d.options = ParseOptions::default().with_smtputf8(true);
    for bad in [
        "RCPT TO:<a@example\u{3002}com>\r\n", // ideographic full stop: IDNA maps it to "."
        "RCPT TO:<a@example\u{FF0E}com>\r\n", // fullwidth full stop
        "RCPT TO:<a@ex\u{200B}ample.com>\r\n", // zero-width space
        "RCPT TO:<a@\u{FF45}xample.com>\r\n", // fullwidth letter
        "RCPT TO:<a\u{202E}b@example.com>\r\n", // right-to-left override in the local part
        "RCPT TO:<\"a\u{85}b\"@example.com>\r\n", // NEL
        "NOOP a\u{2028}b\r\n",
    ] {
        let out = decode_all(&mut d, bad.as_bytes());
        assert!(out[0].is_err(), "{bad:?} accepted: {:?}", out[0]);
    }
    assert!(Text::new("a\u{85}b").is_err());
    assert!(Text::new("a\u{202E}b").is_err());
    assert!(LocalPart::new("a\u{2066}b").is_err());
    assert!(Domain::new("b\u{00AD}cher.example").is_err());
    assert!(Domain::new("bücher.example").is_ok());
    assert!(
        Domain::new("हिन्दी.example").is_ok(),
        "combining marks are fine"
    );
    assert!(Reply::from_bytes("250 a\u{202E}b\r\n".as_bytes()).is_err());
}

#[test]
fn canonical_forms() {
    // NOOP and HELP keep their argument verbatim.
    for line in [
        "NOOP  a b \r\n",
        "NOOP \r\n",
        "HELP  \r\n",
        "VRFY John Smith \r\n",
    ] {
        let c = Command::from_bytes(line.as_bytes()).unwrap();
        assert_eq!(&c.to_bytes()[..], line.as_bytes());
    }
    // A reply built with a leading enhanced code reads as the decoder reads it.
    let r = Reply::with_text(250, None, ["2.0.0 ok", "2.0.0 more"]).unwrap();
    assert_eq!(r.enhanced(), EnhancedCode::new(2, 0, 0).ok());
    assert_eq!(r.text(), "ok more");
    assert_eq!(Reply::from_bytes(&r.to_bytes()).unwrap(), r);
    // NOTIFY with no flag is NEVER.
    let mut p = RcptParams::default();
    p.notify = Some(Notify::On {
        success: false,
        failure: false,
        delay: false,
    });
    let c = Command::Rcpt {
        to: ForwardPath::Postmaster,
        params: p,
    };
    assert_eq!(&c.to_bytes()[..], b"RCPT TO:<Postmaster> NOTIFY=NEVER\r\n");
    // Untyped parameters cannot repeat or shadow typed ones.
    let mut p = MailParams::default();
    assert!(p.push_other(Param::new("X-A", Some("1")).unwrap()).is_ok());
    assert!(p.push_other(Param::new("x-a", Some("2")).unwrap()).is_err());
    assert!(
        p.push_other(Param::new("size", Some("2")).unwrap())
            .is_err()
    );
    assert!(p.push_other(Param::new("SMTPUTF8", None).unwrap()).is_err());
    let mut r = RcptParams::default();
    assert!(
        r.push_other(Param::new("ORCPT", Some("x")).unwrap())
            .is_err()
    );
    assert!(
        r.push_other(Param::new("SIZE", Some("1")).unwrap()).is_ok(),
        "SIZE is not RCPT's"
    );
    // Values that could not be read back are refused when built.
    assert!(Orcpt::new("rfc=822", "x").is_err());
    assert!(AddressLiteral::general("a:b", "c").is_err());
    assert!(
        Envid::new("caf\u{e9}").is_err(),
        "ENVID is US-ASCII (RFC 3461 §4.4)"
    );
}

#[test]
fn utf8_parameters_need_smtputf8() {
    let e = Command::from_bytes("MAIL FROM:<a@b.c> X-N=caf\u{e9}\r\n".as_bytes()).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::Utf8NotAllowed { in_mail: true });
    assert!(Command::from_bytes("MAIL FROM:<a@b.c> X-N=caf\u{e9} SMTPUTF8\r\n".as_bytes()).is_ok());
    // RFC 6533 utf-8-addr-unitext in ORCPT, under SMTPUTF8.
    let mut d = CommandDecoder::default();
    d.options = ParseOptions::default().with_smtputf8(true);
    let out = decode_all(&mut d, "RCPT TO:<ü@x.y> ORCPT=utf-8;ü@x.y\r\n".as_bytes());
    let Ok(Command::Rcpt { params, .. }) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(params.orcpt.as_ref().unwrap().address(), "ü@x.y");
    let e = Command::from_bytes("RCPT TO:<a@x.y> ORCPT=utf-8;ü@x.y\r\n".as_bytes()).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::Utf8NotAllowed { in_mail: false });
}

#[test]
fn parameter_count_is_capped() {
    let params: String = (0..33).map(|i| format!(" X{i}")).collect();
    let e = Command::from_bytes(format!("MAIL FROM:<>{params}\r\n").as_bytes()).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::TooManyParameters { limit: 32 });
}

#[test]
fn ehlo_leniency() {
    let r = Reply::from_bytes(
        b"250-mx\r\n250-AUTH PLAIN\tLOGIN\r\n250-SIZE +5\r\n250 LIMITS RCPTMAX=10 FOO\r\n",
    )
    .unwrap();
    let caps = decode_capabilities(&r).unwrap();
    assert_eq!(caps.auth_mechanisms().count(), 2);
    assert!(
        matches!(&caps.extensions[1], Extension::Other { .. }),
        "SIZE +5 is not a size"
    );
    let l = caps.limits().unwrap();
    assert_eq!(l.rcptmax, Some(10));
    assert_eq!(l.other, vec![Word::new("FOO").unwrap()]);
}

#[test]
fn controls_cannot_hide_in_orcpt_or_quoted_pairs() {
    let mut d = CommandDecoder::default();
    d.options = ParseOptions::default().with_smtputf8(true);
    for bad in [
        "RCPT TO:<a@b.c> ORCPT=rfc822;x\u{202E}y@b.c\r\n",
        "RCPT TO:<a@b.c> ORCPT=rfc822;x\u{85}y@b.c\r\n",
        "RCPT TO:<a@b.c> ORCPT=rfc822;x+E2+80+AEy@b.c\r\n",
        "RCPT TO:<\"\\a\u{202E}\"@b.c>\r\n",
    ] {
        let out = decode_all(&mut d, bad.as_bytes());
        assert!(out[0].is_err(), "{bad:?} accepted: {:?}", out[0]);
    }
    assert!(Orcpt::new("rfc822", "x\u{202E}y").is_err());
}

#[test]
fn ehlo_lines_with_leading_whitespace_are_read() {
    let r = Reply::from_bytes(b"250-mx.example\r\n250- SIZE 1000\r\n250 \tAUTH PLAIN\r\n").unwrap();
    let caps = decode_capabilities(&r).unwrap();
    assert_eq!(
        caps.extensions,
        vec![
            Extension::Size(Some(1000)),
            Extension::Auth(vec![Mechanism::PLAIN])
        ]
    );
}
