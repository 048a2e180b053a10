//! What both session roles share: the output stream, the STARTTLS token, TLS facts and
//! the RFC 5321 §4.5.3.2 timeouts.

use crate::error::ValueError;
use crate::types::capability::Word;
use bytes::Bytes;
use std::time::Duration;

/// One step of a session's output, in order. Act on each before polling again.
#[must_use = "every output must be acted on, in order"]
#[derive(Debug)]
pub enum Output<E> {
    /// Write all of these bytes before acting on any later output.
    Transmit(Bytes),
    /// Give this event to the application, then poll again.
    Event(E),
    /// Read from the peer and `feed` what arrived (or `feed_eof`), then poll again.
    NeedInput,
    /// Every byte is written and nothing unread is buffered: run the TLS handshake now,
    /// then hand the token back with the session's `tls_established`.
    StartTls(UpgradeToken),
    /// Flush and close the connection. Terminal: every later poll says `Close` again.
    Close,
}

/// Proof that a session asked for the TLS handshake. Not `Clone`: only the session's
/// `tls_established` consumes it, so the upgrade cannot be reported twice.
#[derive(Debug)]
pub struct UpgradeToken {
    pub(crate) _p: (),
}

/// How the connection was secured when the session began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportSecurity {
    /// Plain TCP; STARTTLS may upgrade it.
    Plain,
    /// TLS from the first byte (RFC 8314 implicit TLS, port 465).
    ImplicitTls(TlsInfo),
}

/// What a TLS handshake negotiated, as the binding reports it: for logs and for the
/// `Received:` header (RFC 8314 §4.3). Every field is a printable word, so it can be
/// written into a header without forging a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    version: Word,
    cipher: Word,
    key_exchange: Option<Word>,
    sni: Option<Word>,
    peer_verified: bool,
}

impl TlsInfo {
    /// `version` such as `TLSv1.3`, `cipher` such as `TLS_AES_256_GCM_SHA384` (the
    /// IANA name). Both must be printable ASCII without spaces.
    pub fn new(version: &str, cipher: &str) -> Result<Self, ValueError> {
        Ok(Self {
            version: Word::new(version)?,
            cipher: Word::new(cipher)?,
            key_exchange: None,
            sni: None,
            peer_verified: false,
        })
    }

    /// From the names a TLS library reports: a version such as `TLSv1_3` or `TLSv1.3`,
    /// and a cipher suite, kept as its IANA name (`TLS13_AES_256_GCM_SHA384`, as rustls
    /// spells TLS 1.3 suites, becomes `TLS_AES_256_GCM_SHA384`, RFC 8446 §B.4). A name
    /// that is not a printable word is recorded as `TLS` or `unknown`.
    pub fn from_names(version: &str, suite: &str) -> Self {
        let version = version.replace('_', ".");
        let suite = match suite.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => suite.to_owned(),
        };
        let fallback = |v: &str, c: &str| Word::new(v).ok().zip(Word::new(c).ok());
        let (version, cipher) = fallback(&version, &suite)
            .or_else(|| fallback(&version, "unknown"))
            .or_else(|| fallback("TLS", "unknown"))
            .expect("static names are words");
        Self {
            version,
            cipher,
            key_exchange: None,
            sni: None,
            peer_verified: false,
        }
    }

    /// Records the key-exchange group the handshake used, by its name in the IANA TLS
    /// Supported Groups registry (RFC 8422 §5.1.1, RFC 8446 §4.2.7): e.g.
    /// `X25519MLKEM768` (the post-quantum hybrid), `X25519`, `secp256r1`. Printable
    /// ASCII without spaces.
    pub fn with_key_exchange(mut self, group: &str) -> Result<Self, ValueError> {
        self.key_exchange = Some(Word::new(group)?);
        Ok(self)
    }

    /// Records the server name the client asked for (SNI).
    pub fn with_sni(mut self, sni: &str) -> Result<Self, ValueError> {
        self.sni = Some(Word::new(sni)?);
        Ok(self)
    }

    /// Records whether the peer's certificate was verified (a client certificate on the
    /// server side, the server's chain and name on the client side).
    pub fn with_peer_verified(mut self, verified: bool) -> Self {
        self.peer_verified = verified;
        self
    }

    /// The protocol version, e.g. `TLSv1.3`.
    pub fn version(&self) -> &str {
        self.version.as_str()
    }

    /// The cipher suite, e.g. `TLS_AES_256_GCM_SHA384`.
    pub fn cipher(&self) -> &str {
        self.cipher.as_str()
    }

    /// The key-exchange group, e.g. `X25519MLKEM768`, when the binding recorded it.
    pub fn key_exchange(&self) -> Option<&str> {
        self.key_exchange.as_ref().map(Word::as_str)
    }

    /// The server name indication, if any.
    pub fn sni(&self) -> Option<&str> {
        self.sni.as_ref().map(Word::as_str)
    }

    /// Whether the peer's certificate was verified.
    pub fn peer_verified(&self) -> bool {
        self.peer_verified
    }
}

/// Which RFC 5321 §4.5.3.2 timeout applies while a session waits. The core has no
/// clock: the binding enforces [`Timeout::duration`] (or its own value) and closes the
/// connection when it expires.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// Client waiting for the 220 greeting: 5 minutes (§4.5.3.2.1).
    Greeting,
    /// Client waiting for the reply to MAIL: 5 minutes (§4.5.3.2.2).
    Mail,
    /// Client waiting for the reply to RCPT: 5 minutes (§4.5.3.2.3).
    Rcpt,
    /// Client waiting for the 354 after DATA: 2 minutes (§4.5.3.2.4).
    DataInit,
    /// Message body in transit, each block: 3 minutes (§4.5.3.2.5, the client's timeout
    /// for each send). The server reports it while it waits for more body bytes; a
    /// server should wait at least as long as its command timeout (§4.5.3.2.7, 5
    /// minutes), since a client may block on a full socket for its own 3 minutes.
    DataBlock,
    /// After the end of data, until the final reply: 10 minutes (§4.5.3.2.6, the
    /// client's wait). The server reports it while the application decides on the
    /// message: the application must answer well within it, or the client gives up and
    /// may send the message again.
    DataTermination,
    /// Server waiting for the next command: 5 minutes (§4.5.3.2.7).
    ServerCommand,
}

impl Timeout {
    /// The RFC's minimum value.
    pub const fn duration(self) -> Duration {
        let mins = match self {
            Self::DataInit => 2,
            Self::DataBlock => 3,
            Self::DataTermination => 10,
            Self::Greeting | Self::Mail | Self::Rcpt | Self::ServerCommand => 5,
        };
        Duration::from_secs(mins * 60)
    }
}

#[cfg(test)]
mod tests {
    use super::TlsInfo;

    #[test]
    fn names_from_a_tls_library() {
        let i = TlsInfo::from_names("TLSv1_3", "TLS13_AES_256_GCM_SHA384");
        assert_eq!(
            (i.version(), i.cipher()),
            ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
        );
        let i = TlsInfo::from_names("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(i.cipher(), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        let i = TlsInfo::from_names("TLSv1.3", "bad name\r\n");
        assert_eq!((i.version(), i.cipher()), ("TLSv1.3", "unknown"));
        let i = TlsInfo::from_names("", "");
        assert_eq!((i.version(), i.cipher()), ("TLS", "unknown"));
    }

    #[test]
    fn the_key_exchange_group_is_optional() {
        let i = TlsInfo::new("TLSv1.3", "TLS_AES_256_GCM_SHA384").unwrap();
        assert_eq!(i.key_exchange(), None);
        let i = i.with_key_exchange("X25519MLKEM768").unwrap();
        assert_eq!(i.key_exchange(), Some("X25519MLKEM768"));
        assert!(i.clone().with_key_exchange("X25519 MLKEM768").is_err());
        assert!(i.with_key_exchange("").is_err());
    }
}
