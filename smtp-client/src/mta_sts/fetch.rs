//! The policy fetch (RFC 8461 §3.3): `GET https://mta-sts.<domain>/.well-known/mta-sts.txt`
//! with the policy host's certificate verified, no redirects, no proxy, no HTTP cache,
//! a time limit and a body cap. [`PolicyFetcher`] is the seam; [`HttpsFetcher`] the
//! default, on hyper's HTTP/1 client through hyper-rustls with this crate's crypto
//! provider and [`TrustAnchors`].
//!
//! Why hyper and not reqwest: reqwest 0.13 (feature `rustls-no-provider`) is built on
//! these same crates, hyper-rustls included, and adds `url` with the ICU4X IDNA tables,
//! tower and tower-http and rustls-platform-verifier, which a configuration of our own
//! would leave unused. What this fetch needs from a client is either hyper's default
//! or a few lines here: hyper's legacy client never follows redirects and has no proxy
//! support at all; the time limit is one `tokio::time::timeout`; the addresses of
//! the policy host come from a resolver service ([`FetchOptions::resolve`] for tests).

use crate::error::Error;
use crate::options::TrustAnchors;
use crate::tls::default_provider;
use crate::verify::{CertFailure, describe};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::{Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use smtp_proto::client::sts::{MAX_POLICY_SIZE, StsError, StsPolicy, validate_response};
use smtp_proto::client::tlsrpt::ResultType;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The default time limit of one fetch, from the connection to the last octet of the
/// body (RFC 8461 §3.3: "Senders MAY impose a timeout on the HTTPS GET and/or a limit
/// on the maximum size of the response body … A suggested timeout is one minute").
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The path of the policy on the policy host (RFC 8461 §3.2).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// The policy host of a domain, `mta-sts.<domain>` (RFC 8461 §3.3): lowercase,
/// without a trailing dot. [`FetchError::InvalidDomain`] unless the result is a DNS
/// name (A-labels: an internationalized domain comes in its ASCII form).
pub fn policy_host(domain: &str) -> Result<String, FetchError> {
    let domain = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    let host = format!("mta-sts.{domain}");
    let valid = !domain.is_empty()
        && matches!(
            ServerName::try_from(host.as_str()),
            Ok(ServerName::DnsName(_))
        );
    if valid {
        Ok(host)
    } else {
        Err(FetchError::InvalidDomain { domain })
    }
}

/// The HTTPS response to a policy request, as the fetcher got it. The checks of RFC
/// 8461 §3.2 and §3.3 (status 200, `text/plain`, size, the policy's syntax) are the
/// core's [`validate_response`]: [`PolicyResponse::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type` header field's value (the first one), if any.
    pub content_type: Option<String>,
    /// The body: empty unless the status is 200; never more than
    /// [`MAX_POLICY_SIZE`] octets.
    pub body: Bytes,
}

impl PolicyResponse {
    /// The policy, if the response carries a valid one ([`validate_response`]).
    pub fn validate(&self) -> Result<StsPolicy, StsError> {
        validate_response(self.status, self.content_type.as_deref(), &self.body)
    }
}

/// Fetches the policy file of a domain from its policy host (RFC 8461 §3.3).
///
/// An implementation must verify the policy host's certificate for
/// `mta-sts.<domain>` against WebPKI trust anchors, must not follow redirects (a 3xx
/// is returned as it came), must not use an HTTP cache, and must stop reading a body
/// past [`MAX_POLICY_SIZE`] octets ([`FetchError::TooLarge`]). [`HttpsFetcher`] does
/// all of that; another implementation (an MTA's own HTTP client, a test double) is
/// held to the same.
pub trait PolicyFetcher: Send + Sync {
    /// `GET https://mta-sts.<domain>/.well-known/mta-sts.txt`. `domain` is the policy
    /// domain, lowercase, without a trailing dot.
    fn fetch(
        &self,
        domain: &str,
    ) -> impl Future<Output = Result<PolicyResponse, FetchError>> + Send;
}

/// Why a policy fetch got no usable response. [`FetchError::result_type`] files it
/// for a TLS report (RFC 8460 §4.3.3).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// `mta-sts.<domain>` is not a DNS name.
    #[error("no MTA-STS policy host for {domain:?}: not a domain name")]
    InvalidDomain {
        /// The domain as given (lowercase, without a trailing dot).
        domain: String,
    },
    /// The policy host did not resolve, or no address took the connection.
    #[error("connecting to policy host {host}: {detail}")]
    Connect {
        /// The policy host.
        host: String,
        /// What went wrong, with its causes.
        detail: String,
    },
    /// The policy host's certificate did not verify for its name (RFC 8461 §3.3; RFC
    /// 8460 `sts-webpki-invalid`).
    #[error("policy host {host}: certificate not valid: {detail}")]
    Certificate {
        /// The policy host.
        host: String,
        /// What was wrong.
        failure: CertFailure,
        /// The same in words.
        detail: String,
    },
    /// The TLS handshake failed for another reason than the certificate.
    #[error("policy host {host}: TLS: {detail}")]
    Tls {
        /// The policy host.
        host: String,
        /// The TLS error.
        detail: String,
    },
    /// The HTTP exchange failed (a malformed response, a connection closed early).
    #[error("policy host {host}: HTTP: {detail}")]
    Http {
        /// The policy host.
        host: String,
        /// What went wrong, with its causes.
        detail: String,
    },
    /// The body is longer than [`MAX_POLICY_SIZE`]: reading stopped there.
    #[error("policy host {host}: body of more than {MAX_POLICY_SIZE} octets (at least {len})")]
    TooLarge {
        /// The policy host.
        host: String,
        /// The length announced (`Content-Length`), or the octets received when
        /// reading stopped.
        len: u64,
    },
    /// No complete response within the time limit.
    #[error("policy host {host}: no complete response within {after:?}")]
    Timeout {
        /// The policy host.
        host: String,
        /// The limit.
        after: Duration,
    },
}

impl FetchError {
    /// The TLS report result type (RFC 8460 §4.3.3): `sts-webpki-invalid` for a
    /// certificate that did not verify, `sts-policy-fetch-error` for the rest.
    pub fn result_type(&self) -> ResultType {
        match self {
            Self::Certificate { .. } => ResultType::StsWebpkiInvalid,
            _ => ResultType::StsPolicyFetchError,
        }
    }
}

/// How [`HttpsFetcher`] fetches. Start from [`FetchOptions::default`] and change
/// what you need.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The roots the policy host's chain must end in (RFC 8461 §3.3: a certificate
    /// valid for the policy host per RFC 6125, "chaining to a root CA that is trusted
    /// by the sender"). Default: Mozilla's roots ([`TrustAnchors::webpki`]).
    pub trust: TrustAnchors,
    /// The time limit of one fetch, connection to last octet. Default
    /// [`DEFAULT_FETCH_TIMEOUT`], one minute as RFC 8461 §3.3 suggests.
    pub timeout: Duration,
    /// The port of policy hosts looked up in DNS. Default 443; another one only for a
    /// lab. The URL, and so the `Host` field, never carries a port.
    pub https_port: u16,
    /// Fixed addresses for policy hosts (lowercase names), used instead of DNS and
    /// with their own port: tests and labs. Default: none.
    pub resolve: HashMap<String, SocketAddr>,
    /// Whether hosts not in [`resolve`](Self::resolve) are looked up with the
    /// system's resolver. Default on; [`FetchOptions::only_resolved`] turns it off,
    /// so that nothing leaves the addresses given.
    pub system_dns: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            trust: TrustAnchors::webpki(),
            timeout: DEFAULT_FETCH_TIMEOUT,
            https_port: 443,
            resolve: HashMap::new(),
            system_dns: true,
        }
    }
}

impl FetchOptions {
    /// With these trust anchors (e.g. a lab's CA).
    pub fn with_trust(mut self, trust: TrustAnchors) -> Self {
        self.trust = trust;
        self
    }

    /// With this time limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// With this port for policy hosts looked up in DNS.
    pub fn with_https_port(mut self, port: u16) -> Self {
        self.https_port = port;
        self
    }

    /// Connects to `addr` for the policy host `host` (e.g. `mta-sts.example.com`)
    /// instead of looking it up. The certificate is still verified for `host`.
    pub fn resolve(mut self, host: &str, addr: SocketAddr) -> Self {
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        self.resolve.insert(host, addr);
        self
    }

    /// Refuses every policy host not given to [`FetchOptions::resolve`] (a
    /// [`FetchError::Connect`]): tests and labs, where nothing may leave them.
    pub fn only_resolved(mut self) -> Self {
        self.system_dns = false;
        self
    }
}

/// The default [`PolicyFetcher`]: hyper's HTTP/1 client over hyper-rustls, with a
/// rustls configuration of this crate's [`default_provider`] and the options'
/// [`TrustAnchors`] (rustls' WebPKI verifier, the name checked being
/// `mta-sts.<domain>`). Redirects are not followed (hyper's client never does), no
/// proxy is used (it has no proxy support), nothing is cached, connections are not
/// kept for reuse (a domain's policy is fetched about once a day), and the body is
/// read frame by frame up to [`MAX_POLICY_SIZE`] octets. Cheap to clone.
#[derive(Clone)]
pub struct HttpsFetcher {
    client: Client<HttpsConnector<HttpConnector<PolicyDns>>, Empty<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpsFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsFetcher")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpsFetcher {
    /// A fetcher with these options. [`Error::Config`] if rustls refuses the
    /// configuration (it does not for the crate's providers).
    pub fn new(opts: FetchOptions) -> Result<Self, Error> {
        let tls = ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS for MTA-STS: {e}")))?
            .with_root_certificates(opts.trust.store())
            .with_no_client_auth();
        let dns = PolicyDns {
            fixed: Arc::new(opts.resolve),
            port: opts.https_port,
            system: opts.system_dns,
        };
        let mut http = HttpConnector::new_with_resolver(dns);
        // The scheme is the TLS connector's business: it refuses anything but https.
        http.enforce_http(false);
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(https);
        Ok(Self {
            client,
            timeout: opts.timeout,
        })
    }

    /// The request and the response, without the time limit.
    async fn get(&self, host: &str) -> Result<PolicyResponse, FetchError> {
        let uri: Uri = format!("https://{host}{POLICY_PATH}")
            .parse()
            .map_err(|_| FetchError::InvalidDomain {
                domain: host.trim_start_matches("mta-sts.").to_owned(),
            })?;
        let request = Request::get(uri)
            .body(Empty::new())
            .map_err(|e| http_error(host, &e))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| classify(host, &e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        // Only a 200 carries a policy: the body of anything else is not read.
        let body = if status == 200 {
            read_capped(host, response.into_body()).await?
        } else {
            Bytes::new()
        };
        Ok(PolicyResponse {
            status,
            content_type,
            body,
        })
    }
}

impl PolicyFetcher for HttpsFetcher {
    async fn fetch(&self, domain: &str) -> Result<PolicyResponse, FetchError> {
        let host = policy_host(domain)?;
        match tokio::time::timeout(self.timeout, self.get(&host)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                host,
                after: self.timeout,
            }),
        }
    }
}

/// Reads a body up to [`MAX_POLICY_SIZE`] octets; past that it stops reading and the
/// response is dropped with its connection. A `Content-Length` above the cap fails
/// before any octet is read.
async fn read_capped(host: &str, mut body: Incoming) -> Result<Bytes, FetchError> {
    let too_large = |len: u64| FetchError::TooLarge {
        host: host.to_owned(),
        len,
    };
    let announced = body.size_hint().lower();
    if announced > MAX_POLICY_SIZE as u64 {
        return Err(too_large(announced));
    }
    // The announced length is at most the cap: a safe capacity.
    let mut buf = BytesMut::with_capacity(announced as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| http_error(host, &e))?;
        if let Ok(data) = frame.into_data() {
            let len = buf.len() + data.len();
            if len > MAX_POLICY_SIZE {
                return Err(too_large(len as u64));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Files a failed request: a certificate that did not verify, another TLS failure, a
/// connection that could not be made, or an HTTP failure.
fn classify(host: &str, e: &hyper_util::client::legacy::Error) -> FetchError {
    let host = host.to_owned();
    match find_rustls(e) {
        Some(tls @ rustls::Error::InvalidCertificate(_)) => FetchError::Certificate {
            host,
            failure: CertFailure::of(tls),
            detail: describe(tls),
        },
        Some(tls) => FetchError::Tls {
            host,
            detail: tls.to_string(),
        },
        None if e.is_connect() => FetchError::Connect {
            host,
            detail: causes(e),
        },
        None => FetchError::Http {
            host,
            detail: causes(e),
        },
    }
}

fn http_error(host: &str, e: &(dyn StdError + 'static)) -> FetchError {
    FetchError::Http {
        host: host.to_owned(),
        detail: causes(e),
    }
}

/// The rustls error somewhere in an error's causes. `io::Error::source` skips the
/// error it wraps (it gives that error's source), so wrapped errors are looked into
/// with `get_ref` too: hyper-rustls wraps tokio-rustls' `io::Error`, which wraps the
/// `rustls::Error`.
fn find_rustls<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}

/// An error and its causes, `outer: inner: …`, each said once.
fn causes(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// The resolver of policy hosts: the fixed addresses first, then (if allowed) the
/// system's resolver with the configured port. hyper-util keeps a port the resolver
/// gives when the URL has none (the policy URL never does).
#[derive(Clone)]
struct PolicyDns {
    fixed: Arc<HashMap<String, SocketAddr>>,
    port: u16,
    system: bool,
}

type Addrs = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<Name> for PolicyDns {
    type Response = Addrs;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Addrs>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_ascii_lowercase();
        if let Some(addr) = self.fixed.get(&host) {
            let addr = *addr;
            return Box::pin(async move { Ok(vec![addr].into_iter()) });
        }
        if !self.system {
            return Box::pin(async move {
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host}: not among the fixed addresses, and DNS is off"),
                ))
            });
        }
        let port = self.port;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect();
            Ok(addrs.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_host_names() {
        assert_eq!(policy_host("Example.COM.").unwrap(), "mta-sts.example.com");
        assert_eq!(
            policy_host("xn--bcher-kva.example").unwrap(),
            "mta-sts.xn--bcher-kva.example"
        );
        for bad in ["", ".", "a b.example", "example.com/x?", "[::1]", "a..b"] {
            assert!(
                matches!(policy_host(bad), Err(FetchError::InvalidDomain { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rustls_error_found_through_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let inner = io::Error::new(io::ErrorKind::InvalidData, tls.clone());
        let outer = io::Error::other(inner);
        assert_eq!(find_rustls(&outer), Some(&tls));
        assert_eq!(find_rustls(&io::Error::other("no")), None);
    }
}
