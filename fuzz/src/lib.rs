//! Shared fuzz-target bodies. Each target feeds arbitrary bytes to a decoder, split at a
//! point chosen by the first byte so chunk boundaries are fuzzed too, and checks that
//! every decoded value re-encodes to bytes that decode to the same value.

use bytes::BytesMut;
use smtp_proto::{
    CommandDecoder, Encode, LineEndings, ParseOptions, Reply, ReplyDecoder, decode_capabilities,
};

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
