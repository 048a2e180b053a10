//! TLS for the server: a [`TlsConfig`] holds the rustls configuration that new
//! handshakes use, and can be swapped while the server runs (certificate renewal without
//! dropping live sessions). Certificates are picked by SNI when several are loaded.
//!
//! The crypto provider is chosen at build time: [`default_provider`] is the one place
//! that builds it.

use crate::error::ConfigError;
use crate::handler::TlsFacts;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, ServerConnection};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use smtp_proto::TlsInfo;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "smtp-server needs a crypto provider: enable its `aws-lc-rs` feature (the default) or `ring`"
);

/// The crypto provider new [`TlsBuilder`]s start from, chosen by this crate's features:
///
/// - `aws-lc-rs` (the default): rustls' aws-lc-rs provider, whose key-exchange groups are
///   X25519MLKEM768 (the post-quantum hybrid, offered first), X25519, secp256r1 and
///   secp384r1;
/// - `ring` alone: rustls' ring provider, X25519, secp256r1 and secp384r1 (ring has no
///   ML-KEM).
///
/// With both features on (as `--all-features` gives), aws-lc-rs is used: the stronger
/// default wins, and the choice does not depend on feature order. Take its
/// `cipher_suites` and `kx_groups` to give [`TlsBuilder::cipher_suites`] and
/// [`TlsBuilder::kx_groups`] a subset or another order.
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
pub(crate) fn group_name(group: rustls::NamedGroup) -> String {
    group
        .as_str()
        .map_or_else(|| format!("0x{:04x}", u16::from(group)), str::to_owned)
}

/// The TLS configuration new handshakes use. Cloning gives another handle on the same
/// configuration: [`TlsConfig::reload`] through any handle applies to every handshake
/// that starts afterwards; sessions already encrypted keep their keys.
#[derive(Clone)]
pub struct TlsConfig {
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Uses a rustls configuration as it is (client-certificate verification, ALPN,
    /// session tickets: whatever it says).
    pub fn new(config: ServerConfig) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(config))),
        }
    }

    /// One certificate chain and its key, from PEM, with [`TlsBuilder`]'s defaults.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, ConfigError> {
        TlsBuilder::new().certificate_pem(cert_chain, key)?.build()
    }

    /// [`TlsConfig::from_pem`] from two files.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        TlsBuilder::new()
            .certificate_files(cert_chain, key)?
            .build()
    }

    /// Replaces the configuration for every handshake from now on.
    pub fn reload(&self, config: ServerConfig) {
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        *slot = Arc::new(config);
    }

    /// Replaces the configuration with what `other` holds now (e.g. a freshly built
    /// [`TlsBuilder`] after certificate renewal).
    pub fn reload_from(&self, other: &TlsConfig) {
        let next = other.current();
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        *slot = next;
    }

    /// The configuration a handshake starting now would use.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Builds a [`TlsConfig`]: certificates (one default, more by SNI name), protocol
/// versions, cipher suites and key-exchange groups. Defaults: TLS 1.2 and 1.3, and the
/// suites and groups of [`default_provider`] (all with forward secrecy and AEAD ciphers;
/// X25519MLKEM768 first with the default `aws-lc-rs` feature).
#[derive(Debug)]
pub struct TlsBuilder {
    provider: CryptoProvider,
    versions: Vec<&'static SupportedProtocolVersion>,
    default: Option<Arc<CertifiedKey>>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
    client_roots: Option<(rustls::RootCertStore, bool)>,
}

impl Default for TlsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TlsBuilder {
    /// A builder with the defaults and no certificate yet.
    pub fn new() -> Self {
        Self {
            provider: default_provider(),
            versions: rustls::DEFAULT_VERSIONS.to_vec(),
            default: None,
            by_name: HashMap::new(),
            client_roots: None,
        }
    }

    /// The protocol versions to offer (e.g. `&[&rustls::version::TLS13]`).
    pub fn versions(mut self, versions: &[&'static SupportedProtocolVersion]) -> Self {
        self.versions = versions.to_vec();
        self
    }

    /// The cipher suites, in preference order (from [`default_provider`]'s
    /// `cipher_suites`).
    pub fn cipher_suites(mut self, suites: &[SupportedCipherSuite]) -> Self {
        self.provider.cipher_suites = suites.to_vec();
        self
    }

    /// The key-exchange groups, in preference order (from [`default_provider`]'s
    /// `kx_groups`).
    pub fn kx_groups(mut self, groups: &[&'static dyn rustls::crypto::SupportedKxGroup]) -> Self {
        self.provider.kx_groups = groups.to_vec();
        self
    }

    /// The default certificate chain (leaf first) and private key, in PEM.
    pub fn certificate_pem(mut self, chain: &[u8], key: &[u8]) -> Result<Self, ConfigError> {
        self.default = Some(self.certified_key(chain, key)?);
        Ok(self)
    }

    /// [`TlsBuilder::certificate_pem`] from files.
    pub fn certificate_files(
        self,
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let (c, k) = read_pair(chain.as_ref(), key.as_ref())?;
        self.certificate_pem(&c, &k)
    }

    /// A certificate for clients that ask for `name` by SNI (case-insensitive, exact
    /// match); other clients get the default certificate.
    pub fn sni_certificate_pem(
        mut self,
        name: &str,
        chain: &[u8],
        key: &[u8],
    ) -> Result<Self, ConfigError> {
        let ck = self.certified_key(chain, key)?;
        self.by_name.insert(name.to_ascii_lowercase(), ck);
        Ok(self)
    }

    /// Asks clients for a certificate issued by one of the CAs in `ca_pem`. With
    /// `required` a client without one fails the handshake; otherwise it may go on
    /// without (the default for SMTP, where most clients have none). A verified chain is
    /// in [`TlsFacts::client_certificates`] and `TlsInfo::peer_verified`.
    pub fn client_auth_pem(mut self, ca_pem: &[u8], required: bool) -> Result<Self, ConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem) {
            let c = c.map_err(|e| ConfigError::Pem(format!("client CA: {e}")))?;
            roots.add(c).map_err(ConfigError::Tls)?;
        }
        self.client_roots = Some((roots, required));
        Ok(self)
    }

    fn certified_key(&self, chain: &[u8], key: &[u8]) -> Result<Arc<CertifiedKey>, ConfigError> {
        let certs = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::Pem(format!("certificate chain: {e}")))?;
        if certs.is_empty() {
            return Err(ConfigError::Pem("no certificate in the chain".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| ConfigError::Pem(format!("private key: {e}")))?;
        let signer = self
            .provider
            .key_provider
            .load_private_key(key)
            .map_err(ConfigError::Tls)?;
        Ok(Arc::new(CertifiedKey::new(certs, signer)))
    }

    /// The configuration.
    pub fn build(self) -> Result<TlsConfig, ConfigError> {
        if self.default.is_none() && self.by_name.is_empty() {
            return Err(ConfigError::Pem("no certificate".into()));
        }
        let resolver = SniResolver {
            default: self.default,
            by_name: self.by_name,
        };
        let provider = Arc::new(self.provider);
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&self.versions)
            .map_err(ConfigError::Tls)?;
        let builder = match self.client_roots {
            None => builder.with_no_client_auth(),
            Some((roots, required)) => {
                let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                );
                let v = if required {
                    v
                } else {
                    v.allow_unauthenticated()
                };
                let v = v
                    .build()
                    .map_err(|e| ConfigError::Pem(format!("client CA: {e}")))?;
                builder.with_client_cert_verifier(v)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(resolver));
        // Session tickets (RFC 8446 §4.6.1), as Postfix issues them: a returning client
        // resumes without the server keeping its session. The default in-memory cache
        // holds 256 sessions for the whole server (two per handshake), so under load few
        // clients would find theirs. The ticket keys rotate every six hours.
        config.ticketer = ticketer()?;
        Ok(TlsConfig::new(config))
    }
}

/// The session-ticket encrypter of the configured crypto provider.
fn ticketer() -> Result<Arc<dyn rustls::server::ProducesTickets>, ConfigError> {
    #[cfg(feature = "aws-lc-rs")]
    let t = rustls::crypto::aws_lc_rs::Ticketer::new();
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    let t = rustls::crypto::ring::Ticketer::new();
    t.map_err(ConfigError::Tls)
}

fn read_pair(chain: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), ConfigError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| ConfigError::File(p.to_path_buf(), e));
    Ok((read(chain)?, read(key)?))
}

#[derive(Debug)]
struct SniResolver {
    default: Option<Arc<CertifiedKey>>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello
            .server_name()
            .and_then(|n| self.by_name.get(&n.to_ascii_lowercase()))
            .or(self.default.as_ref())
            .cloned()
    }
}

/// The facts of an established server-side TLS connection.
pub(crate) fn facts(conn: &ServerConnection, starttls: bool) -> TlsFacts {
    let version = conn
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS");
    let suite = conn
        .negotiated_cipher_suite()
        .and_then(|s| s.suite().as_str())
        .unwrap_or("unknown");
    let client_certificates: Vec<Vec<u8>> = conn
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.to_vec()).collect())
        .unwrap_or_default();
    let key_exchange = conn
        .negotiated_key_exchange_group()
        .map(|g| group_name(g.name()));
    let mut info =
        TlsInfo::from_names(version, suite).with_peer_verified(!client_certificates.is_empty());
    if let Some(sni) = conn.server_name()
        && let Ok(with) = info.clone().with_sni(sni)
    {
        info = with;
    }
    if let Some(kx) = &key_exchange
        && let Ok(with) = info.clone().with_key_exchange(kx)
    {
        info = with;
    }
    TlsFacts {
        info,
        key_exchange,
        client_certificates,
        starttls,
    }
}
