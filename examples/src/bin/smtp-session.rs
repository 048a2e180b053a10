//! Runs smtp-proto's server session over a scripted client: stdin is the client's bytes,
//! a form feed (`\f`) marks where one network read ends. Prints what the server sends
//! (`S:`), what the application is told (`event:`), and typed errors. Every decision is
//! "accept"; a STARTTLS handshake is simulated.
//!
//! ```sh
//! printf 'EHLO c\r\nSTARTTLS\r\n\fEHLO c\r\nQUIT\r\n' | cargo run -p smtp-examples --bin smtp-session
//! ```

use smtp_proto::{Output, ServerEvent, ServerOptions, ServerSession, TlsInfo, TransportSecurity};
use std::io::Read;

fn main() {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("smtp-session: reading stdin: {e}");
        std::process::exit(2);
    }
    let opts = ServerOptions::new("mx.example.com".parse().expect("a valid hostname"));
    let mut s = ServerSession::new(opts, TransportSecurity::Plain);
    let mut reads = input.split(|&b| b == b'\x0c');
    loop {
        match s.poll() {
            Ok(Output::Transmit(bytes)) => {
                for line in String::from_utf8_lossy(&bytes).split_terminator("\r\n") {
                    println!("S: {line}");
                }
            }
            Ok(Output::Event(ev)) => {
                match &ev {
                    ServerEvent::Body(b) => {
                        println!("event: Body({:?})", String::from_utf8_lossy(b))
                    }
                    other => println!("event: {other:?}"),
                }
                let _ = s.accept();
            }
            Ok(Output::NeedInput) => match reads.next() {
                Some(chunk) => {
                    for line in String::from_utf8_lossy(chunk).split_inclusive('\n') {
                        println!("C: {}", line.escape_debug());
                    }
                    s.feed(chunk);
                }
                None => s.feed_eof(),
            },
            Ok(Output::StartTls(token)) => {
                println!("-- TLS handshake (simulated) --");
                let info = TlsInfo::new("TLSv1.3", "TLS_AES_256_GCM_SHA384").expect("valid");
                if let Err(e) = s.tls_established(token, info) {
                    println!("error: {e}");
                }
            }
            Ok(Output::Close) => {
                println!("-- connection closed --");
                break;
            }
            Err(e) => println!("error: {e}"),
        }
    }
}
