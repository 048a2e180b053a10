//! The server's limits kept by `Connection::send`: RFC 9422 LIMITS (RCPTMAX,
//! RCPTDOMAINMAX, MAILMAX) and, without them, `452 4.5.3` "too many recipients"
//! (RFC 5321 §4.5.3.1.10), against our test server on 127.0.0.1.

mod kit;

use kit::{connect, many, messages};
use smtp_client::DeliveryStatus;
use smtp_server::proto::{Extension, LimitsExt};
use smtp_server::testing::TestServer;

const MSG: &str = "Subject: many\r\n\r\nhello\r\n";

fn limits(mail: Option<u32>, rcpt: Option<u32>, domains: Option<u32>) -> Extension {
    let mut l = LimitsExt::default();
    l.mailmax = mail;
    l.rcptmax = rcpt;
    l.rcptdomainmax = domains;
    Extension::Limits(l)
}

/// A server taking at most `max_rcpt` recipients a transaction (`452 4.5.3` past
/// them), advertising `advertised` if given.
async fn server(max_rcpt: usize, advertised: Option<Extension>) -> TestServer {
    TestServer::builder()
        .max_recipients(max_rcpt)
        .options(|o| {
            // Only what the test advertises (not the server's own LIMITS line).
            o.advertise_limits = false;
            o.extra_extensions.extend(advertised);
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_hundred_fifty_recipients_at_rcptmax_100_are_three_transactions() {
    let server = server(100, Some(limits(None, Some(100), None))).await;
    let mut c = connect(&server).await;
    assert_eq!(c.server_limits().and_then(|l| l.rcptmax), Some(100));
    let d = c.send(many(250, |_| "x.test".into()), MSG).await.unwrap();
    assert_eq!(d.status(), DeliveryStatus::Accepted, "{d}");
    assert_eq!(d.recipients.len(), 250);
    assert_eq!(d.recipients[249].address, "r249@x.test");
    assert_eq!(d.message.len(), 3);
    let sizes: Vec<usize> = messages(&server, 3)
        .await
        .iter()
        .map(|m| m.recipients.len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    // Never more RCPTs in a transaction than announced: no 452 was needed.
    assert!(
        d.recipients
            .iter()
            .all(|r| r.rcpt_reply.as_ref().unwrap().code().get() == 250)
    );
}

#[tokio::test]
async fn without_limits_a_452_sends_the_rest_in_another_transaction() {
    let server = server(100, None).await;
    let mut c = connect(&server).await;
    assert!(c.server_limits().is_none());
    let d = c.send(many(250, |_| "x.test".into()), MSG).await.unwrap();
    assert_eq!(d.status(), DeliveryStatus::Accepted, "{d}");
    let msgs = messages(&server, 3).await;
    let mut all: Vec<String> = msgs.iter().flat_map(|m| m.to()).collect();
    all.sort();
    let mut want: Vec<String> = (0..250).map(|i| format!("r{i}@x.test")).collect();
    want.sort();
    assert_eq!(all, want, "each recipient once");
}

/// RFC 9422 §4.3: RCPTDOMAINMAX counts the distinct domains of a whole session.
#[tokio::test]
async fn rcptdomainmax_leaves_further_domains_for_another_connection() {
    let server = server(1000, Some(limits(None, None, Some(2)))).await;
    let mut c = connect(&server).await;
    let d = c
        .send(many(6, |i| format!("d{}.test", i % 3)), MSG)
        .await
        .unwrap();
    // d0 and d1 in one transaction; d2 would be the session's third domain.
    assert_eq!(d.status(), DeliveryStatus::PartlyRefused, "{d}");
    let left: Vec<&str> = d.failed().map(|r| r.address.as_str()).collect();
    assert_eq!(left, ["r2@d2.test", "r5@d2.test"]);
    assert!(d.failed().all(|r| r.is_transient() && r.reply.is_none()));
    // A later message: only d2.test, nothing fits; d1.test still does.
    let e = c
        .send(many(1, |_| "d2.test".into()), MSG)
        .await
        .unwrap_err();
    assert!(matches!(e, smtp_client::Error::LimitReached { .. }), "{e}");
    assert!(e.is_transient());
    assert_eq!(e.delivery().unwrap().recipients.len(), 1);
    c.send(many(1, |_| "D1.test".into()), MSG).await.unwrap();
    // A new connection takes d2.test.
    let mut other = connect(&server).await;
    other
        .send(many(1, |_| "d2.test".into()), MSG)
        .await
        .unwrap();
    let got = messages(&server, 3).await;
    assert_eq!(got[0].to().len(), 4);
}

#[tokio::test]
async fn mailmax_is_kept_and_the_rest_left_for_another_connection() {
    let server = server(100, Some(limits(Some(2), Some(100), None))).await;
    let mut c = connect(&server).await;
    assert_eq!(c.transactions_left(), Some(2));
    let d = c.send(many(250, |_| "x.test".into()), MSG).await.unwrap();
    assert_eq!(d.status(), DeliveryStatus::PartlyRefused, "{d}");
    assert_eq!(c.transactions_left(), Some(0));
    let untried: Vec<_> = d.failed().collect();
    assert_eq!(untried.len(), 50);
    assert!(
        untried
            .iter()
            .all(|r| r.is_transient() && r.reply.is_none())
    );
    assert_eq!(messages(&server, 2).await.len(), 2);
    // The next message on this connection is not started at all.
    let e = c.send(many(1, |_| "x.test".into()), MSG).await.unwrap_err();
    assert!(matches!(e, smtp_client::Error::LimitReached { .. }), "{e}");
}
