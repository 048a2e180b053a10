//! TLS policies against our own server: every level with a valid, self-signed, expired
//! and wrong-name certificate; STARTTLS stripped; a response injected after the 220;
//! implicit TLS; DANE; protocol versions; client certificates.

mod support;

use smtp_client::{ClientCert, Connection, Envelope, Error, PolicyViolation, TlsPolicy, Tlsa};
use support::*;

fn env() -> Envelope {
    Envelope::new("<a@example.test>", ["<b@example.test>"]).unwrap()
}

const MSG: &str = "Subject: t\r\n\r\nhello\r\n";

/// Connects to a server presenting `kind` under `policy` and sends one message.
async fn attempt(
    kind: Cert,
    policy: TlsPolicy,
) -> (Result<smtp_client::SessionReport, Error>, Recorder) {
    let ca = Ca::new();
    let pki = ca.issue(kind);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let r = async {
        let mut c = Connection::connect(&target(&srv), client(&ca, policy)).await?;
        c.send(env(), MSG).await?;
        let report = c.report().clone();
        c.quit().await?;
        Ok(report)
    }
    .await;
    srv.shutdown().await;
    (r, rec)
}

fn assert_no_mail(rec: &Recorder) {
    assert!(rec.messages().is_empty());
    assert!(
        !rec.events().iter().any(|e| e.starts_with("mail")),
        "{:?}",
        rec.events()
    );
}

#[tokio::test]
async fn may_and_encrypt_accept_any_certificate_and_report_whether_it_verified() {
    for policy in [TlsPolicy::May, TlsPolicy::Encrypt] {
        for kind in [
            Cert::Valid,
            Cert::SelfSigned,
            Cert::Expired,
            Cert::WrongName,
        ] {
            let (r, rec) = attempt(kind, policy.clone()).await;
            let report = r.unwrap_or_else(|e| panic!("{policy:?} {kind:?}: {e}"));
            let tls = report.tls.as_ref().expect("TLS was used");
            assert_eq!(
                tls.verified,
                kind == Cert::Valid,
                "{kind:?}: {}",
                tls.verification
            );
            let why = &tls.verification;
            match kind {
                Cert::Valid | Cert::ExpiresSoon => assert!(why.contains("localhost"), "{why}"),
                Cert::SelfSigned => assert!(why.contains("unknown issuer"), "{why}"),
                Cert::Expired => assert!(why.contains("expired"), "{why}"),
                Cert::WrongName => assert!(why.contains("name mismatch"), "{why}"),
            }
            assert!(tls.starttls);
            assert!(!tls.chain.is_empty());
            assert_eq!(report.policy, policy.name());
            assert_eq!(rec.messages().len(), 1);
        }
    }
}

#[tokio::test]
async fn verify_and_secure_refuse_every_bad_certificate_before_any_command() {
    let policies = [
        TlsPolicy::Verify,
        TlsPolicy::Secure {
            names: vec!["localhost".into()],
        },
    ];
    for policy in policies {
        for kind in [
            Cert::Valid,
            Cert::SelfSigned,
            Cert::Expired,
            Cert::WrongName,
        ] {
            let (r, rec) = attempt(kind, policy.clone()).await;
            if kind == Cert::Valid {
                let report = r.unwrap();
                let tls = report.tls.unwrap();
                assert!(tls.verified);
                assert_eq!(report.reason, format!("STARTTLS, policy {}", policy.name()));
                assert_eq!(rec.messages().len(), 1);
                continue;
            }
            let e = r.expect_err("a bad certificate must fail");
            assert!(e.is_tls_failure(), "{e}");
            assert!(e.is_transient(), "a TLS failure defers: {e}");
            let Error::Tls {
                reason, policy: p, ..
            } = &e
            else {
                panic!("{policy:?} {kind:?}: {e:?}")
            };
            assert_eq!(*p, policy.name());
            let want = match kind {
                Cert::SelfSigned => "unknown issuer",
                Cert::Expired => "expired",
                _ => "name mismatch",
            };
            assert!(reason.contains(want), "{kind:?}: {reason}");
            assert_no_mail(&rec);
        }
    }
}

#[tokio::test]
async fn secure_with_a_parent_domain_matches_subdomains_only() {
    let ca = Ca::new();
    let pki = ca.issue_for(&["mx1.example.test"], Cert::Valid);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let addr = format!("127.0.0.1:{}", srv.addr().port());
    let mut opts = client(&ca, TlsPolicy::Secure { names: vec![] });
    opts.destination = Some("example.test".into());
    opts.server_name = Some("mx1.example.test".into());
    let c = Connection::connect(&addr, opts.clone()).await.unwrap();
    assert!(c.report().tls.as_ref().unwrap().verified);
    c.quit().await.unwrap();
    // The MX name alone does not count under `secure` (it comes from unsigned DNS).
    opts.destination = Some("other.test".into());
    let e = Connection::connect(&addr, opts).await.unwrap_err();
    assert!(e.to_string().contains("name mismatch"), "{e}");
    srv.shutdown().await;
}

#[tokio::test]
async fn none_stays_in_plaintext_even_when_starttls_is_offered() {
    let (r, rec) = attempt(Cert::Valid, TlsPolicy::None).await;
    let report = r.unwrap();
    assert!(report.tls.is_none());
    assert_eq!(report.tls_line(), "none");
    assert!(
        rec.events().iter().any(|e| e.ends_with(" plain")),
        "{:?}",
        rec.events()
    );
}

#[tokio::test]
async fn stripped_starttls_is_a_policy_failure_unless_the_policy_is_may() {
    for policy in [TlsPolicy::May, TlsPolicy::Encrypt, TlsPolicy::Verify] {
        let ca = Ca::new();
        let rec = Recorder::default();
        // No TLS configured: the EHLO reply has no STARTTLS, as after a stripping MITM.
        let srv = serve(&rec, options(), false, None).await;
        let r = Connection::connect(&target(&srv), client(&ca, policy.clone())).await;
        match policy {
            TlsPolicy::May => {
                let mut c = r.unwrap();
                assert!(c.report().tls.is_none());
                assert_eq!(c.report().reason, "STARTTLS not offered");
                c.send(env(), MSG).await.unwrap();
                c.quit().await.unwrap();
            }
            _ => {
                let e = r.unwrap_err();
                assert!(
                    matches!(
                        e,
                        Error::Policy {
                            violation: PolicyViolation::StartTlsNotOffered { .. },
                            ..
                        }
                    ),
                    "{e:?}"
                );
                assert!(e.is_tls_failure() && e.is_transient());
                assert_no_mail(&rec);
            }
        }
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn a_reply_injected_after_the_starttls_220_ends_the_session() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"),
        // The 220 and a forged reply arrive together, in plaintext.
        (
            "STARTTLS\r\n",
            "220 2.0.0 Ready\r\n250-mx.test\r\n250 AUTH PLAIN\r\n",
        ),
    ])
    .await;
    let ca = Ca::new();
    let e = Connection::connect(&addr.to_string(), client(&ca, TlsPolicy::Encrypt))
        .await
        .unwrap_err();
    assert!(e.is_tls_failure(), "{e:?}");
    assert!(e.to_string().contains("response injection"), "{e}");
    let (seen, _) = task.await.unwrap();
    // Nothing after STARTTLS: no handshake, no second EHLO, no credentials.
    assert!(seen.ends_with("STARTTLS\r\n"), "{seen:?}");
}

#[tokio::test]
async fn a_refused_starttls_fails_a_mandatory_policy_and_is_recorded_under_may() {
    for policy in [TlsPolicy::May, TlsPolicy::Encrypt] {
        let (addr, task) = scripted(vec![
            ("", "220 mx.test ESMTP\r\n"),
            ("\r\n", "250-mx.test\r\n250 STARTTLS\r\n"),
            ("STARTTLS\r\n", "454 4.7.0 TLS not available\r\n"),
            ("QUIT\r\n", "221 bye\r\n"),
        ])
        .await;
        let ca = Ca::new();
        let r = Connection::connect(&addr.to_string(), client(&ca, policy.clone())).await;
        match policy {
            TlsPolicy::May => {
                let c = r.unwrap();
                assert!(
                    c.report().reason.contains("STARTTLS refused"),
                    "{}",
                    c.report().reason
                );
                c.quit().await.unwrap();
            }
            _ => {
                let e = r.unwrap_err();
                assert!(
                    matches!(
                        e,
                        Error::Policy {
                            violation: PolicyViolation::StartTlsRefused { .. },
                            ..
                        }
                    ),
                    "{e:?}"
                );
            }
        }
        task.await.unwrap();
    }
}

#[tokio::test]
async fn implicit_tls_is_judged_by_the_same_policy() {
    let ca = Ca::new();
    for kind in [Cert::Valid, Cert::Expired] {
        let pki = ca.issue(kind);
        let rec = Recorder::default();
        let srv = serve(&rec, options(), true, Some(pki.tls())).await;
        let opts = client(&ca, TlsPolicy::Verify).with_implicit_tls();
        let r = Connection::connect(&target(&srv), opts).await;
        if kind == Cert::Valid {
            let mut c = r.unwrap();
            let tls = c.report().tls.clone().unwrap();
            assert!(!tls.starttls && tls.verified);
            assert_eq!(c.report().reason, "implicit TLS");
            c.send(env(), MSG).await.unwrap();
            c.quit().await.unwrap();
            assert_eq!(rec.messages().len(), 1);
        } else {
            let e = r.unwrap_err();
            assert!(
                e.is_tls_failure() && e.to_string().contains("expired"),
                "{e}"
            );
        }
        srv.shutdown().await;
    }
}

fn sha256(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

fn der(pem: &str) -> Vec<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.unwrap().to_vec())
        .collect()
}

fn spki(cert: &[u8]) -> Vec<u8> {
    use x509_parser::prelude::FromDer;
    let (_, c) = x509_parser::certificate::X509Certificate::from_der(cert).unwrap();
    c.public_key().raw.to_vec()
}

async fn dane(
    pki: &Pki,
    chain_pem: String,
    records: Vec<Tlsa>,
) -> Result<smtp_client::SessionReport, Error> {
    let rec = Recorder::default();
    let tls =
        smtp_server::TlsConfig::from_pem(chain_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    let srv = serve(&rec, options(), false, Some(tls)).await;
    // No trust anchors at all: DANE replaces the WebPKI.
    let mut opts = client(&Ca::new(), TlsPolicy::Dane { records });
    opts.trust = smtp_client::TrustAnchors::empty();
    let r = async {
        let c = Connection::connect(&target(&srv), opts).await?;
        let report = c.report().clone();
        c.quit().await?;
        Ok(report)
    }
    .await;
    srv.shutdown().await;
    r
}

#[tokio::test]
async fn dane_ee_matches_the_leaf_key_and_ignores_names_and_dates() {
    let ca = Ca::new();
    for kind in [Cert::SelfSigned, Cert::Expired, Cert::WrongName] {
        let pki = ca.issue(kind);
        let leaf = der(&pki.cert_pem).remove(0);
        let records = vec![Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: sha256(&spki(&leaf)),
        }];
        let report = dane(&pki, pki.cert_pem.clone(), records).await.unwrap();
        let tls = report.tls.unwrap();
        assert!(tls.verified, "{kind:?}: {}", tls.verification);
        assert!(
            tls.verification.contains("DANE-EE(3)"),
            "{}",
            tls.verification
        );
        assert_eq!(report.policy, "dane");
    }
    // Full certificate, exact match.
    let pki = ca.issue(Cert::SelfSigned);
    let leaf = der(&pki.cert_pem).remove(0);
    let records = vec![Tlsa {
        usage: 3,
        selector: 0,
        matching: 0,
        data: leaf,
    }];
    assert!(
        dane(&pki, pki.cert_pem.clone(), records)
            .await
            .unwrap()
            .tls
            .unwrap()
            .verified
    );
}

#[tokio::test]
async fn dane_refuses_a_certificate_no_record_matches() {
    let pki = Ca::new().issue(Cert::Valid);
    let records = vec![Tlsa {
        usage: 3,
        selector: 1,
        matching: 1,
        data: vec![0; 32],
    }];
    let e = dane(&pki, pki.cert_pem.clone(), records).await.unwrap_err();
    assert!(e.is_tls_failure(), "{e}");
    assert!(e.to_string().contains("no TLSA record matches"), "{e}");
}

#[tokio::test]
async fn dane_ta_needs_the_chain_to_the_matched_ca_and_the_name() {
    let ca = Ca::new();
    let ta = der(&ca.pem).remove(0);
    let records = vec![Tlsa {
        usage: 2,
        selector: 0,
        matching: 1,
        data: sha256(&ta),
    }];
    // The server sends its CA in the chain (RFC 7672 §3.1.2).
    let pki = ca.issue(Cert::Valid);
    let chain = format!("{}{}", pki.cert_pem, ca.pem);
    let tls = dane(&pki, chain, records.clone())
        .await
        .unwrap()
        .tls
        .unwrap();
    assert!(
        tls.verified && tls.verification.contains("DANE-TA(2)"),
        "{}",
        tls.verification
    );
    // Same CA, but the certificate names another host.
    let pki = ca.issue(Cert::WrongName);
    let chain = format!("{}{}", pki.cert_pem, ca.pem);
    let e = dane(&pki, chain, records.clone()).await.unwrap_err();
    assert!(e.to_string().contains("name mismatch"), "{e}");
    // PKIX usages are not usable for SMTP (RFC 7672 §3.1.3): with only those, TLS is
    // required but not authenticated.
    let pki = ca.issue(Cert::SelfSigned);
    let pkix = vec![Tlsa {
        usage: 1,
        selector: 0,
        matching: 1,
        data: vec![1; 32],
    }];
    let tls = dane(&pki, pki.cert_pem.clone(), pkix)
        .await
        .unwrap()
        .tls
        .unwrap();
    assert!(!tls.verified);
}

#[tokio::test]
async fn a_failed_tlsa_lookup_defers() {
    let (r, rec) = attempt(Cert::Valid, TlsPolicy::DaneLookupFailed).await;
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Policy {
                violation: PolicyViolation::TlsaLookupFailed { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert_no_mail(&rec);
}

#[tokio::test]
async fn protocol_version_and_key_exchange_are_reported() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    for (versions, want) in [
        (vec![&rustls::version::TLS12], "TLSv1.2"),
        (vec![&rustls::version::TLS13], "TLSv1.3"),
    ] {
        let mut opts = client(&ca, TlsPolicy::Verify);
        opts.tls_versions = versions;
        let c = Connection::connect(&target(&srv), opts).await.unwrap();
        let tls = c.report().tls.clone().unwrap();
        assert_eq!(tls.version, want);
        assert!(tls.key_exchange.is_some());
        assert!(tls.cipher.starts_with("TLS_"), "{}", tls.cipher);
        let line = c.report().tls_line();
        assert!(
            line.starts_with(want) && line.ends_with(" verified"),
            "{line}"
        );
        assert_eq!(tls.sni.as_deref(), Some("localhost"));
        assert_eq!(
            tls.chain[0].names,
            vec!["localhost".to_string(), "127.0.0.1".to_string()]
        );
        c.quit().await.unwrap();
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn a_client_certificate_is_presented_when_asked() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let client_pki = ca.issue_for(&["client.test"], Cert::Valid);
    let tls = smtp_server::TlsBuilder::new()
        .certificate_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
        .unwrap()
        .client_auth_pem(ca.pem.as_bytes(), true)
        .unwrap()
        .build()
        .unwrap();
    let rec = Recorder::default();
    let srv = serve(&rec, options(), true, Some(tls)).await;
    // Implicit TLS: the recording handler sees the certificate at connect.
    let mut opts = client(&ca, TlsPolicy::Verify).with_implicit_tls();
    // From files: any path type (`impl AsRef<Path>`).
    let dir = temp_dir("client-cert");
    std::fs::write(dir.join("cert.pem"), &client_pki.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &client_pki.key_pem).unwrap();
    let from_files =
        ClientCert::from_pem_files(dir.join("cert.pem"), dir.join("key.pem").as_path()).unwrap();
    assert!(ClientCert::from_pem_files(dir.join("missing.pem"), "key.pem").is_err());
    opts.client_cert = Some(from_files);
    assert!(!format!("{opts:?}").contains("PRIVATE"));
    let mut c = Connection::connect(&target(&srv), opts).await.unwrap();
    c.send(env(), MSG).await.unwrap();
    c.quit().await.unwrap();
    srv.shutdown().await;
    assert_eq!(rec.log.lock().unwrap().client_certs, vec![(1, true)]);
}

#[tokio::test]
async fn cipher_suites_and_groups_are_configurable() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let provider = smtp_client::default_provider();
    let chacha = provider
        .cipher_suites
        .iter()
        .find(|s| format!("{:?}", s.suite()).contains("TLS13_CHACHA20"))
        .copied()
        .unwrap();
    let p256 = provider
        .kx_groups
        .iter()
        .find(|g| format!("{:?}", g.name()) == "secp256r1")
        .copied()
        .unwrap();
    let mut opts = client(&ca, TlsPolicy::Verify);
    opts.cipher_suites = Some(vec![chacha]);
    opts.kx_groups = Some(vec![p256]);
    let c = Connection::connect(&target(&srv), opts).await.unwrap();
    let tls = c.report().tls.clone().unwrap();
    assert_eq!(tls.cipher, "TLS_CHACHA20_POLY1305_SHA256");
    assert_eq!(tls.key_exchange.as_deref(), Some("secp256r1"));
    c.quit().await.unwrap();
    srv.shutdown().await;
}

#[test]
fn trust_anchors_from_webpki_the_system_and_files() {
    assert!(smtp_client::TrustAnchors::webpki().len() > 100);
    // Debian's ca-certificates bundle.
    assert!(!smtp_client::TrustAnchors::system().unwrap().is_empty());
    let ca = Ca::new();
    let dir = temp_dir("trust");
    std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
    let t = smtp_client::TrustAnchors::empty()
        .add_pem_file(dir.join("ca.pem"))
        .unwrap();
    assert_eq!(t.len(), 1);
    let path = dir.join("ca.pem");
    let as_str = path.to_str().unwrap();
    assert_eq!(
        smtp_client::TrustAnchors::empty()
            .add_pem_file(as_str)
            .unwrap()
            .len(),
        1
    );
    assert!(
        smtp_client::TrustAnchors::empty()
            .add_pem(b"not a pem")
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_does_the_handshake_times_out() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250 STARTTLS\r\n"),
        ("STARTTLS\r\n", "220 go ahead\r\n"),
        // Reads the ClientHello and says nothing.
        ("never", ""),
    ])
    .await;
    let mut opts = client(&Ca::new(), TlsPolicy::Encrypt);
    opts.timeouts = smtp_client::Timeouts::default();
    let e = Connection::connect(&addr.to_string(), opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { stage, .. } if stage.contains("TLS")),
        "{e:?}"
    );
    task.abort();
}
