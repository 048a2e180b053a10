//! `smtp-sink --out`: a message answered `250` is on disk whole (written, synced,
//! renamed, directory synced) before the reply; a kill at any point never leaves a
//! partial `.eml`.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use std::path::Path;
use std::time::Duration;
use support::temp_dir;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn emls(dir: &Path) -> Vec<std::path::PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect()
}

/// SIGKILL: no handler, no cleanup.
async fn kill_9(sink: Sink) {
    let pid = sink.pid().to_string();
    let k = tokio::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .await
        .unwrap();
    assert!(k.success());
    sink.wait().await;
}

#[tokio::test]
async fn a_kill_never_leaves_a_partial_message_and_a_250_is_on_disk() {
    let dir = temp_dir("sink-crash");
    let mail = dir.join("mail");
    let sink = Sink::start(&["--out", &s(&mail)]).await;
    let mut c = TcpStream::connect(sink.addrs[0]).await.unwrap();
    read_until(&mut c, "220 ").await;
    c.write_all(b"EHLO client.test\r\n").await.unwrap();
    read_until(&mut c, "250 ").await;

    // A whole message: once its 250 is read, kill at once; the file must be whole.
    let body = format!(
        "Subject: whole\r\n\r\n{}\r\nthe end\r\n",
        "x".repeat(100_000)
    );
    c.write_all(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
        .await
        .unwrap();
    read_until(&mut c, "354 ").await;
    c.write_all(body.as_bytes()).await.unwrap();
    c.write_all(b".\r\n").await.unwrap();
    let r = read_until(&mut c, "\r\n").await;
    assert!(r.starts_with("250 "), "{r}");

    // A second message, half sent, when the sink dies.
    c.write_all(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n")
        .await
        .unwrap();
    read_until(&mut c, "354 ").await;
    c.write_all(b"Subject: half\r\n\r\n").await.unwrap();
    c.write_all(&vec![b'y'; 200_000]).await.unwrap();
    // The sink has started writing it under its temporary name.
    let mut waited = 0;
    while !files(&mail)
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "tmp"))
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(
            waited < 1500,
            "no temporary file appeared: {:?}",
            files(&mail)
        );
    }
    kill_9(sink).await;

    let done = emls(&mail);
    assert_eq!(done.len(), 1, "{:?}", files(&mail));
    let stored = std::fs::read_to_string(&done[0]).unwrap();
    assert!(stored.ends_with(&body), "the accepted message is whole");
    assert!(!stored.contains("Subject: half"));

    // A restart removes the partial temporary file and keeps the message.
    let sink = Sink::start(&["--out", &s(&mail)]).await;
    assert_eq!(files(&mail), done, "only the accepted message remains");
    sink.stop().await;
}
