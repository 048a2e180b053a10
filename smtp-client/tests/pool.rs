//! `smtp_client::pool`: connections reused only while known-good, retired after a
//! `421`, unsolicited bytes, the server's `MAILMAX`, a cancelled send; RFC 9422 limits
//! across connections; many tasks through one pool. Against our test server on
//! 127.0.0.1.

mod kit;

use kit::{env, msg, server};
use smtp_client::pool::{Destination, Pool, PoolOptions, Retired};
use smtp_client::{ClientOptions, Error, TlsPolicy, TrustAnchors};
use smtp_server::testing::{Side, TestServer};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn dest(server: &TestServer, policy: TlsPolicy) -> Destination {
    Destination::new(kit::localhost(server), kit::trusting(server, policy))
}

#[tokio::test]
async fn messages_reuse_one_connection() {
    let server = server(&[]).await;
    let d = dest(&server, TlsPolicy::Verify);
    let pool = Pool::new(PoolOptions::default());
    for i in 0..10 {
        pool.send(&d, env(&["b@example.test"]), msg(i))
            .await
            .unwrap();
    }
    let s = pool.stats();
    assert_eq!((s.opened, s.reused, s.open, s.idle), (1, 9, 1, 1), "{s:?}");
    assert_eq!(
        server
            .wait_for(|m| m.len() == 10, WAIT)
            .await
            .unwrap()
            .len(),
        10
    );
    pool.close_idle().await;
    assert_eq!(pool.stats().retired(Retired::Shutdown), 1);
    assert_eq!(pool.stats().open, 0);
}

#[tokio::test]
async fn a_421_retires_the_connection() {
    let server = server(&["mail:nth=3=421 4.3.2 Going down"]).await;
    let d = dest(&server, TlsPolicy::Verify);
    let pool = Pool::new(PoolOptions::default());
    let mut results = Vec::new();
    for i in 0..5 {
        results.push(pool.send(&d, env(&["b@example.test"]), msg(i)).await);
    }
    let e = results[2].as_ref().unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.reply().unwrap().code().get(), 421);
    assert!(results.iter().enumerate().all(|(i, r)| i == 2 || r.is_ok()));
    let s = pool.stats();
    assert_eq!(s.retired(Retired::Reply421), 1, "{s:?}");
    assert_eq!(s.opened, 2, "{s:?}");
    // The session that got the 421 said nothing after it.
    let sessions = server
        .wait_for_sessions(
            |s| s.iter().any(|r| r.transcript.has(Side::Server, "421")),
            WAIT,
        )
        .await
        .unwrap();
    assert_no_mail_after_421(&sessions);
}

/// The server gives up on the idle client (`421` on its command timeout, then the
/// close): the pool sees it without a round trip and opens another connection.
#[tokio::test]
async fn a_server_that_spoke_while_idle_is_not_used_again() {
    let timeouts = smtp_server::Timeouts {
        command: Duration::from_millis(200),
        ..Default::default()
    };
    let server = TestServer::builder()
        .timeouts(timeouts)
        .start()
        .await
        .unwrap();
    let d = dest(&server, TlsPolicy::Verify);
    let pool = Pool::new(PoolOptions::default());
    pool.send(&d, env(&["b@example.test"]), msg(0))
        .await
        .unwrap();
    // The session ends on the server's side while the connection rests in the pool.
    let s = server
        .wait_for_sessions(|s| !s.is_empty(), WAIT)
        .await
        .unwrap();
    assert!(
        s[0].transcript.has(Side::Server, "421"),
        "{:?}",
        s[0].transcript
    );
    pool.send(&d, env(&["b@example.test"]), msg(1))
        .await
        .unwrap();
    let s = pool.stats();
    assert_eq!((s.opened, s.reused), (2, 0), "{s:?}");
    assert_eq!(s.retired(Retired::Unsolicited), 1, "{s:?}");
}

#[tokio::test]
async fn mailmax_and_rcptdomainmax_open_further_connections() {
    let server = TestServer::builder()
        .max_transactions(2)
        .max_recipient_domains(1)
        .start()
        .await
        .unwrap();
    let d = dest(&server, TlsPolicy::Verify);
    let pool = Pool::new(PoolOptions::default());
    for i in 0..5 {
        pool.send(&d, env(&["b@one.test"]), msg(i)).await.unwrap();
    }
    let s = pool.stats();
    assert_eq!(s.opened, 3, "{s:?}");
    assert_eq!(s.retired(Retired::MailMax), 2, "{s:?}");
    // Three domains: one connection each, all delivered in one call.
    let delivery = pool
        .send(
            &d,
            env(&["x@one.test", "y@two.test", "z@three.test"]),
            msg(9),
        )
        .await
        .unwrap();
    assert!(delivery.all_delivered(), "{delivery}");
    let got = server.wait_for(|m| m.len() == 8, WAIT).await.unwrap();
    let domains: Vec<usize> = got[5..].iter().map(|m| m.to().len()).collect();
    assert_eq!(domains, [1, 1, 1]);
}

#[tokio::test]
async fn destinations_never_share_connections() {
    let server = server(&[]).await;
    let pool = Pool::new(PoolOptions::default());
    let verify = dest(&server, TlsPolicy::Verify);
    let plain = dest(&server, TlsPolicy::None);
    pool.send(&verify, env(&["b@example.test"]), msg(0))
        .await
        .unwrap();
    pool.send(&plain, env(&["b@example.test"]), msg(1))
        .await
        .unwrap();
    pool.send(&verify, env(&["b@example.test"]), msg(2))
        .await
        .unwrap();
    let s = pool.stats();
    assert_eq!((s.opened, s.reused), (2, 1), "{s:?}");
    let got = server.wait_for(|m| m.len() == 3, WAIT).await.unwrap();
    let tls: Vec<bool> = got.iter().map(|m| m.tls.is_some()).collect();
    assert_eq!(tls, [true, false, true]);
}

/// A send cancelled half-way (its task aborted while the server holds the RCPT reply)
/// takes its connection with it.
#[tokio::test]
async fn a_cancelled_send_retires_its_connection() {
    let server = server(&["rcpt:nth=1=delay=3600s"]).await;
    let d = dest(&server, TlsPolicy::None);
    let pool = Pool::new(PoolOptions::default());
    let task = tokio::spawn({
        let (pool, d) = (pool.clone(), d.clone());
        async move { pool.send(&d, env(&["b@example.test"]), msg(0)).await }
    });
    // Wait until the RCPT is on the server's side, unanswered.
    let mut seen = false;
    for _ in 0..3000 {
        seen = (0..8).any(|id| {
            server
                .faults()
                .transcript(id)
                .is_some_and(|t| t.has(Side::Client, "RCPT TO"))
        });
        if seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen, "the RCPT never reached the server");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let s = pool.stats();
    assert_eq!(s.retired(Retired::Cancelled), 1, "{s:?}");
    assert_eq!((s.open, s.idle), (0, 0), "{s:?}");
    // The next send opens a new connection, and goes through.
    pool.send(&d, env(&["c@example.test"]), msg(1))
        .await
        .unwrap();
    assert_eq!(pool.stats().opened, 2);
}

/// Idle expiry and the checkout timeout, on tokio's paused clock (time jumps; no
/// test waits for it).
#[tokio::test]
async fn idle_connections_expire_and_checkouts_time_out() {
    let server = server(&[]).await;
    let d = dest(&server, TlsPolicy::None);
    let mut o = PoolOptions::default();
    o.max_per_destination = 1;
    o.idle_timeout = Duration::from_secs(30);
    o.noop_after = Duration::from_secs(5);
    o.checkout_timeout = Duration::from_secs(60);
    let pool = Pool::new(o);
    pool.send(&d, env(&["b@example.test"]), msg(0))
        .await
        .unwrap();

    // Idle past noop_after: checked with NOOP, then reused.
    skip(Duration::from_secs(10)).await;
    pool.send(&d, env(&["b@example.test"]), msg(1))
        .await
        .unwrap();
    let s = pool.stats();
    assert_eq!((s.opened, s.reused), (1, 1), "{s:?}");
    let sessions = server.sessions();
    assert!(
        sessions.is_empty(),
        "the session is still open: {sessions:?}"
    );

    // Idle past idle_timeout: closed, a new one opened.
    skip(Duration::from_secs(31)).await;
    pool.send(&d, env(&["b@example.test"]), msg(2))
        .await
        .unwrap();
    let s = pool.stats();
    assert_eq!(s.retired(Retired::IdleExpired), 1, "{s:?}");
    assert_eq!(s.opened, 2, "{s:?}");
    let first = server
        .wait_for_sessions(|s| !s.is_empty(), WAIT)
        .await
        .unwrap();
    assert!(first[0].transcript.has(Side::Client, "NOOP"));

    // The one connection leased: a second checkout waits, then times out.
    let lease = pool.checkout(&d).await.unwrap();
    let waiting = tokio::spawn({
        let (pool, d) = (pool.clone(), d.clone());
        async move { pool.checkout(&d).await.map(drop) }
    });
    while pool.stats().checkout_waits == 0 {
        tokio::task::yield_now().await;
    }
    skip(Duration::from_secs(61)).await;
    let e = waiting.await.unwrap().unwrap_err();
    assert!(
        matches!(e, Error::Timeout { .. }) && e.is_transient(),
        "{e}"
    );
    assert_eq!(pool.stats().checkout_timeouts, 1);
    drop(lease);
    assert_eq!(pool.stats().idle, 1);
}

/// No session sent a MAIL after the server's `421` (a transaction on a connection
/// after its `421`; commands pipelined with the refused MAIL are the same
/// transaction).
fn assert_no_mail_after_421(sessions: &[smtp_server::testing::SessionRecord]) {
    for r in sessions {
        let lines = r.transcript.lines();
        let Some(at) =
            (lines.iter()).position(|l| l.side == Side::Server && l.text.starts_with("421"))
        else {
            continue;
        };
        let mail = lines[at..]
            .iter()
            .any(|l| l.side == Side::Client && l.text.to_ascii_uppercase().starts_with("MAIL"));
        assert!(!mail, "{lines:?}");
    }
}

/// Moves tokio's clock forward by `d` at once (paused, advanced, resumed).
async fn skip(d: Duration) {
    tokio::time::pause();
    tokio::time::advance(d).await;
    tokio::time::resume();
}

/// 1,000 messages from 8 tasks through one pool to two servers, one of which answers
/// `421` to every 100th MAIL: every message is delivered exactly once or reported
/// transient, and no connection is used after its `421`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_from_eight_tasks_to_two_servers() {
    let steady = server(&[]).await;
    let flaky = server(&["mail:every=100=421 4.3.2 Try again later"]).await;
    let dests = [
        dest(&steady, TlsPolicy::Verify),
        dest(&flaky, TlsPolicy::Verify),
    ];
    let pool = Pool::new(PoolOptions::default());
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (pool, dests) = (pool.clone(), dests.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for k in 0..125 {
                let n = t * 125 + k;
                let r = pool
                    .send(&dests[n % 2], env(&["b@example.test"]), msg(n))
                    .await;
                out.push((n, r));
            }
            out
        }));
    }
    let mut delivered = BTreeSet::new();
    let mut transient = 0;
    for t in tasks {
        for (n, r) in t.await.unwrap() {
            match r {
                Ok(d) => {
                    assert!(d.all_delivered(), "{d}");
                    delivered.insert(n);
                }
                Err(e) => {
                    assert!(e.is_transient(), "message {n}: {e}");
                    assert_eq!(e.reply().map(|r| r.code().get()), Some(421), "{e}");
                    transient += 1;
                }
            }
        }
    }
    assert_eq!(delivered.len() + transient, 1000);
    assert_eq!(transient, 5, "every 100th of the flaky server's 500 MAILs");
    let s = pool.stats();
    assert_eq!(s.retired(Retired::Reply421), 5, "{s:?}");
    // Each delivered message arrived once, and nothing else did.
    let mut got: Vec<String> = (steady.messages().into_iter())
        .chain(flaky.messages())
        .map(|m| m.header("Subject").unwrap())
        .collect();
    got.sort();
    let mut want: Vec<String> = delivered.iter().map(|n| format!("m{n}")).collect();
    want.sort();
    assert_eq!(got, want);
    // No session said anything after its 421.
    pool.close_idle().await;
    let sessions = flaky
        .wait_for_sessions(|s| s.len() >= 5, WAIT)
        .await
        .unwrap();
    assert_no_mail_after_421(&sessions);
}

/// Each way a connection ends is counted under its reason, and the next send opens a
/// new one: a reply timeout, a protocol error (a malformed reply), a message abandoned
/// half-sent (a streamed body with an undeclared 8-bit byte), through a lease.
#[tokio::test]
async fn timeouts_protocol_errors_and_abandoned_bodies_retire() {
    let server = server(&["rcpt:nth=1=delay=3600s", "eod:nth=1=malformed"]).await;
    let trust = TrustAnchors::empty()
        .add_pem(server.ca_pem().as_bytes())
        .unwrap();
    let mut o = ClientOptions::new("client.test", TlsPolicy::None).with_trust(trust);
    o.timeouts.rcpt = Duration::from_millis(300);
    let d = Destination::new(format!("localhost:{}", server.addr().port()), o);
    let pool = Pool::new(PoolOptions::default());
    let e = pool
        .send(&d, env(&["b@example.test"]), msg(0))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    let e = pool
        .send(&d, env(&["b@example.test"]), msg(1))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    {
        let mut lease = pool.checkout(&d).await.unwrap();
        let body: &[u8] = b"Subject: x\r\n\r\n8-bit \xc3\xbc\r\n";
        let e = lease
            .send_reader(env(&["b@example.test"]), body)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Body(_)), "{e}");
    }
    pool.send(&d, env(&["b@example.test"]), msg(2))
        .await
        .unwrap();
    let s = pool.stats();
    assert_eq!(s.retired(Retired::Timeout), 1, "{s:?}");
    assert_eq!(s.retired(Retired::Protocol), 1, "{s:?}");
    assert_eq!(s.retired(Retired::Abandoned), 1, "{s:?}");
    assert_eq!(s.opened, 4, "{s:?}");
}

/// `max_total` reached: the idle connection of another destination that has rested
/// longest is closed to make room.
#[tokio::test]
async fn a_full_pool_evicts_an_idle_connection_of_another_destination() {
    let (a, b) = (server(&[]).await, server(&[]).await);
    let mut o = PoolOptions::default();
    o.max_total = 1;
    let pool = Pool::new(o);
    let (da, db) = (dest(&a, TlsPolicy::Verify), dest(&b, TlsPolicy::Verify));
    pool.send(&da, env(&["x@example.test"]), msg(0))
        .await
        .unwrap();
    pool.send(&db, env(&["x@example.test"]), msg(1))
        .await
        .unwrap();
    let s = pool.stats();
    assert_eq!((s.opened, s.open, s.idle), (2, 1, 1), "{s:?}");
    assert_eq!(s.retired(Retired::Evicted), 1, "{s:?}");
    assert_eq!(
        a.wait_for_sessions(|s| s.len() == 1, WAIT)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A streamed body through the pool: sent once, and the connection kept.
#[tokio::test]
async fn a_streamed_message_goes_through_the_pool() {
    let server = server(&[]).await;
    let d = dest(&server, TlsPolicy::Verify);
    let pool = Pool::new(PoolOptions::default());
    let body: &[u8] = b"Subject: streamed\r\n\r\nhello\r\n";
    let delivery = pool
        .send_reader(&d, env(&["b@example.test"]), body)
        .await
        .unwrap();
    assert!(delivery.all_delivered(), "{delivery}");
    pool.send(&d, env(&["b@example.test"]), msg(1))
        .await
        .unwrap();
    assert_eq!((pool.stats().opened, pool.stats().reused), (1, 1));
    let got = server.wait_for(|m| m.len() == 2, WAIT).await.unwrap();
    assert_eq!(got[0].header("Subject").as_deref(), Some("streamed"));
}
