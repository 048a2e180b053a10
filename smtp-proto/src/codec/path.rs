//! Domains, address literals, mailboxes and paths: parse (RFC 5321 §4.1.2–4.1.3) and emit.

use super::{Cursor, Encode, PResult};
use crate::error::{AddressPart, ParseErrorKind as K};
use crate::types::domain::{AddressLiteral, Domain, GeneralLiteral, Host};
use crate::types::path::{ForwardPath, LocalPart, Mailbox, ReversePath};
use crate::types::str::{Str, class};
use bytes::{BufMut, BytesMut};
use std::net::{Ipv4Addr, Ipv6Addr};

impl Cursor<'_> {
    /// `Domain = sub-domain *("." sub-domain)`; `sub-domain = Let-dig [Ldh-str]`, with
    /// U-labels (RFC 6531 §3.3) accepted as runs of UTF-8.
    pub(crate) fn domain(&mut self) -> PResult<Domain> {
        let start = self.pos();
        loop {
            let label = self.pos();
            let n = self.span(&class::LDH8);
            if n == 0 {
                return self.fail(K::InvalidHost("expected a domain label"));
            }
            let r = &self.line_from(label)[..n];
            if r[0] == b'-' || r[n - 1] == b'-' {
                return self.fail_at(label, K::InvalidHost("label starts or ends with '-'"));
            }
            // RFC 1035 §2.3.4: labels are 63 octets or less.
            if n > self.address.label {
                return self.too_long(label, AddressPart::Label, self.address.label);
            }
            if !self.eat(b'.') {
                break;
            }
        }
        // RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number is
        // 255 octets."
        if self.pos() - start > self.address.domain {
            return self.too_long(start, AddressPart::Domain, self.address.domain);
        }
        let d = self.str(start, self.pos())?;
        if !d.as_bytes().is_ascii()
            && let Some(i) = crate::types::str::forbidden_in_label(d.as_str())
        {
            return self.fail_at(
                start + i,
                K::InvalidHost("character not allowed in a U-label"),
            );
        }
        Ok(Domain(d))
    }

    /// `address-literal = "[" ( IPv4 / "IPv6:" IPv6 / General ) "]"` (RFC 5321 §4.1.3).
    pub(crate) fn address_literal(&mut self) -> PResult<AddressLiteral> {
        let open = self.pos();
        self.expect(b'[', "'['")?;
        let start = self.pos();
        let n = self.span(&class::DCONTENT);
        let end = self.pos();
        if !self.eat(b']') {
            return self.fail(K::InvalidHost("expected ']' closing the address literal"));
        }
        let content = self.bytes(start, end);
        if n == 0 {
            return self.fail_at(start, K::InvalidHost("empty address literal"));
        }
        match memchr::memchr(b':', content) {
            None => parse_ipv4(content)
                .map(AddressLiteral::Ipv4)
                .ok_or(())
                .or_else(|()| self.fail_at(start, K::InvalidHost("invalid IPv4 address literal"))),
            Some(colon) => {
                let tag = &content[..colon];
                let rest = &content[colon + 1..];
                if tag.eq_ignore_ascii_case(b"IPv6") {
                    return std::str::from_utf8(rest)
                        .ok()
                        .and_then(|s| s.parse::<Ipv6Addr>().ok())
                        .map(AddressLiteral::Ipv6)
                        .ok_or(())
                        .or_else(|()| {
                            self.fail_at(start, K::InvalidHost("invalid IPv6 address literal"))
                        });
                }
                // Standardized-tag = Ldh-str: letters/digits/hyphens, ending in let-dig.
                let ldh = !tag.is_empty()
                    && class::first_not(tag, &class::LDH).is_none()
                    && tag[tag.len() - 1] != b'-';
                if !ldh || rest.is_empty() {
                    return self.fail_at(open, K::InvalidHost("invalid general address literal"));
                }
                Ok(AddressLiteral::General(Box::new(GeneralLiteral {
                    tag: self.str(start, start + colon)?,
                    content: self.str(start + colon + 1, end)?,
                })))
            }
        }
    }

    /// `Domain / address-literal`.
    pub(crate) fn host(&mut self) -> PResult<Host> {
        if self.peek() == Some(b'[') {
            self.address_literal().map(Host::Literal)
        } else {
            self.domain().map(Host::Domain)
        }
    }

    /// `Local-part = Dot-string / Quoted-string`, held unquoted.
    pub(crate) fn local_part(&mut self) -> PResult<LocalPart> {
        if self.peek() == Some(b'"') {
            return self.quoted_string().map(LocalPart);
        }
        let start = self.pos();
        loop {
            if self.span(&class::ATEXT8) == 0 {
                return self.fail(K::Expected("an atom in the local part"));
            }
            if !self.eat(b'.') {
                break;
            }
        }
        Ok(LocalPart(self.str(start, self.pos())?))
    }

    /// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`, unquoted. Copied in one piece unless it
    /// contains a quoted-pair.
    fn quoted_string(&mut self) -> PResult<Str> {
        self.expect(b'"', "'\"'")?;
        let start = self.pos();
        let mut owned: Option<Vec<u8>> = None;
        let mut run = start;
        loop {
            self.span(&class::QTEXT8);
            match self.peek() {
                Some(b'"') => {
                    let end = self.pos();
                    self.advance(1);
                    return match owned {
                        None => self.str(start, end),
                        Some(mut v) => {
                            v.extend_from_slice(self.bytes(run, end));
                            let s = String::from_utf8(v)
                                .or_else(|_| self.fail_at(start, K::InvalidUtf8))?;
                            if let Some(i) = crate::types::str::forbidden_char(&s) {
                                return self.fail_at(start + i, K::ControlCharacter);
                            }
                            Ok(Str::from_string(s))
                        }
                    };
                }
                // quoted-pairSMTP = %d92 %d32-126
                Some(b'\\') => match self.peek_at(1) {
                    Some(c @ 32..=126) => {
                        let v = owned.get_or_insert_with(Vec::new);
                        v.extend_from_slice(self.bytes(run, self.pos()));
                        v.push(c);
                        self.advance(2);
                        run = self.pos();
                    }
                    _ => return self.fail(K::Expected("a printable character after '\\'")),
                },
                _ => return self.fail(K::Expected("'\"' closing the quoted string")),
            }
        }
    }

    /// `Mailbox = Local-part "@" ( Domain / address-literal )`.
    pub(crate) fn mailbox(&mut self) -> PResult<Mailbox> {
        let start = self.pos();
        let local = self.local_part()?;
        let limit = self.address.local_part;
        if self.pos() - start > limit {
            return self.too_long(start, AddressPart::LocalPart, limit);
        }
        self.expect(b'@', "'@'")?;
        let at = self.pos();
        let host = self.host()?;
        // An address literal is held to the domain limit ("domain name or number").
        let limit = self.address.domain;
        if self.pos() - at > limit {
            return self.too_long(at, AddressPart::Domain, limit);
        }
        Ok(Mailbox::new(local, host))
    }

    /// `Path = "<" [ A-d-l ":" ] Mailbox ">"`, the `<` already consumed. A source route
    /// (`A-d-l = At-domain *( "," At-domain )`) is validated and discarded
    /// (RFC 5321 §4.1.1.2: "servers MUST be prepared to encounter ... and SHOULD ignore").
    ///
    /// RFC 5321 §4.5.3.1.1–3 limits ([`crate::limits::AddressLimits`]): local part 64,
    /// domain 255, path 256 octets, each as sent.
    fn path_tail(&mut self) -> PResult<Mailbox> {
        let open = self.pos().saturating_sub(1);
        if self.peek() == Some(b'@') {
            loop {
                self.expect(b'@', "'@' in the source route")?;
                self.domain()?;
                if !self.eat(b',') {
                    break;
                }
            }
            self.expect(b':', "':' after the source route")?;
        }
        let m = self.mailbox()?;
        self.expect(b'>', "'>' closing the path")?;
        let limit = self.address.path;
        if self.pos() - open > limit {
            return self.too_long(open, AddressPart::Path, limit);
        }
        Ok(m)
    }

    fn too_long<T>(&self, at: usize, part: AddressPart, limit: usize) -> PResult<T> {
        let sender = false;
        self.fail_at(
            at,
            K::AddressTooLong {
                part,
                limit,
                sender,
            },
        )
    }

    /// `Reverse-path = Path / "<>"`.
    pub(crate) fn reverse_path(&mut self) -> PResult<ReversePath> {
        self.expect(b'<', "'<' opening the path")?;
        if self.eat(b'>') {
            return Ok(ReversePath::Null);
        }
        self.path_tail().map(ReversePath::Mailbox)
    }

    /// `"<Postmaster>" / Forward-path` (the name case-insensitive, RFC 5321 §4.1.1.3).
    pub(crate) fn forward_path(&mut self) -> PResult<ForwardPath> {
        self.expect(b'<', "'<' opening the path")?;
        if self.eat_ci(b"POSTMASTER>") {
            return Ok(ForwardPath::Postmaster);
        }
        self.path_tail().map(ForwardPath::Mailbox)
    }
}

/// `Snum 3("." Snum)`, `Snum = 1*3DIGIT` ; representing a decimal integer value in the
/// range 0 through 255. Leading zeros are allowed by the grammar.
fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split(|&b| b == b'.');
    for o in &mut octets {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = p.iter().fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'));
        *o = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

impl Encode for Domain {
    fn encode(&self, out: &mut BytesMut) {
        out.put_slice(self.0.as_bytes());
    }
}

impl Encode for AddressLiteral {
    fn encode(&self, out: &mut BytesMut) {
        use std::fmt::Write;
        let _ = write!(out, "{self}");
    }
}

impl Encode for Host {
    fn encode(&self, out: &mut BytesMut) {
        match self {
            Host::Domain(d) => d.encode(out),
            Host::Literal(a) => a.encode(out),
        }
    }
}

impl Encode for LocalPart {
    /// Dot-string as is; anything else as a Quoted-string with `"` and `\` escaped, so
    /// `a> ORCPT=x` can never leave its quotes.
    fn encode(&self, out: &mut BytesMut) {
        if self.is_dot_string() {
            out.put_slice(self.0.as_bytes());
            return;
        }
        out.put_u8(b'"');
        for &b in self.0.as_bytes() {
            if b == b'"' || b == b'\\' {
                out.put_u8(b'\\');
            }
            out.put_u8(b);
        }
        out.put_u8(b'"');
    }
}

impl Encode for Mailbox {
    fn encode(&self, out: &mut BytesMut) {
        self.local_part().encode(out);
        out.put_u8(b'@');
        self.host().encode(out);
    }
}

impl Encode for ReversePath {
    fn encode(&self, out: &mut BytesMut) {
        match self {
            ReversePath::Null => out.put_slice(b"<>"),
            ReversePath::Mailbox(m) => {
                out.put_u8(b'<');
                m.encode(out);
                out.put_u8(b'>');
            }
        }
    }
}

impl Encode for ForwardPath {
    fn encode(&self, out: &mut BytesMut) {
        match self {
            ForwardPath::Postmaster => out.put_slice(b"<Postmaster>"),
            ForwardPath::Mailbox(m) => {
                out.put_u8(b'<');
                m.encode(out);
                out.put_u8(b'>');
            }
        }
    }
}
