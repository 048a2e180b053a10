//! SMTP TLS Reporting (RFC 8460): the `_smtp._tls` TXT record that says where a
//! domain wants its reports, and the names a report files results under (policy types,
//! §4.4; result types, §4.3). Recording results and writing the JSON report is the
//! binding's part.
//!
//! ```
//! use smtp_proto::client::tlsrpt::{ReportUri, ResultType, TlsRptRecord};
//!
//! let r = TlsRptRecord::parse("v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/v1").unwrap();
//! assert_eq!(r.rua, [
//!     ReportUri::Mailto("tlsrpt@example.com".into()),
//!     ReportUri::Https("https://r.example.com/v1".into()),
//! ]);
//! assert_eq!(ResultType::CertificateHostMismatch.as_str(), "certificate-host-mismatch");
//! ```

use std::fmt;

/// The policy a result was obtained under (RFC 8460 §4.4, `policy-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyType {
    /// DANE TLSA records.
    Tlsa,
    /// An MTA-STS policy.
    Sts,
    /// Neither.
    NoPolicyFound,
}

impl PolicyType {
    /// The name in a report: `tlsa`, `sts`, `no-policy-found`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tlsa => "tlsa",
            Self::Sts => "sts",
            Self::NoPolicyFound => "no-policy-found",
        }
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a session failed, as a report names it (RFC 8460 §4.3).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResultType {
    /// The server did not offer STARTTLS (§4.3.1).
    StartTlsNotSupported,
    /// The certificate does not name the host (§4.3.1).
    CertificateHostMismatch,
    /// The certificate has expired (§4.3.1).
    CertificateExpired,
    /// The certificate does not chain to a trusted root (§4.3.1).
    CertificateNotTrusted,
    /// Any other validation failure (§4.3.1).
    ValidationFailure,
    /// No usable TLSA record, or none matched (§4.3.2).
    TlsaInvalid,
    /// The DNSSEC validation of the TLSA or MX records failed (§4.3.2).
    DnssecInvalid,
    /// DANE was required and could not be used (§4.3.2).
    DaneRequired,
    /// The MTA-STS policy could not be fetched (§4.3.3).
    StsPolicyFetchError,
    /// The MTA-STS policy was not valid (§4.3.3).
    StsPolicyInvalid,
    /// The MTA-STS policy host's certificate did not validate (§4.3.3).
    StsWebpkiInvalid,
}

impl ResultType {
    /// Every result type, in the RFC's order.
    pub const ALL: [ResultType; 11] = [
        Self::StartTlsNotSupported,
        Self::CertificateHostMismatch,
        Self::CertificateExpired,
        Self::CertificateNotTrusted,
        Self::ValidationFailure,
        Self::TlsaInvalid,
        Self::DnssecInvalid,
        Self::DaneRequired,
        Self::StsPolicyFetchError,
        Self::StsPolicyInvalid,
        Self::StsWebpkiInvalid,
    ];

    /// The name in a report, e.g. `starttls-not-supported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartTlsNotSupported => "starttls-not-supported",
            Self::CertificateHostMismatch => "certificate-host-mismatch",
            Self::CertificateExpired => "certificate-expired",
            Self::CertificateNotTrusted => "certificate-not-trusted",
            Self::ValidationFailure => "validation-failure",
            Self::TlsaInvalid => "tlsa-invalid",
            Self::DnssecInvalid => "dnssec-invalid",
            Self::DaneRequired => "dane-required",
            Self::StsPolicyFetchError => "sts-policy-fetch-error",
            Self::StsPolicyInvalid => "sts-policy-invalid",
            Self::StsWebpkiInvalid => "sts-webpki-invalid",
        }
    }
}

impl fmt::Display for ResultType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where reports go (`rua`, RFC 8460 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReportUri {
    /// Mail the report to this address (the part after `mailto:`, still
    /// percent-encoded).
    Mailto(String),
    /// POST the report to this `https:` URL.
    Https(String),
}

/// A valid `_smtp._tls` TXT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// The report destinations, in order; URIs of other schemes are left out (§3).
    pub rua: Vec<ReportUri>,
}

/// Why a `_smtp._tls` record is not usable.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsRptError {
    /// The record does not start with `v=TLSRPTv1`.
    #[error("not a TLSRPTv1 record")]
    NotTlsRpt,
    /// A field is not `name=value`.
    #[error("malformed field {0:?}")]
    Malformed(String),
    /// No `rua` field, or one without a `mailto:` or `https:` URI.
    #[error("no usable rua")]
    NoRua,
    /// `rua` appears more than once.
    #[error("rua given twice")]
    DuplicateRua,
    /// None, or more than one, of the TXT records is a TLSRPTv1 record (§3: the
    /// domain then does not implement TLS reporting).
    #[error("{0} TLSRPTv1 records")]
    NotExactlyOne(usize),
}

impl TlsRptRecord {
    /// Parses one TXT record (its strings joined): `v=TLSRPTv1` first, fields separated
    /// by `;` with optional whitespace, `rua` a comma-separated list of URIs (RFC 8460
    /// §3); unknown fields are ignored.
    pub fn parse(txt: &str) -> Result<Self, TlsRptError> {
        let mut fields = txt.split(';').map(|f| f.trim_matches([' ', '\t']));
        if fields.next() != Some("v=TLSRPTv1") {
            return Err(TlsRptError::NotTlsRpt);
        }
        let mut rua = None;
        for field in fields {
            if field.is_empty() {
                // Only a trailing `;` may leave an empty field; an inner one is harmless.
                continue;
            }
            let Some((name, value)) = field.split_once('=') else {
                return Err(TlsRptError::Malformed(field.to_owned()));
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
            {
                return Err(TlsRptError::Malformed(field.to_owned()));
            }
            if name != "rua" {
                continue;
            }
            if rua.is_some() {
                return Err(TlsRptError::DuplicateRua);
            }
            let uris: Vec<ReportUri> = value
                .split(',')
                .map(|u| u.trim_matches([' ', '\t']))
                .filter_map(|u| {
                    if let Some(addr) = strip_scheme(u, "mailto:") {
                        (!addr.is_empty()).then(|| ReportUri::Mailto(addr.to_owned()))
                    } else if strip_scheme(u, "https:").is_some_and(|r| r.starts_with("//")) {
                        Some(ReportUri::Https(u.to_owned()))
                    } else {
                        None
                    }
                })
                .collect();
            rua = Some(uris);
        }
        match rua {
            Some(rua) if !rua.is_empty() => Ok(Self { rua }),
            _ => Err(TlsRptError::NoRua),
        }
    }

    /// The domain's record from all the TXT records of `_smtp._tls.<domain>` (§3):
    /// records that do not start with `v=TLSRPTv1` are discarded, and unless exactly
    /// one is left the domain does not implement TLS reporting.
    pub fn select<'a>(txts: impl IntoIterator<Item = &'a str>) -> Result<Self, TlsRptError> {
        let candidates: Vec<&str> = txts
            .into_iter()
            .filter(|t| {
                t.strip_prefix("v=TLSRPTv1")
                    .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with(';'))
            })
            .collect();
        match candidates.as_slice() {
            [one] => Self::parse(one),
            other => Err(TlsRptError::NotExactlyOne(other.len())),
        }
    }
}

/// Whether `message` is a TLS report (RFC 8460 §5.3: it carries a `TLS-Report-Domain`
/// header field). A session that delivers one must not be reported on itself (§3), so
/// a sender records nothing for it.
pub fn is_report_message(message: &[u8]) -> bool {
    crate::client::policy::compose::has_header_field(message, |name, _| {
        name.eq_ignore_ascii_case(b"TLS-Report-Domain")
    })
}

/// `s` without its URI scheme (case-insensitive, RFC 3986 §3.1).
fn strip_scheme<'a>(s: &'a str, scheme: &str) -> Option<&'a str> {
    let head = s.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &s[scheme.len()..])
}
