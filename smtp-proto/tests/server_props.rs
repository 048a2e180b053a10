//! Property tests of the server session: the same input split anywhere gives the same
//! replies and events; arbitrary bytes and decisions never panic, hang, or grow buffers.

mod support;

use proptest::collection::vec;
use proptest::prelude::*;
use smtp_proto::*;
use support::*;

/// Pieces of client input, STARTTLS excepted: whether bytes after it arrived before the
/// handshake depends on timing by design, so it has its own tests.
fn piece() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        Just(&b"EHLO c.example\r\n"[..]),
        Just(&b"HELO c.example\r\n"[..]),
        Just(&b"LHLO c.example\r\n"[..]),
        Just(&b"MAIL FROM:<a@b.example>\r\n"[..]),
        Just(&b"MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME\r\n"[..]),
        Just(&b"MAIL FROM:<a@b.example> SIZE=999999999\r\n"[..]),
        Just(&b"RCPT TO:<ok@d.example>\r\n"[..]),
        Just(&b"RCPT TO:<no@d.example>\r\n"[..]),
        Just(&b"DATA\r\n"[..]),
        Just(&b"line one\r\n..dot\r\n"[..]),
        Just(&b".\r\n"[..]),
        Just(&b"\n.\n"[..]),
        Just(&b"\r.\r"[..]),
        Just(&b"x\ry\n"[..]),
        Just(&b"BDAT 5\r\nab\r\nc"[..]),
        Just(&b"BDAT 3 LAST\r\nxyz"[..]),
        Just(&b"BDAT 0 LAST\r\n"[..]),
        Just(&b"BDAT x\r\n"[..]),
        Just(&b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"[..]),
        Just(&b"AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n"[..]),
        Just(&b"AUTH PLAIN\r\n*\r\n"[..]),
        Just(&b"RSET\r\n"[..]),
        Just(&b"NOOP\r\n"[..]),
        Just(&b"VRFY x\r\n"[..]),
        Just(&b"QUIT\r\n"[..]),
        Just(&b"garbage\r\n"[..]),
        Just(&b"NOOP\n"[..]),
        Just(&b"EHLO x\nMAIL FROM:<a@b.example>\r\n"[..]),
        Just(&b"AUTH PLAIN\r\nAGEAYg==\nRCPT TO:<ok@d.example>\r\n"[..]),
        Just(&b"AUTH PLAIN YQBiAGM=\r\n"[..]),
        Just(&b"RCPT TO:<xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@d.example>\r\n"[..]),
        Just(&b"VRFY <xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@d.example>\r\n"[..]),
    ]
}

fn options(lmtp: bool) -> ServerOptions {
    let mut o = ServerOptions::default();
    o.auth_mechanisms = vec![Mechanism::PLAIN, Mechanism::LOGIN];
    o.auth_without_tls = true;
    o.max_message_size = 64;
    o.max_errors = 8;
    o.max_junk_commands = 6;
    o.lmtp = lmtp;
    o
}

/// Decisions that depend only on the event, never on how the input was split.
fn decide(ev: &ServerEvent) -> Decision {
    match ev {
        ServerEvent::Rcpt { to, .. } if to.to_string().starts_with("<no") => Decision::Reject(
            Reply::with_text(
                550,
                Some(smtp_proto::EnhancedCode::new(5, 1, 1).unwrap()),
                ["no"],
            )
            .unwrap(),
        ),
        _ => Decision::Accept,
    }
}

fn same(a: &Run, b: &Run) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        String::from_utf8_lossy(&a.wire),
        String::from_utf8_lossy(&b.wire)
    );
    prop_assert_eq!(&a.events, &b.events);
    prop_assert_eq!(&a.errors, &b.errors);
    prop_assert_eq!(a.closed, b.closed);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chunking_does_not_change_the_session(
        pieces in vec(piece(), 0..24),
        cuts in vec(any::<usize>(), 0..8),
        lmtp in any::<bool>(),
    ) {
        let input = pieces.concat();
        let whole = run_with(options(lmtp), TransportSecurity::Plain, &[&input], decide);
        let split = run_with(options(lmtp), TransportSecurity::Plain, &split(&input, &cuts), decide);
        same(&whole, &split)?;
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let bytewise = run_with(options(lmtp), TransportSecurity::Plain, &bytes, decide);
        same(&whole, &bytewise)?;
    }

    #[test]
    fn arbitrary_bytes_and_decisions_never_panic_or_grow(
        pieces in vec(prop_oneof![piece().prop_map(|p| p.to_vec()), vec(any::<u8>(), 0..40)], 0..24),
        cuts in vec(any::<usize>(), 0..8),
        choices in vec(0u8..4, 1..16),
        tls in any::<bool>(),
    ) {
        let input = pieces.concat();
        let mut o = options(false);
        o.binary_mime = true;
        o.dsn = true;
        o.auth_mechanisms.push(Mechanism::new("X-STEP").unwrap());
        let limit = o.command_line_limit().max(o.limits.auth_line);
        let mut s = ServerSession::new(o, if tls {
            TransportSecurity::ImplicitTls(tls_info())
        } else {
            TransportSecurity::Plain
        });
        let mut k = 0;
        let mut chunks = split(&input, &cuts).into_iter();
        let mut out_bytes = 0usize;
        for _ in 0..100_000 {
            match s.poll() {
                Ok(Output::Transmit(b)) => out_bytes += b.len(),
                Ok(Output::Event(ev)) => {
                    if matches!(ev, ServerEvent::Body(_) | ServerEvent::MessageAborted(_) | ServerEvent::Reset) {
                        continue;
                    }
                    let c = choices[k % choices.len()];
                    k += 1;
                    let r = match (c, &ev) {
                        (1, _) => s.reject(Reply::with_text(550, None, ["no"]).unwrap()),
                        (2, _) => s.reject(Reply::with_text(421, None, ["bye"]).unwrap()),
                        (3, ServerEvent::AuthStep { .. }) => s.challenge(b"more"),
                        _ => s.accept(),
                    };
                    prop_assert!(r.is_ok());
                }
                Ok(Output::NeedInput) => {
                    prop_assert!(s.buffered() <= limit, "buffered {}", s.buffered());
                    match chunks.next() {
                        Some(c) => s.feed(c),
                        None => s.feed_eof(),
                    }
                }
                Ok(Output::StartTls(t)) => s.tls_established(t, tls_info()).unwrap_or(()),
                Ok(Output::Close) => return Ok(()),
                Err(Error::Misuse(ApiMisuse::DecisionPending)) => { s.accept().unwrap(); }
                Err(Error::Misuse(m)) => prop_assert!(false, "misuse {m:?}"),
                Err(_) => {}
            }
        }
        prop_assert!(false, "no Close after 100000 polls ({out_bytes} bytes out)");
    }
}
