//! Client session transcripts against scripted server replies, and the TLS policy.

mod client_support;

use client_support::*;
use smtp_proto::client::policy::*;
use smtp_proto::client::{ClientAuth, ClientEvent};
use smtp_proto::*;

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";
const EHLO_PIPE: &[u8] =
    b"250-mx.example.com\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000\r\n";

fn plain_opts() -> smtp_proto::client::ClientOptions {
    let mut o = opts();
    o.tls_policy = TlsPolicy::None;
    o
}

#[test]
fn pipelined_transaction_with_a_rejected_recipient() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n354 Go\r\n",
            b"250 2.0.0 Queued as X\r\n",
            b"221 2.0.0 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>", "<c@example.com>"]),
            b"Hi\n.\n",
        ),
    );
    assert_eq!(
        r.wire(),
        "EHLO client.example\r\n\
         MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n\
         Hi\r\n..\r\n.\r\n\
         QUIT\r\n"
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let res = &r.results[0];
    assert!(res.delivered());
    let codes: Vec<u16> = res
        .recipients
        .iter()
        .map(|(_, rep)| rep.as_ref().unwrap().code().get())
        .collect();
    assert_eq!(codes, [250, 550]);
    assert_eq!(res.message[0].text(), "Queued as X");
    assert!(r.closed);
}

#[test]
fn lock_step_without_pipelining() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            b"250 mx.example.com\r\n",
            b"250 Ok\r\n",
            b"250 Ok\r\n",
            b"250 Ok\r\n",
            b"354 Go\r\n",
            b"250 Queued\r\n",
            b"221 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>", "<c@example.com>"]),
            b"x",
        ),
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "MAIL FROM:<a@example.org>",
            "RCPT TO:<b@example.com>",
            "RCPT TO:<c@example.com>",
            "DATA",
            "x",
            ".",
            "QUIT"
        ]
    );
    assert!(r.results[0].delivered());
}

#[test]
fn no_accepted_recipient_means_no_body_and_a_reset() {
    // Pipelined: the server refuses DATA; the client resets.
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 Ok\r\n550 No\r\n554 5.5.1 No valid recipients\r\n",
            // A server answers QUIT only once it has it (a 221 sent with the RSET's
            // reply would answer nothing yet: unsolicited).
            b"250 Reset\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"secret body"),
    );
    assert!(!r.wire().contains("secret body"));
    assert!(
        r.wire().ends_with("DATA\r\nRSET\r\nQUIT\r\n"),
        "{}",
        r.wire()
    );
    assert!(!r.results[0].delivered());
    // Lock-step: no DATA at all.
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            b"250 mx\r\n",
            b"250 Ok\r\n",
            b"550 No\r\n",
            b"250 Reset\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"secret body"),
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "MAIL FROM:<a@example.org>",
            "RCPT TO:<b@example.com>",
            "RSET",
            "QUIT"
        ]
    );
}

#[test]
fn rejected_mail_resets() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            b"250 mx\r\n",
            b"550 5.7.1 Sender refused\r\n",
            b"250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "MAIL FROM:<a@example.org>",
            "RSET",
            "QUIT"
        ]
    );
    assert_eq!(r.results[0].mail.as_ref().unwrap().code().get(), 550);
}

#[test]
fn a_421_ends_the_session() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[GREET, EHLO_PIPE, b"421 4.3.2 Shutting down\r\n"],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert!(matches!(
        &r.errors[..],
        [Error::Rejected {
            stage: smtp_proto::Stage::Closing,
            ..
        }]
    ));
    assert!(r.closed);
    assert!(!r.wire().contains("QUIT"));
}

#[test]
fn helo_fallback() {
    let r = crun(
        opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            b"502 5.5.1 Command not implemented\r\n",
            b"250 mx\r\n",
            b"250 Ok\r\n",
            b"250 Ok\r\n",
            b"354 Go\r\n",
            b"250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(
        &r.lines()[..2],
        ["EHLO client.example", "HELO client.example"]
    );
    let ClientEvent::Ready { capabilities, tls } = &r.ready[0] else {
        panic!()
    };
    assert!(capabilities.is_none());
    assert_eq!(tls.tls, None);
    assert_eq!(tls.policy, "may");
    assert!(r.results[0].delivered());
}

#[test]
fn greeting_refused() {
    let r = crun(
        opts(),
        TransportSecurity::Plain,
        &[b"554 5.7.1 Go away\r\n", b"221 Bye\r\n"],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(r.lines(), ["QUIT"]);
    assert!(matches!(
        &r.errors[..],
        [Error::Rejected {
            stage: smtp_proto::Stage::Greeting,
            ..
        }]
    ));
}

fn auth_opts(auth: ClientAuth) -> smtp_proto::client::ClientOptions {
    let mut o = opts();
    o.auth = Some(auth);
    o
}

const EHLO_AUTH: &[u8] = b"250-mx.example.com\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n";

#[test]
fn auth_plain_login_xoauth2() {
    let plain = ClientAuth::Plain {
        authzid: None,
        username: "alice".into(),
        password: Secret::new("secret".into()),
    };
    let r = crun(
        auth_opts(plain),
        implicit(),
        &[GREET, EHLO_AUTH, b"235 2.7.0 Ok\r\n", b"221 Bye\r\n"],
        no_mail(true),
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
            "QUIT"
        ]
    );
    let login = ClientAuth::Login {
        username: "alice".into(),
        password: Secret::new("secret".into()),
    };
    let r = crun(
        auth_opts(login),
        implicit(),
        &[
            GREET,
            EHLO_AUTH,
            b"334 VXNlcm5hbWU6\r\n",
            b"334 UGFzc3dvcmQ6\r\n",
            b"235 2.7.0 Ok\r\n",
            b"221 Bye\r\n",
        ],
        no_mail(true),
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "AUTH LOGIN",
            "YWxpY2U=",
            "c2VjcmV0",
            "QUIT"
        ]
    );
    let xo = ClientAuth::XOAuth2 {
        username: "a@example.com".into(),
        token: Secret::new("tok".into()),
    };
    let r = crun(
        auth_opts(xo),
        implicit(),
        &[
            GREET,
            EHLO_AUTH,
            b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n",
            b"535 5.7.8 Bad token\r\n",
            b"221 Bye\r\n",
        ],
        no_mail(true),
    );
    assert_eq!(r.lines()[2], "");
    assert!(matches!(
        &r.errors[..],
        [Error::Rejected {
            stage: smtp_proto::Stage::Auth,
            ..
        }]
    ));
    assert!(
        format!(
            "{:?}",
            auth_opts(ClientAuth::XOAuth2 {
                username: "u".into(),
                token: Secret::new("tok".into())
            })
        )
        .contains("Secret(..)")
    );
}

#[test]
fn auth_is_refused_before_tls() {
    let mut o = auth_opts(ClientAuth::Plain {
        authzid: None,
        username: "alice".into(),
        password: Secret::new("secret".into()),
    });
    o.tls_policy = TlsPolicy::May;
    let r = crun(
        o,
        TransportSecurity::Plain,
        &[GREET, EHLO_AUTH, b"221 Bye\r\n"],
        no_mail(true),
    );
    assert_eq!(r.lines(), ["EHLO client.example", "QUIT"]);
    assert!(matches!(
        &r.errors[..],
        [Error::Policy(PolicyViolation::AuthWithoutTls { .. })]
    ));
}

#[test]
fn envelope_checks_against_the_server() {
    let mut big = env("<a@example.org>", &["<b@example.com>"]);
    big.params.size = Some(5000);
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[GREET, EHLO_PIPE, b"221 Bye\r\n"],
        one(big, b"x"),
    );
    assert!(matches!(
        &r.errors[..],
        [Error::Policy(PolicyViolation::TooBig {
            size: 5000,
            max: 1000,
            ..
        })]
    ));
    let utf8 = env("<a@example.org>", &["<пользователь@пример.рф>"]);
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[GREET, EHLO_PIPE, b"221 Bye\r\n"],
        one(utf8, b"x"),
    );
    assert!(matches!(
        &r.errors[..],
        [Error::Policy(PolicyViolation::MissingExtension {
            extension: smtp_proto::client::policy::Needed::SmtpUtf8,
            ..
        })]
    ));
    let mut eight = env("<a@example.org>", &["<b@example.com>"]);
    eight.eight_bit = true;
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
            b"250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(eight, "é\n".as_bytes()),
    );
    assert!(
        r.wire()
            .contains("MAIL FROM:<a@example.org> BODY=8BITMIME\r\n"),
        "{}",
        r.wire()
    );
}

#[test]
fn bdat_when_chunking_is_offered_and_chosen() {
    let mut o = plain_opts();
    o.chunking = true;
    let r = crun(
        o,
        TransportSecurity::Plain,
        &[
            GREET,
            b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
            b"250 Ok\r\n250 Ok\r\n250 2.0.0 Queued\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"a\n.b\n"),
    );
    // One chunk, the last: no `BDAT 0 LAST` after it.
    assert!(
        r.wire()
            .ends_with("RCPT TO:<b@example.com>\r\nBDAT 7 LAST\r\na\r\n.b\r\nQUIT\r\n"),
        "{}",
        r.wire()
    );
    assert!(r.results[0].delivered());
}

#[test]
fn lmtp_one_reply_per_recipient() {
    let mut o = plain_opts();
    o.lmtp = true;
    let r = crun(
        o,
        TransportSecurity::Plain,
        &[
            GREET,
            b"250-mx\r\n250 PIPELINING\r\n",
            b"250 Ok\r\n250 Ok\r\n250 Ok\r\n354 Go\r\n",
            b"250 2.0.0 Delivered\r\n452 4.2.2 Mailbox full\r\n",
            b"221 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>", "<c@example.com>"]),
            b"x",
        ),
    );
    assert_eq!(r.lines()[0], "LHLO client.example");
    let per: Vec<u16> = r.results[0]
        .per_recipient()
        .iter()
        .map(|(_, rep)| rep.unwrap().code().get())
        .collect();
    assert_eq!(per, [250, 452]);
}

#[test]
fn body_encoding_never_lets_a_bare_ending_out() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
            b"250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>"]),
            b"a\nb\r.c\n.\nd\r",
        ),
    );
    assert!(
        r.wire()
            .contains("DATA\r\na\r\nb\r\n..c\r\n..\r\nd\r\n.\r\nQUIT"),
        "{}",
        r.wire()
    );
}

/// The body is pulled one piece at a time: a large message never sits in the
/// session's buffers.
#[test]
fn the_body_streams_one_piece_at_a_time() {
    use smtp_proto::client::{ClientSession, Envelope};
    let mut c = ClientSession::new(plain_opts(), TransportSecurity::Plain);
    let mut server: &[&[u8]] = &[
        GREET,
        b"250-mx\r\n250 PIPELINING\r\n",
        b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
        b"250 Ok\r\n",
        b"221 Bye\r\n",
    ];
    // Lines of 64 octets: a line may not pass 1,000 (RFC 5321 §4.5.3.1.6).
    let piece = [&[b'x'; 62][..], b"\r\n"].concat().repeat(128);
    let (mut pieces_left, mut max_transmit, mut total) = (1000, 0, 0);
    loop {
        match c.poll().unwrap() {
            Output::Transmit(b) => {
                max_transmit = max_transmit.max(b.len());
                total += b.len();
            }
            Output::Event(ClientEvent::Ready { .. }) => c
                .send(Envelope::new("<a@example.org>", ["<b@example.com>"]).unwrap())
                .unwrap(),
            Output::Event(ClientEvent::SendBody) if pieces_left > 0 => {
                pieces_left -= 1;
                c.body(&piece).unwrap();
            }
            Output::Event(ClientEvent::SendBody) => c.end_body().unwrap(),
            Output::Event(ClientEvent::Done(r)) => {
                assert!(r.delivered());
                c.quit().unwrap();
            }
            Output::Event(_) => {}
            Output::NeedInput => {
                let (first, rest) = server.split_first().expect("more server input");
                c.feed(first);
                server = rest;
            }
            Output::StartTls(_) => unreachable!(),
            Output::Close => break,
        }
    }
    assert!(total > 8_000_000);
    assert!(max_transmit <= 8192 + 16, "{max_transmit}");
}

/// Drives a client by hand: `server` replies are fed only when the client asks.
fn drive(
    c: &mut smtp_proto::client::ClientSession,
    server: &mut &[&[u8]],
    mut on_event: impl FnMut(&mut smtp_proto::client::ClientSession, ClientEvent, &str),
) -> (String, Vec<Error>) {
    let mut wire = String::new();
    let mut errors = Vec::new();
    for _ in 0..10_000 {
        match c.poll() {
            Ok(Output::Transmit(b)) => wire.push_str(&String::from_utf8_lossy(&b)),
            Ok(Output::Event(ev)) => on_event(c, ev, &wire),
            Ok(Output::NeedInput) => match server.split_first() {
                Some((first, rest)) => {
                    c.feed(first);
                    *server = rest;
                }
                None => c.feed_eof(),
            },
            Ok(Output::StartTls(t)) => {
                let info = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256")
                    .unwrap()
                    .with_peer_verified(true);
                if let Err(e) = c.tls_established(t, info) {
                    errors.push(e);
                }
            }
            Ok(Output::Close) => return (wire, errors),
            Err(e) => errors.push(e),
        }
    }
    panic!("did not close");
}

#[test]
fn the_first_error_survives_a_close_without_221() {
    let r = crun(
        opts(),
        TransportSecurity::Plain,
        &[b"554 5.7.1 Go away\r\n"],
        no_mail(true),
    );
    assert!(
        matches!(
            &r.errors[..],
            [Error::Rejected {
                stage: smtp_proto::Stage::Greeting,
                ..
            }]
        ),
        "{:?}",
        r.errors
    );
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[GREET, EHLO_PIPE],
        no_mail(true),
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.closed);
}

#[test]
fn a_body_error_leaves_the_session_usable_and_abort_closes() {
    use smtp_proto::client::{ClientSession, Envelope};
    use smtp_proto::framing::stuff::BareEndingsOut;
    let mut o = plain_opts();
    o.bare_endings = BareEndingsOut::Refuse;
    let mut c = ClientSession::new(o, TransportSecurity::Plain);
    let mut server: &[&[u8]] = &[
        GREET,
        b"250-mx\r\n250 PIPELINING\r\n",
        b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
    ];
    let mut step = 0;
    let (wire, errors) = drive(&mut c, &mut server, |c, ev, _| match ev {
        ClientEvent::Ready { .. } => c
            .send(Envelope::new("<a@x.example>", ["<b@y.example>"]).unwrap())
            .unwrap(),
        ClientEvent::SendBody => {
            step += 1;
            assert_eq!(
                c.body(b"ok\r\nbad\nline"),
                Err(Error::Misuse(ApiMisuse::BareLineEnding))
            );
            assert_eq!(
                c.body("é".as_bytes()),
                Err(Error::Misuse(ApiMisuse::UndeclaredEightBit))
            );
            c.body(b"fine\r\n").unwrap();
            c.abort();
        }
        other => panic!("{other:?}"),
    });
    assert_eq!(step, 1);
    assert!(errors.is_empty());
    // `abort` sends nothing more: not even what `body` had taken.
    assert!(wire.ends_with("DATA\r\n"), "{wire}");
}

#[test]
fn after_a_failed_transaction_the_next_mail_waits_for_the_rset_reply() {
    use smtp_proto::client::{ClientSession, Envelope};
    let mut c = ClientSession::new(plain_opts(), TransportSecurity::Plain);
    let mut server: &[&[u8]] = &[
        GREET,
        b"250 mx\r\n",
        b"250 Ok\r\n",
        b"550 No\r\n",
        b"250 Reset\r\n",
        b"250 Ok\r\n",
        b"250 Ok\r\n",
        b"354 Go\r\n",
        b"250 Ok\r\n",
        b"221 Bye\r\n",
    ];
    let mut done = 0;
    let (wire, errors) = drive(&mut c, &mut server, |c, ev, wire| match ev {
        ClientEvent::Ready { .. } => c
            .send(Envelope::new("<a@x.example>", ["<b@y.example>"]).unwrap())
            .unwrap(),
        ClientEvent::Done(r) => {
            done += 1;
            if done == 1 {
                assert!(!r.delivered());
                assert!(wire.ends_with("RSET\r\n"), "{wire}");
                c.send(Envelope::new("<a@x.example>", ["<c@y.example>"]).unwrap())
                    .unwrap();
            } else {
                assert!(r.delivered());
                c.quit().unwrap();
            }
        }
        ClientEvent::SendBody => {
            c.body(b"x").unwrap();
            c.end_body().unwrap();
        }
        other => panic!("{other:?}"),
    });
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(done, 2);
    assert!(wire.contains("RSET\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<c@y.example>"));
}

#[test]
fn bdat_without_pipelining_waits_and_stops_after_a_refused_chunk() {
    use smtp_proto::client::{ClientSession, Envelope};
    let mut o = plain_opts();
    o.chunking = true;
    let mut c = ClientSession::new(o, TransportSecurity::Plain);
    let mut server: &[&[u8]] = &[
        GREET,
        b"250-mx\r\n250 CHUNKING\r\n",
        b"250 Ok\r\n",
        b"250 Ok\r\n",
        b"250 Chunk ok\r\n",
        b"552 5.3.4 Too big\r\n",
        b"250 Reset\r\n",
        b"221 Bye\r\n",
    ];
    let mut pieces: usize = 0;
    let (wire, errors) = drive(&mut c, &mut server, |c, ev, wire| match ev {
        ClientEvent::Ready { .. } => c
            .send(Envelope::new("<a@x.example>", ["<b@y.example>"]).unwrap())
            .unwrap(),
        ClientEvent::SendBody => {
            pieces += 1;
            // Each chunk only after the previous one was answered (a piece is held
            // back until the next, so that the last one can carry LAST).
            assert_eq!(wire.matches("BDAT").count(), pieces.saturating_sub(2));
            c.body(b"abc\r\n").unwrap();
        }
        ClientEvent::Done(r) => {
            assert!(!r.delivered());
            assert_eq!(r.refused.as_ref().unwrap().code().get(), 552);
            c.quit().unwrap();
        }
        other => panic!("{other:?}"),
    });
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(pieces, 3);
    assert_eq!(wire.matches("BDAT").count(), 2, "{wire}");
    assert!(
        wire.ends_with("BDAT 5\r\nabc\r\nRSET\r\nQUIT\r\n"),
        "{wire}"
    );
}

#[test]
fn binarymime_goes_out_byte_for_byte() {
    let mut o = plain_opts();
    o.chunking = true;
    let mut e = env("<a@example.org>", &["<b@example.com>"]);
    e.params.body = Some(Body::BinaryMime);
    let r = crun(
        o,
        TransportSecurity::Plain,
        &[
            GREET,
            b"250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 BINARYMIME\r\n",
            b"250 Ok\r\n250 Ok\r\n250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(e, b"\x00\xff\n.\r"),
    );
    assert!(
        r.wire.ends_with(b"BDAT 5 LAST\r\n\x00\xff\n.\rQUIT\r\n"),
        "{}",
        r.wire()
    );
    assert!(r.wire().contains("BODY=BINARYMIME"));
}

#[test]
fn a_long_initial_response_waits_for_the_first_challenge_and_other_mechanisms() {
    let token = "t".repeat(900);
    let xo = ClientAuth::XOAuth2 {
        username: "a@example.com".into(),
        token: Secret::new(token.clone()),
    };
    let r = crun(
        auth_opts(xo),
        implicit(),
        &[
            GREET,
            EHLO_AUTH,
            b"334 \r\n",
            b"235 2.7.0 Ok\r\n",
            b"221 Bye\r\n",
        ],
        no_mail(true),
    );
    let lines = r.lines();
    assert_eq!(lines[1], "AUTH XOAUTH2");
    assert!(lines[2].len() > 1000 && r.errors.is_empty());
    // An application-driven mechanism.
    use smtp_proto::client::ClientSession;
    let mut o = opts();
    o.auth = Some(ClientAuth::Other {
        mechanism: Mechanism::new("X-TEST").unwrap(),
        initial: None,
    });
    let mut c = ClientSession::new(o, implicit());
    let mut server: &[&[u8]] = &[
        GREET,
        b"250-mx\r\n250 AUTH X-TEST\r\n",
        b"334 bm9uY2U=\r\n",
        b"235 Ok\r\n",
        b"221 Bye\r\n",
    ];
    let (wire, errors) = drive(&mut c, &mut server, |c, ev, _| match ev {
        ClientEvent::AuthChallenge(ch) => {
            assert_eq!(&ch.expose()[..], b"nonce");
            c.auth_respond(b"answer").unwrap();
        }
        ClientEvent::Ready { .. } => c.quit().unwrap(),
        other => panic!("{other:?}"),
    });
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        wire,
        "EHLO client.example\r\nAUTH X-TEST\r\nYW5zd2Vy\r\nQUIT\r\n"
    );
}

#[test]
fn a_refused_data_is_not_a_message_reply() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 Ok\r\n250 Ok\r\n451 4.3.0 Try later\r\n",
            b"250 Reset\r\n221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    let res = &r.results[0];
    assert!(res.message.is_empty());
    assert_eq!(res.refused.as_ref().unwrap().code().get(), 451);
    assert_eq!(res.per_recipient()[0].1.unwrap().code().get(), 451);
}

#[test]
fn lmtp_bdat_last_replies_are_per_recipient() {
    let mut o = plain_opts();
    o.lmtp = true;
    o.chunking = true;
    let r = crun(
        o,
        TransportSecurity::Plain,
        &[
            GREET,
            b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
            b"250 Ok\r\n250 Ok\r\n250 Ok\r\n",
            b"250 2.0.0 r1 ok\r\n452 4.2.2 r2 full\r\n",
            b"221 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>", "<c@example.com>"]),
            b"x\n",
        ),
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let per: Vec<u16> = r.results[0]
        .per_recipient()
        .iter()
        .map(|(_, rep)| rep.unwrap().code().get())
        .collect();
    assert_eq!(per, [250, 452]);
    assert!(!r.wire().contains("RSET"));
}

#[test]
fn the_result_survives_a_close_instead_of_the_rset_reply() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[GREET, b"250 mx\r\n", b"554 5.7.1 Blocklisted\r\n"],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].mail.as_ref().unwrap().code().get(), 554);
    assert!(matches!(
        &r.errors[..],
        [Error::Peer(PeerMisbehaved::ConnectionClosed)]
    ));
}
