//! Real clients against our server on 127.0.0.1: swaks, Python's smtplib, `openssl
//! s_client -starttls smtp` and Postfix's smtp client relaying to us. The peers come from
//! Debian packages (`bash scripts/install-peers`, which `scripts/test` runs); a missing
//! peer fails the test with that hint, it never skips.

mod support;

use smtp_server::proto::Mechanism;
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use support::*;
use tokio::process::Command;

fn need(program: &str) -> String {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(program);
        if p.exists() {
            return p.display().to_string();
        }
    }
    if let Ok(out) = std::process::Command::new("which").arg(program).output()
        && out.status.success()
    {
        return String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    panic!("{program} is not installed: run `bash scripts/install-peers` (Debian packages)");
}

async fn run(cmd: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("peer did not finish within 120 s")
        .expect("peer could not be started")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn swaks_with_verified_starttls_and_pipelining() {
    let swaks = need("swaks");
    let pki = Pki::localhost();
    let dir = temp_dir("swaks");
    pki.write(&dir);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let out = run(Command::new(&swaks)
        .args(["-s", "127.0.0.1", "-p", &srv.addr().port().to_string()])
        .args([
            "-f",
            "a@example.test",
            "-t",
            "b@example.test,c@example.test",
        ])
        .args([
            "--tls",
            "--tls-verify",
            "--tls-sni",
            "localhost",
            "--pipeline",
        ])
        .arg("--tls-ca-path")
        .arg(dir.join("ca.pem"))
        .args(["--body", "hello from swaks"]))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let handle = srv.handle.clone();
    srv.shutdown().await;
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.contains("with ESMTPS"), "{m}");
    assert!(m.contains("hello from swaks"), "{m}");
    assert!(
        rec.events()
            .iter()
            .any(|e| e.starts_with("hello Ehlo") && e.ends_with("TLSv1.3"))
    );
    assert_eq!(handle.stats().sessions_starttls, 1);
}

#[tokio::test]
async fn swaks_authenticates_after_starttls() {
    let swaks = need("swaks");
    let pki = Pki::localhost();
    let dir = temp_dir("swaks-auth");
    pki.write(&dir);
    let rec = Recorder::default();
    let mut opts = options();
    opts.auth_mechanisms = vec![Mechanism::PLAIN, Mechanism::LOGIN];
    opts.require_tls = true;
    let srv = start(builder(&rec, &pki, opts)).await;
    let port = srv.addr().port().to_string();
    for mech in ["PLAIN", "LOGIN"] {
        let out = run(Command::new(&swaks)
            .args(["-s", "127.0.0.1", "-p", &port, "-f", "a@example.test"])
            .args(["-t", "b@example.test", "--tls", "--tls-sni", "localhost"])
            .arg("--tls-ca-path")
            .arg(dir.join("ca.pem"))
            .args(["--tls-verify", "--auth", mech, "--auth-user", "user"])
            .args(["--auth-password", "pass"]))
        .await;
        assert!(out.status.success(), "{mech}: {}", text(&out));
    }
    // Without TLS the server refuses MAIL (require_tls) and never offers AUTH.
    let out = run(Command::new(&swaks)
        .args(["-s", "127.0.0.1", "-p", &port, "-f", "a@example.test"])
        .args(["-t", "b@example.test"]))
    .await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("530 5.7.0"),
        "{}",
        text(&out)
    );
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 2);
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.contains("with ESMTPSA"), "{m}");
}

#[tokio::test]
async fn python_smtplib_starttls() {
    let python = need("python3");
    let pki = Pki::localhost();
    let dir = temp_dir("smtplib");
    pki.write(&dir);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let script = r#"
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
with smtplib.SMTP("127.0.0.1", port) as s:
    s.ehlo("py.test")
    s.starttls(context=ctx)
    s.ehlo("py.test")
    refused = s.sendmail("a@example.test", ["b@example.test", "reject@example.test"],
                         b"Subject: py\r\n\r\nfrom python\r\n")
    print("refused", sorted(refused))
    print("cipher", s.sock.version())
"#;
    let out = run(Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(srv.addr().port().to_string())
        .arg(dir.join("ca.pem")))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("refused ['reject@example.test']"),
        "{}",
        text(&out)
    );
    assert!(stdout.contains("cipher TLSv1.3"), "{}", text(&out));
    srv.shutdown().await;
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.contains("from python"), "{m}");
    assert!(
        !m.contains(" for <"),
        "two recipients were tried: no for clause: {m}"
    );
}

#[tokio::test]
async fn openssl_s_client_starttls_verifies_our_certificate() {
    let openssl = need("openssl");
    let pki = Pki::localhost();
    let dir = temp_dir("s_client");
    pki.write(&dir);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    for version in ["-tls1_2", "-tls1_3"] {
        let mut child = Command::new(&openssl)
            .args(["s_client", "-connect", &srv.addr().to_string()])
            .args([
                "-starttls",
                "smtp",
                "-servername",
                "localhost",
                "-brief",
                "-quiet",
                version,
            ])
            .args([
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
                "-CAfile",
            ])
            .arg(dir.join("ca.pem"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        // `-brief` lines come on stderr once the handshake is done; `-quiet` sends our
        // lines as they are (no `Q`/`R` commands) and keeps reading after stdin ends.
        stdin
            .write_all(b"EHLO openssl.test\r\nQUIT\r\n")
            .await
            .unwrap();
        drop(stdin);
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let all = text(&out);
        assert!(all.contains("Verification: OK"), "{all}");
        let want = if version == "-tls1_2" {
            "TLSv1.2"
        } else {
            "TLSv1.3"
        };
        assert!(all.contains(&format!("Protocol version: {want}")), "{all}");
        assert!(all.contains("221 2.0.0"), "{all}");
    }
    srv.shutdown().await;
    let ev = rec.events();
    assert!(
        ev.contains(&"hello Ehlo openssl.test TLSv1.2".to_string()),
        "{ev:?}"
    );
    assert!(
        ev.contains(&"hello Ehlo openssl.test TLSv1.3".to_string()),
        "{ev:?}"
    );
}

/// A private Postfix instance in `dir`, stopped on drop.
struct Postfix {
    dir: std::path::PathBuf,
    postfix: String,
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

fn postfix_config(dir: &Path, smtpd_port: u16, relay_port: u16) {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::create_dir_all(dir.join("queue")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let main = format!(
        "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = relay.test
mydomain = relay.test
myorigin = relay.test
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{relay_port}
smtp_dns_support_level = disabled
smtp_tls_security_level = verify
smtp_tls_CAfile = {d}/ca.pem
smtp_tls_verify_cert_match = localhost
smtp_tls_loglevel = 1
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
syslog_name = postfix-peer-test
"
    );
    std::fs::write(dir.join("etc/main.cf"), main).unwrap();
    let inet = [format!("127.0.0.1:{smtpd_port} inet n - n - - smtpd")];
    std::fs::write(dir.join("etc/master.cf"), postfix_master_cf(&inet)).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn postfix_relays_to_us_with_verified_tls() {
    let postfix = need("postfix");
    let script = need("script");
    let pki = Pki::localhost();
    let dir = temp_dir("postfix");
    pki.write(&dir);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let smtpd_port = free_port();
    postfix_config(&dir, smtpd_port, srv.addr().port());
    let chown = run(Command::new("chown")
        .args(["-R", "postfix"])
        .arg(dir.join("data")))
    .await;
    assert!(chown.status.success(), "{}", text(&chown));
    // Postfix reports start-up errors only to syslog; `script` gives it a terminal.
    let start_cmd = format!("{postfix} -c {}/etc start", dir.display());
    let out = run(Command::new(&script).args(["-qec", &start_cmd, "/dev/null"])).await;
    let _guard = Postfix {
        dir: dir.clone(),
        postfix: postfix.clone(),
    };
    assert!(out.status.success(), "{}", text(&out));
    // Hand Postfix a message over SMTP; it relays it to our server.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut c = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", smtpd_port)).await {
            Ok(_) => break Raw::connect(([127, 0, 0, 1], smtpd_port).into()).await,
            Err(e) if tokio::time::Instant::now() > deadline => {
                let log = std::fs::read_to_string(dir.join("maillog")).unwrap_or_default();
                panic!("postfix smtpd did not start: {e}\n{log}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    c.hello().await;
    let r = c
        .message(
            "a@relay.test",
            &["b@example.test"],
            "Subject: relayed\r\n\r\nvia postfix",
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    c.cmd("QUIT").await;
    while rec.messages().is_empty() {
        if tokio::time::Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("maillog")).unwrap_or_default();
            panic!("postfix did not relay the message within 60 s\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    srv.shutdown().await;
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.contains("via postfix"), "{m}");
    assert!(m.contains("with ESMTPS"), "{m}");
    let log = std::fs::read_to_string(dir.join("maillog")).unwrap_or_default();
    assert!(log.contains("Verified TLS connection established"), "{log}");
}
