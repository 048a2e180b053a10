//! report: writes BENCHMARKS.md from what `run` collected. Never edit BENCHMARKS.md by
//! hand: change this program, `run`, or the commentary in `limits.md`, and run again.
//!
//! ```text
//! report --dir RESULTS_DIR --limits benches/e2e/limits.md --out BENCHMARKS.md
//! ```
//!
//! `RESULTS_DIR` holds `results.tsv` and `machine.tsv` (`key<TAB>value` lines; a later
//! line wins), `commands.md` (the commands run, verbatim), and, when they were made,
//! `compare.md` (the comparison harness's output) and `profile.txt` (a `perf report`
//! excerpt).

use clap::Parser;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "report")]
struct Args {
    #[arg(long)]
    dir: PathBuf,
    #[arg(long)]
    limits: PathBuf,
    #[arg(long)]
    out: PathBuf,
}

struct Data(HashMap<String, String>);

impl Data {
    fn load(path: &Path) -> Self {
        let mut map = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(path) {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('\t') {
                    map.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
        }
        Self(map)
    }

    fn s(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn f(&self, key: &str) -> Option<f64> {
        self.s(key).and_then(|v| v.parse().ok())
    }

    /// `median (min–max)` of a key printed with its `.min` and `.max`.
    fn spread(&self, key: &str) -> String {
        match (
            self.f(key),
            self.f(&format!("{key}.min")),
            self.f(&format!("{key}.max")),
        ) {
            (Some(m), Some(lo), Some(hi)) => format!("{} ({}–{})", num(m), num(lo), num(hi)),
            (Some(m), _, _) => num(m),
            _ => "not measured".to_owned(),
        }
    }
}

/// A number for a table: thousands grouped, three significant digits below 100.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_owned();
    }
    if x.abs() >= 100.0 {
        let s = format!("{:.0}", x);
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "not measured".to_owned(), num)
}

/// A ratio for the targets table: "—" where the row has none.
fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), num)
}

/// One target: what is compared, the figure, the reference, the ratio, the target.
struct Target {
    row: String,
    figure: String,
    reference: String,
    value: Option<f64>,
    target: String,
    met: Option<bool>,
}

impl Target {
    fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        }
    }
}

fn main() {
    let args = Args::parse();
    let r = Data::load(&args.dir.join("results.tsv"));
    let m = Data::load(&args.dir.join("machine.tsv"));
    let read = |name: &str| std::fs::read_to_string(args.dir.join(name)).ok();
    let mut out = String::new();
    let o = &mut out;

    writeln!(o, "# Benchmarks").unwrap();
    writeln!(o).unwrap();
    writeln!(
        o,
        "Written by `bash benches/e2e/run{}` ({}); do not edit by hand: \
         `benches/e2e/README.md` says what each figure is and how it is measured, and \
         running the script again replaces this file.",
        if m.s("quick") == Some("yes") {
            " --quick"
        } else {
            ""
        },
        m.s("date").unwrap_or("?")
    )
    .unwrap();
    writeln!(o).unwrap();
    writeln!(o, "## Machine").unwrap();
    writeln!(o).unwrap();
    for (label, key) in [
        ("CPUs (`nproc`)", "nproc"),
        ("CPU", "cpu"),
        ("kernel", "kernel"),
        ("rustc", "rustc"),
        ("Postfix (smtp-sink, smtp-source)", "postfix"),
        ("load average before the run", "loadavg"),
        ("date (UTC)", "date"),
        ("git commit measured", "commit"),
    ] {
        writeln!(o, "- {label}: {}", m.s(key).unwrap_or("?")).unwrap();
    }
    let quiet: Vec<String> = ["server", "tls", "client", "memory", "compare"]
        .iter()
        .filter_map(|k| r.s(&format!("quiet.{k}")).map(|v| format!("{k} {v}")))
        .collect();
    if !quiet.is_empty() {
        writeln!(
            o,
            "- CPUs busy in the second before each section (the script waits up to 2 \
             minutes for under 15 %): {}",
            quiet.join("; ")
        )
        .unwrap();
    }
    writeln!(o).unwrap();
    writeln!(
        o,
        "Everything runs on this one machine over 127.0.0.1, one load at a time: the \
         load generator and the server under test share the CPUs, so the figures move \
         with anything else the machine does (another build during a run can halve a \
         figure). Compare ratios rather than absolute figures across machines."
    )
    .unwrap();

    // ---- Targets
    let mut targets = Vec::new();
    for (mode, mode_text) in [
        ("conn", "a connection per message"),
        ("reuse", "reused connections (`-d`)"),
    ] {
        for s in ["1", "20"] {
            let ours = r.f(&format!("server.ours.{mode}.s{s}.cpu_us_per_msg"));
            let pf = r.f(&format!("server.postfix.{mode}.s{s}.cpu_us_per_msg"));
            let ratio = ours.zip(pf).map(|(a, b)| b / a);
            targets.push(Target {
                row: format!("server CPU per message, smtp-source, {mode_text}, {s} session(s), pinned to one CPU"),
                figure: format!("ours {} µs", opt(ours)),
                reference: format!("Postfix smtp-sink {} µs", opt(pf)),
                value: ratio,
                target: "Postfix ÷ ours ≥ 1.5".into(),
                met: ratio.map(|x| x >= 1.5),
            });
        }
    }
    for (k, text) in [("full", "full handshakes"), ("resume", "resumed sessions")] {
        let ours = r.f(&format!("tls.{k}.starttls"));
        let bare = r.f(&format!("tls.{k}.bare"));
        let ratio = ours.zip(bare).map(|(a, b)| a / b);
        targets.push(Target {
            row: format!("STARTTLS sessions/s, {text}"),
            figure: format!("ours {}/s", opt(ours)),
            reference: format!("bare tokio-rustls {}/s", opt(bare)),
            value: ratio,
            target: "ours ÷ bare ≥ 0.80".into(),
            met: ratio.map(|x| x >= 0.8),
        });
    }
    for (prefix, sink) in [
        ("client", "against our smtp-sink"),
        ("clientq", "against quickack-sink (no delayed ACKs)"),
    ] {
        let ours = r.f(&format!("{prefix}.ours.reuse.plain"));
        let pool = r.f(&format!("{prefix}.lettre-pool.reuse.plain"));
        let conn = r.f(&format!("{prefix}.lettre-conn.reuse.plain"));
        let best = match (pool, conn) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let ratio = ours.zip(best).map(|(a, b)| a / b);
        targets.push(Target {
            row: format!("client messages/s, one reused connection, plaintext, {sink}"),
            figure: format!("ours {}/s", opt(ours)),
            reference: format!(
                "lettre {}/s (the better of its pool and one connection)",
                opt(best)
            ),
            value: ratio,
            target: "ours ÷ lettre ≥ 3".into(),
            met: ratio.map(|x| x >= 3.0),
        });
        let ours = r.f(&format!("{prefix}.ours.per-message.starttls"));
        let lettre = r.f(&format!("{prefix}.lettre.per-message.starttls"));
        let ratio = ours.zip(lettre).map(|(a, b)| a / b);
        targets.push(Target {
            row: format!("client messages/s, a connection per message, STARTTLS, {sink}"),
            figure: format!("ours {}/s", opt(ours)),
            reference: format!("lettre {}/s", opt(lettre)),
            value: ratio,
            target: "ours ÷ lettre ≥ 1".into(),
            met: ratio.map(|x| x >= 1.0),
        });
    }
    let per_session = |who: &str, kind: &str| -> Option<f64> {
        let n = r.f(&format!("mem.{who}.{kind}.open"))?;
        let before = r.f(&format!("mem.{who}.{kind}.rss_before_kib"))?;
        let after = r.f(&format!("mem.{who}.{kind}.rss_after_kib"))?;
        (n > 0.0).then(|| (after - before) * 1024.0 / n)
    };
    // The second half's growth over the second half's sessions.
    let marginal = |who: &str, kind: &str| -> Option<f64> {
        let n = r.f(&format!("mem.{who}.{kind}.open"))?;
        let h = r.f(&format!("mem.{who}.{kind}.half_open"))?;
        let half = r.f(&format!("mem.{who}.{kind}.rss_half_kib"))?;
        let after = r.f(&format!("mem.{who}.{kind}.rss_after_kib"))?;
        (n > h && half > 0.0).then(|| (after - half) * 1024.0 / (n - h))
    };
    for (kind, text, limit) in [
        ("plain", "plaintext (greeting and EHLO done)", 4096.0),
        ("tls", "TLS (STARTTLS and EHLO done)", 12288.0),
    ] {
        let v = per_session("ours", kind);
        let m = marginal("ours", kind);
        let n = r.f(&format!("mem.ours.{kind}.open"));
        let (reference, ratio) = if kind == "plain" {
            let pf = per_session("postfix", "plain");
            (
                format!("Postfix smtp-sink {} bytes", opt(pf)),
                v.zip(pf).map(|(a, b)| a / b),
            )
        } else {
            ("—".into(), None)
        };
        targets.push(Target {
            row: format!("sink RSS per idle session, {} {text}", opt(n)),
            figure: format!("{} bytes", opt(v)),
            reference,
            value: ratio,
            target: format!("≤ {} bytes", num(limit)),
            met: v.map(|x| x <= limit),
        });
        targets.push(Target {
            row: format!(
                "the same, second half only (sessions {}–{}: fixed costs paid)",
                opt(r.f(&format!("mem.ours.{kind}.half_open")).map(|h| h + 1.0)),
                opt(n)
            ),
            figure: format!("{} bytes", opt(m)),
            reference: if kind == "plain" {
                format!(
                    "Postfix smtp-sink {} bytes",
                    opt(marginal("postfix", "plain"))
                )
            } else {
                "—".into()
            },
            value: None,
            target: format!("≤ {} bytes", num(limit)),
            met: m.map(|x| x <= limit),
        });
    }
    {
        let hwm = r.f("mem.big.hwm_after_kib");
        targets.push(Target {
            row: format!(
                "sink peak RSS (VmHWM) receiving one {} MiB message",
                r.f("big.bytes")
                    .map_or("100".into(), |b| format!("{:.0}", b / 1048576.0))
            ),
            figure: format!("{} KiB", opt(hwm)),
            reference: format!("{} KiB before it", opt(r.f("mem.big.hwm_before_kib"))),
            value: None,
            target: "< 16 MiB".into(),
            met: hwm.map(|k| k < 16.0 * 1024.0),
        });
    }

    writeln!(o).unwrap();
    writeln!(o, "## Targets").unwrap();
    writeln!(o).unwrap();
    writeln!(o, "| row | figure | reference | ratio | target | result |").unwrap();
    writeln!(o, "|---|---:|---:|---:|---|---|").unwrap();
    for t in &targets {
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            t.row,
            t.figure,
            t.reference,
            ratio(t.value),
            t.target,
            t.verdict()
        )
        .unwrap();
    }
    let missed: Vec<&Target> = targets.iter().filter(|t| t.met == Some(false)).collect();
    writeln!(o).unwrap();
    writeln!(
        o,
        "{} of {} targets met{}.",
        targets.iter().filter(|t| t.met == Some(true)).count(),
        targets.len(),
        if missed.is_empty() {
            String::new()
        } else {
            "; what limits the others is under \"What limits the missed targets\" below".into()
        }
    )
    .unwrap();

    // ---- 1. Server
    writeln!(o).unwrap();
    writeln!(
        o,
        "## 1. Server: our smtp-sink against Postfix smtp-sink, under Postfix smtp-source"
    )
    .unwrap();
    writeln!(o).unwrap();
    writeln!(
        o,
        "smtp-source sends HELO (not EHLO) and does not pipeline; messages are `-l {}` \
         bytes of payload plus its headers. Both sinks run at once (idle but for their \
         turn), each under GNU time; after a calibration run each (which also warms them \
         up) they get the same message count, about {} s of load for the slower, in {} \
         alternating round(s) (pinned; one round unpinned). CPU is the sink process's own user + system time: per \
         round from /proc/PID/stat (clock ticks), and over all rounds from wait4 (GNU \
         time, less what the sink had used before the first round), divided by the \
         messages smtp-source sent.",
        r.s("server.payload").unwrap_or("1024"),
        r.s("server.seconds").unwrap_or("?"),
        r.s("server.rounds").unwrap_or("?"),
    )
    .unwrap();
    writeln!(o).unwrap();
    writeln!(
        o,
        "**Pinned** (the rows the targets use): each sink and smtp-source run on CPU 0 \
         only (`taskset -c 0`), taking turns on it; our sink's tokio runtime then has \
         one worker thread, as Postfix's sink has one process. **Unpinned** (context, \
         one round each): as the scheduler places them. On this virtual machine a wakeup \
         across CPUs costs the woken process tens of microseconds of its own CPU time, \
         so unpinned figures vary several-fold between runs with where the processes \
         land, more than between the two sinks."
    )
    .unwrap();
    for (prefix, title) in [("server", "Pinned to CPU 0"), ("serveru", "Unpinned")] {
        writeln!(o).unwrap();
        writeln!(o, "{title}:").unwrap();
        writeln!(o).unwrap();
        writeln!(o, "| load | sink | messages per round | messages/s | CPU µs/message, per round | CPU µs/message, wait4 (user + sys) | CPU ÷ Postfix's |").unwrap();
        writeln!(o, "|---|---|---:|---:|---:|---:|---:|").unwrap();
        for (mode, mode_text) in [
            ("conn", "connection per message"),
            ("reuse", "reused connections (`-d`)"),
        ] {
            for s in ["1", "20"] {
                let pf = r.f(&format!("{prefix}.postfix.{mode}.s{s}.cpu_us_per_msg"));
                for (sink, name) in [("ours", "ours"), ("postfix", "Postfix")] {
                    let k = format!("{prefix}.{sink}.{mode}.s{s}");
                    let cpu = r.f(&format!("{k}.cpu_us_per_msg"));
                    let split = match (
                        r.f(&format!("{k}.user_us_per_msg")),
                        r.f(&format!("{k}.sys_us_per_msg")),
                    ) {
                        (Some(u), Some(y)) => format!(" ({} + {})", num(u), num(y)),
                        _ => String::new(),
                    };
                    writeln!(
                        o,
                        "| {mode_text}, `-s {s}` | {name} | {} | {} | {} | {}{split} | {} |",
                        opt(r.f(&format!("{k}.messages"))),
                        r.spread(&format!("{k}.msgs_per_s")),
                        r.spread(&format!("{k}.cpu_us_per_msg")),
                        opt(r.f(&format!("{k}.cpu_us_per_msg_wait4"))),
                        opt(cpu.zip(pf).map(|(a, b)| a / b)),
                    )
                    .unwrap();
                    if let Some(e) = r.s(&format!("{k}.error")) {
                        writeln!(o, "| | {name}: {e} | | | | | |").unwrap();
                    }
                }
            }
        }
    }
    writeln!(o).unwrap();
    writeln!(
        o,
        "Lines our sink wrote on stderr (with `--quiet` only warnings and errors): {} in \
         the server runs, {} in the STARTTLS runs, {} in the client runs, {} in the \
         memory runs.",
        r.s("server.ours.stderr_lines").unwrap_or("?"),
        r.s("tls.sink_stderr_lines").unwrap_or("?"),
        r.s("client.sink_stderr_lines").unwrap_or("?"),
        r.s("mem.sink_stderr_lines").unwrap_or("?"),
    )
    .unwrap();

    // ---- 2. TLS
    writeln!(o).unwrap();
    writeln!(o, "## 2. STARTTLS sessions against bare rustls handshakes").unwrap();
    writeln!(o).unwrap();
    writeln!(
        o,
        "A STARTTLS session: our client (`Connection::connect_addr`, then `quit`) against \
         our smtp-sink: TCP connect, greeting, EHLO, STARTTLS, handshake and certificate \
         verification, EHLO, QUIT. A bare session: tokio-rustls client and server with the \
         same certificate, the sink's own rustls `ServerConfig` and both crates' crypto \
         providers (the same key-exchange groups): TCP connect, handshake, one line from \
         the server, close. {} sessions in flight from one client thread; alternating \
         windows of {} s, median (min–max) over {} window(s) each. CPU per session: the \
         client process's and the server process's user + system time over all windows \
         of the row (/proc/PID/stat), divided by the sessions completed.",
        r.s("tls.concurrency").unwrap_or("?"),
        r.s("tls.seconds").unwrap_or("?"),
        r.s("tls.rounds").unwrap_or("?"),
    )
    .unwrap();
    writeln!(o).unwrap();
    writeln!(o, "| sessions | kind | sessions/s | ours ÷ bare | client CPU µs/session | server CPU µs/session | resumed | negotiated | errors |").unwrap();
    writeln!(o, "|---|---|---:|---:|---:|---:|---|---|---:|").unwrap();
    for (k, text) in [
        ("full", "full handshakes (resumption off)"),
        ("resume", "resumption on"),
    ] {
        let bare = r.f(&format!("tls.{k}.bare"));
        for (who, name) in [
            ("starttls", "STARTTLS, ours"),
            ("bare", "bare tokio-rustls"),
        ] {
            let key = format!("tls.{k}.{who}");
            let ratio = if who == "starttls" {
                opt(r.f(&key).zip(bare).map(|(a, b)| a / b))
            } else {
                String::new()
            };
            writeln!(
                o,
                "| {text} | {name} | {} | {ratio} | {} | {} | {} | {} | {} |",
                r.spread(&key),
                opt(r.f(&format!("{key}.client_us"))),
                opt(r.f(&format!("{key}.server_us"))),
                r.s(&format!("{key}.resumed")).unwrap_or("?"),
                r.s(&format!("{key}.tls")).unwrap_or("?"),
                r.s(&format!("{key}.errors")).unwrap_or("?"),
            )
            .unwrap();
        }
    }

    // ---- 3. Client
    writeln!(o).unwrap();
    writeln!(o, "## 3. Client: our smtp-client against lettre 0.11").unwrap();
    writeln!(o).unwrap();
    writeln!(
        o,
        "Both send the same {}-byte message (headers included), one at a time from one \
         thread. STARTTLS is verified against the benchmark CA; TLS session resumption is \
         on in both (their default). Alternating windows of {} s after a warm-up, median \
         (min–max) over {} window(s). lettre's pool sends NOOP before it reuses a \
         connection. Client CPU: the client process's user + system time over its \
         windows (/proc/self/stat; per-message connections include the QUIT and close \
         lettre's pool runs in a spawned task), divided by the messages sent.",
        r.s("client.size").unwrap_or("1024"),
        r.s("client.seconds").unwrap_or("?"),
        r.s("client.rounds").unwrap_or("?"),
    )
    .unwrap();
    writeln!(o).unwrap();
    writeln!(
        o,
        "Two sinks. **Our smtp-sink** (`--quiet`), the sink the targets name. lettre \
         leaves Nagle's algorithm on and writes a message in two pieces (the body, then \
         `CRLF.CRLF`): the second waits until the first is acknowledged, and a receiver \
         that has nothing to answer before the end of the data delays its ACK (about \
         40 ms on Linux), so against this sink, as against Postfix's smtp-sink, lettre is \
         capped near 25 messages/s by the timer, not by its code. **quickack-sink** \
         (`benches/e2e/src/bin/quickack-sink.rs`): the same smtp-server code with \
         `TCP_QUICKACK` re-armed after every read and write, so that no ACK is delayed; \
         there lettre runs at its own speed, and the comparison is of the two clients' \
         code."
    )
    .unwrap();
    for (prefix, title) in [("client", "our smtp-sink"), ("clientq", "quickack-sink")] {
        writeln!(o).unwrap();
        writeln!(o, "Against {title}:").unwrap();
        writeln!(o).unwrap();
        writeln!(o, "| client | connections | plaintext, messages/s | STARTTLS, messages/s | client CPU µs/message (plain / TLS) | errors (plain / TLS) |").unwrap();
        writeln!(o, "|---|---|---:|---:|---:|---:|").unwrap();
        for (k, client, conns) in [
            ("ours.reuse", "ours (`Connection::send`)", "one, reused"),
            (
                "ours-bdat.reuse",
                "ours, BDAT (`chunking: true`; not the default)",
                "one, reused",
            ),
            (
                "lettre-pool.reuse",
                "lettre (`AsyncSmtpTransport`, default pool)",
                "pooled, reused",
            ),
            (
                "lettre-conn.reuse",
                "lettre (`AsyncSmtpConnection::send`)",
                "one, reused",
            ),
            (
                "ours.per-message",
                "ours (`smtp_client::send`)",
                "one per message",
            ),
            (
                "lettre.per-message",
                "lettre (`AsyncSmtpTransport`, pool `max_size(0)`)",
                "one per message",
            ),
        ] {
            writeln!(
                o,
                "| {client} | {conns} | {} | {} | {} / {} | {} / {} |",
                r.spread(&format!("{prefix}.{k}.plain")),
                r.spread(&format!("{prefix}.{k}.starttls")),
                opt(r.f(&format!("{prefix}.{k}.plain.cpu_us"))),
                opt(r.f(&format!("{prefix}.{k}.starttls.cpu_us"))),
                r.s(&format!("{prefix}.{k}.plain.errors")).unwrap_or("?"),
                r.s(&format!("{prefix}.{k}.starttls.errors")).unwrap_or("?"),
            )
            .unwrap();
        }
    }

    // ---- 4. Memory
    writeln!(o).unwrap();
    writeln!(o, "## 4. Memory of the sink").unwrap();
    writeln!(o).unwrap();
    writeln!(
        o,
        "Idle sessions: one process (our client) opens the sessions and holds them; the \
         sink's VmRSS is read from /proc/PID/status before the first and once all are \
         open, and the difference is divided by the sessions open (the targets' \
         definition). The sessions are opened in two halves and VmRSS is read between \
         them too: the second half's growth over its sessions is the cost of one more \
         session once the costs the first sessions bring in once are paid (what the \
         allocator, tokio and rustls set up on first use, rustls' session cache of at \
         most 256 entries). A fresh sink for each row. Large message: a fresh sink (`--max-size` raised, messages counted \
         and discarded), one message streamed through our client in plaintext; VmHWM is \
         the sink's peak resident memory."
    )
    .unwrap();
    writeln!(o).unwrap();
    writeln!(o, "| sink | sessions | open (failed) | VmRSS before, KiB | at half, KiB | after, KiB | bytes per session | second half, bytes per session |").unwrap();
    writeln!(o, "|---|---|---:|---:|---:|---:|---:|---:|").unwrap();
    for (who, kind, name, text) in [
        ("ours", "plain", "ours", "plaintext, greeting + EHLO"),
        ("ours", "tls", "ours", "STARTTLS + EHLO"),
        (
            "postfix",
            "plain",
            "Postfix smtp-sink",
            "plaintext, greeting + EHLO",
        ),
    ] {
        let k = format!("mem.{who}.{kind}");
        if r.s(&format!("{k}.open")).is_none() && who == "postfix" {
            continue;
        }
        writeln!(
            o,
            "| {name} | {text} | {} ({}) | {} | {} | {} | {} | {} |",
            opt(r.f(&format!("{k}.open"))),
            r.s(&format!("{k}.failed")).unwrap_or("?"),
            opt(r.f(&format!("{k}.rss_before_kib"))),
            opt(r.f(&format!("{k}.rss_half_kib"))),
            opt(r.f(&format!("{k}.rss_after_kib"))),
            opt(per_session(who, kind)),
            opt(marginal(who, kind)),
        )
        .unwrap();
    }
    writeln!(o).unwrap();
    writeln!(
        o,
        "One message of {} bytes in {} s ({} MiB/s): the sink's VmHWM went from {} KiB to {} KiB (VmRSS after: {} KiB).",
        opt(r.f("big.bytes")),
        r.s("big.seconds").unwrap_or("?"),
        r.s("big.mib_per_s").unwrap_or("?"),
        opt(r.f("mem.big.hwm_before_kib")),
        opt(r.f("mem.big.hwm_after_kib")),
        opt(r.f("mem.big.rss_after_kib")),
    )
    .unwrap();

    // ---- Commands
    writeln!(o).unwrap();
    writeln!(o, "## Commands").unwrap();
    writeln!(o).unwrap();
    writeln!(o, "As run (temporary paths and ports as they were):").unwrap();
    writeln!(o).unwrap();
    writeln!(o, "```sh").unwrap();
    write!(o, "{}", read("commands.md").unwrap_or_default()).unwrap();
    writeln!(o, "```").unwrap();

    // ---- Comparison harness
    writeln!(o).unwrap();
    writeln!(o, "## Parser comparison (benches/compare)").unwrap();
    writeln!(o).unwrap();
    match read("compare.md") {
        Some(text) if !text.trim().is_empty() => {
            writeln!(
                o,
                "The output of `cargo run --release --manifest-path benches/compare/Cargo.toml`, \
                 as it printed it:"
            )
            .unwrap();
            writeln!(o).unwrap();
            // Its headings one level down, under this one.
            for line in text.lines() {
                if line.starts_with('#') {
                    writeln!(o, "##{line}").unwrap();
                } else {
                    writeln!(o, "{line}").unwrap();
                }
            }
        }
        _ => writeln!(o, "Not run.").unwrap(),
    }

    // ---- Limits
    writeln!(o).unwrap();
    writeln!(o, "## What limits the missed targets").unwrap();
    writeln!(o).unwrap();
    if missed.is_empty() {
        writeln!(o, "No target was missed in this run.").unwrap();
    } else {
        writeln!(o, "Missed in this run:").unwrap();
        writeln!(o).unwrap();
        for t in &missed {
            let ratio = t
                .value
                .map_or(String::new(), |v| format!(", ratio {}", num(v)));
            let against = if t.reference == "—" {
                String::new()
            } else {
                format!(" against {}", t.reference)
            };
            writeln!(
                o,
                "- {}: {}{against}{ratio}; target {}.",
                t.row, t.figure, t.target
            )
            .unwrap();
        }
    }
    writeln!(o).unwrap();
    match std::fs::read_to_string(&args.limits) {
        Ok(text) => {
            for line in text.lines() {
                // The commentary's own headings, one level down.
                if line.starts_with("# ") {
                    continue;
                }
                if line.starts_with('#') {
                    writeln!(o, "#{line}").unwrap();
                } else {
                    writeln!(o, "{line}").unwrap();
                }
            }
        }
        Err(e) => writeln!(o, "(no commentary: {}: {e})", args.limits.display()).unwrap(),
    }
    if let Some(p) = read("profile.txt") {
        writeln!(o).unwrap();
        writeln!(o, "### Evidence (`--profile`): perf and strace excerpts").unwrap();
        writeln!(o).unwrap();
        writeln!(o, "```text").unwrap();
        write!(o, "{p}").unwrap();
        if !p.ends_with('\n') {
            writeln!(o).unwrap();
        }
        writeln!(o, "```").unwrap();
    }

    std::fs::write(&args.out, out)
        .unwrap_or_else(|e| panic!("writing {}: {e}", args.out.display()));
}
