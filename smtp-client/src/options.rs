//! [`ClientOptions`]: everything a connection can be told, with secure defaults.

use crate::error::Error;
use rustls::crypto::SupportedKxGroup;
use rustls::{RootCertStore, SupportedCipherSuite, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use smtp_proto::client::ClientAuth;
use smtp_proto::client::policy::{DomainPattern, PolicyMap, TlsPolicy};
use smtp_proto::framing::stuff::BareEndingsOut;
use smtp_proto::{Limits, Timeout};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How a client connection behaves. Start from [`ClientOptions::default`] (or
/// [`ClientOptions::new`]) and change what you need; the defaults are the secure ones.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The name sent in EHLO. Default `localhost`; an MTA should send its own
    /// fully-qualified name (RFC 5321 §4.1.1.1).
    pub hello_name: String,
    /// The TLS policy. Default [`TlsPolicy::Verify`]: STARTTLS required, the chain must
    /// verify and the certificate must name the server. Choose [`TlsPolicy::May`] for
    /// opportunistic MX delivery. With a [`policy_map`](Self::policy_map), this is the
    /// policy of destinations no rule matches (Postfix's `smtp_tls_security_level`
    /// beside `smtp_tls_policy_maps`).
    pub tls_policy: TlsPolicy,
    /// Per-destination policies ([`ClientOptions::with_policy_map`]): the rule that
    /// matches the [`destination`](Self::destination) decides the policy; with none,
    /// [`tls_policy`](Self::tls_policy) does.
    /// [`SessionReport::policy_rule`](crate::SessionReport::policy_rule) names the rule
    /// that matched. Default: none.
    pub policy_map: Option<Arc<PolicyMap>>,
    /// The rule that chose `tls_policy` when the map was consulted before the
    /// connection (MX delivery settles the policy once per domain).
    pub(crate) settled_rule: Option<DomainPattern>,
    /// TLS from the first byte (RFC 8314, port 465) instead of STARTTLS. The policy
    /// still decides what the certificate must satisfy.
    pub implicit_tls: bool,
    /// The name to verify and to send as SNI. Default: the host part of the server
    /// connected to (an IP address is verified against the certificate's IP SANs and
    /// sends no SNI).
    pub server_name: Option<String>,
    /// The destination domain the policy is chosen for (in the
    /// [`policy_map`](Self::policy_map)), checked against under `Secure` without names,
    /// and named in messages. Default: the server name. MX delivery
    /// ([`dns::MxDelivery`](crate::dns::MxDelivery)) sets it to the domain delivered to.
    pub destination: Option<String>,
    /// Trust anchors for chain verification. Default: Mozilla's roots (`webpki-roots`).
    pub trust: TrustAnchors,
    /// Protocol versions offered. Default: TLS 1.2 and 1.3.
    pub tls_versions: Vec<&'static SupportedProtocolVersion>,
    /// Cipher suites offered (`None`: rustls' defaults, all AEAD with forward secrecy).
    pub cipher_suites: Option<Vec<SupportedCipherSuite>>,
    /// Key-exchange groups offered (`None`: rustls' defaults).
    pub kx_groups: Option<Vec<&'static dyn SupportedKxGroup>>,
    /// A client certificate to present when the server asks for one.
    pub client_cert: Option<ClientCert>,
    /// Resume TLS sessions (RFC 8446 §2.2) with servers this process has talked to
    /// under the same verification (policy, names, trust anchors, client certificate,
    /// versions, groups and suites): a resumed session is never one verified under
    /// other rules, and its report carries the first handshake's verification.
    /// Default: on.
    pub tls_resumption: bool,
    /// Credentials: AUTH PLAIN, LOGIN or XOAUTH2 (RFC 4954) after TLS. Under the
    /// `may` and `encrypt` policies TLS is not authenticated, so an active attacker
    /// could receive them: use `verify` (the default) or stronger for submission.
    /// [`ClientAuth::Other`] mechanisms need the application to answer challenges:
    /// drive `smtp_proto::client::ClientSession` directly for those (here each
    /// challenge is cancelled).
    pub auth: Option<ClientAuth>,
    /// Send credentials over plaintext. Default off: AUTH without TLS is refused
    /// before any credential leaves the process.
    pub auth_without_tls: bool,
    /// Use BDAT (RFC 3030) when the server offers CHUNKING. Default off. With
    /// PIPELINING as well, a message takes one round trip instead of two (see
    /// [`smtp_proto::client::ClientOptions::chunking`]).
    pub chunking: bool,
    /// Speak LMTP (RFC 2033) instead of SMTP.
    pub lmtp: bool,
    /// Bare CR or LF in message bodies: sent as CRLF (default) or refused.
    pub bare_endings: BareEndingsOut,
    /// Limits on the server's replies. Default
    /// [`smtp_proto::client::ClientOptions::DEFAULT_LIMITS`]: reply lines up to 4,096
    /// octets (RFC 5321 §4.5.3.1.5 asks for 512 at least; real EHLO replies exceed it),
    /// at most 128 lines per reply.
    pub limits: Limits,
    /// Timeouts.
    pub timeouts: Timeouts,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            hello_name: "localhost".to_owned(),
            tls_policy: TlsPolicy::Verify,
            policy_map: None,
            settled_rule: None,
            implicit_tls: false,
            server_name: None,
            destination: None,
            trust: TrustAnchors::webpki(),
            tls_versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
            cipher_suites: None,
            kx_groups: None,
            client_cert: None,
            tls_resumption: true,
            auth: None,
            auth_without_tls: false,
            chunking: false,
            lmtp: false,
            bare_endings: BareEndingsOut::Normalize,
            limits: smtp_proto::client::ClientOptions::DEFAULT_LIMITS,
            timeouts: Timeouts::default(),
        }
    }
}

impl ClientOptions {
    /// The defaults with this EHLO name and TLS policy.
    pub fn new(hello_name: &str, tls_policy: TlsPolicy) -> Self {
        Self {
            hello_name: hello_name.to_owned(),
            tls_policy,
            ..Self::default()
        }
    }

    /// Sets the credentials for AUTH PLAIN.
    pub fn with_plain_auth(mut self, username: &str, password: &str) -> Self {
        self.auth = Some(ClientAuth::Plain {
            authzid: None,
            username: username.to_owned(),
            password: smtp_proto::Secret::new(password.to_owned()),
        });
        self
    }

    /// Sets credentials for AUTH PLAIN or else LOGIN, whichever the server offers
    /// after TLS (PLAIN when both are): [`ClientAuth::password`].
    pub fn with_password_auth(mut self, username: &str, password: &str) -> Self {
        self.auth = Some(ClientAuth::password(username, password));
        self
    }

    /// Sets credentials for AUTH XOAUTH2: a user name and an OAuth 2.0 access token
    /// (Gmail, Microsoft 365).
    pub fn with_xoauth2_auth(mut self, username: &str, token: &str) -> Self {
        self.auth = Some(ClientAuth::XOAuth2 {
            username: username.to_owned(),
            token: smtp_proto::Secret::new(token.to_owned()),
        });
        self
    }

    /// Chooses the TLS policy per destination: `map`'s rule for `destination` (the
    /// domain the mail is for: `example.com`, or the relay's name) applies, and
    /// [`tls_policy`](Self::tls_policy) where no rule matches.
    ///
    /// Patterns follow Postfix's TLS policy tables: `example.com` matches that domain
    /// only, `.example.com` (also written `*.example.com`) its subdomains at any depth
    /// but not the domain itself. List both to cover a domain and its subdomains.
    ///
    /// ```
    /// use smtp_client::{ClientOptions, DomainPattern, PolicyMap, TlsPolicy};
    ///
    /// let mut map = PolicyMap::new();
    /// for pattern in ["example.com", ".example.com"] {
    ///     map.insert(DomainPattern::parse(pattern).unwrap(), TlsPolicy::Verify);
    /// }
    /// let opts = ClientOptions::new("client.example.org", TlsPolicy::May)
    ///     .with_policy_map(map, "mail.example.com");
    /// let (policy, rule) = opts.policy_for("mail.example.com");
    /// assert_eq!((policy, rule.map(|r| r.to_string())), (&TlsPolicy::Verify, Some(".example.com".into())));
    /// assert_eq!(opts.policy_for("example.org"), (&TlsPolicy::May, None));
    /// ```
    pub fn with_policy_map(mut self, map: impl Into<Arc<PolicyMap>>, destination: &str) -> Self {
        self.policy_map = Some(map.into());
        self.destination = Some(destination.to_owned());
        self
    }

    /// The policy for `destination` and the rule of the
    /// [`policy_map`](Self::policy_map) that chose it (`None`: no rule matched, or no
    /// map; the policy is then [`tls_policy`](Self::tls_policy)).
    pub fn policy_for(&self, destination: &str) -> (&TlsPolicy, Option<&DomainPattern>) {
        match self
            .policy_map
            .as_deref()
            .and_then(|m| m.lookup(destination))
        {
            Some((policy, rule)) => (policy, Some(rule)),
            None => (&self.tls_policy, None),
        }
    }

    /// Sets every timeout ([`Timeouts`]).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the trust anchors.
    pub fn with_trust(mut self, trust: TrustAnchors) -> Self {
        self.trust = trust;
        self
    }

    /// Sets the name to verify and send as SNI.
    pub fn with_server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }

    /// Uses implicit TLS (port 465).
    pub fn with_implicit_tls(mut self) -> Self {
        self.implicit_tls = true;
        self
    }
}

/// Timeouts of a client connection. The reply timeouts default to RFC 5321
/// §4.5.3.2's minimums; each applies to one wait for the server.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect, per address tried. Default 30 s (Postfix `smtp_connect_timeout`).
    pub connect: Duration,
    /// The TLS handshake. Default 5 min (Postfix `smtp_starttls_timeout`).
    pub tls_handshake: Duration,
    /// The 220 greeting. Default 5 min.
    pub greeting: Duration,
    /// MAIL and the other commands (EHLO, STARTTLS, AUTH, RSET, QUIT). Default 5 min.
    pub mail: Duration,
    /// Each RCPT. Default 5 min.
    pub rcpt: Duration,
    /// The 354 after DATA. Default 2 min.
    pub data_init: Duration,
    /// Each write of the message (and of any command). Default 3 min.
    pub data_block: Duration,
    /// The reply after the end of the message. Default 10 min.
    pub data_termination: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(30),
            tls_handshake: Duration::from_secs(300),
            greeting: Timeout::Greeting.duration(),
            mail: Timeout::Mail.duration(),
            rcpt: Timeout::Rcpt.duration(),
            data_init: Timeout::DataInit.duration(),
            data_block: Timeout::DataBlock.duration(),
            data_termination: Timeout::DataTermination.duration(),
        }
    }
}

impl Timeouts {
    /// The same duration for every wait (handy in tests and tools).
    pub fn all(d: Duration) -> Self {
        Self {
            connect: d,
            tls_handshake: d,
            greeting: d,
            mail: d,
            rcpt: d,
            data_init: d,
            data_block: d,
            data_termination: d,
        }
    }

    /// The duration for a wait the session names.
    pub fn for_wait(&self, t: Timeout) -> Duration {
        match t {
            Timeout::Greeting => self.greeting,
            Timeout::Rcpt => self.rcpt,
            Timeout::DataInit => self.data_init,
            Timeout::DataBlock => self.data_block,
            Timeout::DataTermination => self.data_termination,
            _ => self.mail,
        }
    }
}

/// The certificates a chain may end in. Cheap to clone.
#[derive(Clone)]
pub struct TrustAnchors {
    store: Arc<RootCertStore>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("roots", &self.store.len())
            .finish()
    }
}

impl PartialEq for TrustAnchors {
    /// The same certificates (the same store, shared by clones, at once).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.store, &other.store) || self.store.roots == other.store.roots
    }
}

impl Eq for TrustAnchors {}

impl TrustAnchors {
    /// None at all: only useful with [`TrustAnchors::add_pem`].
    pub fn empty() -> Self {
        Self {
            store: Arc::new(RootCertStore::empty()),
        }
    }

    /// Mozilla's root program (`webpki-roots`), as browsers trust.
    pub fn webpki() -> Self {
        Self {
            store: Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
        }
    }

    /// The operating system's store (`rustls-native-certs`: on Debian the
    /// `ca-certificates` bundle; `SSL_CERT_FILE`/`SSL_CERT_DIR` are honoured).
    /// Certificates that do not parse are skipped; none usable is an error.
    pub fn system() -> Result<Self, Error> {
        let found = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(Error::Config(format!(
                "no usable certificate in the system store ({} errors)",
                found.errors.len()
            )));
        }
        Ok(Self {
            store: Arc::new(store),
        })
    }

    /// Adds the CA certificates of a PEM file's contents (e.g. a private CA).
    pub fn add_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let mut store = (*self.store).clone();
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
            store
                .add(cert)
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
            n += 1;
        }
        if n == 0 {
            return Err(Error::Config("no certificate in the CA PEM".into()));
        }
        self.store = Arc::new(store);
        Ok(self)
    }

    /// Adds the CA certificates of a PEM file.
    pub fn add_pem_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        self.add_pem(&read(path.as_ref())?)
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    pub(crate) fn store(&self) -> Arc<RootCertStore> {
        self.store.clone()
    }
}

/// A client certificate chain and its private key (the key is redacted from `Debug`).
pub struct ClientCert {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl Clone for ClientCert {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCert")
            .field("chain", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl ClientCert {
    /// From PEM: the chain (leaf first) and its key.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Config(format!("client certificate: {e}")))?;
        if chain.is_empty() {
            return Err(Error::Config("no client certificate in the PEM".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| Error::Config(format!("client key: {e}")))?;
        Ok(Self { chain, key })
    }

    /// From PEM files: the chain (leaf first) and its key.
    pub fn from_pem_files(chain: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, Error> {
        Self::from_pem(&read(chain.as_ref())?, &read(key.as_ref())?)
    }
}

/// A file's contents, or a configuration error naming it.
fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Config(format!("reading {}: {e}", path.display())))
}
