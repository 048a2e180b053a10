//! The policy file served at `https://mta-sts.<domain>/.well-known/mta-sts.txt`
//! (RFC 8461 §3.2), and MX host matching (§4.1).
//!
//! ```text
//! sts-policy-record        = sts-policy-field *WSP
//!                            *(sts-policy-term sts-policy-field *WSP)
//!                            [sts-policy-term]
//! sts-policy-field         = sts-policy-version /      ; required once
//!                            sts-policy-mode    /      ; required once
//!                            sts-policy-max-age /      ; required once
//!                            sts-policy-mx /           ; (printed as sts-policy-term)
//!                            ; required at least once, except when
//!                            ; mode is "none"
//!                            sts-policy-extension      ; other fields
//! sts-policy-field-delim   = ":" *WSP
//! sts-policy-version-value = %s"STSv1"
//! sts-policy-mode-value    = %s"testing" / %s"enforce" / %s"none"
//! sts-policy-mx-value      = ["*."] Domain
//! sts-policy-max-age-value = 1*10(DIGIT)
//! sts-policy-ext-name      = (sts-policy-alphanum)
//!                            *31(sts-policy-alphanum / "_" / "-" / ".")
//! sts-policy-term          = LF / CRLF
//! sts-policy-ext-value     = sts-policy-vchar
//!                            [*(%x20 / sts-policy-vchar)
//!                            sts-policy-vchar]
//! sts-policy-vchar         = %x21-7E / UTF8-2 / UTF8-3 / UTF8-4
//! Domain                   = <see RFC 5321 4.1.2>
//! ```
//!
//! The RFC's `sts-policy-field` lists `sts-policy-term` where its comment describes
//! `sts-policy-mx`; the comment is what is implemented.

use super::StsError;
use std::fmt;

/// RFC 5234 `WSP`.
fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// What a sending MTA does when a policy fails to validate (RFC 8461 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `enforce`: do not deliver to an MX host that fails MX matching or certificate
    /// validation, or does not support STARTTLS.
    Enforce,
    /// `testing`: deliver as without a policy; failures are only reported (TLS-RPT,
    /// RFC 8460).
    Testing,
    /// `none`: as though the domain had no policy (the way to retire one, §8.3).
    None,
}

impl Mode {
    /// The value as a policy spells it: `enforce`, `testing` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Testing => "testing",
            Self::None => "none",
        }
    }

    /// Parses a mode, case-sensitively (`%s` in the grammar).
    fn parse(s: &str) -> Option<Self> {
        match s {
            "enforce" => Some(Self::Enforce),
            "testing" => Some(Self::Testing),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `mx` pattern of a policy (RFC 8461 §3.2, §4.1): a domain name (`mail.example.com`)
/// that matches that host only, or `*.` and a domain name (`*.example.net`) that
/// matches exactly one more label on the left: `mx1.example.net`, not `example.net`,
/// not `a.b.example.net`. Names compare case-insensitively; a trailing dot on the host
/// is ignored.
///
/// This differs from the local policy map's
/// [`DomainPattern`](crate::client::policy::DomainPattern), where `.example.com` (or
/// `*.example.com`) means every subdomain at any depth (Postfix's meaning). The same
/// text means less here: RFC 8461 §4.1 follows RFC 6125, whose wildcard stands for one
/// whole left-most label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MxPattern {
    wildcard: bool,
    /// Lowercase, no trailing dot.
    domain: String,
}

impl MxPattern {
    /// Parses `example.com` or `*.example.com`: an RFC 5321 `Domain` (ASCII labels of
    /// letters, digits and inner hyphens; IDNs as A-labels, §3.2), optionally after
    /// `*.`. No trailing dot, no surrounding whitespace. Stored lowercase.
    pub fn parse(s: &str) -> Option<Self> {
        let (wildcard, domain) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        is_domain(domain).then(|| Self {
            wildcard,
            domain: domain.to_ascii_lowercase(),
        })
    }

    /// Whether this is a `*.` pattern.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The domain, after `*.` for a wildcard pattern (lowercase).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether the MX host name matches (RFC 8461 §4.1): "the mx pattern
    /// `*.example.com` matches `mail.example.com` but not `example.com` or
    /// `foo.bar.example.com`". The host is an A-label name as DNS gave it; one trailing
    /// dot is ignored, case is ignored.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        if !self.wildcard {
            return host.eq_ignore_ascii_case(&self.domain);
        }
        // The wildcard stands for one whole label: no dot in it, not empty.
        host.split_once('.')
            .is_some_and(|(first, rest)| is_label(first) && rest.eq_ignore_ascii_case(&self.domain))
    }
}

impl fmt::Display for MxPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.domain)
    }
}

/// RFC 5321 §4.1.2 `sub-domain = Let-dig [Ldh-str]`: letters, digits, inner hyphens.
fn is_label(l: &str) -> bool {
    let b = l.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(e)) => {
            f.is_ascii_alphanumeric()
                && e.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }
        _ => false,
    }
}

/// RFC 5321 §4.1.2 `Domain = sub-domain *("." sub-domain)`.
fn is_domain(d: &str) -> bool {
    d.split('.').all(is_label)
}

/// A valid MTA-STS policy (RFC 8461 §3.2). Parse one with [`StsPolicy::parse`] (or
/// [`validate_response`](super::validate_response) from the HTTPS response), or build
/// one with [`StsPolicy::new`]; `Display` writes it back as a canonical policy file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StsPolicy {
    mode: Mode,
    max_age: u32,
    mx: Vec<MxPattern>,
}

impl StsPolicy {
    /// The largest `max_age`, in seconds (RFC 8461 §3.2: "maximum value of 31557600",
    /// a year).
    pub const MAX_AGE_LIMIT: u32 = 31_557_600;

    /// A policy from its parts: [`StsError::MaxAgeTooLarge`] above
    /// [`StsPolicy::MAX_AGE_LIMIT`], [`StsError::MissingMx`] without patterns in mode
    /// `enforce` or `testing`.
    pub fn new(mode: Mode, max_age: u32, mx: Vec<MxPattern>) -> Result<Self, StsError> {
        if max_age > Self::MAX_AGE_LIMIT {
            return Err(StsError::MaxAgeTooLarge {
                value: max_age.into(),
            });
        }
        if mode != Mode::None && mx.is_empty() {
            return Err(StsError::MissingMx);
        }
        Ok(Self { mode, max_age, mx })
    }

    /// Parses a policy body (RFC 8461 §3.2), strictly by the grammar above:
    /// - lines end in LF or CRLF, the last line ending optional; every line holds one
    ///   `key: value` field, so an empty line is an error ([`StsError::EmptyLine`]);
    /// - keys and values are case-sensitive (`Mode: enforce` is an unknown key, and
    ///   the policy then lacks `mode`); whitespace may follow the `:` and end the line,
    ///   nowhere else outside a value;
    /// - `version: STSv1`, `mode` and `max_age` are required; `mx` at least once unless
    ///   the mode is `none`;
    /// - `max_age` is 1 to 10 digits and at most [`StsPolicy::MAX_AGE_LIMIT`]: the RFC
    ///   gives the maximum as part of the field's definition and says nothing of values
    ///   above it, so one above is not a valid `max_age`
    ///   ([`StsError::MaxAgeTooLarge`]), not a year;
    /// - an `mx` value must be a valid pattern ([`MxPattern::parse`]), even in mode
    ///   `none`;
    /// - unknown keys are ignored once their line is a well-formed field (§3.2:
    ///   "unknown fields SHALL be ignored");
    /// - of a repeated field other than `mx`, the first counts and the others are
    ///   ignored, if well-formed (§3.2: "all entries except for the first SHALL be
    ///   ignored"); every `mx` counts.
    pub fn parse(body: &str) -> Result<Self, StsError> {
        if body.is_empty() {
            return Err(StsError::EmptyPolicy);
        }
        // The optional last `sts-policy-term`; a CR before it goes with the last line.
        let body = body.strip_suffix('\n').unwrap_or(body);
        let mut version = false;
        let mut mode = None;
        let mut max_age = None;
        let mut mx = Vec::new();
        for (i, raw) in body.split('\n').enumerate() {
            let line = i.saturating_add(1);
            let text = raw.strip_suffix('\r').unwrap_or(raw);
            // `sts-policy-field *WSP`: whitespace may end the line.
            let text = text.trim_end_matches(is_wsp);
            if text.is_empty() {
                return Err(StsError::EmptyLine { line });
            }
            let (key, value) = text
                .split_once(':')
                .ok_or(StsError::MissingColon { line })?;
            if !ext_name(key) {
                return Err(StsError::InvalidKey { line });
            }
            // `sts-policy-field-delim = ":" *WSP`.
            let value = value.trim_start_matches(is_wsp);
            if !ext_value(value) {
                return Err(StsError::InvalidValue { line });
            }
            match key {
                "version" if !version => {
                    if value != "STSv1" {
                        return Err(StsError::InvalidVersion { line });
                    }
                    version = true;
                }
                "mode" if mode.is_none() => {
                    mode = Some(Mode::parse(value).ok_or(StsError::InvalidMode { line })?);
                }
                "max_age" if max_age.is_none() => max_age = Some(parse_max_age(value, line)?),
                "mx" => mx.push(MxPattern::parse(value).ok_or(StsError::InvalidMx { line })?),
                // Unknown keys, and repeats of the single fields.
                _ => {}
            }
        }
        if !version {
            return Err(StsError::MissingVersion);
        }
        let mode = mode.ok_or(StsError::MissingMode)?;
        let max_age = max_age.ok_or(StsError::MissingMaxAge)?;
        Self::new(mode, max_age, mx)
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// How long the policy may be cached, in seconds from when it was fetched.
    pub fn max_age(&self) -> u32 {
        self.max_age
    }

    /// The `mx` patterns, in the policy's order (possibly none in mode `none`).
    pub fn mx(&self) -> &[MxPattern] {
        &self.mx
    }

    /// Whether an MX host matches one of the policy's patterns (RFC 8461 §4.1; see
    /// [`MxPattern::matches`]). The mode is not looked at: see
    /// [`StsPolicy::plan`] for what a match means for delivery.
    pub fn matches_mx(&self, host: &str) -> bool {
        self.mx.iter().any(|p| p.matches(host))
    }
}

impl fmt::Display for StsPolicy {
    /// The canonical policy file: `version`, `mode`, each `mx`, `max_age`, one per
    /// line, each line ending in CRLF (§3.2: "CRLF-separated key/value pairs").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version: STSv1\r\nmode: {}\r\n", self.mode)?;
        for p in &self.mx {
            write!(f, "mx: {p}\r\n")?;
        }
        write!(f, "max_age: {}\r\n", self.max_age)
    }
}

/// `sts-policy-max-age-value = 1*10(DIGIT)`, at most the limit.
fn parse_max_age(value: &str, line: usize) -> Result<u32, StsError> {
    if !(1..=10).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StsError::InvalidMaxAge { line });
    }
    // Ten digits always fit in a u64.
    let n = value
        .bytes()
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= StsPolicy::MAX_AGE_LIMIT)
        .ok_or(StsError::MaxAgeTooLarge { value: n })
}

/// `sts-policy-ext-name`: a letter or digit, then up to 31 of letters, digits, `_-.`.
fn ext_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 32
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// `sts-policy-ext-value` once the surrounding whitespace is gone: not empty, no
/// control characters (tab and a stray CR included); spaces and UTF-8 allowed.
fn ext_value(value: &str) -> bool {
    !value.is_empty() && !value.chars().any(|c| c.is_ascii_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n\
                        mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

    /// Known answers: the body, and the error (or `Ok` when the body is valid).
    const KAT: &[(&str, Result<(), StsError>)] = &[
        (GOOD, Ok(())),
        ("version: STSv1\nmode: none\nmax_age: 0", Ok(())),
        (
            "version:STSv1 \nmode:\ttesting\t\nmx:a.b\nmax_age: 0000000001\n",
            Ok(()),
        ),
        (
            "version: STSv1\nmode: none\nmax_age: 1\nx-note: caf\u{e9} au lait\n",
            Ok(()),
        ),
        (
            "version: STSv1\nmode: none\nmode: bogus\nmax_age: 1\nversion: 2\n",
            Ok(()),
        ),
        ("", Err(StsError::EmptyPolicy)),
        ("\n", Err(StsError::EmptyLine { line: 1 })),
        (
            "version: STSv1\n\nmode: none\nmax_age: 1",
            Err(StsError::EmptyLine { line: 2 }),
        ),
        (
            "version: STSv1\nmode: none\nmax_age: 1\n\n",
            Err(StsError::EmptyLine { line: 4 }),
        ),
        (
            "version: STSv1\n \nmode: none",
            Err(StsError::EmptyLine { line: 2 }),
        ),
        ("version STSv1", Err(StsError::MissingColon { line: 1 })),
        (" version: STSv1", Err(StsError::InvalidKey { line: 1 })),
        ("version : STSv1", Err(StsError::InvalidKey { line: 1 })),
        ("# comment: x", Err(StsError::InvalidKey { line: 1 })),
        ("version:", Err(StsError::InvalidValue { line: 1 })),
        ("version: \t", Err(StsError::InvalidValue { line: 1 })),
        ("version: ST\tSv1", Err(StsError::InvalidValue { line: 1 })),
        (
            "version: STSv1\rmode: none",
            Err(StsError::InvalidValue { line: 1 }),
        ),
        ("mode: none\nmax_age: 1", Err(StsError::MissingVersion)),
        (
            "Version: STSv1\nmode: none\nmax_age: 1",
            Err(StsError::MissingVersion),
        ),
        ("version: STSv2", Err(StsError::InvalidVersion { line: 1 })),
        ("version: stsv1", Err(StsError::InvalidVersion { line: 1 })),
        ("version: STSv1\nmax_age: 1", Err(StsError::MissingMode)),
        (
            "version: STSv1\nmode: Enforce",
            Err(StsError::InvalidMode { line: 2 }),
        ),
        ("version: STSv1\nmode: none", Err(StsError::MissingMaxAge)),
        (
            "version: STSv1\nmode: none\nmax_age: -1",
            Err(StsError::InvalidMaxAge { line: 3 }),
        ),
        (
            "version: STSv1\nmode: none\nmax_age: 1 d",
            Err(StsError::InvalidMaxAge { line: 3 }),
        ),
        (
            "version: STSv1\nmode: none\nmax_age: 00000000001",
            Err(StsError::InvalidMaxAge { line: 3 }),
        ),
        (
            "version: STSv1\nmode: none\nmax_age: 31557601",
            Err(StsError::MaxAgeTooLarge { value: 31_557_601 }),
        ),
        (
            "version: STSv1\nmode: none\nmax_age: 9999999999",
            Err(StsError::MaxAgeTooLarge {
                value: 9_999_999_999,
            }),
        ),
        (
            "version: STSv1\nmode: enforce\nmax_age: 1",
            Err(StsError::MissingMx),
        ),
        (
            "version: STSv1\nmode: testing\nmax_age: 1",
            Err(StsError::MissingMx),
        ),
        (
            "version: STSv1\nmode: enforce\nmx: mail.example.com.\nmax_age: 1",
            Err(StsError::InvalidMx { line: 3 }),
        ),
        (
            "version: STSv1\nmode: none\nmx: *\nmax_age: 1",
            Err(StsError::InvalidMx { line: 3 }),
        ),
        (
            "version: STSv1\nmode: none\nmx: a.*.b\nmax_age: 1",
            Err(StsError::InvalidMx { line: 3 }),
        ),
        (
            "version: STSv1\nmode: none\nmx: -a.b\nmax_age: 1",
            Err(StsError::InvalidMx { line: 3 }),
        ),
        (
            "version: STSv1\nmode: none\nmx: a_b.c\nmax_age: 1",
            Err(StsError::InvalidMx { line: 3 }),
        ),
        (
            "version: STSv1\nmode: none\nmx: a b\nmax_age: 1",
            Err(StsError::InvalidMx { line: 3 }),
        ),
    ];

    #[test]
    fn sts_policy_known_answers() {
        for (body, want) in KAT {
            let got = StsPolicy::parse(body).map(|_| ());
            assert_eq!(got, want.clone(), "{body:?}");
        }
    }

    #[test]
    fn sts_policy_first_of_repeated_fields_counts() {
        let p = StsPolicy::parse(
            "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\n\
             max_age: 60\nmax_age: 999999999999\nmx: b.example\n",
        )
        .unwrap();
        assert_eq!(p.mode(), Mode::Testing);
        assert_eq!(p.max_age(), 60);
        assert_eq!(p.mx().len(), 2);
    }

    #[test]
    fn sts_policy_display_is_canonical() {
        let p = StsPolicy::parse(GOOD).unwrap();
        assert_eq!(p.to_string(), GOOD);
        let p =
            StsPolicy::parse("version: STSv1\nmode: enforce\nmx: MAIL.Example.COM\nmax_age: 007")
                .unwrap();
        assert_eq!(
            p.to_string(),
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 7\r\n"
        );
    }

    #[test]
    fn sts_mx_pattern_syntax() {
        for ok in [
            "a",
            "example.com",
            "*.example.com",
            "*.com",
            "xn--bcher-kva.example",
            "1.2.3.4",
        ] {
            assert!(MxPattern::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "*",
            "*.",
            ".example.com",
            "example.com.",
            "**.example.com",
            "a..b",
            "a-.b",
            "a.-b",
            " a.b",
            "é.example",
        ] {
            assert!(MxPattern::parse(bad).is_none(), "{bad:?}");
        }
    }
}
