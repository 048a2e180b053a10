//! smtp-audit: does this receiving server resist a hostile client? SMTP smuggling
//! (CVE-2023-51764 class), STARTTLS command injection (CVE-2011-0411), bare LF in
//! commands, over-long command lines, AUTH before TLS, and limits on errors and junk
//! commands, each with the transcript that shows it; built on
//! `smtp_client::testing::audit`.
//!
//! ```text
//! smtp-audit HOST:PORT [--from ADDR] [--to ADDR] [--helo NAME] [--timeout SECS]
//!            [--check NAME]... [--no-starttls | --implicit-tls] [--servername NAME]
//!            [--json] [--verbose]
//! ```
//!
//! The smuggling checks send test messages (two where the server is vulnerable) from
//! `--from` to `--to`: give addresses the server accepts, and audit only servers you
//! run. Transcripts are shown for the vulnerable and inconclusive findings (all of
//! them with `--verbose`, and always in `--json`).
//!
//! Exit status: 0 every check passed or does not apply; 1 something is vulnerable; 75
//! the server could not be reached, or a check could not decide (`EX_TEMPFAIL`); 2
//! usage.

use clap::Parser;
use smtp_client::testing::{AuditOptions, Check, audit};
use smtp_examples::{EXIT_OK, EXIT_PROBLEM, EXIT_TEMPFAIL, EXIT_USAGE};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Audit an SMTP server for smuggling, STARTTLS injection, line and limit flaws.
#[derive(Parser, Debug)]
#[command(name = "smtp-audit", version)]
struct Args {
    /// The server, `HOST:PORT` (a name, an IPv4 address, or `[IPv6]:PORT`).
    target: String,
    /// Sender of the test messages.
    #[arg(long, value_name = "ADDR", default_value = "a@example.test")]
    from: String,
    /// Recipient of the test messages.
    #[arg(long, value_name = "ADDR", default_value = "b@example.test")]
    to: String,
    /// The name to send in EHLO.
    #[arg(long, value_name = "NAME", default_value = "smtp-audit.example.test")]
    helo: String,
    /// Seconds to wait for the server at each step.
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Run only this check (repeatable): smuggling, starttls-injection, bare-lf,
    /// long-line, auth-before-tls, error-limit, junk-limit.
    #[arg(long = "check", value_name = "NAME", value_parser = parse_check)]
    checks: Vec<Check>,
    /// Stay in plaintext for every check (by default the checks that do not test
    /// plaintext itself run inside STARTTLS when it is offered).
    #[arg(long, conflicts_with = "implicit_tls")]
    no_starttls: bool,
    /// TLS from the first byte (RFC 8314, port 465): every check runs inside TLS.
    #[arg(long)]
    implicit_tls: bool,
    /// The name to send as SNI (certificates are not checked: this is no TLS audit).
    #[arg(long, value_name = "NAME")]
    servername: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Show the transcript of every check.
    #[arg(short, long)]
    verbose: bool,
}

fn parse_check(name: &str) -> Result<Check, String> {
    Check::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Check::ALL.iter().map(|c| c.name()).collect();
        format!("no check {name:?}; the checks: {}", names.join(", "))
    })
}

/// Whether `target` has the HOST:PORT form (the port a number).
fn has_port(target: &str) -> bool {
    match target.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

async fn run(args: Args) -> ExitCode {
    if !has_port(&args.target) {
        eprintln!(
            "smtp-audit: give the server as HOST:PORT, not {:?}",
            args.target
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let addr: SocketAddr = match tokio::net::lookup_host(&args.target).await {
        Ok(mut addrs) => match addrs.next() {
            Some(a) => a,
            None => {
                eprintln!("smtp-audit: {} has no address", args.target);
                return ExitCode::from(EXIT_TEMPFAIL);
            }
        },
        Err(e) => {
            eprintln!("smtp-audit: cannot resolve {}: {e}", args.target);
            return ExitCode::from(EXIT_TEMPFAIL);
        }
    };
    let mut opts = AuditOptions::default()
        .with_addresses(&args.from, &args.to)
        .with_timeout(Duration::from_secs(args.timeout));
    opts.helo = args.helo;
    opts.starttls = !args.no_starttls;
    opts.implicit_tls = args.implicit_tls;
    opts.server_name = args.servername;
    if !args.checks.is_empty() {
        opts.checks = args.checks;
    }
    let report = audit(addr, &opts).await;
    if args.json {
        let json = report.to_json();
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string())
        );
    } else if args.verbose {
        println!("{report:#}");
    } else {
        println!("{report}");
    }
    let exit = if report.error.is_some() {
        EXIT_TEMPFAIL
    } else if report.is_vulnerable() {
        EXIT_PROBLEM
    } else if !report.is_complete() {
        EXIT_TEMPFAIL
    } else {
        EXIT_OK
    };
    ExitCode::from(exit)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    run(args).await
}
