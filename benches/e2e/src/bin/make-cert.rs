//! make-cert: a private CA and a server certificate it issued, for the STARTTLS
//! benchmarks: `DIR/ca.pem` (what clients trust), `DIR/cert.pem` and `DIR/key.pem` (what
//! our smtp-sink and the bare rustls server present). The server certificate names
//! `localhost` and 127.0.0.1; both keys are ECDSA P-256 (rcgen's default), as a
//! Let's Encrypt ECDSA certificate would be.
//!
//! ```text
//! make-cert DIR
//! ```

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: make-cert DIR"));
    std::fs::create_dir_all(&dir).expect("creating DIR");

    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.distinguished_name
        .push(DnType::CommonName, "smtp-e2e benchmark CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).expect("parameters");
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let key = KeyPair::generate().expect("server key");
    let cert = leaf
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("server certificate");

    for (name, pem) in [
        ("ca.pem", ca_cert.pem()),
        ("cert.pem", cert.pem()),
        ("key.pem", key.serialize_pem()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}
