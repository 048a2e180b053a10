//! DNSSEC validation in [`HickoryResolver`] (the `dane` feature): the validating
//! constructors, their trust anchors ([`DnssecAnchors`]), and how hickory's proofs
//! and errors become the core's [`Answer`] states.
//!
//! hickory's validator returns insecure data as it returns secure data; only the proof
//! on each record tells them apart (RFC 4035 §4.3), so every RRset is judged here.
//! Negative answers arrive as errors: a validated denial (NSEC, NSEC3) carries its
//! proof on the SOA and authority records, a bogus one is its own error.

use super::hickory::{HickoryResolver, config_error};
use super::{Answer, Dnssec};
use crate::error::Error;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::rr::{Record, RecordType};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// The DNSSEC trust anchors a validating [`HickoryResolver`] starts its chains of
/// trust from: the root zone's keys, or the keys of a zone of your own.
#[derive(Clone)]
pub struct DnssecAnchors {
    anchors: Arc<TrustAnchors>,
    /// How many keys (hickory's own count leaves out those below the root).
    keys: usize,
}

impl std::fmt::Debug for DnssecAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnssecAnchors")
            .field("keys", &self.keys)
            .finish()
    }
}

impl DnssecAnchors {
    /// The root zone's key-signing keys built into `hickory-proto` (KSK-2017 and
    /// KSK-2024). A future root key roll needs a newer crate (RFC 5011 rollover is
    /// not followed).
    pub fn root() -> Self {
        let anchors = TrustAnchors::default();
        let keys = anchors.len();
        Self {
            anchors: Arc::new(anchors),
            keys,
        }
    }

    /// DNSKEY records in zone-file form, one per line
    /// (`example. 3600 IN DNSKEY 257 3 13 <base64>`), as `ldns-keygen` writes a `.key`
    /// file or `dig DNSKEY` prints them; `;` comments are ignored. DS records are not
    /// accepted.
    ///
    /// They replace the root anchors: only names under the anchored zones can
    /// validate. When the anchored zone has a key-signing and a zone-signing key, give
    /// both (or sign it with one combined key): hickory looks for a DS above a DNSKEY
    /// RRset whose signing key is not an anchor, and there is none above a private
    /// zone.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let lines: String = text
            .lines()
            .map(|l| l.split(';').next().unwrap_or_default().trim_end())
            .filter(|l| !l.trim().is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        let anchors: TrustAnchors = lines
            .parse()
            .map_err(|e| Error::Config(format!("DNSSEC trust anchors: {e}")))?;
        let keys = lines
            .split_whitespace()
            .filter(|w| w.eq_ignore_ascii_case("DNSKEY"))
            .count();
        if keys == 0 {
            return Err(Error::Config(
                "DNSSEC trust anchors: no DNSKEY record".into(),
            ));
        }
        Ok(Self {
            anchors: Arc::new(anchors),
            keys,
        })
    }

    /// [`DnssecAnchors::parse`] of a file's contents.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "reading DNSSEC trust anchors {}: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text)
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }
}

impl HickoryResolver {
    /// The system's name servers (`/etc/resolv.conf`), validating DNSSEC from the root
    /// anchors ([`DnssecAnchors::root`]); the hosts file is not read (it proves
    /// nothing).
    ///
    /// The name servers must pass DNSSEC records through (EDNS0 with the DO bit,
    /// answers over 512 octets, TCP). One that strips them makes signed answers
    /// bogus or failed, and delivery to DANE domains defers: safe, but stuck. A
    /// validating upstream answers a bogus lookup with SERVFAIL, which is reported as a
    /// failed lookup (the same defer).
    pub fn validating_from_system() -> Result<Self, Error> {
        let mut builder = TokioResolver::builder_tokio().map_err(|e| config_error(&e))?;
        builder.options_mut().use_hosts_file = ResolveHosts::Never;
        let inner = builder
            .with_trust_anchor(DnssecAnchors::root().anchors)
            .build()
            .map_err(|e| config_error(&e))?;
        Ok(Self {
            inner,
            validating: true,
        })
    }

    /// One name server (UDP, and TCP for long answers), validating DNSSEC from
    /// `anchors`: for a name server of the operator's (it must pass DNSSEC records
    /// through, as for [`validating_from_system`](Self::validating_from_system)), or a
    /// test lab serving its own signed zones. The hosts file is not read.
    pub fn validating(name_server: SocketAddr, anchors: DnssecAnchors) -> Result<Self, Error> {
        let connection = |mut c: ConnectionConfig| {
            c.port = name_server.port();
            c
        };
        let ns = NameServerConfig::new(
            name_server.ip(),
            true,
            vec![
                connection(ConnectionConfig::udp()),
                connection(ConnectionConfig::tcp()),
            ],
        );
        let mut opts = ResolverOpts::default();
        opts.use_hosts_file = ResolveHosts::Never;
        let inner = TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![ns]),
            TokioRuntimeProvider::default(),
        )
        .with_options(opts)
        .with_trust_anchor(anchors.anchors)
        .build()
        .map_err(|e| config_error(&e))?;
        Ok(Self {
            inner,
            validating: true,
        })
    }
}

/// One proof as the core's state; `None` for Indeterminate (the validator could not
/// get the DNSSEC records it needed: a failed lookup, never Insecure).
fn from_proof(p: Proof) -> Option<Dnssec> {
    match p {
        Proof::Secure => Some(Dnssec::Secure),
        Proof::Insecure => Some(Dnssec::Insecure),
        Proof::Bogus => Some(Dnssec::Bogus),
        _ => None,
    }
}

/// The state of a set of records (RRSIGs aside): Bogus if any is, a failure if any is
/// indeterminate, Secure if all are, else Insecure. No records at all: a failure.
pub(super) fn state(records: &[Record]) -> Option<Dnssec> {
    let mut all = None;
    for r in records
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
    {
        match from_proof(r.proof) {
            Some(Dnssec::Bogus) => return Some(Dnssec::Bogus),
            None => return None,
            Some(Dnssec::Insecure) => all = Some(Dnssec::Insecure),
            Some(Dnssec::Secure) => {
                all.get_or_insert(Dnssec::Secure);
            }
        }
    }
    all
}

/// A validating lookup without records.
pub(super) fn negative<T>(e: NetError) -> Answer<T> {
    match e {
        NetError::Dns(DnsError::DnssecBogus) => Answer::NoRecords(Dnssec::Bogus),
        // NODATA or NXDOMAIN: the proof of the denial is on its SOA and NSEC(3) records.
        NetError::Dns(DnsError::NoRecordsFound(NoRecords {
            soa, authorities, ..
        })) => {
            let mut records: Vec<Record> = authorities.as_deref().unwrap_or_default().to_vec();
            if let Some(soa) = soa {
                records.push(soa.into_record_of_rdata());
            }
            match state(&records) {
                Some(s) => Answer::NoRecords(s),
                None => Answer::Failed,
            }
        }
        NetError::Dns(DnsError::Nsec { proof, .. }) => match from_proof(proof) {
            Some(s) => Answer::NoRecords(s),
            None => Answer::Failed,
        },
        // SERVFAIL (a validating upstream's answer to bogus data too), REFUSED, a
        // timeout, a transport error.
        _ => Answer::Failed,
    }
}
