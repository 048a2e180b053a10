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
use std::fmt::Write;
use std::path::PathBuf;

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

mod data;
mod sections;
mod targets;

use data::{Data, num};

fn main() {
    let args = Args::parse();
    let r = Data::load(&args.dir.join("results.tsv"));
    let m = Data::load(&args.dir.join("machine.tsv"));
    let c = Data::load(&args.dir.join("compare.tsv"));
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
    let targets = targets::collect(&r, &c);
    targets::write(o, &targets);
    let missed: Vec<&targets::Target> = targets.iter().filter(|t| t.met == Some(false)).collect();

    sections::server(o, &r);
    sections::tls(o, &r);
    sections::client(o, &r);
    sections::memory(o, &r);

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
