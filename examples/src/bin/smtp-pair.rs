//! Runs smtp-proto's client session against its server session in memory, printing the
//! transcript: what each side writes, and what each application is told. The TLS
//! handshake is simulated; `--strip-starttls` plays a man in the middle who deletes
//! STARTTLS from the EHLO reply; `--policy none|may|encrypt|verify` sets the client's
//! TLS policy (default `encrypt`).
//!
//! ```sh
//! cargo run -p smtp-examples --bin smtp-pair -- --strip-starttls --policy encrypt
//! ```

use smtp_proto::client::policy::TlsPolicy;
use smtp_proto::client::{ClientEvent, ClientOptions, ClientSession, Envelope};
use smtp_proto::{Output, ServerOptions, ServerSession, TlsInfo, TransportSecurity};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let strip = args.iter().any(|a| a == "--strip-starttls");
    let policy = match args
        .iter()
        .position(|a| a == "--policy")
        .and_then(|i| args.get(i + 1))
    {
        Some(p) if p == "none" => TlsPolicy::None,
        Some(p) if p == "may" => TlsPolicy::May,
        Some(p) if p == "verify" => TlsPolicy::Verify,
        _ => TlsPolicy::Encrypt,
    };
    let info = || {
        TlsInfo::new("TLSv1.3", "TLS_AES_256_GCM_SHA384")
            .expect("valid")
            .with_peer_verified(true)
    };
    let mut server = ServerSession::new(
        ServerOptions::new("mx.example.com".parse().expect("valid")),
        TransportSecurity::Plain,
    );
    let mut copts = ClientOptions::new("client.example.org", "mx.example.com", "example.com");
    copts.tls_policy = policy;
    let mut client = ClientSession::new(copts, TransportSecurity::Plain);
    let mut to_server: Vec<u8> = Vec::new();
    let mut to_client: Vec<u8> = Vec::new();
    let (mut server_tls, mut client_tls) = (None, None);
    let mut sent = false;
    let (mut server_done, mut client_done) = (false, false);
    while !(server_done && client_done) {
        let mut progress = false;
        // A binding does not poll while its handshake runs.
        if !client_done && client_tls.is_none() {
            match client.poll() {
                Ok(Output::Transmit(b)) => {
                    for l in String::from_utf8_lossy(&b).split_terminator("\r\n") {
                        println!("C: {l}");
                    }
                    to_server.extend_from_slice(&b);
                    progress = true;
                }
                Ok(Output::Event(ev)) => {
                    progress = true;
                    match ev {
                        ClientEvent::Ready { tls, .. } => {
                            println!("   client: ready, {tls}");
                            if sent {
                                let _ = client.quit();
                            } else {
                                sent = true;
                                let env =
                                    Envelope::new("<alice@example.org>", ["<bob@example.com>"])
                                        .expect("valid");
                                if let Err(e) = client.send(env) {
                                    println!("   client: {e}");
                                }
                            }
                        }
                        ClientEvent::SendBody => {
                            let _ = client.body(b"Subject: hello\n\nHi Bob.\n.\n");
                            let _ = client.end_body();
                        }
                        ClientEvent::Done(r) => {
                            println!("   client: delivered = {}", r.delivered());
                            let _ = client.quit();
                        }
                        other => println!("   client: {other:?}"),
                    }
                }
                Ok(Output::NeedInput) if !to_client.is_empty() => {
                    client.feed(&std::mem::take(&mut to_client));
                    progress = true;
                }
                Ok(Output::NeedInput) => {}
                Ok(Output::StartTls(t)) => client_tls = Some(t),
                Ok(Output::Close) => client_done = true,
                Err(e) => {
                    println!("   client error: {e}");
                    progress = true;
                }
            }
        }
        if !server_done && server_tls.is_none() {
            match server.poll() {
                Ok(Output::Transmit(b)) => {
                    let mut text = String::from_utf8_lossy(&b).into_owned();
                    if strip && text.contains("250-STARTTLS\r\n") {
                        text = text.replace("250-STARTTLS\r\n", "");
                        println!("   (a man in the middle deletes 250-STARTTLS)");
                    }
                    for l in text.split_terminator("\r\n") {
                        println!("S: {l}");
                    }
                    to_client.extend_from_slice(text.as_bytes());
                    progress = true;
                }
                Ok(Output::Event(ev)) => {
                    if !matches!(ev, smtp_proto::ServerEvent::Body(_)) {
                        println!("   server: {ev:?}");
                    }
                    let _ = server.accept();
                    progress = true;
                }
                Ok(Output::NeedInput) if !to_server.is_empty() => {
                    server.feed(&std::mem::take(&mut to_server));
                    progress = true;
                }
                Ok(Output::NeedInput) if client_done => server.feed_eof(),
                Ok(Output::NeedInput) => {}
                Ok(Output::StartTls(t)) => server_tls = Some(t),
                Ok(Output::Close) => server_done = true,
                Err(e) => {
                    println!("   server error: {e}");
                    progress = true;
                }
            }
        }
        if server_tls.is_some()
            && client_tls.is_some()
            && let (Some(s), Some(c)) = (server_tls.take(), client_tls.take())
        {
            println!("   -- TLS handshake (simulated): TLSv1.3 TLS_AES_256_GCM_SHA384 --");
            server.tls_established(s, info()).expect("server upgrade");
            if let Err(e) = client.tls_established(c, info()) {
                println!("   client error: {e}");
            }
            progress = true;
        }
        if client_done && server_done {
            break;
        }
        if !progress && client_done && !server_done {
            server.feed_eof();
        } else if !progress && !client_done && server_done {
            client.feed_eof();
        } else if !progress {
            println!("   (stuck)");
            break;
        }
    }
}
