//! The targets of issue 20: each row's figure, reference, ratio and verdict.

use crate::data::{Data, num, opt, ratio};
use std::fmt::Write;

/// One target: what is compared, the figure, the reference, the ratio, the target.
pub struct Target {
    pub row: String,
    pub figure: String,
    pub reference: String,
    pub value: Option<f64>,
    pub target: String,
    pub met: Option<bool>,
}

impl Target {
    pub fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        }
    }
}

/// Every target row, in the table's order.
pub fn collect(r: &Data, c: &Data) -> Vec<Target> {
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
        // pool-load: N concurrent senders through one pool each (N = 8 in `run`).
        let n = r.s(&format!("{prefix}.pool.senders")).unwrap_or("8");
        for (t, t_text) in [("plain", "plaintext"), ("starttls", "STARTTLS")] {
            let ours = r.f(&format!("{prefix}.ours-pool.{n}.{t}"));
            let lettre = r.f(&format!("{prefix}.lettre-pool.{n}.{t}"));
            let ratio = ours.zip(lettre).map(|(a, b)| a / b);
            targets.push(Target {
                row: format!(
                    "client messages/s, {n} concurrent senders through one pool, {t_text}, {sink}"
                ),
                figure: format!("ours {}/s", opt(ours)),
                reference: format!("lettre's pool {}/s", opt(lettre)),
                value: ratio,
                target: "ours ÷ lettre ≥ 3".into(),
                met: ratio.map(|x| x >= 3.0),
            });
        }
    }
    for (kind, text, limit) in [
        ("plain", "plaintext (greeting and EHLO done)", 4096.0),
        ("tls", "TLS (STARTTLS and EHLO done)", 12288.0),
    ] {
        let v = r.per_session("ours", kind);
        let m = r.marginal("ours", kind);
        let n = r.f(&format!("mem.ours.{kind}.open"));
        let (reference, ratio) = if kind == "plain" {
            let pf = r.per_session("postfix", "plain");
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
                    opt(r.marginal("postfix", "plain"))
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
    parsers(&mut targets, c);
    targets
}

/// The targets table and the "N of M targets met" line.
pub fn write(o: &mut String, targets: &[Target]) {
    writeln!(o).unwrap();
    writeln!(o, "## Targets").unwrap();
    writeln!(o).unwrap();
    writeln!(o, "| row | figure | reference | ratio | target | result |").unwrap();
    writeln!(o, "|---|---:|---:|---:|---|---|").unwrap();
    for t in targets {
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
}

/// The parser targets, from the comparison harness's `compare.tsv` (`--tsv`): per row,
/// each implementation's median, in ns per unit for (a) to (c) and GB/s for (d). The
/// ratios compare throughput: the peer's time over ours, or our GB/s over the peer's.
fn parsers(targets: &mut Vec<Target>, c: &Data) {
    let lines = |row: &str| {
        c.f(&format!("{row}.units"))
            .map_or(String::new(), |n| format!(", {} lines", num(n)))
    };
    // (row, its label, the unit, which peers)
    for (row, label, unit, peers) in [
        (
            "a",
            "command decoding, streaming with framing (compare row (a)",
            "ns/command",
            &["stalwart"][..],
        ),
        (
            "b.all",
            "command decoding, one line, all verbs (compare row (b)",
            "ns/line",
            &["stalwart", "mailrs"][..],
        ),
        (
            "c",
            "EHLO reply to capabilities (compare row (c)",
            "ns/reply",
            &["stalwart"][..],
        ),
    ] {
        let ours = c.f(&format!("{row}.ours"));
        let count = if row == "c" {
            c.f("c.units")
                .map_or(String::new(), |n| format!(", {} replies", num(n)))
        } else {
            lines(row)
        };
        for peer in peers {
            let theirs = c.f(&format!("{row}.{peer}"));
            let value = ours.zip(theirs).map(|(a, b)| b / a);
            let name = if *peer == "stalwart" {
                "Stalwart smtp-proto"
            } else {
                "mailrs-smtp-proto"
            };
            let short = if *peer == "stalwart" {
                "Stalwart"
            } else {
                "mailrs"
            };
            targets.push(Target {
                row: format!("parser: {label}{count}), against {short}"),
                figure: format!("ours {} {unit}", opt(ours)),
                reference: format!("{name} {} {unit}", opt(theirs)),
                value,
                target: format!("ours ÷ {short} throughput ≥ 2 ({short} time ÷ our time)"),
                met: value.map(|x| x >= 2.0),
            });
        }
    }
    let ours = c.f("d.ours");
    let theirs = c.f("d.stalwart");
    let value = ours.zip(theirs).map(|(a, b)| a / b);
    targets.push(Target {
        row: format!(
            "parser: DATA body, dot-unstuffing and the end of data, every line ending \
             checked (compare row (d){})",
            c.f("d.units")
                .map_or(String::new(), |n| format!(", {} bytes", num(n)))
        ),
        figure: format!("ours {} GB/s", opt(ours)),
        reference: format!("Stalwart DataReceiver {} GB/s", opt(theirs)),
        value,
        target: "ours ÷ Stalwart GB/s ≥ 1".into(),
        met: value.map(|x| x >= 1.0),
    });
}
