//! `smtp-sink` names each message once: the `id` of its `Received:` header, the queue
//! id in its `250` reply and the name of the stored file are the same identifier, and
//! no two messages share one (also across a restart).

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use support::temp_dir;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Sends `n` messages on one plaintext session; returns each `queued as` id.
async fn send(sink: &Sink, n: usize) -> Vec<String> {
    let mut c = TcpStream::connect(sink.addrs[0]).await.unwrap();
    read_until(&mut c, "220 ").await;
    c.write_all(b"EHLO client.test\r\n").await.unwrap();
    read_until(&mut c, "250 ").await;
    let mut ids = Vec::new();
    for i in 0..n {
        let msg = format!(
            "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n\
             Subject: {i}\r\n\r\nbody\r\n.\r\n"
        );
        c.write_all(msg.as_bytes()).await.unwrap();
        let got = read_until(&mut c, "queued as ").await;
        let got = if got.ends_with("\r\n") {
            got
        } else {
            got + &read_until(&mut c, "\r\n").await
        };
        let line = got.lines().find(|l| l.contains("queued as ")).unwrap();
        assert!(line.starts_with("250 2.0.0 Ok: queued as "), "{line}");
        ids.push(line.rsplit(' ').next().unwrap().to_owned());
    }
    c.write_all(b"QUIT\r\n").await.unwrap();
    read_until(&mut c, "221 ").await;
    ids
}

#[tokio::test]
async fn the_received_id_the_queue_id_and_the_file_name_are_one_identifier() {
    let dir = temp_dir("sink-ids");
    let mail = dir.join("mail");
    let sink = Sink::start(&["--out", &s(&mail)]).await;
    let mut ids = send(&sink, 2).await;
    sink.stop().await;
    // A restarted sink never reuses an id.
    let sink = Sink::start(&["--out", &s(&mail)]).await;
    ids.extend(send(&sink, 1).await);
    sink.stop().await;

    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "{ids:?}");
    for id in &ids {
        // An RFC 5322 atom: letters and digits only.
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        let file = mail.join(format!("{id}.eml"));
        let m = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        let header_end = m.find(";\r\n").unwrap();
        let received = &m[..header_end];
        assert!(received.starts_with("Received: from "), "{m}");
        assert!(
            received.contains(&format!(" id {id}\r\n")) || received.ends_with(&format!(" id {id}")),
            "{received}"
        );
    }
    assert_eq!(files(&mail).len(), 3);
}
