//! MAIL and RCPT parameters: parse and emit.

use super::{Cursor, Encode, PResult, xtext};
use crate::error::ParseErrorKind as K;
use crate::types::params::{
    Body, Envid, Keyword, MailAuth, MailParams, Notify, Orcpt, Param, RcptParams, Ret, Value,
};
use crate::types::path::Mailbox;
use crate::types::str::{Str, class};
use bytes::{BufMut, BytesMut};

/// Most parameters on one MAIL or RCPT line. Every known extension together uses fewer
/// than ten; the cap keeps the duplicate check cheap even if the line limit is raised.
const MAX_PARAMS: usize = 32;

/// One `esmtp-param` as sliced from the line: keyword, optional value, and offsets.
struct RawParam {
    keyword: Str,
    value: Option<Str>,
    at: usize,
}

impl RawParam {
    fn is(&self, name: &[u8]) -> bool {
        self.keyword.as_bytes().eq_ignore_ascii_case(name)
    }

    fn name(&self) -> String {
        self.keyword.as_str().to_ascii_uppercase()
    }

    /// The value of a parameter that requires one.
    fn value(&self) -> PResult<&Str> {
        self.value.as_ref().ok_or_else(|| self.invalid())
    }

    /// A parameter that takes no value (SMTPUTF8, REQUIRETLS).
    fn flag(&self) -> PResult<bool> {
        if self.value.is_some() {
            Err(self.invalid())
        } else {
            Ok(true)
        }
    }

    fn invalid(&self) -> crate::error::ParseError {
        crate::error::ParseError::new(K::InvalidParameter(self.name()), self.at)
    }

    fn other(self) -> Param {
        Param {
            keyword: Keyword(self.keyword),
            value: self.value.map(Value),
        }
    }
}

impl Cursor<'_> {
    /// `esmtp-param *(SP esmtp-param)` after a path, up to the end of the line; calls
    /// `each` per parameter. Keywords are checked for duplicates case-insensitively.
    fn params(&mut self, mut each: impl FnMut(RawParam) -> PResult<()>) -> PResult<()> {
        let mut seen: Vec<Str> = Vec::new();
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
            let keyword = self.str(at, self.pos())?;
            let value = if self.eat(b'=') {
                let v = self.pos();
                if self.span(&class::ESMTP_VALUE8) == 0 {
                    return self.fail(K::Expected("a parameter value after '='"));
                }
                Some(self.str(v, self.pos())?)
            } else {
                None
            };
            if !(self.at_end() || self.peek() == Some(b' ')) {
                return self.fail(K::Expected("a space or the end of the line"));
            }
            if seen
                .iter()
                .any(|k| k.as_bytes().eq_ignore_ascii_case(keyword.as_bytes()))
            {
                let name = keyword.as_str().to_ascii_uppercase();
                return self.fail_at(at, K::DuplicateParameter(name));
            }
            if seen.len() >= MAX_PARAMS {
                return self.fail_at(at, K::TooManyParameters { limit: MAX_PARAMS });
            }
            seen.push(keyword.clone());
            each(RawParam { keyword, value, at })?;
        }
    }

    /// `Mail-parameters` (RFC 5321 §4.1.1.2) with SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH
    /// and REQUIRETLS typed.
    pub(crate) fn mail_params(&mut self) -> PResult<MailParams> {
        let mut p = MailParams::default();
        self.params(|r| {
            if r.is(b"SIZE") {
                // RFC 1870: size-value ::= 1*20DIGIT
                let v = r.value()?.as_bytes();
                if v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
                    return Err(r.invalid());
                }
                // 20 digits can exceed u64: saturate, so the server answers 552 (too big),
                // not 501 (RFC 1870 §6.1).
                let n = v.iter().fold(0u64, |a, &d| {
                    a.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                p.size = Some(n);
            } else if r.is(b"BODY") {
                let v = r.value()?.as_bytes();
                p.body = Some(if v.eq_ignore_ascii_case(b"7BIT") {
                    Body::SevenBit
                } else if v.eq_ignore_ascii_case(b"8BITMIME") {
                    Body::EightBitMime
                } else if v.eq_ignore_ascii_case(b"BINARYMIME") {
                    Body::BinaryMime
                } else {
                    return Err(r.invalid());
                });
            } else if r.is(b"SMTPUTF8") {
                p.smtputf8 = r.flag()?;
            } else if r.is(b"REQUIRETLS") {
                p.requiretls = r.flag()?;
            } else if r.is(b"RET") {
                let v = r.value()?.as_bytes();
                p.ret = Some(if v.eq_ignore_ascii_case(b"FULL") {
                    Ret::Full
                } else if v.eq_ignore_ascii_case(b"HDRS") {
                    Ret::Hdrs
                } else {
                    return Err(r.invalid());
                });
            } else if r.is(b"ENVID") {
                let v = r.value()?;
                if v.as_bytes().len() > Envid::MAX_ENCODED {
                    return Err(r.invalid());
                }
                let s = decode_xtext(&r, v)?;
                p.envid = Some(Envid::new(&s).map_err(|_| r.invalid())?);
            } else if r.is(b"AUTH") {
                let s = decode_xtext(&r, r.value()?)?;
                p.auth = Some(if s == "<>" {
                    MailAuth::Unknown
                } else {
                    MailAuth::Submitter(Mailbox::parse(&s).map_err(|_| r.invalid())?)
                });
            } else {
                p.other.push(r.other());
            }
            Ok(())
        })?;
        Ok(p)
    }

    /// `Rcpt-parameters` (RFC 5321 §4.1.1.3) with NOTIFY and ORCPT typed.
    pub(crate) fn rcpt_params(&mut self) -> PResult<RcptParams> {
        let mut p = RcptParams::default();
        self.params(|r| {
            if r.is(b"NOTIFY") {
                p.notify = Some(parse_notify(r.value()?.as_bytes()).ok_or_else(|| r.invalid())?);
            } else if r.is(b"ORCPT") {
                // original-recipient-address = addr-type ";" xtext
                let v = r.value()?;
                if "ORCPT=".len() + v.as_bytes().len() > Orcpt::MAX_ENCODED {
                    return Err(r.invalid());
                }
                let s = v.as_str();
                let (ty, addr) = s.split_once(';').ok_or_else(|| r.invalid())?;
                // RFC 6533 §3 (utf-8-addr-unitext): raw UTF-8 may stand in the address.
                let addr = xtext::decode_utf8(addr.as_bytes()).ok_or_else(|| r.invalid())?;
                let addr = std::str::from_utf8(&addr).map_err(|_| r.invalid())?;
                p.orcpt = Some(Orcpt::new(ty, addr).map_err(|_| r.invalid())?);
            } else {
                p.other.push(r.other());
            }
            Ok(())
        })?;
        Ok(p)
    }
}

fn decode_xtext(r: &RawParam, v: &Str) -> PResult<String> {
    let d = xtext::decode(v.as_bytes()).ok_or_else(|| r.invalid())?;
    String::from_utf8(d.into_owned()).map_err(|_| r.invalid())
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
