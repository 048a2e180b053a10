//! The rules that stop STARTTLS stripping and DNS spoofing, as pure functions: DANE
//! (RFC 7672) over DNSSEC answers, the order in which local rules, DANE, MTA-STS and
//! the default decide, REQUIRETLS (RFC 8689) for a next hop, and the TLS-RPT record
//! (RFC 8460).

use smtp_proto::TlsInfo;
use smtp_proto::client::policy::{
    Answer, DaneDefer, DaneStatus, Dnssec, DomainPattern, HostPlan, MxDane, NoDane, PolicySource,
    PolicyViolation, RequireTlsMissing, StsVerdict, TlsPolicy, Tlsa, check_requiretls, choose,
    dane_for_host, dane_for_mx, tlsa_names,
};
use smtp_proto::client::tlsrpt::{PolicyType, ReportUri, ResultType, TlsRptError, TlsRptRecord};

fn tlsa(usage: u8) -> Tlsa {
    Tlsa {
        usage,
        selector: 1,
        matching: 1,
        data: vec![7; 32],
    }
}

const SECURE_A: Answer<&str> = Answer::NoRecords(Dnssec::Secure);

fn secure_a() -> Answer<&'static str> {
    Answer::Records(vec!["127.0.0.1"], Dnssec::Secure)
}

fn host(tlsa_answers: Vec<(&str, Answer<Tlsa>)>) -> DaneStatus {
    let answers: Vec<(String, Answer<Tlsa>)> = tlsa_answers
        .into_iter()
        .map(|(n, a)| (n.to_owned(), a))
        .collect();
    dane_for_host(MxDane::Applies, &secure_a(), &answers)
}

#[test]
fn the_mx_answer_decides_whether_dane_can_apply() {
    let mx = |a: Answer<&str>| dane_for_mx(&a);
    assert_eq!(
        mx(Answer::Records(vec!["mx"], Dnssec::Secure)),
        MxDane::Applies
    );
    // No MX, securely denied: the domain is its own implicit MX (RFC 5321 §5.1).
    assert_eq!(mx(Answer::NoRecords(Dnssec::Secure)), MxDane::Applies);
    assert_eq!(
        mx(Answer::Records(vec!["mx"], Dnssec::Insecure)),
        MxDane::NotApplicable
    );
    // Bogus or failed is never "insecure" (RFC 7672 §2.1.1).
    assert_eq!(
        mx(Answer::Records(vec!["mx"], Dnssec::Bogus)),
        MxDane::Defer(DaneDefer::MxBogus)
    );
    assert_eq!(mx(Answer::Failed), MxDane::Defer(DaneDefer::MxLookupFailed));
    // And a deferred MX defers every host, whatever its own answers.
    let s = dane_for_host(MxDane::Defer(DaneDefer::MxBogus), &secure_a(), &[]);
    assert_eq!(s, DaneStatus::Defer(DaneDefer::MxBogus));
    assert_eq!(s.policy(), Some(TlsPolicy::DaneLookupFailed));
    let s = dane_for_host(MxDane::NotApplicable, &secure_a(), &[]);
    assert_eq!(s, DaneStatus::NotApplicable(NoDane::MxInsecure));
    assert_eq!(s.policy(), None);
}

#[test]
fn tlsa_answers_make_dane_mandatory_absent_or_a_reason_to_defer() {
    let name = "_25._tcp.mx1.dane.test";
    let required = host(vec![(name, Answer::Records(vec![tlsa(3)], Dnssec::Secure))]);
    assert_eq!(
        required,
        DaneStatus::Required {
            records: vec![tlsa(3)],
            base: "mx1.dane.test".into()
        }
    );
    assert_eq!(
        required.policy(),
        Some(TlsPolicy::Dane {
            records: vec![tlsa(3)]
        })
    );
    // Secure NODATA/NXDOMAIN: no DANE for this host.
    assert_eq!(
        host(vec![(name, Answer::NoRecords(Dnssec::Secure))]),
        DaneStatus::NotApplicable(NoDane::NoTlsa)
    );
    // Insecure TLSA records are ignored (RFC 7672 §2.2).
    assert_eq!(
        host(vec![(
            name,
            Answer::Records(vec![tlsa(3)], Dnssec::Insecure)
        )]),
        DaneStatus::NotApplicable(NoDane::TlsaInsecure)
    );
    for (answer, why) in [
        (
            Answer::Records(vec![tlsa(3)], Dnssec::Bogus),
            DaneDefer::TlsaBogus,
        ),
        (Answer::NoRecords(Dnssec::Bogus), DaneDefer::TlsaBogus),
        (Answer::Failed, DaneDefer::TlsaLookupFailed),
    ] {
        let s = host(vec![(name, answer)]);
        assert_eq!(s, DaneStatus::Defer(why));
        assert_eq!(s.policy(), Some(TlsPolicy::DaneLookupFailed));
    }
    // Only hosts with Secure addresses are looked at (§2.2.1).
    let tlsa_ok = vec![(
        name.to_owned(),
        Answer::Records(vec![tlsa(3)], Dnssec::Secure),
    )];
    let insecure_a: Answer<&str> = Answer::Records(vec!["127.0.0.1"], Dnssec::Insecure);
    assert_eq!(
        dane_for_host(MxDane::Applies, &insecure_a, &tlsa_ok),
        DaneStatus::NotApplicable(NoDane::AddressInsecure)
    );
    let bogus_a: Answer<&str> = Answer::Records(vec!["127.0.0.1"], Dnssec::Bogus);
    assert_eq!(
        dane_for_host(MxDane::Applies, &bogus_a, &tlsa_ok),
        DaneStatus::Defer(DaneDefer::AddressBogus)
    );
    assert_eq!(
        dane_for_host(MxDane::Applies, &Answer::<&str>::Failed, &tlsa_ok),
        DaneStatus::Defer(DaneDefer::AddressLookupFailed)
    );
    // A Secure denial of the address set still counts as Secure data.
    assert!(matches!(
        dane_for_host(MxDane::Applies, &SECURE_A, &tlsa_ok),
        DaneStatus::Required { .. }
    ));
}

#[test]
fn tlsa_names_follow_a_secure_cname_chain_first() {
    assert_eq!(
        tlsa_names("mx.example.com.", 25, None),
        ["_25._tcp.mx.example.com"]
    );
    assert_eq!(
        tlsa_names("mx.example.com", 25, Some("smtp.provider.net.")),
        ["_25._tcp.smtp.provider.net", "_25._tcp.mx.example.com"]
    );
    assert_eq!(
        tlsa_names("mx.example.com", 465, Some("MX.example.com")),
        ["_465._tcp.mx.example.com"]
    );
    // RFC 7672 §2.2.2: a Secure denial at the chain's end sends us to the host's name,
    // and the base domain is the name the records were found at.
    let s = host(vec![
        (
            "_25._tcp.smtp.provider.net",
            Answer::NoRecords(Dnssec::Secure),
        ),
        (
            "_25._tcp.mx.example.com",
            Answer::Records(vec![tlsa(2)], Dnssec::Secure),
        ),
    ]);
    assert_eq!(
        s,
        DaneStatus::Required {
            records: vec![tlsa(2)],
            base: "mx.example.com".into()
        }
    );
    let s = host(vec![(
        "_25._tcp.smtp.provider.net",
        Answer::Records(vec![tlsa(3)], Dnssec::Secure),
    )]);
    assert!(matches!(s, DaneStatus::Required { base, .. } if base == "smtp.provider.net"));
}

#[test]
fn local_rules_then_dane_then_mta_sts_then_the_default() {
    let rule = DomainPattern::parse(".example.com").unwrap();
    let local = (&TlsPolicy::Encrypt, &rule);
    let required = DaneStatus::Required {
        records: vec![tlsa(3)],
        base: "mx.example.com".into(),
    };
    let deferred = DaneStatus::Defer(DaneDefer::TlsaBogus);
    let none = DaneStatus::NotApplicable(NoDane::MxInsecure);
    let may = TlsPolicy::May;
    let mx = "MX.Example.com.";
    let connect = |policy, source| HostPlan::Connect { policy, source };

    // An explicit local rule wins over everything, a DANE deferral included.
    for dane in [&required, &deferred, &none] {
        assert_eq!(
            choose(Some(local), dane, &StsVerdict::Enforce, mx, &may),
            connect(TlsPolicy::Encrypt, PolicySource::Local(rule.clone()))
        );
    }
    // DANE over MTA-STS.
    for sts in [
        StsVerdict::Enforce,
        StsVerdict::EnforceMxMismatch,
        StsVerdict::NoPolicy,
    ] {
        assert_eq!(
            choose(None, &required, &sts, mx, &may),
            connect(
                TlsPolicy::Dane {
                    records: vec![tlsa(3)]
                },
                PolicySource::Dane
            )
        );
        assert_eq!(
            choose(None, &deferred, &sts, mx, &may),
            HostPlan::Defer(DaneDefer::TlsaBogus)
        );
    }
    // MTA-STS: enforce needs a certificate for the MX name; a host not listed is skipped.
    assert_eq!(
        choose(None, &none, &StsVerdict::Enforce, mx, &may),
        connect(
            TlsPolicy::Secure {
                names: vec!["mx.example.com".into()]
            },
            PolicySource::MtaSts
        )
    );
    assert_eq!(
        choose(None, &none, &StsVerdict::EnforceMxMismatch, mx, &may),
        HostPlan::Skip
    );
    // testing: the default applies, results are filed under `sts`.
    let testing = choose(None, &none, &StsVerdict::Testing, mx, &may);
    assert_eq!(testing, connect(TlsPolicy::May, PolicySource::MtaSts));
    // Nothing: the default.
    let default = choose(None, &none, &StsVerdict::NoPolicy, mx, &TlsPolicy::Verify);
    assert_eq!(default, connect(TlsPolicy::Verify, PolicySource::Default));

    assert_eq!(PolicySource::Dane.report_type(), PolicyType::Tlsa);
    assert_eq!(PolicySource::MtaSts.report_type(), PolicyType::Sts);
    assert_eq!(
        PolicySource::Default.report_type(),
        PolicyType::NoPolicyFound
    );
    assert_eq!(
        PolicySource::Local(rule.clone()).to_string(),
        "local (.example.com)"
    );
    assert_eq!(PolicySource::MtaSts.name(), "mta-sts");
}

#[test]
fn requiretls_needs_tls_authentication_and_the_extension() {
    let verified = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256")
        .unwrap()
        .with_peer_verified(true);
    let unverified = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap();
    let missing = |r: Result<(), PolicyViolation>| match r {
        Err(PolicyViolation::RequireTls { missing, .. }) => Some(missing),
        Err(other) => panic!("{other}"),
        Ok(()) => None,
    };
    let check = |p: &TlsPolicy, t: Option<&TlsInfo>, offered| {
        missing(check_requiretls(p, t, offered, "mx.example.com"))
    };
    assert_eq!(
        check(&TlsPolicy::Verify, None, true),
        Some(RequireTlsMissing::Tls)
    );
    // Opportunistic TLS is not enough, verified or not.
    for p in [TlsPolicy::May, TlsPolicy::Encrypt] {
        assert_eq!(
            check(&p, Some(&verified), true),
            Some(RequireTlsMissing::Verification)
        );
    }
    assert_eq!(
        check(&TlsPolicy::Verify, Some(&unverified), true),
        Some(RequireTlsMissing::Verification)
    );
    // DANE without a usable record authenticates nothing.
    let unusable = TlsPolicy::Dane {
        records: vec![tlsa(1)],
    };
    assert_eq!(
        check(&unusable, Some(&verified), true),
        Some(RequireTlsMissing::Verification)
    );
    assert_eq!(
        check(&TlsPolicy::Verify, Some(&verified), false),
        Some(RequireTlsMissing::Extension)
    );
    let dane = TlsPolicy::Dane {
        records: vec![tlsa(3)],
    };
    for p in [TlsPolicy::Verify, TlsPolicy::Secure { names: vec![] }, dane] {
        assert_eq!(check(&p, Some(&verified), true), None, "{p:?}");
    }
    let v = check_requiretls(&TlsPolicy::May, None, true, "mx.example.com").unwrap_err();
    assert_eq!(v.enhanced_code().to_string(), "5.7.30");
    assert_eq!(
        v.to_string(),
        "message requires TLS (REQUIRETLS) but mx.example.com is not reached over TLS"
    );
}

#[test]
fn the_tlsrpt_record() {
    let r = TlsRptRecord::parse("v=TLSRPTv1;rua=mailto:a@example.com").unwrap();
    assert_eq!(r.rua, [ReportUri::Mailto("a@example.com".into())]);
    let r = TlsRptRecord::parse(
        "v=TLSRPTv1 ; rua=mailto:a@example.com , HTTPS://r.example.com/x ; ext=1;",
    )
    .unwrap();
    assert_eq!(
        r.rua,
        [
            ReportUri::Mailto("a@example.com".into()),
            ReportUri::Https("HTTPS://r.example.com/x".into())
        ]
    );
    // Other schemes are left out; none left is no record.
    assert_eq!(
        TlsRptRecord::parse("v=TLSRPTv1; rua=ftp://x.example.com/"),
        Err(TlsRptError::NoRua)
    );
    assert_eq!(TlsRptRecord::parse("v=TLSRPTv1;"), Err(TlsRptError::NoRua));
    assert_eq!(
        TlsRptRecord::parse("v=spf1 -all"),
        Err(TlsRptError::NotTlsRpt)
    );
    assert_eq!(
        TlsRptRecord::parse("v=TLSRPTv1; rua=mailto:a@x; rua=mailto:b@x"),
        Err(TlsRptError::DuplicateRua)
    );
    assert!(matches!(
        TlsRptRecord::parse("v=TLSRPTv1; garbage"),
        Err(TlsRptError::Malformed(_))
    ));
    // §3: other TXT records are ignored; not exactly one TLSRPTv1 record, no reporting.
    let one = TlsRptRecord::select(["v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@x"]).unwrap();
    assert_eq!(one.rua.len(), 1);
    assert_eq!(
        TlsRptRecord::select(["v=TLSRPTv1; rua=mailto:a@x", "v=TLSRPTv1; rua=mailto:b@x"]),
        Err(TlsRptError::NotExactlyOne(2))
    );
    assert_eq!(
        TlsRptRecord::select(["v=TLSRPTv1rua=mailto:a@x"]),
        Err(TlsRptError::NotExactlyOne(0))
    );
    let names: Vec<&str> = ResultType::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "starttls-not-supported",
            "certificate-host-mismatch",
            "certificate-expired",
            "certificate-not-trusted",
            "validation-failure",
            "tlsa-invalid",
            "dnssec-invalid",
            "dane-required",
            "sts-policy-fetch-error",
            "sts-policy-invalid",
            "sts-webpki-invalid"
        ]
    );
}

#[test]
fn a_requiretls_message_is_never_sent_in_plaintext() {
    use smtp_proto::client::{ClientEvent, ClientOptions, ClientSession, Envelope};
    use smtp_proto::{Output, TransportSecurity};
    let mut opts = ClientOptions::new("client.example", "mx.example.com", "example.com");
    opts.tls_policy = TlsPolicy::None;
    let mut c = ClientSession::new(opts, TransportSecurity::Plain);
    let mut server: &[&[u8]] = &[
        b"220 mx.example.com ESMTP\r\n",
        b"250-mx.example.com\r\n250 REQUIRETLS\r\n",
    ];
    let mut refused = None;
    let mut wire = Vec::new();
    loop {
        match c.poll().unwrap() {
            Output::Transmit(b) => wire.extend_from_slice(&b),
            Output::Event(ClientEvent::Ready { .. }) => {
                let mut env = Envelope::new("a@example.org", ["b@example.com"]).unwrap();
                env.params.requiretls = true;
                refused = Some(c.send(env).unwrap_err());
                c.quit().unwrap();
            }
            Output::Event(_) => {}
            Output::NeedInput => match server.split_first() {
                Some((chunk, rest)) => {
                    c.feed(chunk);
                    server = rest;
                }
                None => c.feed_eof(),
            },
            Output::StartTls(_) => unreachable!(),
            Output::Close => break,
        }
    }
    let e = refused.expect("the session got ready");
    assert!(
        matches!(
            e,
            smtp_proto::Error::Policy(PolicyViolation::RequireTls {
                missing: RequireTlsMissing::Tls,
                ..
            })
        ),
        "{e:?}"
    );
    assert!(!String::from_utf8_lossy(&wire).contains("MAIL FROM"));
}

#[test]
fn an_mta_sts_policy_gives_each_mx_host_its_verdict() {
    use smtp_proto::client::sts::{StsPolicy, plan_delivery};
    let mx = ["mx1.dane.test", "evil.example.net"];
    let enforce = StsPolicy::parse(
        "version: STSv1\r\nmode: enforce\r\nmx: *.dane.test\r\nmax_age: 86400\r\n",
    )
    .unwrap();
    let plan = plan_delivery(Some(&enforce), &mx);
    assert_eq!(plan.verdict("MX1.dane.test."), StsVerdict::Enforce);
    assert_eq!(
        plan.verdict("evil.example.net"),
        StsVerdict::EnforceMxMismatch
    );
    let none = DaneStatus::NotApplicable(NoDane::MxInsecure);
    assert_eq!(
        choose(
            None,
            &none,
            &plan.verdict("evil.example.net"),
            "evil.example.net",
            &TlsPolicy::May
        ),
        HostPlan::Skip
    );
    let testing = StsPolicy::parse(
        "version: STSv1\r\nmode: testing\r\nmx: *.dane.test\r\nmax_age: 86400\r\n",
    )
    .unwrap();
    assert_eq!(
        plan_delivery(Some(&testing), &mx).verdict("evil.example.net"),
        StsVerdict::Testing
    );
    assert_eq!(
        plan_delivery(None, &mx).verdict("mx1.dane.test"),
        StsVerdict::NoPolicy
    );
}

#[test]
fn tls_required_no_asks_relays_to_ignore_recipient_policies() {
    use smtp_proto::client::policy::ignores_recipient_policies as ignores;
    let m = b"From: a@x\r\nTLS-Required: No\r\nSubject: s\r\n\r\nbody\r\n";
    assert!(ignores(m, false));
    // REQUIRETLS wins (RFC 8689 §4.1).
    assert!(!ignores(m, true));
    assert!(ignores(b"tls-required:   no  \r\n\r\n", false));
    assert!(ignores(
        b"Subject: s\r\nTLS-Required:\r\n No\r\n\r\n",
        false
    ));
    assert!(!ignores(b"TLS-Required: Yes\r\n\r\n", false));
    assert!(!ignores(b"X-TLS-Required: No\r\n\r\n", false));
    // Only the header section counts.
    assert!(!ignores(b"Subject: s\r\n\r\nTLS-Required: No\r\n", false));
    assert!(!ignores(b"", false));
}

#[test]
fn a_tls_report_is_known_by_its_header() {
    use smtp_proto::client::tlsrpt::is_report_message;
    assert!(is_report_message(
        b"From: r@x\r\ntls-report-domain: example.com\r\n\r\n{}"
    ));
    assert!(!is_report_message(
        b"Subject: s\r\n\r\nTLS-Report-Domain: x\r\n"
    ));
}

#[test]
fn an_insecure_answer_at_the_cname_target_falls_back_to_the_host_name() {
    // RFC 7672 §2.2.2: the host's own name may still have Secure records.
    let s = host(vec![
        (
            "_25._tcp.smtp.provider.net",
            Answer::NoRecords(Dnssec::Insecure),
        ),
        (
            "_25._tcp.mx.example.com",
            Answer::Records(vec![tlsa(3)], Dnssec::Secure),
        ),
    ]);
    assert!(matches!(s, DaneStatus::Required { base, .. } if base == "mx.example.com"));
    let s = host(vec![
        (
            "_25._tcp.smtp.provider.net",
            Answer::Records(vec![tlsa(3)], Dnssec::Insecure),
        ),
        ("_25._tcp.mx.example.com", Answer::NoRecords(Dnssec::Secure)),
    ]);
    assert_eq!(s, DaneStatus::NotApplicable(NoDane::TlsaInsecure));
}
