//! Property tests: emit -> parse is the identity for every wire type.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use smtp_proto::*;

fn label() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9]", "[a-zA-Z0-9][a-zA-Z0-9-]{0,12}[a-zA-Z0-9]",]
}

fn ascii_domain() -> impl Strategy<Value = Domain> {
    vec(label(), 1..4).prop_map(|l| Domain::new(&l.join(".")).unwrap())
}

fn domain(utf8: bool) -> BoxedStrategy<Domain> {
    if utf8 {
        prop_oneof![
            ascii_domain(),
            "[a-zäöüß]{1,4}ü[a-z]{0,3}\\.(例子|δοκιμή|com)".prop_map(|s| Domain::new(&s).unwrap())
        ]
        .boxed()
    } else {
        ascii_domain().boxed()
    }
}

fn literal() -> impl Strategy<Value = AddressLiteral> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(AddressLiteral::Ipv4),
        any::<std::net::Ipv6Addr>().prop_map(AddressLiteral::Ipv6),
        ("x-[a-z0-9]{1,5}", "[!-Z^-~]{1,10}")
            .prop_map(|(t, c)| AddressLiteral::general(&t, &c).unwrap()),
    ]
}

fn host(utf8: bool) -> impl Strategy<Value = Host> {
    prop_oneof![
        domain(utf8).prop_map(Host::Domain),
        literal().prop_map(Host::Literal)
    ]
}

fn local_part(utf8: bool) -> BoxedStrategy<LocalPart> {
    let ascii = prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\\.[a-zA-Z0-9_-]{1,5}){0,2}",
        "[ -~]{0,16}",
    ];
    if utf8 {
        prop_oneof![ascii, "[a-z ]{0,4}[用户δοκιμήü]{1,4}[a-z\". ]{0,4}"]
            .prop_map(|s| LocalPart::new(&s).unwrap())
            .boxed()
    } else {
        ascii.prop_map(|s| LocalPart::new(&s).unwrap()).boxed()
    }
}

fn mailbox(utf8: bool) -> impl Strategy<Value = Mailbox> {
    (local_part(utf8), host(utf8)).prop_map(|(l, h)| Mailbox::new(l, h))
}

/// Any NOOP/HELP argument: kept verbatim, spaces and empty included.
fn text() -> impl Strategy<Value = Text> {
    "[ -~\t]{0,16}|[a-z ]{0,3}[é中δ]{1,3}".prop_map(|s| Text::new(&s).unwrap())
}

/// A VRFY/EXPN target: not empty and not ending in " SMTPUTF8" (those have no wire form).
fn target() -> impl Strategy<Value = Text> {
    "[ -~]{0,12}[!-~]"
        .prop_filter("SMTPUTF8 suffix", |s| {
            !s.to_ascii_uppercase().ends_with(" SMTPUTF8")
        })
        .prop_map(|s| Text::new(&s).unwrap())
}

fn x_params() -> impl Strategy<Value = Vec<Param>> {
    vec(("[A-Z0-9]{1,6}", option::of("[!-<>-~]{1,8}")), 0..3).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (k, val))| Param::new(&format!("X{i}-{k}"), val.as_deref()).unwrap())
            .collect()
    })
}

prop_compose! {
    fn mail_params(utf8: bool)(
        size in option::of(any::<u64>()),
        body in option::of(prop_oneof![Just(Body::SevenBit), Just(Body::EightBitMime), Just(Body::BinaryMime)]),
        smtputf8 in any::<bool>(),
        ret in option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
        envid in option::of("[ -~]{1,30}"),
        auth in option::of(option::of(mailbox(false))),
        requiretls in any::<bool>(),
        other in x_params(),
    ) -> MailParams {
        let mut p = MailParams::default();
        p.size = size;
        p.body = body;
        p.smtputf8 = smtputf8 || utf8;
        p.ret = ret;
        p.envid = envid.map(|e| Envid::new(&e).unwrap());
        p.auth = auth.map(|a| a.map_or(MailAuth::Unknown, |m| MailAuth::Submitter(Box::new(m))));
        p.requiretls = requiretls;
        for o in other {
            p.push_other(o).unwrap();
        }
        p
    }
}

prop_compose! {
    fn rcpt_params()(
        notify in option::of(prop_oneof![
            Just(Notify::Never),
            (any::<bool>(), any::<bool>(), any::<bool>())
                .prop_filter("one flag", |(a, b, c)| *a || *b || *c)
                .prop_map(|(success, failure, delay)| Notify::On { success, failure, delay }),
        ]),
        orcpt in option::of(("rfc822|utf-8|x-[a-z]{1,4}", "[ -~]{0,40}")),
        other in x_params(),
    ) -> RcptParams {
        let mut p = RcptParams::default();
        p.notify = notify;
        p.orcpt = orcpt.map(|(t, a)| Orcpt::new(&t, &a).unwrap());
        for o in other {
            p.push_other(o).unwrap();
        }
        p
    }
}

fn command() -> impl Strategy<Value = (Command, bool)> {
    let plain = prop_oneof![
        host(false).prop_map(|host| Command::Helo { host }),
        host(false).prop_map(|host| Command::Ehlo { host }),
        host(false).prop_map(|host| Command::Lhlo { host }),
        Just(Command::Data),
        Just(Command::Rset),
        Just(Command::Quit),
        Just(Command::StartTls),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        (target(), any::<bool>()).prop_map(|(target, smtputf8)| Command::Vrfy { target, smtputf8 }),
        (target(), any::<bool>()).prop_map(|(target, smtputf8)| Command::Expn { target, smtputf8 }),
        option::of(text()).prop_map(|topic| Command::Help { topic }),
        option::of(text()).prop_map(|text| Command::Noop { text }),
        ("[A-Z0-9_-]{1,20}", option::of(vec(any::<u8>(), 0..48))).prop_map(|(m, i)| {
            Command::Auth {
                mechanism: Mechanism::new(&m).unwrap(),
                initial: i.map(|v| Secret::new(Bytes::from(v))),
            }
        }),
    ]
    .prop_map(|c| (c, false));
    let mail = any::<bool>().prop_flat_map(|utf8| {
        (
            prop_oneof![Just(None), mailbox(utf8).prop_map(Some)],
            mail_params(utf8),
        )
            .prop_map(move |(m, params)| {
                let from = m.map_or(ReversePath::Null, ReversePath::Mailbox);
                (Command::Mail { from, params }, false)
            })
    });
    let rcpt = any::<bool>().prop_flat_map(|utf8| {
        (
            prop_oneof![Just(None), mailbox(utf8).prop_map(Some)],
            rcpt_params(),
        )
            .prop_map(move |(m, params)| {
                let to = m.map_or(ForwardPath::Postmaster, ForwardPath::Mailbox);
                (Command::Rcpt { to, params }, utf8)
            })
    });
    prop_oneof![plain, mail, rcpt]
}

fn decode_one(bytes: &[u8], utf8: bool) -> Result<Command, ParseError> {
    let mut limits = Limits::default();
    limits.command_line = 4096;
    let mut d = CommandDecoder::new(limits);
    d.options = ParseOptions::default().with_smtputf8(utf8);
    let mut buf = BytesMut::from(bytes);
    let c = d.decode(&mut buf)?.expect("a whole line");
    assert!(buf.is_empty(), "trailing bytes");
    Ok(c)
}

fn reply() -> impl Strategy<Value = Reply> {
    (
        2u16..=5,
        0u16..=5,
        0u16..=9,
        any::<bool>(),
        0u16..30,
        0u16..30,
    )
        .prop_flat_map(|(a, b, c, enh, s, d)| {
                        // Any text, including lines that start like an enhanced code ("2.0.0 x"): the
            // constructor reads them as the decoder does.
            vec("[ -~\t]{0,20}|[245]\\.[0-9]{1,3}\\.[0-9]{1,3}( [ -~]{0,5})?|[a-z ]{0,4}[é中δ]{1,3}", 1..5).prop_filter_map("no line starts with a code of another class", move |lines| {
                    // RFC 3463 §2: no class 3; 3yz replies carry no enhanced code.
                    let enhanced = (enh && a != 3)
                        .then(|| smtp_proto::EnhancedCode::new(a as u8, s, d).unwrap());
                    // A line that starts with an enhanced code of another class is refused
                    // (`250 5.1.1 …`); such a reply is not generated.
                    Reply::with_text(
                        a * 100 + b * 10 + c,
                        enhanced,
                        lines.iter().map(String::as_str),
                    )
                    .ok()
                },
            )
        })
}

fn extension() -> impl Strategy<Value = Extension> {
    prop_oneof![
        option::of(any::<u64>()).prop_map(Extension::Size),
        Just(Extension::Pipelining),
        Just(Extension::EightBitMime),
        Just(Extension::SmtpUtf8),
        Just(Extension::StartTls),
        vec("[A-Z0-9_-]{1,20}", 0..4)
            .prop_map(|m| Extension::Auth(m.iter().map(|m| Mechanism::new(m).unwrap()).collect())),
        Just(Extension::Chunking),
        Just(Extension::BinaryMime),
        Just(Extension::Dsn),
        Just(Extension::EnhancedStatusCodes),
        Just(Extension::RequireTls),
        (
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            vec("Z[A-Z]{0,4}=[0-9]{1,3}", 0..2)
        )
            .prop_map(|(m, r, d, o)| {
                let mut l = LimitsExt::default();
                l.mailmax = m;
                l.rcptmax = r;
                l.rcptdomainmax = d;
                l.other = o.iter().map(|w| Word::new(w).unwrap()).collect();
                Extension::Limits(l)
            }),
        ("X-[A-Z]{1,6}", vec("[!-~]{1,8}", 0..3)).prop_map(|(k, p)| Extension::Other {
            keyword: Word::new(&k).unwrap(),
            params: p.iter().map(|w| Word::new(w).unwrap()).collect(),
        }),
    ]
}

fn capabilities() -> impl Strategy<Value = Capabilities> {
    (
        "[a-z][a-z0-9.-]{0,20}",
        option::of("[A-Za-z0-9\\[][ -~]{0,30}"),
        vec(extension(), 0..12),
    )
        .prop_map(|(server, greeting, extensions)| {
            let mut c = Capabilities::new(Word::new(&server).unwrap());
            c.greeting = greeting.map(|g| Text::new(&g).unwrap());
            c.extensions = extensions;
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn command_roundtrip((cmd, utf8) in command()) {
        let wire = cmd.to_bytes();
        let back = decode_one(&wire, utf8);
        prop_assert_eq!(back.as_ref(), Ok(&cmd), "wire: {:?}", String::from_utf8_lossy(&wire));
        // Emission is canonical: encoding the parsed value gives the same bytes.
        prop_assert_eq!(back.unwrap().to_bytes(), wire);
    }

    #[test]
    fn path_roundtrip(m in mailbox(true)) {
        let s = m.to_string();
        prop_assert_eq!(Mailbox::parse(&s), Ok(m.clone()));
        let fwd = ForwardPath::Mailbox(m.clone()).to_string();
        prop_assert_eq!(fwd.len(), s.len() + 2);
        prop_assert_eq!(LocalPart::new(m.local_part().as_str()), Ok(m.local_part().clone()));
    }

    #[test]
    fn host_roundtrip(h in host(true)) {
        prop_assert_eq!(Host::new(&h.to_string()), Ok(h));
    }

    #[test]
    fn reply_roundtrip(r in reply()) {
        let wire = r.to_bytes();
        let back = Reply::from_bytes(&wire);
        prop_assert_eq!(back.as_ref(), Ok(&r), "wire: {:?}", String::from_utf8_lossy(&wire));
        prop_assert_eq!(back.unwrap().to_bytes(), wire);
    }

    #[test]
    fn capabilities_roundtrip(c in capabilities()) {
        let wire = c.to_bytes();
        let reply = Reply::from_bytes(&wire).unwrap();
        let back = decode_capabilities(&reply);
        prop_assert_eq!(back.as_ref(), Some(&c), "wire: {:?}", String::from_utf8_lossy(&wire));
    }

    #[test]
    fn constructors_never_panic(s in "\\PC{0,40}", b in vec(any::<u8>(), 0..40)) {
        let lossy = String::from_utf8_lossy(&b);
        for s in [s.as_str(), &*lossy] {
            let _ = Domain::new(s);
            let _ = Host::new(s);
            let _ = AddressLiteral::new(s);
            let _ = Mailbox::parse(s);
            let _ = LocalPart::new(s);
            let _ = Text::new(s);
            let _ = Word::new(s);
            let _ = Mechanism::new(s);
            let _ = Envid::new(s);
            let _ = Orcpt::new(s, s);
            let _ = Param::new(s, Some(s));
        }
        let _ = decode_sasl_response(&b);
    }
}
