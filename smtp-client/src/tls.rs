//! TLS for the client: a rustls configuration per handshake (its verifier carries the
//! session's [`Verification`]), the handshake itself, and the facts it produced.

use crate::certs::CertificateSummary;
use crate::error::Error;
use crate::options::ClientOptions;
use crate::report::TlsReport;
use crate::verify::{CertCheck, Verifier};
use rustls::ClientConfig;
use rustls::client::ClientConnection;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::ServerName;
use smtp_proto::TlsInfo;
use smtp_proto::client::policy::Verification;
use std::sync::{Arc, Mutex};

/// Where the verifier writes its finding.
pub(crate) type CheckSlot = Arc<Mutex<Option<CertCheck>>>;

/// A configuration for one handshake, and where its verifier writes its finding.
pub(crate) fn config(
    opts: &ClientOptions,
    server: &str,
    verification: Verification,
) -> Result<(Arc<ClientConfig>, CheckSlot), Error> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = &opts.cipher_suites {
        provider.cipher_suites = suites.clone();
    }
    if let Some(groups) = &opts.kx_groups {
        provider.kx_groups = groups.clone();
    }
    let verifier = Verifier::new(
        verification,
        server.to_owned(),
        opts.trust.store(),
        &provider,
    );
    let record = verifier.record.clone();
    let builder = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&opts.tls_versions)
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let config = match &opts.client_cert {
        Some(c) => builder
            .with_client_auth_cert(c.chain.clone(), c.key.clone_key())
            .map_err(|e| Error::Config(format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok((Arc::new(config), record))
}

/// The name sent as SNI and used by rustls (an IP address sends no SNI).
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, Error> {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|_| Error::Config(format!("not a host name or address: {name}")))
}

/// The facts of a finished handshake.
pub(crate) fn facts(
    conn: &ClientConnection,
    check: Option<CertCheck>,
    sni: &ServerName<'_>,
    starttls: bool,
) -> (TlsInfo, TlsReport) {
    let version = conn
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS");
    let suite = conn
        .negotiated_cipher_suite()
        .and_then(|s| s.suite().as_str())
        .unwrap_or("unknown");
    let check = check.unwrap_or(CertCheck {
        verified: false,
        detail: "no certificate checked".into(),
        enforced: false,
        chain_ok: None,
        name_ok: None,
    });
    let sni = match sni {
        ServerName::DnsName(d) => Some(d.as_ref().to_owned()),
        _ => None,
    };
    let mut info = TlsInfo::from_names(version, suite).with_peer_verified(check.verified);
    if let Some(s) = &sni
        && let Ok(with) = info.clone().with_sni(s)
    {
        info = with;
    }
    let chain = conn
        .peer_certificates()
        .map(|c| {
            c.iter()
                .filter_map(|d| CertificateSummary::from_der(d))
                .collect()
        })
        .unwrap_or_default();
    let report = TlsReport {
        version: info.version().to_owned(),
        cipher: info.cipher().to_owned(),
        key_exchange: conn
            .negotiated_key_exchange_group()
            .map(|g| format!("{:?}", g.name())),
        sni,
        starttls,
        chain,
        verified: check.verified,
        chain_verified: check.chain_ok,
        name_matched: check.name_ok,
        verification: check.detail,
    };
    (info, report)
}

/// The default provider, for callers that build their own lists of suites or groups.
pub fn default_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}
