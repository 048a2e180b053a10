//! What each [`Output::Transmit`](crate::Output::Transmit) holds, for transcripts: the
//! session marks its credentials and the message content as it writes them, so a
//! binding logs every command line as it is and redacts exactly the AUTH payloads,
//! without reading its own output back.

use super::ClientSession;
use bytes::BytesMut;
use std::ops::Range;

/// What a part of an [`Output::Transmit`](crate::Output::Transmit) is, for a transcript
/// ([`ClientSession::last_transmit`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sent {
    /// Command lines, each ending in CRLF, none of them secret (`BDAT` lines
    /// included).
    Commands,
    /// The `AUTH` command line: the verb and the mechanism
    /// ([`ClientSession::auth_mechanism`]), then possibly an initial response, which is
    /// a credential (RFC 4954 §4).
    AuthCommand,
    /// A SASL response line (RFC 4954 §4): a credential, an empty response, or `*`
    /// cancelling the exchange.
    SaslResponse,
    /// Message content: the DATA body with its terminator, or a BDAT chunk's octets.
    Body,
}

/// The parts of an output buffer in order, each with its length: the marked ranges,
/// and commands between them.
fn parts(marks: &[(Sent, Range<usize>)], len: usize) -> Vec<(Sent, usize)> {
    let mut parts = Vec::with_capacity(marks.len() * 2 + 1);
    let mut push = |kind: Sent, n: usize| match parts.last_mut() {
        _ if n == 0 => {}
        Some((k, m)) if *k == kind => *m += n,
        _ => parts.push((kind, n)),
    };
    let mut at = 0;
    for (kind, range) in marks {
        push(Sent::Commands, range.start - at);
        push(*kind, range.len());
        at = range.end;
    }
    push(Sent::Commands, len - at);
    parts
}

impl ClientSession {
    /// Writes to the output with `write` and marks what it wrote as `kind`.
    pub(super) fn write_marked(&mut self, kind: Sent, write: impl FnOnce(&mut BytesMut)) {
        let start = self.out.len();
        write(&mut self.out);
        let end = self.out.len();
        if end > start {
            self.marks.push((kind, start..end));
        }
    }

    /// Notes the parts of the whole output, about to be transmitted.
    pub(super) fn take_marks(&mut self) {
        self.sent_parts = parts(&self.marks, self.out.len());
        self.marks.clear();
    }

    /// The parts of the last [`Output::Transmit`](crate::Output::Transmit), in order,
    /// each with its length in octets: what a transcript may show as it is
    /// ([`Sent::Commands`]), must redact ([`Sent::AuthCommand`]'s initial response,
    /// [`Sent::SaslResponse`]) or may summarise ([`Sent::Body`]). Valid until the next
    /// `poll`.
    ///
    /// ```
    /// use smtp_proto::client::{ClientEvent, ClientOptions, ClientSession, ClientAuth, Sent};
    /// use smtp_proto::{Output, TransportSecurity};
    ///
    /// let mut opts = ClientOptions::new("client.example", "mx.example.com", "example.com");
    /// opts.auth = Some(ClientAuth::password("user", "secret"));
    /// opts.auth_without_tls = true; // this script has no TLS
    /// opts.tls_policy = smtp_proto::client::policy::TlsPolicy::None;
    /// let mut c = ClientSession::new(opts, TransportSecurity::Plain);
    /// let mut server: &[&[u8]] = &[
    ///     b"220 mx.example.com ESMTP\r\n",
    ///     b"250-mx.example.com\r\n250 AUTH PLAIN\r\n",
    ///     b"535 5.7.8 Authentication credentials invalid\r\n",
    ///     b"221 2.0.0 Bye\r\n",
    /// ];
    /// let mut transcript = Vec::new();
    /// loop {
    ///     match c.poll() {
    ///         Ok(Output::Transmit(bytes)) => {
    ///             let mut at = 0;
    ///             for &(kind, n) in c.last_transmit() {
    ///                 let text = String::from_utf8_lossy(&bytes[at..at + n]).into_owned();
    ///                 transcript.push(match kind {
    ///                     Sent::AuthCommand => format!("AUTH {} <redacted>", c.auth_mechanism().unwrap()),
    ///                     Sent::SaslResponse => "<redacted>".to_owned(),
    ///                     _ => text.trim_end().to_owned(),
    ///                 });
    ///                 at += n;
    ///             }
    ///         }
    ///         Ok(Output::NeedInput) => match server.split_first() {
    ///             Some((chunk, rest)) => { c.feed(chunk); server = rest; }
    ///             None => c.feed_eof(),
    ///         },
    ///         Ok(Output::Close) | Err(_) => break,
    ///         Ok(_) => {}
    ///     }
    /// }
    /// // The QUIT after the refused AUTH is a command like any other.
    /// assert_eq!(transcript, ["EHLO client.example", "AUTH PLAIN <redacted>", "QUIT"]);
    /// ```
    pub fn last_transmit(&self) -> &[(Sent, usize)] {
        &self.sent_parts
    }
}

#[cfg(test)]
mod tests {
    use super::{Sent, parts};
    use crate::client::policy::TlsPolicy;
    use crate::client::{ClientEvent, ClientOptions, ClientSession, Envelope};
    use crate::{Output, TransportSecurity};

    #[test]
    fn bdat_lines_and_the_rset_after_a_refused_chunk_are_commands() {
        let mut opts = ClientOptions::new("c.example", "mx.example.com", "example.com");
        opts.tls_policy = TlsPolicy::None;
        opts.chunking = true;
        let mut c = ClientSession::new(opts, TransportSecurity::Plain);
        let mut server: &[&[u8]] = &[
            b"220 mx ESMTP\r\n",
            b"250-mx\r\n250 CHUNKING\r\n",
            b"250 ok\r\n",
            b"250 ok\r\n",
            b"554 5.6.0 chunk refused\r\n",
            b"250 reset\r\n",
            b"221 bye\r\n",
        ];
        let mut log = Vec::new();
        loop {
            match c.poll().unwrap() {
                Output::Transmit(b) => {
                    let mut at = 0;
                    for &(kind, n) in c.last_transmit() {
                        log.push((kind, String::from_utf8_lossy(&b[at..at + n]).into_owned()));
                        at += n;
                    }
                    assert_eq!(at, b.len());
                }
                Output::Event(ClientEvent::Ready { .. }) => {
                    let env = Envelope::new("a@example.org", ["b@example.com"]).unwrap();
                    c.send(env).unwrap();
                }
                Output::Event(ClientEvent::SendBody) => c.body(b"hi\r\n").unwrap(),
                Output::Event(ClientEvent::Done(_)) => c.quit().unwrap(),
                Output::Event(_) => {}
                Output::NeedInput => match server.split_first() {
                    Some((chunk, rest)) => {
                        c.feed(chunk);
                        server = rest;
                    }
                    None => c.feed_eof(),
                },
                Output::StartTls(_) => unreachable!(),
                Output::Close => break,
            }
        }
        let commands = |s: &str| (Sent::Commands, s.to_owned());
        assert_eq!(
            log,
            [
                commands("EHLO c.example\r\n"),
                commands("MAIL FROM:<a@example.org>\r\n"),
                commands("RCPT TO:<b@example.com>\r\n"),
                commands("BDAT 4\r\n"),
                (Sent::Body, "hi\r\n".to_owned()),
                commands("RSET\r\n"),
                commands("QUIT\r\n"),
            ]
        );
    }

    #[test]
    fn parts_fill_the_gaps_with_commands_and_merge_neighbours() {
        assert_eq!(parts(&[], 6), [(Sent::Commands, 6)]);
        assert_eq!(parts(&[], 0), []);
        let marks = [
            (Sent::Body, 8..20),
            (Sent::Body, 20..30),
            (Sent::SaslResponse, 36..40),
        ];
        assert_eq!(
            parts(&marks, 40),
            [
                (Sent::Commands, 8),
                (Sent::Body, 22),
                (Sent::Commands, 6),
                (Sent::SaslResponse, 4),
            ]
        );
    }
}
