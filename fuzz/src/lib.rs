//! Shared fuzz-target bodies. Each target feeds arbitrary bytes to a decoder, split at a
//! point chosen by the first byte so chunk boundaries are fuzzed too, and checks that
//! every decoded value re-encodes to bytes that decode to the same value.

use bytes::BytesMut;
use smtp_proto::{
    CommandDecoder, Encode, LineEndings, ParseOptions, Reply, ReplyDecoder, decode_capabilities,
};

/// Splits `data` into (control byte, first chunk, rest).
fn chunks(data: &[u8]) -> (u8, &[u8], &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return (0, &[], &[]);
    };
    let cut = usize::from(ctl) % (rest.len() + 1);
    (ctl, &rest[..cut], &rest[cut..])
}

/// Commands: decode in two chunks; re-encode and re-decode every command.
pub fn command(data: &[u8]) {
    let (ctl, a, b) = chunks(data);
    let utf8 = ctl & 1 == 1;
    let endings = if ctl & 2 == 2 {
        LineEndings::AllowBareLf
    } else {
        LineEndings::Strict
    };
    let mut d = CommandDecoder::default().with_line_endings(endings);
    d.options = ParseOptions::default().with_smtputf8(utf8);
    let mut buf = BytesMut::new();
    for chunk in [a, b] {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(cmd)) => {
                    let wire = cmd.to_bytes();
                    let mut limits = smtp_proto::Limits::default();
                    limits.command_line = 1 << 16;
                    limits.auth_line = 1 << 16;
                    let mut again = CommandDecoder::new(limits);
                    again.options = ParseOptions::default().with_smtputf8(true);
                    let mut w = BytesMut::from(&wire[..]);
                    let back = again.decode(&mut w);
                    assert_eq!(
                        back,
                        Ok(Some(cmd)),
                        "re-decode of {:?}",
                        String::from_utf8_lossy(&wire)
                    );
                    assert!(w.is_empty());
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = e.reply();
                }
            }
        }
    }
}

/// Replies: decode in two chunks; re-encode and re-decode every reply; read capabilities.
pub fn reply(data: &[u8]) {
    let (_, a, b) = chunks(data);
    let mut d = ReplyDecoder::default();
    let mut buf = BytesMut::new();
    for chunk in [a, b] {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(r)) => {
                    if let Some(caps) = decode_capabilities(&r) {
                        let _ = caps.to_bytes();
                    }
                    let wire = r.to_bytes();
                    if let Ok(back) = Reply::from_bytes(&wire) {
                        assert_eq!(back.code(), r.code());
                        assert_eq!(back.lines().len(), r.lines().len());
                    }
                }
                Ok(None) => break,
                // Terminal: the decoder keeps returning the error.
                Err(e) => {
                    assert_eq!(d.decode(&mut buf), Err(e));
                    return;
                }
            }
        }
    }
}

/// Validating constructors on arbitrary strings: never panic; what they accept displays
/// as something they accept again.
pub fn values(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(m) = smtp_proto::Mailbox::parse(&s) {
        assert_eq!(smtp_proto::Mailbox::parse(&m.to_string()), Ok(m));
    }
    if let Ok(h) = smtp_proto::Host::new(&s) {
        assert_eq!(smtp_proto::Host::new(&h.to_string()), Ok(h));
    }
    if let Ok(l) = smtp_proto::LocalPart::new(&s) {
        let m = smtp_proto::Mailbox::new(l, smtp_proto::Host::new("example.com").unwrap());
        assert_eq!(smtp_proto::Mailbox::parse(&m.to_string()), Ok(m));
    }
    let _ = smtp_proto::Text::new(&s);
    let _ = smtp_proto::decode_sasl_response(data);
}

/// The server session: arbitrary client bytes, split where the fuzzer says, with
/// arbitrary decisions and options. It must never panic, never refuse a valid decision,
/// keep its input buffer bounded, and reach `Close` after EOF.
pub fn server(data: &[u8]) {
    use smtp_proto::{
        ApiMisuse, Error, Mechanism, Output, ServerEvent, ServerOptions, ServerSession,
        TlsInfo, TransportSecurity,
    };
    if data.len() < 4 {
        return;
    }
    let (ctl, rest) = data.split_at(4);
    let mut o = ServerOptions::default();
    o.lmtp = ctl[0] & 1 != 0;
    o.binary_mime = ctl[0] & 2 != 0;
    o.dsn = ctl[0] & 4 != 0;
    o.auth_without_tls = ctl[0] & 8 != 0;
    o.require_tls = ctl[0] & 16 != 0;
    o.body_line_endings = if ctl[0] & 32 != 0 {
        smtp_proto::BareLineEndings::Normalize
    } else {
        smtp_proto::BareLineEndings::Reject
    };
    o.max_message_size = u64::from(ctl[1]) * 16;
    o.auth_mechanisms = vec![Mechanism::PLAIN, Mechanism::LOGIN, Mechanism::XOAUTH2];
    let limit = o.command_line_limit().max(o.limits.auth_line);
    let info = || TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap();
    let security = if ctl[0] & 64 != 0 {
        TransportSecurity::ImplicitTls(info())
    } else {
        TransportSecurity::Plain
    };
    let mut s = ServerSession::new(o, security);
    let step = usize::from(ctl[2]) + 1;
    let mut chunks = rest.chunks(step);
    let mut choice = u32::from(ctl[3]);
    let mut eof = false;
    for _ in 0..1_000_000 {
        match s.poll() {
            Ok(Output::Transmit(b)) => assert!(!b.is_empty()),
            Ok(Output::Event(ev)) => {
                if matches!(
                    ev,
                    ServerEvent::Body(_) | ServerEvent::MessageAborted(_) | ServerEvent::Reset
                ) {
                    continue;
                }
                choice = choice.rotate_left(3) ^ 0x9e37_79b9;
                let r = match (choice % 5, &ev) {
                    (1, _) => s.reject(smtp_proto::Reply::with_text(550, None, ["no"]).unwrap()),
                    (2, _) => s.reject(smtp_proto::Reply::with_text(421, None, ["bye"]).unwrap()),
                    (3, ServerEvent::AuthStep { .. }) => s.challenge(b"challenge"),
                    _ => s.accept(),
                };
                r.expect("a valid decision was refused");
            }
            Ok(Output::NeedInput) => {
                assert!(s.buffered() <= limit);
                match chunks.next() {
                    Some(c) => s.feed(c),
                    None => {
                        assert!(!eof, "NeedInput after EOF");
                        eof = true;
                        s.feed_eof();
                    }
                }
            }
            Ok(Output::StartTls(t)) => {
                let _ = s.tls_established(t, info());
            }
            Ok(Output::Close) => return,
            Err(Error::Misuse(ApiMisuse::DecisionPending)) => s.accept().unwrap(),
            Err(Error::Misuse(m)) => panic!("misuse {m:?}"),
            Err(_) => {}
        }
    }
    panic!("the session did not close");
}

/// The body decoders on arbitrary bytes in two chunks: never panic, never emit more
/// than they were given (plus inserted CRLFs), and stop at the first CRLF.CRLF.
pub fn data_decoder(data: &[u8]) {
    use smtp_proto::{BareLineEndings, BodyStep, ChunkDecoder, DotDecoder};
    let (ctl, a, b) = chunks(data);
    let policy = if ctl & 1 != 0 {
        BareLineEndings::Normalize
    } else {
        BareLineEndings::Reject
    };
    let mut d = DotDecoder::new(policy);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut end = None;
    'outer: for chunk in [a, b] {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        loop {
            match d.decode(&mut buf) {
                BodyStep::Chunk(c) => out.extend_from_slice(&c),
                BodyStep::NeedInput => break,
                BodyStep::End => {
                    end = Some(fed - buf.len());
                    break 'outer;
                }
            }
        }
    }
    let input = [a, b].concat();
    if policy == BareLineEndings::Reject {
        assert!(out.len() <= input.len());
    }
    // The message ends exactly at the first CRLF "." CRLF (the body starts a line).
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(&input);
    let first = framed.windows(5).position(|w| w == b"\r\n.\r\n").map(|i| i + 3);
    assert_eq!(end, first);
    let mut c = ChunkDecoder::new(Some(policy));
    let mut buf = BytesMut::from(data);
    c.start_chunk(u64::from(ctl));
    let mut n = 0;
    while let BodyStep::Chunk(x) = c.decode(&mut buf) {
        n += x.len();
    }
    let _ = c.finish();
    // Everything the chunk covers goes out, but for a final CR of a partial read, which
    // waits for the next byte.
    assert!(n + 1 >= usize::from(ctl).min(data.len()));
}

/// The client session: arbitrary server bytes, split where the fuzzer says, with the
/// TLS policy, chunking and LMTP chosen by the first byte. It must never panic, never
/// refuse a call the session said it was ready for, and reach `Close` after EOF.
pub fn client(data: &[u8]) {
    use smtp_proto::client::policy::TlsPolicy;
    use smtp_proto::client::{ClientAuth, ClientEvent, ClientOptions, ClientSession, Envelope};
    use smtp_proto::{Output, Secret, TlsInfo, TransportSecurity};
    if data.len() < 2 {
        return;
    }
    let (ctl, rest) = data.split_at(2);
    let mut o = ClientOptions::new("client.example", "mx.example.com", "example.com");
    o.tls_policy = match ctl[0] & 3 {
        0 => TlsPolicy::None,
        1 => TlsPolicy::May,
        2 => TlsPolicy::Encrypt,
        _ => TlsPolicy::Verify,
    };
    o.chunking = ctl[0] & 4 != 0;
    o.lmtp = ctl[0] & 8 != 0;
    if ctl[0] & 16 != 0 {
        o.auth = Some(ClientAuth::Login {
            username: "u".into(),
            password: Secret::new("p".into()),
        });
        o.auth_without_tls = ctl[0] & 32 != 0;
    }
    let mut c = ClientSession::new(o, TransportSecurity::Plain);
    let mut chunks = rest.chunks(usize::from(ctl[1]) + 1);
    let mut sent = 0;
    let mut body_given = false;
    let mut eof = false;
    for _ in 0..100_000 {
        match c.poll() {
            Ok(Output::Transmit(b)) => assert!(!b.is_empty()),
            Ok(Output::Event(ClientEvent::Ready { .. } | ClientEvent::Done(_))) => {
                if sent < 2 {
                    sent += 1;
                    let env = Envelope::new("<a@b.example>", ["<c@d.example>", "<e@d.example>"])
                        .unwrap();
                    if c.send(env).is_err() {
                        let _ = c.quit();
                    }
                } else {
                    let _ = c.quit();
                }
            }
            Ok(Output::Event(ClientEvent::SendBody)) => {
                if body_given {
                    c.end_body().unwrap();
                } else {
                    c.body(b"line\n.dot\r\n").unwrap();
                }
                body_given = !body_given;
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
                let info = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256")
                    .unwrap()
                    .with_peer_verified(ctl[1] & 1 == 1);
                let _ = c.tls_established(t, info);
            }
            Ok(Output::Close) => return,
            Err(smtp_proto::Error::Misuse(m)) => panic!("misuse {m:?}"),
            Err(_) => {}
        }
    }
    panic!("the client did not close");
}

/// PROXY headers: every prefix of the input agrees with the whole (need more, or the same
/// header and length, or an error); a parsed header re-encodes to one that parses the same.
pub fn proxy(data: &[u8]) {
    use smtp_proto::proxy;
    let whole = proxy::parse(data);
    if let Ok(Some((h, len))) = whole {
        assert!(len <= data.len());
        for n in 0..len {
            assert_eq!(proxy::parse(&data[..n]), Ok(None), "prefix {n}");
        }
        let addrs = h.source.zip(h.destination);
        let again = if h.version == 1 {
            proxy::encode_v1(addrs).into_bytes()
        } else {
            proxy::encode_v2(addrs)
        };
        let (h2, len2) = proxy::parse(&again).unwrap().unwrap();
        assert_eq!(len2, again.len());
        if matches!(addrs, Some((std::net::SocketAddr::V4(_), std::net::SocketAddr::V4(_))) | None) {
            assert_eq!((h2.source, h2.destination), (h.source, h.destination));
        }
    }
}
