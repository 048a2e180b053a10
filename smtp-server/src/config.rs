//! The binding's own settings (the protocol's are in [`smtp_proto::ServerOptions`]):
//! timeouts, connection limits and shutdown. One documented struct, every default with
//! its reason.

use std::time::Duration;

/// Timeouts the binding enforces. When one expires the client gets `421 4.4.2` and the
/// connection closes (RFC 5321 §4.5.3.2: a server should time out rather than wait
/// forever; the values below are the RFC's minimums).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for the next command, and for the next block of a message body: 5
    /// minutes (§4.5.3.2.7; it also covers the 3-minute block timeout a client applies to
    /// its own sends, §4.5.3.2.5). It is one deadline for the whole command line (and
    /// for each 64 KiB of a body), not a wait per read: a client that trickles bytes
    /// cannot stretch it.
    pub command: Duration,
    /// A TLS handshake, STARTTLS or implicit: 5 minutes, like a command (Postfix's
    /// `smtpd_starttls_timeout` is 300 s too).
    pub handshake: Duration,
    /// Writing a reply to a client that does not read: 5 minutes.
    pub write: Duration,
    /// Reading a PROXY protocol header: 10 seconds (it comes from a load balancer on
    /// the same network, at once).
    pub proxy_header: Duration,
    /// The handler deciding on a connection, greeting, AUTH step, sender or recipient:
    /// 5 minutes (the client's own MAIL and RCPT timeouts, §4.5.3.2.2-3). On expiry the
    /// command gets `451 4.3.0` (a connection `421 4.3.0`) and the session goes on. The
    /// `data` hook is not covered: it reads the body under `command`.
    pub handler: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let five = Duration::from_secs(300);
        Self {
            command: five,
            handshake: five,
            write: five,
            proxy_header: Duration::from_secs(10),
            handler: five,
        }
    }
}

/// Connection limits. A connection over a limit gets `421 4.7.0` and is closed before
/// any command is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections at once, over all listeners (default 1000).
    pub max_connections: usize,
    /// Connections at once from one client IP address (default 50, as Postfix's
    /// `smtpd_client_connection_count_limit`).
    pub max_per_ip: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1000,
            max_per_ip: 50,
        }
    }
}
