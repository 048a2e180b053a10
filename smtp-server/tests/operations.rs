//! Operations: certificate reload during live sessions, SNI, graceful shutdown,
//! timeouts (on tokio's paused clock), the PROXY protocol, refusal at connect.

mod support;

use smtp_server::proto::ServerOptions;
use smtp_server::{Listener, ListenerKind, Server, Timeouts, TlsBuilder};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn certificate_reload_applies_to_new_handshakes_only() {
    let old = Pki::localhost();
    let new = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &old, options())).await;
    // A session encrypted with the old certificate...
    let mut live = Raw::connect(srv.addr()).await;
    live.hello().await;
    let mut live = live.starttls(&old, "localhost").await;
    live.cmd("EHLO client.test").await;
    // ...survives the reload.
    srv.handle.tls().unwrap().reload_from(&new.tls());
    assert!(
        live.message("a@x.test", &["b@y.test"], "hi")
            .await
            .starts_with("250")
    );
    // New handshakes get the new certificate: a client trusting only the new CA works.
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    let mut c = c.starttls(&new, "localhost").await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    // ...and one trusting only the old CA fails to verify.
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    assert!(c.cmd("STARTTLS").await.starts_with("220"));
    let r = tokio_rustls::TlsConnector::from(old.client_config())
        .connect("localhost".try_into().unwrap(), c.io)
        .await;
    assert!(r.is_err());
    live.cmd("QUIT").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn certificates_are_chosen_by_sni() {
    let main = Pki::localhost();
    let other = Pki::new(&["other.test"]);
    let tls = TlsBuilder::new()
        .certificate_pem(main.cert_pem.as_bytes(), main.key_pem.as_bytes())
        .unwrap()
        .sni_certificate_pem(
            "OTHER.test",
            other.cert_pem.as_bytes(),
            other.key_pem.as_bytes(),
        )
        .unwrap()
        .build()
        .unwrap();
    let rec = Recorder::default();
    let b = Server::builder(options(), rec.clone())
        .listener(Listener::implicit_tls(local()))
        .tls(tls);
    let srv = start(b).await;
    let mut c = Raw::connect_tls(srv.addr(), &other, "other.test").await;
    c.hello().await;
    let mut d = Raw::connect_tls(srv.addr(), &main, "localhost").await;
    d.hello().await;
    drop((c, d));
    srv.shutdown().await;
}

#[tokio::test]
async fn client_certificates_reach_the_handler() {
    let pki = Pki::localhost();
    let client = Pki::new(&["client.test"]);
    let tls = TlsBuilder::new()
        .certificate_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
        .unwrap()
        .client_auth_pem(client.ca_pem.as_bytes(), false)
        .unwrap()
        .build()
        .unwrap();
    let rec = Recorder::default();
    let b = Server::builder(options(), rec.clone())
        .listener(Listener::implicit_tls(local()))
        .tls(tls);
    let srv = start(b).await;
    let s = tokio::net::TcpStream::connect(srv.addr()).await.unwrap();
    let io = tokio_rustls::TlsConnector::from(pki.client_config_with_cert(&client))
        .connect("localhost".try_into().unwrap(), s)
        .await
        .unwrap();
    let mut c = Raw::from_stream(Box::new(io));
    c.hello().await;
    c.cmd("QUIT").await;
    // A client without a certificate may still connect (not required).
    let mut d = Raw::connect_tls(srv.addr(), &pki, "localhost").await;
    d.hello().await;
    d.cmd("QUIT").await;
    srv.shutdown().await;
    let certs = rec.log.lock().unwrap().client_certs.clone();
    assert_eq!(certs, vec![(1, true), (0, false)]);
}

#[tokio::test]
async fn tls_versions_are_configurable() {
    let pki = Pki::localhost();
    let tls = TlsBuilder::new()
        .versions(&[&rustls::version::TLS12])
        .certificate_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let rec = Recorder::default();
    let b = Server::builder(options(), rec.clone())
        .listener(Listener::starttls(local()))
        .tls(tls);
    let srv = start(b).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    let mut c = c.starttls(&pki, "localhost").await;
    c.cmd("EHLO client.test").await;
    c.cmd("QUIT").await;
    srv.shutdown().await;
    assert!(
        rec.events()
            .contains(&"hello Ehlo client.test TLSv1.2".to_string())
    );
}

#[tokio::test]
async fn shutdown_closes_idle_sessions_and_lets_transactions_finish() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let mut srv = start(builder(&rec, &pki, options())).await;
    let addr = srv.addr();
    let mut idle = Raw::connect(addr).await;
    idle.hello().await;
    let mut busy = Raw::connect(addr).await;
    busy.hello().await;
    assert!(busy.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    srv.begin_shutdown();
    let r = idle.reply().await.unwrap();
    assert!(r.starts_with("421 4.3.2 "), "{r}");
    assert!(idle.closed().await);
    // The transaction in progress completes, then the session is closed.
    assert!(busy.cmd("RCPT TO:<b@y.test>").await.starts_with("250"));
    assert!(busy.cmd("DATA").await.starts_with("354"));
    busy.send("hi\r\n.\r\n").await;
    assert!(busy.reply().await.unwrap().starts_with("250"));
    assert!(busy.reply().await.unwrap().starts_with("421 4.3.2 "));
    srv.join().await;
    assert_eq!(rec.messages().len(), 1);
    // The listener is gone.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_grace_ends_with_421_for_everyone() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let b = builder(&rec, &pki, options()).shutdown_grace(Duration::from_millis(50));
    let mut srv = start(b).await;
    let mut busy = Raw::connect(srv.addr()).await;
    busy.hello().await;
    assert!(busy.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    srv.begin_shutdown();
    let r = busy.reply().await.unwrap();
    assert!(r.starts_with("421 4.3.2 "), "{r}");
    srv.join().await;
    assert!(rec.events().contains(&"reset".to_string()));
}

/// A server whose only connection is an in-memory pipe, on the paused clock.
async fn piped(timeouts: Timeouts) -> (tokio::io::DuplexStream, tokio::task::JoinHandle<()>) {
    piped_with(options(), timeouts).await
}

async fn piped_with(
    opts: ServerOptions,
    timeouts: Timeouts,
) -> (tokio::io::DuplexStream, tokio::task::JoinHandle<()>) {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let server = builder(&rec, &pki, opts)
        .timeouts(timeouts)
        .bind()
        .await
        .unwrap();
    let (client, server_end) = tokio::io::duplex(64 * 1024);
    let task = tokio::spawn(async move {
        let a = "127.0.0.1:2525".parse().unwrap();
        server
            .serve_connection(server_end, a, a, ListenerKind::StartTls)
            .await;
    });
    (client, task)
}

async fn read_all(io: &mut tokio::io::DuplexStream) -> String {
    let mut v = Vec::new();
    io.read_to_end(&mut v).await.unwrap();
    String::from_utf8(v).unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_idle_client_gets_421_after_the_command_timeout() {
    let (mut c, task) = piped(Timeouts::default()).await;
    let start = tokio::time::Instant::now();
    c.write_all(b"EHLO client.test\r\n").await.unwrap();
    let all = read_all(&mut c).await;
    assert!(
        all.ends_with("421 4.4.2 Timeout exceeded, closing connection\r\n"),
        "{all}"
    );
    // RFC 5321 §4.5.3.2.7: five minutes.
    assert_eq!(start.elapsed().as_secs(), 300);
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_configurable_and_cover_the_body() {
    let t = Timeouts {
        command: Duration::from_secs(30),
        ..Timeouts::default()
    };
    let (mut c, task) = piped(t).await;
    let start = tokio::time::Instant::now();
    c.write_all(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .await
        .unwrap();
    c.write_all(b"half a body").await.unwrap();
    let all = read_all(&mut c).await;
    assert!(all.contains("354 "), "{all}");
    assert!(
        all.ends_with("421 4.4.2 Timeout exceeded, closing connection\r\n"),
        "{all}"
    );
    assert_eq!(start.elapsed().as_secs(), 30);
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_trickling_client_cannot_stretch_the_command_timeout() {
    // One byte every 10 s: every read comes well within the 30 s timeout, but the
    // command line is not complete within it. One deadline per command, not per read.
    let t = Timeouts {
        command: Duration::from_secs(30),
        ..Timeouts::default()
    };
    let (mut c, task) = piped(t).await;
    let start = tokio::time::Instant::now();
    c.write_all(b"EHLO c.test\r\n").await.unwrap();
    for b in b"NOOP trickled\r\n" {
        if c.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let all = read_all(&mut c).await;
    assert!(
        all.ends_with("421 4.4.2 Timeout exceeded, closing connection\r\n"),
        "{all}"
    );
    assert!(!all.contains("250 2.0.0 Ok"), "{all}");
    task.await.unwrap();
    assert!(start.elapsed() >= Duration::from_secs(30));
    // A body block is timed the same way: 64 KiB (or the end) per timeout.
    let (mut c, task) = piped(t).await;
    c.write_all(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .await
        .unwrap();
    for _ in 0..20 {
        if c.write_all(b"x").await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let all = read_all(&mut c).await;
    assert!(
        all.ends_with("421 4.4.2 Timeout exceeded, closing connection\r\n"),
        "{all}"
    );
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_slow_body_that_keeps_coming_is_not_cut_off_even_when_drained() {
    // 16 KiB every 5 s: each 64 KiB block within the 30 s timeout, the whole body
    // (256 KiB, 80 s) well past it. Kept (accepted) and drained (over the size limit,
    // refused after its end) alike.
    let t = Timeouts {
        command: Duration::from_secs(30),
        ..Timeouts::default()
    };
    for (max, want) in [(10_240_000, "250 "), (1000, "552 5.3.4")] {
        let mut o = options();
        o.max_message_size = max;
        let (mut c, task) = piped_with(o, t).await;
        c.write_all(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
            .await
            .unwrap();
        let line = [&[b'x'; 1022][..], b"\r\n"].concat();
        for _ in 0..16 {
            for _ in 0..16 {
                c.write_all(&line).await.unwrap();
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        c.write_all(b".\r\nQUIT\r\n").await.unwrap();
        let all = read_all(&mut c).await;
        let last = all.lines().rev().nth(1).unwrap_or_default().to_string();
        assert!(last.starts_with(want), "{max}: {last}");
        assert!(all.ends_with("221 2.0.0 Bye\r\n"), "{all}");
        task.await.unwrap();
    }
}

#[tokio::test]
async fn proxy_protocol_gives_the_real_client_address() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let b = Server::builder(options(), rec.clone())
        .listener(Listener::starttls(local()).proxy_protocol(true))
        .tls(pki.tls());
    let srv = start(b).await;
    let mut c = Raw::connect(srv.addr()).await;
    // The header and the first command in one segment: the command is not lost.
    c.send("PROXY TCP4 192.0.2.1 192.0.2.2 40000 25\r\nEHLO client.test\r\n")
        .await;
    assert!(c.reply().await.unwrap().starts_with("220 "));
    assert!(c.reply().await.unwrap().starts_with("250-"));
    let r = c.message("a@x.test", &["b@y.test"], "hi").await;
    assert!(r.starts_with("250"), "{r}");
    c.cmd("QUIT").await;
    // Without a header the connection is dropped before any greeting.
    let mut bad = Raw::connect(srv.addr()).await;
    bad.send("EHLO client.test\r\n").await;
    assert!(bad.closed().await);
    srv.shutdown().await;
    assert_eq!(rec.events()[0], "connect 192.0.2.1");
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.contains("[192.0.2.1]"), "{m}");
}

#[tokio::test]
async fn proxy_protocol_v2_before_implicit_tls() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let b = Server::builder(options(), rec.clone())
        .listener(Listener::implicit_tls(local()).proxy_protocol(true))
        .tls(pki.tls());
    let srv = start(b).await;
    let client: std::net::SocketAddr = "[2001:db8::7]:40000".parse().unwrap();
    let dest: std::net::SocketAddr = "[2001:db8::1]:465".parse().unwrap();
    // The binary header goes in clear, then the TLS handshake starts.
    let mut s = tokio::net::TcpStream::connect(srv.addr()).await.unwrap();
    s.write_all(&smtp_proto::proxy::encode_v2(Some((client, dest))))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(pki.client_config())
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            s,
        )
        .await
        .unwrap();
    let mut c = Raw::from_stream(Box::new(tls));
    c.hello().await;
    let r = c.message("a@x.test", &["b@y.test"], "hi").await;
    assert!(r.starts_with("250"), "{r}");
    c.cmd("QUIT").await;
    // A LOCAL header (a health check) keeps the proxy's own address.
    let mut s = tokio::net::TcpStream::connect(srv.addr()).await.unwrap();
    s.write_all(&smtp_proto::proxy::encode_v2(None))
        .await
        .unwrap();
    drop(s);
    srv.shutdown().await;
    assert_eq!(rec.events()[0], "connect 2001:db8::7");
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.contains("[IPv6:2001:db8::7]"), "{m}");
}

#[tokio::test]
async fn the_handler_can_refuse_a_connection() {
    let pki = Pki::localhost();
    let rec = Recorder {
        refuse: true,
        ..Recorder::default()
    };
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    assert_eq!(c.reply().await.unwrap(), "554 5.7.1 Go away\r\n");
    assert!(c.closed().await);
    let handle = srv.handle.clone();
    srv.shutdown().await;
    assert_eq!(handle.stats().connections_refused, 1);
}
