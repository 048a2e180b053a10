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
    /// Longest SASL exchange line, including CRLF: the client's responses during an
    /// AUTH exchange (over it: `500 5.5.6`, RFC 4954 §4). Default 12288, the figure RFC
    /// 4954 §4 gives as sufficient for deployed mechanisms. The `AUTH` command line itself
    /// keeps [`Limits::command_line`] (RFC 4954 §4) unless the server opts in with
    /// `ServerOptions::long_auth_command`.
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

/// Lengths of the parts of an address in `MAIL`, `RCPT` and `VRFY`. Over a limit the
/// server answers `501` with `5.1.7` (sender) or `5.1.3` (recipient, VRFY): RFC 5321
/// §4.5.3.1.10 lists "501 Path too long". The defaults are the RFC 5321 §4.5.3.1.1–3
/// maxima.
///
/// Background: RFC 5321 §4.5.3.1 asks implementations to accept objects up to these
/// sizes and allows larger ones "to the maximum extent possible". Most mail systems
/// store and forward addresses in fields of these sizes, so an over-long address is
/// refused where it arrives rather than bounced later by a hop that truncates it.
/// Raise a field only for a site that must accept more.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressLimits {
    /// Longest local part, as sent (quotes included). Default 64 (RFC 5321 §4.5.3.1.1).
    pub local_part: usize,
    /// Longest domain or address literal. Default 255 (RFC 5321 §4.5.3.1.2).
    pub domain: usize,
    /// Longest domain label. Default 63 (RFC 1035 §2.3.4).
    pub label: usize,
    /// Longest path, `<` and `>` and any source route included. Default 256
    /// (RFC 5321 §4.5.3.1.3).
    pub path: usize,
}

impl AddressLimits {
    /// The RFC 5321 §4.5.3.1 maxima (see each field).
    pub const RFC: AddressLimits = AddressLimits {
        local_part: 64,
        domain: 255,
        label: 63,
        path: 256,
    };
}

impl Default for AddressLimits {
    fn default() -> Self {
        Self::RFC
    }
}
