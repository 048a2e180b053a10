//! An offline DNSSEC lab on 127.0.0.1 for the DANE tests: a private top-level domain
//! `test.` (RFC 6761), signed at test time with the ldns tools and served by NSD.
//! Signatures expire, so nothing signed is committed; generating and starting takes
//! well under a second.
//!
//! The zones (every address 127.0.0.1, where our SMTP server listens; `P` is its port,
//! which the TLSA owner names carry: `_P._tcp.`):
//!
//! | Name | Records | Validates |
//! |---|---|---|
//! | `dane.test` | MX 10 mx1, 20 mx2, 30 mx3, 40 mxt | Secure |
//! | `_P._tcp.mx1.dane.test` | TLSA 3 1 1, the server key's SHA-256 | Secure, matches |
//! | `_P._tcp.mx2.dane.test` | TLSA 3 1 1, another digest | Secure, no match |
//! | `mx3.dane.test` | no TLSA | Secure denial |
//! | `_P._tcp.mxt.dane.test` | TLSA edited after signing | Bogus |
//! | `_P._tcp.mxs.dane.test` | TLSA whose RRSIG was removed | Bogus |
//! | `_P._tcp.mxa.dane.test` | TLSA 2 1 1, the test CA key's SHA-256 | Secure, DANE-TA |
//! | `mxc.dane.test` | CNAME mx1.dane.test | Secure |
//! | `fallback.dane.test` | MX 10 mxt, 20 mx2, 30 mx1 | Secure |
//! | `cname.dane.test` | MX 10 mxc | Secure |
//! | `_mta-sts.dane.test` | TXT `v=STSv1; id=20261202T000000;` | Secure |
//! | `sts.test` | MX mx3.dane.test, mx.insecure.test; `_mta-sts` TXT; `mta-sts` A | Secure, no DANE: MTA-STS decides |
//! | `insecure.test` | delegated without DS: MX, A, TLSA 3 1 1 (matching) | Insecure |
//! | `bogus.test` | delegated with DS; MX and TLSA edited after signing | Bogus (its A: Secure) |
//!
//! One key per zone, used as both KSK and ZSK (ECDSA P-256, algorithm 13); the
//! anchor is the `test.` key as `ldns-keygen` wrote it (a DNSKEY line).

#![allow(dead_code)]

use super::postfix::need;
use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every MX host name of the lab's zones: the names our server's certificate carries.
pub const MX_NAMES: &[&str] = &[
    "mx1.dane.test",
    "mx2.dane.test",
    "mx3.dane.test",
    "mxt.dane.test",
    "mxs.dane.test",
    "mxa.dane.test",
    "mxc.dane.test",
    "mx.insecure.test",
    "mx.bogus.test",
];

/// Our server behind the lab's MX names and the lab whose TLSA records describe it.
pub struct LabServer {
    pub ca: super::Ca,
    pub rec: super::Recorder,
    pub srv: super::Running,
    pub lab: Lab,
}

impl LabServer {
    /// A certificate for `names` whose chain ends with the CA (so that a DANE-TA(2)
    /// record matches a certificate the server sends, RFC 7672 §3.1.2), our server with
    /// it, and the lab with TLSA 3 1 1 for its key and 2 1 1 for the CA's.
    pub async fn start(names: &[&str]) -> Self {
        let ca = super::Ca::new();
        let mut pki = ca.issue_for(names, super::Cert::Valid);
        let ee_spki_sha256 = spki_sha256(&pki.cert_pem);
        let ta_spki_sha256 = spki_sha256(&ca.pem);
        pki.cert_pem.push_str(&ca.pem);
        let rec = super::Recorder::default();
        let srv = super::start(super::builder(&rec, &pki, super::options())).await;
        let lab = Lab::start(&LabSpec {
            smtp_port: srv.addr().port(),
            ee_spki_sha256,
            ta_spki_sha256,
        });
        Self { ca, rec, srv, lab }
    }
}

/// What the zones must say about our server.
pub struct LabSpec {
    /// The port our SMTP server listens on (and the TLSA records are for).
    pub smtp_port: u16,
    /// SHA-256 of the server certificate's SubjectPublicKeyInfo (TLSA 3 1 1).
    pub ee_spki_sha256: Vec<u8>,
    /// SHA-256 of the issuing CA's SubjectPublicKeyInfo (TLSA 2 1 1).
    pub ta_spki_sha256: Vec<u8>,
}

/// NSD serving the signed zones on 127.0.0.1, stopped on drop.
pub struct Lab {
    pub dir: PathBuf,
    /// Where NSD answers (UDP and TCP).
    pub addr: SocketAddr,
    /// The trust anchor: the `test.` DNSKEY, as `ldns-keygen` wrote it.
    pub anchor: PathBuf,
    /// How long generating, signing and starting took.
    pub startup: Duration,
    nsd: Child,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let pid = self.nsd.id().to_string();
        let dir = self.dir.clone();
        // The files stay for a look when the test failed.
        let _clean = Cleanup(dir);
        // SIGTERM to NSD's main process stops its children too.
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.nsd.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its own session (setsid): the group has its pid.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.nsd.wait();
    }
}

/// Removes the lab's folder (after NSD stopped), unless the test failed.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

const NSD: &str = "/usr/sbin/nsd";
const KEYGEN: &str = "/usr/bin/ldns-keygen";
const SIGNZONE: &str = "/usr/bin/ldns-signzone";
const KEY2DS: &str = "/usr/bin/ldns-key2ds";

impl Lab {
    /// Generates, signs and serves the zones. Fails (never skips) when NSD or the
    /// ldns tools are missing, with the command that installs them.
    pub fn start(spec: &LabSpec) -> Self {
        let t0 = Instant::now();
        need(NSD, "nsd");
        for tool in [KEYGEN, SIGNZONE, KEY2DS] {
            need(tool, "ldnsutils");
        }
        let dir = super::temp_dir("dane-lab");
        let anchor = write_zones(&dir, spec);
        // A free port can be taken between the probe and NSD's bind: try a few.
        for _ in 0..5 {
            let port = free_udp_and_tcp_port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            std::fs::write(dir.join("nsd.conf"), nsd_conf(&dir, port)).unwrap();
            let log = std::fs::File::create(dir.join("nsd.out")).unwrap();
            let nsd = Command::new("setsid")
                .arg(NSD)
                .arg("-d")
                .arg("-c")
                .arg(dir.join("nsd.conf"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("starting nsd");
            let mut lab = Lab {
                dir: dir.clone(),
                addr,
                anchor: anchor.clone(),
                startup: Duration::ZERO,
                nsd,
            };
            if lab.wait_until_it_answers() {
                lab.startup = t0.elapsed();
                return lab;
            }
        }
        panic!("NSD did not start; see {}", dir.display());
    }

    /// Polls with a `test. SOA` query until NSD answers (true), or it exits (false).
    fn wait_until_it_answers(&mut self) -> bool {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        // Header: id 0x5eed, no flags, one question; `test.` SOA IN.
        let query = [
            0x5e, 0xed, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, b't', b'e', b's', b't', 0, 0, 6, 0, 1,
        ];
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.nsd.try_wait() {
                let out = std::fs::read_to_string(self.dir.join("nsd.out")).unwrap_or_default();
                let log = std::fs::read_to_string(self.dir.join("nsd.log")).unwrap_or_default();
                eprintln!("nsd exited ({status}) on port {}:\n{out}{log}", self.addr);
                return false;
            }
            let _ = sock.send_to(&query, self.addr);
            let mut buf = [0u8; 512];
            if let Ok((n, _)) = sock.recv_from(&mut buf)
                && n >= 12
                && buf[..2] == query[..2]
            {
                return true;
            }
        }
        panic!("NSD did not answer on {} within 20 s", self.addr);
    }

    /// A validating resolver asking only this lab, anchored at `test.`.
    #[cfg(feature = "dane")]
    pub fn resolver(&self) -> smtp_client::dns::HickoryResolver {
        let anchors = smtp_client::dns::DnssecAnchors::from_file(&self.anchor).unwrap();
        smtp_client::dns::HickoryResolver::validating(self.addr, anchors).unwrap()
    }
}

/// SHA-256 of the SubjectPublicKeyInfo of the first certificate in `pem`.
pub fn spki_sha256(pem: &str) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let der = CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let spki = cert.tbs_certificate.subject_pki.raw;
    ring::digest::digest(&ring::digest::SHA256, spki)
        .as_ref()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn free_udp_and_tcp_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Runs a tool in `dir`; its standard output.
fn run(dir: &Path, tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A key (one CSK) for `zone`: the base name of its `.key`/`.private` files.
fn keygen(dir: &Path, zone: &str) -> String {
    run(dir, KEYGEN, &["-a", "ECDSAP256SHA256", "-k", zone])
        .trim()
        .to_owned()
}

/// `YYYYMMDDhhmmss` in UTC, `days` from now.
fn stamp(days: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Signs `zone` (file `<zone>zone`) into `<zone>zone.signed`, valid from yesterday
/// for 30 days, with NSEC.
fn sign(dir: &Path, zone: &str, key: &str) -> PathBuf {
    let (from, until) = (stamp(-1), stamp(30));
    let input = format!("{zone}zone");
    let output = format!("{zone}zone.signed");
    run(
        dir,
        SIGNZONE,
        &["-i", &from, "-e", &until, "-f", &output, &input, key],
    );
    dir.join(output)
}

const SOA: &str = "@ IN SOA ns.test. hostmaster.test. 1 3600 900 604800 300\n@ IN NS ns.test.\n";

/// Rewrites the signed zone's lines for which `edit` gives `Some` (`None`: keep).
/// Lines are `owner ttl class type rdata`, tab-separated as ldns writes them.
fn tamper(path: &Path, edit: impl Fn(&[&str]) -> Option<Option<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    let mut changed = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match edit(&fields) {
            Some(replacement) => {
                changed += 1;
                if let Some(r) = replacement {
                    out.push_str(&r);
                    out.push('\n');
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(changed > 0, "nothing to tamper with in {}", path.display());
    std::fs::write(path, out).unwrap();
}

/// The same record with the last hex digit of its rdata changed.
fn flip_last_digit(fields: &[&str]) -> String {
    let mut line = fields.join("\t");
    let last = line.pop().unwrap();
    line.push(if last == '0' { '1' } else { '0' });
    line
}

/// Writes and signs the zones; the path of the trust anchor.
fn write_zones(dir: &Path, spec: &LabSpec) -> PathBuf {
    let p = spec.smtp_port;
    let (ee, ta) = (hex(&spec.ee_spki_sha256), hex(&spec.ta_spki_sha256));
    let other = hex(ring::digest::digest(&ring::digest::SHA256, b"not-this-key").as_ref());
    let child = |zone: &str| {
        format!(
            "$ORIGIN {zone}.\n$TTL 300\n{SOA}@ IN MX 10 mx.{zone}.\nmx IN A 127.0.0.1\n\
             _{p}._tcp.mx IN TLSA 3 1 1 {ee}\n"
        )
    };
    std::fs::write(dir.join("insecure.test.zone"), child("insecure.test")).unwrap();
    std::fs::write(dir.join("bogus.test.zone"), child("bogus.test")).unwrap();
    let bogus_key = keygen(dir, "bogus.test.");
    let bogus_ds = run(dir, KEY2DS, &["-n", "-2", &format!("{bogus_key}.key")]);
    let signed = sign(dir, "bogus.test.", &bogus_key);
    tamper(&signed, |f| match f {
        [owner, _, _, "MX", _] if *owner == "bogus.test." => {
            Some(Some(f.join("\t").replace("\t10 mx.", "\t20 mx.")))
        }
        [_, _, _, "TLSA", _] => Some(Some(flip_last_digit(f))),
        _ => None,
    });

    let mut test = format!("$ORIGIN test.\n$TTL 300\n{SOA}ns IN A 127.0.0.1\n");
    test.push_str("insecure IN NS ns.test.\nbogus IN NS ns.test.\n");
    test.push_str(&bogus_ds);
    test.push('\n');
    for (pref, host) in [(10, "mx1"), (20, "mx2"), (30, "mx3"), (40, "mxt")] {
        let _ = writeln!(test, "dane IN MX {pref} {host}.dane.test.");
    }
    for (pref, host) in [(10, "mxt"), (20, "mx2"), (30, "mx1")] {
        let _ = writeln!(test, "fallback.dane IN MX {pref} {host}.dane.test.");
    }
    test.push_str("cname.dane IN MX 10 mxc.dane.test.\nmxc.dane IN CNAME mx1.dane.test.\n");
    // A CNAME to the DANE-TA host: the TLSA base domain is mxa, the name the
    // certificate carries (RFC 7672 §3.2.2); mxac itself is not in it.
    test.push_str("cnameta.dane IN MX 10 mxac.dane.test.\nmxac.dane IN CNAME mxa.dane.test.\n");
    for host in ["mx1", "mx2", "mx3", "mxt", "mxs", "mxa"] {
        let _ = writeln!(test, "{host}.dane IN A 127.0.0.1");
    }
    for (host, record) in [
        ("mx1", format!("3 1 1 {ee}")),
        ("mx2", format!("3 1 1 {other}")),
        ("mxt", format!("3 1 1 {ee}")),
        ("mxs", format!("3 1 1 {ee}")),
        ("mxa", format!("2 1 1 {ta}")),
    ] {
        let _ = writeln!(test, "_{p}._tcp.{host}.dane IN TLSA {record}");
    }
    test.push_str("_mta-sts.dane IN TXT \"v=STSv1; id=20261202T000000;\"\n");
    // sts.test: Secure MX, hosts without DANE (mx3: a Secure denial of TLSA; the
    // insecure zone's host), an MTA-STS record and policy host: MTA-STS decides.
    test.push_str(
        "sts IN MX 10 mx3.dane.test.\nsts IN MX 20 mx.insecure.test.\n\
         _mta-sts.sts IN TXT \"v=STSv1; id=1;\"\nmta-sts.sts IN A 127.0.0.1\n",
    );
    std::fs::write(dir.join("test.zone"), test).unwrap();
    let key = keygen(dir, "test.");
    let signed = sign(dir, "test.", &key);
    let mxt = format!("_{p}._tcp.mxt.dane.test.");
    let mxs = format!("_{p}._tcp.mxs.dane.test.");
    tamper(&signed, |f| match f {
        // A digest changed after signing: the signature no longer verifies.
        [owner, _, _, "TLSA", _] if *owner == mxt => Some(Some(flip_last_digit(f))),
        // The TLSA RRset's signature removed (a downgrade attempt).
        [owner, _, _, "RRSIG", rdata] if *owner == mxs && rdata.starts_with("TLSA ") => Some(None),
        _ => None,
    });
    dir.join(format!("{key}.key"))
}

fn nsd_conf(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let mut conf = format!(
        "server:\n  ip-address: 127.0.0.1\n  port: {port}\n  server-count: 1\n  \
         zonesdir: \"{d}\"\n  database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  \
         xfrdfile: \"{d}/xfrd.state\"\n  pidfile: \"\"\n  logfile: \"{d}/nsd.log\"\n  \
         username: \"\"\n  chroot: \"\"\nremote-control:\n  control-enable: no\n"
    );
    for (zone, file) in [
        ("test.", "test.zone.signed"),
        ("insecure.test.", "insecure.test.zone"),
        ("bogus.test.", "bogus.test.zone.signed"),
    ] {
        let _ = write!(conf, "zone:\n  name: \"{zone}\"\n  zonefile: \"{file}\"\n");
    }
    conf
}
