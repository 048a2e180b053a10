//! client-load: messages per second from our client and from lettre 0.11 to one sink,
//! one message at a time, in alternating windows.
//!
//! ```text
//! client-load --addr 127.0.0.1:SINK --ca ca.pem [--seconds 2] [--rounds 3] [--size 1024]
//!             [--prefix client]
//! ```
//!
//! Each client sends the same message (`--size` bytes, headers included) from one
//! thread (a current-thread tokio runtime), for each of these ways, in plaintext and
//! with STARTTLS (verified against `--ca`, name `localhost`; TLS session resumption as
//! each library does by default: on for both):
//!
//! | key | client | connections |
//! |---|---|---|
//! | `ours.reuse` | `smtp_client::Connection::send` | one, reused |
//! | `ours-bdat.reuse` | the same with `ClientOptions::chunking` (BDAT) | one, reused |
//! | `ours.per-message` | `smtp_client::send` (connect, send, QUIT) | one per message |
//! | `lettre-pool.reuse` | `AsyncSmtpTransport::send_raw`, default `PoolConfig` | pooled (NOOP before each reuse) |
//! | `lettre-conn.reuse` | `AsyncSmtpConnection::send` | one, reused |
//! | `lettre.per-message` | `AsyncSmtpTransport::send_raw`, `PoolConfig::max_size(0)` | one per message (QUIT) |

use clap::Parser;
use lettre::AsyncTransport;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, Certificate, CertificateStore, Tls, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use smtp_e2e::{HELLO, SERVER_NAME, Summary, Window, envelope, message, our_options, result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "client-load")]
struct Args {
    /// The sink.
    #[arg(long)]
    addr: SocketAddr,
    /// The CA certificate of the sink's certificate.
    #[arg(long)]
    ca: PathBuf,
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
}

#[derive(Clone, Copy, Debug)]
enum Way {
    OursReuse,
    OursBdatReuse,
    OursPerMessage,
    LettrePool,
    LettreConn,
    LettrePerMessage,
}

impl Way {
    const ALL: [Way; 6] = [
        Way::OursReuse,
        Way::OursBdatReuse,
        Way::OursPerMessage,
        Way::LettrePool,
        Way::LettreConn,
        Way::LettrePerMessage,
    ];

    fn key(self) -> &'static str {
        match self {
            Way::OursReuse => "ours.reuse",
            Way::OursBdatReuse => "ours-bdat.reuse",
            Way::OursPerMessage => "ours.per-message",
            Way::LettrePool => "lettre-pool.reuse",
            Way::LettreConn => "lettre-conn.reuse",
            Way::LettrePerMessage => "lettre.per-message",
        }
    }
}

struct Setup {
    addr: SocketAddr,
    ca: Vec<u8>,
    message: Vec<u8>,
    length: Duration,
}

fn main() {
    let args = Args::parse();
    let setup = Setup {
        addr: args.addr,
        ca: smtp_e2e::read_ca(&args.ca),
        message: message(args.size),
        length: Duration::from_secs_f64(args.seconds),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for tls in [false, true] {
            let t = if tls { "starttls" } else { "plain" };
            let mut samples: Vec<Vec<Window>> = vec![Vec::new(); Way::ALL.len()];
            let mut cpu = vec![0.0f64; Way::ALL.len()];
            for round in 0..=args.rounds {
                for (i, way) in Way::ALL.into_iter().enumerate() {
                    let c0 = smtp_e2e::proc_cpu("self").unwrap_or(0.0);
                    let w = window(&setup, way, tls, round == 0).await;
                    if round == 0 {
                        continue; // warm-up: sessions cached, code paged in
                    }
                    cpu[i] += smtp_e2e::proc_cpu("self").unwrap_or(0.0) - c0;
                    eprintln!("{t} {}: {:.0}/s ({} errors)", way.key(), w.rate(), w.errors);
                    samples[i].push(w);
                }
            }
            for (i, way) in Way::ALL.into_iter().enumerate() {
                let key = format!("{}.{}.{t}", args.prefix, way.key());
                Summary::of(&samples[i].iter().map(Window::rate).collect::<Vec<_>>()).print(&key);
                let errors: u64 = samples[i].iter().map(|w| w.errors).sum();
                result(&format!("{key}.errors"), errors);
                let done: u64 = samples[i].iter().map(|w| w.done).sum();
                if done > 0 {
                    // The client's own CPU time (user + system) per message.
                    result(
                        &format!("{key}.cpu_us"),
                        format!("{:.1}", cpu[i] * 1e6 / done as f64),
                    );
                }
            }
        }
    });
    result(&format!("{}.size", args.prefix), args.size);
}

fn lettre_tls(setup: &Setup, tls: bool) -> Tls {
    if !tls {
        return Tls::None;
    }
    let params = TlsParameters::builder(SERVER_NAME.to_owned())
        .certificate_store(CertificateStore::None)
        .add_root_certificate(Certificate::from_pem(&setup.ca).expect("CA for lettre"))
        .build_rustls()
        .expect("lettre TLS parameters");
    Tls::Required(params)
}

fn lettre_transport(
    setup: &Setup,
    tls: bool,
    pool: PoolConfig,
) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(setup.addr.ip().to_string())
        .port(setup.addr.port())
        .hello_name(ClientId::Domain(HELLO.to_owned()))
        .tls(lettre_tls(setup, tls))
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(pool)
        .build()
}

fn lettre_envelope() -> lettre::address::Envelope {
    lettre::address::Envelope::new(
        Some(smtp_e2e::FROM.parse().expect("from")),
        vec![smtp_e2e::TO.parse().expect("to")],
    )
    .expect("envelope")
}

/// One timed window of one way of sending (a short one for the warm-up).
async fn window(setup: &Setup, way: Way, tls: bool, warm_up: bool) -> Window {
    let length = if warm_up {
        Duration::from_millis(200)
    } else {
        setup.length
    };
    let label = way.key();
    let msg = setup.message.as_slice();
    let ca = tls.then_some(setup.ca.as_slice());
    match way {
        Way::OursReuse | Way::OursBdatReuse => {
            let mut opts = our_options(ca, true);
            // BDAT (RFC 3030) when the server offers CHUNKING: MAIL, RCPT and the one
            // BDAT LAST chunk go in one write, one round trip per message.
            opts.chunking = matches!(way, Way::OursBdatReuse);
            let mut conn =
                match smtp_client::Connection::connect_addr(setup.addr, SERVER_NAME, opts).await {
                    Ok(c) => c,
                    Err(e) => return Window::failed(label, e, length),
                };
            let w = smtp_e2e::timed!(label, length, conn.send(envelope(), msg));
            let _ = conn.quit().await;
            w
        }
        Way::OursPerMessage => {
            let opts = our_options(ca, true);
            let server = setup.addr.to_string();
            smtp_e2e::timed!(
                label,
                length,
                smtp_client::send(&server, opts.clone(), envelope(), msg)
            )
        }
        Way::LettrePool => {
            let t = lettre_transport(setup, tls, PoolConfig::new());
            let env = lettre_envelope();
            let w = smtp_e2e::timed!(label, length, t.send_raw(&env, msg));
            t.shutdown().await;
            w
        }
        Way::LettrePerMessage => {
            let t = lettre_transport(setup, tls, PoolConfig::new().max_size(0));
            let env = lettre_envelope();
            let w = smtp_e2e::timed!(label, length, t.send_raw(&env, msg));
            t.shutdown().await;
            w
        }
        Way::LettreConn => {
            let hello = ClientId::Domain(HELLO.to_owned());
            let connected = async {
                let mut c = AsyncSmtpConnection::connect_tokio1(
                    setup.addr,
                    Some(Duration::from_secs(30)),
                    &hello,
                    None,
                    None,
                )
                .await?;
                if let Tls::Required(params) = lettre_tls(setup, tls) {
                    c.starttls(params, &hello).await?;
                }
                Ok::<_, lettre::transport::smtp::Error>(c)
            };
            let mut conn = match connected.await {
                Ok(c) => c,
                Err(e) => return Window::failed(label, e, length),
            };
            let env = lettre_envelope();
            let w = smtp_e2e::timed!(label, length, conn.send(&env, msg));
            let _ = conn.quit().await;
            w
        }
    }
}
