//! RFC 9422 LIMITS on the server: the `LIMITS` line of the EHLO/LHLO reply, MAILMAX
//! (`ServerOptions::max_transactions`: `421 4.5.3` and close) and RCPTDOMAINMAX
//! (`ServerOptions::max_recipient_domains`: `452 4.5.3`), both counted per session and
//! started again at STARTTLS (RFC 3207 §4.2).

mod support;

use proptest::prelude::*;
use smtp_proto::*;
use support::*;

fn opts() -> ServerOptions {
    ServerOptions::new(Domain::new("mx.example.com").unwrap())
}

fn reply(code: u16, e: (u8, u16, u16), text: &str) -> Reply {
    let e = EnhancedCode::new(e.0, e.1, e.2).unwrap();
    Reply::with_text(code, Some(e), [text]).unwrap()
}

/// The LIMITS lines of the reply to `EHLO c` (or `LHLO c` in LMTP mode), without
/// their `250-`.
fn limits_lines(o: ServerOptions) -> Vec<String> {
    let hello: &[u8] = if o.lmtp { b"LHLO c\r\n" } else { b"EHLO c\r\n" };
    run(o, &[hello])
        .lines()
        .into_iter()
        .filter_map(|l| {
            l.get(4..)
                .filter(|k| k.starts_with("LIMITS"))
                .map(str::to_owned)
        })
        .collect()
}

const CLOSING: &str = "421 4.5.3 mx.example.com Too many transactions in this session, closing";
const DOMAINS: &str = "452 4.5.3 Too many recipient domains in this session";

/// One whole message from `a@b.example` to `rcpt`.
fn message(rcpt: &str) -> String {
    format!("MAIL FROM:<a@b.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n")
}

fn mails(r: &Run) -> usize {
    r.events.iter().filter(|e| matches!(e, Ev::Mail(_))).count()
}

#[test]
fn the_default_ehlo_reply_advertises_rcptmax() {
    let r = run(opts(), &[b"EHLO c\r\n"]);
    let lines = r.lines();
    let at = lines.iter().position(|l| l == "250-LIMITS RCPTMAX=1000");
    // Once, next to SIZE.
    assert_eq!(at, Some(4), "{lines:?}");
    assert_eq!(lines[3], "250-SIZE 10240000");
    assert_eq!(limits_lines(opts()).len(), 1);
}

#[test]
fn every_limit_set_is_advertised() {
    let mut o = opts();
    o.max_recipients = 50;
    o.max_transactions = Some(3);
    o.max_recipient_domains = Some(2);
    assert_eq!(
        limits_lines(o),
        ["LIMITS MAILMAX=3 RCPTMAX=50 RCPTDOMAINMAX=2"]
    );
}

#[test]
fn no_limits_line_when_switched_off_or_nothing_to_say() {
    let mut o = opts();
    o.max_transactions = Some(3);
    o.max_recipient_domains = Some(2);
    o.advertise_limits = false;
    assert!(limits_lines(o.clone()).is_empty());
    assert_eq!(o.advertised_limits(), None);
    // RCPTMAX takes 1..=999999 only (RFC 9422 §3: `%x31-39 0*5DIGIT`).
    for n in [0, 1_000_000] {
        let mut o = opts();
        o.max_recipients = n;
        assert!(limits_lines(o).is_empty(), "{n}");
    }
    // HELO gets no extensions at all.
    let r = run(opts(), &[b"HELO c\r\n"]);
    assert_eq!(r.lines()[1], "250 mx.example.com");
}

#[test]
fn advertised_values_are_clamped_to_the_grammar() {
    let mut o = opts();
    o.max_recipients = 1_000_000;
    o.max_transactions = Some(0);
    o.max_recipient_domains = Some(u32::MAX);
    assert_eq!(limits_lines(o), ["LIMITS MAILMAX=1 RCPTDOMAINMAX=999999"]);
}

#[test]
fn an_extra_limits_line_replaces_the_built_in_one() {
    let mut l = LimitsExt::default();
    l.rcptmax = Some(7);
    let mut o = opts();
    o.extra_extensions.push(Extension::Limits(l));
    assert_eq!(limits_lines(o), ["LIMITS RCPTMAX=7"]);
}

#[test]
fn lmtp_advertises_limits_in_the_lhlo_reply() {
    let mut o = opts();
    o.lmtp = true;
    o.max_transactions = Some(5);
    assert_eq!(limits_lines(o), ["LIMITS MAILMAX=5 RCPTMAX=1000"]);
}

#[test]
fn mailmax_transactions_succeed_then_the_next_mail_gets_421_and_the_session_closes() {
    let mut o = opts();
    o.max_transactions = Some(2);
    let mut input = String::from("EHLO c\r\n");
    input += &message("x@y.example");
    input += &message("x@y.example");
    // The third MAIL and everything pipelined behind it.
    input += "MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nQUIT\r\n";
    let r = run(o, &[input.as_bytes()]);
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 Ok: queued",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 Ok: queued",
            CLOSING,
        ]
    );
    assert_eq!(mails(&r), 2);
    assert_eq!(r.events.last(), Some(&Ev::MessageEnd));
    assert_eq!(
        r.errors,
        [Error::Peer(PeerMisbehaved::TooManyTransactions {
            count: 3
        })]
    );
    assert!(r.closed);
}

#[test]
fn refused_and_malformed_mail_commands_count_toward_mailmax() {
    let mut o = opts();
    o.max_transactions = Some(3);
    let input = b"EHLO c\r\nMAIL FROM:<no@b.example>\r\nMAIL FROM:<bad\r\n\
        MAIL FROM:<a@b.example>\r\nRSET\r\nMAIL FROM:<a@b.example>\r\nNOOP\r\n";
    let r = run_with(o, TransportSecurity::Plain, &[input], |ev| match ev {
        ServerEvent::Mail { from, .. } if from.to_string().contains("no@") => {
            Decision::Reject(reply(550, (5, 7, 1), "Sender refused"))
        }
        _ => Decision::Accept,
    });
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "550 5.7.1 Sender refused",
            "501 5.5.4 Syntax error in parameters or arguments",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            CLOSING,
        ]
    );
    assert_eq!(mails(&r), 2);
}

#[test]
fn the_mail_count_starts_again_after_starttls() {
    let mut o = opts();
    o.max_transactions = Some(1);
    let r = run(
        o,
        &[
            b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRSET\r\nSTARTTLS\r\n",
            b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRSET\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n",
        ],
    );
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            "220 2.0.0 Ready to start TLS",
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            CLOSING,
        ]
    );
    assert!(r.events.contains(&Ev::StartTls));
    assert_eq!(mails(&r), 2);
}

#[test]
fn a_new_domain_past_rcptdomainmax_gets_452_and_known_ones_still_pass() {
    let mut o = opts();
    o.max_recipient_domains = Some(2);
    let input = b"EHLO c\r\nMAIL FROM:<a@b.example>\r\n\
        RCPT TO:<a@one.example>\r\nRCPT TO:<b@TWO.example>\r\nRCPT TO:<c@three.example>\r\n\
        RCPT TO:<d@One.Example>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<e@[192.0.2.1]>\r\n\
        DATA\r\nhi\r\n.\r\n\
        MAIL FROM:<a@b.example>\r\nRCPT TO:<f@two.example>\r\nRCPT TO:<g@four.example>\r\n\
        QUIT\r\n";
    let r = run(o, &[input]);
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "250 2.1.5 Ok",
            DOMAINS,
            "250 2.1.5 Ok",
            "250 2.1.5 Ok",
            DOMAINS,
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 Ok: queued",
            // A later transaction of the same session: the set is the session's.
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            DOMAINS,
            "221 2.0.0 Bye",
        ]
    );
    let rcpts: Vec<&Ev> = r
        .events
        .iter()
        .filter(|e| matches!(e, Ev::Rcpt(_)))
        .collect();
    assert_eq!(
        rcpts,
        [
            &Ev::Rcpt("<a@one.example>".into()),
            &Ev::Rcpt("<b@TWO.example>".into()),
            &Ev::Rcpt("<d@One.Example>".into()),
            &Ev::Rcpt("<Postmaster>".into()),
            &Ev::Rcpt("<f@two.example>".into()),
        ]
    );
    assert!(r.errors.is_empty());
}

#[test]
fn an_address_literal_is_a_domain_and_a_refused_recipient_keeps_its_place() {
    let mut o = opts();
    o.max_recipient_domains = Some(1);
    let input = b"EHLO c\r\nMAIL FROM:<a@b.example>\r\n\
        RCPT TO:<a@[192.0.2.1]>\r\nRCPT TO:<b@[192.0.2.1]>\r\nRCPT TO:<c@example.com>\r\n\
        RSET\r\nQUIT\r\n";
    let r = run_with(o, TransportSecurity::Plain, &[input], |ev| match ev {
        ServerEvent::Rcpt { to, .. } if to.to_string().contains("b@") => {
            Decision::Reject(reply(550, (5, 1, 1), "No such user"))
        }
        _ => Decision::Accept,
    });
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "550 5.1.1 No such user",
            DOMAINS,
            "250 2.0.0 Ok",
            "221 2.0.0 Bye",
        ]
    );
}

#[test]
fn the_domain_set_empties_at_starttls() {
    let mut o = opts();
    o.max_recipient_domains = Some(1);
    let r = run(
        o,
        &[
            b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<a@one.example>\r\nRSET\r\nSTARTTLS\r\n",
            b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@two.example>\r\n\
              RCPT TO:<c@one.example>\r\nQUIT\r\n",
        ],
    );
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "250 2.0.0 Ok",
            "220 2.0.0 Ready to start TLS",
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            DOMAINS,
            "221 2.0.0 Bye",
        ]
    );
}

/// The EHLO reply in `wire` (after the greeting), decoded.
fn ehlo_capabilities(wire: &[u8]) -> Capabilities {
    let mut buf = bytes::BytesMut::from(wire);
    let mut dec = ReplyDecoder::new(Limits::default());
    let greeting = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(greeting.code().get(), 220);
    let ehlo = dec.decode(&mut buf).unwrap().unwrap();
    decode_capabilities(&ehlo).unwrap()
}

proptest! {
    /// The LIMITS line the session writes decodes back to the options' values (clamped
    /// to RFC 9422's `1*6DIGIT`), in SMTP and LMTP.
    #[test]
    fn the_advertised_limits_decode_back_to_the_options(
        rcpt in prop_oneof![0usize..2_000_000, Just(usize::MAX)],
        mail in proptest::option::of(any::<u32>()),
        domains in proptest::option::of(any::<u32>()),
        advertise: bool,
        lmtp: bool,
    ) {
        let mut o = opts();
        o.max_recipients = rcpt;
        o.max_transactions = mail;
        o.max_recipient_domains = domains;
        o.advertise_limits = advertise;
        o.lmtp = lmtp;
        let hello: &[u8] = if lmtp { b"LHLO c\r\n" } else { b"EHLO c\r\n" };
        let r = run(o.clone(), &[hello]);
        let caps = ehlo_capabilities(&r.wire);
        let clamp = |n: u32| n.clamp(1, 999_999);
        let rcptmax = u32::try_from(rcpt).ok().filter(|n| (1..=999_999).contains(n));
        let expected = (advertise && (rcptmax.is_some() || mail.is_some() || domains.is_some()))
            .then(|| {
                let mut l = LimitsExt::default();
                l.rcptmax = rcptmax;
                l.mailmax = mail.map(clamp);
                l.rcptdomainmax = domains.map(clamp);
                l
            });
        prop_assert_eq!(caps.limits(), expected.as_ref());
        prop_assert_eq!(o.advertised_limits(), expected);
        let n = caps.extensions.iter().filter(|e| e.keyword() == "LIMITS").count();
        prop_assert!(n <= 1);
    }
}
