//! MTA-STS (RFC 8461): the TXT record, the policy file, MX matching, the cache rules,
//! the HTTPS response checks and the delivery decision, each test named by the rule it
//! proves.

use proptest::collection::vec;
use proptest::prelude::*;
use smtp_proto::TlsInfo;
use smtp_proto::client::policy::{
    DomainPattern, PolicyMap, TlsPolicy, check_handshake, decide as tls_decide,
};
use smtp_proto::client::sts::*;

const NOW: u64 = 1_700_000_000;
const DAY: u64 = 86_400;

fn id(s: &str) -> StsId {
    StsId::new(s).unwrap()
}

fn policy(mode: &str, mx: &[&str], max_age: u32) -> StsPolicy {
    let mut body = format!("version: STSv1\nmode: {mode}\n");
    for m in mx {
        body.push_str(&format!("mx: {m}\n"));
    }
    body.push_str(&format!("max_age: {max_age}\n"));
    StsPolicy::parse(&body).unwrap()
}

fn entry(mode: &str, max_age: u32, id_: &str, fetched_at: u64) -> CachedPolicy {
    CachedPolicy::new(
        policy(mode, &["mx.example.com"], max_age),
        id(id_),
        fetched_at,
    )
}

// --- §3.1: the TXT record ------------------------------------------------------------

#[test]
fn txt_record_the_rfc_example_parses() {
    let r = StsRecord::parse("v=STSv1; id=20160831085700Z;").unwrap();
    assert_eq!(r.id().as_str(), "20160831085700Z");
    assert_eq!(r.to_string(), "v=STSv1; id=20160831085700Z;");
}

#[test]
fn txt_record_version_must_come_first_and_unknown_fields_are_ignored() {
    assert_eq!(
        StsRecord::parse("id=abc; v=STSv1;"),
        Err(StsError::NotStsRecord)
    );
    let r = StsRecord::parse("v=STSv1; foo.bar=baz; id=abc; x_1=2").unwrap();
    assert_eq!(r.id().as_str(), "abc");
}

#[test]
fn txt_record_id_is_1_to_32_alphanumerics() {
    assert!(StsRecord::parse(&format!("v=STSv1; id={}", "a".repeat(32))).is_ok());
    for bad in [String::new(), "a".repeat(33), "a-b".into(), "a.b".into()] {
        let got = StsRecord::parse(&format!("v=STSv1; id={bad}"));
        assert!(
            matches!(
                got,
                Err(StsError::InvalidId | StsError::InvalidRecordField { .. })
            ),
            "{bad:?}: {got:?}"
        );
        assert_eq!(StsId::new(&bad), Err(StsError::InvalidId));
    }
}

#[test]
fn txt_record_whitespace_only_around_semicolons() {
    assert!(StsRecord::parse("v=STSv1;id=a").is_ok());
    assert!(StsRecord::parse("v=STSv1 \t; \tid=a \t; \t").is_ok());
    // Whitespace without a `;` separates nothing.
    assert!(StsRecord::parse("v=STSv1 id=a").is_err());
    assert!(StsRecord::parse("v=STSv1; id=a ").is_err());
    assert!(StsRecord::parse("v=STSv1; id = a").is_err());
}

#[test]
fn txt_selection_ignores_records_not_starting_with_v_stsv1() {
    let got = StsRecord::select([
        "v=spf1 -all",
        "v=STSv1; id=one;",
        "google-site-verification=x",
    ]);
    assert_eq!(got.record().map(|r| r.id().as_str()), Some("one"));
    // `v=STSv10` and a lowercase version are other records, not MTA-STS ones.
    let got = StsRecord::select(["v=STSv10; id=two;", "V=STSV1; id=three", "v=STSv1; id=one"]);
    assert_eq!(got.record().map(|r| r.id().as_str()), Some("one"));
}

#[test]
fn txt_selection_more_than_one_is_no_policy() {
    let got = StsRecord::select(["v=STSv1; id=one;", "v=STSv1; id=two;"]);
    assert_eq!(got, RecordSelection::Multiple { count: 2 });
    assert_eq!(DnsTxt::from(got), DnsTxt::NoRecord);
    // The same id twice is still two records.
    let got = StsRecord::select(["v=STSv1; id=one;", "v=STSv1; id=one;"]);
    assert_eq!(got, RecordSelection::Multiple { count: 2 });
    // The count is of records beginning with `v=STSv1;`, valid or not (§3.1).
    let got = StsRecord::select(["v=STSv1; id=one;", "v=STSv1; id=not-valid;"]);
    assert_eq!(got, RecordSelection::Multiple { count: 2 });
    // `v=STSv1 ;` begins with the grammar's delimiter: it counts (erratum 6285).
    let got = StsRecord::select(["v=STSv1; id=one;", "v=STSv1 ; id=two;"]);
    assert_eq!(got, RecordSelection::Multiple { count: 2 });
}

#[test]
fn txt_selection_none_and_invalid_are_typed() {
    assert_eq!(
        StsRecord::select(Vec::<String>::new()),
        RecordSelection::Absent
    );
    assert_eq!(StsRecord::select(["v=spf1 -all"]), RecordSelection::Absent);
    assert_eq!(
        StsRecord::select(["v=STSv1; nope"]),
        RecordSelection::Invalid(StsError::InvalidRecordField { field: 1 })
    );
    assert_eq!(
        DnsTxt::from(RecordSelection::Invalid(StsError::MissingId)),
        DnsTxt::NoRecord
    );
}

#[test]
fn txt_record_strings_are_joined_without_spaces() {
    // A TXT record of two character-strings, "v=STSv1; id=20" and "160831;".
    let strings = ["v=STSv1; id=20", "160831;"];
    let r = StsRecord::parse(&strings.concat()).unwrap();
    assert_eq!(r.id().as_str(), "20160831");
}

// --- §3.2: the policy file -----------------------------------------------------------

const RFC_EXAMPLE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n\
                           mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

#[test]
fn policy_the_rfc_example_parses() {
    let p = StsPolicy::parse(RFC_EXAMPLE).unwrap();
    assert_eq!(p.mode(), Mode::Enforce);
    assert_eq!(p.max_age(), 604_800);
    let mx: Vec<String> = p.mx().iter().map(ToString::to_string).collect();
    assert_eq!(
        mx,
        ["mail.example.com", "*.example.net", "backupmx.example.com"]
    );
}

#[test]
fn policy_lf_and_crlf_lines_mean_the_same() {
    let lf = RFC_EXAMPLE.replace("\r\n", "\n");
    assert_eq!(StsPolicy::parse(&lf), StsPolicy::parse(RFC_EXAMPLE));
    let mixed = RFC_EXAMPLE.replacen("\r\n", "\n", 2);
    assert_eq!(StsPolicy::parse(&mixed), StsPolicy::parse(RFC_EXAMPLE));
    // Without the last line ending.
    let bare = RFC_EXAMPLE.trim_end();
    assert_eq!(StsPolicy::parse(bare), StsPolicy::parse(RFC_EXAMPLE));
}

#[test]
fn policy_fields_in_any_order_and_unknown_keys_ignored() {
    let p = StsPolicy::parse(
        "max_age: 86400\nmx: mail.example.com\nx-comment: hello, world\nmode: testing\n\
         version: STSv1\nreport.to: ops\n",
    )
    .unwrap();
    assert_eq!(p, policy("testing", &["mail.example.com"], 86_400));
}

#[test]
fn policy_repeated_single_fields_keep_the_first_and_mx_accumulates() {
    let p = StsPolicy::parse(
        "version: STSv1\nversion: STSv2\nmode: enforce\nmode: none\nmx: a.example\n\
         max_age: 10\nmax_age: 99999999999999\nmx: *.b.example\n",
    )
    .unwrap();
    assert_eq!(p, policy("enforce", &["a.example", "*.b.example"], 10));
}

#[test]
fn policy_mx_is_required_unless_mode_none() {
    assert_eq!(
        StsPolicy::parse("version: STSv1\nmode: enforce\nmax_age: 1"),
        Err(StsError::MissingMx)
    );
    assert_eq!(
        StsPolicy::parse("version: STSv1\nmode: testing\nmax_age: 1"),
        Err(StsError::MissingMx)
    );
    let none = StsPolicy::parse("version: STSv1\nmode: none\nmax_age: 1").unwrap();
    assert!(none.mx().is_empty());
    // Patterns are allowed (and checked) in mode none too.
    assert!(StsPolicy::parse("version: STSv1\nmode: none\nmx: a.example\nmax_age: 1").is_ok());
    assert_eq!(
        StsPolicy::parse("version: STSv1\nmode: none\nmx: a..example\nmax_age: 1"),
        Err(StsError::InvalidMx { line: 3 })
    );
}

#[test]
fn policy_max_age_range_is_0_to_31557600() {
    let body = |v: &str| format!("version: STSv1\nmode: none\nmax_age: {v}\n");
    assert_eq!(StsPolicy::parse(&body("0")).unwrap().max_age(), 0);
    assert_eq!(
        StsPolicy::parse(&body("31557600")).unwrap().max_age(),
        StsPolicy::MAX_AGE_LIMIT
    );
    assert_eq!(
        StsPolicy::parse(&body("31557601")),
        Err(StsError::MaxAgeTooLarge { value: 31_557_601 })
    );
    assert_eq!(
        StsPolicy::parse(&body("4294967296")),
        Err(StsError::MaxAgeTooLarge {
            value: 4_294_967_296
        })
    );
    assert_eq!(
        StsPolicy::parse(&body("12345678901")),
        Err(StsError::InvalidMaxAge { line: 3 })
    );
    assert_eq!(
        StsPolicy::parse(&body("+1")),
        Err(StsError::InvalidMaxAge { line: 3 })
    );
    assert_eq!(
        StsPolicy::new(Mode::None, StsPolicy::MAX_AGE_LIMIT + 1, vec![]),
        Err(StsError::MaxAgeTooLarge { value: 31_557_601 })
    );
}

#[test]
fn policy_every_invalid_case_is_its_own_error() {
    let cases = [
        ("", StsError::EmptyPolicy),
        (
            "version: STSv1\n\nmode: none",
            StsError::EmptyLine { line: 2 },
        ),
        ("version STSv1", StsError::MissingColon { line: 1 }),
        ("ver sion: STSv1", StsError::InvalidKey { line: 1 }),
        (
            "version: STSv1\nx: a\u{0}b",
            StsError::InvalidValue { line: 2 },
        ),
        ("mode: none\nmax_age: 1", StsError::MissingVersion),
        ("version: STSv2", StsError::InvalidVersion { line: 1 }),
        ("version: STSv1\nmax_age: 1", StsError::MissingMode),
        (
            "version: STSv1\nmode: strict",
            StsError::InvalidMode { line: 2 },
        ),
        ("version: STSv1\nmode: none", StsError::MissingMaxAge),
        (
            "version: STSv1\nmode: none\nmax_age: 1d",
            StsError::InvalidMaxAge { line: 3 },
        ),
        (
            "version: STSv1\nmode: none\nmax_age: 99999999",
            StsError::MaxAgeTooLarge { value: 99_999_999 },
        ),
        (
            "version: STSv1\nmode: enforce\nmax_age: 1",
            StsError::MissingMx,
        ),
        (
            "version: STSv1\nmode: enforce\nmx: *.*.a\nmax_age: 1",
            StsError::InvalidMx { line: 3 },
        ),
    ];
    let mut seen = Vec::new();
    for (body, want) in cases {
        let got = StsPolicy::parse(body).unwrap_err();
        assert_eq!(got, want, "{body:?}");
        assert!(!got.is_fetch_error());
        let kind = std::mem::discriminant(&got);
        assert!(!seen.contains(&kind), "{got:?} twice");
        seen.push(kind);
    }
}

#[test]
fn policy_display_is_a_canonical_crlf_file() {
    let p =
        StsPolicy::parse("max_age: 0604800\nmx: MAIL.example.COM\nmode: enforce\nversion: STSv1")
            .unwrap();
    assert_eq!(
        p.to_string(),
        "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
    );
    assert_eq!(StsPolicy::parse(&p.to_string()), Ok(p));
}

fn mx_pattern() -> impl Strategy<Value = MxPattern> {
    let label = prop_oneof!["[a-zA-Z0-9]", "[a-zA-Z0-9][a-zA-Z0-9-]{0,10}[a-zA-Z0-9]"];
    (any::<bool>(), vec(label, 1..4)).prop_map(|(wild, labels)| {
        let d = labels.join(".");
        MxPattern::parse(&if wild { format!("*.{d}") } else { d }).unwrap()
    })
}

fn sts_policy() -> impl Strategy<Value = StsPolicy> {
    let mode = prop_oneof![Just(Mode::Enforce), Just(Mode::Testing), Just(Mode::None)];
    (mode, 0..=StsPolicy::MAX_AGE_LIMIT, vec(mx_pattern(), 0..5))
        .prop_filter_map("mx required", |(mode, age, mx)| {
            StsPolicy::new(mode, age, mx).ok()
        })
}

proptest! {
    #[test]
    fn policy_display_parses_back(p in sts_policy()) {
        prop_assert_eq!(StsPolicy::parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn record_display_parses_back(id in "[a-zA-Z0-9]{1,32}") {
        let r = StsRecord::new(StsId::new(&id).unwrap());
        prop_assert_eq!(StsRecord::parse(&r.to_string()), Ok(r));
    }

    /// No input panics: every parser returns a value or a typed error.
    #[test]
    fn parsers_never_panic(s in "(?s).{0,200}", bytes in vec(any::<u8>(), 0..200), status in any::<u16>()) {
        let _ = StsRecord::parse(&s);
        let _ = StsRecord::select([s.as_str(), "v=STSv1;"]);
        let _ = StsPolicy::parse(&s);
        let _ = MxPattern::parse(&s);
        let _ = validate_response(status, Some(&s), &bytes);
        let _ = validate_response(200, Some("text/plain"), &bytes);
        let p = policy("testing", &["*.example.com"], 1);
        let _ = p.matches_mx(&s);
        let _ = p.plan(&[s.as_str()]);
    }

    /// Policy-shaped noise: lines of known keys with arbitrary values.
    #[test]
    fn policy_lines_never_panic(lines in vec(("(version|mode|mx|max_age|x)", ":[ \t]?", "[ -~\t\r\u{e9}]{0,12}"), 0..8), crlf in any::<bool>()) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let body: String = lines.iter().map(|(k, d, v)| format!("{k}{d}{v}{eol}")).collect();
        let _ = StsPolicy::parse(&body);
    }
}

// --- §4.1: MX host matching ------------------------------------------------------------

#[test]
fn mx_wildcard_matches_exactly_one_leftmost_label() {
    let p = MxPattern::parse("*.example.com").unwrap();
    assert!(p.matches("mail.example.com"));
    assert!(!p.matches("example.com"));
    assert!(!p.matches("a.b.example.com"));
    assert!(!p.matches(".example.com"));
    assert!(!p.matches("*.example.com"));
    assert!(!p.matches("mailexample.com"));
    assert!(!p.matches("mail.example.com.evil"));
}

#[test]
fn mx_plain_pattern_matches_exactly() {
    let p = MxPattern::parse("mail.example.com").unwrap();
    assert!(p.matches("mail.example.com"));
    assert!(!p.matches("mx.mail.example.com"));
    assert!(!p.matches("example.com"));
    assert!(!p.matches(""));
}

#[test]
fn mx_matching_ignores_case_and_one_trailing_dot() {
    let p = policy("enforce", &["Mail.Example.com", "*.EXAMPLE.net"], 60);
    assert!(p.matches_mx("MAIL.example.COM"));
    assert!(p.matches_mx("mail.example.com."));
    assert!(p.matches_mx("Mx1.Example.Net."));
    assert!(!p.matches_mx("mail.example.com.."));
    assert!(!p.matches_mx("."));
}

/// The same text, two meanings: in the local policy map `.example.com` (and
/// `*.example.com`) covers subdomains at any depth (Postfix); in an MTA-STS policy
/// `*.example.com` covers one label only (RFC 8461 §4.1).
#[test]
fn mx_wildcard_is_narrower_than_the_local_policy_maps_pattern() {
    let mut map = PolicyMap::new();
    map.insert(
        DomainPattern::parse(".example.com").unwrap(),
        TlsPolicy::Verify,
    );
    let sts = MxPattern::parse("*.example.com").unwrap();
    for (host, local, mta_sts) in [
        ("mail.example.com", true, true),
        ("a.b.example.com", true, false),
        ("example.com", false, false),
    ] {
        assert_eq!(map.lookup(host).is_some(), local, "local map, {host}");
        assert_eq!(sts.matches(host), mta_sts, "MTA-STS, {host}");
    }
    // The local map reads `*.example.com` as `.example.com`: any depth still.
    assert_eq!(
        DomainPattern::parse("*.example.com"),
        DomainPattern::parse(".example.com")
    );
}

// --- §3.3, §5.1, §10.2: the cache ----------------------------------------------------

#[test]
fn cache_freshness_is_max_age_from_the_fetch() {
    let e = entry("enforce", 3600, "a", NOW);
    assert_eq!(e.expires_at(), NOW + 3600);
    assert!(e.is_fresh(NOW));
    assert!(e.is_fresh(NOW + 3599));
    assert!(!e.is_fresh(NOW + 3600));
    // A clock that went back does not expire it.
    assert!(e.is_fresh(NOW - 10));
    assert!(!entry("enforce", 0, "a", NOW).is_fresh(NOW));
    // No overflow at the end of time.
    assert!(entry("enforce", 3600, "a", u64::MAX - 10).is_fresh(u64::MAX - 5));
}

#[test]
fn cache_same_id_uses_the_cached_policy() {
    let e = entry("enforce", 7 * DAY as u32, "a", NOW);
    let d = decide_cache(Some(&e), &DnsTxt::Record(id("a")), NOW + 60);
    assert_eq!(
        d,
        CacheDecision::UseCached {
            entry: &e,
            refresh: false
        }
    );
    assert_eq!(d.policy(), Some(&e.policy));
}

#[test]
fn cache_new_id_fetches_and_keeps_the_old_policy_meanwhile() {
    let e = entry("enforce", 7 * DAY as u32, "a", NOW);
    let d = decide_cache(Some(&e), &DnsTxt::Record(id("b")), NOW + 60);
    assert_eq!(
        d,
        CacheDecision::Fetch {
            id: id("b"),
            fallback: Some(&e)
        }
    );
    assert_eq!(d.policy(), Some(&e.policy));
    // Ids compare exactly, case included.
    let d = decide_cache(Some(&e), &DnsTxt::Record(id("A")), NOW + 60);
    assert!(matches!(d, CacheDecision::Fetch { .. }));
}

#[test]
fn cache_expired_entry_is_fetched_again_even_with_the_same_id() {
    let e = entry("enforce", 3600, "a", NOW);
    let d = decide_cache(Some(&e), &DnsTxt::Record(id("a")), NOW + 3600);
    assert_eq!(
        d,
        CacheDecision::Fetch {
            id: id("a"),
            fallback: None
        }
    );
    assert_eq!(d.policy(), None);
}

#[test]
fn cache_nothing_cached_and_a_record_fetches() {
    let d = decide_cache(None, &DnsTxt::Record(id("a")), NOW);
    assert_eq!(
        d,
        CacheDecision::Fetch {
            id: id("a"),
            fallback: None
        }
    );
}

#[test]
fn cache_missing_or_failed_dns_keeps_a_fresh_policy() {
    let e = entry("enforce", 7 * DAY as u32, "a", NOW);
    for txt in [DnsTxt::NoRecord, DnsTxt::Failed] {
        let d = decide_cache(Some(&e), &txt, NOW + 60);
        assert_eq!(
            d,
            CacheDecision::UseCached {
                entry: &e,
                refresh: false
            },
            "{txt:?}"
        );
    }
}

#[test]
fn cache_missing_or_failed_dns_without_a_fresh_policy_is_no_policy() {
    let expired = entry("enforce", 60, "a", NOW);
    for txt in [DnsTxt::NoRecord, DnsTxt::Failed] {
        assert_eq!(decide_cache(None, &txt, NOW), CacheDecision::NoPolicy);
        assert_eq!(
            decide_cache(Some(&expired), &txt, NOW + 60),
            CacheDecision::NoPolicy
        );
    }
}

#[test]
fn cache_refresh_is_due_once_a_day() {
    let e = entry("enforce", 7 * DAY as u32, "a", NOW);
    let d = decide_cache(Some(&e), &DnsTxt::Record(id("a")), NOW + DAY - 1);
    assert!(matches!(d, CacheDecision::UseCached { refresh: false, .. }));
    let d = decide_cache(Some(&e), &DnsTxt::Failed, NOW + DAY);
    assert!(matches!(d, CacheDecision::UseCached { refresh: true, .. }));
}

#[test]
fn after_fetch_stores_a_valid_policy() {
    let old = entry("testing", 7 * DAY as u32, "a", NOW);
    let new = policy("enforce", &["mx.example.com"], 600);
    let u = after_fetch(Some(old), id("b"), Ok(new.clone()), NOW + 60);
    assert_eq!(
        u,
        CacheUpdate::Store(CachedPolicy::new(new, id("b"), NOW + 60))
    );
    assert!(!u.should_alert());
}

#[test]
fn after_fetch_a_failed_refresh_never_replaces_a_valid_policy() {
    let old = entry("enforce", 7 * DAY as u32, "a", NOW);
    let u = after_fetch(
        Some(old.clone()),
        id("b"),
        Err(StsError::HttpStatus { status: 500 }),
        NOW + 60,
    );
    assert_eq!(u.entry(), Some(&old));
    assert!(matches!(
        u,
        CacheUpdate::KeepCached {
            error: StsError::HttpStatus { status: 500 },
            ..
        }
    ));
    assert!(u.should_alert());
    // Nor does an invalid policy body.
    let u = after_fetch(
        Some(old.clone()),
        id("b"),
        Err(StsError::MissingMx),
        NOW + 60,
    );
    assert_eq!(u.entry(), Some(&old));
}

#[test]
fn after_fetch_failure_with_nothing_fresh_is_no_policy() {
    let expired = entry("enforce", 60, "a", NOW);
    let u = after_fetch(
        Some(expired),
        id("a"),
        Err(StsError::WrongMediaType),
        NOW + 60,
    );
    assert_eq!(
        u,
        CacheUpdate::NoPolicy {
            error: StsError::WrongMediaType
        }
    );
    assert_eq!(u.entry(), None);
    let u = after_fetch(None, id("a"), Err(StsError::TooLarge { len: 1 << 20 }), NOW);
    assert!(matches!(u, CacheUpdate::NoPolicy { .. }));
}

#[test]
fn after_fetch_no_alert_when_the_cached_mode_is_none() {
    let old = CachedPolicy::new(policy("none", &[], 7 * DAY as u32), id("a"), NOW);
    let u = after_fetch(
        Some(old),
        id("a"),
        Err(StsError::Redirect { status: 301 }),
        NOW + 1,
    );
    assert!(matches!(u, CacheUpdate::KeepCached { .. }));
    assert!(!u.should_alert());
}

// --- §3.3: the HTTPS response --------------------------------------------------------

#[test]
fn response_200_text_plain_is_parsed() {
    let p = validate_response(200, Some("text/plain"), RFC_EXAMPLE.as_bytes()).unwrap();
    assert_eq!(p, StsPolicy::parse(RFC_EXAMPLE).unwrap());
    for ct in [
        "text/plain; charset=utf-8",
        "TEXT/Plain;charset=us-ascii",
        " text/plain ; format=flowed",
        "text/plain; charset=iso-8859-1",
    ] {
        assert!(
            validate_response(200, Some(ct), RFC_EXAMPLE.as_bytes()).is_ok(),
            "{ct}"
        );
    }
}

#[test]
fn response_redirects_and_other_statuses_are_errors() {
    for status in [301, 302, 303, 307, 308, 300, 399] {
        let e = validate_response(status, Some("text/plain"), RFC_EXAMPLE.as_bytes()).unwrap_err();
        assert_eq!(e, StsError::Redirect { status });
        assert!(e.is_fetch_error());
    }
    for status in [0, 100, 201, 204, 206, 404, 500] {
        assert_eq!(
            validate_response(status, Some("text/plain"), RFC_EXAMPLE.as_bytes()),
            Err(StsError::HttpStatus { status })
        );
    }
}

#[test]
fn response_media_type_must_be_text_plain() {
    assert_eq!(
        validate_response(200, None, RFC_EXAMPLE.as_bytes()),
        Err(StsError::MissingContentType)
    );
    for ct in [
        "text/html",
        "text/plainx",
        "application/octet-stream",
        "",
        "text/ plain",
        "text",
    ] {
        assert_eq!(
            validate_response(200, Some(ct), RFC_EXAMPLE.as_bytes()),
            Err(StsError::WrongMediaType),
            "{ct:?}"
        );
    }
}

#[test]
fn response_body_is_at_most_64_kib() {
    // A valid policy padded with an extension field to exactly the limit.
    let head = "version: STSv1\nmode: none\nmax_age: 1\nx: ";
    let pad = MAX_POLICY_SIZE - head.len() - 1;
    let body = format!("{head}{}\n", "a".repeat(pad));
    assert_eq!(body.len(), MAX_POLICY_SIZE);
    assert!(validate_response(200, Some("text/plain"), body.as_bytes()).is_ok());
    let body = format!("{head}{}\n", "a".repeat(pad + 1));
    assert_eq!(
        validate_response(200, Some("text/plain"), body.as_bytes()),
        Err(StsError::TooLarge {
            len: MAX_POLICY_SIZE + 1
        })
    );
}

#[test]
fn response_body_must_be_utf8() {
    let e = validate_response(200, Some("text/plain"), b"version: STSv1\n\xff").unwrap_err();
    assert_eq!(e, StsError::NotUtf8 { valid_up_to: 15 });
    assert!(!e.is_fetch_error());
}

// --- §4.2, §5: delivery ----------------------------------------------------------------

const MX: [&str; 4] = [
    "mx1.example.net.",
    "evil.example.org",
    "MAIL.example.com",
    "a.b.example.net",
];

#[test]
fn deliver_enforce_keeps_matching_hosts_in_order_with_tls_required() {
    let p = policy("enforce", &["mail.example.com", "*.example.net"], 60);
    let StsDelivery::Enforce { hosts, refused } = plan_delivery(Some(&p), &MX) else {
        panic!("not enforce")
    };
    let names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(names, ["mx1.example.net", "mail.example.com"]);
    for h in &hosts {
        assert_eq!(
            h.tls,
            TlsPolicy::Secure {
                names: vec![h.host.clone()]
            }
        );
        assert!(h.tls.requires_tls());
    }
    assert_eq!(
        refused,
        [
            StsFailure::MxMismatch {
                host: "evil.example.org".into()
            },
            StsFailure::MxMismatch {
                host: "a.b.example.net".into()
            },
        ]
    );
}

#[test]
fn deliver_enforce_with_no_matching_host_uses_none() {
    let p = policy("enforce", &["mail.example.com"], 60);
    let StsDelivery::Enforce { hosts, refused } = p.plan(&["evil.example.org"]) else {
        panic!("not enforce")
    };
    assert!(hosts.is_empty());
    assert_eq!(refused.len(), 1);
}

#[test]
fn deliver_enforce_requires_starttls_and_a_verified_certificate() {
    let p = policy("enforce", &["mail.example.com"], 60);
    let StsDelivery::Enforce { hosts, .. } = p.plan(&["mail.example.com"]) else {
        panic!("not enforce")
    };
    let req = &hosts[0];
    // No STARTTLS offered: refused by the TLS policy.
    let v = tls_decide(&req.tls, false, &req.host, "example.com").unwrap_err();
    assert_eq!(
        StsFailure::from_violation(&v),
        Some(StsFailure::StartTlsNotSupported {
            host: "mail.example.com".into()
        })
    );
    // TLS, certificate not verified: refused.
    let info = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap();
    let v = check_handshake(&req.tls, &info, &req.host, "example.com").unwrap_err();
    assert_eq!(
        StsFailure::from_violation(&v),
        Some(StsFailure::CertificateInvalid {
            host: "mail.example.com".into()
        })
    );
    let info = info.with_peer_verified(true);
    assert!(check_handshake(&req.tls, &info, &req.host, "example.com").is_ok());
}

#[test]
fn deliver_testing_uses_every_host_and_reports_what_would_fail() {
    let p = policy("testing", &["mail.example.com", "*.example.net"], 60);
    let StsDelivery::Testing { hosts, would_fail } = plan_delivery(Some(&p), &MX) else {
        panic!("not testing")
    };
    let names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(
        names,
        [
            "mx1.example.net",
            "evil.example.org",
            "mail.example.com",
            "a.b.example.net"
        ]
    );
    let failed: Vec<&str> = would_fail.iter().map(StsFailure::host).collect();
    assert_eq!(failed, ["evil.example.org", "a.b.example.net"]);
    // What the session would have needed, for the report only.
    assert_eq!(
        hosts[1].tls,
        TlsPolicy::Secure {
            names: vec!["evil.example.org".into()]
        }
    );
}

#[test]
fn deliver_mode_none_or_no_policy_is_as_usual() {
    let p = policy("none", &["mail.example.com"], 60);
    assert_eq!(plan_delivery(Some(&p), &MX), StsDelivery::AsUsual);
    assert_eq!(plan_delivery::<&str>(None, &MX), StsDelivery::AsUsual);
    assert_eq!(
        plan_delivery(CacheDecision::NoPolicy.policy(), &MX),
        StsDelivery::AsUsual
    );
}

#[test]
fn deliver_violations_outside_mta_sts_map_to_nothing() {
    let v = smtp_proto::client::policy::PolicyViolation::AuthWithoutTls {
        server: "mx".into(),
    };
    assert_eq!(StsFailure::from_violation(&v), None);
}
