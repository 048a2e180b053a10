//! smtp-send: send one message with a chosen TLS policy and see exactly what happened,
//! built on `smtp-client`.
//!
//! ```text
//! smtp-send --server 127.0.0.1:2525 --from a@example.org --to b@example.com --ca ca.pem
//! ```
//!
//! Exit status: 0 everything accepted; 1 a permanent rejection; 3 the TLS policy was
//! not met; 75 a temporary failure or no connection; 2 usage.

use clap::{Parser, ValueEnum};
use serde_json::json;
use smtp_client::{
    ClientAuth, ClientOptions, Connection, Delivery, Envelope, Error, SessionReport, TlsPolicy,
};
use smtp_examples::{EXIT_OK, EXIT_PROBLEM, EXIT_TEMPFAIL, EXIT_TLS, EXIT_USAGE};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Level {
    None,
    May,
    Encrypt,
    Verify,
    Secure,
}

/// Send one message over SMTP with a chosen TLS policy.
#[derive(Parser, Debug)]
#[command(name = "smtp-send", version)]
struct Args {
    /// The server, HOST:PORT.
    #[arg(long)]
    server: String,
    /// The envelope sender (empty for the null path).
    #[arg(long, default_value = "smtp-send@localhost")]
    from: String,
    /// A recipient (repeat for more).
    #[arg(long, required = true)]
    to: Vec<String>,
    /// The message (`-` for stdin); default: a small generated test message.
    #[arg(long, value_name = "FILE")]
    data: Option<String>,
    /// The name sent in EHLO.
    #[arg(long, default_value = "localhost")]
    ehlo: String,
    /// TLS policy.
    #[arg(long, value_enum, default_value_t = Level::Verify)]
    tls: Level,
    /// TLS from the first byte (RFC 8314) instead of STARTTLS.
    #[arg(long)]
    implicit_tls: bool,
    /// Extra trust anchors (PEM), besides Mozilla's roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The name to verify (default: the host part of --server).
    #[arg(long, value_name = "NAME")]
    servername: Option<String>,
    /// Authenticate (AUTH PLAIN, or LOGIN when the server offers only that; after TLS
    /// only).
    #[arg(long, value_name = "USER:PASS")]
    auth: Option<String>,
    /// Print the whole session report as JSON instead.
    #[arg(long)]
    json: bool,
    /// Show the SMTP transcript on stderr (credentials redacted).
    #[arg(short, long)]
    verbose: bool,
    /// Seconds to wait for the server at each step.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

fn usage(msg: String) -> ExitCode {
    eprintln!("smtp-send: {msg}");
    ExitCode::from(EXIT_USAGE)
}

/// `<addr>` from `addr` or `<addr>`.
fn bracket(s: &str) -> String {
    let s = s.trim();
    if s.starts_with('<') {
        s.to_owned()
    } else {
        format!("<{s}>")
    }
}

fn generated(args: &Args) -> Vec<u8> {
    let now = std::time::SystemTime::now();
    let id = format!(
        "{}.{}@{}",
        smtp_examples::now_secs(),
        std::process::id(),
        args.ehlo
    );
    format!(
        "Date: {}\r\nMessage-ID: <{id}>\r\nFrom: {}\r\nTo: {}\r\nSubject: test message from smtp-send\r\n\r\nThis is a test message sent by smtp-send.\r\n",
        smtp_server::rfc5322_date(now),
        bracket(&args.from),
        args.to.iter().map(|t| bracket(t)).collect::<Vec<_>>().join(", "),
    )
    .into_bytes()
}

/// The exit status for an error.
fn status(e: &Error) -> u8 {
    if e.is_tls_failure() {
        EXIT_TLS
    } else if e.is_transient() {
        EXIT_TEMPFAIL
    } else {
        EXIT_PROBLEM
    }
}

/// The exit status for a refused transaction: 1 if any reply in it was permanent
/// (the sender must act), else 75 (all of it may succeed later).
fn refused_status(d: &Delivery) -> u8 {
    let permanent = d
        .mail
        .iter()
        .chain(d.recipients.iter().filter_map(|r| r.rcpt_reply.as_ref()))
        .chain(d.refused.iter())
        .chain(d.message.iter())
        .any(|r| r.is_permanent());
    if permanent {
        EXIT_PROBLEM
    } else {
        EXIT_TEMPFAIL
    }
}

/// The exit status for a delivery that reached some recipients.
fn delivery_status(d: &Delivery) -> u8 {
    let mut failed = d.failed().peekable();
    if failed.peek().is_none() {
        return EXIT_OK;
    }
    if failed.any(|r| r.reply.as_ref().is_none_or(|r| !r.is_transient())) {
        EXIT_PROBLEM
    } else {
        EXIT_TEMPFAIL
    }
}

fn print_text(report: Option<&SessionReport>, delivery: Option<&Delivery>, error: Option<&Error>) {
    if let Some(d) = delivery {
        for r in &d.recipients {
            // Its answer to RCPT (the message's reply follows on its own line).
            let reply = r
                .rcpt_reply
                .as_ref()
                .or(r.reply.as_ref())
                .map_or("(no reply)".to_owned(), |r| r.to_string());
            println!("rcpt {}: {}", r.path, reply.trim_end());
        }
        match d.message_reply() {
            Some(m) => println!("message: {}", m.to_string().trim_end()),
            None => println!("message: not sent"),
        }
    }
    if let Some(e) = error {
        println!("error: {e}");
    }
    if let Some(r) = report {
        println!("tls: {}", r.tls_line());
    }
}

fn to_json(
    args: &Args,
    report: Option<&SessionReport>,
    delivery: Option<&Delivery>,
    error: Option<&Error>,
    exit: u8,
) -> serde_json::Value {
    let reply = |r: &smtp_client::proto::Reply| r.to_string().trim_end().to_owned();
    json!({
        "server": args.server,
        "exit": exit,
        "error": error.map(|e| e.to_string()),
        "transient": error.map(Error::is_transient),
        "session": report.map(smtp_examples::report_json),
        "delivery": delivery.map(|d| json!({
            "mail": d.mail.as_ref().map(reply),
            "recipients": d.recipients.iter().map(|r| json!({
                "address": r.address,
                "rcpt": r.rcpt_reply.as_ref().map(reply),
                "reply": r.reply.as_ref().map(reply),
                "delivered": r.delivered(),
            })).collect::<Vec<_>>(),
            "refused": d.refused.as_ref().map(reply),
            "message": d.message.iter().map(reply).collect::<Vec<_>>(),
        })),
    })
}

async fn run(args: Args) -> ExitCode {
    let Some((host, _)) = smtp_examples::host_port(&args.server, 25) else {
        return usage(format!("--server {}: expected HOST:PORT", args.server));
    };
    let server_name = args.servername.clone().unwrap_or(host);
    if server_name.is_empty() {
        return usage("--servername must not be empty".into());
    }
    if let Err(e) = smtp_client::proto::Host::new(&args.ehlo) {
        return usage(format!("--ehlo {}: {e}", args.ehlo));
    }
    let policy = match args.tls {
        Level::None => TlsPolicy::None,
        Level::May => TlsPolicy::May,
        Level::Encrypt => TlsPolicy::Encrypt,
        Level::Verify => TlsPolicy::Verify,
        Level::Secure => TlsPolicy::Secure {
            names: vec![server_name.clone()],
        },
    };
    let trust = match smtp_examples::trust(args.ca.as_deref()) {
        Ok(t) => t,
        Err(e) => return usage(format!("--ca: {e}")),
    };
    let mut opts = ClientOptions::new(&args.ehlo, policy).with_trust(trust);
    opts.server_name = Some(server_name);
    opts.implicit_tls = args.implicit_tls;
    opts.timeouts = smtp_client::Timeouts::all(Duration::from_secs(args.timeout));
    if let Some(a) = &args.auth {
        let Some((u, p)) = a.split_once(':') else {
            return usage("--auth must be USER:PASS".into());
        };
        // PLAIN or LOGIN, whichever the server offers after TLS (PLAIN when both are).
        opts.auth = Some(ClientAuth::password(u, p));
    }
    let from = if args.from.is_empty() {
        "<>".to_owned()
    } else {
        bracket(&args.from)
    };
    let to: Vec<String> = args.to.iter().map(|t| bracket(t)).collect();
    let envelope = match Envelope::new(&from, to.iter().map(String::as_str)) {
        Ok(e) => e,
        Err(e) => return usage(format!("bad address: {e}")),
    };
    let message = match args.data.as_deref() {
        None => generated(&args),
        Some("-") => {
            let mut b = Vec::new();
            if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut b) {
                return usage(format!("reading stdin: {e}"));
            }
            b
        }
        Some(path) => match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return usage(format!("--data {path}: {e}")),
        },
    };
    let (report, delivery, error, exit) = match Connection::connect(&args.server, opts).await {
        Err(e) => {
            let code = status(&e);
            (None, None, Some(e), code)
        }
        Ok(mut conn) => {
            let sent = conn.send(envelope, &message).await;
            let report = conn.report().clone();
            let _ = conn.quit().await;
            match sent {
                Ok(d) => {
                    let code = delivery_status(&d);
                    (Some(report), Some(d), None, code)
                }
                Err(e) => {
                    let d = e.delivery().cloned();
                    let code = d.as_ref().map_or_else(|| status(&e), refused_status);
                    (Some(report), d, Some(e), code)
                }
            }
        }
    };
    if args.json {
        let v = to_json(
            &args,
            report.as_ref(),
            delivery.as_ref(),
            error.as_ref(),
            exit,
        );
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print_text(report.as_ref(), delivery.as_ref(), error.as_ref());
        if report.is_none() {
            // The connection never became ready: say whether TLS was the reason.
            match &error {
                Some(e) if e.is_tls_failure() => println!("tls: failed"),
                _ => println!("tls: none"),
            }
        }
    }
    ExitCode::from(exit)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    smtp_examples::init_logging(if args.verbose {
        "info,smtp_client::wire=debug"
    } else {
        "warn"
    });
    run(args).await
}
