//! Errors of setting a server up. A running session never returns an error to the
//! program: it answers the client, logs, counts, and calls [`crate::Session::close`].

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a server could not be configured or started.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A certificate or key could not be read from PEM.
    #[error("PEM: {0}")]
    Pem(String),
    /// rustls refused the configuration (e.g. a key type it cannot sign with).
    #[error("TLS configuration: {0}")]
    Tls(#[source] rustls::Error),
    /// A file could not be read.
    #[error("reading {path}: {source}", path = .0.display(), source = .1)]
    File(PathBuf, #[source] std::io::Error),
    /// A listener could not be bound.
    #[error("binding {0}: {1}")]
    Bind(SocketAddr, #[source] std::io::Error),
    /// An implicit-TLS listener was configured without a certificate.
    #[error("an implicit-TLS listener needs a TLS configuration")]
    NoTls,
    /// No listener was configured.
    #[error("no listener configured")]
    NoListener,
}
