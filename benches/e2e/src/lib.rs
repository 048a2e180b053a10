//! What the end-to-end benchmark programs share: the test message, the client options,
//! timed rounds and their summary, and the `key<TAB>value` result lines that `run`
//! collects and `report` turns into BENCHMARKS.md.

use smtp_client::{ClientOptions, Envelope, Timeouts, TlsPolicy, TrustAnchors};
use std::path::Path;
use std::time::Duration;

/// The envelope sender of every benchmark message.
pub const FROM: &str = "sender@bench.test";
/// The envelope recipient of every benchmark message.
pub const TO: &str = "rcpt@bench.test";
/// The EHLO name of every benchmark client.
pub const HELLO: &str = "client.bench.test";
/// The name in the benchmark certificate (and sent as SNI).
pub const SERVER_NAME: &str = "localhost";

/// A message of exactly `size` bytes (RFC 5322 headers, then 76-character lines of
/// text, CRLF line endings, the last line shortened to fit). No line starts with a dot.
pub fn message(size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: <{FROM}>\r\nTo: <{TO}>\r\nSubject: benchmark\r\n\
         Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <bench@bench.test>\r\n\r\n"
    )
    .into_bytes();
    assert!(
        size >= m.len() + 3,
        "a message needs at least {} bytes",
        m.len() + 3
    );
    let line = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen ju";
    while m.len() < size {
        let room = size - m.len();
        if room >= line.len() + 2 {
            m.extend_from_slice(line);
        } else {
            m.extend_from_slice(&line[..room - 2]);
        }
        m.extend_from_slice(b"\r\n");
    }
    debug_assert_eq!(m.len(), size);
    m
}

/// The benchmark envelope for our client.
pub fn envelope() -> Envelope {
    Envelope::new(FROM, [TO]).expect("valid benchmark addresses")
}

/// The CA certificate (PEM) clients trust, read from `path`.
pub fn read_ca(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Our client's options: plaintext (`ca` is `None`) or STARTTLS verified against the
/// benchmark CA for [`SERVER_NAME`], with or without TLS session resumption; 30 s for
/// every wait.
pub fn our_options(ca: Option<&[u8]>, resumption: bool) -> ClientOptions {
    let mut opts = match ca {
        None => ClientOptions::new(HELLO, TlsPolicy::None),
        Some(pem) => ClientOptions::new(HELLO, TlsPolicy::Verify)
            .with_trust(TrustAnchors::empty().add_pem(pem).expect("CA certificate"))
            .with_server_name(SERVER_NAME),
    };
    opts.tls_resumption = resumption;
    opts.with_timeouts(Timeouts::all(Duration::from_secs(30)))
}

/// User + system CPU seconds a process has used so far (`"self"` or a pid), from
/// /proc/PID/stat (clock ticks, assumed 100 a second as on Linux x86 and arm).
pub fn proc_cpu(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Prints one result line, `key<TAB>value`, on stdout (what `run` collects).
pub fn result(key: &str, value: impl std::fmt::Display) {
    println!("{key}\t{value}");
}

/// Median, minimum and maximum of some samples.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// The median (the mean of the two middle samples for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

impl Summary {
    /// The summary of `samples` (not empty).
    pub fn of(samples: &[f64]) -> Self {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        assert!(n > 0, "no samples");
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Self {
            median,
            min: s[0],
            max: s[n - 1],
        }
    }

    /// Prints `key` (the median), `key.min` and `key.max` as result lines.
    pub fn print(&self, key: &str) {
        result(key, format!("{:.1}", self.median));
        result(&format!("{key}.min"), format!("{:.1}", self.min));
        result(&format!("{key}.max"), format!("{:.1}", self.max));
    }
}

/// Counts of one timed window.
#[derive(Debug, Default, Clone, Copy)]
pub struct Window {
    /// Operations completed.
    pub done: u64,
    /// Operations that failed.
    pub errors: u64,
    /// The window's length.
    pub elapsed: Duration,
}

impl Window {
    /// A window lost before it started (the connection failed): one error, reported.
    pub fn failed(label: &str, error: impl std::fmt::Display, length: Duration) -> Self {
        eprintln!("{label}: {error}");
        Self {
            errors: 1,
            elapsed: length,
            ..Self::default()
        }
    }

    /// Completed operations per second.
    pub fn rate(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }
}

/// Awaits `$op` (an expression giving a future of a `Result`) again and again for
/// `$length` (checked between operations), and gives the [`Window`] of counts; the
/// first failure is printed on stderr, and more than 1,000 failures end the window.
#[macro_export]
macro_rules! timed {
    ($label:expr, $length:expr, $op:expr) => {{
        let start = ::std::time::Instant::now();
        let mut w = $crate::Window::default();
        while start.elapsed() < $length {
            match $op.await {
                Ok(_) => w.done += 1,
                Err(e) => {
                    if w.errors == 0 {
                        eprintln!("{}: {}", $label, e);
                    }
                    w.errors += 1;
                    if w.errors > 1000 {
                        break;
                    }
                }
            }
        }
        w.elapsed = start.elapsed();
        w
    }};
}
