//! A private Postfix instance on 127.0.0.1 for interop tests: smtpd with STARTTLS and a
//! wrapper-mode (implicit TLS) service, its own `main.cf`/`master.cf` and queue, errors
//! to a log file (Postfix otherwise writes them only to syslog).

use super::srv::postfix_master_cf;
use super::{Pki, greets, temp_dir};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

pub fn need(path: &str, package: &str) -> String {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: run `bash scripts/install-peers` (Debian package {package})"
    );
    path.to_owned()
}

pub async fn run(cmd: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("peer command did not finish within 120 s")
        .expect("peer command could not be started")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something greets on `port` (a peer starting up).
pub async fn wait_for(port: u16, what: &str, log: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !greets(([127, 0, 0, 1], port).into()).await {
        if tokio::time::Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} did not start on 127.0.0.1:{port} within 60 s\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Postfix's `smtpd_forbid_bare_newline` (postconf(5)): `yes` and `no` since Postfix
/// 3.8.4, 3.7.9, 3.6.13 and 3.5.23; `reject` (and `normalize`, which `yes` now stands
/// for) since 3.9, 3.8.5, 3.7.10, 3.6.14 and 3.5.24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareNewline {
    /// `no`, the default before Postfix 3.9: a bare LF ends a line, in commands and in
    /// message data alike, so `<LF>.<LF>` ends a message (SMTP smuggling,
    /// CVE-2023-51764).
    No,
    /// `yes` (`normalize`): only `<CRLF>.<CRLF>` ends a message; a line ending in a
    /// bare LF is still taken as though it ended in CRLF, commands included.
    Yes,
    /// `reject`: a line ending in a bare LF, command or content, is refused
    /// (`smtpd_forbid_bare_newline_reject_code`, 550).
    Reject,
}

impl BareNewline {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::No => "no",
            Self::Yes => "yes",
            Self::Reject => "reject",
        }
    }
}

/// A private Postfix instance, stopped on drop.
pub struct Postfix {
    pub dir: PathBuf,
    postfix: String,
    pub starttls_port: u16,
    pub wrapper_port: u16,
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.postfix)
            .arg("-c")
            .arg(self.dir.join("etc"))
            .arg("stop")
            .output();
    }
}

impl Postfix {
    /// smtpd with STARTTLS on one port and implicit TLS on another (no TLS at all
    /// without `pki`), discarding all mail and refusing `reject@example.test`; only
    /// `<CRLF>.<CRLF>` ends a message ([`BareNewline::Yes`]).
    pub async fn start(pki: Option<&Pki>) -> Self {
        Self::start_with(pki, BareNewline::Yes).await
    }

    /// [`Postfix::start`], with `smtpd_forbid_bare_newline` as given, for every client
    /// (`smtpd_forbid_bare_newline_exclusions` empty: its default, `$mynetworks`,
    /// holds 127.0.0.1 here).
    pub async fn start_with(pki: Option<&Pki>, bare_newline: BareNewline) -> Self {
        Self::start_configured(pki, bare_newline, "").await
    }

    /// [`Postfix::start_with`], with more `main.cf` lines (`extra`).
    pub async fn start_configured(
        pki: Option<&Pki>,
        bare_newline: BareNewline,
        extra: &str,
    ) -> Self {
        let postfix = need("/usr/sbin/postfix", "postfix");
        let script = need("/usr/bin/script", "bsdutils");
        let dir = temp_dir("client-postfix");
        if let Some(pki) = pki {
            pki.write(&dir);
        }
        let d = dir.display();
        let tls = if pki.is_some() {
            format!(
                "smtpd_tls_security_level = may\nsmtpd_tls_chain_files = {d}/key.pem, {d}/cert.pem\n"
            )
        } else {
            "smtpd_tls_security_level = none\n".to_owned()
        };
        for sub in ["etc", "queue", "data"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let (starttls_port, wrapper_port) = (free_port(), free_port());
        let forbid = bare_newline.as_str();
        let main = format!(
            "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = localhost
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = check_recipient_access inline:{{ reject@example.test=REJECT }}, permit_mynetworks, reject
{tls}smtpd_tls_loglevel = 1
smtpd_forbid_bare_newline = {forbid}
smtpd_forbid_bare_newline_exclusions =
default_transport = discard:sink
relay_transport = discard:sink
smtp_dns_support_level = disabled
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
syslog_name = postfix-client-test
{extra}"
        );
        std::fs::write(dir.join("etc/main.cf"), main).unwrap();
        let wrapper = if pki.is_some() {
            format!("127.0.0.1:{wrapper_port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes")
        } else {
            String::new()
        };
        let inet = [
            format!("127.0.0.1:{starttls_port} inet n - n - - smtpd"),
            wrapper,
        ];
        std::fs::write(dir.join("etc/master.cf"), postfix_master_cf(&inet)).unwrap();
        let chown = run(Command::new("chown")
            .args(["-R", "postfix"])
            .arg(dir.join("data")))
        .await;
        assert!(chown.status.success(), "chown: {chown:?}");
        // Postfix reports start-up errors only to syslog; `script` gives it a terminal.
        let start = format!("{postfix} -c {d}/etc start");
        let out = run(Command::new(&script).args(["-qec", &start, "/dev/null"])).await;
        let me = Self {
            dir,
            postfix,
            starttls_port,
            wrapper_port,
        };
        assert!(out.status.success(), "postfix start: {out:?}");
        wait_for(starttls_port, "postfix smtpd", &me.dir.join("maillog")).await;
        me
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }
}
