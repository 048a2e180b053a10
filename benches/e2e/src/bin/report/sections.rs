//! Sections 1 to 4 of the report: the figures of each load.

use crate::data::{Data, num, opt};
use std::fmt::Write;

/// 1. Server: our smtp-sink against Postfix smtp-sink.
pub fn server(o: &mut String, r: &Data) {
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
}

/// 2. STARTTLS sessions against bare rustls handshakes.
pub fn tls(o: &mut String, r: &Data) {
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
}

/// 3. Client: ours against lettre.
pub fn client(o: &mut String, r: &Data) {
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
    pools(o, r);
}

/// 3, continued: N concurrent senders through one pool, ours against lettre's.
fn pools(o: &mut String, r: &Data) {
    let n = r
        .s("client.pool.senders")
        .or(r.s("clientq.pool.senders"))
        .unwrap_or("8");
    writeln!(o).unwrap();
    writeln!(o, "### {n} concurrent senders through one pool").unwrap();
    writeln!(o).unwrap();
    writeln!(
        o,
        "`pool-load`: {n} tokio tasks share one pool and each sends the same message back \
         to back until the window ends; messages/s is every task's messages over the time \
         from the first spawn to the last task's end. One multi-threaded tokio runtime \
         with 2 worker threads for both libraries. Each window makes a fresh pool, so \
         opening its connections (and with STARTTLS, the handshakes) is inside the \
         window. Ours: `smtp_client::pool::Pool` with `PoolOptions::max_per_destination \
         = {n}` and the other defaults (no limit of messages per connection, checked \
         with NOOP only after 5 s idle, otherwise only for bytes the server sent \
         unasked). lettre: `AsyncSmtpTransport` with `PoolConfig::new().max_size({n})` \
         (its default is 10; `max_size` bounds the idle connections kept, and {n} \
         senders never have more than {n} open), NOOP before every reuse. The BDAT row \
         (`chunking: true`, not the default) is context, not a target. Same message, \
         sinks, windows and rounds as above; client CPU is the whole process's (all \
         threads) over its windows, sink CPU the sink process's over the same windows \
         (/proc/PID/stat), each divided by the messages sent. Client, sink and the \
         kernel's loopback work share the 2 CPUs: at these rates the machine is \
         CPU-bound, so messages/s is about 2 CPU-seconds over the CPU a message costs \
         both sides."
    )
    .unwrap();
    writeln!(o).unwrap();
    writeln!(o, "| sink | pool | plaintext, messages/s | STARTTLS, messages/s | client CPU µs/message (plain / TLS) | sink CPU µs/message (plain / TLS) | errors (plain / TLS) |").unwrap();
    writeln!(o, "|---|---|---:|---:|---:|---:|---:|").unwrap();
    for (prefix, sink) in [("client", "our smtp-sink"), ("clientq", "quickack-sink")] {
        for (k, pool) in [
            ("ours-pool", "ours (`Pool::send`)"),
            (
                "ours-pool-bdat",
                "ours, BDAT (`chunking: true`; not the default)",
            ),
            ("lettre-pool", "lettre (`AsyncSmtpTransport::send_raw`)"),
        ] {
            let key = format!("{prefix}.{k}.{n}");
            writeln!(
                o,
                "| {sink} | {pool} | {} | {} | {} / {} | {} / {} | {} / {} |",
                r.spread(&format!("{key}.plain")),
                r.spread(&format!("{key}.starttls")),
                opt(r.f(&format!("{key}.plain.cpu_us"))),
                opt(r.f(&format!("{key}.starttls.cpu_us"))),
                opt(r.f(&format!("{key}.plain.sink_cpu_us"))),
                opt(r.f(&format!("{key}.starttls.sink_cpu_us"))),
                r.s(&format!("{key}.plain.errors")).unwrap_or("?"),
                r.s(&format!("{key}.starttls.errors")).unwrap_or("?"),
            )
            .unwrap();
        }
    }
}

/// 4. Memory of the sink.
pub fn memory(o: &mut String, r: &Data) {
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
         allocator, tokio, rustls and aws-lc set up on first use). A fresh sink for \
         each row. Large message: a fresh sink (`--max-size` raised, messages counted \
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
            opt(r.per_session(who, kind)),
            opt(r.marginal(who, kind)),
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
}
