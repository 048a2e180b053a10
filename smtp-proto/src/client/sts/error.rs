//! Why an MTA-STS record, policy or policy response is not usable.

/// Why an `_mta-sts` TXT record, a policy file or the HTTPS response carrying it is
/// not usable. Each case is its own variant, so a caller can tell them apart (for logs,
/// and for a TLS report: [`StsError::is_fetch_error`] separates RFC 8460's
/// `sts-policy-fetch-error` from `sts-policy-invalid`). Lines are counted from 1.
///
/// Every case means the same to delivery: the record or policy does not exist for
/// MTA-STS (RFC 8461 §3.1, §3.3); a valid cached policy still applies
/// ([`after_fetch`](super::after_fetch)).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsError {
    // The TXT record (RFC 8461 §3.1).
    /// The record does not begin with `v=STSv1` followed by the field delimiter.
    #[error("TXT record does not begin with v=STSv1")]
    NotStsRecord,
    /// The record has no `id` field.
    #[error("TXT record has no id field")]
    MissingId,
    /// The `id` is not 1 to 32 letters and digits.
    #[error("TXT record id is not 1 to 32 letters and digits")]
    InvalidId,
    /// A field of the record (counted from 1 after `v=STSv1`) is not `name=value` by
    /// the grammar, or two delimiters have no field between them.
    #[error("TXT record field {field} is malformed")]
    InvalidRecordField {
        /// Which field, from 1.
        field: usize,
    },

    // The policy file (RFC 8461 §3.2).
    /// The policy body is empty.
    #[error("policy is empty")]
    EmptyPolicy,
    /// A line holds no field: an empty line, or only whitespace (the grammar has a
    /// field on every line; only the last line ending is optional).
    #[error("policy line {line} is empty")]
    EmptyLine {
        /// The line, from 1.
        line: usize,
    },
    /// A line has no `:` after its key.
    #[error("policy line {line} has no ':'")]
    MissingColon {
        /// The line, from 1.
        line: usize,
    },
    /// A key is not 1 to 32 letters, digits, `_`, `-` or `.`, starting with a letter
    /// or digit (whitespace before the `:` included).
    #[error("policy line {line} has a malformed key")]
    InvalidKey {
        /// The line, from 1.
        line: usize,
    },
    /// A value is empty or holds a control character (CR alone, tab inside, NUL …).
    #[error("policy line {line} has a malformed value")]
    InvalidValue {
        /// The line, from 1.
        line: usize,
    },
    /// No `version` field.
    #[error("policy has no version field")]
    MissingVersion,
    /// The first `version` is not `STSv1`.
    #[error("policy line {line}: version is not STSv1")]
    InvalidVersion {
        /// The line, from 1.
        line: usize,
    },
    /// No `mode` field.
    #[error("policy has no mode field")]
    MissingMode,
    /// The first `mode` is not `enforce`, `testing` or `none` (lowercase).
    #[error("policy line {line}: mode is not enforce, testing or none")]
    InvalidMode {
        /// The line, from 1.
        line: usize,
    },
    /// No `max_age` field.
    #[error("policy has no max_age field")]
    MissingMaxAge,
    /// The first `max_age` is not 1 to 10 digits.
    #[error("policy line {line}: max_age is not 1 to 10 digits")]
    InvalidMaxAge {
        /// The line, from 1.
        line: usize,
    },
    /// `max_age` is above its maximum, 31557600 seconds.
    #[error("max_age {value} exceeds the maximum of 31557600")]
    MaxAgeTooLarge {
        /// The value given.
        value: u64,
    },
    /// Mode `enforce` or `testing` without any `mx` field.
    #[error("policy in mode enforce or testing has no mx field")]
    MissingMx,
    /// An `mx` value is not a domain name or `*.` and a domain name.
    #[error("policy line {line}: mx is not a domain or *.domain")]
    InvalidMx {
        /// The line, from 1.
        line: usize,
    },

    // The HTTPS response (RFC 8461 §3.3, §3.2).
    /// A redirect: 3xx responses must not be followed.
    #[error("policy fetch answered {status}: redirects are not followed")]
    Redirect {
        /// The HTTP status.
        status: u16,
    },
    /// A status other than 200 and 3xx.
    #[error("policy fetch answered {status}, not 200")]
    HttpStatus {
        /// The HTTP status.
        status: u16,
    },
    /// The response has no `Content-Type`.
    #[error("policy response has no Content-Type")]
    MissingContentType,
    /// The media type is not `text/plain`.
    #[error("policy response is not text/plain")]
    WrongMediaType,
    /// The body is longer than [`MAX_POLICY_SIZE`](super::MAX_POLICY_SIZE).
    #[error("policy body of {len} octets exceeds the 65536 accepted")]
    TooLarge {
        /// The body's length.
        len: usize,
    },
    /// The body is not UTF-8.
    #[error("policy body is not UTF-8 (from octet {valid_up_to})")]
    NotUtf8 {
        /// How many octets are valid UTF-8.
        valid_up_to: usize,
    },
}

impl StsError {
    /// Whether the policy could not be fetched (RFC 8460 §4.3.3 `sts-policy-fetch-error`:
    /// the HTTP status, media type or size), as opposed to fetched and found invalid
    /// (`sts-policy-invalid`: every other case). A TXT record error is neither: the
    /// domain has no policy.
    pub fn is_fetch_error(&self) -> bool {
        matches!(
            self,
            Self::Redirect { .. }
                | Self::HttpStatus { .. }
                | Self::MissingContentType
                | Self::WrongMediaType
                | Self::TooLarge { .. }
        )
    }
}
