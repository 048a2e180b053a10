//! smtp-send: send one message with a chosen TLS policy and see exactly what happened,
//! built on `smtp-client`.
//!
//! ```text
//! smtp-send --server 127.0.0.1:2525 --from a@example.org --to b@example.com --ca ca.pem
//! ```
//!
//! Exit status: 0 everything accepted; 1 a permanent rejection; 3 the TLS policy was
//! not met; 75 a temporary failure or no connection; 2 usage.
//!
//! After a failure the `tls:` line and the `--json` session report still say what the
//! session got (TLS up before a refused AUTH, say): the error carries the report.

mod mx;

use clap::{Parser, ValueEnum};
use serde_json::json;
use smtp_client::{
    ClientAuth, ClientOptions, Connection, Delivery, DomainPattern, Envelope, Error, PolicyMap,
    SessionReport, TlsPolicy,
};
use smtp_examples::{EXIT_OK, EXIT_PROBLEM, EXIT_TEMPFAIL, EXIT_TLS, EXIT_USAGE};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
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
    /// The server, HOST:PORT. Without it the message goes to the mail hosts (MX) of the
    /// recipients' domain, with DANE and MTA-STS applied.
    #[arg(long)]
    server: Option<String>,
    /// The envelope sender: a plain address or one in angle brackets (empty or `<>` for
    /// the null path).
    #[arg(long, default_value = "smtp-send@localhost")]
    from: String,
    /// A recipient, a plain address or one in angle brackets (repeat for more).
    #[arg(long, required = true)]
    to: Vec<String>,
    /// The message (`-` for stdin); default: a small generated test message.
    #[arg(long, value_name = "FILE")]
    data: Option<String>,
    /// The name sent in EHLO.
    #[arg(long, default_value = "localhost")]
    ehlo: String,
    /// TLS policy (with --policy: for destinations no rule matches). Default `verify`
    /// with --server; `may` for MX delivery, where DANE and MTA-STS raise it.
    #[arg(long, value_enum)]
    tls: Option<Level>,
    /// A per-destination rule, PATTERN=LEVEL (repeat for more), as in Postfix's TLS
    /// policy tables: `example.com` the domain only, `.example.com` (or
    /// `*.example.com`) its subdomains only.
    #[arg(long, value_name = "PATTERN=LEVEL")]
    policy: Vec<String>,
    /// The destination the --policy rules are matched against (default: the domain of
    /// the first --to).
    #[arg(long, value_name = "DOMAIN", requires = "policy")]
    destination: Option<String>,
    /// TLS from the first byte (RFC 8314) instead of STARTTLS.
    #[arg(long)]
    implicit_tls: bool,
    /// Send with REQUIRETLS (RFC 8689): only to a server that offers it over TLS that
    /// the policy authenticated (verify, secure, DANE, MTA-STS); otherwise exit 3,
    /// never in plaintext.
    #[arg(long)]
    require_tls: bool,
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
    /// MX delivery: ask this DNS server (ADDR:PORT) instead of the system's resolvers.
    #[arg(long, value_name = "ADDR:PORT")]
    dns: Option<std::net::SocketAddr>,
    /// MX delivery: DNSSEC trust anchors, DNSKEY lines in zone-file form (default: the
    /// root's).
    #[arg(long, value_name = "FILE")]
    trust_anchor: Option<PathBuf>,
    /// MX delivery: the SMTP port of the mail hosts.
    #[arg(long, default_value_t = 25)]
    port: u16,
    /// MX delivery: the HTTPS port of the MTA-STS policy host.
    #[arg(long, default_value_t = 443)]
    https_port: u16,
    /// Seconds to wait for the server at each step.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

fn usage(msg: String) -> ExitCode {
    eprintln!("smtp-send: {msg}");
    ExitCode::from(EXIT_USAGE)
}

/// `<addr>` from `addr` or `<addr>` (for the generated message's headers).
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

/// The message: `--data FILE`, stdin, or a generated one.
fn message(args: &Args) -> Result<Vec<u8>, String> {
    match args.data.as_deref() {
        None => Ok(generated(args)),
        Some("-") => {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
                .map_err(|e| format!("reading stdin: {e}"))?;
            Ok(b)
        }
        Some(path) => std::fs::read(path).map_err(|e| format!("--data {path}: {e}")),
    }
}

/// The envelope from `--from` and `--to`: plain addresses or `<paths>`, as given
/// (results name recipients the same way).
fn envelope(args: &Args) -> Result<Envelope, String> {
    let from = match args.from.trim() {
        "" => "<>",
        f => f,
    };
    let mut envelope = Envelope::new(from, args.to.iter().map(|t| t.trim()))
        .map_err(|e| format!("bad address: {e}"))?;
    envelope.params.requiretls = args.require_tls;
    Ok(envelope)
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

/// The policy level named on the command line.
fn level(l: Level, server_name: &str) -> TlsPolicy {
    match l {
        Level::None => TlsPolicy::None,
        Level::May => TlsPolicy::May,
        Level::Encrypt => TlsPolicy::Encrypt,
        Level::Verify => TlsPolicy::Verify,
        Level::Secure => TlsPolicy::Secure {
            names: vec![server_name.to_owned()],
        },
    }
}

/// The rules of `--policy PATTERN=LEVEL`.
fn policy_map(rules: &[String], server_name: &str) -> Result<PolicyMap, String> {
    let mut map = PolicyMap::new();
    for rule in rules {
        let (pattern, name) = rule
            .split_once('=')
            .ok_or_else(|| format!("--policy {rule}: expected PATTERN=LEVEL"))?;
        let pattern = DomainPattern::parse(pattern)
            .ok_or_else(|| format!("--policy {rule}: not a domain pattern"))?;
        let l = Level::from_str(name, true).map_err(|e| format!("--policy {rule}: {e}"))?;
        map.insert(pattern, level(l, server_name));
    }
    Ok(map)
}

/// The `tls:` line: what the session got, `failed` when the policy was not met (a
/// REQUIRETLS refusal came after a handshake that went well: that one is shown).
fn tls_line(report: Option<&SessionReport>, error: Option<&Error>) -> String {
    let requiretls = |e: &Error| {
        matches!(
            e,
            Error::Policy {
                violation: smtp_client::PolicyViolation::RequireTls { .. },
                ..
            }
        )
    };
    match (error, report) {
        (Some(e), Some(r)) if requiretls(e) => r.tls_line(),
        (Some(e), _) if e.is_tls_failure() => "failed".to_owned(),
        (_, Some(r)) => r.tls_line(),
        _ => "none".to_owned(),
    }
}

fn print_text(
    args: &Args,
    report: Option<&SessionReport>,
    delivery: Option<&Delivery>,
    error: Option<&Error>,
) {
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
    if let Some(r) = report.filter(|_| !args.policy.is_empty() && args.server.is_some()) {
        let rule = r
            .policy_rule
            .as_ref()
            .map_or("no rule: --tls".to_owned(), |p| format!("rule {p}"));
        println!("policy: {} for {} ({rule})", r.policy, r.destination);
    }
    println!("tls: {}", tls_line(report, error));
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
        "server": args.server.as_deref().unwrap_or("MX"),
        "exit": exit,
        "error": error.map(|e| e.to_string()),
        "transient": error.map(Error::is_transient),
        "tls": tls_line(report, error),
        "session": report.map(smtp_examples::report_json),
        "delivery": delivery.map(|d| json!({
            "status": format!("{:?}", d.status()),
            "mail": d.mail.as_ref().map(reply),
            "recipients": d.recipients.iter().map(|r| json!({
                "address": r.address,
                "path": r.path.to_string(),
                "rcpt": r.rcpt_reply.as_ref().map(reply),
                "reply": r.reply.as_ref().map(reply),
                "delivered": r.delivered(),
                "transient": r.is_transient(),
            })).collect::<Vec<_>>(),
            "refused": d.refused.as_ref().map(reply),
            "message": d.message.iter().map(reply).collect::<Vec<_>>(),
        })),
    })
}

async fn run(args: Args) -> ExitCode {
    let Some(server) = args.server.clone() else {
        return mx::run(args).await;
    };
    let Some((host, _)) = smtp_examples::host_port(&server, 25) else {
        return usage(format!("--server {server}: expected HOST:PORT"));
    };
    let server_name = args.servername.clone().unwrap_or(host);
    if server_name.is_empty() {
        return usage("--servername must not be empty".into());
    }
    if let Err(e) = smtp_client::proto::Host::new(&args.ehlo) {
        return usage(format!("--ehlo {}: {e}", args.ehlo));
    }
    let policy = level(args.tls.unwrap_or(Level::Verify), &server_name);
    let map = match policy_map(&args.policy, &server_name) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let trust = match smtp_examples::trust(args.ca.as_deref()) {
        Ok(t) => t,
        Err(e) => return usage(format!("--ca: {e}")),
    };
    let envelope = match envelope(&args) {
        Ok(e) => e,
        Err(e) => return usage(e),
    };
    let mut opts = ClientOptions::new(&args.ehlo, policy).with_trust(trust);
    if !args.policy.is_empty() {
        // The destination is the domain the mail is for (of the first recipient, as the
        // grammar reads it), unless told otherwise.
        let domain = args.destination.clone().or_else(|| {
            let (first, _) = envelope.recipients.first()?;
            Some(first.domain()?.to_string())
        });
        let Some(domain) = domain else {
            return usage("--policy needs --destination".into());
        };
        opts = opts.with_policy_map(map, &domain);
    }
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
    let message = match message(&args) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    let (report, delivery, error, exit) = match Connection::connect(&server, opts).await {
        Err(e) => {
            // After a refused AUTH or STARTTLS the session got somewhere: say where.
            let code = status(&e);
            (e.report().cloned(), None, Some(e), code)
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
        print_text(&args, report.as_ref(), delivery.as_ref(), error.as_ref());
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
