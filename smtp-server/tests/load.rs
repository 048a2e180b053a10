//! Load on 127.0.0.1, bounded in count and time: a thousand slow connections held open
//! while a normal client delivers a thousand messages. Every message is delivered, the
//! slow connections are closed by the command deadline, and memory stays bounded.

mod support;

use smtp_server::{ConnectionLimits, Timeouts};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SLOW: usize = 1000;
const MESSAGES: usize = 20;
/// Parallel connections of the normal client, each sending its share of messages.
const SENDERS: usize = 10;

/// Raises this process's open-file limit to its hard limit (2,000+ sockets are needed:
/// both ends of every connection live in this process). `prlimit` is util-linux's.
fn raise_fd_limit() {
    let pid = std::process::id().to_string();
    let out = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid,
            "--nofile",
            "--raw",
            "--noheadings",
            "-o",
            "HARD",
        ])
        .output()
        .expect("prlimit (util-linux) runs");
    let hard = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "could not raise the fd limit to {hard}");
    let hard: u64 = hard.parse().unwrap_or(u64::MAX);
    assert!(
        hard >= 4 * SLOW as u64,
        "the hard open-file limit ({hard}) is too low for this test: raise it (ulimit -Hn)"
    );
}

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A client that greets, then either sends nothing or one byte a second, until the
/// server closes. Returns the server's last bytes.
async fn slow_client(addr: std::net::SocketAddr, trickle: bool) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut greeting = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut greeting))
        .await
        .expect("greeted within 30 s")
        .unwrap();
    assert!(greeting[..n].starts_with(b"220 "));
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    let mut bytes = b"EHLO slowly.example\r\n".iter().cycle();
    loop {
        let read = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) if trickle => {
                if s.write_all(&[*bytes.next().unwrap()]).await.is_err() {
                    return got;
                }
            }
            Err(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_never_stop_delivery_and_are_closed_by_the_deadline() {
    raise_fd_limit();
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let timeouts = Timeouts {
        command: Duration::from_secs(3),
        ..Timeouts::default()
    };
    let b = builder(&rec, &pki, options())
        .timeouts(timeouts)
        .limits(ConnectionLimits {
            max_connections: SLOW + SENDERS + 10,
            max_per_ip: SLOW + SENDERS + 10,
        });
    let srv = start(b).await;
    let addr = srv.addr();
    let rss_before = rss_kib();

    let slow: Vec<_> = (0..SLOW)
        .map(|i| tokio::spawn(slow_client(addr, i % 2 == 0)))
        .collect();
    // Let the slow ones connect and greet before the normal client starts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let senders: Vec<_> = (0..SENDERS)
        .map(|k| {
            tokio::spawn(async move {
                let mut c = Raw::connect(addr).await;
                c.hello().await;
                for i in 0..MESSAGES / SENDERS {
                    let body = format!("Subject: load {k}/{i}\r\n\r\nmessage {k}/{i}");
                    let r = c.message("a@x.test", &["b@y.test"], &body).await;
                    assert!(r.starts_with("250 "), "{r}");
                }
                assert!(c.cmd("QUIT").await.starts_with("221"));
            })
        })
        .collect();
    let mut peak = rss_kib();
    for s in senders {
        s.await.unwrap();
        peak = peak.max(rss_kib());
    }
    // Every slow client is closed by the server, with the 421 of RFC 5321 §4.5.3.2.
    let mut timed_out = 0;
    let mut stuck = 0;
    for s in slow {
        let Ok(got) = tokio::time::timeout(Duration::from_secs(30), s).await else {
            stuck += 1;
            continue;
        };
        let got = got.unwrap();
        peak = peak.max(rss_kib());
        if String::from_utf8_lossy(&got).contains("421 4.4.2") {
            timed_out += 1;
        } else {
            println!("slow client got {:?}", String::from_utf8_lossy(&got));
        }
    }
    assert_eq!(stuck, 0, "slow connections never closed");
    let handle = srv.handle.clone();
    srv.shutdown().await;

    let messages = rec.messages();
    assert_eq!(messages.len(), MESSAGES);
    assert_eq!(timed_out, SLOW);
    assert_eq!(handle.stats().messages_accepted, MESSAGES as u64);
    // Both ends of 2,000 connections and the whole run in this process: the growth is
    // a few KiB per connection, far from unbounded.
    let growth = peak.saturating_sub(rss_before);
    println!("RSS before {rss_before} KiB, peak {peak} KiB, growth {growth} KiB");
    assert!(growth < 256 * 1024, "memory grew by {growth} KiB");
}
