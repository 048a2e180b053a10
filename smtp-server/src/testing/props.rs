//! Property tests of the fault engine: the rule syntax prints as it parses, and the
//! lock step answers the same octets however the client's bytes are cut into reads
//! (the engine driven by the session as the connection drives it, without sockets).

use super::faults::Faults;
use super::rules::{Action, CertKind, Rule, Stage, When};
use super::tap::{Tap, Unit};
use proptest::prelude::*;
use smtp_proto::{Encode, TransportSecurity};
use smtp_proto::{LineEndings, Output, Reply, ServerEvent, ServerOptions, ServerSession};
use std::time::Duration;

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 ]{0,16}[A-Za-z0-9]"
}

fn reply(codes: &'static [u16]) -> impl Strategy<Value = Reply> {
    (
        prop::sample::select(codes),
        prop::collection::vec(text(), 1..3),
    )
        .prop_map(|(code, lines)| {
            Reply::with_text(code, None, lines.iter().map(String::as_str)).unwrap()
        })
}

fn rule() -> impl Strategy<Value = Rule> {
    let when = prop_oneof![
        Just(When::Always),
        (1u64..5).prop_map(When::Times),
        (1u64..5).prop_map(When::Nth),
        (1u64..5).prop_map(When::Every),
        (0u32..=100, any::<u64>()).prop_map(|(p, seed)| When::Probability {
            p: f64::from(p) / 100.0,
            seed
        }),
    ];
    let pattern = prop::option::of("[a-z*?]{1,6}@[a-z]{1,6}\\.test");
    let stage_action = prop_oneof![
        (
            prop::sample::select(vec![
                Stage::Mail,
                Stage::Rcpt,
                Stage::EndOfData,
                Stage::Auth
            ]),
            reply(&[250, 421, 451, 550, 554])
        )
            .prop_map(|(s, r)| (s, Action::Reply(r))),
        reply(&[451, 554]).prop_map(|r| (Stage::Data, Action::Reply(r))),
        reply(&[220, 250, 354, 454, 502]).prop_map(|r| (Stage::Noop, Action::Reply(r))),
        (1u64..5000).prop_map(|ms| (Stage::Mail, Action::Delay(Duration::from_millis(ms)))),
        (1u64..50).prop_map(|ms| (Stage::Rcpt, Action::Drip(Duration::from_millis(ms)))),
        (0u64..10_000).prop_map(|n| (Stage::Data, Action::CloseAfter(n))),
        Just((Stage::StartTls, Action::HideStartTls)),
        prop::sample::select(vec![
            CertKind::Expired,
            CertKind::NotYetValid,
            CertKind::SelfSigned,
            CertKind::WrongName,
            CertKind::Weak
        ])
        .prop_map(|k| (Stage::Cert, Action::Certificate(k))),
        "[ -\\[\\]-~]{0,12}(\r\n)?".prop_map(|s| (Stage::StartTls, Action::Inject(s.into_bytes()))),
        reply(&[250, 421]).prop_map(|r| (Stage::Greeting, Action::Unsolicited(r))),
        Just((Stage::Ehlo, Action::Malformed)),
        Just((Stage::Quit, Action::Endless)),
        Just((Stage::Rset, Action::Close)),
    ];
    (stage_action, pattern, when).prop_map(|((stage, action), pattern, when)| {
        let pattern = if stage == Stage::Cert { None } else { pattern };
        Rule {
            stage,
            pattern,
            when,
            action,
        }
    })
}

proptest! {
    #[test]
    fn a_rule_prints_as_it_parses(rule in rule()) {
        prop_assert!(rule.check().is_ok(), "{rule:?}");
        let text = rule.to_string();
        prop_assert_eq!(text.parse::<Rule>().unwrap(), rule, "{}", text);
    }

    #[test]
    fn any_text_parses_or_is_refused(text in "[a-z:=*@.0-9 \\\\-]{0,40}|\\PC{0,40}") {
        if let Ok(rule) = text.parse::<Rule>() {
            prop_assert!(rule.check().is_ok());
            prop_assert_eq!(rule.to_string().parse::<Rule>().unwrap(), rule);
        }
    }

    #[test]
    fn any_input_ends_without_a_panic(
        input in prop::collection::vec(
            prop_oneof![
                4 => any::<u8>(),
                2 => prop::sample::select(b"\r\n.:<>@ ".to_vec()),
            ],
            0..600,
        ),
        words in prop::collection::vec(
            prop::sample::select(vec![
                &b"MAIL FROM:<a@x.test>\r\n"[..], b"RCPT TO:<c@bounce.test>\r\n", b"DATA\r\n",
                b"BDAT 5\r\n", b"BDAT 2 LAST\r\n", b"\r\n.\r\n", b"NOOP\r\n", b"RSET\r\n",
                b"EHLO x\r\n", b"STARTTLS\r\n", b"AUTH LOGIN\r\n",
            ]),
            0..12,
        ),
        cuts in prop::collection::vec(0usize..2000, 0..8),
    ) {
        let mut script = Vec::new();
        for (i, w) in words.iter().enumerate() {
            script.extend_from_slice(w);
            script.extend_from_slice(&input[input.len() * i / words.len().max(1)..][..input.len() / words.len().max(1)]);
        }
        script.extend_from_slice(&input);
        let cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= script.len()).collect();
        let _ = run(&script, &cuts);
    }

    #[test]
    fn the_lock_step_does_not_depend_on_how_reads_are_cut(
        cuts in prop::collection::vec(0usize..SCRIPT.len(), 0..12),
    ) {
        let whole = run(SCRIPT, &[]);
        let cut = run(SCRIPT, &cuts);
        prop_assert_eq!(String::from_utf8_lossy(&cut), String::from_utf8_lossy(&whole));
    }
}

/// A session with pipelining, a dot-stuffed body, a final dot, BDAT chunks (one holding
/// a look-alike of the end of data), a bare-LF line, an over-long line with a command
/// for a tail, and octets after QUIT.
const SCRIPT: &[u8] = b"EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\n\
RCPT TO:<c@bounce.test>\r\nDATA\r\nSubject: s\r\n\r\nline\r\n..dot\r\n.\r\nMAIL FROM:<a@x.test>\r\n\
RCPT TO:<d@x.test>\r\nBDAT 7\r\n\r\n.\r\nabBDAT 3 LAST\r\nxyzNOOP\nRSET\r\nNOOP\r\n\
VRFY xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\
NOOP\r\nNOOP\r\nQUIT\r\nafter";

/// The octets the server writes for `input` read in pieces cut at `cuts`, with a few
/// rules on: the engine and the session driven as `Conn` drives them.
fn run(input: &[u8], cuts: &[usize]) -> Vec<u8> {
    let faults = Faults::new();
    for r in [
        "rcpt:*@bounce.test=550 5.1.1 No such user",
        "bdat:nth=2=452 4.3.1 Out of space",
        "noop:nth=2=250 2.0.0 Ruled",
        "eod=250 2.0.0 Queued by rule",
    ] {
        faults.add_str(r).unwrap();
    }
    let mut cuts: Vec<usize> = cuts.to_vec();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut at = 0;
    for c in cuts.into_iter().chain([input.len()]) {
        pieces.push(&input[at..c.max(at)]);
        at = c.max(at);
    }
    let mut pieces = pieces.into_iter();
    let mut opts = ServerOptions::default();
    opts.chunking = true;
    let mut session = ServerSession::new(opts, TransportSecurity::Plain);
    let mut tap = Tap::new(faults, 1, LineEndings::Strict);
    let mut out = Vec::new();
    loop {
        match session.poll() {
            Ok(Output::Transmit(b)) => {
                let (data, action) = tap.outgoing(&b);
                match action {
                    Some(Action::Reply(r)) => out.extend_from_slice(&r.to_bytes()),
                    _ => out.extend_from_slice(&data),
                }
            }
            Ok(Output::Event(ev)) => {
                tap.event(&ev);
                let decides = !matches!(
                    ev,
                    ServerEvent::Body(_) | ServerEvent::Reset | ServerEvent::MessageAborted(_)
                );
                if decides {
                    let _ = match tap.take_override() {
                        Some(r) if r.is_positive() => session.accept_with(r),
                        Some(r) => session.reject(r),
                        None => session.accept(),
                    };
                }
            }
            Ok(Output::NeedInput) => loop {
                match tap.next_unit(&session) {
                    Unit::None if tap.eof => {
                        session.feed_eof();
                        break;
                    }
                    Unit::None => match pieces.next() {
                        Some(p) => tap.pending.extend_from_slice(p),
                        None => tap.eof = true,
                    },
                    Unit::Feed(b) => {
                        session.feed(&b);
                        break;
                    }
                    Unit::Answer(b, close) => {
                        out.extend_from_slice(&b);
                        if close {
                            return out;
                        }
                    }
                    Unit::FeedThenClose(_) | Unit::Close => return out,
                }
            },
            Ok(Output::Close) | Ok(Output::StartTls(_)) => return out,
            Err(_) => {}
        }
    }
}

#[test]
fn the_script_meets_every_rule_and_defence() {
    let out = String::from_utf8(run(SCRIPT, &[])).unwrap();
    for want in [
        "550 5.1.1 No such user",
        "354 ",
        "250 2.0.0 Queued by rule",
        "452 4.3.1 Out of space",
        "500 5.5.2",
        "250 2.0.0 Ruled",
        "221 ",
    ] {
        assert!(out.contains(want), "{want}:\n{out}");
    }
}
