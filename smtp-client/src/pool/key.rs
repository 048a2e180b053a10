//! [`Destination`]: where a pooled message goes and under which options, and the key
//! that keeps connections of different destinations apart.

use crate::options::{ClientOptions, TrustAnchors};
use rustls_pki_types::CertificateDer;
use smtp_proto::client::ClientAuth;
use smtp_proto::client::policy::{PolicyMap, TlsPolicy};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A server and the options to reach it with: what [`Pool::send`](super::Pool::send)
/// takes. Build it once per destination and reuse it (cloning is cheap).
///
/// Connections are shared only between destinations with the same key: the server as
/// written (without ASCII case), the name verified and sent as SNI, the destination
/// domain, implicit TLS, the TLS policy (and policy map), the trust anchors, the
/// credentials (AUTH and the TLS client certificate, and whether AUTH may go without
/// TLS), the EHLO name and LMTP. A connection set up for one key is never used for
/// another, so a message for a `Verify` destination never rides on a connection made
/// under `May` or checked against other roots, and one user's authenticated session
/// never carries another's mail. Other options (timeouts, TLS versions, cipher
/// suites) come from the `Destination` that opened the connection.
#[derive(Clone)]
pub struct Destination {
    pub(super) server: String,
    pub(super) opts: Arc<ClientOptions>,
    pub(super) key: Arc<Key>,
}

impl Destination {
    /// `server` as [`Connection::connect`](crate::Connection::connect) takes it
    /// (`host:port`, `[v6]:port`, or a host), with `opts`.
    pub fn new(server: impl Into<String>, opts: ClientOptions) -> Self {
        let server = server.into();
        let key = Arc::new(Key {
            server: server.to_ascii_lowercase(),
            server_name: opts.server_name.clone(),
            destination: opts.destination.clone(),
            implicit_tls: opts.implicit_tls,
            policy: opts.tls_policy.clone(),
            policy_map: opts.policy_map.clone(),
            auth: opts.auth.clone(),
            auth_without_tls: opts.auth_without_tls,
            client_cert: opts.client_cert.as_ref().map(|c| c.chain.clone()),
            trust: opts.trust.clone(),
            hello_name: opts.hello_name.clone(),
            lmtp: opts.lmtp,
        });
        Self {
            server,
            opts: Arc::new(opts),
            key,
        }
    }

    /// The server, as given.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The options connections are made with.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("server", &self.server)
            .field("policy", &self.key.policy)
            .field("auth", &self.key.auth.is_some())
            .finish_non_exhaustive()
    }
}

/// What decides whether two destinations may share connections. Equality covers
/// every field, credentials included; the hash leaves the credentials out (equal keys
/// still hash alike).
#[derive(PartialEq, Eq)]
pub(super) struct Key {
    server: String,
    server_name: Option<String>,
    destination: Option<String>,
    implicit_tls: bool,
    policy: TlsPolicy,
    policy_map: Option<Arc<PolicyMap>>,
    auth: Option<ClientAuth>,
    auth_without_tls: bool,
    /// The TLS client certificate's chain: a credential too (RFC 8446 §4.4.2).
    client_cert: Option<Vec<CertificateDer<'static>>>,
    trust: TrustAnchors,
    hello_name: String,
    lmtp: bool,
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.server.hash(state);
        self.server_name.hash(state);
        self.destination.hash(state);
        self.implicit_tls.hash(state);
        self.policy.hash(state);
        self.client_cert.hash(state);
        self.hello_name.hash(state);
        self.lmtp.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TlsPolicy;

    fn dest(server: &str, policy: TlsPolicy, user: Option<&str>) -> Destination {
        let mut o = ClientOptions::new("client.test", policy);
        o.auth = user.map(|u| ClientAuth::password(u, "secret"));
        Destination::new(server, o)
    }

    #[test]
    fn keys_differ_by_server_policy_and_credentials() {
        let a = dest("mx.test:25", TlsPolicy::Verify, None);
        assert!(a.key == dest("MX.test:25", TlsPolicy::Verify, None).key);
        assert!(a.key != dest("mx.test:587", TlsPolicy::Verify, None).key);
        assert!(a.key != dest("mx.test:25", TlsPolicy::May, None).key);
        let u = dest("mx.test:25", TlsPolicy::Verify, Some("u"));
        assert!(a.key != u.key);
        assert!(u.key != dest("mx.test:25", TlsPolicy::Verify, Some("v")).key);
        assert!(u.key == dest("mx.test:25", TlsPolicy::Verify, Some("u")).key);
        // The password never shows.
        assert!(!format!("{u:?}").contains("secret"));
    }
}
