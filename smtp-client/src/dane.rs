//! DANE for SMTP (RFC 7672 §3): the server's chain against the TLSA records of the MX
//! host, which the caller looked up with a DNSSEC-validating resolver.
//!
//! - DANE-EE(3): the leaf certificate (selector 0) or its public key (selector 1)
//!   matches. Names and validity dates are not checked (§3.1.1).
//! - DANE-TA(2): a certificate the server sent matches; the leaf must chain to it and
//!   carry one of the reference names (the MX host or the next-hop domain, §3.2.2).
//!   A trust-anchor key published without its certificate in the chain is not usable
//!   here (§3.1.2 asks servers to include it).
//! - PKIX-TA(0) and PKIX-EE(1) records were filtered out before (§3.1.3).

use crate::certs::spki;
use crate::verify::{describe, names_match};
use rustls::RootCertStore;
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::server::ParsedCertificate;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use smtp_proto::client::policy::Tlsa;

/// Whether `cert` matches `record` (RFC 6698 §2.1: selector, then matching type).
pub(crate) fn matches(record: &Tlsa, cert: &[u8]) -> bool {
    let selected = match record.selector {
        0 => cert.to_vec(),
        1 => match spki(cert) {
            Some(k) => k,
            None => return false,
        },
        _ => return false,
    };
    let digest = match record.matching {
        0 => selected,
        1 => crate::tls::sha256(&selected),
        2 => crate::tls::sha512(&selected),
        _ => return false,
    };
    digest == record.data
}

/// Checks the chain against the usable records; `Ok` says which matched.
pub(crate) fn verify(
    records: &[Tlsa],
    names: &[String],
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    algs: &[&dyn SignatureVerificationAlgorithm],
) -> Result<String, String> {
    if let Some(r) = records.iter().find(|r| r.usage == 3 && matches(r, leaf)) {
        return Ok(format!("DANE-EE(3) {} {} match", r.selector, r.matching));
    }
    let mut why = None;
    for ta in intermediates {
        let Some(r) = records.iter().find(|r| r.usage == 2 && matches(r, ta)) else {
            continue;
        };
        let mut store = RootCertStore::empty();
        if let Err(e) = store.add(ta.clone().into_owned()) {
            why = Some(format!("DANE-TA(2) certificate unusable: {}", describe(&e)));
            continue;
        }
        let parsed = ParsedCertificate::try_from(leaf).map_err(|e| describe(&e))?;
        if let Err(e) =
            verify_server_cert_signed_by_trust_anchor(&parsed, &store, intermediates, now, algs)
        {
            why = Some(format!(
                "DANE-TA(2) matched but the chain does not verify: {}",
                describe(&e)
            ));
            continue;
        }
        return match names_match(leaf, names) {
            Ok(_) => Ok(format!("DANE-TA(2) {} {} match", r.selector, r.matching)),
            Err(e) => Err(format!("DANE-TA(2) matched but {e}")),
        };
    }
    Err(why.unwrap_or_else(|| "no TLSA record matches the certificate chain".into()))
}
