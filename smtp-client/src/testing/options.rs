//! [`TestOptions`]: the bounds on every step of a [`TestClient`](super::TestClient).

use std::time::Duration;

/// Bounds on every step of a [`TestClient`](super::TestClient): nothing a server does
/// (silence, endless lines, a flood of replies) can make a step wait or buffer without
/// limit.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// Waiting for the TCP connection. Default 30 s.
    pub connect_timeout: Duration,
    /// Waiting for one reply ([`read_reply`](super::TestClient::read_reply)), for one
    /// write to be taken, and in all for
    /// [`read_replies`](super::TestClient::read_replies). Default 30 s.
    pub read_timeout: Duration,
    /// Waiting for the TLS handshake. Default 30 s.
    pub handshake_timeout: Duration,
    /// Longest reply line, line ending included. Default 8,192 octets: RFC 5321
    /// §4.5.3.1.5 has 512, real EHLO replies go past it, and a test wants to see what
    /// a server sends rather than refuse it early.
    pub max_line: usize,
    /// Most lines in one reply. Default 256.
    pub max_reply_lines: usize,
    /// Most replies one [`read_replies`](super::TestClient::read_replies) collects.
    /// Default 1,000.
    pub max_replies: usize,
    /// How long to wait after a `220` to STARTTLS before the handshake, so that
    /// plaintext a server sends behind its `220` is seen (and reported by
    /// [`StartTls::after_reply`](super::StartTls::after_reply)) rather than lost in the
    /// handshake. Default zero: only the bytes already there are taken.
    pub starttls_grace: Duration,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(30),
            max_line: 8192,
            max_reply_lines: 256,
            max_replies: 1000,
            starttls_grace: Duration::ZERO,
        }
    }
}

impl TestOptions {
    /// The defaults with every timeout (connect, read, handshake) set to `wait`.
    pub fn with_timeout(wait: Duration) -> Self {
        Self {
            connect_timeout: wait,
            read_timeout: wait,
            handshake_timeout: wait,
            ..Self::default()
        }
    }
}
