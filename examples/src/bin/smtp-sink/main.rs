//! smtp-sink: a receiving SMTP (or LMTP) server for tests and labs, with STARTTLS and
//! implicit TLS, built on `smtp-server`.
//!
//! ```text
//! smtp-sink --listen 127.0.0.1:2525 --hostname localhost --write-cert ca.pem --out mail/
//! smtp-sink --fault 'rcpt:*@bounce.test=550 5.1.1 No such user' --http 127.0.0.1:8025
//! ```
//!
//! For harnesses in any language: `--fault` plays scripted faults (the rule syntax of
//! `smtp_server::testing::Rule`), `--cert-kind` presents a bad certificate, and
//! `--http` serves captured messages and the rules as JSON (also the message endpoints
//! of Mailpit's API that its client libraries use).

mod http;

use clap::Parser;
use smtp_server::testing::{Faults, Mailbox, Message, SessionRecord};
use smtp_server::{
    Body, ConnectionLimits, Context, Credentials, Decision, Domain, EnhancedCode, Handler,
    Listener, Mechanism, Outcome, Server, ServerOptions, Session, TlsConfig, Transaction,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// A receiving SMTP server for tests and labs.
#[derive(Parser, Debug)]
#[command(name = "smtp-sink", version)]
struct Args {
    /// Address for SMTP with STARTTLS.
    #[arg(long, default_value = "127.0.0.1:2525")]
    listen: SocketAddr,
    /// Address for implicit TLS (RFC 8314, like port 465).
    #[arg(long)]
    listen_tls: Option<SocketAddr>,
    /// The name in the banner and the EHLO reply (and of a generated certificate).
    #[arg(long, default_value = "localhost")]
    hostname: String,
    /// Certificate chain (PEM); without it a self-signed certificate is generated.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Write the generated certificate here (PEM), for clients to trust.
    #[arg(long, conflicts_with = "cert")]
    write_cert: Option<PathBuf>,
    /// Store each accepted message as DIR/ID.eml; without it messages are counted
    /// and discarded.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Largest message accepted, in bytes (advertised as SIZE).
    #[arg(long, value_name = "BYTES")]
    max_size: Option<u64>,
    /// Most recipients per message.
    #[arg(long, value_name = "N")]
    max_recipients: Option<usize>,
    /// Refuse MAIL before STARTTLS.
    #[arg(long)]
    require_tls: bool,
    /// Offer AUTH PLAIN and LOGIN (after TLS only) and accept these credentials.
    #[arg(long, value_name = "USER:PASS")]
    auth: Option<String>,
    /// Speak LMTP (RFC 2033) instead of SMTP.
    #[arg(long)]
    lmtp: bool,
    /// Connections at once, over all listeners; past it new ones get `421 4.7.0`.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_connections: usize,
    /// Connections at once from one client address.
    #[arg(long, value_name = "N", default_value_t = 50)]
    max_per_ip: usize,
    /// No log line per session (for load tests); warnings and errors still show.
    #[arg(long)]
    quiet: bool,
    /// Worker threads (default: one per CPU). `--threads 1` runs every session on one
    /// thread, as single-process servers such as Postfix's `smtp-sink` do: no wake-ups
    /// between threads, the least CPU per message when something else needs the cores.
    #[arg(long, value_name = "N")]
    threads: Option<std::num::NonZeroUsize>,
    /// A fault rule, `STAGE[:QUALIFIER]...=ACTION` (repeat for more), e.g.
    /// `rcpt:*@bounce.test=550 5.1.1 No such user`, `data:times=2=451 4.3.0 Try later`,
    /// `starttls=hide`, `cert=expired`, `mail=delay=2s`, `eod=close`. Stages: connect,
    /// greeting, ehlo, starttls, cert, auth, mail, rcpt, data, bdat, eod, rset, quit,
    /// noop, other. Qualifiers: an address pattern (`*`, `?`), `times=N`, `nth=N`,
    /// `every=N`, `p=P:seed=S`. Actions: a reply (`\n` between lines), `delay=DUR`, `drip[=DUR]`,
    /// `close`, `close-after=N`, `hide`, a certificate kind, `inject=TEXT`,
    /// `unsolicited=REPLY`, `malformed`, `endless`.
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<String>,
    /// Present this certificate instead of a good one: expired, not-yet-valid,
    /// self-signed, wrong-name or weak (SHA-1 signed). The CA to trust (--write-cert)
    /// signed them all but self-signed.
    #[arg(long, value_name = "KIND")]
    cert_kind: Option<String>,
    /// Serve the captured messages and the fault rules as JSON on this address (also
    /// Mailpit's `/api/v1` message endpoints); messages are then kept in memory.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
}

struct Sink {
    out: Option<PathBuf>,
    auth: Option<(String, String)>,
    /// With `--http`: the messages and sessions kept for the API.
    mailbox: Option<Mailbox>,
    /// With `--fault`, `--cert-kind` or `--http`: the rules (and the transcripts).
    faults: Option<Faults>,
}

struct SinkSession {
    sink: Arc<Sink>,
}

struct SinkHandler(Arc<Sink>);

impl Handler for SinkHandler {
    type Session = SinkSession;
    async fn connect(&self, _: &Context) -> Result<SinkSession, smtp_server::proto::Reply> {
        Ok(SinkSession {
            sink: self.0.clone(),
        })
    }
}

impl Session for SinkSession {
    async fn auth(&mut self, _: &Context, c: &Credentials) -> Decision {
        match &self.sink.auth {
            Some((u, p)) if *u == c.username && p == c.password.expose() => Decision::Accept,
            _ => Decision::auth_failed(),
        }
    }

    async fn data(&mut self, ctx: &Context, env: &Transaction, body: &mut Body<'_>) -> Decision {
        // The id of our Received: header is the queue id: the 250 text and the file
        // name carry the same one.
        let id = ctx.queue_id().unwrap_or("unknown").to_owned();
        tracing::debug!(id, from = %env.from, recipients = env.recipients.len(), "message");
        if let Some(mailbox) = &self.sink.mailbox {
            return self.capture(ctx, env, body, mailbox, &id).await;
        }
        let Some(dir) = &self.sink.out else {
            // Count and discard, streaming.
            loop {
                match body.next().await {
                    Ok(Some(_)) => {}
                    Ok(None) => return queued(&id),
                    Err(e) => return failed(ctx, &e.to_string()),
                }
            }
        };
        match store(dir, &id, body, |b| !b.refused_by_fault(env)).await {
            Ok(()) => queued(&id),
            Err(e) => failed(ctx, &e),
        }
    }

    fn close(&mut self, ctx: &Context, outcome: &Outcome) {
        if let Some(mailbox) = &self.sink.mailbox {
            let record = SessionRecord::from_parts(ctx, outcome, self.transcript(ctx));
            mailbox.push_session(record);
        }
        let tls = ctx.tls().map_or("none".to_owned(), |t| {
            format!(
                "{} {} {}",
                t.info.version(),
                t.info.cipher(),
                t.key_exchange.as_deref().unwrap_or("-")
            )
        });
        tracing::info!(
            peer = %ctx.peer(),
            tls = %tls,
            user = ctx.user().unwrap_or("-"),
            accepted = outcome.accepted,
            rejected = outcome.rejected,
            refused_recipients = outcome.refused_recipients,
            error = outcome.error.as_deref().unwrap_or("-"),
            "session"
        );
    }
}

impl SinkSession {
    fn transcript(&self, ctx: &Context) -> smtp_server::testing::Transcript {
        let faults = self.sink.faults.as_ref();
        faults
            .and_then(|f| f.transcript(ctx.id()))
            .unwrap_or_default()
    }

    /// `--http`: the message kept in memory for the API (and stored with `--out`),
    /// unless a fault rule refuses it.
    async fn capture(
        &self,
        ctx: &Context,
        env: &Transaction,
        body: &mut Body<'_>,
        mailbox: &Mailbox,
        id: &str,
    ) -> Decision {
        let mut data = Vec::new();
        if let Err(e) = tokio::io::copy(body, &mut data).await {
            return failed(ctx, &e.to_string());
        }
        let refused = body.refused_by_fault(env);
        if let Some(dir) = &self.sink.out
            && let Err(e) = store(dir, id, &mut &data[..], |_| !refused).await
        {
            return failed(ctx, &e);
        }
        if !refused {
            let transcript = self.transcript(ctx);
            mailbox.push(Message::from_parts(ctx, env, data.into(), transcript));
        }
        queued(id)
    }
}

/// Writes `DIR/ID.eml` under a temporary name, renamed once complete and only if `keep`
/// says so then (a fault rule may refuse the message): a message that is not accepted
/// never appears as a .eml file.
async fn store<R: tokio::io::AsyncRead + Unpin>(
    dir: &std::path::Path,
    id: &str,
    body: &mut R,
    keep: impl FnOnce(&R) -> bool,
) -> Result<(), String> {
    let tmp = dir.join(format!(".{id}.tmp"));
    let done = dir.join(format!("{id}.eml"));
    let result = async {
        let mut f = tokio::fs::File::create(&tmp).await?;
        tokio::io::copy(body, &mut f).await?;
        f.sync_all().await?;
        drop(f);
        if !keep(body) {
            return tokio::fs::remove_file(&tmp).await;
        }
        tokio::fs::rename(&tmp, &done).await?;
        // The rename itself is durable only once the directory is synced: only then
        // may the client be told 250 (RFC 5321 §6.1, the receiver is responsible).
        tokio::fs::File::open(dir).await?.sync_all().await
    }
    .await;
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", tmp.display())
    })
}

fn queued(id: &str) -> Decision {
    let text = format!("Ok: queued as {id}");
    Decision::reply(250, EnhancedCode::OK, &text).unwrap_or(Decision::Accept)
}

fn failed(ctx: &Context, why: &str) -> Decision {
    tracing::warn!(peer = %ctx.peer(), error = why, "message not stored");
    Decision::temporary_failure()
}

/// Creates `--out`, checks that a file can be written there, and removes the
/// temporary files a killed earlier run may have left.
fn prepare_out(dir: &std::path::Path) -> Result<(), String> {
    let bad = |e: std::io::Error| format!("--out {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(bad)?;
    let probe = dir.join(format!(".probe-{}.tmp", std::process::id()));
    std::fs::write(&probe, b"").map_err(bad)?;
    std::fs::remove_file(&probe).map_err(bad)?;
    for entry in std::fs::read_dir(dir).map_err(bad)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// A self-signed certificate for `hostname` and the listening addresses.
fn self_signed(hostname: &str, addrs: &[SocketAddr]) -> Result<(String, String), String> {
    let mut params = rcgen::CertificateParams::new(vec![hostname.to_owned()])
        .map_err(|e| format!("certificate for {hostname}: {e}"))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hostname);
    for a in addrs {
        if !a.ip().is_unspecified() {
            params
                .subject_alt_names
                .push(rcgen::SanType::IpAddress(a.ip()));
        }
    }
    // Valid from an hour ago (clock skew) for a year.
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365);
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The rules of `--fault` and `--cert-kind`; `Some` (maybe empty) when any of them or
/// `--http` is given.
fn fault_rules(args: &Args) -> Result<Option<Faults>, String> {
    if args.faults.is_empty() && args.cert_kind.is_none() && args.http.is_none() {
        return Ok(None);
    }
    let faults = Faults::new();
    if let Some(kind) = &args.cert_kind {
        faults
            .add_str(&format!("cert={kind}"))
            .map_err(|e| format!("--cert-kind {kind}: {e}"))?;
    }
    for rule in &args.faults {
        faults
            .add_str(rule)
            .map_err(|e| format!("--fault {rule}: {e}"))?;
    }
    Ok(Some(faults))
}

async fn run(args: Args) -> Result<(), String> {
    let hostname =
        Domain::new(&args.hostname).map_err(|e| format!("--hostname {}: {e}", args.hostname))?;
    let mut opts = ServerOptions::new(hostname);
    if let Some(n) = args.max_size {
        opts.max_message_size = n;
    }
    if let Some(n) = args.max_recipients {
        opts.max_recipients = n;
    }
    opts.require_tls = args.require_tls;
    opts.lmtp = args.lmtp;
    let auth = match &args.auth {
        Some(s) => {
            let (u, p) = s
                .split_once(':')
                .ok_or_else(|| "--auth must be USER:PASS".to_owned())?;
            opts.auth_mechanisms = vec![Mechanism::PLAIN, Mechanism::LOGIN];
            Some((u.to_owned(), p.to_owned()))
        }
        None => None,
    };
    let faults = fault_rules(&args)?;
    let mut addrs = vec![args.listen];
    addrs.extend(args.listen_tls);
    let tls = match (&args.cert, &args.key, &faults) {
        (Some(c), Some(k), _) => TlsConfig::from_pem_files(c, k).map_err(|e| e.to_string())?,
        (_, _, Some(faults)) => {
            // With fault rules: a CA made now, the good certificate and the bad ones
            // from it; --write-cert gets the CA certificates to trust.
            let mut names = vec![args.hostname.clone()];
            names.extend(
                addrs
                    .iter()
                    .filter(|a| !a.ip().is_unspecified())
                    .map(|a| a.ip().to_string()),
            );
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let pki = faults
                .install_test_certificates(&names)
                .map_err(|e| e.to_string())?;
            if let Some(path) = &args.write_cert {
                std::fs::write(path, &pki.ca_pem)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
            }
            pki.tls
        }
        _ => {
            let (cert, key) = self_signed(&args.hostname, &addrs)?;
            if let Some(path) = &args.write_cert {
                std::fs::write(path, &cert)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
            }
            TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).map_err(|e| e.to_string())?
        }
    };
    if let Some(dir) = &args.out {
        prepare_out(dir)?;
    }
    if let Some(faults) = &faults
        && args.cert.is_some()
    {
        // Your own certificate is the good one; the bad ones come from a CA made now.
        faults
            .install_test_certificates(&[args.hostname.as_str()])
            .map_err(|e| e.to_string())?;
    }
    let mailbox = args.http.map(|_| Mailbox::new());
    let sink = Arc::new(Sink {
        out: args.out.clone(),
        auth,
        mailbox: mailbox.clone(),
        faults: faults.clone(),
    });
    let mut builder = Server::builder(opts, SinkHandler(sink))
        .listener(Listener::starttls(args.listen))
        .limits(ConnectionLimits {
            max_connections: args.max_connections.max(1),
            max_per_ip: args.max_per_ip.max(1),
        })
        .tls(tls);
    if let Some(a) = args.listen_tls {
        builder = builder.listener(Listener::implicit_tls(a));
    }
    if let Some(f) = &faults {
        builder = builder.faults(f.clone());
    }
    // Signal handlers first: a SIGTERM right after `listening on` is a clean stop.
    let stop = shutdown_signal().map_err(|e| format!("signal handlers: {e}"))?;
    let server = builder.bind().await.map_err(|e| e.to_string())?;
    if let (Some(addr), Some(mailbox), Some(faults)) = (args.http, mailbox, faults) {
        let bound = http::serve(addr, mailbox, faults).await?;
        println!("http on {bound}");
    }
    for a in server.local_addrs() {
        println!("listening on {a}");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server.serve(stop).await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT or SIGTERM; the handlers are installed at once.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    smtp_examples::init_logging(if args.quiet {
        "warn"
    } else {
        "info,smtp_server=warn"
    });
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.get());
    }
    let runtime = match runtime.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("smtp-sink: cannot start the runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smtp-sink: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
