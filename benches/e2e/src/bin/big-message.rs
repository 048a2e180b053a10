//! big-message: sends one large message (default 100 MiB) through our client, in
//! plaintext, streamed from a generator (never held in memory), so that the receiving
//! server's peak memory (VmHWM) can be read afterwards.
//!
//! ```text
//! big-message --addr 127.0.0.1:PORT [--mib 100]
//! ```
//!
//! Prints `big.bytes`, `big.seconds` and `big.mib_per_s` result lines. The server must
//! accept a message that large (smtp-sink `--max-size`).

use clap::Parser;
use smtp_e2e::{SERVER_NAME, envelope, our_options, result};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

#[derive(Parser)]
#[command(name = "big-message")]
struct Args {
    #[arg(long)]
    addr: SocketAddr,
    /// Size of the message body in MiB (CRLF lines of 76 characters).
    #[arg(long, default_value_t = 100)]
    mib: usize,
}

/// `left` bytes of 78-byte lines (76 characters and CRLF), from a repeated block.
struct Lines {
    block: Vec<u8>,
    pos: usize,
    left: usize,
}

impl Lines {
    fn new(size: usize) -> Self {
        let line: Vec<u8> = (0..76u8).map(|i| b'A' + (i % 26)).chain(*b"\r\n").collect();
        let block = line.repeat(840); // 65,520 bytes
        let left = size / line.len() * line.len();
        Self {
            block,
            pos: 0,
            left,
        }
    }
}

impl AsyncRead for Lines {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = buf
            .remaining()
            .min(self.left)
            .min(self.block.len() - self.pos);
        let pos = self.pos;
        buf.put_slice(&self.block[pos..pos + n]);
        self.pos = (pos + n) % self.block.len();
        self.left -= n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let header = format!(
        "From: <{}>\r\nTo: <{}>\r\nSubject: one large message\r\n\r\n",
        smtp_e2e::FROM,
        smtp_e2e::TO
    );
    let body = Lines::new(args.mib * 1024 * 1024);
    let bytes = header.len() + body.left;
    let reader = std::io::Cursor::new(header.into_bytes()).chain(body);
    let start = Instant::now();
    let mut conn =
        smtp_client::Connection::connect_addr(args.addr, SERVER_NAME, our_options(None, true))
            .await
            .expect("connect");
    let delivery = conn.send_reader(envelope(), reader).await.expect("send");
    let seconds = start.elapsed().as_secs_f64();
    let _ = conn.quit().await;
    eprintln!("big-message: {delivery}");
    result("big.bytes", bytes);
    result("big.seconds", format!("{seconds:.2}"));
    result(
        "big.mib_per_s",
        format!("{:.0}", bytes as f64 / seconds / 1048576.0),
    );
}
