//! Inputs found by the fuzz targets in `fuzz/` (see `fuzz/README.md`), kept as byte
//! scripts, each with the behaviour the library now has for it.

use bytes::BytesMut;
use smtp_proto::*;

fn decode_one(wire: &[u8]) -> Result<Option<Command>, ParseError> {
    let mut d = CommandDecoder::default();
    d.options = ParseOptions::default().with_smtputf8(true);
    d.decode(&mut BytesMut::from(wire))
}

/// `roundtrip`: EHLO with a U-label host. The encoder writes the UTF-8 name as given,
/// and the decoder refuses it (RFC 6531 §3.7.1 keeps HELO/EHLO/LHLO in A-labels): a
/// syntax error, not a panic or a different command. `Command::Ehlo` documents that the
/// host must be ASCII, and the client never sends a U-label name (`ClientOptions::new`).
#[test]
fn ehlo_with_a_u_label_host_is_refused_by_the_decoder() {
    let cmd = Command::Ehlo {
        host: Host::new("iitjylu例aaa").unwrap(),
    };
    let e = decode_one(&cmd.to_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ParseErrorKind::InvalidHost(_)), "{e:?}");
    let o = client::ClientOptions::new("iitjylu例aaa", "mx.example", "example");
    assert!(o.hello_name.is_ascii());
}

/// `roundtrip`: an EHLO greeting that starts with a space. RFC 5321 §4.1.1.1
/// `ehlo-greet = 1*(%d0-9 / %d11-12 / %d14-127)` allows a leading SP, and the encoder
/// writes `server SP greeting`, but `decode_capabilities` skips every space after the
/// server name, so `"  x"` comes back as `"x"`.
#[test]
fn capabilities_greeting_with_leading_spaces_round_trips() {
    let mut caps = Capabilities::new(Word::new("mz.example").unwrap());
    caps.greeting = Some(Text::new("  δ-@~@a").unwrap());
    let wire = caps.to_bytes();
    assert_eq!(&wire[..], "250 mz.example   δ-@~@a\r\n".as_bytes());
    let reply = Reply::from_bytes(&wire).unwrap();
    assert_eq!(decode_capabilities(&reply), Some(caps));
}

/// A greeting that starts with a visible character round-trips (the fuzzed domain).
#[test]
fn capabilities_greeting_round_trips() {
    let mut caps = Capabilities::new(Word::new("mz.example").unwrap());
    caps.greeting = Some(Text::new("δ-@~@a  x ").unwrap());
    caps.extensions = vec![Extension::Size(None), Extension::Size(None)];
    let reply = Reply::from_bytes(&caps.to_bytes()).unwrap();
    assert_eq!(decode_capabilities(&reply), Some(caps));
}

/// Plays `server` to a client (no TLS) that sends one message when ready; returns every
/// event with whether the session was idle when it came, and whether it reached `Close`.
fn client_script(server: &[&[u8]]) -> (Vec<(client::ClientEvent, bool)>, bool) {
    use client::{ClientEvent, ClientOptions, ClientSession, Envelope};
    let mut o = ClientOptions::new("client.example", "mx.example.com", "example.com");
    o.tls_policy = client::policy::TlsPolicy::None;
    let mut c = ClientSession::new(o, TransportSecurity::Plain);
    let mut input = server.iter();
    let mut events = Vec::new();
    let mut sent = false;
    for _ in 0..1000 {
        match c.poll() {
            Ok(Output::Event(ev)) => {
                events.push((ev.clone(), c.is_idle()));
                if matches!(ev, ClientEvent::Ready { .. }) && !sent {
                    sent = true;
                    c.send(Envelope::new("<a@b.example>", ["<c@d.example>"]).unwrap())
                        .unwrap();
                }
            }
            Ok(Output::NeedInput) => match input.next() {
                Some(b) => c.feed(b),
                None => c.feed_eof(),
            },
            Ok(Output::Close) => return (events, true),
            Ok(_) | Err(_) => {}
        }
    }
    (events, false)
}

/// `client`: MAIL refused, and the connection ends while the client waits for the reply
/// to its RSET. The transaction's result still comes out, then `Close`.
#[test]
fn client_delivers_a_refused_transaction_when_the_server_goes_away() {
    let (events, closed) = client_script(&[b"220 mx\r\n", b"250 mx\r\n", b"504 no\r\n"]);
    assert!(closed);
    let done: Vec<_> = events
        .iter()
        .filter_map(|(e, _)| match e {
            client::ClientEvent::Done(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].mail.as_ref().map(|r| r.code().get()), Some(504));
}

/// `client` (input `0c31 0000 "220 \r\n251 ok\r\n504 BODY=8BITMIMEC\xb0\xb3=\r\n2550"`,
/// reduced here): that `Done` comes when the session is already closing. As documented
/// on `ClientEvent::Done`: every `Done` finds the session idle, or closing, where `quit`
/// is a no-op that succeeds and the next poll is `Close` (the documented loop never
/// meets an error).
#[test]
fn every_done_finds_the_session_idle_or_closing_with_quit_allowed() {
    use client::{ClientEvent, ClientOptions, ClientSession, Envelope};
    let mut o = ClientOptions::new("client.example", "mx.example.com", "example.com");
    o.tls_policy = client::policy::TlsPolicy::None;
    let mut c = ClientSession::new(o, TransportSecurity::Plain);
    let mut input = [&b"220 mx\r\n"[..], b"250 mx\r\n", b"504 no\r\n"].into_iter();
    let mut dones = 0;
    for _ in 0..1000 {
        match c.poll() {
            Ok(Output::Event(ClientEvent::Ready { .. })) => {
                c.send(Envelope::new("<a@b.example>", ["<c@d.example>"]).unwrap())
                    .unwrap();
            }
            Ok(Output::Event(ClientEvent::Done(_))) => {
                dones += 1;
                if !c.is_idle() {
                    assert_eq!(c.quit(), Ok(()));
                    // The failure that closed it, once, then Close; nothing else.
                    let mut next = c.poll();
                    if next.is_err() {
                        next = c.poll();
                    }
                    assert!(matches!(next, Ok(Output::Close)), "{next:?}");
                    break;
                }
                c.quit().unwrap();
            }
            Ok(Output::NeedInput) => match input.next() {
                Some(b) => c.feed(b),
                None => c.feed_eof(),
            },
            Ok(Output::Close) => break,
            Ok(_) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(dones, 1);
}

/// `values` (input `75 ff×8 75 ff×12 73 ff×3 73`, read as lossy UTF-8: 73 octets):
/// `LocalPart::new` takes a local part of any length, but `Mailbox::parse` applies the
/// RFC 5321 §4.5.3.1.1 limit of 64 octets, so a mailbox built from it does not read
/// back from its own display. Fixed: the parser of a single value does not apply a
/// session's limits (a server applies them to the commands it receives).
#[test]
fn values_local_part_over_64_octets_round_trips() {
    let s = String::from_utf8_lossy(
        b"u\xff\xff\xff\xff\xff\xff\xff\xffu\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffs\xff\xff\xffs",
    );
    let local = LocalPart::new(&s).unwrap();
    assert_eq!(local.as_str().len(), 73);
    let m = Mailbox::new(local, Host::new("example.com").unwrap());
    assert_eq!(Mailbox::parse(&m.to_string()), Ok(m));
}

/// At 64 octets, the limit, a local part round-trips.
#[test]
fn values_local_part_of_64_octets_round_trips() {
    let m = Mailbox::new(
        LocalPart::new(&"u".repeat(64)).unwrap(),
        Host::new("example.com").unwrap(),
    );
    assert_eq!(Mailbox::parse(&m.to_string()), Ok(m));
}

/// `values` (input `75 ff×9 73 ff×8 40×6 ff 73`, lossy UTF-8): a 63-octet local part
/// that must be quoted is 65 octets as written; it reads back too.
#[test]
fn values_quoted_local_part_over_64_octets_as_written_round_trips() {
    let s = String::from_utf8_lossy(
        b"u\xff\xff\xff\xff\xff\xff\xff\xff\xffs\xff\xff\xff\xff\xff\xff\xff\xff@@@@@@\xffs",
    );
    let local = LocalPart::new(&s).unwrap();
    assert_eq!(local.to_string().len(), 65);
    let m = Mailbox::new(local, Host::new("example.com").unwrap());
    assert_eq!(Mailbox::parse(&m.to_string()), Ok(m));
}
