//! smtp-tls-check: does this server do STARTTLS properly? Banner, capabilities before
//! and after TLS, the handshake, every certificate of the chain, name and chain
//! verification, in one command, built on `smtp-client`.
//!
//! ```text
//! smtp-tls-check mx.example.com [--servername NAME] [--ca FILE] [--warn-days 21] [--json]
//! ```
//!
//! The `TLS:` line (and `session.tls` in `--json`) gives the version, the cipher suite
//! and the key-exchange group: `TLS: TLSv1.3 TLS_AES_256_GCM_SHA384 X25519MLKEM768`
//! with a server that has the post-quantum hybrid, `X25519` with one that has not.
//!
//! Problems: no STARTTLS, a failed handshake, a certificate that is expired, expiring
//! soon, weak, for another name or not chained to a trust anchor, and AUTH offered
//! before TLS.
//!
//! Exit status: 0 all is well; 1 a problem was found; 75 no connection; 2 usage.

mod policy;
mod sts;

use clap::Parser;
use serde_json::json;
use smtp_client::{ClientOptions, Connection, SessionReport, TlsPolicy};
use smtp_examples::{EXIT_OK, EXIT_PROBLEM, EXIT_TEMPFAIL, EXIT_USAGE};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Check a server's STARTTLS (or implicit TLS): certificates, names, verification.
#[derive(Parser, Debug)]
#[command(name = "smtp-tls-check", version)]
struct Args {
    /// The server, HOST or HOST:PORT (port 25, or 465 with --implicit-tls).
    target: String,
    /// The name the certificate must carry (default: HOST).
    #[arg(long, value_name = "NAME")]
    servername: Option<String>,
    /// Extra trust anchors (PEM), besides Mozilla's roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// TLS from the first byte (RFC 8314) instead of STARTTLS.
    #[arg(long)]
    implicit_tls: bool,
    /// A certificate expiring within this many days is a problem.
    #[arg(long, default_value_t = 21)]
    warn_days: i64,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
    /// Show the SMTP transcript on stderr.
    #[arg(short, long)]
    verbose: bool,
    /// Seconds to wait for the server at each step.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Also check DANE (RFC 7672): the TLSA records of the server (DNSSEC-validated)
    /// and whether the certificate it serves matches them.
    #[arg(long)]
    dane: bool,
    /// Also check the MTA-STS policy (RFC 8461) of this domain: its TXT record, the
    /// policy, and whether the server is one of its MX hosts.
    #[arg(long, value_name = "DOMAIN")]
    mta_sts: Option<String>,
    /// Ask this DNS server (ADDR:PORT) instead of the system's resolvers (and resolve
    /// the server's name with it).
    #[arg(long, value_name = "ADDR:PORT")]
    dns: Option<std::net::SocketAddr>,
    /// DNSSEC trust anchors, DNSKEY lines in zone-file form (default: the root's).
    #[arg(long, value_name = "FILE")]
    trust_anchor: Option<PathBuf>,
    /// The HTTPS port of the MTA-STS policy host.
    #[arg(long, default_value_t = 443)]
    https_port: u16,
}

/// What was found, in order; `problems` decides the exit status.
#[derive(Default)]
struct Findings {
    lines: Vec<String>,
    problems: Vec<String>,
}

impl Findings {
    fn say(&mut self, s: String) {
        self.lines.push(s);
    }
    fn problem(&mut self, s: String) {
        self.lines.push(format!("PROBLEM: {s}"));
        self.problems.push(s);
    }
}

fn check(args: &Args, name: &str, r: &SessionReport) -> Findings {
    let mut f = Findings::default();
    let now = smtp_examples::now_secs();
    if let Some(a) = r.addr {
        f.say(format!("connected to {a} (checking name {name})"));
    }
    if let Some(g) = &r.greeting {
        f.say(format!("banner: {}", g.to_string().trim_end()));
    }
    let banner_name = r.greeting_name();
    let before = if r.tls.as_ref().is_some_and(|t| t.starttls) {
        r.capabilities_before_tls.as_ref()
    } else if r.tls.is_none() {
        r.capabilities.as_ref()
    } else {
        None
    };
    if let Some(c) = before {
        f.say(format!(
            "capabilities before TLS: {}",
            smtp_examples::capability_list(c).join(" ")
        ));
    }
    if !args.implicit_tls {
        let offered = before.is_some_and(|c| c.starttls());
        if offered {
            f.say("STARTTLS: offered".into());
        } else {
            f.problem("STARTTLS not offered".into());
        }
    }
    if let Some(why) = &r.tls_failure {
        f.problem(format!("TLS handshake failed: {why}"));
    }
    let Some(tls) = &r.tls else {
        if !args.implicit_tls && before.is_some_and(|c| c.starttls()) && r.tls_failure.is_none() {
            // Offered, then refused (e.g. 454): no TLS at all.
            f.problem(format!("STARTTLS offered but no TLS session: {}", r.reason));
        }
        if before.is_some_and(|c| c.has("AUTH")) {
            f.problem("AUTH offered without TLS (credentials could be sent in plaintext)".into());
        }
        return f;
    };
    f.say(format!(
        "TLS: {} {} {}",
        tls.version,
        tls.cipher,
        tls.key_exchange.as_deref().unwrap_or("-")
    ));
    for (i, c) in tls.chain.iter().enumerate() {
        let days = c.days_left(now);
        f.say(format!("certificate {i}: subject {}", c.subject));
        f.say(format!("  issuer {}", c.issuer));
        if !c.names.is_empty() {
            f.say(format!("  names {}", c.names.join(", ")));
        }
        f.say(format!(
            "  valid {} to {} ({days} days left)",
            smtp_examples::iso_date(c.not_before),
            smtp_examples::iso_date(c.not_after)
        ));
        f.say(format!("  key {} {} bits", c.key_type, c.key_bits));
        if days < 0 {
            f.problem(format!("certificate {i} ({}) has expired", c.subject));
        } else if days < args.warn_days {
            f.problem(format!(
                "certificate {i} ({}) expires in {days} days (under {})",
                c.subject, args.warn_days
            ));
        }
        if c.key_type == "RSA" && c.key_bits < 2048 {
            f.problem(format!(
                "certificate {i} has a weak {}-bit RSA key",
                c.key_bits
            ));
        }
    }
    match tls.chain.first() {
        Some(leaf) if leaf.matches_name(name) => f.say(format!("name {name}: matches")),
        Some(_) => f.problem(format!("the certificate does not name {name}")),
        None => f.problem("the server sent no certificate".into()),
    }
    if let (Some(b), Some(leaf)) = (&banner_name, tls.chain.first()) {
        let m = if leaf.matches_name(b) {
            "matches"
        } else {
            "does not match"
        };
        f.say(format!("banner name {b}: {m}"));
    }
    match tls.chain_verified {
        Some(true) => f.say("chain: verified (web PKI and --ca)".into()),
        _ => f.problem(format!("chain not verified: {}", tls.verification)),
    }
    if let Some(after) = &r.capabilities {
        f.say(format!(
            "capabilities after TLS: {}",
            smtp_examples::capability_list(after).join(" ")
        ));
        let auth_before = before.is_some_and(|c| c.has("AUTH"));
        if after.has("AUTH") && !auth_before && tls.starttls {
            f.say("AUTH: offered only after TLS (good)".into());
        }
    }
    // Whatever TLS gives afterwards, a client that trusts this EHLO reply (or one a man
    // in the middle stripped of STARTTLS) can send its password in plaintext.
    if before.is_some_and(|c| c.has("AUTH")) {
        f.problem("AUTH offered before TLS (credentials could be sent in plaintext)".into());
    }
    f
}

async fn run(args: Args) -> ExitCode {
    let default_port = if args.implicit_tls { 465 } else { 25 };
    let Some((host, port)) = smtp_examples::host_port(&args.target, default_port) else {
        eprintln!("smtp-tls-check: {}: expected HOST[:PORT]", args.target);
        return ExitCode::from(EXIT_USAGE);
    };
    let name = args.servername.clone().unwrap_or_else(|| host.clone());
    let trust = match smtp_examples::trust(args.ca.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("smtp-tls-check: --ca: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // `may`: the session goes on whatever TLS gives, so everything can be reported;
    // the verdict is this program's, not the policy's.
    let mut opts = ClientOptions::new("smtp-tls-check.invalid", TlsPolicy::May).with_trust(trust);
    opts.server_name = Some(name.clone());
    opts.implicit_tls = args.implicit_tls;
    opts.timeouts = smtp_client::Timeouts::all(Duration::from_secs(args.timeout));
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut report = None;
    let resolver = if args.dns.is_some() || args.dane || args.mta_sts.is_some() {
        match policy::resolver(&args) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("smtp-tls-check: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    } else {
        None
    };
    let mut pre = Findings::default();
    let connected = match (&resolver, args.dns) {
        // The lab's (or the operator's) DNS names the server too.
        (Some(r), Some(_)) => match policy::address(r, &host, port).await {
            Ok(addr) => Connection::connect_addr(addr, &name, opts.clone()).await,
            Err(e) => Err(e),
        },
        _ => Connection::connect(&target, opts.clone()).await,
    };
    let (findings, exit) = match connected {
        Ok(conn) => {
            let mut f = check(&args, &name, conn.report());
            report = Some(smtp_examples::report_json(conn.report()));
            let addr = conn.report().addr;
            let _ = conn.quit().await;
            if let (Some(r), true, Some(addr)) = (&resolver, args.dane, addr) {
                policy::dane(r, &host, addr, &name, &opts, &mut f).await;
            }
            if let (Some(r), Some(domain)) = (&resolver, &args.mta_sts) {
                policy::mta_sts(r, &args, domain, &host, &mut f).await;
            }
            let exit = if f.problems.is_empty() {
                EXIT_OK
            } else {
                EXIT_PROBLEM
            };
            (f, exit)
        }
        // The server refused the session, or TLS failed or stalled: a finding.
        Err(e)
            if e.is_tls_failure()
                || matches!(e, smtp_client::Error::Rejected { .. })
                || matches!(&e, smtp_client::Error::Timeout { stage, .. } if stage.contains("TLS")) =>
        {
            pre.problem(format!("{e}"));
            (std::mem::take(&mut pre), EXIT_PROBLEM)
        }
        Err(e) => {
            pre.say(format!("connection failed: {e}"));
            (std::mem::take(&mut pre), EXIT_TEMPFAIL)
        }
    };
    if args.json {
        let v = json!({
            "target": target,
            "servername": name,
            "exit": exit,
            "ok": exit == EXIT_OK,
            "problems": findings.problems,
            "findings": findings.lines,
            "session": report,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for l in &findings.lines {
            println!("{l}");
        }
        match exit {
            EXIT_OK => println!("result: OK"),
            EXIT_PROBLEM => println!("result: {} problem(s)", findings.problems.len()),
            _ => println!("result: no connection"),
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
