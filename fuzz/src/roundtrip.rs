//! Encoder → decoder round trips for every wire type with an encoder, from structured
//! input (`arbitrary::Unstructured`): values are built through the public validating
//! constructors, so whatever a constructor accepts must survive its wire form.

use crate::reference::crlf_normalised;
use crate::{PIECE, pieces};
use arbitrary::Unstructured;
use bytes::{Bytes, BytesMut};
use smtp_proto::framing::stuff::{BareEndingsOut, DotStuffer, crlf_size};
use smtp_proto::{
    AddressLiteral, BareLineEndings, Body, BodyStep, Capabilities, ChunkDecoder, Command,
    CommandDecoder, Domain, Encode, EnhancedCode, Envid, Extension, ForwardPath, Host, Limits,
    LimitsExt, LocalPart, MailAuth, MailParams, Mailbox, Mechanism, Notify, Orcpt, Param,
    ParseOptions, RcptParams, Reply, ReplyDecoder, Ret, ReversePath, Secret, Text, Word,
    decode_capabilities, encode_capabilities,
};

type U<'a> = Unstructured<'a>;

const LABEL: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789--üß例δ";
const LOCAL: &str = "abcxyzABZ019!#$%&'*+/=?^_`{|}~-.. \"\\@<>()[]:;,\tü用δ";
const TEXT: &str = "abcXYZ09 .:-=+<>\"\\@[]()\t~!ü中δ";
const WORD: &str = "ABCZabz019!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const XTEXT: &str = "abcXYZ09 +=.:;<>\"\\@!~\t/ü中";

fn byte(u: &mut U) -> u8 {
    u.arbitrary().unwrap_or(0)
}

fn flag(u: &mut U) -> bool {
    byte(u) & 1 == 1
}

fn below(u: &mut U, n: usize) -> usize {
    u.int_in_range(0..=n - 1).unwrap_or(0)
}

/// A string of up to `max` characters drawn from `pool`.
fn string(u: &mut U, pool: &str, max: usize) -> String {
    let chars: Vec<char> = pool.chars().collect();
    let n = below(u, max + 1);
    (0..n).map(|_| chars[below(u, chars.len())]).collect()
}

fn domain(u: &mut U) -> Domain {
    let labels: Vec<String> = (0..1 + below(u, 4)).map(|_| string(u, LABEL, 12)).collect();
    Domain::new(&labels.join(".")).unwrap_or_else(|_| Domain::new("example.com").unwrap())
}

fn host(u: &mut U) -> Host {
    match below(u, 4) {
        0 => Host::Literal(AddressLiteral::Ipv4(u.arbitrary().unwrap_or([0; 4]).into())),
        1 => Host::Literal(AddressLiteral::Ipv6(
            u.arbitrary().unwrap_or([0; 16]).into(),
        )),
        2 => match AddressLiteral::general(&string(u, LABEL, 6), &string(u, WORD, 10)) {
            Ok(l) => Host::Literal(l),
            Err(_) => Host::Domain(domain(u)),
        },
        _ => Host::Domain(domain(u)),
    }
}

fn ascii(h: Host) -> Host {
    if h.is_ascii() {
        h
    } else {
        Host::Domain(Domain::new("example.com").unwrap())
    }
}

fn mailbox(u: &mut U) -> Mailbox {
    let local =
        LocalPart::new(&string(u, LOCAL, 20)).unwrap_or_else(|_| LocalPart::new("a").unwrap());
    Mailbox::new(local, host(u))
}

fn text(u: &mut U, max: usize) -> Option<Text> {
    Text::new(&string(u, TEXT, max)).ok()
}

fn params(u: &mut U, mail: &mut MailParams, rcpt: &mut RcptParams) {
    for i in 0..below(u, 3) {
        let key = format!("X{i}-{}", string(u, "ABC019", 4));
        let value = flag(u).then(|| string(u, WORD, 8));
        if let Ok(p) = Param::new(&key, value.as_deref()) {
            // Refused when it duplicates one already there (or a known keyword).
            let _ = mail.push_other(p.clone());
            let _ = rcpt.push_other(p);
        }
    }
}

fn command(u: &mut U) -> Command {
    let mut mail = MailParams::default();
    let mut rcpt = RcptParams::default();
    match below(u, 16) {
        // RFC 6531 §3.7.1: the greeting names the client in ASCII (A-labels); a U-label
        // host has no wire form here, and the decoder refuses it.
        0 => Command::Helo {
            host: ascii(host(u)),
        },
        1 => Command::Ehlo {
            host: ascii(host(u)),
        },
        2 => Command::Lhlo {
            host: ascii(host(u)),
        },
        3 => Command::Data,
        4 => Command::Rset,
        5 => Command::Quit,
        6 => Command::StartTls,
        7 => Command::Bdat {
            size: u.arbitrary().unwrap_or(0),
            last: flag(u),
        },
        8 | 9 => {
            let target = text(u, 16).filter(|t| {
                !t.as_str().is_empty() && !t.as_str().to_ascii_uppercase().ends_with(" SMTPUTF8")
            });
            let Some(target) = target else {
                return Command::Noop { text: None };
            };
            let smtputf8 = flag(u);
            if below(u, 2) == 0 {
                Command::Vrfy { target, smtputf8 }
            } else {
                Command::Expn { target, smtputf8 }
            }
        }
        10 => Command::Help { topic: text(u, 16) },
        11 => Command::Noop { text: text(u, 16) },
        12 => {
            let initial = match below(u, 3) {
                0 => None,
                _ => {
                    let n = below(u, 48);
                    Some(Secret::new(Bytes::from(
                        u.bytes(n).unwrap_or_default().to_vec(),
                    )))
                }
            };
            let m = Mechanism::new(&string(u, "ABCZ019_-", 20)).unwrap_or(Mechanism::PLAIN);
            Command::Auth {
                mechanism: m,
                initial,
            }
        }
        13 | 14 => {
            let from = if flag(u) {
                ReversePath::Mailbox(mailbox(u))
            } else {
                ReversePath::Null
            };
            mail.size = flag(u).then(|| u.arbitrary().unwrap_or(0));
            mail.body = [
                None,
                Some(Body::SevenBit),
                Some(Body::EightBitMime),
                Some(Body::BinaryMime),
            ][below(u, 4)];
            mail.ret = [None, Some(Ret::Full), Some(Ret::Hdrs)][below(u, 3)];
            mail.envid = flag(u)
                .then(|| Envid::new(&string(u, XTEXT, 30)).ok())
                .flatten();
            mail.auth = match below(u, 3) {
                0 => None,
                1 => Some(MailAuth::Unknown),
                _ => Some(MailAuth::Submitter(Box::new(mailbox(u)))),
            };
            mail.requiretls = flag(u);
            // A non-ASCII sender needs SMTPUTF8 on its own line (RFC 6531 §3.4).
            mail.smtputf8 = flag(u) || from.mailbox().is_some_and(|m| !m.is_ascii());
            params(u, &mut mail, &mut rcpt);
            Command::Mail { from, params: mail }
        }
        _ => {
            let to = if flag(u) {
                ForwardPath::Mailbox(mailbox(u))
            } else {
                ForwardPath::Postmaster
            };
            rcpt.notify = match below(u, 3) {
                0 => None,
                1 => Some(Notify::Never),
                _ => {
                    let b = byte(u) % 7 + 1;
                    Some(Notify::On {
                        success: b & 1 != 0,
                        failure: b & 2 != 0,
                        delay: b & 4 != 0,
                    })
                }
            };
            let kind = ["rfc822", "utf-8", "x-abc", "RFC822"][below(u, 4)];
            rcpt.orcpt = flag(u)
                .then(|| Orcpt::new(kind, &string(u, XTEXT, 40)).ok())
                .flatten();
            params(u, &mut mail, &mut rcpt);
            Command::Rcpt { to, params: rcpt }
        }
    }
}

fn decode_command(wire: &[u8], seed: u8, max: usize) -> Command {
    let mut limits = Limits::default();
    limits.command_line = 1 << 16;
    let mut d = CommandDecoder::new(limits);
    d.options = ParseOptions::default().with_smtputf8(true);
    let mut buf = BytesMut::new();
    for piece in pieces(wire, seed, max) {
        assert_eq!(d.decode(&mut buf), Ok(None), "a command before its CRLF");
        buf.extend_from_slice(piece);
    }
    let got = d.decode(&mut buf);
    assert!(buf.is_empty(), "trailing bytes");
    got.unwrap_or_else(|e| panic!("{e:?} decoding {:?}", String::from_utf8_lossy(wire)))
        .expect("a whole line")
}

fn reply(u: &mut U) -> Option<Reply> {
    let code = u.int_in_range(200..=599).unwrap_or(250);
    let class = (code / 100) as u8;
    let enhanced = (class != 3 && flag(u)).then(|| {
        EnhancedCode::new(
            class,
            u.int_in_range(0..=999).unwrap_or(0),
            u.int_in_range(0..=999).unwrap_or(0),
        )
        .expect("class 2, 4 or 5")
    });
    let lines: Vec<String> = (0..1 + below(u, 4)).map(|_| string(u, TEXT, 20)).collect();
    Reply::with_text(code, enhanced, lines.iter().map(String::as_str)).ok()
}

fn word(u: &mut U, max: usize) -> Option<Word> {
    Word::new(&string(u, WORD, max)).ok()
}

fn extension(u: &mut U) -> Extension {
    match below(u, 14) {
        0 => Extension::Size(flag(u).then(|| u.arbitrary().unwrap_or(0))),
        1 => Extension::Pipelining,
        2 => Extension::EightBitMime,
        3 => Extension::SmtpUtf8,
        4 => Extension::StartTls,
        5 => Extension::Auth(
            (0..below(u, 4))
                .filter_map(|_| Mechanism::new(&string(u, "ABCZ019_-", 20)).ok())
                .collect(),
        ),
        6 => Extension::Chunking,
        7 => Extension::BinaryMime,
        8 => Extension::Dsn,
        9 => Extension::EnhancedStatusCodes,
        10 => Extension::RequireTls,
        11 => {
            let mut l = LimitsExt::default();
            l.mailmax = flag(u).then(|| u.arbitrary().unwrap_or(0));
            l.rcptmax = flag(u).then(|| u.arbitrary().unwrap_or(0));
            l.rcptdomainmax = flag(u).then(|| u.arbitrary().unwrap_or(0));
            l.other = (0..below(u, 3))
                .filter_map(|_| {
                    Word::new(&format!("Z{}={}", string(u, "ABC", 4), below(u, 999))).ok()
                })
                .collect();
            Extension::Limits(l)
        }
        _ => Extension::Other {
            keyword: Word::new(&format!("X-{}", string(u, "ABCZ", 6))).unwrap(),
            params: (0..below(u, 3)).filter_map(|_| word(u, 8)).collect(),
        },
    }
}

fn capabilities(u: &mut U) -> Option<Capabilities> {
    let mut c = Capabilities::new(Word::new(&format!("m{}", string(u, "az09.-", 20))).ok()?);
    c.greeting = flag(u)
        .then(|| {
            // Any text, leading spaces included (they once got lost: see
            // capabilities_greeting_with_leading_spaces_round_trips).
            Text::new(&string(u, TEXT, 30)).ok()
        })
        .flatten()
        // An empty greeting has the wire form of none.
        .filter(|t| !t.as_str().is_empty());
    c.extensions = (0..below(u, 12)).map(|_| extension(u)).collect();
    Some(c)
}

/// `body` through the DATA encoder (in pieces) and back through the DATA decoder.
fn data_body(body: &[u8], seed: u8, max: usize, policy: BareEndingsOut) {
    let mut enc = DotStuffer::new(true, policy);
    let mut wire = BytesMut::new();
    let mut refused = false;
    for piece in pieces(body, seed, max) {
        refused |= enc.encode(piece, &mut wire).is_err();
    }
    refused |= enc.finish(&mut wire).is_err();
    let normal = crlf_normalised(body);
    if policy == BareEndingsOut::Refuse {
        // Refused exactly when the body has a bare CR or LF.
        assert_eq!(refused, normal.len() != body.len(), "refusal");
        if refused {
            return;
        }
    }
    assert!(!refused);
    let mut expected = normal;
    if !expected.is_empty() && !expected.ends_with(b"\r\n") {
        expected.extend_from_slice(b"\r\n");
    }
    let mut d = smtp_proto::DotDecoder::new(BareLineEndings::Reject);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for piece in pieces(&wire, seed.rotate_left(3), max) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            match d.decode(&mut buf) {
                BodyStep::Chunk(c) => out.extend_from_slice(&c),
                BodyStep::NeedInput => break,
                BodyStep::End => {
                    assert_eq!(fed - buf.len(), wire.len(), "end of data before the end");
                    assert_eq!(d.defect(), None, "a bare line ending left the encoder");
                    assert_eq!(out, expected, "DATA body");
                    return;
                }
            }
        }
    }
    panic!("no end of data in {:?}", String::from_utf8_lossy(&wire));
}

/// `body` through the BDAT encoder (text or binary), sent as chunks, and back.
fn bdat_body(body: &[u8], seed: u8, max: usize, binary: bool) {
    let mut enc = if binary {
        DotStuffer::raw()
    } else {
        DotStuffer::new(false, BareEndingsOut::Normalize)
    };
    let mut wire = BytesMut::new();
    for piece in pieces(body, seed, max) {
        enc.encode(piece, &mut wire).unwrap();
    }
    enc.finish(&mut wire).unwrap();
    assert_eq!(enc.saw_eight_bit(), !body.is_ascii());
    let expected = if binary {
        body.to_vec()
    } else {
        crlf_normalised(body)
    };
    if !binary {
        assert_eq!(crlf_size(body), expected.len() as u64, "crlf_size");
    }
    let policy = (!binary).then_some(BareLineEndings::Reject);
    let mut d = ChunkDecoder::new(policy);
    let mut out = Vec::new();
    for chunk in pieces(&wire, seed.rotate_left(5), max) {
        let mut buf = BytesMut::from(chunk);
        d.start_chunk(chunk.len() as u64);
        loop {
            match d.decode(&mut buf) {
                BodyStep::Chunk(c) => out.extend_from_slice(&c),
                BodyStep::End => break,
                BodyStep::NeedInput => panic!("a whole chunk was given"),
            }
        }
        assert!(buf.is_empty());
    }
    if let Some(lf) = d.finish() {
        out.extend_from_slice(&lf);
    }
    assert_eq!(d.defect(), None, "a bare line ending left the encoder");
    assert_eq!(out, expected, "BDAT body");
}

/// Input: a selector byte, a seed for piece lengths, then structure for the value.
pub fn roundtrip(data: &[u8]) {
    let [sel, seed, rest @ ..] = data else {
        return;
    };
    let max = PIECE[usize::from(sel >> 4) & 7];
    let mut u = Unstructured::new(rest);
    match sel % 8 {
        0 | 1 => {
            let cmd = command(&mut u);
            let wire = cmd.to_bytes();
            let back = decode_command(&wire, *seed, max);
            assert_eq!(back, cmd, "wire {:?}", String::from_utf8_lossy(&wire));
            assert_eq!(back.to_bytes(), wire, "canonical");
        }
        2 => {
            let Some(r) = reply(&mut u) else { return };
            let wire = r.to_bytes();
            let mut d = ReplyDecoder::default();
            let mut buf = BytesMut::new();
            let mut got = None;
            for piece in pieces(&wire, *seed, max) {
                assert!(got.is_none(), "a reply before its last line");
                buf.extend_from_slice(piece);
                got = d.decode(&mut buf).unwrap();
            }
            assert!(buf.is_empty());
            let back = got.expect("a whole reply");
            assert_eq!(back, r, "wire {:?}", String::from_utf8_lossy(&wire));
            assert_eq!(back.to_bytes(), wire, "canonical");
        }
        3 => {
            let Some(c) = capabilities(&mut u) else {
                return;
            };
            let wire = c.to_bytes();
            assert_eq!(encode_capabilities(&c).to_bytes(), wire);
            let reply = Reply::from_bytes(&wire).expect("a reply");
            let back = decode_capabilities(&reply);
            assert_eq!(
                back.as_ref(),
                Some(&c),
                "wire {:?}",
                String::from_utf8_lossy(&wire)
            );
        }
        4 => {
            let m = mailbox(&mut u);
            let s = m.to_string();
            assert_eq!(Mailbox::parse(&s), Ok(m.clone()), "{s:?}");
            assert_eq!(
                LocalPart::new(m.local_part().as_str()).as_ref(),
                Ok(m.local_part())
            );
            assert_eq!(Host::new(&m.host().to_string()).as_ref(), Ok(m.host()));
            assert_eq!(
                ForwardPath::Mailbox(m.clone()).to_string(),
                format!("<{s}>")
            );
            assert_eq!(ReversePath::Mailbox(m).to_string(), format!("<{s}>"));
        }
        5 => data_body(rest, *seed, max, BareEndingsOut::Normalize),
        6 => data_body(rest, *seed, max, BareEndingsOut::Refuse),
        _ => bdat_body(rest, *seed, max, sel & 8 != 0),
    }
}
