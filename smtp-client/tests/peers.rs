//! Our client against real servers started on 127.0.0.1: Postfix smtpd (STARTTLS, and
//! implicit TLS through `smtpd_tls_wrappermode`) and Python's aiosmtpd. The peers come
//! from Debian packages (`bash scripts/install-peers`, which `scripts/test` runs); a
//! missing peer fails the test with that hint, it never skips.

mod support;

use smtp_client::{Connection, Envelope, Error, TlsPolicy};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use support::*;
use tokio::process::Command;

fn need(path: &str, package: &str) -> String {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: run `bash scripts/install-peers` (Debian package {package})"
    );
    path.to_owned()
}

async fn run(cmd: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("peer command did not finish within 120 s")
        .expect("peer command could not be started")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something greets on `port` (a peer starting up).
async fn wait_for(port: u16, what: &str, log: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !greets(([127, 0, 0, 1], port).into()).await {
        if tokio::time::Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} did not start on 127.0.0.1:{port} within 60 s\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A private Postfix instance, stopped on drop.
struct Postfix {
    dir: PathBuf,
    postfix: String,
    starttls_port: u16,
    wrapper_port: u16,
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
    /// smtpd with STARTTLS on one port and implicit TLS on another, discarding all
    /// mail and refusing `reject@example.test`.
    async fn start(pki: &Pki) -> Self {
        let postfix = need("/usr/sbin/postfix", "postfix");
        let script = need("/usr/bin/script", "bsdutils");
        let dir = temp_dir("client-postfix");
        pki.write(&dir);
        let d = dir.display();
        for sub in ["etc", "queue", "data"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let (starttls_port, wrapper_port) = (free_port(), free_port());
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
smtpd_tls_security_level = may
smtpd_tls_chain_files = {d}/key.pem, {d}/cert.pem
smtpd_tls_loglevel = 1
smtpd_forbid_bare_newline = yes
smtpd_forbid_bare_newline_exclusions =
default_transport = discard:sink
relay_transport = discard:sink
smtp_dns_support_level = disabled
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
syslog_name = postfix-client-test
"
        );
        std::fs::write(dir.join("etc/main.cf"), main).unwrap();
        let services = [
            format!("127.0.0.1:{starttls_port} inet n - n - - smtpd"),
            format!("127.0.0.1:{wrapper_port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes"),
            "pickup unix n - n 60 1 pickup".into(),
            "cleanup unix n - n - 0 cleanup".into(),
            "qmgr unix n - n 300 1 qmgr".into(),
            "tlsmgr unix - - n 1000? 1 tlsmgr".into(),
            "rewrite unix - - n - - trivial-rewrite".into(),
            "bounce unix - - n - 0 bounce".into(),
            "defer unix - - n - 0 bounce".into(),
            "trace unix - - n - 0 bounce".into(),
            "verify unix - - n - 1 verify".into(),
            "flush unix n - n 1000? 0 flush".into(),
            "proxymap unix - - n - - proxymap".into(),
            "smtp unix - - n - - smtp".into(),
            "relay unix - - n - - smtp".into(),
            "showq unix n - n - - showq".into(),
            "error unix - - n - - error".into(),
            "retry unix - - n - - error".into(),
            "discard unix - - n - - discard".into(),
            "anvil unix - - n - 1 anvil".into(),
            "scache unix - - n - 1 scache".into(),
            "postlog unix-dgram n - n - 1 postlogd".into(),
            "tlsproxy unix - - n - 0 tlsproxy".into(),
        ];
        std::fs::write(dir.join("etc/master.cf"), services.join("\n") + "\n").unwrap();
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

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }
}

fn env(to: &[&str]) -> Envelope {
    Envelope::new("<sender@client.test>", to.iter().copied()).unwrap()
}

#[tokio::test]
async fn postfix_smtpd_starttls_verified_pipelined_bdat_and_implicit_tls() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let pf = Postfix::start(&pki).await;
    for chunking in [false, true] {
        let mut o = client(&ca, TlsPolicy::Verify);
        o.chunking = chunking;
        let mut c = Connection::connect(&format!("localhost:{}", pf.starttls_port), o)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", pf.log()));
        let report = c.report().clone();
        let tls = report.tls.as_ref().unwrap();
        assert!(tls.verified && tls.starttls, "{tls:?}");
        assert!(report.capabilities_before_tls.as_ref().unwrap().starttls());
        assert!(report.capabilities.as_ref().unwrap().pipelining());
        let body =
            format!("Subject: via our client\r\n\r\n.leading dot\r\nchunking={chunking}\r\n");
        let d = c
            .send(
                env(&[
                    "<a@example.test>",
                    "<reject@example.test>",
                    "<b@example.test>",
                ]),
                &body,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}\n{}", pf.log()));
        let codes: Vec<u16> = d
            .recipients
            .iter()
            .map(|r| r.rcpt_reply.as_ref().unwrap().code().get())
            .collect();
        assert_eq!(codes, [250, 554, 250], "{d:?}");
        assert!(
            d.message_reply().unwrap().text().contains("queued as"),
            "{d:?}"
        );
        // Two messages on the same connection.
        c.send(env(&["<c@example.test>"]), "Subject: second\r\n\r\nx\r\n")
            .await
            .unwrap();
        c.quit().await.unwrap();
    }
    // Implicit TLS (RFC 8314) on the wrapper-mode service.
    let o = client(&ca, TlsPolicy::Verify).with_implicit_tls();
    let mut c = Connection::connect(&format!("localhost:{}", pf.wrapper_port), o)
        .await
        .unwrap();
    assert!(!c.report().tls.as_ref().unwrap().starttls);
    c.send(env(&["<d@example.test>"]), "Subject: 465\r\n\r\nx\r\n")
        .await
        .unwrap();
    c.quit().await.unwrap();
    let log = pf.log();
    assert!(!log.contains("improper command pipelining"), "{log}");
    assert!(
        log.matches("TLS connection established from").count() >= 3,
        "{log}"
    );
}

#[tokio::test]
async fn postfix_certificate_for_another_name_fails_verify_but_passes_may() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::WrongName);
    let pf = Postfix::start(&pki).await;
    let target = format!("localhost:{}", pf.starttls_port);
    let e = Connection::connect(&target, client(&ca, TlsPolicy::Verify))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Tls { reason, .. } if reason.contains("name mismatch")),
        "{e:?}"
    );
    let c = Connection::connect(&target, client(&ca, TlsPolicy::May))
        .await
        .unwrap();
    let tls = c.report().tls.clone().unwrap();
    assert!(
        !tls.verified && tls.verification.contains("name mismatch"),
        "{tls:?}"
    );
    c.quit().await.unwrap();
}

/// aiosmtpd with STARTTLS, killed on drop.
struct Aiosmtpd {
    child: tokio::process::Child,
    port: u16,
}

impl Aiosmtpd {
    async fn start(pki: &Pki) -> Self {
        let python = need("/usr/bin/python3", "python3");
        let check = run(Command::new(&python).args(["-c", "import aiosmtpd"])).await;
        assert!(
            check.status.success(),
            "aiosmtpd is missing: run `bash scripts/install-peers` (Debian package python3-aiosmtpd)"
        );
        let dir = temp_dir("aiosmtpd");
        pki.write(&dir);
        let port = free_port();
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"])
            .args(["-l", &format!("127.0.0.1:{port}")])
            .arg("--tlscert")
            .arg(dir.join("cert.pem"))
            .arg("--tlskey")
            .arg(dir.join("key.pem"))
            .kill_on_drop(true)
            .spawn()
            .expect("python3 -m aiosmtpd could not be started");
        wait_for(port, "aiosmtpd", &dir.join("none")).await;
        Self { child, port }
    }
}

#[tokio::test]
async fn aiosmtpd_starttls_verified() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let mut srv = Aiosmtpd::start(&pki).await;
    let mut c = Connection::connect(
        &format!("localhost:{}", srv.port),
        client(&ca, TlsPolicy::Verify),
    )
    .await
    .unwrap();
    assert!(c.report().tls.as_ref().unwrap().verified);
    let d = c
        .send(
            env(&["<a@example.test>", "<b@example.test>"]),
            "Subject: aiosmtpd\r\n\r\nhi\r\n",
        )
        .await
        .unwrap();
    assert!(d.all_delivered(), "{d:?}");
    c.quit().await.unwrap();
    // A policy of `none` sends no STARTTLS; aiosmtpd requires it for MAIL by default.
    let mut c = Connection::connect(
        &format!("localhost:{}", srv.port),
        client(&ca, TlsPolicy::None),
    )
    .await
    .unwrap();
    let e = c
        .send(env(&["<a@example.test>"]), "x\r\n")
        .await
        .unwrap_err();
    assert_eq!(e.reply().unwrap().code().get(), 530, "{e:?}");
    let _ = srv.child.kill().await;
}
