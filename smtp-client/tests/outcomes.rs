//! One typed outcome per recipient, against our test server with fault rules: delivered
//! with the queue id, refused recipients and messages, greylisting and rate limits, a
//! 421, a refused connection, an unmet TLS policy, a refused AUTH, LMTP's replies per
//! recipient, and the serde form.

mod kit;

use kit::{env, server};
use smtp_client::{
    ClientOptions, Connection, Delivery, Error, OutcomeStatus, Reason, RecipientOutcome, TlsPolicy,
    outcomes,
};
use smtp_server::testing::TestServer;
use std::time::Duration;

const MSG: &str = "Subject: t\r\n\r\nhello\r\n";
const WAIT: Duration = Duration::from_secs(10);

fn opts(server: &TestServer, policy: TlsPolicy) -> ClientOptions {
    let mut o = kit::trusting(server, policy);
    o.timeouts = smtp_client::Timeouts::all(Duration::from_secs(20));
    o
}

fn target(server: &TestServer) -> String {
    format!("127.0.0.1:{}", server.addr().port())
}

/// Connects with `o` and sends `MSG` to `to`: each recipient's outcome and the result.
async fn send_with(
    addr: &str,
    o: ClientOptions,
    to: &[&str],
) -> (Vec<RecipientOutcome>, Result<Delivery, Error>) {
    let envelope = env(to);
    let result = match Connection::connect(addr, o).await {
        Ok(mut c) => {
            let r = c.send(envelope.clone(), MSG).await;
            let _ = c.quit().await;
            r
        }
        Err(e) => Err(e),
    };
    (outcomes(&envelope, &result), result)
}

async fn send(
    server: &TestServer,
    to: &[&str],
) -> (Vec<RecipientOutcome>, Result<Delivery, Error>) {
    send_with(&target(server), opts(server, TlsPolicy::Verify), to).await
}

/// The status and reason of each outcome.
fn kinds(outcomes: &[RecipientOutcome]) -> Vec<(OutcomeStatus, Option<Reason>)> {
    outcomes
        .iter()
        .map(|o| (o.outcome.status(), o.outcome.reason()))
        .collect()
}

#[tokio::test]
async fn delivered_with_the_servers_queue_id() {
    let server = TestServer::start().await;
    let (each, result) = send(&server, &["bob@example.test"]).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(kinds(&each), [(OutcomeStatus::Delivered, None)]);
    let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
    let o = &each[0].outcome;
    assert_eq!(o.queue_id(), Some(msgs[0].id.as_str()), "{o}");
    assert!(o.is_delivered() && !o.is_transient() && !o.is_permanent());
    assert_eq!(
        o.reply().map(ToString::to_string),
        Some(format!("250 2.0.0 Ok: queued as {}", msgs[0].id))
    );
    assert_eq!(
        each[0].to_string(),
        format!(
            "bob@example.test: delivered: 250 2.0.0 Ok: queued as {}",
            msgs[0].id
        )
    );
}

#[tokio::test]
async fn a_refused_recipient_is_permanent_and_the_others_delivered() {
    let server = server(&["rcpt:bob@*=550 5.1.1 No such user"]).await;
    let (each, result) = send(&server, &["<bob@example.test>", "carol@example.test"]).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        kinds(&each),
        [
            (OutcomeStatus::Permanent, Some(Reason::RecipientRefused)),
            (OutcomeStatus::Delivered, None),
        ]
    );
    assert_eq!(each[0].address, "<bob@example.test>");
    assert_eq!(
        each[0].to_string(),
        "<bob@example.test>: permanent failure (recipient-refused): 550 5.1.1 No such user"
    );
    assert!(each[1].outcome.queue_id().is_some());
}

#[tokio::test]
async fn a_greylisted_recipient_is_transient_and_rate_limited() {
    let server = server(&["rcpt=450 4.7.1 Greylisted, try again later"]).await;
    let (each, result) = send(&server, &["bob@example.test"]).await;
    let e = result.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(
        kinds(&each),
        [(OutcomeStatus::Transient, Some(Reason::RateLimited))]
    );
    assert_eq!(
        each[0].outcome.reply().unwrap().to_string(),
        "450 4.7.1 Greylisted, try again later"
    );
    // The error alone says the same.
    assert_eq!(e.outcome(), each[0].outcome);
}

#[tokio::test]
async fn a_message_refused_at_its_end_is_permanent() {
    let server = server(&["eod=554 5.7.1 Message rejected as spam"]).await;
    let (each, result) = send(&server, &["bob@example.test", "carol@example.test"]).await;
    assert!(result.unwrap_err().is_permanent());
    let refused = (OutcomeStatus::Permanent, Some(Reason::MessageRefused));
    assert_eq!(kinds(&each), [refused, refused]);
    assert_eq!(
        each[1].outcome.reply().unwrap().to_string(),
        "554 5.7.1 Message rejected as spam"
    );
}

#[tokio::test]
async fn a_451_4_7_1_at_data_is_rate_limited() {
    let server = server(&["data=451 4.7.1 Try again later"]).await;
    let (each, result) = send(&server, &["bob@example.test"]).await;
    assert!(result.unwrap_err().is_transient());
    assert_eq!(
        kinds(&each),
        [(OutcomeStatus::Transient, Some(Reason::RateLimited))]
    );
}

#[tokio::test]
async fn a_421_at_mail_is_transient() {
    let server = server(&["mail=421 4.3.2 Shutting down"]).await;
    let (each, result) = send(&server, &["bob@example.test", "carol@example.test"]).await;
    let e = result.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    let closed = (OutcomeStatus::Transient, Some(Reason::Connection));
    assert_eq!(kinds(&each), [closed, closed], "{e:?}");
    assert_eq!(each[0].outcome.reply().unwrap().code().get(), 421);
    // With 4.7.x it is a rate limit.
    let server2 = self::server(&["mail=421 4.7.0 Too many messages, slow down"]).await;
    let (each, _) = send(&server2, &["bob@example.test"]).await;
    assert_eq!(
        kinds(&each),
        [(OutcomeStatus::Transient, Some(Reason::RateLimited))]
    );
}

#[tokio::test]
async fn a_refused_connection_is_transient_for_every_recipient() {
    // A port nobody listens on: bound, then closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = ClientOptions::new("client.test", TlsPolicy::None);
    let addr = format!("127.0.0.1:{port}");
    let (each, result) = send_with(&addr, o, &["bob@example.test", "<carol@example.test>"]).await;
    assert!(matches!(result, Err(Error::Connect { .. })), "{result:?}");
    let down = (OutcomeStatus::Transient, Some(Reason::Connection));
    assert_eq!(kinds(&each), [down, down]);
    assert_eq!(each[1].address, "<carol@example.test>");
    assert!(each[0].outcome.reply().is_none());
    let detail = each[0].outcome.detail().unwrap();
    assert!(detail.contains(&addr), "{detail}");
}

#[tokio::test]
async fn starttls_stripped_under_encrypt_is_a_transient_tls_policy_failure() {
    let server = server(&["ehlo=hide"]).await;
    let o = opts(&server, TlsPolicy::Encrypt);
    let (each, result) = send_with(&target(&server), o, &["bob@example.test"]).await;
    let e = result.unwrap_err();
    assert!(e.is_tls_failure(), "{e:?}");
    assert_eq!(
        kinds(&each),
        [(OutcomeStatus::Transient, Some(Reason::TlsPolicy))]
    );
}

#[tokio::test]
async fn a_refused_auth_is_a_permanent_authentication_failure() {
    let server = TestServer::builder()
        .auth_user("user", "right")
        .start()
        .await
        .unwrap();
    let o = opts(&server, TlsPolicy::Verify).with_plain_auth("user", "wrong");
    let (each, result) = send_with(&target(&server), o, &["bob@example.test"]).await;
    let e = result.unwrap_err();
    assert_eq!(e.reply().map(|r| r.code().get()), Some(535), "{e:?}");
    assert_eq!(
        kinds(&each),
        [(OutcomeStatus::Permanent, Some(Reason::Authentication))]
    );
}

#[tokio::test]
async fn lmtp_gives_each_recipient_its_own_outcome() {
    let server = TestServer::builder()
        .lmtp(true)
        .fault("eod:nth=1=552 5.2.2 Mailbox full")
        .unwrap()
        .start()
        .await
        .unwrap();
    let mut o = opts(&server, TlsPolicy::Verify);
    o.lmtp = true;
    let to = ["b@example.test", "c@example.test"];
    let (each, result) = send_with(&target(&server), o, &to).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        kinds(&each),
        [
            (OutcomeStatus::Permanent, Some(Reason::MessageRefused)),
            (OutcomeStatus::Delivered, None),
        ]
    );
    assert_eq!(
        each[0].outcome.reply().unwrap().to_string(),
        "552 5.2.2 Mailbox full"
    );
    assert!(each[1].outcome.queue_id().is_some(), "{}", each[1]);
    // The first recipient greylisted after the end of data.
    let server = TestServer::builder()
        .lmtp(true)
        .fault("eod=450 4.7.1 Greylisted")
        .unwrap()
        .start()
        .await
        .unwrap();
    let mut o = opts(&server, TlsPolicy::Verify);
    o.lmtp = true;
    let (each, _) = send_with(&target(&server), o, &to).await;
    assert_eq!(
        kinds(&each),
        [
            (OutcomeStatus::Transient, Some(Reason::RateLimited)),
            (OutcomeStatus::Delivered, None),
        ]
    );
}

#[cfg(feature = "serde")]
#[tokio::test]
async fn outcomes_serialise_for_queues_and_logs() {
    use smtp_client::{Outcome, Reply};

    let server = server(&["rcpt:bob@*=550 5.1.1 No such user"]).await;
    let (each, _) = send(&server, &["bob@example.test", "carol@example.test"]).await;
    let json = serde_json::to_string(&each).unwrap();
    assert!(
        json.starts_with(
            r#"[{"address":"bob@example.test","outcome":{"status":"permanent","reason":"recipient-refused","reply":"550 5.1.1 No such user"}}"#
        ),
        "{json}"
    );
    assert!(json.contains(r#""status":"delivered""#), "{json}");
    assert!(json.contains(r#""queue_id":""#), "{json}");
    let back: Vec<RecipientOutcome> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, each);

    // A multi-line reply keeps its lines; a failure without a reply keeps its detail.
    let multi =
        Reply::from_bytes(b"451-4.7.1 Greylisted\r\n451 4.7.1 See the help page\r\n").unwrap();
    let o = Outcome::failed(Reason::RateLimited, true, Some(multi), None);
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(
        json["reply"],
        "451-4.7.1 Greylisted\n451 4.7.1 See the help page"
    );
    assert_eq!(serde_json::from_value::<Outcome>(json).unwrap(), o);
    let o = Outcome::failed(Reason::Timeout, true, None, Some("timed out".into()));
    let json = serde_json::to_string(&o).unwrap();
    assert_eq!(
        json,
        r#"{"status":"transient","reason":"timeout","detail":"timed out"}"#
    );
    assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o);
    // A reply that does not parse, or an unknown reason, is refused.
    assert!(serde_json::from_str::<Outcome>(r#"{"status":"permanent","reply":"5x0 no"}"#).is_err());
    assert!(
        serde_json::from_str::<Outcome>(r#"{"status":"permanent","reason":"bad-luck"}"#).is_err()
    );
}
