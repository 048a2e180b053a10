//! EHLO replies <-> [`Capabilities`] (RFC 5321 §4.1.1.1).

use super::Encode;
use crate::types::capability::{Capabilities, Extension, LimitsExt, Word};
use crate::types::command::Mechanism;
use crate::types::reply::{Reply, ReplyCode};
use crate::types::str::{Str, class};
use crate::types::text::Text;
use bytes::BytesMut;

/// Reads the capabilities from an EHLO (or LHLO) reply. `None` unless the reply is a 250
/// whose first line names the server.
///
/// Clients are liberal here: a line whose keyword is known but whose parameters do not
/// parse is kept as [`Extension::Other`] rather than failing the session.
pub fn decode_capabilities(reply: &Reply) -> Option<Capabilities> {
    if reply.code() != ReplyCode::OK {
        return None;
    }
    let mut lines = reply.lines().iter();
    let first = lines.next()?.0.clone();
    let fb = first.as_bytes();
    let n = class::span(fb, &class::VCHAR);
    if n == 0 {
        return None;
    }
    let server = Word(sub(&first, 0, n));
    // `"250" SP Domain [ SP ehlo-greet ]` (RFC 5321 §4.1.1.1): one SP separates them;
    // `ehlo-greet` may itself start with spaces, and they are kept.
    let greeting =
        (fb.get(n) == Some(&b' ') && fb.len() > n + 1).then(|| Text(sub(&first, n + 1, fb.len())));
    let mut extensions = Vec::with_capacity(lines.len());
    extensions.extend(lines.filter_map(|l| extension(&l.0)));
    Some(Capabilities {
        server,
        greeting,
        extensions,
    })
}

fn sub(s: &Str, a: usize, b: usize) -> Str {
    // Splits happen at ASCII bytes, so both halves stay UTF-8.
    s.slice(a, b)
}

/// The words of `line` from byte `from` on; `None` if a byte is neither a separator nor
/// `ehlo-param` (controls or UTF-8: the line is not understood).
fn words(line: &Str, from: usize) -> Option<Vec<Word>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = from;
    while i < b.len() {
        // ehlo-line separates with SP; HT is tolerated the same way (a server's typo must
        // not hide its AUTH line).
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let n = class::span(&b[i..], &class::VCHAR);
        if n == 0 {
            return None;
        }
        out.push(Word(sub(line, i, i + n)));
        i += n;
    }
    Some(out)
}

fn extension(line: &Str) -> Option<Extension> {
    let b = line.as_bytes();
    // Leading SP/HT are tolerated like the separators between words.
    let k0 = b.iter().position(|&c| c != b' ' && c != b'\t')?;
    let kn = k0 + class::span(&b[k0..], &class::VCHAR);
    if kn == k0 {
        return None;
    }
    // Most lines are a bare keyword: look at the parameters only when there are some.
    let bare = b[kn..].iter().all(|&c| c == b' ' || c == b'\t');
    let params = if bare { Vec::new() } else { words(line, kn)? };
    let keyword = Word(sub(line, k0, kn));
    let k = &b[k0..kn];
    let is = |name: &str| k.eq_ignore_ascii_case(name.as_bytes());
    let flag = |e: Extension| params.is_empty().then_some(e);
    let typed = if is("SIZE") {
        match params.as_slice() {
            [] => Some(Extension::Size(None)),
            // size-param ::= [1*DIGIT] (RFC 1870 §3); no sign.
            [n] if n.as_str().len() <= 20 && n.as_str().bytes().all(|b| b.is_ascii_digit()) => {
                n.as_str().parse().ok().map(|n| Extension::Size(Some(n)))
            }
            _ => None,
        }
    } else if is("PIPELINING") {
        flag(Extension::Pipelining)
    } else if is("8BITMIME") {
        flag(Extension::EightBitMime)
    } else if is("SMTPUTF8") {
        flag(Extension::SmtpUtf8)
    } else if is("STARTTLS") {
        flag(Extension::StartTls)
    } else if is("CHUNKING") {
        flag(Extension::Chunking)
    } else if is("BINARYMIME") {
        flag(Extension::BinaryMime)
    } else if is("DSN") {
        flag(Extension::Dsn)
    } else if is("ENHANCEDSTATUSCODES") {
        flag(Extension::EnhancedStatusCodes)
    } else if is("REQUIRETLS") {
        flag(Extension::RequireTls)
    } else if is("AUTH") {
        // One odd name (too long, a stray character) does not hide the usable ones: the
        // mechanisms that are valid SASL names (RFC 4422 §3.1) are kept; when names were
        // given and none is valid, the line stays as it was.
        let mechs: Vec<_> = params.iter().filter_map(mechanism).collect();
        (params.is_empty() || !mechs.is_empty()).then_some(Extension::Auth(mechs))
    } else if is("LIMITS") {
        limits(&params).map(Extension::Limits)
    } else {
        None
    };
    Some(typed.unwrap_or(Extension::Other { keyword, params }))
}

/// A mechanism name from an AUTH line, without a copy when it is already upper case.
fn mechanism(w: &Word) -> Option<Mechanism> {
    let b = w.0.as_bytes();
    if b.len() > Mechanism::MAX_LEN || class::first_not(b, &class::MECH).is_some() {
        return None;
    }
    if b.iter().any(u8::is_ascii_lowercase) {
        return Mechanism::new(w.as_str()).ok();
    }
    Some(Mechanism(w.0.clone()))
}

/// `LIMITS` parameters `NAME=VALUE` (RFC 9422 §3); unknown names kept.
fn limits(params: &[Word]) -> Option<LimitsExt> {
    let mut l = LimitsExt::default();
    for p in params {
        // limit-name ["=" limit-value]: a name without a value is kept as it is.
        let Some((name, value)) = p.as_str().split_once('=') else {
            l.other.push(p.clone());
            continue;
        };
        let slot = if name.eq_ignore_ascii_case("MAILMAX") {
            &mut l.mailmax
        } else if name.eq_ignore_ascii_case("RCPTMAX") {
            &mut l.rcptmax
        } else if name.eq_ignore_ascii_case("RCPTDOMAINMAX") {
            &mut l.rcptdomainmax
        } else {
            l.other.push(p.clone());
            continue;
        };
        if slot.is_some() || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = Some(value.parse().ok()?);
    }
    Some(l)
}

fn line(parts: &[&str]) -> Text {
    Text(Str::from_string(parts.join(" ")))
}

/// The EHLO reply for these capabilities: `250-server greeting`, then one line per
/// extension.
pub fn encode_capabilities(caps: &Capabilities) -> Reply {
    let mut lines = Vec::with_capacity(caps.extensions.len() + 1);
    let mut first = caps.server.as_str().to_owned();
    if let Some(g) = caps.greeting.as_ref().filter(|g| !g.is_empty()) {
        first.push(' ');
        first.push_str(g.as_str());
    }
    lines.push(Text(Str::from_string(first)));
    for e in &caps.extensions {
        let text = match e {
            Extension::Size(Some(n)) => line(&["SIZE", &n.to_string()]),
            Extension::Auth(m) => {
                let mut v = vec!["AUTH"];
                v.extend(m.iter().map(Mechanism::as_str));
                line(&v)
            }
            Extension::Limits(l) => {
                let mut v = vec!["LIMITS".to_owned()];
                for (name, val) in [
                    ("MAILMAX", l.mailmax),
                    ("RCPTMAX", l.rcptmax),
                    ("RCPTDOMAINMAX", l.rcptdomainmax),
                ] {
                    if let Some(n) = val {
                        v.push(format!("{name}={n}"));
                    }
                }
                v.extend(l.other.iter().map(|w| w.as_str().to_owned()));
                Text(Str::from_string(v.join(" ")))
            }
            Extension::Other { keyword, params } => {
                let mut v = vec![keyword.as_str()];
                v.extend(params.iter().map(Word::as_str));
                line(&v)
            }
            other => line(&[other.keyword()]),
        };
        lines.push(text);
    }
    Reply::from_parts(ReplyCode::OK, None, lines.into())
}

impl Encode for Capabilities {
    fn encode(&self, out: &mut BytesMut) {
        encode_capabilities(self).encode(out);
    }
}
