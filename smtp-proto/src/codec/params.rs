//! MAIL and RCPT parameters: parse and emit.

use super::{Cursor, Encode, PResult, xtext};
use crate::error::{ParseError, ParseErrorKind as K};
use crate::types::params::{
    Body, Envid, Keyword, MailAuth, MailParams, Notify, Orcpt, Param, RcptParams, Ret, Value,
};
use crate::types::str::class;
use bytes::{BufMut, BytesMut};

/// Most parameters on one MAIL or RCPT line. Every known extension together uses fewer
/// than ten; the cap keeps the duplicate check cheap even if the line limit is raised.
const MAX_PARAMS: usize = 32;

/// The parameters this library types, over both commands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kw {
    Size,
    Body,
    SmtpUtf8,
    Ret,
    Envid,
    Auth,
    RequireTls,
    Notify,
    Orcpt,
}

impl Kw {
    /// One comparison per keyword: dispatch on length and first letter.
    fn of(k: &[u8]) -> Option<Kw> {
        let (kw, name): (Kw, &[u8]) = match (k.len(), k[0] & 0xDF) {
            (4, b'S') => (Kw::Size, b"SIZE"),
            (4, b'B') => (Kw::Body, b"BODY"),
            (4, b'A') => (Kw::Auth, b"AUTH"),
            (3, b'R') => (Kw::Ret, b"RET"),
            (5, b'E') => (Kw::Envid, b"ENVID"),
            (5, b'O') => (Kw::Orcpt, b"ORCPT"),
            (6, b'N') => (Kw::Notify, b"NOTIFY"),
            (8, b'S') => (Kw::SmtpUtf8, b"SMTPUTF8"),
            (10, b'R') => (Kw::RequireTls, b"REQUIRETLS"),
            _ => return None,
        };
        k.eq_ignore_ascii_case(name).then_some(kw)
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// One `esmtp-param`, as offsets into the line (slices are taken only when kept).
struct RawParam {
    keyword: (usize, usize),
    value: Option<(usize, usize)>,
}

impl Cursor<'_> {
    fn kw_bytes(&self, r: &RawParam) -> &[u8] {
        &self.line_from(r.keyword.0)[..r.keyword.1 - r.keyword.0]
    }

    fn invalid(&self, r: &RawParam) -> ParseError {
        let name = String::from_utf8_lossy(self.kw_bytes(r)).to_ascii_uppercase();
        ParseError::new(K::InvalidParameter(name), r.keyword.0)
    }

    fn duplicate(&self, r: &RawParam) -> ParseError {
        let name = String::from_utf8_lossy(self.kw_bytes(r)).to_ascii_uppercase();
        ParseError::new(K::DuplicateParameter(name), r.keyword.0)
    }

    /// The value of a parameter that requires one.
    fn value_of(&self, r: &RawParam) -> PResult<&[u8]> {
        match r.value {
            Some((a, b)) => Ok(&self.line_from(a)[..b - a]),
            None => Err(self.invalid(r)),
        }
    }

    /// A parameter that takes no value (SMTPUTF8, REQUIRETLS).
    fn flag(&self, r: &RawParam) -> PResult<bool> {
        if r.value.is_some() {
            Err(self.invalid(r))
        } else {
            Ok(true)
        }
    }

    /// Keeps an untyped parameter, refusing a repeat (keywords are case-insensitive).
    fn keep(&self, r: &RawParam, other: &mut Vec<Param>) -> PResult<()> {
        let kw = self.kw_bytes(r);
        if other
            .iter()
            .any(|p| p.keyword.0.as_bytes().eq_ignore_ascii_case(kw))
        {
            return Err(self.duplicate(r));
        }
        let keyword = Keyword(self.str(r.keyword.0, r.keyword.1)?);
        let value = match r.value {
            Some((a, b)) => Some(Value(self.str(a, b)?)),
            None => None,
        };
        other.push(Param { keyword, value });
        Ok(())
    }

    /// `esmtp-param *(SP esmtp-param)` after a path, up to the end of the line; calls
    /// `each` per parameter with its typed keyword, if it is one of ours.
    fn params(
        &mut self,
        mut each: impl FnMut(&Self, RawParam, Option<Kw>) -> PResult<()>,
    ) -> PResult<()> {
        let mut count = 0;
        loop {
            let had_space = self.spaces();
            if self.at_end() {
                return Ok(());
            }
            if !had_space {
                return self.fail(K::Expected("a space before the parameter"));
            }
            let at = self.pos();
            if !self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
                return self.fail(K::Expected("a parameter keyword"));
            }
            self.span(&class::LDH);
            let keyword = (at, self.pos());
            let value = if self.eat(b'=') {
                let v = self.pos();
                if self.span(&class::ESMTP_VALUE8) == 0 {
                    return self.fail(K::Expected("a parameter value after '='"));
                }
                Some((v, self.pos()))
            } else {
                None
            };
            if !(self.at_end() || self.peek() == Some(b' ')) {
                return self.fail(K::Expected("a space or the end of the line"));
            }
            count += 1;
            if count > MAX_PARAMS {
                return self.fail_at(at, K::TooManyParameters { limit: MAX_PARAMS });
            }
            let r = RawParam { keyword, value };
            let kw = Kw::of(self.kw_bytes(&r));
            each(self, r, kw)?;
        }
    }

    /// `Mail-parameters` (RFC 5321 §4.1.1.2) with SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH
    /// and REQUIRETLS typed. A repeated keyword is refused (RFC 3461 §4.5: 501).
    pub(crate) fn mail_params(&mut self) -> PResult<MailParams> {
        let mut p = MailParams::default();
        let mut seen = 0u16;
        self.params(|c, r, kw| {
            let kw = match kw {
                Some(Kw::Notify | Kw::Orcpt) | None => return c.keep(&r, &mut p.other),
                Some(k) => k,
            };
            if seen & kw.bit() != 0 {
                return Err(c.duplicate(&r));
            }
            seen |= kw.bit();
            match kw {
                Kw::Size => {
                    // RFC 1870: size-value ::= 1*20DIGIT. Beyond u64 it saturates, so the
                    // server answers 552 (too big), not 501 (RFC 1870 §6.1).
                    let v = c.value_of(&r)?;
                    if v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
                        return Err(c.invalid(&r));
                    }
                    let n = v.iter().fold(0u64, |a, &d| {
                        a.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                    });
                    p.size = Some(n);
                }
                Kw::Body => {
                    let v = c.value_of(&r)?;
                    let values: [(&[u8], Body); 3] = [
                        (b"7BIT", Body::SevenBit),
                        (b"8BITMIME", Body::EightBitMime),
                        (b"BINARYMIME", Body::BinaryMime),
                    ];
                    p.body = Some(one_of(v, &values).ok_or_else(|| c.invalid(&r))?);
                }
                Kw::SmtpUtf8 => p.smtputf8 = c.flag(&r)?,
                Kw::RequireTls => p.requiretls = c.flag(&r)?,
                Kw::Ret => {
                    let v = c.value_of(&r)?;
                    let values: [(&[u8], Ret); 2] = [(b"FULL", Ret::Full), (b"HDRS", Ret::Hdrs)];
                    p.ret = Some(one_of(v, &values).ok_or_else(|| c.invalid(&r))?);
                }
                Kw::Envid => {
                    let v = c.value_of(&r)?;
                    if v.len() > Envid::MAX_ENCODED {
                        return Err(c.invalid(&r));
                    }
                    let s = decode_xtext(v).ok_or_else(|| c.invalid(&r))?;
                    p.envid = Some(Envid::new(&s).map_err(|_| c.invalid(&r))?);
                }
                Kw::Auth => {
                    let s = decode_xtext(c.value_of(&r)?).ok_or_else(|| c.invalid(&r))?;
                    p.auth = Some(if s == "<>" {
                        MailAuth::Unknown
                    } else {
                        // Parsed as received: the session's address limits apply.
                        let mut mc = Cursor::new(s.as_bytes());
                        mc.address = c.address;
                        let m = mc.mailbox().map_err(|_| c.invalid(&r))?;
                        if !mc.at_end() {
                            return Err(c.invalid(&r));
                        }
                        MailAuth::Submitter(Box::new(m))
                    });
                }
                Kw::Notify | Kw::Orcpt => {}
            }
            Ok(())
        })?;
        Ok(p)
    }

    /// `Rcpt-parameters` (RFC 5321 §4.1.1.3) with NOTIFY and ORCPT typed.
    pub(crate) fn rcpt_params(&mut self) -> PResult<RcptParams> {
        let mut p = RcptParams::default();
        let mut seen = 0u16;
        self.params(|c, r, kw| {
            let kw = match kw {
                Some(k @ (Kw::Notify | Kw::Orcpt)) => k,
                _ => return c.keep(&r, &mut p.other),
            };
            if seen & kw.bit() != 0 {
                return Err(c.duplicate(&r));
            }
            seen |= kw.bit();
            let v = c.value_of(&r)?;
            if kw == Kw::Notify {
                p.notify = Some(parse_notify(v).ok_or_else(|| c.invalid(&r))?);
                return Ok(());
            }
            // original-recipient-address = addr-type ";" xtext; at most 500 characters.
            if "ORCPT=".len() + v.len() > Orcpt::MAX_ENCODED {
                return Err(c.invalid(&r));
            }
            let semi = v
                .iter()
                .position(|&b| b == b';')
                .ok_or_else(|| c.invalid(&r))?;
            let ty = std::str::from_utf8(&v[..semi]).map_err(|_| c.invalid(&r))?;
            // RFC 6533 §3 (utf-8-addr-unitext): raw UTF-8 may stand in the address.
            let addr = xtext::decode_utf8(&v[semi + 1..]).ok_or_else(|| c.invalid(&r))?;
            let addr = std::str::from_utf8(&addr).map_err(|_| c.invalid(&r))?;
            p.orcpt = Some(Orcpt::new(ty, addr).map_err(|_| c.invalid(&r))?);
            Ok(())
        })?;
        Ok(p)
    }
}

/// The value named by `v`, compared case-insensitively (RFC 5321 §2.4; RFC 3461 §4.3
/// "in any combination of upper and lower case letters").
fn one_of<T: Copy>(v: &[u8], values: &[(&[u8], T)]) -> Option<T> {
    values
        .iter()
        .find(|(name, _)| v.eq_ignore_ascii_case(name))
        .map(|&(_, t)| t)
}

/// Decoded xtext as UTF-8; borrowed (no allocation) when there was nothing to decode.
fn decode_xtext(v: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match xtext::decode(v)? {
        Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Cow::Borrowed),
        Cow::Owned(o) => String::from_utf8(o).ok().map(Cow::Owned),
    }
}

/// `"NEVER" / 1#notify-list-element` (RFC 3461 §4.1); NEVER "MUST appear by itself".
fn parse_notify(v: &[u8]) -> Option<Notify> {
    if v.eq_ignore_ascii_case(b"NEVER") {
        return Some(Notify::Never);
    }
    let (mut success, mut failure, mut delay) = (false, false, false);
    for item in v.split(|&b| b == b',') {
        let flag = if item.eq_ignore_ascii_case(b"SUCCESS") {
            &mut success
        } else if item.eq_ignore_ascii_case(b"FAILURE") {
            &mut failure
        } else if item.eq_ignore_ascii_case(b"DELAY") {
            &mut delay
        } else {
            return None;
        };
        if *flag {
            return None;
        }
        *flag = true;
    }
    Some(Notify::On {
        success,
        failure,
        delay,
    })
}

fn put_param(out: &mut BytesMut, kw: &[u8], value: &[u8]) {
    out.put_u8(b' ');
    out.put_slice(kw);
    out.put_slice(value);
}

fn put_other(out: &mut BytesMut, other: &[Param]) {
    for p in other {
        out.put_u8(b' ');
        out.put_slice(p.keyword.0.as_bytes());
        if let Some(v) = &p.value {
            out.put_u8(b'=');
            out.put_slice(v.0.as_bytes());
        }
    }
}

impl Encode for MailParams {
    /// Each parameter preceded by SP, known ones first in a fixed order.
    fn encode(&self, out: &mut BytesMut) {
        if let Some(n) = self.size {
            put_param(out, b"SIZE=", b"");
            let _ = std::fmt::Write::write_fmt(out, format_args!("{n}"));
        }
        if let Some(b) = self.body {
            let v: &[u8] = match b {
                Body::SevenBit => b"7BIT",
                Body::EightBitMime => b"8BITMIME",
                Body::BinaryMime => b"BINARYMIME",
            };
            put_param(out, b"BODY=", v);
        }
        if self.smtputf8 {
            put_param(out, b"SMTPUTF8", b"");
        }
        if let Some(r) = self.ret {
            put_param(out, b"RET=", if r == Ret::Full { b"FULL" } else { b"HDRS" });
        }
        if let Some(e) = &self.envid {
            put_param(out, b"ENVID=", b"");
            xtext::encode(e.0.as_bytes(), out);
        }
        if let Some(a) = &self.auth {
            put_param(out, b"AUTH=", b"");
            match a {
                MailAuth::Unknown => out.put_slice(b"<>"),
                MailAuth::Submitter(m) => xtext::encode(&m.to_bytes(), out),
            }
        }
        if self.requiretls {
            put_param(out, b"REQUIRETLS", b"");
        }
        put_other(out, &self.other);
    }
}

impl Encode for RcptParams {
    /// Each parameter preceded by SP, known ones first in a fixed order.
    fn encode(&self, out: &mut BytesMut) {
        match self.notify {
            None => {}
            Some(Notify::Never) => put_param(out, b"NOTIFY=", b"NEVER"),
            // An `On` with no flag set means "never": RFC 3461 §4.1 needs one element, so
            // it is sent as the equivalent NEVER.
            Some(Notify::On {
                success: false,
                failure: false,
                delay: false,
            }) => put_param(out, b"NOTIFY=", b"NEVER"),
            Some(Notify::On {
                success,
                failure,
                delay,
            }) => {
                put_param(out, b"NOTIFY=", b"");
                let mut first = true;
                for (on, name) in [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")] {
                    if on {
                        if !first {
                            out.put_u8(b',');
                        }
                        out.put_slice(name.as_bytes());
                        first = false;
                    }
                }
            }
        }
        if let Some(o) = &self.orcpt {
            put_param(out, b"ORCPT=", o.addr_type.as_bytes());
            out.put_u8(b';');
            xtext::encode(o.address.as_bytes(), out);
        }
        put_other(out, &self.other);
    }
}
