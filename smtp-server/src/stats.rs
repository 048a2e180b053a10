//! Counters an administrator reads to see whether TLS is actually used: sessions with
//! and without TLS, handshake failures by reason, messages accepted and refused.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a TLS handshake failed, as far as the server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeFailure {
    /// No protocol version, cipher suite or group in common.
    Incompatible,
    /// The client refused our certificate (an alert such as `bad_certificate` or
    /// `unknown_ca`), or its own certificate was refused.
    Certificate,
    /// The client closed the connection (or it broke) during the handshake.
    Closed,
    /// The handshake did not finish in time.
    Timeout,
    /// Anything else (a malformed message, a client that does not speak TLS).
    Other,
}

impl HandshakeFailure {
    const ALL: [Self; 5] = [
        Self::Incompatible,
        Self::Certificate,
        Self::Closed,
        Self::Timeout,
        Self::Other,
    ];

    /// Classifies the error tokio-rustls gave.
    pub(crate) fn classify(e: &std::io::Error) -> Self {
        use rustls::Error as E;
        match e.get_ref().and_then(|i| i.downcast_ref::<E>()) {
            Some(E::PeerIncompatible(_)) => Self::Incompatible,
            Some(E::InvalidCertificate(_) | E::NoCertificatesPresented) => Self::Certificate,
            Some(E::AlertReceived(a)) => {
                use rustls::AlertDescription as A;
                match a {
                    A::BadCertificate
                    | A::UnsupportedCertificate
                    | A::CertificateRevoked
                    | A::CertificateExpired
                    | A::CertificateUnknown
                    | A::UnknownCA
                    | A::AccessDenied => Self::Certificate,
                    A::ProtocolVersion | A::HandshakeFailure | A::InsufficientSecurity => {
                        Self::Incompatible
                    }
                    _ => Self::Other,
                }
            }
            Some(_) => Self::Other,
            None => match e.kind() {
                std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe => Self::Closed,
                _ => Self::Other,
            },
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|&f| f == self).unwrap_or(4)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) plain: AtomicU64,
    pub(crate) starttls: AtomicU64,
    pub(crate) implicit: AtomicU64,
    pub(crate) handshake: [AtomicU64; 5],
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) injections: AtomicU64,
}

impl Counters {
    pub(crate) fn handshake_failed(&self, why: HandshakeFailure) {
        self.handshake[why.index()].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |a: &AtomicU64| a.load(Relaxed);
        Stats {
            sessions_plain: get(&self.plain),
            sessions_starttls: get(&self.starttls),
            sessions_implicit_tls: get(&self.implicit),
            handshake_failures: HandshakeFailure::ALL
                .iter()
                .map(|&f| (f, get(&self.handshake[f.index()])))
                .collect(),
            messages_accepted: get(&self.accepted),
            messages_rejected: get(&self.rejected),
            connections_refused: get(&self.refused),
            plaintext_injections: get(&self.injections),
        }
    }
}

/// A snapshot of the server's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Finished sessions that never used TLS.
    pub sessions_plain: u64,
    /// Finished sessions upgraded by STARTTLS.
    pub sessions_starttls: u64,
    /// Finished sessions on an implicit-TLS listener.
    pub sessions_implicit_tls: u64,
    /// Failed handshakes, by reason (every reason listed, zeros included).
    pub handshake_failures: Vec<(HandshakeFailure, u64)>,
    /// Messages accepted (LMTP: at least one recipient accepted).
    pub messages_accepted: u64,
    /// Messages refused or aborted after their body started.
    pub messages_rejected: u64,
    /// Connections refused by a connection limit or by [`crate::Handler::connect`].
    pub connections_refused: u64,
    /// Sessions closed because the client sent plaintext behind STARTTLS.
    pub plaintext_injections: u64,
}

impl Stats {
    /// Failed handshakes for one reason.
    pub fn handshake_failures(&self, why: HandshakeFailure) -> u64 {
        self.handshake_failures
            .iter()
            .find(|(f, _)| *f == why)
            .map_or(0, |(_, n)| *n)
    }
}
