//! The `Received:` trace header (RFC 5321 §4.4) with the RFC 3848 / RFC 6531 §3.7.3
//! protocol name, the RFC 8314 §4.3 TLS clause, and Postfix's TLS comment
//! (`(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 key-exchange X25519MLKEM768)`).
//!
//! ```text
//! Stamp          = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
//! From-domain    = "FROM" FWS Extended-Domain
//! Extended-Domain = Domain / ( Domain FWS "(" TCP-info ")" ) /
//!                  ( address-literal FWS "(" TCP-info ")" )
//! TCP-info       = address-literal / ( Domain FWS address-literal )
//! Opt-info       = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
//! tls-cipher-clause = CFWS "tls" FWS tls-cipher          ; RFC 8314 §4.3
//! ```

use super::{HelloVerb, ServerSession};
use crate::error::ValueError;
use crate::session::TlsInfo;
use crate::types::capability::Word;
use crate::types::domain::{AddressLiteral, Domain, Host};
use crate::types::path::ForwardPath;
use crate::types::text::Text;
use std::fmt::Write as _;
use std::net::IpAddr;

/// The `with` protocol of a `Received:` header: the base name and its suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Protocol {
    /// LMTP rather than SMTP.
    pub lmtp: bool,
    /// The client used EHLO (or LHLO).
    pub esmtp: bool,
    /// An SMTPUTF8 transaction (RFC 6531 §3.7.3: `UTF8SMTP`, `UTF8LMTP`).
    pub utf8: bool,
    /// TLS was active (RFC 3848 `S`).
    pub tls: bool,
    /// The client authenticated (RFC 3848 `A`).
    pub auth: bool,
}

impl Protocol {
    /// The registered name, e.g. `ESMTPSA`, `LMTPS`, `UTF8SMTPS`, `SMTP`.
    pub fn name(&self) -> String {
        let base = match (self.utf8, self.lmtp, self.esmtp || self.tls || self.auth) {
            (true, true, _) => "UTF8LMTP",
            (true, false, _) => "UTF8SMTP",
            (false, true, _) => "LMTP",
            (false, false, true) => "ESMTP",
            (false, false, false) => "SMTP",
        };
        let mut s = String::from(base);
        if self.tls {
            s.push('S');
        }
        if self.auth {
            s.push('A');
        }
        s
    }
}

/// A `Received:` header. [`ServerSession::received`] fills in what the session knows;
/// the binding adds the peer's address, a queue id and the date.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The name the client gave in HELO/EHLO/LHLO.
    pub helo: Option<Host>,
    /// The client's verified reverse-DNS name, if the binding looked it up.
    pub peer_name: Option<Domain>,
    /// The client's IP address.
    pub peer_addr: Option<IpAddr>,
    /// This server.
    pub by: Domain,
    /// The `with` protocol.
    pub protocol: Protocol,
    /// The TLS facts, when TLS was active.
    pub tls: Option<TlsInfo>,
    /// A queue id (an atom).
    pub id: Option<Word>,
    /// The recipient, given only when the transaction has exactly one (RFC 5321 §4.4:
    /// naming one of several would disclose the others' delivery).
    pub recipient: Option<ForwardPath>,
}

impl Received {
    /// A header for `by` with everything else empty.
    pub fn new(by: Domain, protocol: Protocol) -> Self {
        Self {
            helo: None,
            peer_name: None,
            peer_addr: None,
            by,
            protocol,
            tls: None,
            id: None,
            recipient: None,
        }
    }

    /// The whole header field, folded, ending in CRLF. `date` is the RFC 5322
    /// `date-time` (the core has no clock), e.g. `Thu, 03 Dec 2026 07:40:00 +0000`.
    pub fn to_header(&self, date: &str) -> Result<String, ValueError> {
        let date = Text::new(date)?;
        let mut h = String::from("Received: from ");
        let literal = self.peer_addr.map(AddressLiteral::from);
        // Extended-Domain: a Domain may stand alone; an address literal needs TCP-info,
        // so a literal with nothing else known repeats itself there.
        let from = match (&self.helo, &literal) {
            (Some(helo), _) => helo.to_string(),
            (None, Some(lit)) => lit.to_string(),
            (None, None) => "unknown".to_owned(),
        };
        h.push_str(&from);
        match (&self.peer_name, &literal) {
            (Some(name), Some(lit)) => {
                let _ = write!(h, " ({name} {lit})");
            }
            (None, Some(lit)) => {
                let _ = write!(h, " ({lit})");
            }
            (_, None) if from.starts_with('[') => {
                let _ = write!(h, " ({from})");
            }
            _ => {}
        }
        let _ = write!(h, "\r\n\tby {} with {}", self.by, self.protocol.name());
        if let Some(id) = &self.id {
            let _ = write!(h, " id {id}");
        }
        if let Some(tls) = &self.tls {
            let _ = write!(
                h,
                "\r\n\t(using {} with cipher {}",
                tls.version(),
                tls.cipher()
            );
            // Postfix's clause, folded as Postfix folds it: `key-exchange X25519MLKEM768`
            // on its own line. Only a plain token goes inside the comment (no parenthesis
            // or backslash that would end or escape it).
            if let Some(kx) = tls.key_exchange().filter(|k| is_token(k)) {
                let _ = write!(h, "\r\n\t key-exchange {kx}");
            }
            h.push(')');
        }
        if let Some(r) = self.recipient.as_ref().filter(|r| r.mailbox().is_some()) {
            let _ = write!(h, "\r\n\tfor {r}");
        }
        if let Some(tls) = &self.tls {
            // RFC 8314 §4.3: tls-cipher-name = ALPHA *(ALPHA / DIGIT / "_").
            let c = tls.cipher();
            let valid = c.starts_with(|ch: char| ch.is_ascii_alphabetic())
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if valid {
                let _ = write!(h, "\r\n\ttls {c}");
            }
        }
        let _ = write!(h, ";\r\n\t{date}\r\n");
        Ok(h)
    }
}

/// Letters, digits, `_` and `-`: a name that is safe anywhere in a header comment.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl ServerSession {
    /// A `Received:` header for the current transaction: the client's greeting, this
    /// server, the protocol (ESMTP/ESMTPS/ESMTPSA/LMTP…, UTF8 variants), the TLS facts
    /// and, with exactly one accepted recipient, that recipient. Call it once the message
    /// is under way (after accepting DATA, or at the first BDAT chunk).
    pub fn received(&self) -> Received {
        let tx = self.tx.as_ref();
        let protocol = Protocol {
            lmtp: self.opts.lmtp,
            esmtp: matches!(self.hello, Some((HelloVerb::Ehlo | HelloVerb::Lhlo, _))),
            utf8: tx.is_some_and(|t| t.smtputf8),
            tls: self.tls.is_some(),
            auth: self.authenticated,
        };
        let mut r = Received::new(self.opts.hostname.clone(), protocol);
        r.helo = self.hello.as_ref().map(|(_, h)| h.clone());
        r.tls = self.tls.as_deref().cloned();
        // `<Postmaster>` has no domain, so it is not a §4.4 Path: no `for` clause.
        r.recipient = tx
            .filter(|t| t.rcpts_ok == 1)
            .and_then(|t| t.first_rcpt.clone())
            .filter(|p| p.mailbox().is_some());
        r
    }
}

#[cfg(test)]
mod tests {
    use super::{Protocol, Received};
    use crate::session::TlsInfo;
    use crate::types::domain::Domain;

    fn header(tls: TlsInfo) -> String {
        let protocol = Protocol {
            lmtp: false,
            esmtp: true,
            utf8: false,
            tls: true,
            auth: false,
        };
        let mut r = Received::new(Domain::new("mx.example.com").unwrap(), protocol);
        r.peer_addr = Some("192.0.2.1".parse().unwrap());
        r.tls = Some(tls);
        r.to_header("Thu, 03 Dec 2026 07:40:00 +0000").unwrap()
    }

    #[test]
    fn the_key_exchange_group_is_in_the_tls_comment() {
        let tls = TlsInfo::new("TLSv1.3", "TLS_AES_256_GCM_SHA384")
            .unwrap()
            .with_key_exchange("X25519MLKEM768")
            .unwrap();
        assert_eq!(
            header(tls),
            "Received: from [192.0.2.1] ([192.0.2.1])\r\n\
             \tby mx.example.com with ESMTPS\r\n\
             \t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384\r\n\
             \t key-exchange X25519MLKEM768)\r\n\
             \ttls TLS_AES_256_GCM_SHA384;\r\n\
             \tThu, 03 Dec 2026 07:40:00 +0000\r\n"
        );
    }

    #[test]
    fn a_group_name_that_would_break_the_comment_is_left_out() {
        for odd in ["x)", "x(", "x\\"] {
            let tls = TlsInfo::new("TLSv1.3", "TLS_AES_256_GCM_SHA384")
                .unwrap()
                .with_key_exchange(odd)
                .unwrap();
            let h = header(tls);
            assert!(
                h.contains("\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"),
                "{h}"
            );
            assert!(!h.contains("key-exchange"), "{h}");
        }
    }
}
