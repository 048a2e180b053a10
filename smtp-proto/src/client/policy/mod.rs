//! TLS policy for the client, as pure functions: which security a destination needs
//! (a per-destination map, Postfix `smtp_tls_policy_maps` style), what to do when the
//! server's EHLO reply is known, and whether a finished handshake satisfies it.
//!
//! The levels follow Postfix's `smtp_tls_security_level`; DANE follows RFC 7672.
//! Certificate and name checks are done by the binding (rustls); this module says which
//! checks to ask for and judges the outcome the binding reports.

use crate::session::TlsInfo;
use std::fmt;

pub(crate) mod compose;
mod dane;
mod map;

pub use compose::{HostPlan, PolicySource, StsVerdict, choose, ignores_recipient_policies};
pub use dane::{
    Answer, DaneDefer, DaneStatus, Dnssec, MxDane, NoDane, dane_for_host, dane_for_mx, tlsa_names,
};
pub use map::{DomainPattern, PolicyMap};

/// A TLSA record (RFC 6698 §2.1) as the caller's DNSSEC-validating resolver returned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tlsa {
    /// Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.
    pub usage: u8,
    /// Selector: 0 full certificate, 1 SubjectPublicKeyInfo.
    pub selector: u8,
    /// Matching type: 0 exact, 1 SHA-256, 2 SHA-512.
    pub matching: u8,
    /// The association data.
    pub data: Vec<u8>,
}

impl Tlsa {
    /// RFC 7672 §3.1.3: SMTP clients use only DANE-TA(2) and DANE-EE(3) records, with
    /// a known selector and matching type; PKIX-TA(0)/PKIX-EE(1) are unusable here.
    pub fn is_usable(&self) -> bool {
        matches!(self.usage, 2 | 3) && self.selector <= 1 && self.matching <= 2
    }
}

/// How much security a destination requires (Postfix `smtp_tls_security_level`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TlsPolicy {
    /// Never STARTTLS; plaintext.
    None,
    /// Opportunistic: STARTTLS when offered, any certificate; plaintext otherwise. What
    /// happened is recorded in the [`TlsOutcome`].
    May,
    /// TLS required, any certificate (protects against passive eavesdropping only).
    Encrypt,
    /// TLS required; the chain must verify and the certificate must name the MX host.
    Verify,
    /// TLS required; the chain must verify and the certificate must carry one of these
    /// names (a leading `.` for any subdomain). Empty: the destination domain and its
    /// subdomains (Postfix's `nexthop, dot-nexthop`), never the MX name alone, which
    /// comes from unsigned DNS.
    Secure {
        /// Acceptable certificate names (a leading `.` matches any subdomain).
        names: Vec<String>,
    },
    /// DANE (RFC 7672) with the TLSA records of the MX host, from a DNSSEC-validated
    /// lookup. No records: as `May` (RFC 7672 §2.2: no TLSA, no DANE). Records but none
    /// usable: TLS required without authentication. Usable records: TLS required and the
    /// certificate must match one.
    Dane {
        /// The TLSA RRset.
        records: Vec<Tlsa>,
    },
    /// DANE was wanted but the TLSA lookup failed (SERVFAIL, or a bogus DNSSEC answer).
    /// RFC 7672 §2.2: do not deliver to this host now (defer), never fall back.
    DaneLookupFailed,
}

/// A policy's level, without its parameters: what logs, reports and errors name.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// [`TlsPolicy::None`] (also what a session has before a policy applies).
    #[default]
    None,
    /// [`TlsPolicy::May`].
    May,
    /// [`TlsPolicy::Encrypt`].
    Encrypt,
    /// [`TlsPolicy::Verify`].
    Verify,
    /// [`TlsPolicy::Secure`].
    Secure,
    /// [`TlsPolicy::Dane`] or [`TlsPolicy::DaneLookupFailed`].
    Dane,
}

impl Level {
    /// The level's name as Postfix spells it: `none`, `may`, `encrypt`, `verify`,
    /// `secure`, `dane`.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::May => "may",
            Self::Encrypt => "encrypt",
            Self::Verify => "verify",
            Self::Secure => "secure",
            Self::Dane => "dane",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `level == "verify"`: compares with [`Level::name`].
impl PartialEq<&str> for Level {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl TlsPolicy {
    /// The policy's level.
    pub fn level(&self) -> Level {
        match self {
            Self::None => Level::None,
            Self::May => Level::May,
            Self::Encrypt => Level::Encrypt,
            Self::Verify => Level::Verify,
            Self::Secure { .. } => Level::Secure,
            Self::Dane { .. } | Self::DaneLookupFailed => Level::Dane,
        }
    }

    /// The level's name as Postfix spells it.
    pub fn name(&self) -> &'static str {
        self.level().name()
    }

    /// Whether, after a failed STARTTLS handshake, the message may be retried in
    /// plaintext on a new connection (Postfix does so under `may`): only when the
    /// policy accepts plaintext at all and TLS came by STARTTLS. Never after implicit
    /// TLS, never when TLS is required, never under `none` (it never tried TLS).
    pub fn retries_in_plaintext(&self, implicit_tls: bool) -> bool {
        !implicit_tls && !self.requires_tls() && *self != TlsPolicy::None
    }

    /// What the handshake of an implicit-TLS connection (RFC 8314) must verify: the
    /// same as after STARTTLS under this policy; `none` and `may` verify nothing there
    /// but the connection is still TLS.
    pub fn implicit_tls_verification(
        &self,
        server: &str,
        destination: &str,
    ) -> Result<Verification, PolicyViolation> {
        Ok(match decide(self, true, server, destination)? {
            TlsAction::StartTls(v) => v,
            TlsAction::Plaintext => Verification::None,
        })
    }

    /// Whether TLS is mandatory under this policy.
    pub fn requires_tls(&self) -> bool {
        match self {
            Self::None | Self::May => false,
            Self::Dane { records } => !records.is_empty(),
            _ => true,
        }
    }
}

/// What the binding must check in the handshake.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Accept any certificate (still record what it was).
    None,
    /// WebPKI chain to a trusted root, and one of these names in the certificate
    /// (a leading `.` allows any subdomain).
    Chain {
        /// Acceptable names.
        names: Vec<String>,
    },
    /// DANE: the certificate chain must match one of these usable TLSA records; for
    /// DANE-TA(2) records the certificate must also carry one of `names` (RFC 7672
    /// §3.2.2: the TLSA base domain, i.e. the MX host, or the next-hop domain).
    Dane {
        /// The usable records.
        records: Vec<Tlsa>,
        /// Names acceptable for DANE-TA(2) matches.
        names: Vec<String>,
    },
}

/// What to do once the server's EHLO reply is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsAction {
    /// Send STARTTLS; the binding verifies as said.
    StartTls(Verification),
    /// Go on in plaintext (policy `none`, or `may` without STARTTLS offered).
    Plaintext,
}

/// Why the policy forbids going on. Each says what was required and what happened, so
/// it can be logged as is.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// TLS is mandatory and the server did not offer STARTTLS: a man in the middle may
    /// have removed it from the EHLO reply.
    #[error(
        "STARTTLS not offered by {server} but policy for {destination} is {policy}: possible downgrade attack"
    )]
    StartTlsNotOffered {
        /// The host connected to.
        server: String,
        /// The destination (domain) the policy was chosen for.
        destination: String,
        /// The policy level.
        policy: Level,
    },
    /// TLS is mandatory and the server refused STARTTLS.
    #[error("{server} refused STARTTLS ({reply}) but policy for {destination} is {policy}")]
    StartTlsRefused {
        /// The host connected to.
        server: String,
        /// The destination.
        destination: String,
        /// The policy level.
        policy: Level,
        /// The server's reply.
        reply: crate::Reply,
    },
    /// The policy needs a verified certificate and the binding reports it was not.
    #[error(
        "certificate of {server} not verified ({detail}) but policy for {destination} is {policy}"
    )]
    NotVerified {
        /// The host connected to.
        server: String,
        /// The destination.
        destination: String,
        /// The policy level.
        policy: Level,
        /// What the binding said.
        detail: String,
    },
    /// The TLSA lookup for a DANE destination failed: defer (RFC 7672 §2.2).
    #[error("TLSA lookup for {server} failed; DANE policy for {destination}: deferring")]
    TlsaLookupFailed {
        /// The host connected to.
        server: String,
        /// The destination.
        destination: String,
    },
    /// AUTH would send credentials without TLS.
    #[error("refusing to send AUTH credentials to {server} without TLS")]
    AuthWithoutTls {
        /// The host connected to.
        server: String,
    },
    /// The message needs an extension the server does not offer.
    #[error("{server} does not offer {extension}, which this message needs")]
    MissingExtension {
        /// The host connected to.
        server: String,
        /// The extension.
        extension: Needed,
    },
    /// The message carries REQUIRETLS (RFC 8689) and this next hop does not meet it.
    /// Permanent: the message must not be sent on without it, and its bounce says
    /// `5.7.30` ([`PolicyViolation::enhanced_code`]).
    #[error("message requires TLS (REQUIRETLS) but {server} {missing}")]
    RequireTls {
        /// The host connected to.
        server: String,
        /// What was missing.
        missing: RequireTlsMissing,
    },
    /// The message is larger than the server's advertised SIZE.
    #[error("message of {size} octets exceeds the {max} octets {server} accepts")]
    TooBig {
        /// The host connected to.
        server: String,
        /// The declared size.
        size: u64,
        /// The server's limit.
        max: u64,
    },
}

/// An extension a message or session needs from the server.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Needed {
    /// `SMTPUTF8` (RFC 6531), for UTF-8 addresses.
    SmtpUtf8,
    /// `8BITMIME` (RFC 6152), for an 8-bit body.
    EightBitMime,
    /// `BINARYMIME` with `CHUNKING` (RFC 3030).
    BinaryMime,
    /// `AUTH` with this mechanism, or with any the client can use (`None`).
    Auth(Option<crate::Mechanism>),
}

impl fmt::Display for Needed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SmtpUtf8 => f.write_str("SMTPUTF8"),
            Self::EightBitMime => f.write_str("8BITMIME"),
            Self::BinaryMime => f.write_str("BINARYMIME"),
            Self::Auth(None) => f.write_str("AUTH"),
            Self::Auth(Some(m)) => write!(f, "AUTH {m}"),
        }
    }
}

/// `extension == "AUTH LOGIN"`: compares with the `Display` form.
impl PartialEq<&str> for Needed {
    fn eq(&self, other: &&str) -> bool {
        match self {
            Self::Auth(Some(m)) => other
                .strip_prefix("AUTH ")
                .is_some_and(|rest| rest.eq_ignore_ascii_case(m.as_str())),
            Self::SmtpUtf8 => *other == "SMTPUTF8",
            Self::EightBitMime => *other == "8BITMIME",
            Self::BinaryMime => *other == "BINARYMIME",
            Self::Auth(None) => *other == "AUTH",
        }
    }
}

/// What a next hop lacked for a REQUIRETLS message (RFC 8689 §4.2.1).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequireTlsMissing {
    /// The session is not over TLS.
    Tls,
    /// TLS, but the server was not authenticated by DANE, MTA-STS or a verified
    /// certificate (`may`, `encrypt`).
    Verification,
    /// The server does not offer REQUIRETLS (after TLS).
    Extension,
}

impl fmt::Display for RequireTlsMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tls => "is not reached over TLS",
            Self::Verification => "was not authenticated (DANE, MTA-STS or a verified certificate)",
            Self::Extension => "does not offer REQUIRETLS",
        })
    }
}

impl PolicyViolation {
    /// The enhanced status code for a bounce or a log: `5.7.30` REQUIRETLS support
    /// required (RFC 8689 §6), `5.3.4` message too big, `5.5.4` a needed extension
    /// missing, `5.7.11` AUTH without TLS (RFC 3463 X.7.11 "encryption required"), and
    /// for the TLS policy's own failures the transient `4.7.5` (cryptographic failure,
    /// DANE lookups) or `4.7.10` (encryption needed, RFC 5248).
    pub fn enhanced_code(&self) -> crate::EnhancedCode {
        let (c, s, d) = match self {
            Self::RequireTls { .. } => (5, 7, 30),
            Self::TooBig { .. } => (5, 3, 4),
            Self::MissingExtension { .. } => (5, 5, 4),
            Self::AuthWithoutTls { .. } => (5, 7, 11),
            Self::TlsaLookupFailed { .. } => (4, 7, 5),
            _ => (4, 7, 10),
        };
        crate::EnhancedCode::new(c, s, d).unwrap_or(crate::EnhancedCode::TEMPORARY_FAILURE)
    }
}

/// RFC 8689 §4.2.1: whether a message marked REQUIRETLS may go to this next hop: over
/// TLS, the server authenticated by the policy (DANE with usable records, MTA-STS or
/// `secure`, `verify`), and REQUIRETLS offered after TLS.
pub fn check_requiretls(
    policy: &TlsPolicy,
    tls: Option<&TlsInfo>,
    offered: bool,
    server: &str,
) -> Result<(), PolicyViolation> {
    let fail = |missing| {
        Err(PolicyViolation::RequireTls {
            server: server.to_owned(),
            missing,
        })
    };
    let Some(tls) = tls else {
        return fail(RequireTlsMissing::Tls);
    };
    let authenticating = match policy {
        TlsPolicy::Verify | TlsPolicy::Secure { .. } => true,
        TlsPolicy::Dane { records } => records.iter().any(Tlsa::is_usable),
        _ => false,
    };
    if !(authenticating && tls.peer_verified()) {
        return fail(RequireTlsMissing::Verification);
    }
    if !offered {
        return fail(RequireTlsMissing::Extension);
    }
    Ok(())
}

/// Decides what to do after the EHLO reply: `starttls_offered` is whether `STARTTLS`
/// was in it, `server` the MX host, `destination` the domain the policy was chosen for.
pub fn decide(
    policy: &TlsPolicy,
    starttls_offered: bool,
    server: &str,
    destination: &str,
) -> Result<TlsAction, PolicyViolation> {
    let verification = match policy {
        TlsPolicy::None => return Ok(TlsAction::Plaintext),
        TlsPolicy::DaneLookupFailed => {
            return Err(PolicyViolation::TlsaLookupFailed {
                server: server.to_owned(),
                destination: destination.to_owned(),
            });
        }
        TlsPolicy::May | TlsPolicy::Encrypt => Verification::None,
        TlsPolicy::Verify => Verification::Chain {
            names: vec![server.to_owned()],
        },
        TlsPolicy::Secure { names } if names.is_empty() => Verification::Chain {
            names: vec![destination.to_owned(), format!(".{destination}")],
        },
        TlsPolicy::Secure { names } => Verification::Chain {
            names: names.clone(),
        },
        TlsPolicy::Dane { records } => {
            let usable: Vec<Tlsa> = records.iter().filter(|r| r.is_usable()).cloned().collect();
            if usable.is_empty() {
                Verification::None
            } else {
                Verification::Dane {
                    records: usable,
                    names: vec![server.to_owned(), destination.to_owned()],
                }
            }
        }
    };
    if starttls_offered {
        return Ok(TlsAction::StartTls(verification));
    }
    if policy.requires_tls() {
        return Err(PolicyViolation::StartTlsNotOffered {
            server: server.to_owned(),
            destination: destination.to_owned(),
            policy: policy.level(),
        });
    }
    Ok(TlsAction::Plaintext)
}

/// Judges a finished handshake: whether the verification the binding reports satisfies
/// the policy.
pub fn check_handshake(
    policy: &TlsPolicy,
    info: &TlsInfo,
    server: &str,
    destination: &str,
) -> Result<(), PolicyViolation> {
    let needs_verified = match policy {
        TlsPolicy::Verify | TlsPolicy::Secure { .. } | TlsPolicy::DaneLookupFailed => true,
        TlsPolicy::Dane { records } => records.iter().any(Tlsa::is_usable),
        _ => false,
    };
    if needs_verified && !info.peer_verified() {
        return Err(PolicyViolation::NotVerified {
            server: server.to_owned(),
            destination: destination.to_owned(),
            policy: policy.level(),
            detail: "the binding reported an unverified certificate".to_owned(),
        });
    }
    Ok(())
}

/// What one session actually got: for logs and delivery reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOutcome {
    /// The policy level applied.
    pub policy: Level,
    /// The TLS facts, when TLS was used.
    pub tls: Option<TlsInfo>,
    /// Whether the server's certificate was verified.
    pub verified: bool,
    /// Why the session is secured as it is, in words.
    pub reason: String,
}

impl fmt::Display for TlsOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tls {
            Some(t) => write!(
                f,
                "TLS {} {} ({}, policy {}): {}",
                t.version(),
                t.cipher(),
                if self.verified {
                    "verified"
                } else {
                    "not verified"
                },
                self.policy,
                self.reason
            ),
            None => write!(f, "plaintext (policy {}): {}", self.policy, self.reason),
        }
    }
}
