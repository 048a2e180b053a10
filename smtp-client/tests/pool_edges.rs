//! The pool's edges, found in review: cancellation while a connection opens or is
//! checked, a fresh connection that fails after a first round delivered, `max_total`
//! of 1 with a split message, client certificates as credentials, `max_messages`
//! within one send. Against our test server on 127.0.0.1.

mod kit;

use kit::{env, msg};
use smtp_client::pool::{Destination, Pool, PoolOptions};
use smtp_client::{ClientOptions, TlsPolicy};
use smtp_server::testing::TestServer;
use std::time::Duration;

fn dest(server: &TestServer) -> Destination {
    let o = ClientOptions::new("client.test", TlsPolicy::None);
    Destination::new(format!("127.0.0.1:{}", server.addr().port()), o)
}

/// A send cancelled while its connection is being opened (the greeting is slow) gives
/// back the room `find` counted for it: nothing is open afterwards, and with
/// `max_per_destination = 1` the next send is not starved.
#[tokio::test]
async fn a_send_cancelled_while_connecting_leaks_no_room() {
    let server = TestServer::builder()
        .fault("greeting:nth=1=delay=3600s")
        .unwrap()
        .start()
        .await
        .unwrap();
    let d = dest(&server);
    let mut o = PoolOptions::default();
    o.max_per_destination = 1;
    o.checkout_timeout = Duration::from_secs(2);
    let pool = Pool::new(o);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        pool.send(&d, env(&["b@example.test"]), msg(0)),
    )
    .await;
    assert!(cancelled.is_err(), "the greeting was to be late");
    let s = pool.stats();
    assert_eq!(
        s.open, 0,
        "no connection exists, yet the pool counts one: {s:?}"
    );
    // The second greeting is prompt: this must not wait for a connection that never was.
    pool.send(&d, env(&["b@example.test"]), msg(1))
        .await
        .unwrap();
}

/// A send cancelled during the NOOP check of an idle connection (the server is slow
/// to answer NOOP) gives the popped connection's count back and retires it.
#[tokio::test]
async fn a_send_cancelled_during_the_noop_check_leaks_no_room() {
    let server = TestServer::builder()
        .fault("noop:nth=1=delay=3600s")
        .unwrap()
        .start()
        .await
        .unwrap();
    let d = dest(&server);
    let mut o = PoolOptions::default();
    o.max_per_destination = 1;
    o.noop_after = Duration::ZERO;
    o.checkout_timeout = Duration::from_secs(2);
    let pool = Pool::new(o);
    pool.send(&d, env(&["b@example.test"]), msg(0))
        .await
        .unwrap();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        pool.send(&d, env(&["b@example.test"]), msg(1)),
    )
    .await;
    assert!(cancelled.is_err(), "the NOOP reply was to be late");
    let s = pool.stats();
    assert_eq!((s.open, s.idle), (0, 0), "{s:?}");
    pool.send(&d, env(&["b@example.test"]), msg(2))
        .await
        .unwrap();
}

/// `Pool::send` delivered to x@one.test on the first connection; the recipient the
/// server's RCPTDOMAINMAX left out needs a fresh connection, which fails to open.
/// The result must still say x@one.test was delivered (else the caller retries the
/// whole message, and x@one.test gets it twice).
#[tokio::test]
async fn a_failed_fresh_connection_does_not_hide_what_was_delivered() {
    let server = TestServer::builder()
        .max_recipient_domains(1)
        .fault("connect:nth=2=close")
        .unwrap()
        .start()
        .await
        .unwrap();
    let d = dest(&server);
    let pool = Pool::new(PoolOptions::default());
    let r = pool
        .send(&d, env(&["x@one.test", "y@two.test"]), msg(0))
        .await;
    assert_eq!(
        server
            .wait_for(|m| m.len() == 1, Duration::from_secs(10))
            .await
            .unwrap()
            .len(),
        1
    );
    let delivery = match r {
        Ok(d) => d,
        Err(e) => panic!("x@one.test was delivered, yet the send says only: {e:?}"),
    };
    assert!(delivery.recipients[0].delivered(), "{delivery}");
    assert!(delivery.recipients[1].is_transient(), "{delivery}");
}

/// The same with `max_total = 1` (and room per destination): the fresh connection
/// `Pool::send` wants comes from closing this destination's own idle one, not from
/// waiting out `checkout_timeout`.
#[tokio::test]
async fn max_total_one_does_not_starve_the_rest_of_a_split_message() {
    let server = TestServer::builder()
        .max_recipient_domains(1)
        .start()
        .await
        .unwrap();
    let d = dest(&server);
    let mut o = PoolOptions::default();
    o.max_total = 1;
    o.checkout_timeout = Duration::from_secs(1);
    let pool = Pool::new(o);
    let r = pool
        .send(&d, env(&["x@one.test", "y@two.test"]), msg(0))
        .await;
    let delivery = match r {
        Ok(d) => d,
        Err(e) => panic!("expected both delivered, got {e:?}"),
    };
    assert!(delivery.all_delivered(), "{delivery}");
}

/// `max_messages` (transactions per connection) holds within one send too: RCPTMAX
/// splits one message into three transactions; the pool allows one a connection, so
/// each goes on a connection of its own.
#[tokio::test]
async fn max_messages_bounds_the_transactions_of_one_send() {
    let server = TestServer::builder()
        .max_recipients(1)
        .start()
        .await
        .unwrap();
    let d = dest(&server);
    let mut o = PoolOptions::default();
    o.max_messages = Some(1);
    let pool = Pool::new(o);
    let delivery = pool
        .send(&d, env(&["a@x.test", "b@x.test", "c@x.test"]), msg(0))
        .await
        .unwrap();
    assert!(delivery.all_delivered(), "{delivery}");
    pool.close_idle().await;
    let sessions = server
        .wait_for_sessions(|s| !s.is_empty(), Duration::from_secs(10))
        .await
        .unwrap();
    for s in &sessions {
        let mails = s
            .transcript
            .lines()
            .iter()
            .filter(|l| l.text.to_ascii_uppercase().starts_with("MAIL FROM"))
            .count();
        assert!(
            mails <= 1,
            "{mails} transactions on one connection, max_messages 1"
        );
    }
}

/// A message the idle connection had no room for (LimitReached: its RCPTDOMAINMAX is
/// spent), whose fresh connection then gets `421` to its MAIL: the caller must see
/// the 421, not `LimitReached` ("nothing was sent, the connection stays usable").
#[tokio::test]
async fn a_failed_fresh_connection_is_not_reported_as_limit_reached() {
    let server = TestServer::builder()
        .max_recipient_domains(1)
        .fault("mail:nth=2=421 4.3.2 Bye")
        .unwrap()
        .start()
        .await
        .unwrap();
    let d = dest(&server);
    let pool = Pool::new(PoolOptions::default());
    pool.send(&d, env(&["x@one.test"]), msg(0)).await.unwrap();
    let e = pool
        .send(&d, env(&["y@two.test"]), msg(1))
        .await
        .unwrap_err();
    assert!(
        !matches!(e, smtp_client::Error::LimitReached { .. }),
        "the second connection failed to open, yet: {e:?}"
    );
}

/// A TLS client certificate is a credential: destinations that differ only in it
/// must not share a connection (issue 22: "credentials … never share a connection
/// across keys").
#[tokio::test]
async fn destinations_with_different_client_certificates_do_not_share() {
    let server = TestServer::builder().start().await.unwrap();
    let with_cert = |name: &str| {
        let ck = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        let mut o = ClientOptions::new("client.test", TlsPolicy::None);
        o.client_cert = Some(
            smtp_client::ClientCert::from_pem(
                ck.cert.pem().as_bytes(),
                ck.key_pair.serialize_pem().as_bytes(),
            )
            .unwrap(),
        );
        Destination::new(format!("127.0.0.1:{}", server.addr().port()), o)
    };
    let (alice, bob) = (with_cert("alice.test"), with_cert("bob.test"));
    let pool = Pool::new(PoolOptions::default());
    pool.send(&alice, env(&["b@example.test"]), msg(0))
        .await
        .unwrap();
    pool.send(&bob, env(&["b@example.test"]), msg(1))
        .await
        .unwrap();
    let s = pool.stats();
    assert_eq!((s.opened, s.reused), (2, 0), "{s:?}");
}
