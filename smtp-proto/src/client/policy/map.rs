//! The local policy table: destination patterns with Postfix's meanings, and the map
//! from patterns to policies.

use super::TlsPolicy;
use std::fmt;

/// A destination pattern of a [`PolicyMap`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DomainPattern {
    /// `example.com`: this domain only.
    Exact(String),
    /// `.example.com`, also written `*.example.com` (or `*.no` for every domain under
    /// `no`): every subdomain at any depth, not the domain itself (Postfix's
    /// `.domain` in TLS policy tables).
    Subdomains(String),
}

impl DomainPattern {
    /// Parses `example.com`, `.example.com` or `*.example.com` (the last two mean the
    /// same; case-insensitive; a trailing dot is ignored). `None` for an empty or
    /// malformed pattern.
    pub fn parse(s: &str) -> Option<Self> {
        let s = normalize(s);
        let ok = |d: &str| {
            !d.is_empty()
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80)
                })
        };
        if let Some(rest) = s.strip_prefix("*.").or_else(|| s.strip_prefix('.')) {
            ok(rest).then(|| Self::Subdomains(rest.to_owned()))
        } else {
            ok(&s).then_some(Self::Exact(s))
        }
    }

    /// Whether `domain` (already normalised) matches.
    fn matches(&self, domain: &str) -> bool {
        match self {
            Self::Exact(d) => domain == d,
            Self::Subdomains(d) => domain
                .strip_suffix(d.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }

    /// Precedence: an exact name beats any pattern; among patterns the longer suffix
    /// (the more specific domain) wins.
    fn rank(&self) -> (u8, usize) {
        match self {
            Self::Exact(d) => (2, d.len()),
            Self::Subdomains(d) => (1, d.len()),
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(d) => f.write_str(d),
            Self::Subdomains(d) => write!(f, ".{d}"),
        }
    }
}

fn normalize(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Per-destination TLS policies: the rules of Postfix's `smtp_tls_policy_maps`. The most
/// specific matching pattern wins (see [`DomainPattern`] for the precedence); a
/// destination no rule matches gets the caller's default (Postfix's
/// `smtp_tls_security_level`; in `smtp-client`, the options' `tls_policy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyMap {
    entries: Vec<(DomainPattern, TlsPolicy)>,
}

impl PolicyMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the policy for a pattern.
    pub fn insert(&mut self, pattern: DomainPattern, policy: TlsPolicy) {
        self.entries.retain(|(p, _)| *p != pattern);
        self.entries.push((pattern, policy));
    }

    /// The policy for `destination` and the pattern that chose it; `None` when no
    /// rule matches.
    pub fn lookup(&self, destination: &str) -> Option<(&TlsPolicy, &DomainPattern)> {
        let d = normalize(destination);
        self.entries
            .iter()
            .filter(|(p, _)| p.matches(&d))
            .max_by_key(|(p, _)| p.rank())
            .map(|(p, pol)| (pol, p))
    }

    /// How many rules the map holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map holds no rule.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
