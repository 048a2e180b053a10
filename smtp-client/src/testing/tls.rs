//! rustls configurations for [`TestClient::starttls`](super::TestClient::starttls), on
//! this crate's crypto provider ([`default_provider`](crate::default_provider): the
//! `aws-lc-rs` or `ring` feature decides, as for [`Connection`](crate::Connection)).

use super::TestError;
use crate::options::TrustAnchors;
use crate::verify::Verifier;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::ServerName;
use smtp_proto::client::policy::Verification;
use std::net::SocketAddr;
use std::sync::Arc;

/// A configuration that trusts only the CA certificates in `ca_pem` (PEM, one or
/// more), verifying the chain and the server name as rustls does (TLS 1.2 and 1.3).
pub fn trust_ca_pem(ca_pem: &[u8]) -> Result<Arc<ClientConfig>, TestError> {
    let anchors = TrustAnchors::empty()
        .add_pem(ca_pem)
        .map_err(|e| TestError::Misuse(format!("CA certificates: {e}")))?;
    let provider = Arc::new(crate::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TestError::Misuse(format!("TLS versions: {e}")))?
        .with_root_certificates(anchors.store())
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A configuration that accepts any server certificate (self-signed, expired, for
/// another name), for auditing servers whose certificates are not the point. The
/// handshake itself is still checked: the server must prove it holds the key of the
/// certificate it shows.
///
/// It uses the verifier every [`Connection`](crate::Connection) uses, in the mode of
/// the `may` and `encrypt` policies (look, never refuse).
pub fn accept_any_certificate() -> Result<Arc<ClientConfig>, TestError> {
    let provider = crate::default_provider();
    let verifier = Verifier::new(
        Verification::None,
        String::new(),
        Arc::new(RootCertStore::empty()),
        &provider,
    );
    let config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TestError::Misuse(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name to give rustls for `addr` when no host name is known: its IP address
/// (verified against the certificate's IP addresses; no SNI is sent).
pub fn server_name_for(addr: SocketAddr) -> ServerName<'static> {
    ServerName::IpAddress(addr.ip().into())
}

/// A host name (or IP address in text) as rustls takes it.
pub fn server_name(name: &str) -> Result<ServerName<'static>, TestError> {
    ServerName::try_from(name.to_owned())
        .map_err(|e| TestError::Misuse(format!("server name {name:?}: {e}")))
}
