//! MTA-STS (RFC 8461) as pure functions: the `_mta-sts` TXT record, the policy file,
//! MX host matching, the sender's policy cache and what a policy means for delivery.
//! No IO and no clock: the caller looks up the TXT record, fetches the policy over
//! HTTPS (certificate checked for `mta-sts.<domain>`, no redirects, no HTTP cache),
//! keeps the cache and passes the time in, as seconds since the Unix epoch.
//!
//! | Step | RFC 8461 | Here |
//! | --- | --- | --- |
//! | TXT record | §3.1 | [`StsRecord::parse`], [`StsRecord::select`] → [`RecordSelection`] |
//! | Policy file | §3.2 | [`StsPolicy::parse`], `Display`, [`StsPolicy::new`] |
//! | HTTPS response | §3.3 | [`validate_response`] |
//! | Cache | §3.3, §5.1, §10.2 | [`CachedPolicy`], [`decide_cache`] → [`CacheDecision`], [`after_fetch`] → [`CacheUpdate`] |
//! | MX matching | §4.1 | [`MxPattern::matches`], [`StsPolicy::matches_mx`] |
//! | Delivery | §4.2, §5 | [`plan_delivery`] → [`StsDelivery`], [`StsFailure`] |
//!
//! Parsing is strict by the RFC's grammar (quoted on [`StsRecord::parse`] and
//! [`StsPolicy::parse`]). Whatever fails means "no policy from this source"; it never
//! removes a valid cached policy.
//!
//! ```
//! use smtp_proto::client::policy::TlsPolicy;
//! use smtp_proto::client::sts::{
//!     after_fetch, decide_cache, plan_delivery, CacheDecision, DnsTxt, Mode, StsDelivery,
//!     StsPolicy, StsRecord,
//! };
//!
//! // The TXT lookup of _mta-sts.example.com gave two records; one is MTA-STS.
//! let txt = StsRecord::select(["v=spf1 -all", "v=STSv1; id=20160831085700Z;"]);
//! let record = txt.record().unwrap().clone();
//! assert_eq!(record.id().as_str(), "20160831085700Z");
//!
//! // Nothing cached yet: fetch https://mta-sts.example.com/.well-known/mta-sts.txt.
//! let now = 1_700_000_000;
//! let CacheDecision::Fetch { id, fallback: None } = decide_cache(None, &DnsTxt::from(txt), now)
//! else { panic!() };
//! // The binding's HTTPS response, checked and parsed, goes into the cache.
//! let body = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n\
//!             mx: *.example.net\r\nmax_age: 604800\r\n";
//! let policy = StsPolicy::parse(body).unwrap();
//! assert_eq!(policy.mode(), Mode::Enforce);
//! let entry = after_fetch(None, id, Ok(policy), now).entry().unwrap().clone();
//!
//! // An hour later DNS shows the same id: the cached policy applies, no fetch.
//! let later = now + 3600;
//! let decision = decide_cache(Some(&entry), &DnsTxt::Record(record.id().clone()), later);
//! assert!(matches!(decision, CacheDecision::UseCached { refresh: false, .. }));
//! // A DNS failure does not remove it either.
//! assert!(matches!(decide_cache(Some(&entry), &DnsTxt::Failed, later), CacheDecision::UseCached { .. }));
//!
//! // MX matching: `*.` stands for exactly one label.
//! let policy = decision.policy().unwrap();
//! assert!(policy.matches_mx("MAIL.example.com."));
//! assert!(policy.matches_mx("mx1.example.net"));
//! assert!(!policy.matches_mx("example.net"));
//! assert!(!policy.matches_mx("a.b.example.net"));
//!
//! // enforce: only matching hosts, in MX order, each with a certificate for its name.
//! let StsDelivery::Enforce { hosts, refused } =
//!     plan_delivery(Some(policy), &["mx1.example.net", "evil.example.org", "mail.example.com"])
//! else { panic!() };
//! assert_eq!(hosts[0].host, "mx1.example.net");
//! assert_eq!(hosts[0].tls, TlsPolicy::Secure { names: vec!["mx1.example.net".into()] });
//! assert_eq!(hosts[1].host, "mail.example.com");
//! assert_eq!(refused[0].host(), "evil.example.org");
//! ```

mod apply;
mod cache;
mod error;
mod policy_file;
mod record;

pub use apply::{MxRequirement, StsDelivery, StsFailure, plan_delivery};
pub use cache::{
    CacheDecision, CacheUpdate, CachedPolicy, DnsTxt, FETCH_RETRY_INTERVAL, MAX_POLICY_SIZE,
    REFRESH_INTERVAL, after_fetch, decide_cache, validate_response,
};
pub use error::StsError;
pub use policy_file::{Mode, MxPattern, StsPolicy};
pub use record::{RecordSelection, StsId, StsRecord};
