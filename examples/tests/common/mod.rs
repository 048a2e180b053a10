//! Running the three programs in tests: smtp-sink as a child process on 127.0.0.1
//! (port 0, the address read from its `listening on` lines), smtp-send and
//! smtp-tls-check as commands with their exit status and output.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const SINK: &str = env!("CARGO_BIN_EXE_smtp-sink");
pub const SEND: &str = env!("CARGO_BIN_EXE_smtp-send");
pub const CHECK: &str = env!("CARGO_BIN_EXE_smtp-tls-check");

/// A running smtp-sink.
pub struct Sink {
    child: Child,
    pub addrs: Vec<SocketAddr>,
    /// The HTTP API's address, with `--http`.
    pub http: Option<SocketAddr>,
}

impl Sink {
    /// Starts `smtp-sink --listen 127.0.0.1:0` with `extra` arguments and waits for
    /// its `listening on` lines (two with `--listen-tls`).
    pub async fn start(extra: &[&str]) -> Self {
        let want = if extra.contains(&"--listen-tls") {
            2
        } else {
            1
        };
        let mut child = Command::new(SINK)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("smtp-sink starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addrs = Vec::new();
        let mut http = None;
        while addrs.len() < want {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .expect("smtp-sink printed its address within 60 s")
                .unwrap()
                .expect("smtp-sink exited before listening");
            if let Some(a) = line.strip_prefix("listening on ") {
                addrs.push(a.parse().unwrap());
            }
            if let Some(a) = line.strip_prefix("http on ") {
                http = Some(a.parse().unwrap());
            }
        }
        Self { child, addrs, http }
    }

    pub fn port(&self) -> u16 {
        self.addrs[0].port()
    }

    /// `localhost:PORT` of the STARTTLS listener.
    pub fn target(&self) -> String {
        format!("localhost:{}", self.port())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Waits for the process to exit (after a signal sent by other means).
    pub async fn wait(mut self) -> std::process::ExitStatus {
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("smtp-sink exited within 60 s")
            .unwrap()
    }

    /// SIGTERM, then its exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let k = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(k.success());
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("smtp-sink stopped within 60 s after SIGTERM")
            .unwrap()
    }
}

/// What a program printed and how it exited.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn line(&self, prefix: &str) -> Option<&str> {
        self.stdout.lines().find(|l| l.starts_with(prefix))
    }
}

pub async fn run(program: &str, args: &[&str]) -> Ran {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new(program).args(args).output(),
    )
    .await
    .expect("finished within 120 s")
    .expect("started");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `smtp-send --server SERVER --to b@example.test` with `extra` arguments.
pub async fn send_b(server: &str, extra: &[&str]) -> Ran {
    let mut args = vec!["--server", server, "--to", "b@example.test"];
    args.extend_from_slice(extra);
    run(SEND, &args).await
}

/// The files of a directory, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Reads until `want` has been seen; returns everything read.
pub async fn read_until(c: &mut tokio::net::TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains(want) {
        let mut b = [0u8; 4096];
        let n = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::io::AsyncReadExt::read(c, &mut b),
        )
        .await
        .expect("the sink answers")
        .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&b[..n]);
    }
    String::from_utf8(got).unwrap()
}
