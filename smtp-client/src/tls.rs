//! TLS for the client: a rustls configuration per handshake (its verifier carries the
//! session's [`Verification`]), the handshake itself, and the facts it produced.
//!
//! The crypto provider is chosen at build time: [`default_provider`] is the one place
//! that builds it, and `sha256`/`sha512` (DANE's digests) come from the same crate.

use crate::certs::CertificateSummary;
use crate::error::Error;
use crate::options::ClientOptions;
use crate::report::TlsReport;
use crate::verify::{CertCheck, FindingsSlot, Verifier};
use rustls::ClientConfig;
use rustls::client::ClientConnection;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::ServerName;
use smtp_proto::TlsInfo;
use smtp_proto::client::policy::Verification;
use std::sync::Arc;

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "smtp-client needs a crypto provider: enable its `aws-lc-rs` feature (the default) or `ring`"
);

#[cfg(feature = "aws-lc-rs")]
use aws_lc_rs::digest;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
use ring::digest;

/// A configuration for a handshake with `server` under `verification`, and where its
/// verifier writes its findings. With resumption on (the default), one configuration
/// is built per verification context and server and shared by every handshake in it:
/// rustls resumes a session only under the very verifier that authenticated it, and
/// the provider, roots and settings are not built again for each connection.
pub(crate) fn config(
    opts: &ClientOptions,
    server: &str,
    verification: Verification,
) -> Result<(Arc<ClientConfig>, FindingsSlot), Error> {
    if !opts.tls_resumption {
        let (mut config, record) = build(opts, server, verification)?;
        config.resumption = rustls::client::Resumption::disabled();
        return Ok((Arc::new(config), record));
    }
    let ctx = crate::resume::context(opts, server, &verification);
    let mut slot = ctx.config.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((config, record)) = slot.as_ref() {
        return Ok((config.clone(), record.clone()));
    }
    let (mut config, record) = build(opts, server, verification)?;
    config.resumption = rustls::client::Resumption::store(ctx.store.clone());
    let config = Arc::new(config);
    *slot = Some((config.clone(), record.clone()));
    Ok((config, record))
}

/// A new configuration whose verifier does what `verification` says.
fn build(
    opts: &ClientOptions,
    server: &str,
    verification: Verification,
) -> Result<(ClientConfig, FindingsSlot), Error> {
    let mut provider = default_provider();
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
    Ok((config, record))
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
        failure: None,
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
    let key_exchange = conn
        .negotiated_key_exchange_group()
        .map(|g| group_name(g.name()));
    if let Some(kx) = &key_exchange
        && let Ok(with) = info.clone().with_key_exchange(kx)
    {
        info = with;
    }
    let report = TlsReport {
        version: info.version().to_owned(),
        cipher: info.cipher().to_owned(),
        key_exchange,
        sni,
        starttls,
        chain,
        verified: check.verified,
        chain_verified: check.chain_ok,
        name_matched: check.name_ok,
        verification: check.detail,
        resumed: false,
    };
    (info, report)
}

/// The crypto provider every handshake starts from, chosen by this crate's features:
///
/// - `aws-lc-rs` (the default): rustls' aws-lc-rs provider, whose key-exchange groups are
///   X25519MLKEM768 (the post-quantum hybrid, offered first), X25519, secp256r1 and
///   secp384r1. rustls sends key shares for both X25519MLKEM768 and X25519, so a server
///   without ML-KEM picks X25519 with no extra round trip;
/// - `ring` alone: rustls' ring provider, X25519, secp256r1 and secp384r1 (ring has no
///   ML-KEM).
///
/// With both features on (as `--all-features` gives), aws-lc-rs is used: the stronger
/// default wins, and the choice does not depend on feature order. Take its
/// `cipher_suites` and `kx_groups` to set [`ClientOptions::cipher_suites`] and
/// [`ClientOptions::kx_groups`] to a subset or another order.
#[cfg_attr(
    not(any(feature = "aws-lc-rs", feature = "ring")),
    allow(unreachable_code, unused_variables)
)]
pub fn default_provider() -> CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    let provider = rustls::crypto::ring::default_provider();
    #[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
    let provider = unreachable!("no crypto provider (see the compile_error above)");
    provider
}

/// The IANA name of a key-exchange group (`X25519MLKEM768`, `X25519`, `secp256r1`), or
/// its code point in hex for a group rustls has no name for.
fn group_name(group: rustls::NamedGroup) -> String {
    group
        .as_str()
        .map_or_else(|| format!("0x{:04x}", u16::from(group)), str::to_owned)
}

/// SHA-256 (TLSA matching type 1, RFC 6698 §2.1.3), from the provider's crate.
#[cfg_attr(
    not(any(feature = "aws-lc-rs", feature = "ring")),
    allow(unreachable_code, unused_variables)
)]
pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    #[cfg(any(feature = "aws-lc-rs", feature = "ring"))]
    let d = digest::digest(&digest::SHA256, data).as_ref().to_vec();
    #[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
    let d = unreachable!("no crypto provider for {} bytes", data.len());
    d
}

/// SHA-512 (TLSA matching type 2, RFC 6698 §2.1.3), from the provider's crate.
#[cfg_attr(
    not(any(feature = "aws-lc-rs", feature = "ring")),
    allow(unreachable_code, unused_variables)
)]
pub(crate) fn sha512(data: &[u8]) -> Vec<u8> {
    #[cfg(any(feature = "aws-lc-rs", feature = "ring"))]
    let d = digest::digest(&digest::SHA512, data).as_ref().to_vec();
    #[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
    let d = unreachable!("no crypto provider for {} bytes", data.len());
    d
}
