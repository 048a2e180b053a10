//! tls-handshakes: STARTTLS sessions per second through our client and our smtp-sink,
//! against bare tokio-rustls handshakes with the same certificate, the same rustls
//! server configuration and the same crypto providers (so the same key-exchange
//! groups), in one run, with and without TLS session resumption.
//!
//! ```text
//! tls-handshakes serve --listen 127.0.0.1:PORT --cert cert.pem --key key.pem
//! tls-handshakes run --smtp 127.0.0.1:SINK --bare 127.0.0.1:PORT --ca ca.pem
//! ```
//!
//! - `serve` is the bare server: the rustls `ServerConfig` is the one smtp-server's
//!   `TlsConfig::from_pem_files` builds for the sink (provider, versions, groups, session
//!   cache, tickets), on a multi-threaded tokio runtime as the sink's. Per connection:
//!   the handshake, one line (`220 ready`) that also carries the TLS 1.3 session tickets
//!   to the client, then read to the end.
//! - `run` measures, in alternating windows: a STARTTLS session through our client
//!   (`Connection::connect_addr`: TCP connect, greeting, EHLO, STARTTLS, handshake and
//!   certificate verification, EHLO, then `quit`: QUIT, its reply, close), and a bare
//!   session (TCP connect, handshake with the same client provider and trust anchor,
//!   read the line, close_notify, close). Both keep `--concurrency` sessions in flight
//!   from one thread.

use clap::{Parser, Subcommand};
use rustls::pki_types::ServerName;
use smtp_e2e::{Summary, Window, our_options, read_ca, result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser)]
#[command(name = "tls-handshakes")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The bare tokio-rustls server.
    Serve {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Measures both kinds of session.
    Run {
        /// Our smtp-sink (STARTTLS), started with the same certificate.
        #[arg(long)]
        smtp: SocketAddr,
        /// The bare server (`serve`).
        #[arg(long)]
        bare: SocketAddr,
        /// The CA certificate both clients trust.
        #[arg(long)]
        ca: PathBuf,
        /// Length of one window, in seconds.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Windows of each kind (alternating), per resumption setting.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Sessions in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// The sink's pid: its CPU time per STARTTLS session is reported too.
        #[arg(long)]
        smtp_pid: Option<String>,
        /// The bare server's pid: its CPU time per session is reported too.
        #[arg(long)]
        bare_pid: Option<String>,
        /// Only one kind of session, `starttls` or `bare` (to profile it alone).
        #[arg(long)]
        only: Option<String>,
    },
}

fn main() {
    let args = Args::parse();
    match args.cmd {
        Cmd::Serve { listen, cert, key } => {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(serve(listen, cert, key));
        }
        Cmd::Run {
            smtp,
            bare,
            ca,
            seconds,
            rounds,
            concurrency,
            smtp_pid,
            bare_pid,
            only,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let length = Duration::from_secs_f64(seconds);
            let pids = Pids {
                smtp: smtp_pid,
                bare: bare_pid,
                only,
            };
            rt.block_on(run(
                smtp,
                bare,
                &read_ca(&ca),
                length,
                rounds,
                concurrency,
                &pids,
            ));
        }
    }
}

async fn serve(listen: SocketAddr, cert: PathBuf, key: PathBuf) {
    let tls = smtp_server::TlsConfig::from_pem_files(&cert, &key).expect("certificate and key");
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
    let listener = TcpListener::bind(listen).await.expect("bind");
    println!("listening on {}", listener.local_addr().expect("address"));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(Ok(mut tls)) =
                tokio::time::timeout(Duration::from_secs(30), acceptor.accept(stream)).await
            else {
                return;
            };
            if tls.write_all(b"220 ready\r\n").await.is_err() {
                return;
            }
            let mut buf = [0u8; 512];
            let _ = tokio::time::timeout(Duration::from_secs(30), async {
                while let Ok(n) = tls.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        });
    }
}

/// What one session found, for the summary line.
#[derive(Default)]
struct Seen {
    resumed: AtomicU64,
    full: AtomicU64,
    info: std::sync::Mutex<Option<String>>,
}

impl Seen {
    fn record(&self, resumed: bool, info: impl FnOnce() -> String) {
        if resumed {
            self.resumed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.full.fetch_add(1, Ordering::Relaxed);
        }
        let mut slot = self.info.lock().expect("lock");
        if slot.is_none() {
            *slot = Some(info());
        }
    }
}

/// The servers' pids (for their CPU time), and which kinds of session to run.
struct Pids {
    smtp: Option<String>,
    bare: Option<String>,
    only: Option<String>,
}

impl Pids {
    fn wants(&self, kind: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == kind)
    }
}

/// CPU seconds used by this process and by a server during a window.
#[derive(Default, Clone, Copy)]
struct Cpu {
    client: f64,
    server: Option<f64>,
}

/// Runs `window`, measuring this process's CPU time and the server's.
async fn measured<F: std::future::Future<Output = Window>>(
    server: Option<&str>,
    window: F,
) -> (Window, Cpu) {
    let c0 = smtp_e2e::proc_cpu("self");
    let s0 = server.and_then(smtp_e2e::proc_cpu);
    let w = window.await;
    let c1 = smtp_e2e::proc_cpu("self");
    let s1 = server.and_then(smtp_e2e::proc_cpu);
    let cpu = Cpu {
        client: c1.zip(c0).map_or(0.0, |(b, a)| b - a),
        server: s1.zip(s0).map(|(b, a)| b - a),
    };
    (w, cpu)
}

async fn run(
    smtp: SocketAddr,
    bare: SocketAddr,
    ca: &[u8],
    length: Duration,
    rounds: usize,
    concurrency: usize,
    pids: &Pids,
) {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::pem::PemObject::pem_slice_iter(ca) {
        roots.add(c.expect("CA PEM")).expect("CA certificate");
    }
    let roots = Arc::new(roots);
    for resumption in [false, true] {
        let name = if resumption { "resume" } else { "full" };
        // Our client: one set of options for the whole run (its session cache and
        // configuration are per process and per verification context).
        let opts = our_options(Some(ca), resumption);
        // The bare client: smtp-client's provider (the same groups, in the same order),
        // the same trust anchor, rustls' default versions (TLS 1.3 and 1.2, as ours).
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(smtp_client::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots.clone())
                .with_no_client_auth();
        if !resumption {
            config.resumption = rustls::client::Resumption::disabled();
        }
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let (ours_seen, bare_seen) = (Arc::new(Seen::default()), Arc::new(Seen::default()));
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let (mut ours_cpu, mut theirs_cpu) = (Vec::new(), Vec::new());
        // One unmeasured session of each first: caches and the first full handshake.
        if pids.wants("starttls") {
            let _ = starttls(smtp, opts.clone(), Arc::new(Seen::default())).await;
        }
        if pids.wants("bare") {
            let _ = bare_session(bare, connector.clone(), Arc::new(Seen::default())).await;
        }
        for _ in 0..rounds {
            if pids.wants("starttls") {
                let (w, cpu) = measured(
                    pids.smtp.as_deref(),
                    concurrent(concurrency, length, "starttls", {
                        let (opts, seen) = (opts.clone(), ours_seen.clone());
                        move || starttls(smtp, opts.clone(), seen.clone())
                    }),
                )
                .await;
                eprintln!("{name} starttls: {:.0}/s ({} errors)", w.rate(), w.errors);
                ours.push(w);
                ours_cpu.push(cpu);
            }
            if pids.wants("bare") {
                let (w, cpu) = measured(
                    pids.bare.as_deref(),
                    concurrent(concurrency, length, "bare", {
                        let (connector, seen) = (connector.clone(), bare_seen.clone());
                        move || bare_session(bare, connector.clone(), seen.clone())
                    }),
                )
                .await;
                eprintln!("{name} bare: {:.0}/s ({} errors)", w.rate(), w.errors);
                theirs.push(w);
                theirs_cpu.push(cpu);
            }
        }
        for (who, windows, cpu, seen) in [
            ("starttls", &ours, &ours_cpu, &ours_seen),
            ("bare", &theirs, &theirs_cpu, &bare_seen),
        ] {
            let key = format!("tls.{name}.{who}");
            if windows.is_empty() {
                continue;
            }
            // CPU per session over all windows, in µs: the client's, the server's.
            let sessions: u64 = windows.iter().map(|w| w.done).sum();
            if sessions > 0 {
                let n = sessions as f64;
                let client: f64 = cpu.iter().map(|c| c.client).sum();
                result(
                    &format!("{key}.client_us"),
                    format!("{:.0}", client * 1e6 / n),
                );
                if cpu.iter().all(|c| c.server.is_some()) {
                    let server: f64 = cpu.iter().filter_map(|c| c.server).sum();
                    result(
                        &format!("{key}.server_us"),
                        format!("{:.0}", server * 1e6 / n),
                    );
                }
            }
            Summary::of(&windows.iter().map(Window::rate).collect::<Vec<_>>()).print(&key);
            let errors: u64 = windows.iter().map(|w| w.errors).sum();
            result(&format!("{key}.errors"), errors);
            let (r, f) = (
                seen.resumed.load(Ordering::Relaxed),
                seen.full.load(Ordering::Relaxed),
            );
            result(&format!("{key}.resumed"), format!("{r} of {}", r + f));
            if let Some(info) = seen.info.lock().expect("lock").as_ref() {
                result(&format!("{key}.tls"), info);
            }
        }
    }
    result("tls.concurrency", concurrency);
}

/// `n` workers each running `op` again and again for `length`.
async fn concurrent<F, Fut>(n: usize, length: Duration, label: &str, op: F) -> Window
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let op = op.clone();
        let label = label.to_owned();
        set.spawn(async move { smtp_e2e::timed!(label, length, op()) });
    }
    let mut total = Window::default();
    while let Some(w) = set.join_next().await {
        let w = w.expect("worker");
        total.done += w.done;
        total.errors += w.errors;
    }
    total.elapsed = start.elapsed();
    total
}

async fn starttls(
    addr: SocketAddr,
    opts: smtp_client::ClientOptions,
    seen: Arc<Seen>,
) -> Result<(), String> {
    let conn = smtp_client::Connection::connect_addr(addr, smtp_e2e::SERVER_NAME, opts)
        .await
        .map_err(|e| e.to_string())?;
    let tls = conn.report().tls.as_ref().ok_or("no TLS")?;
    seen.record(tls.resumed, || {
        format!(
            "{} {} {}",
            tls.version,
            tls.cipher,
            tls.key_exchange.as_deref().unwrap_or("-")
        )
    });
    conn.quit().await.map_err(|e| e.to_string())
}

async fn bare_session(
    addr: SocketAddr,
    connector: tokio_rustls::TlsConnector,
    seen: Arc<Seen>,
) -> Result<(), String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(smtp_e2e::SERVER_NAME).expect("name");
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = BufReader::new(tls);
    let mut line = String::new();
    tls.read_line(&mut line).await.map_err(|e| e.to_string())?;
    if line != "220 ready\r\n" {
        return Err(format!("unexpected line {line:?}"));
    }
    let mut tls = tls.into_inner();
    let c = tls.get_ref().1;
    let resumed = c.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    seen.record(resumed, || {
        // Written as our client's report writes them (`TLSv1.3 TLS_AES_256_GCM_SHA384`).
        format!(
            "{} {} {}",
            c.protocol_version()
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .replace('_', "."),
            c.negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .unwrap_or("-")
                .replace("TLS13_", "TLS_"),
            c.negotiated_key_exchange_group()
                .and_then(|g| g.name().as_str())
                .unwrap_or("-")
        )
    });
    tls.shutdown().await.map_err(|e| e.to_string())
}
