//! pool-load: messages per second from N concurrent senders sharing one connection
//! pool, ours (`smtp_client::pool::Pool`) beside lettre 0.11's (`AsyncSmtpTransport`
//! with its pool), to one sink, in alternating windows.
//!
//! ```text
//! pool-load --addr 127.0.0.1:SINK --ca ca.pem [--senders 8] [--seconds 2] [--rounds 3]
//!           [--size 1024] [--prefix client] [--sink-pid PID] [--only WAY]
//!           [--max-messages N]
//! ```
//!
//! Each window makes a fresh pool (so the connections are opened inside the window,
//! as a pool's user pays for them), spawns `--senders` tokio tasks that share it, and
//! has each send the same message (`--size` bytes, headers included) back to back
//! until the window's time is up; the rate is every task's messages over the time from
//! the first spawn to the last task's end. One multi-threaded runtime with 2 worker
//! threads for both libraries. Plaintext and STARTTLS (verified against `--ca`, name
//! `localhost`; TLS session resumption on in both, their default):
//!
//! | key | pool | configured with |
//! |---|---|---|
//! | `ours-pool.N` | `Pool::send` | `PoolOptions { max_per_destination: N, ..default }` (max_messages none, noop_after 5 s) |
//! | `ours-pool-bdat.N` | the same, `ClientOptions::chunking` (BDAT; context, not a target) | as above |
//! | `lettre-pool.N` | `AsyncSmtpTransport::send_raw` | `PoolConfig::new().max_size(N)` (min_idle 0, idle_timeout 60 s) |
//!
//! lettre's `max_size` bounds the idle connections it keeps, not the open ones; with N
//! senders at most N are ever open, so both pools hold N connections. Our pool's count
//! of connections opened per window goes to stderr. With `--sink-pid`, the sink's own
//! CPU time (/proc/PID/stat) around each window is reported per message too; `--only`
//! and `--max-messages` are for profiling and experiments, not used by `run`.

use clap::Parser;
use lettre::AsyncTransport;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use smtp_client::pool::{Destination, Pool, PoolOptions};
use smtp_e2e::{HELLO, SERVER_NAME, Summary, Window, envelope, message, our_options, result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "pool-load")]
struct Args {
    /// The sink.
    #[arg(long)]
    addr: SocketAddr,
    /// The CA certificate of the sink's certificate.
    #[arg(long)]
    ca: PathBuf,
    /// Concurrent senders (tasks) sharing one pool; also each pool's size.
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// Length of one window, in seconds.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Windows per way of sending.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Message size in bytes, headers included.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// The first part of every result key.
    #[arg(long, default_value = "client")]
    prefix: String,
    /// The sink's pid: its CPU time per message is reported too.
    #[arg(long)]
    sink_pid: Option<u32>,
    /// Only this way (`ours-pool`, `ours-pool-bdat` or `lettre-pool`).
    #[arg(long)]
    only: Option<String>,
    /// Our pool's `PoolOptions::max_messages` (default: the pool's default, no limit).
    #[arg(long)]
    max_messages: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Way {
    OursPool,
    OursPoolBdat,
    LettrePool,
}

impl Way {
    const ALL: [Way; 3] = [Way::OursPool, Way::OursPoolBdat, Way::LettrePool];

    fn name(self) -> &'static str {
        match self {
            Way::OursPool => "ours-pool",
            Way::OursPoolBdat => "ours-pool-bdat",
            Way::LettrePool => "lettre-pool",
        }
    }
}

struct Setup {
    addr: SocketAddr,
    ca: Vec<u8>,
    message: Arc<Vec<u8>>,
    length: Duration,
    senders: usize,
    max_messages: Option<u32>,
}

fn main() {
    let args = Args::parse();
    let setup = Setup {
        addr: args.addr,
        ca: smtp_e2e::read_ca(&args.ca),
        message: Arc::new(message(args.size)),
        length: Duration::from_secs_f64(args.seconds),
        senders: args.senders,
        max_messages: args.max_messages,
    };
    let ways: Vec<Way> = Way::ALL
        .into_iter()
        .filter(|w| args.only.as_deref().is_none_or(|o| o == w.name()))
        .collect();
    assert!(!ways.is_empty(), "--only: no such way");
    let sink = args.sink_pid.map(|p| p.to_string());
    let sink_cpu = || sink.as_deref().and_then(smtp_e2e::proc_cpu).unwrap_or(0.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for tls in [false, true] {
            let t = if tls { "starttls" } else { "plain" };
            let mut samples: Vec<Vec<Window>> = vec![Vec::new(); ways.len()];
            let mut cpu = vec![0.0f64; ways.len()];
            let mut scpu = vec![0.0f64; ways.len()];
            for round in 0..=args.rounds {
                for (i, &way) in ways.iter().enumerate() {
                    let c0 = smtp_e2e::proc_cpu("self").unwrap_or(0.0);
                    let s0 = sink_cpu();
                    let w = window(&setup, way, tls, round == 0).await;
                    if round == 0 {
                        continue; // warm-up: sessions cached, code paged in
                    }
                    cpu[i] += smtp_e2e::proc_cpu("self").unwrap_or(0.0) - c0;
                    scpu[i] += sink_cpu() - s0;
                    eprintln!(
                        "{t} {}.{}: {:.0}/s ({} errors)",
                        way.name(),
                        setup.senders,
                        w.rate(),
                        w.errors
                    );
                    samples[i].push(w);
                }
            }
            for (i, way) in ways.iter().enumerate() {
                let key = format!("{}.{}.{}.{t}", args.prefix, way.name(), setup.senders);
                Summary::of(&samples[i].iter().map(Window::rate).collect::<Vec<_>>()).print(&key);
                let errors: u64 = samples[i].iter().map(|w| w.errors).sum();
                result(&format!("{key}.errors"), errors);
                let done: u64 = samples[i].iter().map(|w| w.done).sum();
                if done > 0 {
                    // The client's own CPU time (user + system) per message, all threads.
                    result(
                        &format!("{key}.cpu_us"),
                        format!("{:.1}", cpu[i] * 1e6 / done as f64),
                    );
                    if sink.is_some() {
                        // The sink's user + system time per message.
                        result(
                            &format!("{key}.sink_cpu_us"),
                            format!("{:.1}", scpu[i] * 1e6 / done as f64),
                        );
                    }
                }
            }
        }
    });
    result(&format!("{}.pool.senders", args.prefix), args.senders);
}

fn lettre_transport(setup: &Setup, tls: bool) -> AsyncSmtpTransport<Tokio1Executor> {
    let tls = if tls {
        let params = TlsParameters::builder(SERVER_NAME.to_owned())
            .certificate_store(CertificateStore::None)
            .add_root_certificate(Certificate::from_pem(&setup.ca).expect("CA for lettre"))
            .build_rustls()
            .expect("lettre TLS parameters");
        Tls::Required(params)
    } else {
        Tls::None
    };
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(setup.addr.ip().to_string())
        .port(setup.addr.port())
        .hello_name(ClientId::Domain(HELLO.to_owned()))
        .tls(tls)
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(PoolConfig::new().max_size(setup.senders as u32))
        .build()
}

fn lettre_envelope() -> lettre::address::Envelope {
    lettre::address::Envelope::new(
        Some(smtp_e2e::FROM.parse().expect("from")),
        vec![smtp_e2e::TO.parse().expect("to")],
    )
    .expect("envelope")
}

/// One timed window of one way: `senders` tasks on one fresh pool (a short window for
/// the warm-up).
async fn window(setup: &Setup, way: Way, tls: bool, warm_up: bool) -> Window {
    let length = if warm_up {
        Duration::from_millis(200)
    } else {
        setup.length
    };
    let label = format!("{}.{}", way.name(), setup.senders);
    let ca = tls.then_some(setup.ca.as_slice());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(setup.senders);
    match way {
        Way::OursPool | Way::OursPoolBdat => {
            let mut opts = our_options(ca, true);
            opts.chunking = matches!(way, Way::OursPoolBdat);
            let dest = Destination::new(setup.addr.to_string(), opts);
            let mut popts = PoolOptions::default();
            popts.max_per_destination = setup.senders;
            if let Some(n) = setup.max_messages {
                popts.max_messages = Some(n);
            }
            let pool = Pool::new(popts);
            for _ in 0..setup.senders {
                let (pool, dest, msg, label) = (
                    pool.clone(),
                    dest.clone(),
                    setup.message.clone(),
                    label.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    smtp_e2e::timed!(label, length, pool.send(&dest, envelope(), msg.as_slice()))
                }));
            }
            let w = join(tasks, start).await;
            let stats = pool.stats();
            if !warm_up {
                eprintln!(
                    "{label}: {} connections opened, {} reused checkouts, {} waits, {} retired",
                    stats.opened,
                    stats.reused,
                    stats.checkout_waits,
                    stats.retired_total()
                );
            }
            pool.close_idle().await;
            w
        }
        Way::LettrePool => {
            let t = lettre_transport(setup, tls);
            for _ in 0..setup.senders {
                let (t, msg, label) = (t.clone(), setup.message.clone(), label.clone());
                tasks.push(tokio::spawn(async move {
                    let env = lettre_envelope();
                    smtp_e2e::timed!(label, length, t.send_raw(&env, msg.as_slice()))
                }));
            }
            let w = join(tasks, start).await;
            t.shutdown().await;
            w
        }
    }
}

/// The senders' windows as one: every message over the time until the last ended.
async fn join(tasks: Vec<tokio::task::JoinHandle<Window>>, start: Instant) -> Window {
    let mut all = Window::default();
    for t in tasks {
        match t.await {
            Ok(w) => {
                all.done += w.done;
                all.errors += w.errors;
            }
            Err(e) => {
                eprintln!("a sender task failed: {e}");
                all.errors += 1;
            }
        }
    }
    all.elapsed = start.elapsed();
    all
}
