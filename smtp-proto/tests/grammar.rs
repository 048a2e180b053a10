//! Table tests: the RFCs' own examples and the edge cases of the grammar.

use bytes::BytesMut;
use smtp_proto::*;

fn cmd(s: &str) -> Command {
    Command::from_bytes(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn cmd_utf8(s: &str) -> Result<Command, ParseError> {
    let mut d = CommandDecoder::default();
    d.options = ParseOptions::default().with_smtputf8(true);
    let mut buf = BytesMut::from(s.as_bytes());
    d.decode(&mut buf).map(|c| c.expect("complete"))
}

fn err(s: &str) -> ParseErrorKind {
    match Command::from_bytes(s.as_bytes()) {
        Ok(c) => panic!("{s:?} parsed as {c:?}"),
        Err(e) => e.kind().clone(),
    }
}

fn mailbox(s: &str) -> Mailbox {
    Mailbox::parse(s).unwrap()
}

fn wire(c: &Command) -> String {
    String::from_utf8(c.to_bytes().to_vec()).unwrap()
}

// RFC 5321 Appendix D.1, a typical SMTP transaction scenario (client lines).
#[test]
fn rfc5321_appendix_d1() {
    assert_eq!(
        cmd("EHLO bar.com\r\n"),
        Command::Ehlo {
            host: Host::new("bar.com").unwrap()
        }
    );
    assert_eq!(
        cmd("MAIL FROM:<Smith@bar.com>\r\n"),
        Command::Mail {
            from: mailbox("Smith@bar.com").into(),
            params: MailParams::default()
        }
    );
    assert_eq!(
        cmd("RCPT TO:<Jones@foo.com>\r\n"),
        Command::Rcpt {
            to: mailbox("Jones@foo.com").into(),
            params: RcptParams::default()
        }
    );
    assert_eq!(cmd("DATA\r\n"), Command::Data);
    assert_eq!(cmd("QUIT\r\n"), Command::Quit);
    assert_eq!(
        cmd("VRFY Crispin\r\n"),
        Command::Vrfy {
            target: Text::new("Crispin").unwrap(),
            smtputf8: false
        }
    );
}

#[test]
fn verbs_and_keywords_are_case_insensitive() {
    // RFC 5321 §2.4: "Verbs and argument values (e.g., "TO:" or "to:" ...) are not case
    // sensitive"; the local part keeps its case.
    let c = cmd("mail from:<Smith@Bar.COM> size=10\r\n");
    let Command::Mail { from, params } = c else {
        panic!()
    };
    assert_eq!(from.mailbox().unwrap().local_part().as_str(), "Smith");
    assert_eq!(from.mailbox().unwrap().host().to_string(), "Bar.COM");
    assert_eq!(params.size, Some(10));
    assert_eq!(
        cmd("rCpT tO:<pOsTmAsTeR>\r\n"),
        Command::Rcpt {
            to: ForwardPath::Postmaster,
            params: RcptParams::default()
        }
    );
    assert_eq!(cmd("StartTLS\r\n"), Command::StartTls);
    assert_eq!(cmd("ehlo x\r\n").verb(), "EHLO");
    // Domains compare case-insensitively (§2.4 "follow normal DNS rules").
    assert_eq!(
        Domain::new("Example.COM").unwrap(),
        Domain::new("example.com").unwrap()
    );
}

#[test]
fn postmaster_forms() {
    assert_eq!(
        wire(&cmd("RCPT TO:<Postmaster>\r\n")),
        "RCPT TO:<Postmaster>\r\n"
    );
    let Command::Rcpt { to, .. } = cmd("RCPT TO:<Postmaster@example.com>\r\n") else {
        panic!()
    };
    assert_eq!(to.mailbox().unwrap().local_part().as_str(), "Postmaster");
}

#[test]
fn space_after_colon_is_tolerated_but_no_bare_address() {
    let Command::Mail { from, .. } = cmd("MAIL FROM: <a@b.c>\r\n") else {
        panic!()
    };
    assert_eq!(from.to_string(), "<a@b.c>");
    assert_eq!(
        err("MAIL FROM:a@b.c\r\n"),
        ParseErrorKind::Expected("'<' opening the path")
    );
    assert_eq!(
        err("MAIL FROM<a@b.c>\r\n"),
        ParseErrorKind::Expected("FROM:")
    );
    assert_eq!(
        err("MAIL\r\n"),
        ParseErrorKind::Expected("a space and FROM:")
    );
}

#[test]
fn null_reverse_path() {
    assert_eq!(
        cmd("MAIL FROM:<>\r\n"),
        Command::Mail {
            from: ReversePath::Null,
            params: MailParams::default()
        }
    );
    assert_eq!(
        err("RCPT TO:<>\r\n"),
        ParseErrorKind::Expected("an atom in the local part")
    );
}

#[test]
fn source_routes_are_accepted_and_discarded() {
    // RFC 5321 §3.6.1 / Appendix C: "<@ONE,@TWO:JOE@THREE>".
    let Command::Rcpt { to, .. } = cmd("RCPT TO:<@ONE,@TWO:JOE@THREE>\r\n") else {
        panic!()
    };
    assert_eq!(to, ForwardPath::Mailbox(mailbox("JOE@THREE")));
    let Command::Mail { from, .. } = cmd("MAIL FROM:<@a.example:u@b.example>\r\n") else {
        panic!()
    };
    assert_eq!(from.to_string(), "<u@b.example>");
    assert!(matches!(
        err("RCPT TO:<@ONE,@TWO JOE@THREE>\r\n"),
        ParseErrorKind::Expected(_)
    ));
    assert!(matches!(
        err("RCPT TO:<@:u@b>\r\n"),
        ParseErrorKind::InvalidHost(_)
    ));
}

#[test]
fn quoted_local_parts_cannot_smuggle_parameters() {
    // CVE-2025-59937 class: the quoted string is one local part, and it is emitted quoted.
    let line = "RCPT TO:<\"a> ORCPT=rfc822;x@y\"@example.com>\r\n";
    let c = cmd(line);
    let Command::Rcpt { to, params } = &c else {
        panic!()
    };
    assert_eq!(
        to.mailbox().unwrap().local_part().as_str(),
        "a> ORCPT=rfc822;x@y"
    );
    assert_eq!(params, &RcptParams::default());
    assert_eq!(wire(&c), line);

    let c = cmd("MAIL FROM:<\"x> SIZE=1 AUTH=<>\"@example.com> BODY=7BIT\r\n");
    let Command::Mail { params, .. } = &c else {
        panic!()
    };
    assert_eq!(params.size, None);
    assert_eq!(params.auth, None);
    assert_eq!(params.body, Some(Body::SevenBit));

    // Quoted pairs are unquoted in the value and re-escaped on output.
    let c = cmd("RCPT TO:<\"john \\\"jr\\\" \\\\ doe\"@example.com>\r\n");
    let Command::Rcpt { to, .. } = &c else {
        panic!()
    };
    assert_eq!(
        to.mailbox().unwrap().local_part().as_str(),
        "john \"jr\" \\ doe"
    );
    assert_eq!(
        wire(&c),
        "RCPT TO:<\"john \\\"jr\\\" \\\\ doe\"@example.com>\r\n"
    );

    // A quoted Dot-string is emitted as a Dot-string (the same mailbox).
    assert_eq!(
        wire(&cmd("RCPT TO:<\"abc\"@x.y>\r\n")),
        "RCPT TO:<abc@x.y>\r\n"
    );
    // An empty quoted local part is valid (`*QcontentSMTP`) and stays quoted.
    assert_eq!(
        wire(&cmd("RCPT TO:<\"\"@x.y>\r\n")),
        "RCPT TO:<\"\"@x.y>\r\n"
    );

    // Unterminated quotes and bad escapes are errors, never "search for >".
    assert!(matches!(
        err("RCPT TO:<\"a>@b\r\n"),
        ParseErrorKind::Expected(_)
    ));
    assert!(matches!(
        err("RCPT TO:<\"a\\\x01\"@b>\r\n"),
        ParseErrorKind::Expected(_)
    ));
    // A local part built by the program is quoted when it needs to be.
    let m = Mailbox::new(LocalPart::new("a> X=1").unwrap(), Host::new("b.c").unwrap());
    assert_eq!(ForwardPath::Mailbox(m).to_string(), "<\"a> X=1\"@b.c>");
}

#[test]
fn dot_string_rules() {
    for bad in [
        "<.a@b>", "<a.@b>", "<a..b@b>", "<@b>", "<a@>", "<a b@c>", "<a@b", "<a(b)@c>",
    ] {
        let line = format!("RCPT TO:{bad}\r\n");
        assert!(
            Command::from_bytes(line.as_bytes()).is_err(),
            "{bad} accepted"
        );
    }
    let Command::Rcpt { to, .. } = cmd("RCPT TO:<!#$%&'*+-/=?^_`{|}~.x@b>\r\n") else {
        panic!()
    };
    assert!(to.mailbox().unwrap().local_part().is_dot_string());
}

#[test]
fn domains() {
    let label63 = "a".repeat(63);
    assert!(Domain::new(&format!("{label63}.example")).is_ok());
    assert!(Domain::new(&format!("{label63}a.example")).is_err());
    let long = vec!["abcdefghi"; 26].join(".");
    assert!(long.len() > 255);
    assert!(Domain::new(&long).is_err());
    assert!(Domain::new(&long[..255]).is_ok() || long[..255].ends_with('.'));
    for bad in [
        "-a.com", "a-.com", "a_b.com", "a..b", "a.com.", ".a.com", "", "a b", "a\r\nb",
    ] {
        assert!(Domain::new(bad).is_err(), "{bad:?} accepted");
    }
    assert!(Domain::new("xn--bcher-kva.example").is_ok());
    assert!(Domain::new("bücher.example").is_ok(), "U-labels (RFC 6531)");
    assert!(matches!(
        err("EHLO -bad\r\n"),
        ParseErrorKind::InvalidHost(_)
    ));
    assert!(matches!(
        err("EHLO bücher.example\r\n"),
        ParseErrorKind::InvalidHost(_)
    ));
    assert_eq!(
        err("EHLO\r\n"),
        ParseErrorKind::Expected("a space and the client's domain")
    );
    assert_eq!(err("EHLO a.b c\r\n"), ParseErrorKind::UnexpectedArgument);
}

#[test]
fn address_literals() {
    use std::net::{Ipv4Addr, Ipv6Addr};
    assert_eq!(
        Host::new("[192.0.2.1]").unwrap(),
        Host::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(192, 0, 2, 1)))
    );
    // Snum = 1*3DIGIT: leading zeros are allowed.
    assert_eq!(
        AddressLiteral::new("[001.002.003.004]").unwrap(),
        AddressLiteral::Ipv4(Ipv4Addr::new(1, 2, 3, 4))
    );
    let v6: Ipv6Addr = "2001:db8::1".parse().unwrap();
    assert_eq!(
        AddressLiteral::new("[IPv6:2001:db8::1]").unwrap(),
        AddressLiteral::Ipv6(v6)
    );
    assert_eq!(
        AddressLiteral::new("[ipv6:2001:DB8::1]").unwrap(),
        AddressLiteral::Ipv6(v6)
    );
    assert!(AddressLiteral::new("[IPv6:::ffff:192.0.2.1]").is_ok());
    // Standardized-tag = Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig: a leading hyphen is allowed.
    assert!(AddressLiteral::new("[-x:y]").is_ok());
    let g = AddressLiteral::new("[x-tag:some!content]").unwrap();
    assert_eq!(g.to_string(), "[x-tag:some!content]");
    for bad in [
        "[256.1.1.1]",
        "[1.2.3]",
        "[1.2.3.4.5]",
        "[1.2.3.04444]",
        "[IPv6:zzz]",
        "[IPv6:1.2.3.4]",
        "[]",
        "[x-:y]",
        "[x:]",
        "[1.2.3.4",
        "[a b]",
    ] {
        assert!(AddressLiteral::new(bad).is_err(), "{bad} accepted");
    }
    assert_eq!(
        cmd("EHLO [192.0.2.1]\r\n"),
        Command::Ehlo {
            host: Host::new("[192.0.2.1]").unwrap()
        }
    );
    assert_eq!(
        wire(&cmd("RCPT TO:<u@[IPv6:2001:DB8:0::1]>\r\n")),
        "RCPT TO:<u@[IPv6:2001:db8::1]>\r\n"
    );
}

#[test]
fn mail_parameters() {
    // RFC 1870, 6152, 3461 §4.3/§4.4, 4954 §5, 6531, 8689.
    let c = cmd(
        "MAIL FROM:<a@b.c> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=hdrs ENVID=QQ314159 AUTH=e+3Dmc2@example.com REQUIRETLS X-FOO=bar MT-PRIORITY=3 XFLAG\r\n",
    );
    let Command::Mail { params: p, .. } = &c else {
        panic!()
    };
    assert_eq!(p.size, Some(1000));
    assert_eq!(p.body, Some(Body::EightBitMime));
    assert!(p.smtputf8);
    assert_eq!(p.ret, Some(Ret::Hdrs));
    assert_eq!(p.envid.as_ref().unwrap().as_str(), "QQ314159");
    assert_eq!(
        p.auth,
        Some(MailAuth::Submitter(Box::new(mailbox("e=mc2@example.com"))))
    );
    assert!(p.requiretls);
    assert_eq!(
        p.other(),
        [
            Param::new("X-FOO", Some("bar")).unwrap(),
            Param::new("MT-PRIORITY", Some("3")).unwrap(),
            Param::new("XFLAG", None).unwrap(),
        ]
    );
    assert_eq!(
        wire(&c),
        "MAIL FROM:<a@b.c> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=e+3Dmc2@example.com REQUIRETLS X-FOO=bar MT-PRIORITY=3 XFLAG\r\n"
    );

    let Command::Mail { params, .. } = cmd("MAIL FROM:<> AUTH=<>\r\n") else {
        panic!()
    };
    assert_eq!(params.auth, Some(MailAuth::Unknown));
    let Command::Mail { params, .. } =
        cmd("MAIL FROM:<> BODY=BINARYMIME SIZE=18446744073709551615\r\n")
    else {
        panic!()
    };
    assert_eq!(params.body, Some(Body::BinaryMime));
    assert_eq!(params.size, Some(u64::MAX));
}

#[test]
fn malformed_and_duplicate_parameters() {
    let dup = |s: &str| ParseErrorKind::DuplicateParameter(s.into());
    let inv = |s: &str| ParseErrorKind::InvalidParameter(s.into());
    assert_eq!(err("MAIL FROM:<> SIZE=1 SIZE=2\r\n"), dup("SIZE"));
    assert_eq!(err("MAIL FROM:<> size=1 SIZE=2\r\n"), dup("SIZE"));
    assert_eq!(err("MAIL FROM:<> X-A=1 x-a=2\r\n"), dup("X-A"));
    assert_eq!(err("MAIL FROM:<> SIZE=abc\r\n"), inv("SIZE"));
    assert_eq!(err("MAIL FROM:<> SIZE\r\n"), inv("SIZE"));
    assert_eq!(
        err("MAIL FROM:<> SIZE=123456789012345678901\r\n"),
        inv("SIZE")
    );
    // 1*20DIGIT beyond u64 saturates, so the server can answer 552 rather than 501.
    let Command::Mail { params, .. } = cmd("MAIL FROM:<> SIZE=99999999999999999999\r\n") else {
        panic!()
    };
    assert_eq!(params.size, Some(u64::MAX));
    assert_eq!(err("MAIL FROM:<> BODY=9BIT\r\n"), inv("BODY"));
    assert_eq!(err("MAIL FROM:<> SMTPUTF8=yes\r\n"), inv("SMTPUTF8"));
    assert_eq!(err("MAIL FROM:<> REQUIRETLS=1\r\n"), inv("REQUIRETLS"));
    assert_eq!(err("MAIL FROM:<> RET=ALL\r\n"), inv("RET"));
    assert_eq!(
        err("MAIL FROM:<> ENVID=a+0D+0Ab\r\n"),
        inv("ENVID"),
        "decoded controls"
    );
    assert_eq!(
        err(&format!("MAIL FROM:<> ENVID={}\r\n", "x".repeat(101))),
        inv("ENVID")
    );
    assert_eq!(err("MAIL FROM:<> AUTH=not-a-mailbox\r\n"), inv("AUTH"));
    assert_eq!(err("MAIL FROM:<> AUTH=a+ZZ@b\r\n"), inv("AUTH"));
    assert!(matches!(
        err("MAIL FROM:<> X=a=b\r\n"),
        ParseErrorKind::Expected(_)
    ));
    assert!(matches!(
        err("MAIL FROM:<> X=\r\n"),
        ParseErrorKind::Expected(_)
    ));
    assert!(matches!(
        err("MAIL FROM:<> -X\r\n"),
        ParseErrorKind::Expected(_)
    ));
    assert!(matches!(
        err("MAIL FROM:<>SIZE=1\r\n"),
        ParseErrorKind::Expected(_)
    ));
    // Duplicate or malformed: 501 (RFC 3461 §4.5); the error says where.
    let e = Command::from_bytes(b"MAIL FROM:<> SIZE=1 SIZE=2\r\n").unwrap_err();
    assert_eq!(e.offset(), 20);
    assert_eq!(e.reply().code().get(), 501);
}

#[test]
fn rcpt_parameters() {
    // RFC 3461 §4.1, §4.2 and its example ORCPT=rfc822;Bob+20Smith@example.com.
    let c = cmd(
        "RCPT TO:<bob@example.com> NOTIFY=failure,DELAY ORCPT=rfc822;Bob+20Smith@example.com\r\n",
    );
    let Command::Rcpt { params: p, .. } = &c else {
        panic!()
    };
    assert_eq!(
        p.notify,
        Some(Notify::On {
            success: false,
            failure: true,
            delay: true
        })
    );
    let o = p.orcpt.as_ref().unwrap();
    assert_eq!(
        (o.addr_type(), o.address()),
        ("rfc822", "Bob Smith@example.com")
    );
    assert_eq!(
        wire(&c),
        "RCPT TO:<bob@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;Bob+20Smith@example.com\r\n"
    );
    let Command::Rcpt { params, .. } = cmd("RCPT TO:<b@c> NOTIFY=NEVER\r\n") else {
        panic!()
    };
    assert_eq!(params.notify, Some(Notify::Never));
    let inv = |s: &str| ParseErrorKind::InvalidParameter(s.into());
    assert_eq!(err("RCPT TO:<b@c> NOTIFY=NEVER,SUCCESS\r\n"), inv("NOTIFY"));
    assert_eq!(
        err("RCPT TO:<b@c> NOTIFY=SUCCESS,SUCCESS\r\n"),
        inv("NOTIFY")
    );
    assert_eq!(err("RCPT TO:<b@c> NOTIFY=SOMETIMES\r\n"), inv("NOTIFY"));
    assert_eq!(
        err("RCPT TO:<b@c> NOTIFY=\r\n"),
        ParseErrorKind::Expected("a parameter value after '='")
    );
    assert_eq!(err("RCPT TO:<b@c> ORCPT=bob@example.com\r\n"), inv("ORCPT"));
    // ORCPT "MAY be up to 500 characters" (RFC 3461 §4.2): more than the base line limit,
    // so a DSN server raises Limits::command_line.
    let mut limits = Limits::default();
    limits.command_line = 1024;
    let decode =
        |line: String| CommandDecoder::new(limits).decode(&mut BytesMut::from(line.as_bytes()));
    assert!(
        decode(format!(
            "RCPT TO:<b@c> ORCPT=rfc822;{}\r\n",
            "x".repeat(487)
        ))
        .is_ok()
    );
    assert_eq!(
        decode(format!(
            "RCPT TO:<b@c> ORCPT=rfc822;{}\r\n",
            "x".repeat(488)
        ))
        .unwrap_err()
        .kind(),
        &inv("ORCPT")
    );
    // Parameters defined for MAIL are unknown on RCPT: kept for the server to answer 555.
    let Command::Rcpt { params, .. } = cmd("RCPT TO:<b@c> SIZE=10\r\n") else {
        panic!()
    };
    assert_eq!(params.other(), [Param::new("SIZE", Some("10")).unwrap()]);
    assert_eq!(
        ParseError::reply(&Command::from_bytes(b"RCPT TO:<b@c> NOTIFY=X\r\n").unwrap_err())
            .code()
            .get(),
        501
    );
}

#[test]
fn smtputf8_addresses() {
    // RFC 6531 §3.4: UTF-8 in MAIL needs the SMTPUTF8 parameter; RCPT needs it on the MAIL.
    let c = cmd("MAIL FROM:<用户@例子.广告> SMTPUTF8\r\n");
    let Command::Mail { from, .. } = &c else {
        panic!()
    };
    assert!(!from.mailbox().unwrap().is_ascii());
    assert_eq!(wire(&c), "MAIL FROM:<用户@例子.广告> SMTPUTF8\r\n");
    assert_eq!(
        err("MAIL FROM:<用户@例子.广告>\r\n"),
        ParseErrorKind::Utf8NotAllowed { in_mail: true }
    );
    assert_eq!(
        err("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>\r\n"),
        ParseErrorKind::Utf8NotAllowed { in_mail: false }
    );
    assert!(cmd_utf8("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>\r\n").is_ok());
    assert!(cmd_utf8("RCPT TO:<\"δοκ ιμή\"@x.y>\r\n").is_ok());
    // Replies for these: 550 5.6.7 on MAIL, 553 5.6.7 on RCPT (RFC 6531 §3.5).
    let r = Command::from_bytes("MAIL FROM:<ü@x.y>\r\n".as_bytes())
        .unwrap_err()
        .reply();
    assert_eq!(
        (r.code().get(), r.enhanced().unwrap().to_string()),
        (550, "5.6.7".into())
    );
    let r = Command::from_bytes("RCPT TO:<ü@x.y>\r\n".as_bytes())
        .unwrap_err()
        .reply();
    assert_eq!(r.code().get(), 553);
    // Bytes above 0x7F that are not UTF-8 are refused whatever the session allows.
    assert_eq!(
        cmd_utf8("RCPT TO:<\u{0}@x>\r\n").unwrap_err().kind(),
        &ParseErrorKind::Expected("an atom in the local part")
    );
    let e = Command::from_bytes(b"MAIL FROM:<\xff\xfe@x.y> SMTPUTF8\r\n").unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::InvalidUtf8);
    assert_eq!(e.offset(), 11);
}

#[test]
fn bdat() {
    assert_eq!(
        cmd("BDAT 1000\r\n"),
        Command::Bdat {
            size: 1000,
            last: false
        }
    );
    assert_eq!(
        cmd("BDAT 0 LAST\r\n"),
        Command::Bdat {
            size: 0,
            last: true
        }
    );
    assert_eq!(
        cmd("bdat 5 last\r\n"),
        Command::Bdat {
            size: 5,
            last: true
        }
    );
    assert_eq!(wire(&cmd("bdat 5 last\r\n")), "BDAT 5 LAST\r\n");
    assert_eq!(
        err("BDAT\r\n"),
        ParseErrorKind::Expected("a space and the chunk size")
    );
    assert_eq!(
        err("BDAT x\r\n"),
        ParseErrorKind::Expected("the chunk size")
    );
    assert_eq!(
        err("BDAT -1\r\n"),
        ParseErrorKind::Expected("the chunk size")
    );
    assert_eq!(
        err("BDAT 18446744073709551616\r\n"),
        ParseErrorKind::NumberOutOfRange
    );
    assert_eq!(err("BDAT 5 FIRST\r\n"), ParseErrorKind::Expected("LAST"));
    assert_eq!(
        err("BDAT 5 LAST now\r\n"),
        ParseErrorKind::UnexpectedArgument
    );
}

#[test]
fn auth() {
    // RFC 4954 §4 and §6 examples.
    assert_eq!(
        cmd("AUTH PLAIN\r\n"),
        Command::Auth {
            mechanism: Mechanism::PLAIN,
            initial: None
        }
    );
    let Command::Auth { mechanism, initial } = cmd("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n") else {
        panic!()
    };
    assert_eq!(mechanism, Mechanism::PLAIN);
    assert_eq!(
        &initial.as_ref().unwrap().expose()[..],
        b"test\0test\x001234"
    );
    let Command::Auth { initial, .. } = cmd("AUTH EXTERNAL =\r\n") else {
        panic!()
    };
    assert_eq!(
        initial.unwrap().expose().len(),
        0,
        "'=' is the empty initial response"
    );
    assert_eq!(
        cmd("auth login\r\n"),
        Command::Auth {
            mechanism: Mechanism::LOGIN,
            initial: None
        }
    );
    assert_eq!(wire(&cmd("AUTH EXTERNAL =\r\n")), "AUTH EXTERNAL =\r\n");
    assert_eq!(
        wire(&cmd("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n")),
        "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n"
    );
    assert_eq!(err("AUTH PLAIN !!!!\r\n"), ParseErrorKind::InvalidBase64);
    assert_eq!(
        err("AUTH PLAIN dGVzdA\r\n"),
        ParseErrorKind::InvalidBase64,
        "padding required"
    );
    assert_eq!(
        Command::from_bytes(b"AUTH PLAIN ****\r\n")
            .unwrap_err()
            .reply()
            .code()
            .get(),
        501
    );
    assert!(matches!(
        err("AUTH ABCDEFGHIJKLMNOPQRSTU\r\n"),
        ParseErrorKind::Expected(_)
    ));
    assert!(matches!(
        err("AUTH PL.AIN\r\n"),
        ParseErrorKind::Expected(_)
    ));
    assert!(matches!(err("AUTH\r\n"), ParseErrorKind::Expected(_)));
    // Secrets stay out of Debug output.
    let dbg = format!("{:?}", cmd("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n"));
    assert!(
        dbg.contains("Secret(..)") && !dbg.contains("1234") && !dbg.contains("dGVzd"),
        "{dbg}"
    );
    // SASL continuation lines.
    assert_eq!(decode_sasl_response(b"*").unwrap(), SaslResponse::Cancel);
    let SaslResponse::Data(d) = decode_sasl_response(b"dXNlcg==").unwrap() else {
        panic!()
    };
    assert_eq!(&d.expose()[..], b"user");
    assert_eq!(
        decode_sasl_response(b"dXNlcg").unwrap_err().kind(),
        &ParseErrorKind::InvalidBase64
    );
    assert_eq!(&SaslResponse::Cancel.to_bytes()[..], b"*\r\n");
}

#[test]
fn simple_commands() {
    assert_eq!(cmd("RSET\r\n"), Command::Rset);
    assert_eq!(
        cmd("QUIT  \r\n"),
        Command::Quit,
        "trailing spaces tolerated"
    );
    assert_eq!(cmd("NOOP\r\n"), Command::Noop { text: None });
    assert_eq!(
        cmd("NOOP hello there\r\n"),
        Command::Noop {
            text: Some(Text::new("hello there").unwrap())
        }
    );
    assert_eq!(cmd("HELP\r\n"), Command::Help { topic: None });
    assert_eq!(
        cmd("HELP MAIL\r\n"),
        Command::Help {
            topic: Some(Text::new("MAIL").unwrap())
        }
    );
    assert_eq!(
        cmd("EXPN Example-People\r\n"),
        Command::Expn {
            target: Text::new("Example-People").unwrap(),
            smtputf8: false
        }
    );
    assert_eq!(
        cmd("VRFY Crispin SMTPUTF8\r\n"),
        Command::Vrfy {
            target: Text::new("Crispin").unwrap(),
            smtputf8: true
        }
    );
    assert_eq!(
        cmd("LHLO foo.edu\r\n"),
        Command::Lhlo {
            host: Host::new("foo.edu").unwrap()
        }
    );
    assert_eq!(cmd("HELO [10.0.0.1]\r\n").verb(), "HELO");
    for (line, kind) in [
        ("DATA x\r\n", ParseErrorKind::UnexpectedArgument),
        ("STARTTLS now\r\n", ParseErrorKind::UnexpectedArgument),
        ("RSET x\r\n", ParseErrorKind::UnexpectedArgument),
        ("VRFY\r\n", ParseErrorKind::Expected("a space and the name")),
        ("FOO\r\n", ParseErrorKind::UnknownCommand),
        ("MAILX FROM:<>\r\n", ParseErrorKind::UnknownCommand),
        ("\r\n", ParseErrorKind::UnknownCommand),
        (" MAIL FROM:<>\r\n", ParseErrorKind::UnknownCommand),
        ("NOOP a\x00b\r\n", ParseErrorKind::ControlCharacter),
        ("NOOP a\x1bb\r\n", ParseErrorKind::ControlCharacter),
    ] {
        assert_eq!(err(line), kind, "{line:?}");
    }
    assert_eq!(
        Command::from_bytes(b"FOO\r\n")
            .unwrap_err()
            .reply()
            .to_string(),
        "500 5.5.2 Command not recognized"
    );
    assert_eq!(
        Command::from_bytes(b"DATA x\r\n")
            .unwrap_err()
            .reply()
            .code()
            .get(),
        501
    );
    assert_eq!(
        Command::from_bytes(b"NOOP").unwrap_err().kind(),
        &ParseErrorKind::Incomplete
    );
    assert_eq!(
        Command::from_bytes(b"NOOP\r\nNOOP\r\n").unwrap_err().kind(),
        &ParseErrorKind::TrailingBytes
    );
}

#[test]
fn line_endings_and_limits() {
    let mut d = CommandDecoder::default();
    // RFC 5321 §2.3.8: only CRLF ends a line. `NOOP<LF>QUIT<CRLF>` is one bad line:
    // the QUIT inside it is never obeyed.
    let mut buf = BytesMut::from(&b"NOOP\nQUIT\r\nRSET\rDATA\r\nRSET\r\n"[..]);
    assert_eq!(
        d.decode(&mut buf).unwrap_err().kind(),
        &ParseErrorKind::BareLf
    );
    assert_eq!(
        d.decode(&mut buf).unwrap_err().kind(),
        &ParseErrorKind::BareCr
    );
    // The bare-CR line is discarded through its CRLF: "DATA" after the CR is never obeyed.
    assert_eq!(d.decode(&mut buf).unwrap(), Some(Command::Rset));
    assert_eq!(d.decode(&mut buf).unwrap(), None);

    let mut d = CommandDecoder::default().with_line_endings(LineEndings::AllowBareLf);
    let mut buf = BytesMut::from(&b"NOOP\nQUIT\r\nRSET\rX\r\n"[..]);
    assert_eq!(
        d.decode(&mut buf).unwrap(),
        Some(Command::Noop { text: None })
    );
    assert_eq!(d.decode(&mut buf).unwrap(), Some(Command::Quit));
    assert_eq!(
        d.decode(&mut buf).unwrap_err().kind(),
        &ParseErrorKind::BareCr,
        "only LF is relaxed"
    );

    // 512 octets including CRLF is the limit (RFC 5321 §4.5.3.1.4).
    let ok = format!("NOOP {}\r\n", "x".repeat(512 - 7));
    assert_eq!(ok.len(), 512);
    assert!(Command::from_bytes(ok.as_bytes()).is_ok());
    let long = format!("NOOP {}\r\nQUIT\r\n", "x".repeat(512 - 6));
    let mut d = CommandDecoder::default();
    let mut buf = BytesMut::from(long.as_bytes());
    let e = d.decode(&mut buf).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::LineTooLong { limit: 512 });
    // RFC 5321 §4.5.3.1.10 "500 Line too long"; X.5.6 belongs to AUTH (RFC 4954 §4).
    assert_eq!(e.reply().to_string(), "500 5.5.2 Line too long");
    assert_eq!(d.decode(&mut buf).unwrap(), Some(Command::Quit));

    // The AUTH command is held to the command line limit (RFC 4954 §4), unless the
    // decoder is told to take longer ones (deployed XOAUTH2 tokens).
    let token = "QUFB".repeat(500);
    let line = format!("AUTH XOAUTH2 {token}\r\n");
    assert!(line.len() > 512);
    assert_eq!(
        Command::from_bytes(line.as_bytes()).unwrap_err().kind(),
        &ParseErrorKind::LineTooLong { limit: 512 }
    );
    let mut d = CommandDecoder::default().with_auth_command_line(Limits::default().auth_line);
    let mut buf = BytesMut::from(line.as_bytes());
    assert!(matches!(d.decode(&mut buf), Ok(Some(Command::Auth { .. }))));
    let mut d = CommandDecoder::default().with_auth_command_line(100);
    let mut buf = BytesMut::from(line.as_bytes());
    assert!(matches!(
        d.decode(&mut buf).unwrap_err().kind(),
        ParseErrorKind::LineTooLong { .. }
    ));
}

#[test]
fn constructors_refuse_line_forgery() {
    for s in ["a\r\nb", "a\nb", "a\rb", "a\0b"] {
        assert!(Text::new(s).is_err(), "Text {s:?}");
        assert!(Domain::new(s).is_err(), "Domain {s:?}");
        assert!(LocalPart::new(s).is_err(), "LocalPart {s:?}");
        assert!(
            Mailbox::parse(&format!("{s}@x.y")).is_err(),
            "Mailbox {s:?}"
        );
        assert!(Param::new("X", Some(s)).is_err(), "Param {s:?}");
        assert!(Word::new(s).is_err(), "Word {s:?}");
        assert!(Mechanism::new(s).is_err(), "Mechanism {s:?}");
        assert!(Envid::new(s).is_err(), "Envid {s:?}");
        assert!(Orcpt::new("rfc822", s).is_err(), "Orcpt {s:?}");
        assert!(
            Reply::with_text(250, None, ["ok", s]).is_err(),
            "Reply {s:?}"
        );
    }
    let e = Text::new("ok\r\n250 forged").unwrap_err();
    assert_eq!(
        e,
        ValueError::ForbiddenByte {
            what: "text",
            byte: b'\r',
            at: 2
        }
    );
    assert!(Param::new("X Y", None).is_err());
    assert!(Param::new("X", Some("a b")).is_err());
    assert!(Param::new("X", Some("a=b")).is_err());
    assert!(Keyword::new("-X").is_err());
    assert!(
        Reply::with_text(
            250,
            Some(smtp_proto::EnhancedCode::new(5, 0, 0).unwrap()),
            ["x"]
        )
        .is_err(),
        "class must match"
    );
    assert!(Reply::with_text(199, None, ["x"]).is_err());
    assert!(Reply::with_text(260, None, ["x"]).is_err());
    assert!(EnhancedCode::new(3, 0, 0).is_err());
    assert!(EnhancedCode::new(2, 1000, 0).is_err());
    assert!(Mechanism::new("ABCDEFGHIJKLMNOPQRSTU").is_err());
}

#[test]
fn replies() {
    let r = Reply::from_bytes(b"250 OK\r\n").unwrap();
    assert_eq!(
        (r.code().get(), r.lines().len(), r.text()),
        (250, 1, "OK".to_string())
    );
    assert!(r.is_positive() && !r.is_transient() && !r.is_permanent());
    let r = Reply::from_bytes(b"421 4.7.0 Try later\r\n").unwrap();
    assert!(r.is_transient());
    assert_eq!(r.enhanced(), EnhancedCode::new(4, 7, 0).ok());
    assert_eq!(r.text(), "Try later");
    let r = Reply::from_bytes(b"550-5.1.1 No such\r\n550 5.1.1 user\r\n").unwrap();
    assert!(r.is_permanent());
    assert_eq!(
        r.lines(),
        [Text::new("No such").unwrap(), Text::new("user").unwrap()]
    );
    assert_eq!(
        &r.to_bytes()[..],
        b"550-5.1.1 No such\r\n550 5.1.1 user\r\n"
    );
    // Class mismatch: not an enhanced code, kept as text.
    let r = Reply::from_bytes(b"250 5.1.1 x\r\n").unwrap();
    assert_eq!((r.enhanced(), r.text()), (None, "5.1.1 x".to_string()));
    let r = Reply::from_bytes(b"354\r\n").unwrap();
    assert!(r.is_intermediate() && r.lines()[0].is_empty());
    assert_eq!(&r.to_bytes()[..], b"354\r\n");
    let r = Reply::from_bytes(b"220-a\r\n220-\r\n220 c\r\n").unwrap();
    assert_eq!(&r.to_bytes()[..], b"220-a\r\n220-\r\n220 c\r\n");
    let r = Reply::from_bytes(b"250 caf\xe9\r\n").unwrap();
    assert_eq!(
        r.text(),
        "caf\u{fffd}",
        "stray Latin-1 is tolerated in reply text"
    );
    let r = Reply::with_text(
        250,
        Some(smtp_proto::EnhancedCode::new(2, 0, 0).unwrap()),
        ["a", "", "b"],
    )
    .unwrap();
    assert_eq!(
        &r.to_bytes()[..],
        b"250-2.0.0 a\r\n250-2.0.0\r\n250 2.0.0 b\r\n"
    );
    assert_eq!(Reply::from_bytes(&r.to_bytes()).unwrap(), r);

    let e = |b: &[u8]| Reply::from_bytes(b).unwrap_err().kind().clone();
    assert_eq!(e(b"250-a\r\n251 b\r\n"), ParseErrorKind::MixedReplyCodes);
    assert_eq!(e(b"199 x\r\n"), ParseErrorKind::InvalidReplyCode);
    assert_eq!(e(b"260 x\r\n"), ParseErrorKind::InvalidReplyCode);
    assert_eq!(e(b"25\r\n"), ParseErrorKind::InvalidReplyCode);
    assert_eq!(e(b"abc x\r\n"), ParseErrorKind::InvalidReplyCode);
    assert_eq!(
        e(b"2500 x\r\n"),
        ParseErrorKind::Expected("' ' or '-' after the reply code")
    );
    assert_eq!(e(b"250 a\x01b\r\n"), ParseErrorKind::ControlCharacter);
    assert_eq!(e(b"250 ok\n"), ParseErrorKind::BareLf);
    assert_eq!(e(b"250-more"), ParseErrorKind::Incomplete);
    let long = format!("250 {}\r\n", "x".repeat(507));
    assert_eq!(
        e(long.as_bytes()),
        ParseErrorKind::LineTooLong { limit: 512 }
    );
    let many = "250-x\r\n".repeat(128) + "250 x\r\n";
    assert_eq!(
        e(many.as_bytes()),
        ParseErrorKind::TooManyReplyLines { limit: 128 }
    );
    assert!(Reply::from_bytes("250-x\r\n".repeat(127).as_bytes()).is_err());
    assert!(Reply::from_bytes(("250-x\r\n".repeat(127) + "250 x\r\n").as_bytes()).is_ok());
}

#[test]
fn reply_decoder_streams() {
    let mut d = ReplyDecoder::default();
    let mut buf = BytesMut::from(&b"250-a\r\n250"[..]);
    assert_eq!(d.decode(&mut buf).unwrap(), None);
    assert!(d.is_mid_reply());
    buf.extend_from_slice(b" b\r\n221 bye\r\n");
    assert_eq!(d.decode(&mut buf).unwrap().unwrap().lines().len(), 2);
    assert_eq!(
        d.decode(&mut buf).unwrap().unwrap().code(),
        ReplyCode::CLOSING
    );
    assert_eq!(d.decode(&mut buf).unwrap(), None);
}

const EHLO: &str = "250-mx.example.com Hello client.example.org [192.0.2.1]\r\n\
250-SIZE 52428800\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-BINARYMIME\r\n\
250-SMTPUTF8\r\n250-AUTH PLAIN login XOAUTH2\r\n250-AUTH=PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n\
250-DSN\r\n250-REQUIRETLS\r\n250-LIMITS RCPTMAX=100 MAILMAX=1000 FOO=1\r\n250-X-EXPS GSSAPI NTLM\r\n\
250-pipelining extra\r\n250 STARTTLS\r\n";

#[test]
fn ehlo_capabilities() {
    let reply = Reply::from_bytes(EHLO.as_bytes()).unwrap();
    let caps = decode_capabilities(&reply).unwrap();
    assert_eq!(caps.server.as_str(), "mx.example.com");
    assert_eq!(
        caps.greeting.as_ref().unwrap().as_str(),
        "Hello client.example.org [192.0.2.1]"
    );
    assert_eq!(caps.max_size(), Some(52428800));
    assert!(caps.eight_bit_mime() && caps.pipelining() && caps.chunking() && caps.binary_mime());
    assert!(caps.smtputf8() && caps.enhanced_status_codes() && caps.dsn() && caps.requiretls());
    assert!(caps.starttls());
    let mechs: Vec<_> = caps.auth_mechanisms().map(|m| m.as_str()).collect();
    assert_eq!(mechs, ["PLAIN", "LOGIN", "XOAUTH2"]);
    let l = caps.limits().unwrap();
    assert_eq!(
        (l.rcptmax, l.mailmax, l.rcptdomainmax),
        (Some(100), Some(1000), None)
    );
    assert_eq!(l.other, vec![Word::new("FOO=1").unwrap()]);
    assert!(caps.has("x-exps") && caps.has("AUTH=PLAIN"));
    assert!(
        matches!(&caps.extensions[13], Extension::Other { keyword, params } if keyword.as_str() == "pipelining" && params.len() == 1)
    );
    // Emitted from the same type, and read back the same.
    let again = decode_capabilities(&Reply::from_bytes(&caps.to_bytes()).unwrap()).unwrap();
    assert_eq!(again, caps);

    let caps = decode_capabilities(&Reply::from_bytes(b"250 mx.example.com\r\n").unwrap()).unwrap();
    assert!(caps.extensions.is_empty() && caps.greeting.is_none());
    let caps =
        decode_capabilities(&Reply::from_bytes(b"250-x\r\n250-SIZE 0\r\n250 SIZE\r\n").unwrap())
            .unwrap();
    assert_eq!(
        caps.extensions,
        vec![Extension::Size(Some(0)), Extension::Size(None)]
    );
    assert_eq!(
        caps.max_size(),
        None,
        "SIZE 0: no fixed maximum (RFC 1870 §3)"
    );
    assert!(decode_capabilities(&Reply::from_bytes(b"502 no\r\n").unwrap()).is_none());
    assert!(decode_capabilities(&Reply::from_bytes(b"250 \r\n").unwrap()).is_none());
}
