//! The `_mta-sts` TXT record (RFC 8461 §3.1).
//!
//! ```text
//! sts-text-record = sts-version 1*(sts-field-delim sts-field)
//!                   [sts-field-delim]
//! sts-field       = sts-id /                 ; Note that sts-id record
//!                   sts-extension            ; is required.
//! sts-field-delim = *WSP ";" *WSP
//! sts-version     = %s"v=STSv1"
//! sts-id          = %s"id=" 1*32(ALPHA / DIGIT)     ; id=...
//! sts-extension   = sts-ext-name "=" sts-ext-value  ; name=value
//! sts-ext-name    = (ALPHA / DIGIT)
//!                   *31(ALPHA / DIGIT / "_" / "-" / ".")
//! sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//!                   ; chars excluding "=", ";", SP, and CTLs
//! ```

use super::StsError;
use std::fmt;

/// The version field every record begins with (`%s`: case-sensitive).
const VERSION: &str = "v=STSv1";

/// RFC 5234 `WSP`.
fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A policy id: 1 to 32 ASCII letters and digits (RFC 8461 §3.1 `sts-id`). It names
/// one instance of a policy; ids have no order, and two are compared for equality
/// only, case included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StsId(String);

impl StsId {
    /// Checks an id. [`StsError::InvalidId`] unless it is 1 to 32 letters and digits.
    pub fn new(id: &str) -> Result<Self, StsError> {
        if (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(id.to_owned()))
        } else {
            Err(StsError::InvalidId)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid `_mta-sts` TXT record: `v=STSv1; id=…;` (RFC 8461 §3.1). Unknown fields
/// are checked for syntax and otherwise ignored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StsRecord {
    id: StsId,
}

impl StsRecord {
    /// A record with this id.
    pub fn new(id: StsId) -> Self {
        Self { id }
    }

    /// Parses one TXT record, its character-strings already joined without spaces
    /// (RFC 8461 §3.1: "as if those strings are concatenated together without adding
    /// spaces").
    ///
    /// Strict by the grammar above: `v=STSv1` first and case-sensitive, `;` between
    /// fields with optional whitespace around it, nothing but a delimiter after the
    /// last field (trailing whitespace needs a `;` before it), no empty field between
    /// two `;`. An extension field must still be `name=value` by the grammar. The first
    /// `id` counts and must be a valid [`StsId`]; a later `id`, like any repeated
    /// field, is ignored (RFC 8461 §3.2: "If any non-repeated field … is duplicated,
    /// all entries except for the first SHALL be ignored").
    pub fn parse(txt: &str) -> Result<Self, StsError> {
        let rest = txt.strip_prefix(VERSION).ok_or(StsError::NotStsRecord)?;
        // `v=STSv10` is another version, not a malformed field.
        if rest.chars().next().is_some_and(|c| c != ';' && !is_wsp(c)) {
            return Err(StsError::NotStsRecord);
        }
        let mut pieces = rest.split(';');
        // Before the first `;`: the leading `*WSP` of the first delimiter.
        if !pieces.next().unwrap_or("").chars().all(is_wsp) {
            return Err(StsError::InvalidRecordField { field: 1 });
        }
        let mut pieces = pieces.peekable();
        let mut id = None;
        let mut field = 0;
        while let Some(piece) = pieces.next() {
            field += 1;
            let last = pieces.peek().is_none();
            // `*WSP` after a `;`, and before the next one.
            let mut f = piece.trim_start_matches(is_wsp);
            if !last {
                f = f.trim_end_matches(is_wsp);
            }
            if f.is_empty() {
                if last && piece.chars().all(is_wsp) && field > 1 {
                    // The optional trailing delimiter.
                    break;
                }
                if last && piece.chars().all(is_wsp) {
                    // `v=STSv1;` and nothing else: no field at all.
                    return Err(StsError::MissingId);
                }
                return Err(StsError::InvalidRecordField { field });
            }
            let (name, value) = f
                .split_once('=')
                .filter(|(n, v)| ext_name(n) && ext_value(v))
                .ok_or(StsError::InvalidRecordField { field })?;
            if name == "id" && id.is_none() {
                id = Some(StsId::new(value)?);
            }
        }
        id.map(Self::new).ok_or(StsError::MissingId)
    }

    /// The policy id.
    pub fn id(&self) -> &StsId {
        &self.id
    }

    /// Picks the record from all the TXT records of one `_mta-sts` lookup (each with its
    /// strings joined), by RFC 8461 §3.1: records that do not begin with `v=STSv1;` are
    /// discarded; exactly one must remain, and be valid.
    ///
    /// "Begin with `v=STSv1;`" is read with the grammar's delimiter, which allows
    /// whitespace before the `;` (`v=STSv1 ;` is a candidate too): the prose and the
    /// ABNF disagree there (erratum 6285), and this way a record the grammar accepts is
    /// never discarded as foreign.
    pub fn select<I>(records: I) -> RecordSelection
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut found = None;
        let mut count = 0usize;
        for r in records {
            let r = r.as_ref();
            if is_candidate(r) {
                count += 1;
                if count == 1 {
                    found = Some(Self::parse(r));
                }
            }
        }
        match (count, found) {
            (1, Some(Ok(record))) => RecordSelection::Found(record),
            (1, Some(Err(e))) => RecordSelection::Invalid(e),
            (0, _) => RecordSelection::Absent,
            (count, _) => RecordSelection::Multiple { count },
        }
    }
}

impl fmt::Display for StsRecord {
    /// The canonical record, `v=STSv1; id=…;`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION}; id={};", self.id)
    }
}

/// What the TXT records of an `_mta-sts` lookup amount to (RFC 8461 §3.1). Anything but
/// [`RecordSelection::Found`] means the domain has no available policy now, which by
/// itself does not remove a cached one (§3.1, §5.1): see
/// [`DnsTxt`](super::DnsTxt), which this converts into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordSelection {
    /// Exactly one record begins with `v=STSv1;`, and it is valid.
    Found(StsRecord),
    /// No record begins with `v=STSv1;`.
    Absent,
    /// More than one does (valid or not): no policy (§3.1: "If the number of
    /// resulting records is not one … senders MUST assume the recipient domain does
    /// not have an available MTA-STS policy").
    Multiple {
        /// How many began with `v=STSv1;`.
        count: usize,
    },
    /// Exactly one does, and it is invalid: no policy.
    Invalid(StsError),
}

impl RecordSelection {
    /// The record, when there is exactly one valid.
    pub fn record(&self) -> Option<&StsRecord> {
        match self {
            Self::Found(r) => Some(r),
            _ => None,
        }
    }
}

/// Whether a TXT record begins with `sts-version sts-field-delim` (see
/// [`StsRecord::select`]).
fn is_candidate(txt: &str) -> bool {
    txt.strip_prefix(VERSION)
        .is_some_and(|rest| rest.trim_start_matches(is_wsp).starts_with(';'))
}

/// `sts-ext-name`: a letter or digit, then up to 31 of letters, digits, `_-.`.
fn ext_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 32
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

/// `sts-ext-value`: one or more visible ASCII characters other than `=` and `;`.
fn ext_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|c| c.is_ascii_graphic() && c != b'=' && c != b';')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers: the record, and its id or the error.
    const KAT: &[(&str, Result<&str, StsError>)] = &[
        ("v=STSv1; id=20160831085700Z;", Ok("20160831085700Z")),
        ("v=STSv1;id=a", Ok("a")),
        ("v=STSv1 ;\tid=a\t; ", Ok("a")),
        ("v=STSv1; x-ext=val.ue; id=a;", Ok("a")),
        ("v=STSv1; id=a; id=b-c;", Ok("a")),
        (
            "v=STSv1; id=0123456789abcdef0123456789ABCDEF",
            Ok("0123456789abcdef0123456789ABCDEF"),
        ),
        ("", Err(StsError::NotStsRecord)),
        ("v=STSv2; id=a;", Err(StsError::NotStsRecord)),
        ("v=STSv10; id=a;", Err(StsError::NotStsRecord)),
        ("V=STSv1; id=a;", Err(StsError::NotStsRecord)),
        (" v=STSv1; id=a;", Err(StsError::NotStsRecord)),
        ("v=STSv1", Err(StsError::MissingId)),
        ("v=STSv1;", Err(StsError::MissingId)),
        ("v=STSv1; ", Err(StsError::MissingId)),
        ("v=STSv1; ext=1;", Err(StsError::MissingId)),
        ("v=STSv1; ID=a;", Err(StsError::MissingId)),
        (
            "v=STSv1 id=a;",
            Err(StsError::InvalidRecordField { field: 1 }),
        ),
        (
            "v=STSv1; id=a ",
            Err(StsError::InvalidRecordField { field: 1 }),
        ),
        (
            "v=STSv1;; id=a",
            Err(StsError::InvalidRecordField { field: 1 }),
        ),
        (
            "v=STSv1; id=a;;",
            Err(StsError::InvalidRecordField { field: 2 }),
        ),
        (
            "v=STSv1; id=a; junk",
            Err(StsError::InvalidRecordField { field: 2 }),
        ),
        (
            "v=STSv1; id=a; x=",
            Err(StsError::InvalidRecordField { field: 2 }),
        ),
        (
            "v=STSv1; id=a; _x=1",
            Err(StsError::InvalidRecordField { field: 2 }),
        ),
        (
            "v=STSv1; id=a; x=a=b",
            Err(StsError::InvalidRecordField { field: 2 }),
        ),
        (
            "v=STSv1; id=a; x=\u{e9}",
            Err(StsError::InvalidRecordField { field: 2 }),
        ),
        (
            "v=STSv1; id=",
            Err(StsError::InvalidRecordField { field: 1 }),
        ),
        ("v=STSv1; id=a-b;", Err(StsError::InvalidId)),
        (
            "v=STSv1; id=0123456789abcdef0123456789ABCDEFx",
            Err(StsError::InvalidId),
        ),
    ];

    #[test]
    fn sts_record_known_answers() {
        for (txt, want) in KAT {
            let got = StsRecord::parse(txt);
            let got = got.as_ref().map(|r| r.id().as_str()).map_err(Clone::clone);
            assert_eq!(got, want.clone(), "{txt:?}");
        }
    }

    #[test]
    fn sts_record_display_parses_back() {
        let r = StsRecord::new(StsId::new("abc123").unwrap());
        assert_eq!(r.to_string(), "v=STSv1; id=abc123;");
        assert_eq!(StsRecord::parse(&r.to_string()), Ok(r));
    }

    #[test]
    fn sts_candidates() {
        assert!(is_candidate("v=STSv1;"));
        assert!(is_candidate("v=STSv1 \t;id=x"));
        assert!(!is_candidate("v=STSv1"));
        assert!(!is_candidate("v=STSv10;"));
        assert!(!is_candidate("v=spf1 -all"));
    }
}
