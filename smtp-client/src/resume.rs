//! TLS session resumption across connections (RFC 8446 §2.2): a resumed handshake skips
//! the certificate and most of the key exchange, so a client that opens a connection
//! per message (STARTTLS each time) pays a full handshake only once per server.
//!
//! A resumed session was authenticated when it was first made, under the verification
//! of that time: it must never be resumed under another. Sessions are therefore kept
//! per *verification context*: the policy's [`Verification`] (mode, names, TLSA
//! records), the trust anchors, the client certificate and the protocol versions,
//! groups and suites, and the server. Each context has one configuration, built once:
//! rustls resumes only under the verifier that authenticated the session. That
//! verifier keeps its finding (verified, how, chain and name checks) per certificate,
//! so a resumed session (which carries the original certificate chain) reports it.

use crate::options::ClientOptions;
use crate::verify::FindingsSlot;
use rustls::RootCertStore;
use rustls::client::{ClientSessionMemoryCache, ClientSessionStore};
use smtp_proto::client::policy::Verification;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// How many verification contexts are kept (each with its own bounded session cache).
const CONTEXTS: usize = 64;
/// Sessions per context (rustls keeps a few tickets per server name).
const SESSIONS: usize = 256;

/// The shared configuration and sessions of one verification context.
pub(crate) struct Context {
    pub(crate) store: Arc<dyn ClientSessionStore>,
    /// The configuration (and its verifier's findings), built at the first handshake.
    pub(crate) config: Mutex<Option<(Arc<rustls::ClientConfig>, FindingsSlot)>>,
    /// Keeps the trust anchors alive, so that their address stays theirs in the key.
    _roots: Arc<RootCertStore>,
}

type Contexts = Mutex<HashMap<String, Arc<Context>>>;

fn contexts() -> &'static Contexts {
    static CONTEXTS_: OnceLock<Contexts> = OnceLock::new();
    CONTEXTS_.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The context for a handshake with `server` under these options and this
/// verification.
pub(crate) fn context(
    opts: &ClientOptions,
    server: &str,
    verification: &Verification,
) -> Arc<Context> {
    let roots = opts.trust.store();
    let key = format!(
        "{}|{verification:?}|roots@{:p}|cert:{:?}|{:?}|{:?}|{:?}",
        server.to_ascii_lowercase(),
        Arc::as_ptr(&roots),
        opts.client_cert.as_ref().map(|c| {
            let mut h = std::hash::DefaultHasher::new();
            for d in &c.chain {
                std::hash::Hash::hash(d.as_ref(), &mut h);
            }
            std::hash::Hasher::finish(&h)
        }),
        opts.tls_versions,
        opts.kx_groups
            .as_ref()
            .map(|g| g.iter().map(|g| g.name()).collect::<Vec<_>>()),
        opts.cipher_suites
            .as_ref()
            .map(|s| s.iter().map(|s| s.suite()).collect::<Vec<_>>()),
    );
    let mut all = contexts().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = all.get(&key) {
        return c.clone();
    }
    if all.len() >= CONTEXTS {
        // Forgetting sessions only costs full handshakes.
        all.clear();
    }
    let c = Arc::new(Context {
        store: Arc::new(ClientSessionMemoryCache::new(SESSIONS)),
        config: Mutex::new(None),
        _roots: roots,
    });
    all.insert(key, c.clone());
    c
}
