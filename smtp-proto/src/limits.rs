//! Line and reply limits, with the RFC rationale of every default.

/// Bounds on what a decoder buffers. Every default is the RFC 5321 §4.5.3.1 minimum that
/// an implementation must accept; raise them only for peers you know need it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, including the verb and CRLF. Default 512 (RFC 5321
    /// §4.5.3.1.4: "SMTP extensions may be used to increase this limit"). A server that
    /// advertises extensions should raise it by what their parameters add: SIZE 26
    /// (RFC 1870), AUTH= 500 (RFC 4954 §3), REQUIRETLS 11 (RFC 8689), DSN's ORCPT up to 500
    /// and ENVID up to 100 (RFC 3461 §4). Postfix uses 2048.
    pub command_line: usize,
    /// Longest SASL line, including CRLF: the client's responses during an AUTH exchange,
    /// and the `AUTH` command line itself. Default 12288, the figure RFC 4954 §4 gives as
    /// sufficient for deployed mechanisms.
    ///
    /// Background: RFC 4954 §4 keeps the AUTH command under the 512-octet command limit
    /// and tells clients to drop the initial response when it would not fit, but deployed
    /// XOAUTH2 clients send 1–2 KiB tokens as initial responses. Accepting them costs
    /// nothing in safety (the line is still bounded) and avoids failing real logins.
    pub auth_line: usize,
    /// Longest reply line, including the code and CRLF. Default 512 (RFC 5321 §4.5.3.1.5).
    pub reply_line: usize,
    /// Longest text line of a message body, including CRLF. Default 1000 (RFC 5321
    /// §4.5.3.1.6). Used by the DATA framing.
    pub text_line: usize,
    /// Most lines in one multiline reply. RFC 5321 sets no number; 128 is ten times any
    /// EHLO reply seen in practice and bounds the memory a hostile server can make a client
    /// hold (about 64 KiB at the default line limit).
    pub reply_lines: usize,
}

impl Limits {
    /// The RFC 5321 §4.5.3.1 defaults (see each field).
    pub const RFC: Limits = Limits {
        command_line: 512,
        auth_line: 12288,
        reply_line: 512,
        text_line: 1000,
        reply_lines: 128,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::RFC
    }
}
