//! MTA-STS (feature `mta-sts`): the policy fetch over HTTPS, the cache and the plan
//! for MX hosts, against policy hosts on 127.0.0.1 (certificates from a test CA; the
//! fetcher resolves only the names given to it, so nothing leaves the machine).
#![cfg(feature = "mta-sts")]

#[path = "support/policy_host.rs"]
mod policy_host;
mod support;

use policy_host::{Answer, PolicyHost, Seen, foreign_pki, ok, policy, response};
use smtp_client::CertFailure;
use smtp_client::mta_sts::{
    CachedPolicy, DnsTxt, FetchError, FetchOptions, HttpsFetcher, MemoryCache, Mode, MtaSts,
    PolicyCache, PolicyFailure, PolicyFetcher, ResultType, StsDelivery, StsError, StsId, dns_txt,
};
use smtp_client::proto::client::policy::{StsVerdict, TlsPolicy};
use std::time::{Duration, Instant};
use support::{Ca, Cert};

const T0: u64 = 1_700_000_000;

const ENFORCE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx1.enforce.test\r\n\
                       mx: *.mail.enforce.test\r\nmax_age: 604800\r\n";
const TESTING: &str =
    "version: STSv1\r\nmode: testing\r\nmx: mx.testing.test\r\nmax_age: 86400\r\n";
const NONE: &str = "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n";
/// For the cache tests: valid for an hour.
const HOUR: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx.cache.test\r\nmax_age: 3600\r\n";
const HOUR_TESTING: &str =
    "version: STSv1\r\nmode: testing\r\nmx: mx.cache.test\r\nmax_age: 3600\r\n";

/// The hosts the main policy host has a certificate for, and answers.
const NAMES: &[&str] = &[
    "mta-sts.enforce.test",
    "mta-sts.testing.test",
    "mta-sts.none.test",
    "mta-sts.redirect.test",
    "mta-sts.big.test",
    "mta-sts.endless.test",
    "mta-sts.html.test",
    "mta-sts.invalid.test",
    "mta-sts.missing.test",
    "mta-sts.stall.test",
    "mta-sts.cache.test",
];

struct Lab {
    ca: Ca,
    main: PolicyHost,
    /// A certificate for `mta-sts.other.test` only, from the test CA.
    wrong_name: PolicyHost,
    /// A certificate for `mta-sts.untrusted.test` from a CA the client does not trust.
    untrusted: PolicyHost,
    /// The same from an untrusted CA that bears the test CA's name.
    namesake: PolicyHost,
}

async fn lab() -> Lab {
    let ca = Ca::new();
    let main = PolicyHost::start(
        &ca.issue_for(NAMES, Cert::Valid),
        &[
            ("mta-sts.enforce.test", policy(ENFORCE)),
            ("mta-sts.testing.test", policy(TESTING)),
            ("mta-sts.none.test", policy(NONE)),
            (
                "mta-sts.redirect.test",
                response(
                    "301 Moved Permanently",
                    &[(
                        "Location",
                        "https://mta-sts.enforce.test/.well-known/mta-sts.txt",
                    )],
                    b"",
                ),
            ),
            (
                "mta-sts.big.test",
                ok("text/plain", &"mx: mx.example.com\r\n".repeat(3500)),
            ),
            ("mta-sts.endless.test", Answer::Endless),
            ("mta-sts.html.test", ok("text/html", ENFORCE)),
            (
                "mta-sts.invalid.test",
                policy("version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n"),
            ),
            ("mta-sts.stall.test", Answer::Stall),
            ("mta-sts.cache.test", policy(HOUR)),
        ],
    )
    .await;
    let wrong_name = PolicyHost::start(
        &ca.issue_for(&["mta-sts.other.test"], Cert::WrongName),
        &[("mta-sts.wrongname.test", policy(ENFORCE))],
    )
    .await;
    let untrusted = PolicyHost::start(
        &foreign_pki("untrusted CA", &["mta-sts.untrusted.test"]),
        &[("mta-sts.untrusted.test", policy(ENFORCE))],
    )
    .await;
    let namesake = PolicyHost::start(
        &Ca::new().issue_for(&["mta-sts.namesake.test"], Cert::Valid),
        &[("mta-sts.namesake.test", policy(ENFORCE))],
    )
    .await;
    Lab {
        ca,
        main,
        wrong_name,
        untrusted,
        namesake,
    }
}

impl Lab {
    /// Trusts the test CA only, knows the lab's hosts only, gives up after 5 s.
    fn options(&self) -> FetchOptions {
        let mut o = FetchOptions::default()
            .with_trust(self.ca.trust())
            .with_timeout(Duration::from_secs(5))
            .only_resolved();
        for name in NAMES {
            o = o.resolve(name, self.main.addr());
        }
        o.resolve("mta-sts.wrongname.test", self.wrong_name.addr())
            .resolve("mta-sts.untrusted.test", self.untrusted.addr())
            .resolve("mta-sts.namesake.test", self.namesake.addr())
    }

    fn fetcher(&self) -> HttpsFetcher {
        HttpsFetcher::new(self.options()).unwrap()
    }

    fn sts(&self) -> MtaSts {
        MtaSts::https(self.options()).unwrap()
    }
}

fn txt(id: &str) -> DnsTxt {
    dns_txt(Some([format!("v=STSv1; id={id};")]))
}

fn response_error(f: &PolicyFailure) -> &StsError {
    match f {
        PolicyFailure::Response { error, .. } => error,
        other => panic!("not a response error: {other:?}"),
    }
}

// The fetch.

#[tokio::test]
async fn fetch_gets_the_policy_by_its_well_known_url() {
    let lab = lab().await;
    let sts = lab.sts();
    for (domain, mode) in [
        ("enforce.test", Mode::Enforce),
        ("Testing.Test.", Mode::Testing),
        ("none.test", Mode::None),
    ] {
        let policy = sts.fetch_policy(domain).await.unwrap();
        assert_eq!(policy.mode(), mode, "{domain}");
    }
    let enforce = lab.fetcher().fetch("enforce.test").await.unwrap();
    assert_eq!(enforce.status, 200);
    assert_eq!(
        enforce.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(enforce.body, ENFORCE.as_bytes());
    // The URL has no port: the Host field is the policy host's name alone.
    assert_eq!(
        lab.main.seen()[0],
        Seen {
            line: "GET /.well-known/mta-sts.txt HTTP/1.1".into(),
            host: "mta-sts.enforce.test".into(),
        }
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let lab = lab().await;
    let response = lab.fetcher().fetch("redirect.test").await.unwrap();
    assert_eq!(response.status, 301);
    assert!(response.body.is_empty());
    let failure = lab.sts().fetch_policy("redirect.test").await.unwrap_err();
    assert_eq!(
        response_error(&failure),
        &StsError::Redirect { status: 301 }
    );
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);
    // The Location's host was never asked.
    assert_eq!(lab.main.requests("mta-sts.enforce.test"), 0);
    assert_eq!(lab.main.requests("mta-sts.redirect.test"), 2);
}

#[tokio::test]
async fn other_statuses_media_types_and_bad_policies_are_refused() {
    let lab = lab().await;
    let sts = lab.sts();
    let missing = sts.fetch_policy("missing.test").await.unwrap_err();
    assert_eq!(
        response_error(&missing),
        &StsError::HttpStatus { status: 404 }
    );
    assert_eq!(missing.result_type(), ResultType::StsPolicyFetchError);
    let html = sts.fetch_policy("html.test").await.unwrap_err();
    assert_eq!(response_error(&html), &StsError::WrongMediaType);
    assert_eq!(html.result_type(), ResultType::StsPolicyFetchError);
    let invalid = sts.fetch_policy("invalid.test").await.unwrap_err();
    assert_eq!(response_error(&invalid), &StsError::MissingMx);
    assert_eq!(invalid.result_type(), ResultType::StsPolicyInvalid);
}

#[tokio::test]
async fn a_body_announced_over_64_kib_is_not_read() {
    let lab = lab().await;
    let err = lab.fetcher().fetch("big.test").await.unwrap_err();
    assert_eq!(
        err,
        FetchError::TooLarge {
            host: "mta-sts.big.test".into(),
            len: 70_000,
        }
    );
    let failure = lab.sts().fetch_policy("big.test").await.unwrap_err();
    assert_eq!(failure.result_type(), ResultType::StsPolicyFetchError);
    assert_eq!(
        failure.sts_error(),
        Some(StsError::TooLarge { len: 70_000 })
    );
}

#[tokio::test]
async fn reading_an_endless_body_stops_past_64_kib() {
    let lab = lab().await;
    let started = Instant::now();
    let err = lab.fetcher().fetch("endless.test").await.unwrap_err();
    // The body never ends: only a reader that stops could have returned, and it
    // stopped at the first frame past the cap.
    let FetchError::TooLarge { len, .. } = err else {
        panic!("{err:?}")
    };
    assert!((65_537..=65_536 + 16_000).contains(&len), "{len}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // And it closed the connection: the host's writes fail soon after.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lab.main.endless().1 {
        assert!(
            Instant::now() < deadline,
            "still sending: {:?}",
            lab.main.endless()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_is_webpki_invalid() {
    let lab = lab().await;
    let err = lab.fetcher().fetch("wrongname.test").await.unwrap_err();
    let FetchError::Certificate { host, failure, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(host, "mta-sts.wrongname.test");
    assert_eq!(failure, &CertFailure::NameMismatch);
    assert_eq!(err.result_type(), ResultType::StsWebpkiInvalid);
    // No request went out over it.
    assert!(lab.wrong_name.seen().is_empty());
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_is_webpki_invalid() {
    let lab = lab().await;
    let failure = lab.sts().fetch_policy("untrusted.test").await.unwrap_err();
    let PolicyFailure::Fetch(FetchError::Certificate { failure: why, .. }) = &failure else {
        panic!("{failure:?}")
    };
    assert_eq!(why, &CertFailure::UnknownIssuer);
    assert_eq!(failure.result_type(), ResultType::StsWebpkiInvalid);
    assert!(lab.untrusted.seen().is_empty());
    // A CA with the trusted one's name: the chain's signature fails instead.
    let err = lab.fetcher().fetch("namesake.test").await.unwrap_err();
    let FetchError::Certificate { failure: why, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(why, &CertFailure::BadSignature);
    assert_eq!(err.result_type(), ResultType::StsWebpkiInvalid);
    assert!(lab.namesake.seen().is_empty());
}

#[tokio::test]
async fn a_stalled_host_meets_the_time_limit() {
    let lab = lab().await;
    let fetcher =
        HttpsFetcher::new(lab.options().with_timeout(Duration::from_millis(300))).unwrap();
    let started = Instant::now();
    let err = fetcher.fetch("stall.test").await.unwrap_err();
    assert_eq!(
        err,
        FetchError::Timeout {
            host: "mta-sts.stall.test".into(),
            after: Duration::from_millis(300),
        }
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.result_type(), ResultType::StsPolicyFetchError);
}

#[tokio::test]
async fn unknown_hosts_and_closed_ports_are_connect_errors() {
    let lab = lab().await;
    // Not among the fixed addresses, and DNS is off: nothing leaves the lab.
    let err = lab.fetcher().fetch("elsewhere.test").await.unwrap_err();
    assert!(
        matches!(&err, FetchError::Connect { host, .. } if host == "mta-sts.elsewhere.test"),
        "{err:?}"
    );
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], support::dead_port().await));
    let fetcher = HttpsFetcher::new(lab.options().resolve("mta-sts.down.test", dead)).unwrap();
    let err = fetcher.fetch("down.test").await.unwrap_err();
    assert!(matches!(err, FetchError::Connect { .. }), "{err:?}");
    assert_eq!(err.result_type(), ResultType::StsPolicyFetchError);
    let err = fetcher.fetch("bad domain").await.unwrap_err();
    assert!(matches!(err, FetchError::InvalidDomain { .. }), "{err:?}");
}

// The cache.

#[tokio::test]
async fn a_fresh_policy_is_used_without_fetching() {
    let lab = lab().await;
    let sts = lab.sts();
    let mx = ["mx.cache.test"];
    let first = sts.plan("cache.test", &txt("one"), &mx, T0).await;
    assert_eq!(first.policy.as_ref().unwrap().mode(), Mode::Enforce);
    assert_eq!(lab.main.requests("mta-sts.cache.test"), 1);
    // Same id, DNS failing, or no record at all: the fresh policy applies, no fetch.
    for (later, dns) in [
        (T0 + 60, txt("one")),
        (T0 + 1800, DnsTxt::Failed),
        (T0 + 3599, DnsTxt::NoRecord),
    ] {
        let again = sts.plan("Cache.Test.", &dns, &mx, later).await;
        assert_eq!(again, first, "{dns:?}");
    }
    assert_eq!(lab.main.requests("mta-sts.cache.test"), 1);
    let entry = sts.cache().get("cache.test").await.unwrap();
    assert_eq!(entry.fetched_at, T0);
    assert_eq!(entry.id.as_str(), "one");
}

#[tokio::test]
async fn an_expired_policy_is_fetched_again() {
    let lab = lab().await;
    let sts = lab.sts();
    let mx = ["mx.cache.test"];
    sts.plan("cache.test", &txt("one"), &mx, T0).await;
    lab.main.set("mta-sts.cache.test", policy(HOUR_TESTING));
    // max_age 3600: expired an hour later, same id or not.
    let later = sts.plan("cache.test", &txt("one"), &mx, T0 + 3600).await;
    assert_eq!(lab.main.requests("mta-sts.cache.test"), 2);
    assert_eq!(later.policy.unwrap().mode(), Mode::Testing);
    assert_eq!(
        sts.cache().get("cache.test").await.unwrap().fetched_at,
        T0 + 3600
    );
    // Expired with no record left: no policy, and nothing fetched.
    let gone = sts
        .plan("cache.test", &DnsTxt::NoRecord, &mx, T0 + 7200)
        .await;
    assert_eq!(gone.delivery, StsDelivery::AsUsual);
    assert!(gone.policy.is_none() && gone.failure.is_none());
    assert_eq!(lab.main.requests("mta-sts.cache.test"), 2);
}

#[tokio::test]
async fn a_new_id_is_fetched_at_once() {
    let lab = lab().await;
    let sts = lab.sts();
    let mx = ["mx.cache.test"];
    sts.plan("cache.test", &txt("one"), &mx, T0).await;
    lab.main.set("mta-sts.cache.test", policy(HOUR_TESTING));
    let next = sts.plan("cache.test", &txt("two"), &mx, T0 + 10).await;
    assert_eq!(lab.main.requests("mta-sts.cache.test"), 2);
    assert_eq!(next.policy.unwrap().mode(), Mode::Testing);
    assert!(next.failure.is_none());
    let entry = sts.cache().get("cache.test").await.unwrap();
    assert_eq!((entry.id.as_str(), entry.fetched_at), ("two", T0 + 10));
}

#[tokio::test]
async fn a_failed_fetch_keeps_the_valid_cached_policy() {
    let lab = lab().await;
    let sts = lab.sts();
    let mx = ["mx.cache.test", "other.example"];
    let first = sts.plan("cache.test", &txt("one"), &mx, T0).await;
    // The policy host now answers 500: a new id cannot be fetched.
    lab.main.set(
        "mta-sts.cache.test",
        response("500 Internal Server Error", &[], b""),
    );
    let failed = sts.plan("cache.test", &txt("two"), &mx, T0 + 10).await;
    assert_eq!(lab.main.requests("mta-sts.cache.test"), 2);
    assert_eq!(failed.delivery, first.delivery);
    assert_eq!(failed.policy, first.policy);
    assert_eq!(
        response_error(failed.failure.as_ref().unwrap()),
        &StsError::HttpStatus { status: 500 }
    );
    assert_eq!(failed.result_type(), Some(ResultType::StsPolicyFetchError));
    assert!(failed.should_alert());
    let entry = sts.cache().get("cache.test").await.unwrap();
    assert_eq!((entry.id.as_str(), entry.fetched_at), ("one", T0));

    // Within five minutes the same id is not asked again; the failure is repeated.
    let again = sts.plan("cache.test", &txt("two"), &mx, T0 + 200).await;
    assert_eq!(lab.main.requests("mta-sts.cache.test"), 2);
    assert_eq!(again, failed);
    // Five minutes on, it is; a stall (no response at all) keeps the policy too.
    let quick = HttpsFetcher::new(lab.options().with_timeout(Duration::from_millis(300))).unwrap();
    let sts_quick = MtaSts::new(quick, MemoryCache::new());
    let entry = sts.cache().get("cache.test").await.unwrap();
    sts_quick.cache().put("cache.test", entry.clone()).await;
    lab.main.set("mta-sts.cache.test", Answer::Stall);
    let stalled = sts_quick
        .plan("cache.test", &txt("two"), &mx, T0 + 400)
        .await;
    assert_eq!(stalled.policy, first.policy);
    assert!(matches!(
        stalled.failure,
        Some(PolicyFailure::Fetch(FetchError::Timeout { .. }))
    ));
    assert_eq!(sts_quick.cache().get("cache.test").await, Some(entry));

    // Once it expires, a failed fetch leaves no policy, and the entry goes.
    lab.main.set("mta-sts.cache.test", ok("text/html", HOUR));
    let expired = sts.plan("cache.test", &txt("two"), &mx, T0 + 3600).await;
    assert_eq!(expired.delivery, StsDelivery::AsUsual);
    assert!(expired.policy.is_none());
    assert_eq!(
        response_error(expired.failure.as_ref().unwrap()),
        &StsError::WrongMediaType
    );
    assert!(!expired.should_alert());
    assert!(sts.cache().get("cache.test").await.is_none());
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_policy_and_a_good_one_replaces_it() {
    let lab = lab().await;
    let sts = lab.sts();
    assert!(
        sts.refresh("cache.test", T0).await.is_none(),
        "nothing cached"
    );
    sts.plan("cache.test", &txt("one"), &["mx.cache.test"], T0)
        .await;
    lab.main
        .set("mta-sts.cache.test", policy("version: STSv1\r\n"));
    let failed = sts
        .refresh("cache.test", T0 + 100)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(failed.result_type(), ResultType::StsPolicyInvalid);
    let entry = sts.cache().get("cache.test").await.unwrap();
    assert_eq!((entry.policy.mode(), entry.fetched_at), (Mode::Enforce, T0));
    lab.main.set("mta-sts.cache.test", policy(HOUR_TESTING));
    // The failure is remembered for five minutes for this id.
    let repeated = sts.refresh("cache.test", T0 + 200).await.unwrap();
    assert_eq!(repeated, Err(failed));
    assert_eq!(lab.main.requests("mta-sts.cache.test"), 2);
    let refreshed = sts.refresh("cache.test", T0 + 400).await.unwrap().unwrap();
    assert_eq!(refreshed.mode(), Mode::Testing);
    let entry = sts.cache().get("cache.test").await.unwrap();
    assert_eq!((entry.id.as_str(), entry.fetched_at), ("one", T0 + 400));
}

#[tokio::test]
async fn a_day_old_policy_is_refreshed_in_the_background() {
    let lab = lab().await;
    let sts = lab.sts();
    let mx = ["mx1.enforce.test"];
    let first = sts.plan("enforce.test", &txt("a1"), &mx, T0).await;
    // A day on (max_age is a week): applied at once, refreshed behind.
    let day = T0 + 86_400;
    let later = sts.plan("enforce.test", &txt("a1"), &mx, day).await;
    assert_eq!(later, first);
    let deadline = Instant::now() + Duration::from_secs(5);
    while sts.cache().get("enforce.test").await.unwrap().fetched_at != day {
        assert!(Instant::now() < deadline, "no refresh");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lab.main.requests("mta-sts.enforce.test"), 2);
}

#[tokio::test]
async fn concurrent_deliveries_fetch_once() {
    let lab = lab().await;
    let sts = lab.sts();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let sts = sts.clone();
            tokio::spawn(async move {
                sts.plan("enforce.test", &txt("c1"), &["mx1.enforce.test"], T0)
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert!(outcomes.iter().all(|o| o == &outcomes[0]));
    assert_eq!(outcomes[0].policy.as_ref().unwrap().mode(), Mode::Enforce);
    // The first fetched; the others waited for its turn and found the policy cached.
    assert_eq!(lab.main.requests("mta-sts.enforce.test"), 1);
}

// The plan for MX hosts.

#[tokio::test]
async fn plans_for_matching_and_other_mx_hosts() {
    let lab = lab().await;
    let sts = lab.sts();
    let enforce = sts
        .plan(
            "enforce.test",
            &txt("e1"),
            &["MX1.enforce.test.", "rogue.example", "a.mail.enforce.test"],
            T0,
        )
        .await;
    let StsDelivery::Enforce { hosts, refused } = &enforce.delivery else {
        panic!("{enforce:?}")
    };
    let names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(names, ["mx1.enforce.test", "a.mail.enforce.test"]);
    assert_eq!(
        hosts[0].tls,
        TlsPolicy::Secure {
            names: vec!["mx1.enforce.test".into()]
        }
    );
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].host(), "rogue.example");
    assert_eq!(
        enforce.delivery.verdict("mx1.enforce.test"),
        StsVerdict::Enforce
    );
    assert_eq!(
        enforce.delivery.verdict("rogue.example"),
        StsVerdict::EnforceMxMismatch
    );

    let testing = sts
        .plan(
            "testing.test",
            &txt("t1"),
            &["mx.testing.test", "rogue.example"],
            T0,
        )
        .await;
    let StsDelivery::Testing { hosts, would_fail } = &testing.delivery else {
        panic!("{testing:?}")
    };
    assert_eq!(hosts.len(), 2);
    assert_eq!(would_fail[0].host(), "rogue.example");
    assert_eq!(
        testing.delivery.verdict("rogue.example"),
        StsVerdict::Testing
    );

    let none = sts
        .plan("none.test", &txt("n1"), &["rogue.example"], T0)
        .await;
    assert_eq!(none.delivery, StsDelivery::AsUsual);
    assert_eq!(none.policy.unwrap().mode(), Mode::None);
    assert_eq!(none.delivery.verdict("rogue.example"), StsVerdict::NoPolicy);

    // No record: no policy, no fetch.
    let absent = sts
        .plan("absent.test", &DnsTxt::NoRecord, &["mx.absent.test"], T0)
        .await;
    assert_eq!(absent.delivery, StsDelivery::AsUsual);
    assert!(absent.failure.is_none());
    // A record whose policy host cannot be reached: as usual, and the failure to report.
    let unreachable = sts
        .plan("elsewhere.test", &txt("x"), &["mx.elsewhere.test"], T0)
        .await;
    assert_eq!(unreachable.delivery, StsDelivery::AsUsual);
    assert_eq!(
        unreachable.result_type(),
        Some(ResultType::StsPolicyFetchError)
    );
    // The policy host's certificate does not verify: the same, filed as webpki-invalid.
    let webpki = sts
        .plan("wrongname.test", &txt("w"), &["mx1.enforce.test"], T0)
        .await;
    assert_eq!(webpki.delivery, StsDelivery::AsUsual);
    assert_eq!(webpki.result_type(), Some(ResultType::StsWebpkiInvalid));
}

#[tokio::test]
async fn a_cache_of_your_own_is_used() {
    // An entry put by the MTA (e.g. read back from its store) is applied as is.
    let lab = lab().await;
    let sts = lab.sts();
    let stored = CachedPolicy::new(
        smtp_client::mta_sts::StsPolicy::parse(TESTING).unwrap(),
        StsId::new("saved").unwrap(),
        T0,
    );
    sts.cache().put("testing.test", stored).await;
    let outcome = sts
        .plan("testing.test", &txt("saved"), &["mx.testing.test"], T0 + 5)
        .await;
    assert!(matches!(outcome.delivery, StsDelivery::Testing { .. }));
    assert_eq!(lab.main.requests("mta-sts.testing.test"), 0);
}
