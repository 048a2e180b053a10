//! The certificate verifier every client handshake uses. It does what the session's
//! [`Verification`] asks (nothing, a WebPKI chain plus names, or DANE) and records
//! what it found either way, so the report can say "verified" or exactly why not.
//!
//! Under `Verification::None` (policies `may` and `encrypt`) it still checks the chain
//! and the server name, only to report the result; the handshake goes on.

use crate::certs::{dns_names, name_matches};
use crate::dane;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use smtp_proto::client::policy::Verification;
use std::sync::{Arc, Mutex};

/// What the verifier concluded about the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertCheck {
    /// The chain and name (or a TLSA record) were verified.
    pub(crate) verified: bool,
    /// How: `"WebPKI chain, name mx.example.com"`, `"DANE-EE(3) match"`, or why not.
    pub(crate) detail: String,
    /// Whether the handshake was failed because of it (the policy required it).
    pub(crate) enforced: bool,
    /// The WebPKI chain check alone (`None`: not done, as under DANE).
    pub(crate) chain_ok: Option<bool>,
    /// The name check alone (`None`: not done).
    pub(crate) name_ok: Option<bool>,
    /// What was wrong, when it did not verify.
    pub(crate) failure: Option<CertFailure>,
}

/// Why a server certificate did not verify, in a form a caller can match on (and a
/// TLS report can file: RFC 8460 §4.3).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertFailure {
    /// Past its validity.
    Expired,
    /// Before its validity.
    NotValidYet,
    /// Not chained to a trusted root (self-signed, or an unknown CA).
    UnknownIssuer,
    /// It does not carry the name the policy wants.
    NameMismatch,
    /// A signature in the chain does not verify.
    BadSignature,
    /// Revoked.
    Revoked,
    /// DANE: no usable TLSA record matches, or a DANE-TA match failed its checks.
    TlsaMismatch,
    /// Another defect (a malformed certificate, an unsupported algorithm).
    Other,
}

impl CertFailure {
    pub(crate) fn of(e: &rustls::Error) -> Self {
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    Self::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Self::NotValidYet
                }
                CertificateError::UnknownIssuer => Self::UnknownIssuer,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => Self::NameMismatch,
                CertificateError::BadSignature => Self::BadSignature,
                CertificateError::Revoked => Self::Revoked,
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }
}

/// How the certificate verified, or why not (in words and as a kind).
type Finding = Result<String, (String, CertFailure)>;

#[derive(Debug)]
pub(crate) struct Verifier {
    pub(crate) mode: Verification,
    /// The name checked (and reported) when the mode names none.
    pub(crate) server: String,
    pub(crate) roots: Arc<RootCertStore>,
    pub(crate) algs: WebPkiSupportedAlgorithms,
    pub(crate) record: FindingsSlot,
}

/// What a verifier found, per server certificate: one verifier may serve many
/// handshakes (a configuration shared for TLS session resumption), so each finding is
/// kept under its certificate, and the last one for a handshake that failed.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Verified certificates (SHA-256 of the leaf) and their findings, oldest first:
    /// only these can be resumed as verified, and a peer presenting certificates that
    /// fail cannot push them out.
    by_leaf: std::collections::VecDeque<(Vec<u8>, CertCheck)>,
    /// The same for certificates that did not verify (for the reports of sessions
    /// that go on anyway, under `may` and `encrypt`), kept apart.
    unverified: std::collections::VecDeque<(Vec<u8>, CertCheck)>,
    last: Option<CertCheck>,
}

/// Where a verifier writes its findings.
pub(crate) type FindingsSlot = Arc<Mutex<Findings>>;

impl Findings {
    /// The finding for the certificate `leaf` (DER), also for a session resumed from
    /// the handshake that verified it.
    pub(crate) fn for_leaf(&self, leaf: &[u8]) -> Option<CertCheck> {
        let key = crate::tls::sha256(leaf);
        self.by_leaf
            .iter()
            .chain(&self.unverified)
            .find(|(k, _)| *k == key)
            .map(|(_, c)| c.clone())
    }

    /// The last finding (for a handshake that failed: its connection is gone).
    pub(crate) fn last(&self) -> Option<CertCheck> {
        self.last.clone()
    }

    fn insert(&mut self, leaf: &[u8], check: CertCheck) {
        let key = crate::tls::sha256(leaf);
        // The latest finding for a certificate is the one that holds.
        self.by_leaf.retain(|(k, _)| *k != key);
        self.unverified.retain(|(k, _)| *k != key);
        let list = if check.verified {
            &mut self.by_leaf
        } else {
            &mut self.unverified
        };
        if list.len() >= 16 {
            list.pop_front();
        }
        list.push_back((key, check.clone()));
        self.last = Some(check);
    }
}

impl Verifier {
    pub(crate) fn new(
        mode: Verification,
        server: String,
        roots: Arc<RootCertStore>,
        provider: &CryptoProvider,
    ) -> Self {
        Self {
            mode,
            server,
            roots,
            algs: provider.signature_verification_algorithms,
            record: Arc::new(Mutex::new(Findings::default())),
        }
    }

    /// Chain to one of the roots (no name check).
    fn chain(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), (String, CertFailure)> {
        let fail = |e: rustls::Error| (describe(&e), CertFailure::of(&e));
        let parsed = ParsedCertificate::try_from(leaf).map_err(fail)?;
        verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &self.roots,
            intermediates,
            now,
            self.algs.all,
        )
        .map_err(fail)
    }

    /// The finding, and the chain and name checks on their own.
    fn check(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> (Finding, Option<bool>, Option<bool>) {
        let names = match &self.mode {
            Verification::None => std::slice::from_ref(&self.server),
            Verification::Chain { names } => names.as_slice(),
            Verification::Dane { records, names } => {
                let r = dane::verify(records, names, leaf, intermediates, now, self.algs.all)
                    .map_err(|why| (why, CertFailure::TlsaMismatch));
                return (r, None, None);
            }
            _ => {
                let why = "unsupported verification".to_owned();
                return (Err((why, CertFailure::Other)), None, None);
            }
        };
        let chain = self.chain(leaf, intermediates, now);
        let name = names_match(leaf, names).map_err(|why| (why, CertFailure::NameMismatch));
        let (c, n) = (chain.is_ok(), name.is_ok());
        (chain.and(name), Some(c), Some(n))
    }
}

/// Whether the certificate carries one of `wanted` (a leading `.`: any subdomain).
pub(crate) fn names_match(leaf: &CertificateDer<'_>, wanted: &[String]) -> Result<String, String> {
    let parsed = ParsedCertificate::try_from(leaf).map_err(|e| describe(&e))?;
    for name in wanted {
        if name.starts_with('.') {
            if dns_names(leaf).iter().any(|n| name_matches(n, name)) {
                return Ok(format!("WebPKI chain, name {name}"));
            }
        } else if let Ok(sn) = ServerName::try_from(name.as_str())
            && verify_server_name(&parsed, &sn).is_ok()
        {
            return Ok(format!("WebPKI chain, name {name}"));
        }
    }
    Err(format!(
        "name mismatch: certificate is for [{}], wanted {}",
        crate::certs::printable(&dns_names(leaf).join(", ")),
        wanted.join(" or ")
    ))
}

/// A certificate error in words.
pub(crate) fn describe(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificate expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificate not valid yet".into()
            }
            CertificateError::UnknownIssuer => {
                "unknown issuer (self-signed, or a CA not trusted)".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "name mismatch".into()
            }
            CertificateError::BadSignature => "bad signature in the chain".into(),
            CertificateError::Revoked => "certificate revoked".into(),
            other => format!("invalid certificate: {other:?}"),
        },
        other => other.to_string(),
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (result, chain_ok, name_ok) = self.check(end_entity, intermediates, now);
        let enforce = !matches!(self.mode, Verification::None);
        let (verified, detail, failure) = match &result {
            Ok(how) => (true, how.clone(), None),
            Err((why, kind)) => (false, why.clone(), Some(kind.clone())),
        };
        let check = CertCheck {
            verified,
            detail: detail.clone(),
            enforced: enforce && !verified,
            chain_ok,
            name_ok,
            failure,
        };
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(end_entity.as_ref(), check);
        if enforce && !verified {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
