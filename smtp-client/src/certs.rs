//! What a certificate says, for reports: parsed with `x509-parser`.

use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{
    OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer, X509Certificate};

/// One certificate of the chain the server presented.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The subject's distinguished name, e.g. `CN=mx.example.com`.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub names: Vec<String>,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// `RSA`, `EC`, `Ed25519` or the algorithm's OID.
    pub key_type: String,
    /// The key size in bits (0 when unknown).
    pub key_bits: usize,
    /// Whether it is a CA certificate (basicConstraints cA).
    pub is_ca: bool,
}

impl CertificateSummary {
    /// Parses one DER certificate; `None` when it does not parse.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        Some(Self {
            subject: printable(&cert.subject().to_string()),
            issuer: printable(&cert.issuer().to_string()),
            names: san_names(&cert).iter().map(|n| printable(n)).collect(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            key_type: key_type(&cert),
            key_bits: cert
                .public_key()
                .parsed()
                .map(|k| k.key_size())
                .unwrap_or(0),
            is_ca: cert.is_ca(),
        })
    }

    /// Whether the certificate (its subjectAltName) carries `name`: a host name, with
    /// wildcards as RFC 6125 §6.4.3 allows, or an IP address.
    pub fn matches_name(&self, name: &str) -> bool {
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return self
                .names
                .iter()
                .any(|n| n.parse::<std::net::IpAddr>().is_ok_and(|a| a == ip));
        }
        self.names.iter().any(|n| name_matches(n, bare))
    }

    /// Whole days from `now` (Unix seconds) until it expires; negative once expired.
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }
}

fn key_type(cert: &X509Certificate<'_>) -> String {
    let oid = &cert.public_key().algorithm.algorithm;
    if *oid == OID_PKCS1_RSAENCRYPTION {
        "RSA".into()
    } else if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        "EC".into()
    } else if *oid == OID_SIG_ED25519 {
        "Ed25519".into()
    } else {
        oid.to_id_string()
    }
}

/// The dNSName and iPAddress entries of the subjectAltName extension.
pub(crate) fn san_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some((*d).to_owned()),
            GeneralName::IPAddress(b) => match b.len() {
                4 => <[u8; 4]>::try_from(*b)
                    .ok()
                    .map(|a| std::net::Ipv4Addr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(*b)
                    .ok()
                    .map(|a| std::net::Ipv6Addr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The names a leaf certificate carries in its subjectAltName. The subject CN is not
/// used (RFC 6125 §6.4.4 makes that fallback optional, and name constraints on a CA
/// apply to SANs only).
pub(crate) fn dns_names(der: &[u8]) -> Vec<String> {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => san_names(&cert),
        Err(_) => Vec::new(),
    }
}

/// `s` with control characters replaced, so a certificate's text cannot forge a log
/// line or a header.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The DER SubjectPublicKeyInfo of a certificate (TLSA selector 1).
pub(crate) fn spki(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(cert.public_key().raw.to_vec())
}

/// Whether a certificate name (possibly a `*.` wildcard in the left-most label, RFC
/// 6125 §6.4.3) satisfies a wanted name. A wanted name with a leading `.` accepts any
/// subdomain (Postfix's `.domain` match), at any depth.
pub(crate) fn name_matches(cert_name: &str, wanted: &str) -> bool {
    let cert_name = cert_name.trim_end_matches('.').to_ascii_lowercase();
    let wanted = wanted.trim_end_matches('.').to_ascii_lowercase();
    if let Some(parent) = wanted.strip_prefix('.') {
        let below = |n: &str| {
            n.strip_suffix(parent)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        };
        // A wildcard `*.base` stands for names one label below `base`.
        return match cert_name.strip_prefix("*.") {
            Some(base) => base == parent || below(base),
            None => below(&cert_name),
        };
    }
    if let Some(rest) = cert_name.strip_prefix("*.") {
        // `*` covers exactly one label.
        return wanted
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest);
    }
    cert_name == wanted
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn names() {
        assert!(name_matches("mx.example.com", "mx.example.com"));
        assert!(name_matches("MX.Example.com.", "mx.example.com"));
        assert!(!name_matches("mx.example.com", "example.com"));
        assert!(name_matches("*.example.com", "mx.example.com"));
        assert!(!name_matches("*.example.com", "a.mx.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(name_matches("mx.example.com", ".example.com"));
        assert!(name_matches("a.b.example.com", ".example.com"));
        assert!(!name_matches("example.com", ".example.com"));
        assert!(!name_matches("badexample.com", ".example.com"));
        assert!(name_matches("*.example.com", ".example.com"));
        assert!(name_matches("*.mx.example.com", ".example.com"));
        assert!(!name_matches("*.com", ".example.com"));
    }
}
