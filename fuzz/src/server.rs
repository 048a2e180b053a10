//! The server session with arbitrary client bytes, arbitrary application decisions and
//! arbitrary options.

use crate::{PIECE, pieces};
use bytes::BytesMut;
use smtp_proto::{
    ApiMisuse, BareLineEndings, EnhancedCode, Error, HelloVerb, LineEndings, Mechanism, Output,
    PeerMisbehaved, Reply, ReplyDecoder, ServerEvent, ServerOptions, ServerSession, TlsInfo,
    TransportSecurity,
};

/// Options from six control bytes (every switch that changes what the session accepts).
fn options(c: &[u8; 6]) -> ServerOptions {
    let bit = |byte: u8, n: u8| byte & (1 << n) != 0;
    let mut o = ServerOptions::default();
    o.lmtp = bit(c[0], 0);
    o.binary_mime = bit(c[0], 1);
    o.dsn = bit(c[0], 2);
    o.auth_without_tls = bit(c[0], 3);
    o.require_tls = bit(c[0], 4);
    o.body_line_endings = if bit(c[0], 5) {
        BareLineEndings::Normalize
    } else {
        BareLineEndings::Reject
    };
    o.command_line_endings = if bit(c[0], 7) {
        LineEndings::AllowBareLf
    } else {
        LineEndings::Strict
    };
    o.max_message_size = u64::from(c[1]) * 16;
    o.require_auth = bit(c[3], 0);
    o.auth_proxy = bit(c[3], 1);
    o.requiretls = bit(c[3], 2);
    o.accept_unknown_params = bit(c[3], 3);
    o.chunking = !bit(c[3], 4);
    o.pipelining = !bit(c[3], 5);
    o.starttls = !bit(c[3], 6);
    if bit(c[3], 7) {
        o.max_errors = 1 + usize::from((c[5] >> 3) & 3);
        o.max_junk_commands = usize::from((c[5] >> 5) & 3);
        o.max_recipients = 1 + usize::from(c[5] >> 7);
        // No bit is free: RFC 9422's MAILMAX and RCPTDOMAINMAX reuse the two above.
        o.max_transactions = Some(1 + u32::from((c[5] >> 3) & 3));
        o.max_recipient_domains = Some(1 + u32::from((c[5] >> 5) & 3));
    }
    o.auth_mechanisms = vec![
        Mechanism::PLAIN,
        Mechanism::LOGIN,
        Mechanism::new("XOAUTH2").unwrap(),
    ];
    o
}

fn info() -> TlsInfo {
    TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap()
}

fn reply(code: u16, enhanced: Option<(u8, u16, u16)>) -> Reply {
    let enhanced = enhanced.map(|(c, s, d)| EnhancedCode::new(c, s, d).unwrap());
    Reply::with_text(code, enhanced, ["fuzz"]).unwrap()
}

/// Input: six control bytes (options, piece lengths, how many bytes at the end are
/// application decisions), the client's bytes, then the decisions (one byte each: accept,
/// accept with a reply, reject 5xx/4xx/421, challenge, or a misuse that must be refused
/// before the valid decision; for STARTTLS: established, failed, or plaintext injected
/// during the handshake).
///
/// The session must never panic, never refuse a valid decision, accept every misuse it
/// documents refusing, keep its input buffer within one line limit, transmit only
/// well-formed replies, report nothing but `Close` after an error, and reach `Close`
/// after EOF.
pub fn server(data: &[u8]) {
    let Some((ctl, rest)) = data.split_first_chunk::<6>() else {
        return;
    };
    let o = options(ctl);
    let limit = o.command_line_limit().max(o.limits.auth_line);
    let security = if ctl[0] & 64 != 0 {
        TransportSecurity::ImplicitTls(info())
    } else {
        TransportSecurity::Plain
    };
    let n = usize::from(ctl[4]).min(rest.len());
    let (input, decisions) = rest.split_at(rest.len() - n);
    let mut decisions = decisions.iter().copied();
    let mut s = ServerSession::new(o, security);
    let mut chunks = pieces(input, ctl[2], PIECE[usize::from(ctl[5] & 7)]);
    let mut eof = false;
    let mut failed = false;
    let mut replies = ReplyDecoder::default();
    let mut sent = BytesMut::new();
    for _ in 0..1_000_000 {
        let out = s.poll();
        if failed {
            assert!(
                matches!(out, Ok(Output::Transmit(_) | Output::Close)),
                "{out:?} after an error"
            );
        }
        match out {
            Ok(Output::Transmit(b)) => {
                assert!(!b.is_empty());
                sent.extend_from_slice(&b);
                while let Some(r) = replies.decode(&mut sent).expect("a malformed reply") {
                    assert!(r.code().get() >= 200, "{r:?}");
                }
            }
            Ok(Output::Event(ev)) => {
                if matches!(
                    ev,
                    ServerEvent::Body(_) | ServerEvent::MessageAborted(_) | ServerEvent::Reset
                ) {
                    if let ServerEvent::Body(b) = &ev {
                        assert!(!b.is_empty(), "empty body chunk");
                    }
                    continue;
                }
                decide(&mut s, &ev, decisions.next().unwrap_or(0));
            }
            Ok(Output::NeedInput) => {
                assert!(s.buffered() <= limit, "{} buffered", s.buffered());
                match chunks.next() {
                    Some(c) => s.feed(c),
                    None => {
                        assert!(!eof, "NeedInput after EOF");
                        eof = true;
                        s.feed_eof();
                    }
                }
            }
            Ok(Output::StartTls(t)) => match decisions.next().unwrap_or(0) % 4 {
                2 => s.tls_failed(t),
                3 => match chunks.next() {
                    // Plaintext that arrived during the handshake is never interpreted.
                    Some(c) => {
                        s.feed(c);
                        let r = s.tls_established(t, info());
                        assert!(
                            matches!(
                                r,
                                Err(Error::Peer(PeerMisbehaved::PlaintextAfterStartTls { .. }))
                            ),
                            "{r:?}"
                        );
                        failed = true;
                    }
                    None => s.tls_established(t, info()).unwrap(),
                },
                _ => s.tls_established(t, info()).unwrap(),
            },
            Ok(Output::Close) => {
                assert!(matches!(s.poll(), Ok(Output::Close)), "Close is terminal");
                assert!(sent.is_empty(), "a partial reply at Close");
                return;
            }
            Err(Error::Misuse(m)) => panic!("misuse {m:?}"),
            Err(_) => failed = true,
        }
    }
    panic!("the session did not close");
}

/// Answers a decision event as the byte `d` says; valid decisions must be taken.
fn decide(s: &mut ServerSession, ev: &ServerEvent, d: u8) {
    let ehlo = matches!(
        ev,
        ServerEvent::Hello { verb, .. } if *verb != HelloVerb::Helo
    );
    let positive = match ev {
        ServerEvent::Data => reply(354, None),
        ServerEvent::Auth(_) | ServerEvent::AuthStep { .. } => reply(235, Some((2, 7, 0))),
        _ => reply(250, Some((2, 0, 0))),
    };
    let r = match d % 8 {
        3 if ehlo => {
            // The positive EHLO/LHLO reply is the capability list.
            assert_eq!(s.accept_with(positive), Err(ApiMisuse::WrongEvent));
            s.accept()
        }
        3 => s.accept_with(positive),
        4 => s.reject(reply(550, Some((5, 7, 1)))),
        5 => s.reject(reply(451, Some((4, 3, 0)))),
        6 => s.reject(reply(421, Some((4, 3, 2)))),
        7 if matches!(ev, ServerEvent::AuthStep { .. }) => s.challenge(&[d; 3]),
        7 => {
            // Misuse is refused and leaves the decision pending.
            assert!(s.challenge(b"x").is_err());
            assert!(s.reject(reply(250, None)).is_err());
            assert!(s.accept_with(reply(550, None)).is_err());
            s.accept()
        }
        _ => s.accept(),
    };
    r.expect("a valid decision was refused");
}
