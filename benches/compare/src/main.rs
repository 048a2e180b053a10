//! `compare`: our smtp-proto against Stalwart's `smtp-proto` 0.2 and
//! `mailrs-smtp-proto` 1.2, on one generated corpus, in one process, with the
//! implementations taking turns round by round. Prints Markdown for BENCHMARKS.md.
//!
//! `cargo run --release --manifest-path benches/compare/Cargo.toml [-- --tsv FILE]`
//!
//! With `--tsv FILE` it also writes each row's medians there, machine-readable
//! (`key<TAB>value` lines; see `write_tsv`), for `benches/e2e`'s report; stdout is the
//! same either way.
//!
//! Before anything is timed, every implementation's results on the corpus are checked:
//! lines a parser rejects are counted, shown, and left out of the lines it is timed on,
//! so no implementation is ever timed producing errors.

#![forbid(unsafe_code)]

mod corpus;
mod measure;
mod work;

use bytes::BytesMut;
use measure::{Pass, Stats, interleaved};
use std::fmt::Write as _;
use work::Imp;

const SEED: u64 = 0x5EED_2025_0520_0014;
const COMMAND_LINES: usize = 14_000;
const EHLO_REPLIES: usize = 1_000;
const MESSAGE: usize = 1 << 20;
const ROUNDS: usize = 15;
const IMPS: [Imp; 3] = [Imp::Ours, Imp::Stalwart, Imp::Mailrs];

/// One row of the results table: a cell per implementation, `Ok` with timings or `Err`
/// with why it was not timed.
struct Row {
    /// Short and stable, for the TSV: `a`, `b.all`, `b.mail`, …, `c`, `d`.
    id: String,
    /// The units of work each timing is divided by (lines, replies, bytes).
    units: usize,
    work: String,
    per_unit: bool,
    cells: Vec<Result<Stats, String>>,
}

/// The command groups of (b): one row each, after the row for all lines.
const GROUPS: &[(&str, &str, &[&str])] = &[
    ("ehlo", "EHLO/HELO", &["EHLO", "HELO"]),
    ("mail", "MAIL", &["MAIL"]),
    ("rcpt", "RCPT", &["RCPT"]),
    ("auth", "AUTH with initial response", &["AUTH"]),
    ("bdat", "BDAT", &["BDAT"]),
    (
        "short",
        "DATA, RSET, NOOP, QUIT, STARTTLS",
        &["DATA", "RSET", "NOOP", "QUIT", "STARTTLS"],
    ),
];

fn verb(line: &str) -> &str {
    line.split([' ', '\r']).next().unwrap_or("")
}

fn main() {
    let tsv = tsv_path();
    let mut rng = corpus::Rng::new(SEED);
    let lines: Vec<String> = corpus::commands(&mut rng, COMMAND_LINES)
        .into_iter()
        .map(|l| l + "\r\n")
        .collect();
    let replies = corpus::ehlo_replies(&mut rng, EHLO_REPLIES);
    let (wire, message) = corpus::message(&mut rng, MESSAGE);
    let opts = work::options();

    // Acceptance, line by line, before any timing.
    let accepted: Vec<Vec<bool>> = IMPS
        .iter()
        .map(|&imp| {
            lines
                .iter()
                .map(|l| work::one_line(imp, l, &opts))
                .collect()
        })
        .collect();
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    // (a) The command stream: the lines both streaming decoders accept, back to back.
    let both: Vec<&String> = (0..lines.len())
        .filter(|&i| accepted[0][i] && accepted[1][i])
        .map(|i| &lines[i])
        .collect();
    let stream: Vec<u8> = both.iter().flat_map(|l| l.bytes()).collect();
    let (mut ours_buf, mut vec_buf) = (BytesMut::with_capacity(2 * work::READ), Vec::new());
    let checked_ours = work::stream_ours(&stream, opts, &mut ours_buf);
    let checked_stalwart = work::stream_stalwart(&stream, &mut vec_buf);
    let expect = (both.len(), 0);
    notes.push(format!(
        "| (a) command stream | {} | {} | no streaming decoder |",
        pair(checked_ours, both.len()),
        pair(checked_stalwart, both.len())
    ));
    let mut passes: Vec<Pass<'_>> = Vec::new();
    if checked_ours == expect {
        let mut buf = BytesMut::with_capacity(2 * work::READ);
        let stream = &stream;
        passes.push(Box::new(move || {
            work::stream_ours(stream, opts, &mut buf).0
        }));
    }
    if checked_stalwart == expect {
        let mut buf = Vec::new();
        let stream = &stream;
        passes.push(Box::new(move || work::stream_stalwart(stream, &mut buf).0));
    }
    let timed = interleaved(ROUNDS, both.len(), &mut passes);
    let mut timed = timed.into_iter();
    rows.push(Row {
        id: "a".into(),
        units: both.len(),
        work: format!(
            "(a) {} command lines streamed in 16 KiB reads, ns/command",
            thousands(both.len())
        ),
        per_unit: true,
        cells: vec![
            cell(checked_ours == expect, &mut timed, "errors in the stream"),
            cell(
                checked_stalwart == expect,
                &mut timed,
                "errors in the stream",
            ),
            Err("no streaming decoder".into()),
        ],
    });

    // (b) One line at a time, all lines and then by verb.
    let all: Vec<&str> = Vec::new();
    let groups =
        std::iter::once(("all", "all verbs", all.as_slice())).chain(GROUPS.iter().copied());
    for (id, name, verbs) in groups {
        let members: Vec<usize> = (0..lines.len())
            .filter(|&i| verbs.is_empty() || verbs.contains(&verb(&lines[i])))
            .collect();
        // Those that accept some of the group's lines are timed on the lines all of them
        // accept; one that accepts none of them is not timed.
        let takes_part: Vec<bool> = (0..IMPS.len())
            .map(|k| members.iter().any(|&i| accepted[k][i]))
            .collect();
        let common: Vec<&str> = members
            .iter()
            .filter(|&&i| (0..IMPS.len()).all(|k| !takes_part[k] || accepted[k][i]))
            .map(|&i| lines[i].as_str())
            .collect();
        let mut passes: Vec<Pass<'_>> = Vec::new();
        for (k, &imp) in IMPS.iter().enumerate() {
            if takes_part[k] {
                let common = &common;
                passes.push(Box::new(move || {
                    common
                        .iter()
                        .filter(|l| work::one_line(imp, l, &opts))
                        .count()
                }));
            }
        }
        let mut timed = interleaved(ROUNDS, common.len(), &mut passes).into_iter();
        let cells = takes_part
            .iter()
            .map(|&p| cell(p, &mut timed, &format!("rejects all {}", members.len())))
            .collect();
        rows.push(Row {
            id: format!("b.{id}"),
            units: common.len(),
            work: format!(
                "(b) one line, {name} ({} lines), ns/line",
                thousands(common.len())
            ),
            per_unit: true,
            cells,
        });
    }
    let total = lines.len();
    let counts: Vec<String> = (0..IMPS.len())
        .map(|k| format!("{}/{}", thousands(count(&accepted[k])), thousands(total)))
        .collect();
    notes.push(format!(
        "| (b) command lines, one at a time | {} | {} | {} |",
        counts[0], counts[1], counts[2]
    ));

    // (c) EHLO replies to capabilities: each reply checked alone first.
    let reply_ok: Vec<[bool; 2]> = replies
        .iter()
        .map(|r| {
            [
                work::ehlo_ours(r.as_bytes(), &mut ours_buf) == (1, 0),
                work::ehlo_stalwart(r.as_bytes(), &mut vec_buf) == (1, 0),
            ]
        })
        .collect();
    let good: Vec<&String> = replies
        .iter()
        .zip(&reply_ok)
        .filter(|(_, ok)| ok[0] && ok[1])
        .map(|(r, _)| r)
        .collect();
    let concat: Vec<u8> = good.iter().flat_map(|r| r.bytes()).collect();
    let of = |k: usize| {
        let n = reply_ok.iter().filter(|ok| ok[k]).count();
        format!("{}/{}", thousands(n), thousands(replies.len()))
    };
    notes.push(format!(
        "| (c) EHLO replies | {} | {} | no EHLO reply parser |",
        of(0),
        of(1)
    ));
    // Back to back, as they are timed, they must still all decode.
    assert_eq!(work::ehlo_ours(&concat, &mut ours_buf), (good.len(), 0));
    assert_eq!(work::ehlo_stalwart(&concat, &mut vec_buf), (good.len(), 0));
    let mut passes: Vec<Pass<'_>> = Vec::new();
    {
        let (concat, mut buf) = (&concat, BytesMut::new());
        passes.push(Box::new(move || work::ehlo_ours(concat, &mut buf).0));
        let mut buf = Vec::new();
        passes.push(Box::new(move || work::ehlo_stalwart(concat, &mut buf).0));
    }
    let mut timed = interleaved(ROUNDS, good.len(), &mut passes).into_iter();
    rows.push(Row {
        id: "c".into(),
        units: good.len(),
        work: format!(
            "(c) EHLO reply to capabilities ({} replies, {} bytes each on average), ns/reply",
            thousands(good.len()),
            concat.len() / good.len().max(1)
        ),
        per_unit: true,
        cells: vec![
            cell(true, &mut timed, ""),
            cell(true, &mut timed, ""),
            Err("no EHLO reply parser".into()),
        ],
    });

    // (d) The DATA body: both decoders must give back exactly the message.
    let mut got = Vec::with_capacity(message.len());
    let ours_end = work::data_ours(&wire, &mut ours_buf, |c| got.extend_from_slice(c));
    let ours_right = ours_end && got == message;
    got.clear();
    let mut out = Vec::new();
    let st_end = work::data_stalwart(&wire, &mut vec_buf, &mut out, |c| got.extend_from_slice(c));
    let st_right = st_end && got == message;
    let same = |ok| {
        if ok {
            "the message, exactly"
        } else {
            "WRONG OUTPUT"
        }
    };
    notes.push(format!(
        "| (d) DATA body | {} | {} | no streaming decoder |",
        same(ours_right),
        same(st_right)
    ));
    let mut passes: Vec<Pass<'_>> = Vec::new();
    {
        let wire = &wire;
        if ours_right {
            let mut buf = BytesMut::with_capacity(2 * work::READ);
            passes.push(Box::new(move || {
                let mut n = 0;
                work::data_ours(wire, &mut buf, |c| n += c.len());
                n
            }));
        }
        if st_right {
            let (mut buf, mut out) = (Vec::new(), Vec::new());
            passes.push(Box::new(move || {
                let mut n = 0;
                work::data_stalwart(wire, &mut buf, &mut out, |c| n += c.len());
                n
            }));
        }
        let mut buf = BytesMut::with_capacity(2 * work::READ);
        passes.push(Box::new(move || work::data_memcpy(wire, &mut buf)));
    }
    let timed = interleaved(ROUNDS, wire.len(), &mut passes);
    let memcpy = *timed.last().expect("the memcpy pass");
    let mut timed = timed.into_iter();
    rows.push(Row {
        id: "d".into(),
        units: wire.len(),
        work: format!(
            "(d) DATA body, {} bytes of 76-character lines in 16 KiB reads, GB/s",
            thousands(wire.len())
        ),
        per_unit: false,
        cells: vec![
            cell(ours_right, &mut timed, "wrong output"),
            cell(st_right, &mut timed, "wrong output"),
            Err("no streaming decoder".into()),
        ],
    });

    let sessions = lines.iter().filter(|l| l.starts_with("QUIT")).count();
    print!(
        "{}",
        report(&rows, &notes, memcpy, &lines, &accepted, sessions, &wire)
    );
    if let Some(path) = tsv {
        std::fs::write(&path, write_tsv(&rows, memcpy))
            .unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}

/// `--tsv FILE`, the only argument there is.
fn tsv_path() -> Option<String> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--tsv", Some(p)) => path = Some(p),
            _ => {
                eprintln!("usage: compare [--tsv FILE]");
                std::process::exit(2);
            }
        }
    }
    path
}

/// The medians of every row, one `ROW.KEY<TAB>VALUE` line each: `ROW.work` (the row as
/// the table names it), `ROW.unit` (`ns` per unit of work, or `GB/s` for (d)),
/// `ROW.units` (lines, replies or bytes timed), and `ROW.ours`, `ROW.stalwart`,
/// `ROW.mailrs` (the median; absent for an implementation not timed in that row, with
/// `ROW.IMP.why` saying why). `d.memcpy` is the floor of (d), in GB/s.
fn write_tsv(rows: &[Row], memcpy: Stats) -> String {
    let mut s = String::from("# benches/compare: medians over the rounds\n");
    let w = &mut s;
    for row in rows {
        let id = &row.id;
        let _ = writeln!(w, "{id}.work\t{}", row.work);
        let _ = writeln!(w, "{id}.unit\t{}", if row.per_unit { "ns" } else { "GB/s" });
        let _ = writeln!(w, "{id}.units\t{}", row.units);
        for (imp, cell) in IMPS.iter().zip(&row.cells) {
            let key = imp.name().to_lowercase();
            match cell {
                Ok(st) if row.per_unit => {
                    let _ = writeln!(w, "{id}.{key}\t{}", st.median);
                }
                Ok(st) => {
                    let _ = writeln!(w, "{id}.{key}\t{}", 1.0 / st.median);
                }
                Err(why) => {
                    let _ = writeln!(w, "{id}.{key}.why\t{why}");
                }
            }
        }
    }
    let _ = writeln!(w, "d.memcpy\t{}", 1.0 / memcpy.median);
    s
}

/// The next timing if this implementation was timed, else why not.
fn cell(
    timed: bool,
    stats: &mut impl Iterator<Item = Stats>,
    why_not: &str,
) -> Result<Stats, String> {
    if timed {
        Ok(stats.next().expect("one timing per timed implementation"))
    } else {
        Err(why_not.to_string())
    }
}

fn count(v: &[bool]) -> usize {
    v.iter().filter(|&&b| b).count()
}

fn pair((ok, err): (usize, usize), of: usize) -> String {
    format!(
        "{} commands, {err} errors (of {})",
        thousands(ok),
        thousands(of)
    )
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Three significant figures or so.
fn num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// "median (min–max)", in ns per unit or, for bytes, GB/s (bytes per ns).
fn show(s: &Stats, per_unit: bool) -> String {
    if per_unit {
        format!("{} ({}–{})", num(s.median), num(s.min), num(s.max))
    } else {
        format!(
            "{} ({}–{})",
            num(1.0 / s.median),
            num(1.0 / s.max),
            num(1.0 / s.min)
        )
    }
}

fn ratio(peer: &Result<Stats, String>, ours: &Result<Stats, String>) -> String {
    match (peer, ours) {
        (Ok(p), Ok(o)) => format!("{:.2}", p.median / o.median),
        _ => "—".to_string(),
    }
}

fn report(
    rows: &[Row],
    notes: &[String],
    memcpy: Stats,
    lines: &[String],
    accepted: &[Vec<bool>],
    sessions: usize,
    wire: &[u8],
) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "Machine: {} CPUs (`nproc`), {}; {} (UTC). Release build; {ROUNDS} interleaved rounds \
         (ours, Stalwart, mailrs, ours, …), each sample at least 20 ms of repeated passes; \
         median (min–max) over the rounds.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        today()
    );
    let _ = writeln!(
        w,
        "Corpus (seed {SEED:#x}): {} command lines from {} generated sessions, {} EHLO \
         replies, a {}-byte message.\n",
        thousands(lines.len()),
        thousands(sessions),
        thousands(EHLO_REPLIES),
        thousands(wire.len())
    );
    let _ = writeln!(
        w,
        "| work | ours | Stalwart smtp-proto 0.2 | mailrs-smtp-proto 1.2 | Stalwart ÷ ours | mailrs ÷ ours |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
    for row in rows {
        let c: Vec<String> = row
            .cells
            .iter()
            .map(|c| match c {
                Ok(st) => show(st, row.per_unit),
                Err(why) => why.clone(),
            })
            .collect();
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            row.work,
            c[0],
            c[1],
            c[2],
            ratio(&row.cells[1], &row.cells[0]),
            ratio(&row.cells[2], &row.cells[0])
        );
    }
    let _ = writeln!(
        w,
        "\nRatios are time ÷ our time (for GB/s too): above 1 the peer is slower, below 1 it is \
         faster. Floor for (d): a memcpy of the same reads runs at {} GB/s.\n",
        show(&memcpy, false)
    );
    let _ = writeln!(w, "Checked before timing:\n");
    let _ = writeln!(w, "| corpus | ours | Stalwart | mailrs |");
    let _ = writeln!(w, "|---|---|---|---|");
    for n in notes {
        let _ = writeln!(w, "{n}");
    }
    let _ = writeln!(w, "\nRejected command lines, the first of each verb:\n");
    for (k, imp) in IMPS.iter().enumerate() {
        let mut seen = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let v = verb(line);
            if !accepted[k][i] && !seen.contains(&v) {
                seen.push(v);
                let n = (0..lines.len())
                    .filter(|&j| !accepted[k][j] && verb(&lines[j]) == v)
                    .count();
                let shown: String = line.trim_end().chars().take(72).collect();
                let _ = writeln!(w, "- {}: {n} {v} lines, e.g. `{shown}`", imp.name());
            }
        }
        if seen.is_empty() {
            let _ = writeln!(w, "- {}: none", imp.name());
        }
    }
    s
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// Today's UTC date, from the days since 1970 (H. Hinnant's `civil_from_days`).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
