//! SMTP TLS reporting (RFC 8460), feature `tls-rpt`: record what each delivery
//! attempt got under its policy, then write each domain's aggregate report as the JSON
//! of §4.4 for the period, to send to the addresses of its `_smtp._tls` record
//! ([`TlsRptRecord`]).
//!
//! ```
//! use smtp_client::tlsrpt::{Failure, ReportMeta, ReportPolicy, ResultType, TlsRptLog};
//!
//! let log = TlsRptLog::default();
//! let policy = ReportPolicy::no_policy_found("example.com");
//! log.success(&policy);
//! log.failure(&policy, Failure::new(ResultType::StartTlsNotSupported).mx("mx.example.com"));
//! let meta = ReportMeta {
//!     organization_name: "Sender Org".into(),
//!     contact_info: "tlsrpt@sender.example".into(),
//!     report_id: "2026-12-06.1@sender.example".into(),
//!     start: 1_796_515_200,
//!     end: 1_796_601_599,
//! };
//! let json = log.report("example.com", &meta).unwrap();
//! let v: serde_json::Value = serde_json::from_str(&json).unwrap();
//! assert_eq!(v["policies"][0]["summary"]["total-failure-session-count"], 1);
//! assert_eq!(v["date-range"]["start-datetime"], "2026-12-06T00:00:00Z");
//! ```
//!
//! A session that delivers a report must not be reported on itself (§3: no loops):
//! record nothing for it.

use crate::error::Error;
use serde_json::{Map, Value, json};
use smtp_proto::client::policy::Tlsa;
use smtp_proto::date::UtcDateTime;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub use smtp_proto::client::tlsrpt::{PolicyType, ReportUri, ResultType, TlsRptRecord};

/// The policy a result is filed under (§4.4, `policy`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportPolicy {
    /// `sts`, `tlsa` or `no-policy-found`.
    pub policy_type: PolicyType,
    /// The policy as text, one string per line: the MTA-STS policy file's lines, or the
    /// TLSA records in presentation form. Empty for `no-policy-found`.
    pub policy_string: Vec<String>,
    /// The domain the policy is for.
    pub domain: String,
    /// MTA-STS: the policy's `mx` patterns.
    pub mx_host: Vec<String>,
}

impl ReportPolicy {
    /// No policy for `domain`.
    pub fn no_policy_found(domain: &str) -> Self {
        Self {
            policy_type: PolicyType::NoPolicyFound,
            policy_string: Vec::new(),
            domain: domain.to_ascii_lowercase(),
            mx_host: Vec::new(),
        }
    }

    /// An MTA-STS policy of `domain`: its text and its `mx` patterns.
    pub fn sts(domain: &str, policy: &smtp_proto::client::sts::StsPolicy) -> Self {
        let text = policy.to_string();
        Self {
            policy_type: PolicyType::Sts,
            policy_string: text.lines().map(str::to_owned).collect(),
            domain: domain.to_ascii_lowercase(),
            mx_host: policy.mx().iter().map(ToString::to_string).collect(),
        }
    }

    /// The TLSA records of a host of `domain` (`3 1 1 <hex>` each).
    pub fn tlsa(domain: &str, records: &[Tlsa]) -> Self {
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        Self {
            policy_type: PolicyType::Tlsa,
            policy_string: records
                .iter()
                .map(|r| format!("{} {} {} {}", r.usage, r.selector, r.matching, hex(&r.data)))
                .collect(),
            domain: domain.to_ascii_lowercase(),
            mx_host: Vec::new(),
        }
    }
}

/// One failed session (§4.4, `failure-details`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Failure {
    /// What failed.
    pub result_type: ResultType,
    /// The address the session came from.
    pub sending_mta_ip: Option<IpAddr>,
    /// The MX host.
    pub receiving_mx_hostname: Option<String>,
    /// The name in the MX host's greeting or EHLO reply.
    pub receiving_mx_helo: Option<String>,
    /// The MX host's address.
    pub receiving_ip: Option<IpAddr>,
    /// A URI with more about the failure.
    pub additional_information: Option<String>,
    /// A code for the failure, e.g. the TLS library's.
    pub failure_reason_code: Option<String>,
}

impl Failure {
    /// A failure of this type, nothing else known yet.
    pub fn new(result_type: ResultType) -> Self {
        Self {
            result_type,
            sending_mta_ip: None,
            receiving_mx_hostname: None,
            receiving_mx_helo: None,
            receiving_ip: None,
            additional_information: None,
            failure_reason_code: None,
        }
    }

    /// With the MX host's name.
    pub fn mx(mut self, host: &str) -> Self {
        self.receiving_mx_hostname = Some(host.trim_end_matches('.').to_ascii_lowercase());
        self
    }

    /// With the MX host's address.
    pub fn receiving_ip(mut self, ip: IpAddr) -> Self {
        self.receiving_ip = Some(ip);
        self
    }

    /// With a reason code.
    pub fn reason_code(mut self, code: &str) -> Self {
        self.failure_reason_code = Some(code.to_owned());
        self
    }

    /// The result type of a failed delivery attempt, when it is a TLS failure a report
    /// files ([`Error::tls_report_type`]).
    pub fn result_type_of(error: &Error, dane: bool) -> Option<ResultType> {
        error.tls_report_type(dane)
    }
}

/// Session results gathered over a period, for every domain (shared between tasks).
#[derive(Debug, Default)]
pub struct TlsRptLog {
    entries: Mutex<HashMap<ReportPolicy, Counts>>,
}

#[derive(Debug, Default, Clone)]
struct Counts {
    successes: u64,
    failures: HashMap<Failure, u64>,
}

/// What a report says about its sender and period (§4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMeta {
    /// The reporting organization.
    pub organization_name: String,
    /// How to reach it (an address or URI).
    pub contact_info: String,
    /// A unique identifier of the report.
    pub report_id: String,
    /// The period's start, seconds since the epoch (UTC).
    pub start: u64,
    /// The period's end, seconds since the epoch (UTC), inclusive.
    pub end: u64,
}

impl TlsRptLog {
    /// A session under `policy` that negotiated TLS as the policy required.
    pub fn success(&self, policy: &ReportPolicy) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.entry(policy.clone()).or_default().successes += 1;
    }

    /// A session under `policy` that failed.
    pub fn failure(&self, policy: &ReportPolicy, failure: Failure) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        *e.entry(policy.clone())
            .or_default()
            .failures
            .entry(failure)
            .or_default() += 1;
    }

    /// What one MX delivery to `domain` got at each host it tried (the `attempts` of
    /// [`MxSent`](crate::dns::MxSent) or [`MxError`](crate::dns::MxError)), filed under
    /// the policy that decided for the host: DANE (its TLSA records), MTA-STS (`sts`,
    /// the policy the delivery was given), or none. Attempts with nothing to report
    /// (no address, a network error) are left out, and so is the delivery of a TLS
    /// report itself (`message` carries `TLS-Report-Domain`: RFC 8460 §3, §5.3).
    pub fn record(
        &self,
        domain: &str,
        sts: Option<&smtp_proto::client::sts::StsPolicy>,
        attempts: &[crate::dns::HostAttempt],
        message: &[u8],
    ) {
        use smtp_proto::client::policy::{HostPlan, PolicySource, TlsPolicy};
        if smtp_proto::client::tlsrpt::is_report_message(message) {
            return;
        }
        for a in attempts {
            let Some(result) = a.tls else { continue };
            let policy = match (&a.plan, sts) {
                (
                    HostPlan::Connect {
                        source: PolicySource::Dane,
                        policy: TlsPolicy::Dane { records },
                    },
                    _,
                ) => ReportPolicy::tlsa(domain, records),
                (HostPlan::Defer(_), _) => ReportPolicy::tlsa(domain, &[]),
                (HostPlan::Skip, Some(p))
                | (
                    HostPlan::Connect {
                        source: PolicySource::MtaSts,
                        ..
                    },
                    Some(p),
                ) => ReportPolicy::sts(domain, p),
                _ => ReportPolicy::no_policy_found(domain),
            };
            match result {
                Ok(()) => self.success(&policy),
                Err(t) => {
                    let mut f = Failure::new(t).mx(&a.host);
                    f.receiving_ip = a.addr.map(|s| s.ip());
                    self.failure(&policy, f);
                }
            }
        }
    }

    /// The domains with results.
    pub fn domains(&self) -> Vec<String> {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut d: Vec<String> = e.keys().map(|p| p.domain.clone()).collect();
        d.sort();
        d.dedup();
        d
    }

    /// Forgets every result (after the period's reports were written).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The aggregate report for `domain` as JSON (RFC 8460 §4.4), or `None` when
    /// there is nothing to report for it.
    pub fn report(&self, domain: &str, meta: &ReportMeta) -> Option<String> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut policies: Vec<(&ReportPolicy, &Counts)> =
            e.iter().filter(|(p, _)| p.domain == domain).collect();
        if policies.is_empty() {
            return None;
        }
        policies.sort_by(|a, b| {
            (a.0.policy_type, &a.0.policy_string).cmp(&(b.0.policy_type, &b.0.policy_string))
        });
        let policies: Vec<Value> = policies
            .into_iter()
            .map(|(p, c)| policy_json(p, c))
            .collect();
        let report = json!({
            "organization-name": meta.organization_name,
            "date-range": {
                "start-datetime": UtcDateTime::from_unix(meta.start).rfc3339(),
                "end-datetime": UtcDateTime::from_unix(meta.end).rfc3339(),
            },
            "contact-info": meta.contact_info,
            "report-id": meta.report_id,
            "policies": policies,
        });
        serde_json::to_string_pretty(&report).ok()
    }
}

fn policy_json(p: &ReportPolicy, c: &Counts) -> Value {
    let mut policy = Map::new();
    policy.insert("policy-type".into(), json!(p.policy_type.as_str()));
    if !p.policy_string.is_empty() {
        policy.insert("policy-string".into(), json!(p.policy_string));
    }
    policy.insert("policy-domain".into(), json!(p.domain));
    if !p.mx_host.is_empty() {
        policy.insert("mx-host".into(), json!(p.mx_host));
    }
    let failed: u64 = c.failures.values().sum();
    let mut details: Vec<(&Failure, &u64)> = c.failures.iter().collect();
    details.sort_by(|a, b| {
        (a.0.result_type, &a.0.receiving_mx_hostname)
            .cmp(&(b.0.result_type, &b.0.receiving_mx_hostname))
    });
    let details: Vec<Value> = details
        .into_iter()
        .map(|(f, n)| {
            let mut d = Map::new();
            d.insert("result-type".into(), json!(f.result_type.as_str()));
            let mut opt = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    d.insert(k.into(), json!(v));
                }
            };
            opt("sending-mta-ip", f.sending_mta_ip.map(|i| i.to_string()));
            opt("receiving-mx-hostname", f.receiving_mx_hostname.clone());
            opt("receiving-mx-helo", f.receiving_mx_helo.clone());
            opt("receiving-ip", f.receiving_ip.map(|i| i.to_string()));
            opt("additional-information", f.additional_information.clone());
            opt("failure-reason-code", f.failure_reason_code.clone());
            d.insert("failed-session-count".into(), json!(n));
            Value::Object(d)
        })
        .collect();
    let mut v = Map::new();
    v.insert("policy".into(), Value::Object(policy));
    v.insert(
        "summary".into(),
        json!({
            "total-successful-session-count": c.successes,
            "total-failure-session-count": failed,
        }),
    );
    if !details.is_empty() {
        v.insert("failure-details".into(), Value::Array(details));
    }
    Value::Object(v)
}
