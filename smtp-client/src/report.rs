//! What a connection got: [`SessionReport`] and its [`TlsReport`].

use crate::certs::CertificateSummary;
use smtp_proto::client::policy::{DomainPattern, Level, PolicySource};
use smtp_proto::{Capabilities, Reply};
use std::fmt;
use std::net::SocketAddr;

/// What one connection actually got: for logs, delivery reports and `Received:`
/// headers. Filled in as the session goes; complete once the connection is ready.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionReport {
    /// The server name used (for verification and SNI).
    pub server: String,
    /// The address connected to.
    pub addr: Option<SocketAddr>,
    /// The server's greeting.
    pub greeting: Option<Reply>,
    /// The capabilities of the last EHLO (after TLS: the ones offered over TLS).
    pub capabilities: Option<Capabilities>,
    /// The capabilities offered in plaintext before STARTTLS.
    pub capabilities_before_tls: Option<Capabilities>,
    /// The destination the policy was chosen for (the domain mail goes to; by default
    /// the server name).
    pub destination: String,
    /// The TLS policy level applied (`none`, `may`, `encrypt`, `verify`, `secure`, `dane`).
    pub policy: Level,
    /// The rule of the options' [`PolicyMap`](crate::PolicyMap) that chose the policy,
    /// as its pattern (`example.com`, `.example.com`); `None` when no rule matched or
    /// there is no map, and the options' `tls_policy` applied.
    pub policy_rule: Option<DomainPattern>,
    /// Which policy decided for this host under MX delivery
    /// ([`dns::MxDelivery`](crate::dns::MxDelivery)): a local rule, DANE, MTA-STS or the
    /// default ([`PolicySource::name`]: `local`, `dane`, `mta-sts`, `default`). `None`
    /// for a connection made directly, whose policy comes from the options alone
    /// ([`policy_rule`](Self::policy_rule) tells a rule from the default there).
    pub policy_source: Option<PolicySource>,
    /// Why the session is secured as it is, in words (e.g. `STARTTLS not offered`).
    pub reason: String,
    /// TLS facts, when TLS was negotiated.
    pub tls: Option<TlsReport>,
    /// The AUTH mechanism used, when the session authenticated.
    pub authenticated: Option<String>,
    /// Why TLS failed when the policy let the session go on without it (`may`: the
    /// handshake failed and the session was retried in plaintext).
    pub tls_failure: Option<String>,
}

impl SessionReport {
    /// The host name the server gave in its greeting (RFC 5321 §4.3.1: the first word).
    pub fn greeting_name(&self) -> Option<String> {
        let g = self.greeting.as_ref()?;
        let first = g.lines().first()?.to_string();
        first.split_whitespace().next().map(str::to_owned)
    }

    /// One line for logs: `TLSv1.3 TLS_AES_256_GCM_SHA384 X25519 verified` or `none`.
    pub fn tls_line(&self) -> String {
        match &self.tls {
            Some(t) => t.to_string(),
            None => "none".to_owned(),
        }
    }
}

/// The facts of a TLS connection as the client saw them.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsReport {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// The IANA cipher suite name.
    pub cipher: String,
    /// The key-exchange group, e.g. `X25519`.
    pub key_exchange: Option<String>,
    /// The SNI sent, if any.
    pub sni: Option<String>,
    /// Whether TLS came from STARTTLS (rather than implicit TLS).
    pub starttls: bool,
    /// The chain the server sent, leaf first.
    pub chain: Vec<CertificateSummary>,
    /// Whether the chain and name (or a TLSA record) were verified.
    pub verified: bool,
    /// The WebPKI chain check alone: the chain ends in a trust anchor and every
    /// certificate is valid now (`None` under DANE).
    pub chain_verified: Option<bool>,
    /// The name check alone: the certificate names the server (or one of the policy's
    /// names). `None` under DANE.
    pub name_matched: Option<bool>,
    /// How it was verified, or why it was not (for a resumed session: at its first
    /// handshake).
    pub verification: String,
    /// Whether the session was resumed (RFC 8446 §2.2) from an earlier one with the
    /// same server under the same verification, rather than a full handshake.
    pub resumed: bool,
}

impl fmt::Display for TlsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.version, self.cipher)?;
        if let Some(kx) = &self.key_exchange {
            write!(f, " {kx}")?;
        }
        f.write_str(if self.verified {
            " verified"
        } else {
            " unverified"
        })
    }
}
