//! MTA-STS (RFC 8461), feature `mta-sts`: the policy of a recipient domain fetched
//! over HTTPS, kept in a cache, and turned into a plan for its MX hosts. The rules are
//! the core's ([`smtp_proto::client::sts`]); this module does the IO around them.
//!
//! - [`MtaSts::plan`] is the one entry point for MX delivery: given the domain, what
//!   the `_mta-sts` TXT lookup gave ([`DnsTxt`]: see [`dns_txt`] and
//!   [`dns_txt_from_answer`]), the MX hosts and the time, it applies the cached policy
//!   or fetches one, and returns an [`StsOutcome`]: the [`StsDelivery`] plan, the
//!   policy applied, and what failed ([`PolicyFailure`], filed for TLS-RPT by
//!   [`PolicyFailure::result_type`]).
//! - [`PolicyFetcher`] fetches; [`HttpsFetcher`] is the default (hyper + hyper-rustls
//!   on this crate's crypto provider and [`TrustAnchors`](crate::TrustAnchors): see
//!   [`FetchOptions`]).
//! - [`PolicyCache`] keeps the policies; [`MemoryCache`] is the default. An MTA that
//!   keeps them across restarts implements the trait over its own store.
//!
//! | RFC 8461 | Here |
//! | --- | --- |
//! | §3.1 TXT record | [`dns_txt`], [`dns_txt_from_answer`] (the core's `StsRecord::select`) |
//! | §3.3 fetch: WebPKI, no redirects, no HTTP cache, time and size limits | [`HttpsFetcher`], [`PolicyResponse::validate`] |
//! | §3.3 at most one attempt per policy id every five minutes after a failure | [`MtaSts`] remembers failures ([`FETCH_RETRY_INTERVAL`]) |
//! | §3.3, §10.2 refresh about once a day, in the background | [`MtaSts::plan`] spawns [`MtaSts::refresh`] |
//! | §5.1 cache: a failed fetch never replaces a valid policy | the core's `decide_cache` and `after_fetch` |
//! | §4, §5 the plan for the MX hosts | the core's `plan_delivery`, in [`StsOutcome::delivery`] |
//!
//! ```
//! use smtp_client::mta_sts::{
//!     dns_txt, FetchError, MemoryCache, MtaSts, PolicyFetcher, PolicyResponse, StsDelivery,
//! };
//!
//! /// A fetcher with one canned answer (an MTA uses `HttpsFetcher`).
//! struct Canned;
//! impl PolicyFetcher for Canned {
//!     async fn fetch(&self, _domain: &str) -> Result<PolicyResponse, FetchError> {
//!         Ok(PolicyResponse {
//!             status: 200,
//!             content_type: Some("text/plain".into()),
//!             body: "version: STSv1\r\nmode: enforce\r\nmx: *.example.com\r\nmax_age: 86400\r\n".into(),
//!         })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let sts = MtaSts::new(Canned, MemoryCache::new());
//! // The TXT lookup of _mta-sts.example.com, as the resolver gave it.
//! let txt = dns_txt(Some(["v=STSv1; id=20240101T000000;"]));
//! let mx = ["mx1.example.com", "backup.example.net"];
//! let outcome = sts.plan("example.com", &txt, &mx, 1_700_000_000).await;
//! let StsDelivery::Enforce { hosts, refused } = &outcome.delivery else { panic!() };
//! assert_eq!(hosts[0].host, "mx1.example.com");
//! assert_eq!(refused[0].host(), "backup.example.net");
//! assert!(outcome.failure.is_none());
//! # }
//! ```
//!
//! Give [`StsOutcome::policy`] to MX delivery
//! ([`MxDelivery::mta_sts`](crate::dns::MxDelivery::mta_sts)), which asks
//! [`StsDelivery::verdict`] for each host; file [`StsOutcome::failure`] in the TLS
//! report (`TlsRptLog`, feature `tls-rpt`).

mod cache;
mod fetch;
mod outcome;
mod planner;

pub use cache::{MemoryCache, PolicyCache};
pub use fetch::{
    DEFAULT_FETCH_TIMEOUT, FetchError, FetchOptions, HttpsFetcher, POLICY_PATH, PolicyFetcher,
    PolicyResponse, policy_host,
};
pub use outcome::{PolicyFailure, StsOutcome};
pub use planner::MtaSts;
pub use smtp_proto::client::sts::{
    CachedPolicy, DnsTxt, FETCH_RETRY_INTERVAL, MAX_POLICY_SIZE, Mode, MxRequirement, StsDelivery,
    StsError, StsFailure, StsId, StsPolicy,
};
pub use smtp_proto::client::tlsrpt::ResultType;

use smtp_proto::client::policy::{Answer, Dnssec};
use smtp_proto::client::sts::StsRecord;

/// The `_mta-sts` TXT name of a domain (RFC 8461 §3.1), e.g. `_mta-sts.example.com`.
pub fn txt_name(domain: &str) -> String {
    format!("_mta-sts.{}", normalize(domain))
}

/// What an `_mta-sts` TXT lookup gave, from its records (each with its strings
/// joined, RFC 8461 §3.1), or `None` when the lookup failed (a timeout, SERVFAIL). No
/// records, or none that is one valid `v=STSv1` record, is [`DnsTxt::NoRecord`].
pub fn dns_txt<I>(lookup: Option<I>) -> DnsTxt
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    match lookup {
        Some(records) => DnsTxt::from(StsRecord::select(records)),
        None => DnsTxt::Failed,
    }
}

/// What an `_mta-sts` TXT lookup gave, from a DNSSEC-aware resolver's [`Answer`]
/// (`Resolver::txt` of the `dns` module). A bogus answer counts as a failed lookup:
/// it proves nothing, so it neither brings a new policy id nor, with no usable record,
/// anything else (a valid cached policy still applies, RFC 8461 §3.1).
pub fn dns_txt_from_answer(answer: &Answer<String>) -> DnsTxt {
    match answer {
        Answer::Records(_, Dnssec::Bogus) | Answer::NoRecords(Dnssec::Bogus) | Answer::Failed => {
            DnsTxt::Failed
        }
        Answer::Records(records, _) => dns_txt(Some(records)),
        Answer::NoRecords(_) => DnsTxt::NoRecord,
    }
}

/// A domain as a cache key: lowercase, without a trailing dot.
pub(crate) fn normalize(domain: &str) -> String {
    domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_answers() {
        let id = |s: &str| DnsTxt::Record(StsId::new(s).unwrap());
        assert_eq!(
            dns_txt(Some(["v=spf1 -all", "v=STSv1; id=abc;"])),
            id("abc")
        );
        assert_eq!(dns_txt(Some(Vec::<String>::new())), DnsTxt::NoRecord);
        assert_eq!(
            dns_txt(Some(["v=STSv1; id=a;", "v=STSv1; id=b;"])),
            DnsTxt::NoRecord
        );
        assert_eq!(dns_txt(None::<[&str; 0]>), DnsTxt::Failed);
        let records = vec!["v=STSv1; id=x1;".to_owned()];
        for (answer, want) in [
            (Answer::Records(records.clone(), Dnssec::Insecure), id("x1")),
            (Answer::Records(records.clone(), Dnssec::Secure), id("x1")),
            (Answer::Records(records, Dnssec::Bogus), DnsTxt::Failed),
            (Answer::NoRecords(Dnssec::Insecure), DnsTxt::NoRecord),
            (Answer::NoRecords(Dnssec::Bogus), DnsTxt::Failed),
            (Answer::Failed, DnsTxt::Failed),
        ] {
            assert_eq!(dns_txt_from_answer(&answer), want, "{answer:?}");
        }
        assert_eq!(txt_name("Example.COM."), "_mta-sts.example.com");
    }
}
