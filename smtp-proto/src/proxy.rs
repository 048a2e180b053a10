//! The HAProxy PROXY protocol header, versions 1 (text) and 2 (binary), as a load balancer
//! sends it before the first byte of the proxied connection.
//!
//! Sans-IO like the rest of the crate: [`parse`] looks at the bytes read so far and says
//! "need more", "not a valid header" or "here is the header, and it was this long". The
//! caller keeps what follows the header: it is the client's first SMTP bytes.
//!
//! Only a listener behind a trusted proxy should accept the header: whoever sends it
//! chooses the client address the server will believe.
//!
//! The format is HAProxy's `proxy-protocol.txt` (sections 2.1 and 2.2).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The version 2 signature: `\r\n\r\n\0\r\nQUIT\n`.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The version 1 signature.
pub const V1_SIGNATURE: &[u8] = b"PROXY ";
/// The longest version 1 header, CRLF included (spec §2.1).
pub const V1_MAX: usize = 107;
/// The longest header of either version: a version 2 header with a 65535-byte body.
/// A caller that has buffered this much and still gets "need more" has a bug.
pub const MAX_HEADER: usize = 16 + 65535;

/// What the header says about the proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyHeader {
    /// Which version of the protocol carried it (1 or 2).
    pub version: u8,
    /// The original client's address; `None` for `UNKNOWN` (v1), `LOCAL` (v2, a health
    /// check from the proxy itself) and address families without an IP address.
    pub source: Option<SocketAddr>,
    /// The address the client connected to, under the same conditions as `source`.
    pub destination: Option<SocketAddr>,
}

/// Why the bytes are not a valid PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// The bytes begin with neither signature.
    #[error("not a PROXY protocol header")]
    NotProxy,
    /// A version 1 header without CRLF within 107 bytes.
    #[error("PROXY v1 header longer than 107 bytes")]
    V1TooLong,
    /// A version 1 header that does not follow the grammar; says which part.
    #[error("malformed PROXY v1 header: {0}")]
    V1Malformed(&'static str),
    /// A version 2 header whose version nibble is not 2.
    #[error("PROXY v2 header with version {0}")]
    V2Version(u8),
    /// A version 2 command other than LOCAL (0) or PROXY (1).
    #[error("PROXY v2 header with unknown command {0}")]
    V2Command(u8),
    /// A version 2 address family / transport byte this parser does not know.
    #[error("PROXY v2 header with unknown address family 0x{0:02x}")]
    V2Family(u8),
    /// A version 2 address block shorter than its family requires.
    #[error("PROXY v2 address block too short for its family")]
    V2Short,
}

/// Parses a PROXY header at the start of `buf`.
///
/// Returns `Ok(None)` while `buf` could still become a valid header (a prefix of one),
/// `Ok(Some((header, len)))` once a whole header is there (`buf[len..]` is what followed
/// it), or the reason it can never be one. The same bytes split anywhere give the same
/// result once they are all there.
pub fn parse(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    if buf.first() == Some(&b'P') {
        let n = buf.len().min(V1_SIGNATURE.len());
        if buf[..n] != V1_SIGNATURE[..n] {
            return Err(ProxyError::NotProxy);
        }
        if n < V1_SIGNATURE.len() {
            return Ok(None);
        }
        return parse_v1(buf);
    }
    let n = buf.len().min(V2_SIGNATURE.len());
    if buf[..n] != V2_SIGNATURE[..n] {
        return Err(ProxyError::NotProxy);
    }
    if buf.len() < 16 {
        if buf.len() > 12 {
            check_v2_fixed(buf[12], buf.get(13).copied())?;
        }
        return Ok(None);
    }
    parse_v2(buf)
}

fn parse_v1(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(lf) = memchr::memchr(b'\n', window) else {
        if buf.len() >= V1_MAX {
            return Err(ProxyError::V1TooLong);
        }
        if memchr::memchr(b'\r', &window[..window.len().saturating_sub(1)]).is_some() {
            return Err(ProxyError::V1Malformed("CR not followed by LF"));
        }
        return Ok(None);
    };
    if lf == 0 || buf[lf - 1] != b'\r' {
        return Err(ProxyError::V1Malformed("line does not end in CRLF"));
    }
    let line = &buf[V1_SIGNATURE.len()..lf - 1];
    if line.contains(&b'\r') {
        return Err(ProxyError::V1Malformed("CR inside the line"));
    }
    let len = lf + 1;
    let mut fields = line.split(|&b| b == b' ');
    let proto = fields.next().unwrap_or_default();
    let v4 = match proto {
        b"UNKNOWN" => {
            // The rest of the line is to be ignored (spec §2.1).
            let header = ProxyHeader {
                version: 1,
                source: None,
                destination: None,
            };
            return Ok(Some((header, len)));
        }
        b"TCP4" => true,
        b"TCP6" => false,
        _ => {
            return Err(ProxyError::V1Malformed(
                "protocol is not TCP4, TCP6 or UNKNOWN",
            ));
        }
    };
    let mut next = || {
        fields
            .next()
            .ok_or(ProxyError::V1Malformed("missing field"))
    };
    let src = ip(next()?, v4)?;
    let dst = ip(next()?, v4)?;
    let sport = port(next()?)?;
    let dport = port(next()?)?;
    if fields.next().is_some() {
        return Err(ProxyError::V1Malformed("extra field"));
    }
    let header = ProxyHeader {
        version: 1,
        source: Some(SocketAddr::new(src, sport)),
        destination: Some(SocketAddr::new(dst, dport)),
    };
    Ok(Some((header, len)))
}

fn ip(field: &[u8], v4: bool) -> Result<IpAddr, ProxyError> {
    let text = std::str::from_utf8(field).map_err(|_| ProxyError::V1Malformed("address"))?;
    let parsed = if v4 {
        text.parse::<Ipv4Addr>().map(IpAddr::V4)
    } else {
        text.parse::<Ipv6Addr>().map(IpAddr::V6)
    };
    parsed.map_err(|_| ProxyError::V1Malformed("address"))
}

fn port(field: &[u8]) -> Result<u16, ProxyError> {
    // Decimal digits only, no sign, no leading zero (spec §2.1).
    let ok = !field.is_empty()
        && field.len() <= 5
        && field.iter().all(u8::is_ascii_digit)
        && (field == b"0" || field[0] != b'0');
    let value = ok
        .then(|| {
            field
                .iter()
                .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
        })
        .filter(|&v| v <= 0xffff)
        .ok_or(ProxyError::V1Malformed("port"))?;
    Ok(value as u16)
}

/// Checks the version/command byte and, when present, the family byte.
fn check_v2_fixed(ver_cmd: u8, family: Option<u8>) -> Result<(), ProxyError> {
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::V2Version(ver_cmd >> 4));
    }
    if ver_cmd & 0x0f > 1 {
        return Err(ProxyError::V2Command(ver_cmd & 0x0f));
    }
    match family {
        // UNSPEC, TCP/UDP over IPv4 and IPv6, stream/datagram over UNIX sockets (§2.2).
        None | Some(0x00 | 0x11 | 0x12 | 0x21 | 0x22 | 0x31 | 0x32) => Ok(()),
        Some(f) => Err(ProxyError::V2Family(f)),
    }
}

fn parse_v2(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let (ver_cmd, family) = (buf[12], buf[13]);
    check_v2_fixed(ver_cmd, Some(family))?;
    let body_len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let len = 16 + body_len;
    if buf.len() < len {
        return Ok(None);
    }
    let body = &buf[16..len];
    let local = ver_cmd & 0x0f == 0;
    // A LOCAL header still carries the family; the addresses mean nothing (§2.2).
    let (source, destination) = match family >> 4 {
        1 => {
            let a = body.get(..12).ok_or(ProxyError::V2Short)?;
            let src = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            let dst = Ipv4Addr::new(a[4], a[5], a[6], a[7]);
            let sport = u16::from_be_bytes([a[8], a[9]]);
            let dport = u16::from_be_bytes([a[10], a[11]]);
            (
                SocketAddr::new(src.into(), sport),
                SocketAddr::new(dst.into(), dport),
            )
        }
        2 => {
            let a = body.get(..36).ok_or(ProxyError::V2Short)?;
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&a[..16]);
            d.copy_from_slice(&a[16..32]);
            let sport = u16::from_be_bytes([a[32], a[33]]);
            let dport = u16::from_be_bytes([a[34], a[35]]);
            let src = Ipv6Addr::from(s);
            let dst = Ipv6Addr::from(d);
            (
                SocketAddr::new(src.into(), sport),
                SocketAddr::new(dst.into(), dport),
            )
        }
        _ => {
            let header = ProxyHeader {
                version: 2,
                source: None,
                destination: None,
            };
            return Ok(Some((header, len)));
        }
    };
    let header = if local {
        ProxyHeader {
            version: 2,
            source: None,
            destination: None,
        }
    } else {
        ProxyHeader {
            version: 2,
            source: Some(source),
            destination: Some(destination),
        }
    };
    // TLVs after the addresses are skipped: nothing in them changes what SMTP sees.
    Ok(Some((header, len)))
}

/// Encodes a version 2 PROXY header (for tests and for clients that sit behind nothing
/// but want to speak to a listener that expects one). `None` addresses give `LOCAL`.
pub fn encode_v2(addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    match addrs {
        None => out.extend_from_slice(&[0x20, 0x00, 0, 0]),
        Some((SocketAddr::V4(s), SocketAddr::V4(d))) => {
            out.extend_from_slice(&[0x21, 0x11, 0, 12]);
            out.extend_from_slice(&s.ip().octets());
            out.extend_from_slice(&d.ip().octets());
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
        }
        Some((s, d)) => {
            out.extend_from_slice(&[0x21, 0x21, 0, 36]);
            out.extend_from_slice(&as_v6(s).octets());
            out.extend_from_slice(&as_v6(d).octets());
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
        }
    }
    out
}

/// Encodes a version 1 PROXY header; `None` gives `PROXY UNKNOWN`. Mixed families are
/// sent as TCP6 with IPv4-mapped addresses.
pub fn encode_v1(addrs: Option<(SocketAddr, SocketAddr)>) -> String {
    match addrs {
        None => "PROXY UNKNOWN\r\n".to_string(),
        Some((SocketAddr::V4(s), SocketAddr::V4(d))) => {
            format!(
                "PROXY TCP4 {} {} {} {}\r\n",
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
        }
        Some((s, d)) => {
            format!(
                "PROXY TCP6 {} {} {} {}\r\n",
                as_v6(s),
                as_v6(d),
                s.port(),
                d.port()
            )
        }
    }
}

/// An address as IPv6, IPv4 ones mapped (RFC 4291 §2.5.5.2), for headers that mix
/// families.
fn as_v6(a: SocketAddr) -> Ipv6Addr {
    match a.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
