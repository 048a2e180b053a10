//! The client session with arbitrary server bytes and arbitrary application calls.

use crate::{PIECE, pieces};
use smtp_proto::client::policy::TlsPolicy;
use smtp_proto::client::{ClientAuth, ClientEvent, ClientOptions, ClientSession, Envelope};
use smtp_proto::framing::stuff::BareEndingsOut;
use smtp_proto::{
    ApiMisuse, Body, Error, Mechanism, Notify, Output, PeerMisbehaved, Ret, Secret, TlsInfo,
    TransportSecurity,
};

const FROM: [&str; 4] = [
    "<>",
    "<a@b.example>",
    "<ü@b.example>",
    "<\"x y\"@[192.0.2.1]>",
];
const TO: [&str; 4] = [
    "<c@d.example>",
    "<e@d.example>",
    "<用户@例子.example>",
    "<postmaster@[IPv6:2001:db8::1]>",
];
const BODIES: [&[u8]; 6] = [
    b"Subject: x\r\n\r\n.dot\r\n..two\r\n.\r\nend",
    b"bare\nLF and bare\rCR\n.\n",
    b"",
    b"8-bit \xc3\xbc line\r\n",
    b"\r\n.\r\n",
    b"no line ending at the end.",
];

fn options(c: &[u8; 4]) -> ClientOptions {
    let bit = |byte: u8, n: u8| byte & (1 << n) != 0;
    let mut o = ClientOptions::new("client.example", "mx.example.com", "example.com");
    o.tls_policy = match c[0] & 3 {
        0 => TlsPolicy::None,
        1 => TlsPolicy::May,
        2 => TlsPolicy::Encrypt,
        _ => TlsPolicy::Verify,
    };
    o.chunking = bit(c[0], 2);
    o.lmtp = bit(c[0], 3);
    if bit(c[0], 4) {
        let password = || Secret::new("p".to_owned());
        o.auth = Some(match (c[2] >> 3) % 5 {
            0 => ClientAuth::Login {
                username: "u".into(),
                password: password(),
            },
            1 => ClientAuth::Plain {
                authzid: bit(c[2], 6).then(|| "z".into()),
                username: "u".into(),
                password: password(),
            },
            2 => ClientAuth::XOAuth2 {
                username: "u".into(),
                token: password(),
            },
            3 => ClientAuth::password("u", "p"),
            _ => ClientAuth::Other {
                mechanism: Mechanism::CRAM_MD5,
                initial: bit(c[2], 6).then(|| Secret::new(bytes::Bytes::from_static(b"i"))),
            },
        });
        o.auth_without_tls = bit(c[0], 5);
    }
    if bit(c[0], 6) {
        o.bare_endings = BareEndingsOut::Refuse;
    }
    o
}

/// An envelope and body chosen by two decision bytes.
fn envelope(a: u8, b: u8) -> (Envelope, &'static [u8]) {
    let n = 1 + usize::from(a >> 6).min(3);
    let to = (0..n).map(|i| TO[(usize::from(b) + i) % TO.len()]);
    let mut env = Envelope::new(FROM[usize::from(a & 3)], to).expect("valid paths");
    let body = BODIES[usize::from(b >> 2) % BODIES.len()];
    env.eight_bit = !body.is_ascii() || a & 4 != 0;
    env.params.size = (a & 8 != 0).then_some(body.len() as u64 * 2);
    env.params.body = match (a >> 4) & 3 {
        0 => None,
        1 => Some(Body::SevenBit),
        2 => Some(Body::EightBitMime),
        _ => Some(Body::BinaryMime),
    };
    if b & 1 != 0 {
        env.params.ret = Some(Ret::Hdrs);
        for (_, p) in &mut env.recipients {
            p.notify = Some(Notify::Never);
        }
    }
    env.params.requiretls = b & 2 != 0 && a & 0x20 != 0;
    (env, body)
}

/// Input: four control bytes (options, piece lengths, how many bytes at the end are
/// application decisions), the server's bytes, then the decisions (envelopes and bodies
/// to send, NOOP or QUIT, body pieces or abort, AUTH responses or cancel, and for STARTTLS:
/// established with or without a verified certificate, failed, or plaintext injected
/// during the handshake).
///
/// The session must never panic, never refuse a call it said it was ready for, never
/// send a bare CR or LF (unless the body is binary), report nothing but `Close` after an
/// error, and reach `Close` after EOF.
pub fn client(data: &[u8]) {
    let Some((ctl, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let security = if ctl[0] & 0x80 != 0 {
        TransportSecurity::ImplicitTls(TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap())
    } else {
        TransportSecurity::Plain
    };
    let mut c = ClientSession::new(options(ctl), security);
    let n = usize::from(ctl[3]).min(rest.len());
    let (input, decisions) = rest.split_at(rest.len() - n);
    let mut decisions = decisions.iter().copied();
    let mut next = move || decisions.next().unwrap_or(0);
    let mut chunks = pieces(input, ctl[1], PIECE[usize::from(ctl[2] & 7)]);
    let mut sent = 0;
    let mut noops = 0;
    let mut body: Option<&[u8]> = None;
    let mut binary = false;
    let mut wire = LineCheck::default();
    let mut eof = false;
    let mut failed = false;
    for _ in 0..100_000 {
        let out = c.poll();
        if failed {
            assert!(
                matches!(out, Ok(Output::Transmit(_) | Output::Close)),
                "{out:?} after an error"
            );
        }
        match out {
            Ok(Output::Transmit(b)) => {
                assert!(!b.is_empty());
                if !binary {
                    wire.check(&b);
                }
            }
            Ok(Output::Event(
                ev @ (ClientEvent::Ready { .. } | ClientEvent::Done(_) | ClientEvent::Noop(_)),
            )) => {
                if !c.is_idle() {
                    // A result delivered as the session closes: QUIT is a no-op that
                    // succeeds, and the session goes on to `Close`.
                    assert!(
                        matches!(ev, ClientEvent::Done(_) | ClientEvent::Noop(_)),
                        "Ready when not idle"
                    );
                    c.quit().expect("QUIT after the last Done");
                    continue;
                }
                let d = next();
                if noops < 2 && d & 0xc0 == 0x40 {
                    // A pool's check of an idle connection.
                    noops += 1;
                    c.noop().expect("NOOP when idle");
                    continue;
                }
                if sent < 3 && d & 0x80 == 0 {
                    sent += 1;
                    let (env, b) = envelope(d, next());
                    binary |= env.params.body == Some(Body::BinaryMime);
                    match c.send(env) {
                        Ok(()) => body = Some(b),
                        Err(Error::Misuse(m)) => panic!("send refused: {m:?}"),
                        // SIZE, SMTPUTF8, 8BITMIME or REQUIRETLS the server lacks.
                        Err(_) => c.quit().expect("QUIT when idle"),
                    }
                } else {
                    c.quit().expect("QUIT when idle");
                }
            }
            Ok(Output::Event(ClientEvent::SendBody)) => {
                let b = body.take().expect("SendBody without a transaction");
                let d = next();
                if d % 16 == 15 {
                    c.abort();
                    continue;
                }
                let mut ended = false;
                for piece in pieces(b, d, PIECE[usize::from(d >> 4) & 7]) {
                    match c.body(piece) {
                        Ok(()) => {}
                        Err(Error::Misuse(ApiMisuse::BareLineEnding)) => {}
                        Err(Error::Misuse(ApiMisuse::LineTooLong { .. })) => {
                            ended = true;
                            break;
                        }
                        Err(Error::Misuse(m)) => panic!("body refused: {m:?}"),
                        Err(_) => {}
                    }
                }
                if !ended {
                    match c.end_body() {
                        Ok(()) => {}
                        Err(Error::Misuse(ApiMisuse::BareLineEnding)) => c.abort(),
                        Err(e) => panic!("end_body refused: {e:?}"),
                    }
                }
            }
            Ok(Output::Event(ClientEvent::AuthChallenge(_))) => {
                let d = next();
                let r = if d & 1 == 0 {
                    c.auth_respond(&[d; 5])
                } else {
                    c.auth_cancel()
                };
                r.expect("an answer to a challenge was refused");
            }
            Ok(Output::Event(_)) => {}
            Ok(Output::NeedInput) => match chunks.next() {
                Some(ch) => c.feed(ch),
                None => {
                    assert!(!eof, "NeedInput after EOF");
                    eof = true;
                    c.feed_eof();
                }
            },
            Ok(Output::StartTls(t)) => {
                let d = next();
                let info = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256")
                    .unwrap()
                    .with_peer_verified(d & 1 == 1);
                match (d >> 1) % 4 {
                    2 => c.tls_failed(t),
                    3 => match chunks.next() {
                        Some(ch) => {
                            c.feed(ch);
                            let r = c.tls_established(t, info);
                            assert!(
                                matches!(
                                    r,
                                    Err(Error::Peer(
                                        PeerMisbehaved::PlaintextAfterStartTlsReply { .. }
                                    ))
                                ),
                                "{r:?}"
                            );
                            failed = true;
                        }
                        None => failed |= c.tls_established(t, info).is_err(),
                    },
                    // A policy may refuse the handshake (an unverified certificate).
                    _ => failed |= c.tls_established(t, info).is_err(),
                }
            }
            Ok(Output::Close) => {
                assert!(matches!(c.poll(), Ok(Output::Close)), "Close is terminal");
                return;
            }
            Err(Error::Misuse(m)) => panic!("misuse {m:?}"),
            Err(_) => failed = true,
        }
    }
    panic!("the client did not close");
}

/// Checks that CR and LF only ever leave as CRLF, across writes.
#[derive(Default)]
struct LineCheck {
    cr: bool,
}

impl LineCheck {
    fn check(&mut self, bytes: &[u8]) {
        for &b in bytes {
            assert_eq!(b == b'\n', self.cr, "a bare CR or LF was sent");
            self.cr = b == b'\r';
        }
    }
}
