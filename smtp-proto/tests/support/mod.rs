//! Drives a `ServerSession` through scripted input with scripted decisions.
#![allow(dead_code)]

use smtp_proto::*;

/// What the application answers to a decision event.
#[derive(Debug, Clone)]
pub(crate) enum Decision {
    Accept,
    AcceptWith(Reply),
    Reject(Reply),
    Challenge(Vec<u8>),
}

/// An event as recorded (body chunks merged, so results compare across chunkings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ev {
    Hello(HelloVerb, String),
    Auth(Credentials),
    AuthStep(String, Option<Vec<u8>>),
    Mail(String),
    Rcpt(String),
    Data,
    Body(Vec<u8>),
    MessageEnd,
    Aborted(AbortReason),
    Reset,
    StartTls,
}

#[derive(Debug, Default)]
pub(crate) struct Run {
    pub wire: Vec<u8>,
    /// Each Transmit's bytes, in order.
    pub transmits: Vec<Vec<u8>>,
    pub events: Vec<Ev>,
    pub errors: Vec<Error>,
    pub closed: bool,
}

impl Run {
    /// The server's output split into lines (without CRLF).
    pub(crate) fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.wire)
            .split_terminator("\r\n")
            .map(str::to_owned)
            .collect()
    }

    /// The lines after the greeting and the EHLO reply's continuation lines: one entry
    /// per reply line, but multi-line EHLO replies reduced to their last line.
    pub(crate) fn replies(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .skip(1)
            .filter(|l| l.as_bytes().get(3) != Some(&b'-'))
            .collect()
    }

    /// The recorded body of the message (all Body events joined).
    pub(crate) fn body(&self) -> Vec<u8> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::Body(b) => Some(b.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

/// `input` cut at the given points (taken modulo its length, sorted, deduplicated).
pub(crate) fn split<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        out.push(&input[prev..c]);
        prev = c;
    }
    out.push(&input[prev..]);
    out
}

/// Encodes `pieces` one by one with the client's body encoder (DATA when `stuff`) and a
/// line limit: the wire form, or the first error.
pub(crate) fn encode_body(
    stuff: bool,
    policy: smtp_proto::framing::stuff::BareEndingsOut,
    line_limit: usize,
    pieces: &[&[u8]],
) -> Result<Vec<u8>, smtp_proto::framing::stuff::BodyError> {
    let mut enc =
        smtp_proto::framing::stuff::DotStuffer::new(stuff, policy).with_line_limit(line_limit);
    let mut out = bytes::BytesMut::new();
    for p in pieces {
        enc.encode(p, &mut out)?;
    }
    enc.finish(&mut out)?;
    Ok(out.to_vec())
}

pub(crate) fn tls_info() -> TlsInfo {
    TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap()
}

pub(crate) fn accept_all(_: &ServerEvent) -> Decision {
    Decision::Accept
}

/// Runs a session to `Close` or to the end of `chunks` (then EOF). On `StartTls` the
/// handshake is reported done at once and the remaining chunks are the TLS plaintext.
pub(crate) fn run_with(
    opts: ServerOptions,
    security: TransportSecurity,
    chunks: &[&[u8]],
    mut decide: impl FnMut(&ServerEvent) -> Decision,
) -> Run {
    let mut s = ServerSession::new(opts, security);
    let mut r = Run::default();
    let mut rest = chunks;
    let mut eof_sent = false;
    for _ in 0..1_000_000 {
        match s.poll() {
            Ok(Output::Transmit(b)) => {
                assert!(!b.is_empty(), "empty Transmit");
                r.wire.extend_from_slice(&b);
                r.transmits.push(b.to_vec());
            }
            Ok(Output::Event(ev)) => {
                record(&mut r.events, &ev);
                if !matches!(
                    ev,
                    ServerEvent::Body(_) | ServerEvent::MessageAborted(_) | ServerEvent::Reset
                ) {
                    apply(&mut s, decide(&ev));
                }
            }
            Ok(Output::NeedInput) => match rest.split_first() {
                Some((c, tail)) => {
                    s.feed(c);
                    rest = tail;
                }
                None => {
                    assert!(!eof_sent, "NeedInput after EOF");
                    eof_sent = true;
                    s.feed_eof();
                }
            },
            Ok(Output::StartTls(token)) => {
                r.events.push(Ev::StartTls);
                if let Err(e) = s.tls_established(token, tls_info()) {
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
    panic!("session did not finish");
}

fn apply(s: &mut ServerSession, d: Decision) {
    let res = match d {
        Decision::Accept => s.accept(),
        Decision::AcceptWith(rep) => s.accept_with(rep),
        Decision::Reject(rep) => s.reject(rep),
        Decision::Challenge(c) => s.challenge(&c),
    };
    res.expect("decision refused");
}

pub(crate) fn run(opts: ServerOptions, chunks: &[&[u8]]) -> Run {
    run_with(opts, TransportSecurity::Plain, chunks, accept_all)
}

fn record(events: &mut Vec<Ev>, ev: &ServerEvent) {
    let e = match ev {
        ServerEvent::Hello { verb, host } => Ev::Hello(*verb, host.to_string()),
        ServerEvent::Auth(c) => Ev::Auth(c.clone()),
        ServerEvent::AuthStep {
            mechanism,
            response,
        } => Ev::AuthStep(
            mechanism.to_string(),
            response.as_ref().map(|r| r.expose().to_vec()),
        ),
        ServerEvent::Mail { from, .. } => Ev::Mail(from.to_string()),
        ServerEvent::Rcpt { to, .. } => Ev::Rcpt(to.to_string()),
        ServerEvent::Data => Ev::Data,
        ServerEvent::Body(b) => {
            if let Some(Ev::Body(prev)) = events.last_mut() {
                prev.extend_from_slice(b);
                return;
            }
            Ev::Body(b.to_vec())
        }
        ServerEvent::MessageEnd { .. } => Ev::MessageEnd,
        ServerEvent::MessageAborted(r) => Ev::Aborted(*r),
        ServerEvent::Reset => Ev::Reset,
        _ => panic!("unknown event {ev:?}"),
    };
    events.push(e);
}
