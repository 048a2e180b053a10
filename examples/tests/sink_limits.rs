//! `smtp-sink --max-connections N --max-per-ip N` (for load tests): past either limit a
//! new connection gets `421 4.7.0` and is closed; one that ends frees its place.

mod common;

use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn greeting(c: &mut TcpStream) -> String {
    let mut b = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(30), c.read(&mut b))
        .await
        .expect("the sink answers")
        .unwrap();
    String::from_utf8_lossy(&b[..n]).into_owned()
}

#[tokio::test]
async fn connections_past_the_limits_get_421() {
    for flag in ["--max-per-ip", "--max-connections"] {
        let sink = Sink::start(&[flag, "1", "--quiet"]).await;
        let mut first = TcpStream::connect(sink.addrs[0]).await.unwrap();
        assert!(greeting(&mut first).await.starts_with("220 "), "{flag}");
        let mut second = TcpStream::connect(sink.addrs[0]).await.unwrap();
        let g = greeting(&mut second).await;
        assert!(g.starts_with("421 4.7.0"), "{flag}: {g}");
        first.write_all(b"QUIT\r\n").await.unwrap();
        let mut rest = Vec::new();
        let _ = first.read_to_end(&mut rest).await;
        // The place is free again (the server notices the close at once, but give it
        // a moment under load).
        let mut ok = false;
        for _ in 0..50 {
            let mut third = TcpStream::connect(sink.addrs[0]).await.unwrap();
            if greeting(&mut third).await.starts_with("220 ") {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(ok, "{flag}: a place freed by QUIT is given again");
        sink.stop().await;
    }
}
