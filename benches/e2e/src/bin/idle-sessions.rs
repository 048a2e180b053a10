//! idle-sessions: opens many SMTP sessions to one server and holds them idle, so that
//! the server's memory per idle session can be read from its /proc/PID/status.
//!
//! ```text
//! idle-sessions --addr 127.0.0.1:PORT --sessions 10000 [--ca ca.pem] [--steps 2] [--hold 120]
//! ```
//!
//! Each session is set up by our client (`Connection::connect_addr`): the greeting and
//! EHLO in plaintext, or with `--ca` STARTTLS (verified against that CA for
//! `localhost`) and EHLO again. The sessions are opened in `--steps` equal batches:
//! after each it prints `ready<TAB>OPEN<TAB>FAILED` on stdout (counts so far) and, but
//! for the last, waits for a line on stdin before the next batch, so that the server's
//! memory can be read at each step. Then it holds them all for `--hold` seconds (or
//! until killed). The process needs a file descriptor per session: raise `ulimit -n`
//! first.

use clap::Parser;
use smtp_e2e::{SERVER_NAME, our_options};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "idle-sessions")]
struct Args {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long)]
    sessions: usize,
    /// STARTTLS, trusting this CA.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Sessions being set up at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// How long to hold the sessions, in seconds.
    #[arg(long, default_value_t = 120)]
    hold: u64,
    /// Batches, with a report (and a wait for stdin) after each.
    #[arg(long, default_value_t = 1)]
    steps: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let ca = args.ca.as_deref().map(smtp_e2e::read_ca);
    let opts = our_options(ca.as_deref(), true);
    let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let steps = args.steps.max(1);
    let (mut open, mut failed) = (Vec::with_capacity(args.sessions), 0usize);
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    for step in 0..steps {
        let batch = args.sessions * (step + 1) / steps - args.sessions * step / steps;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..batch {
            let (opts, gate) = (opts.clone(), gate.clone());
            let addr = args.addr;
            set.spawn(async move {
                let _permit = gate.acquire_owned().await.expect("semaphore");
                smtp_client::Connection::connect_addr(addr, SERVER_NAME, opts).await
            });
        }
        while let Some(r) = set.join_next().await {
            match r.expect("task") {
                Ok(c) => open.push(c),
                Err(e) => {
                    if failed == 0 {
                        eprintln!("idle-sessions: {e}");
                    }
                    failed += 1;
                }
            }
        }
        println!("ready\t{}\t{failed}", open.len());
        let _ = std::io::stdout().flush();
        if step + 1 < steps {
            let mut line = String::new();
            let _ = tokio::io::AsyncBufReadExt::read_line(&mut stdin, &mut line).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(args.hold)).await;
    // Closed without QUIT: the process ends.
    std::process::exit(0);
}
