//! AUTH identities and the exchange's edge forms (RFC 4954 §4, RFC 4616 §2): an
//! authorization identity is never silently accepted, `*` cancels any exchange, `=` is an
//! empty response everywhere.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use smtp_proto::*;
use support::*;

fn opts() -> ServerOptions {
    let mut o = ServerOptions::new(Domain::new("mx.example.com").unwrap());
    o.auth_mechanisms = vec![
        Mechanism::PLAIN,
        Mechanism::LOGIN,
        Mechanism::new("X-TOKEN").unwrap(),
    ];
    o.auth_without_tls = true;
    o
}

fn plain(authzid: &str, authcid: &str, pass: &str) -> String {
    B64.encode(format!("{authzid}\0{authcid}\0{pass}"))
}

fn auth_events(r: &Run) -> Vec<Credentials> {
    r.events
        .iter()
        .filter_map(|e| match e {
            Ev::Auth(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn another_authorization_identity_is_refused_unless_the_application_checks_it() {
    let line = format!(
        "EHLO c\r\nAUTH PLAIN {}\r\nQUIT\r\n",
        plain("admin", "alice", "pw")
    );
    let r = run(opts(), &[line.as_bytes()]);
    assert_eq!(
        r.replies()[1..],
        [
            "535 5.7.8 Error: authorization identity not permitted",
            "221 2.0.0 Bye"
        ]
    );
    assert!(auth_events(&r).is_empty(), "the application never sees it");

    // After a challenge too.
    let line = format!(
        "EHLO c\r\nAUTH PLAIN\r\n{}\r\nQUIT\r\n",
        plain("admin", "alice", "pw")
    );
    let r = run(opts(), &[line.as_bytes()]);
    assert_eq!(
        r.replies()[1..],
        [
            "334 ",
            "535 5.7.8 Error: authorization identity not permitted",
            "221 2.0.0 Bye"
        ]
    );

    // The same identity twice is no proxy request.
    let line = format!(
        "EHLO c\r\nAUTH PLAIN {}\r\nQUIT\r\n",
        plain("alice", "alice", "pw")
    );
    let r = run(opts(), &[line.as_bytes()]);
    assert_eq!(r.replies()[1], "235 2.7.0 Authentication successful");
    assert_eq!(auth_events(&r)[0].identity(), "alice");

    // Opted in: the application decides, and the identity it authorised is the authzid.
    let mut o = opts();
    o.auth_proxy = true;
    let line = format!(
        "EHLO c\r\nAUTH PLAIN {}\r\nQUIT\r\n",
        plain("admin", "alice", "pw")
    );
    let r = run(o, &[line.as_bytes()]);
    let creds = auth_events(&r);
    assert_eq!(creds[0].username, "alice");
    assert_eq!(creds[0].authzid.as_deref(), Some("admin"));
    assert_eq!(creds[0].identity(), "admin");
}

#[test]
fn a_star_cancels_any_exchange() {
    for (start, expect_challenge) in [
        ("AUTH PLAIN", "334 "),
        ("AUTH LOGIN", "334 VXNlcm5hbWU6"),
        ("AUTH X-TOKEN", ""),
    ] {
        let input = format!("EHLO c\r\n{start}\r\n*\r\nNOOP\r\n");
        let challenge = |ev: &ServerEvent| match ev {
            ServerEvent::AuthStep { .. } => Decision::Challenge(b"more".to_vec()),
            _ => Decision::Accept,
        };
        let r = run_with(
            opts(),
            TransportSecurity::Plain,
            &[input.as_bytes()],
            challenge,
        );
        let replies = r.replies();
        let first = if expect_challenge.is_empty() {
            "334 bW9yZQ=="
        } else {
            expect_challenge
        };
        assert_eq!(
            replies[1..],
            [first, "501 5.7.0 Authentication cancelled", "250 2.0.0 Ok"],
            "{start}"
        );
    }
    // As the initial response as well.
    let r = run(opts(), &[b"EHLO c\r\nAUTH PLAIN *\r\nNOOP\r\n"]);
    assert_eq!(
        r.replies()[1..],
        ["501 5.7.0 Authentication cancelled", "250 2.0.0 Ok"]
    );
    // LOGIN, cancelled at the password prompt.
    let r = run(opts(), &[b"EHLO c\r\nAUTH LOGIN dXNlcg==\r\n*\r\nNOOP\r\n"]);
    assert_eq!(
        r.replies()[1..],
        [
            "334 UGFzc3dvcmQ6",
            "501 5.7.0 Authentication cancelled",
            "250 2.0.0 Ok"
        ]
    );
}

#[test]
fn an_equals_sign_is_an_empty_response_for_every_mechanism() {
    // Initial response `=` and a response line `=` reach a pass-through mechanism as
    // empty responses (RFC 4954 §4).
    let mut seen = Vec::new();
    let decide = |ev: &ServerEvent| {
        if let ServerEvent::AuthStep { response, .. } = ev {
            seen.push(response.as_ref().map(|r| r.expose().to_vec()));
            if seen.len() == 1 {
                return Decision::Challenge(b"go".to_vec());
            }
        }
        Decision::Accept
    };
    let r = run_with(
        opts(),
        TransportSecurity::Plain,
        &[b"EHLO c\r\nAUTH X-TOKEN =\r\n=\r\nQUIT\r\n"],
        decide,
    );
    assert_eq!(seen, [Some(vec![]), Some(vec![])]);
    assert_eq!(r.replies()[2], "235 2.7.0 Authentication successful");
    // PLAIN and LOGIN: an empty message is malformed, never a crash or an acceptance.
    let r = run(
        opts(),
        &[b"EHLO c\r\nAUTH PLAIN =\r\nAUTH PLAIN\r\n=\r\nAUTH LOGIN =\r\nQUIT\r\n"],
    );
    assert_eq!(
        r.replies()[1..],
        [
            "501 5.5.2 Malformed authentication response",
            "334 ",
            "501 5.5.2 Malformed authentication response",
            "501 5.5.2 Malformed authentication response",
            "221 2.0.0 Bye"
        ]
    );
    assert!(auth_events(&r).is_empty());
}
