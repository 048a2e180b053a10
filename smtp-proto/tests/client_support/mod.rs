//! Drives a `ClientSession` against scripted server replies.
#![allow(dead_code)]

use smtp_proto::client::{ClientEvent, ClientOptions, ClientSession, Envelope, TransactionResult};
use smtp_proto::*;

#[derive(Debug, Default)]
pub(crate) struct CRun {
    pub(crate) wire: Vec<u8>,
    pub(crate) ready: Vec<ClientEvent>,
    pub(crate) results: Vec<TransactionResult>,
    pub(crate) errors: Vec<Error>,
    pub(crate) starttls: usize,
    pub(crate) closed: bool,
}

impl CRun {
    pub(crate) fn wire(&self) -> String {
        String::from_utf8_lossy(&self.wire).into_owned()
    }
    pub(crate) fn lines(&self) -> Vec<String> {
        self.wire()
            .split_terminator("\r\n")
            .map(str::to_owned)
            .collect()
    }
}

/// What the test program does with the session.
pub(crate) struct Script {
    /// Envelopes to send, one per Ready/Done.
    pub(crate) messages: Vec<(Envelope, Vec<u8>)>,
    /// Whether the handshake reports a verified certificate.
    pub(crate) verified: bool,
}

pub(crate) fn env(from: &str, to: &[&str]) -> Envelope {
    Envelope::new(from, to.iter().copied()).unwrap()
}

pub(crate) fn opts() -> ClientOptions {
    ClientOptions::new("client.example", "mx.example.com", "example.com")
}

/// Runs the client; `server` chunks are fed one per NeedInput, then EOF.
pub(crate) fn crun(
    opts: ClientOptions,
    security: TransportSecurity,
    server: &[&[u8]],
    mut script: Script,
) -> CRun {
    let mut c = ClientSession::new(opts, security);
    let mut r = CRun::default();
    let mut rest = server;
    let mut eof = false;
    script.messages.reverse();
    let mut body: Vec<u8> = Vec::new();
    for _ in 0..100_000 {
        match c.poll() {
            Ok(Output::Transmit(b)) => r.wire.extend_from_slice(&b),
            Ok(Output::Event(ev)) => match ev {
                ClientEvent::Ready { .. } | ClientEvent::Done(_) => {
                    match &ev {
                        ClientEvent::Done(res) => r.results.push(res.clone()),
                        other => r.ready.push(other.clone()),
                    }
                    match script.messages.pop() {
                        Some((e, b)) => {
                            body = b;
                            if let Err(e) = c.send(e) {
                                r.errors.push(e);
                                let _ = c.quit();
                            }
                        }
                        None => {
                            let _ = c.quit();
                        }
                    }
                }
                // The body on the first SendBody, its end on the next (BDAT without
                // PIPELINING asks again only once the chunk is answered).
                ClientEvent::SendBody if !body.is_empty() => {
                    c.body(&std::mem::take(&mut body)).unwrap();
                }
                ClientEvent::SendBody => c.end_body().unwrap(),
                other => panic!("{other:?}"),
            },
            Ok(Output::NeedInput) => match rest.split_first() {
                Some((chunk, tail)) => {
                    c.feed(chunk);
                    rest = tail;
                }
                None => {
                    assert!(!eof, "NeedInput after EOF");
                    eof = true;
                    c.feed_eof();
                }
            },
            Ok(Output::StartTls(token)) => {
                r.starttls += 1;
                let info = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256")
                    .unwrap()
                    .with_peer_verified(script.verified);
                if let Err(e) = c.tls_established(token, info) {
                    r.errors.push(e);
                }
            }
            Ok(Output::Close) => {
                r.closed = true;
                return r;
            }
            Err(e) => r.errors.push(e),
        }
    }
    panic!("client did not finish");
}

pub(crate) fn one(e: Envelope, body: &[u8]) -> Script {
    Script {
        messages: vec![(e, body.to_vec())],
        verified: true,
    }
}

/// Where [`Sess::step`] stopped (short-lived: its size does not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Stop {
    Event(ClientEvent),
    NeedInput,
    Closed,
}

/// A client session driven one step at a time, so that a test decides exactly when
/// the server's bytes arrive.
pub(crate) struct Sess {
    pub(crate) c: ClientSession,
    pub(crate) wire: Vec<u8>,
    pub(crate) errors: Vec<Error>,
    /// Whether a handshake asked for by the session reports a verified certificate.
    pub(crate) verified: bool,
}

impl Sess {
    pub(crate) fn new(opts: ClientOptions) -> Self {
        Self {
            c: ClientSession::new(opts, TransportSecurity::Plain),
            wire: Vec::new(),
            errors: Vec::new(),
            verified: true,
        }
    }

    pub(crate) fn wire(&self) -> String {
        String::from_utf8_lossy(&self.wire).into_owned()
    }

    /// Polls until an event, a wait for input, or the close; transmissions are
    /// recorded, a STARTTLS handshake succeeds at once, errors are kept.
    pub(crate) fn step(&mut self) -> Stop {
        for _ in 0..10_000 {
            match self.c.poll() {
                Ok(Output::Transmit(b)) => self.wire.extend_from_slice(&b),
                Ok(Output::Event(ev)) => return Stop::Event(ev),
                Ok(Output::NeedInput) => return Stop::NeedInput,
                Ok(Output::StartTls(token)) => {
                    let info = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256")
                        .unwrap()
                        .with_peer_verified(self.verified);
                    if let Err(e) = self.c.tls_established(token, info) {
                        self.errors.push(e);
                    }
                }
                Ok(Output::Close) => return Stop::Closed,
                Err(e) => self.errors.push(e),
            }
        }
        panic!("the session does not settle");
    }

    /// Feeds `bytes`, then steps.
    pub(crate) fn reply(&mut self, bytes: &[u8]) -> Stop {
        self.c.feed(bytes);
        self.step()
    }

    /// Greeting and EHLO reply (and whatever else `replies` holds, one per wait)
    /// until `Ready`; panics otherwise.
    pub(crate) fn ready(&mut self, replies: &[&[u8]]) {
        assert!(matches!(self.step(), Stop::NeedInput));
        for (i, r) in replies.iter().enumerate() {
            match self.reply(r) {
                Stop::Event(ClientEvent::Ready { .. }) if i + 1 == replies.len() => return,
                Stop::NeedInput if i + 1 < replies.len() => {}
                other => panic!(
                    "after reply {i}: {other:?} {:?} {}",
                    self.errors,
                    self.wire()
                ),
            }
        }
        panic!("not ready");
    }

    /// Whether the session ended with exactly this one error and closed.
    pub(crate) fn failed_with(&mut self, want: impl Fn(&Error) -> bool) -> bool {
        let closed = matches!(self.step(), Stop::Closed);
        closed && self.errors.len() == 1 && want(&self.errors[0])
    }
}

/// Implicit TLS with made-up facts.
pub(crate) fn implicit() -> TransportSecurity {
    TransportSecurity::ImplicitTls(TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap())
}

/// A script that sends no message (the session only sets up, then quits).
pub(crate) fn no_mail(verified: bool) -> Script {
    Script {
        messages: vec![],
        verified,
    }
}
