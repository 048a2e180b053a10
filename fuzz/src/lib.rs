//! Shared fuzz-target bodies, one function per target in `fuzz_targets/`. Inputs are
//! cut into pieces where the fuzzer says (a seed byte drives the piece lengths), so
//! incremental decoding is fuzzed along with the content.

mod body;
mod client;
pub mod reference;
mod roundtrip;
mod server;

pub use body::{data_decoder, dot_differential};
pub use client::client;
pub use roundtrip::roundtrip;
pub use server::server;

use bytes::BytesMut;
use smtp_proto::{
    CommandDecoder, Encode, LineEndings, ParseOptions, Reply, ReplyDecoder, decode_capabilities,
};

/// Largest piece handed to a decoder at once, by a 3-bit selector.
pub(crate) const PIECE: [usize; 8] = [1, 2, 3, 5, 16, 64, 300, 4096];

/// An endless stream of lengths in `1..=max` drawn from `seed` (a 32-bit xorshift).
pub(crate) fn sizes(seed: u8, max: usize) -> impl FnMut() -> usize {
    let mut x = 0x9e37_79b9u32 ^ u32::from(seed).wrapping_mul(0x0101_0101);
    move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        1 + (x as usize) % max
    }
}

/// `data` cut into pieces of `1..=max` bytes, lengths drawn from `seed`.
pub(crate) fn pieces(data: &[u8], seed: u8, max: usize) -> impl Iterator<Item = &[u8]> {
    let mut next = sizes(seed, max);
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (a, b) = rest.split_at(next().min(rest.len()));
        rest = b;
        Some(a)
    })
}

/// Splits `data` into (control byte, first chunk, rest).
fn chunks(data: &[u8]) -> (u8, &[u8], &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return (0, &[], &[]);
    };
    let cut = usize::from(ctl) % (rest.len() + 1);
    (ctl, &rest[..cut], &rest[cut..])
}

/// Commands: decode in two chunks; re-encode and re-decode every command.
pub fn command(data: &[u8]) {
    let (ctl, a, b) = chunks(data);
    let utf8 = ctl & 1 == 1;
    let endings = if ctl & 2 == 2 {
        LineEndings::AllowBareLf
    } else {
        LineEndings::Strict
    };
    let mut d = CommandDecoder::default().with_line_endings(endings);
    d.options = ParseOptions::default().with_smtputf8(utf8);
    let mut buf = BytesMut::new();
    for chunk in [a, b] {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(cmd)) => {
                    let wire = cmd.to_bytes();
                    let mut limits = smtp_proto::Limits::default();
                    limits.command_line = 1 << 16;
                    limits.auth_line = 1 << 16;
                    let mut again = CommandDecoder::new(limits);
                    again.options = ParseOptions::default().with_smtputf8(true);
                    let mut w = BytesMut::from(&wire[..]);
                    let back = again.decode(&mut w);
                    assert_eq!(
                        back,
                        Ok(Some(cmd)),
                        "re-decode of {:?}",
                        String::from_utf8_lossy(&wire)
                    );
                    assert!(w.is_empty());
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = e.reply();
                }
            }
        }
    }
}

/// Replies: decode in two chunks; re-encode and re-decode every reply; read capabilities.
pub fn reply(data: &[u8]) {
    let (_, a, b) = chunks(data);
    let mut d = ReplyDecoder::default();
    let mut buf = BytesMut::new();
    for chunk in [a, b] {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(r)) => {
                    if let Some(caps) = decode_capabilities(&r) {
                        let _ = caps.to_bytes();
                    }
                    let wire = r.to_bytes();
                    if let Ok(back) = Reply::from_bytes(&wire) {
                        assert_eq!(back.code(), r.code());
                        assert_eq!(back.lines().len(), r.lines().len());
                    }
                }
                Ok(None) => break,
                // Terminal: the decoder keeps returning the error.
                Err(e) => {
                    assert_eq!(d.decode(&mut buf), Err(e));
                    return;
                }
            }
        }
    }
}

/// Validating constructors on arbitrary strings: never panic; what they accept displays
/// as something they accept again.
pub fn values(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(m) = smtp_proto::Mailbox::parse(&s) {
        assert_eq!(smtp_proto::Mailbox::parse(&m.to_string()), Ok(m));
    }
    if let Ok(h) = smtp_proto::Host::new(&s) {
        assert_eq!(smtp_proto::Host::new(&h.to_string()), Ok(h));
    }
    if let Ok(l) = smtp_proto::LocalPart::new(&s) {
        let m = smtp_proto::Mailbox::new(l, smtp_proto::Host::new("example.com").unwrap());
        assert_eq!(smtp_proto::Mailbox::parse(&m.to_string()), Ok(m));
    }
    let _ = smtp_proto::Text::new(&s);
    let _ = smtp_proto::decode_sasl_response(data);
}

/// PROXY headers: every prefix of the input agrees with the whole (need more, or the same
/// header and length, or an error); a parsed header re-encodes to one that parses the same.
pub fn proxy(data: &[u8]) {
    use smtp_proto::proxy;
    let whole = proxy::parse(data);
    if let Ok(Some((h, len))) = whole {
        assert!(len <= data.len());
        for n in 0..len {
            assert_eq!(proxy::parse(&data[..n]), Ok(None), "prefix {n}");
        }
        let addrs = h.source.zip(h.destination);
        let again = if h.version == 1 {
            proxy::encode_v1(addrs).into_bytes()
        } else {
            proxy::encode_v2(addrs)
        };
        let (h2, len2) = proxy::parse(&again).unwrap().unwrap();
        assert_eq!(len2, again.len());
        if matches!(
            addrs,
            Some((std::net::SocketAddr::V4(_), std::net::SocketAddr::V4(_))) | None
        ) {
            assert_eq!((h2.source, h2.destination), (h.source, h.destination));
        }
    }
}
