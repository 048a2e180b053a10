//! quickack-sink: our smtp-server as a discarding sink, like smtp-sink, except that
//! every socket asks for immediate ACKs (`TCP_QUICKACK`, re-armed after each read and
//! write, since Linux leaves quick-ACK mode by itself).
//!
//! ```text
//! quickack-sink --listen 127.0.0.1:PORT --cert cert.pem --key key.pem
//! ```
//!
//! Why: a client that leaves Nagle's algorithm on (lettre) and writes a message in two
//! pieces (the body, then `CRLF.CRLF`) holds the second piece until the first is
//! acknowledged; a receiver that delays its ACK (it has no reply to send before the end
//! of the data) makes every message wait for the delayed-ACK timer, about 40 ms on
//! Linux. Against smtp-sink (ours or Postfix's) such a client is capped near 25
//! messages/s whatever its own speed. Against this sink it is not, so the client
//! benchmark can show both. The protocol code is the same as smtp-sink's: smtp-server,
//! default options, STARTTLS with the given certificate, bodies read and dropped.

use clap::Parser;
use smtp_server::{
    Body, Context, Decision, Domain, Handler, Listener, ListenerKind, Server, ServerOptions,
    Session, TlsConfig, Transaction,
};
use socket2::SockRef;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser)]
#[command(name = "quickack-sink")]
struct Args {
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
}

struct Sink;

struct Discard;

impl Handler for Sink {
    type Session = Discard;
    async fn connect(&self, _: &Context) -> Result<Discard, smtp_server::proto::Reply> {
        Ok(Discard)
    }
}

impl Session for Discard {
    async fn data(&mut self, _: &Context, _: &Transaction, body: &mut Body<'_>) -> Decision {
        loop {
            match body.next().await {
                Ok(Some(_)) => {}
                Ok(None) => return Decision::Accept,
                Err(_) => return Decision::temporary_failure(),
            }
        }
    }
}

/// A TCP stream that re-arms `TCP_QUICKACK` after every read and write.
struct QuickAck(TcpStream);

impl QuickAck {
    fn rearm(&self) {
        let _ = SockRef::from(&self.0).set_tcp_quickack(true);
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.0).poll_read(cx, buf);
        if r.is_ready() {
            self.rearm();
        }
        r
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.0).poll_write(cx, buf);
        if r.is_ready() {
            self.rearm();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let tls = TlsConfig::from_pem_files(&args.cert, &args.key).expect("certificate and key");
    let opts = ServerOptions::new(Domain::new("localhost").expect("name"));
    // The builder wants a listener; this one is never served: connections come from
    // our own accept loop through `serve_connection`.
    let server = Server::builder(opts, Sink)
        .listener(Listener::starttls("127.0.0.1:0".parse().expect("address")))
        .tls(tls)
        .bind()
        .await
        .expect("server");
    let server = Arc::new(server);
    let listener = TcpListener::bind(args.listen).await.expect("bind");
    println!("listening on {}", listener.local_addr().expect("address"));
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(args.listen);
        let server = server.clone();
        tokio::spawn(async move {
            let io = QuickAck(stream);
            io.rearm();
            server
                .serve_connection(io, peer, local, ListenerKind::StartTls)
                .await;
        });
    }
}
