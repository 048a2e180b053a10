//! The test server's certificates: a CA made at start, a good leaf for `localhost` and
//! 127.0.0.1, and the bad ones a `cert=` rule presents.

use super::faults::Faults;
use super::rules::CertKind;
use super::server::StartError;
use crate::tls::TlsConfig;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, SanType, date_time_ymd,
};

/// The fixed test CA of [`CertKind::Weak`]: its leaf is signed with ECDSA over SHA-1,
/// which rcgen cannot make, so the pair was made once with OpenSSL (`openssl x509 -req
/// -sha1`). Its key is public in this repository: trust it in tests only.
pub(crate) const WEAK_CA_PEM: &str = include_str!("weak/ca.pem");
const WEAK_CERT_PEM: &str = include_str!("weak/cert.pem");
const WEAK_KEY_PEM: &str = include_str!("weak/key.pem");

/// What [`Certs::new`] failed on.
type Error = rcgen::Error;

pub(crate) struct Certs {
    pub(crate) ca_pem: String,
    ca: Certificate,
    ca_key: KeyPair,
    names: Vec<String>,
}

impl Certs {
    /// A fresh CA, for leaves naming `names` (DNS names or IP addresses).
    pub(crate) fn new(names: &[String]) -> Result<Self, Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "smtp-server TestServer CA");
        let ca = ca.self_signed(&ca_key)?;
        Ok(Self {
            ca_pem: ca.pem(),
            ca,
            ca_key,
            names: names.to_vec(),
        })
    }

    /// The chain (leaf, then the CA when it has one) and key, in PEM, of `kind`.
    pub(crate) fn make(&self, kind: CertKind) -> Result<(String, String), Error> {
        if kind == CertKind::Weak {
            return Ok((
                format!("{WEAK_CERT_PEM}{WEAK_CA_PEM}"),
                WEAK_KEY_PEM.to_owned(),
            ));
        }
        let names = match kind {
            CertKind::WrongName => vec!["wrong-name.invalid".to_owned()],
            _ => self.names.clone(),
        };
        let mut params = CertificateParams::new(
            names
                .iter()
                .filter(|n| n.parse::<std::net::IpAddr>().is_err())
                .cloned()
                .collect::<Vec<_>>(),
        )?;
        for n in &names {
            if let Ok(ip) = n.parse() {
                params.subject_alt_names.push(SanType::IpAddress(ip));
            }
        }
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].as_str());
        match kind {
            CertKind::Expired => {
                params.not_before = date_time_ymd(2000, 1, 1);
                params.not_after = date_time_ymd(2001, 1, 1);
            }
            CertKind::NotYetValid => {
                params.not_before = date_time_ymd(2090, 1, 1);
                params.not_after = date_time_ymd(2100, 1, 1);
            }
            _ => {}
        }
        let key = KeyPair::generate()?;
        let cert = if kind == CertKind::SelfSigned {
            params.self_signed(&key)?
        } else {
            params.signed_by(&key, &self.ca, &self.ca_key)?
        };
        let chain = match kind {
            CertKind::SelfSigned => cert.pem(),
            _ => format!("{}{}", cert.pem(), self.ca_pem),
        };
        Ok((chain, key.serialize_pem()))
    }

    /// [`Certs::make`] as a server configuration.
    pub(crate) fn config(&self, kind: CertKind) -> Result<TlsConfig, String> {
        let (chain, key) = self.make(kind).map_err(|e| e.to_string())?;
        TlsConfig::from_pem(chain.as_bytes(), key.as_bytes()).map_err(|e| e.to_string())
    }
}

/// The certificates [`Faults::install_test_certificates`] made.
#[derive(Debug)]
pub struct TestCertificates {
    /// The CA certificates to trust (PEM): the CA made now and the fixed CA of the
    /// `weak` certificate.
    pub ca_pem: String,
    /// The good certificate (for the names given, from the CA made now).
    pub tls: TlsConfig,
}

impl Faults {
    /// Makes a CA and certificates of every [`CertKind`] for `names` (DNS names or IP
    /// addresses), for `cert=` rules to present; gives the CA and the good one, for the
    /// server's own TLS configuration. A [`TestServer`](super::TestServer) does this
    /// itself; a server with its own handler and these rules calls it.
    pub fn install_test_certificates(
        &self,
        names: &[&str],
    ) -> Result<TestCertificates, StartError> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        if names.is_empty() {
            return Err(StartError("a certificate needs a name".into()));
        }
        let certs = Certs::new(&names).map_err(|e| StartError(e.to_string()))?;
        for kind in [
            CertKind::Expired,
            CertKind::NotYetValid,
            CertKind::SelfSigned,
            CertKind::WrongName,
            CertKind::Weak,
        ] {
            let config = certs.config(kind).map_err(StartError)?;
            self.set_certificate(kind, config.current());
        }
        let tls = certs.config(CertKind::Good).map_err(StartError)?;
        Ok(TestCertificates {
            ca_pem: format!("{}{WEAK_CA_PEM}", certs.ca_pem),
            tls,
        })
    }
}
