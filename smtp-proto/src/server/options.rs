//! [`ServerOptions`]: every limit and switch of the server role, with its default and
//! the reason for it.

use crate::framing::data::BareLineEndings;
use crate::framing::line::LineEndings;
use crate::limits::{AddressLimits, Limits};
use crate::types::capability::{Extension, LimitsExt};
use crate::types::command::Mechanism;
use crate::types::domain::Domain;
use crate::types::text::Text;

/// How a server session behaves. Build it with `ServerOptions::new(hostname)` and change
/// the fields you need; share one value between sessions (the session holds an `Arc`).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The server's name: in the greeting, the EHLO reply, 221/421 replies and the
    /// `Received:` header's `by` clause. Default `localhost`.
    pub hostname: Domain,
    /// Text after the hostname in the 220 greeting. Default `ESMTP` (`LMTP` in LMTP mode).
    pub greeting: Option<Text>,
    /// Largest message accepted, in octets, advertised as `SIZE` (RFC 1870). A larger
    /// declared `SIZE=` is refused at MAIL (`552 5.3.4`); a larger body is drained without
    /// buffering and refused after its end. 0 means no limit (advertised as `SIZE 0`).
    /// Default 10,240,000 (Postfix's `message_size_limit`).
    pub max_message_size: u64,
    /// Most accepted recipients per transaction; the next RCPT gets `452 4.5.3`
    /// (RFC 5321 §4.5.3.1.10 asks for at least 100). Advertised as `LIMITS RCPTMAX=`
    /// (RFC 9422 §4.2, see [`ServerOptions::advertise_limits`]). Default 1000 (Postfix).
    pub max_recipients: usize,
    /// Most transactions per session, advertised as `LIMITS MAILMAX=` (RFC 9422 §4.1:
    /// "the maximum number of transactions (MAIL FROM commands) the server will accept
    /// in a single session. The count includes all MAIL FROM commands, regardless of
    /// whether they succeed or fail."). Every MAIL command counts, refused or with
    /// arguments that do not parse (a line too long or with a bare line ending is
    /// refused unread and does not). The one past the limit is not run but answered
    /// `421 4.5.3 <hostname> Too many transactions in this session, closing`, and the
    /// session closes without reading the commands pipelined behind it; the client goes
    /// on over another connection. RFC 9422 defines no reply: 421 is what a server that
    /// must close sends (RFC 5321 §3.8), a server may refuse what passes its limits
    /// (RFC 5321 §4.5.3.1.10), and X.5.3 is RFC 3463 §3.6's nearest code. A session ends
    /// at STARTTLS (RFC 3207 §4.2), so the count starts again there. 0 is read as 1
    /// (RFC 9422 §3: `limit-value = %x31-39 0*5DIGIT`). Default `None`: no limit.
    pub max_transactions: Option<u32>,
    /// Most distinct recipient domains per session, advertised as `LIMITS
    /// RCPTDOMAINMAX=` (RFC 9422 §4.3: "the maximum number of different domains that can
    /// appear in a recipient (RCPT TO) address within a single session"). A RCPT that
    /// would bring one domain too many is answered `452 4.5.3 Too many recipient domains
    /// in this session` (transient, as for `max_recipients`: RFC 5321 §4.5.3.1.10, RFC
    /// 3463 §3.6), and the client sends it over another connection. Domains compare
    /// without ASCII case; an address literal counts as a domain; the bare
    /// `<Postmaster>` counts toward none. A domain joins the session's set when a RCPT
    /// for it passes this check (the application may still refuse that recipient); the
    /// set is emptied at STARTTLS (RFC 3207 §4.2). 0 is read as 1. Default `None`: no
    /// limit.
    pub max_recipient_domains: Option<u32>,
    /// Advertise the limits above in a `LIMITS` line of the EHLO/LHLO reply (RFC 9422
    /// §3): `RCPTMAX=` [`ServerOptions::max_recipients`] when it is within 1..=999999,
    /// `MAILMAX=` and `RCPTDOMAINMAX=` when set (at most 999999, the largest value
    /// the grammar allows). No line when there is nothing to say; an
    /// [`Extension::Limits`] in [`ServerOptions::extra_extensions`] replaces it. Off,
    /// the limits still hold. Default on.
    pub advertise_limits: bool,
    /// Refused commands before the server answers `421 4.7.0` and closes: every
    /// command the session refuses itself (unknown verb, syntax error, bad sequence,
    /// TLS or authentication required, over-long line, bare CR or LF, a parameter not
    /// offered, a malformed or cancelled AUTH exchange) and every greeting, AUTH or MAIL
    /// the application refuses with `reject` (not `reject_local`). Refusals of a message
    /// (its size, its content) do not count. A delivered message starts the count again
    /// (errors "without delivering mail"). Default 20 (Postfix's
    /// `smtpd_hard_error_limit`).
    pub max_errors: usize,
    /// Commands that do no work (NOOP, RSET, VRFY, EXPN, HELP, HELO/EHLO/LHLO repeated
    /// without a STARTTLS in between, RCPT the application refuses, RCPT refused by
    /// `max_recipients` or `max_recipient_domains` past as many again as
    /// `max_recipients` in one transaction, BDAT chunks pipelined behind a failed one)
    /// allowed before the server answers `421 4.7.0` and closes instead of running the
    /// next one. An accepted message gives the allowance back, so a client that sends
    /// RSET between messages never runs out. Default 100 (Postfix's `smtpd_junk_command_limit`).
    pub max_junk_commands: usize,
    /// Line limits. [`Limits::command_line`] (512, RFC 5321 §4.5.3.1.4) holds for every
    /// command, AUTH included (RFC 4954 §4), but MAIL and RCPT, whose limits grow after
    /// EHLO by what the extensions in force add to each: MAIL by SIZE (RFC 1870 §3),
    /// BODY, SMTPUTF8, AUTH= when AUTH is offered (RFC 4954 §5), RET/ENVID (RFC 3461)
    /// and REQUIRETLS; RCPT by NOTIFY/ORCPT (RFC 3461 §4–5) when DSN is on. A line over
    /// its limit gets `500 5.5.2 Line too long` (RFC 5321 §4.5.3.1.10) and is discarded
    /// through its CRLF without being run; memory stays bounded however long it is. AUTH
    /// exchange lines have [`Limits::auth_line`] and get `500 5.5.6` (RFC 4954 §4).
    pub limits: Limits,
    /// Longest local part, domain, label and path in MAIL, RCPT and VRFY; over a limit,
    /// `501 5.1.7` (sender) or `501 5.1.3` (recipient). Default the RFC 5321
    /// §4.5.3.1.1–3 maxima, 64/255/63/256 octets.
    pub address_limits: AddressLimits,
    /// Line endings on command lines. Default strict CRLF.
    pub command_line_endings: LineEndings,
    /// Bare CR or LF in message bodies. Default [`BareLineEndings::Reject`].
    pub body_line_endings: BareLineEndings,
    /// Advertise and honour `PIPELINING` (RFC 2920). Default on.
    pub pipelining: bool,
    /// Advertise `8BITMIME` (RFC 6152). Default on.
    pub eight_bit_mime: bool,
    /// Advertise `SMTPUTF8` (RFC 6531). Default on.
    pub smtputf8: bool,
    /// Advertise `CHUNKING` and accept `BDAT` (RFC 3030). Default on.
    pub chunking: bool,
    /// Advertise `BINARYMIME` (RFC 3030; needs `chunking`). Default off.
    pub binary_mime: bool,
    /// Advertise `DSN` and accept its parameters (RFC 3461). The session passes NOTIFY,
    /// ORCPT, RET and ENVID to the application, which must honour them. Default off.
    pub dsn: bool,
    /// Offer `STARTTLS` before TLS is active (RFC 3207). Turn it off when the binding has
    /// no certificate. Default on.
    pub starttls: bool,
    /// Until TLS is active, refuse every command but EHLO, HELO, LHLO, NOOP, RSET, QUIT,
    /// HELP and STARTTLS with `530 5.7.0 Must issue a STARTTLS command first` (RFC 3207
    /// §4), AUTH included whether or not it is configured. A publicly referenced MX must
    /// not (RFC 3207 §4). Default off.
    pub require_tls: bool,
    /// SASL mechanisms to advertise in `AUTH` (RFC 4954). `PLAIN` and `LOGIN` are
    /// decoded by the session; others are passed through step by step. Default none.
    pub auth_mechanisms: Vec<Mechanism>,
    /// Let the AUTH command line, with its initial response, be as long as an exchange
    /// line ([`Limits::auth_line`]) instead of [`Limits::command_line`].
    ///
    /// Background: RFC 4954 §4 keeps the AUTH command under the command line limit and
    /// has clients send an initial response that would not fit after the first `334`
    /// instead; some XOAUTH2 clients send 1–2 KiB tokens on the AUTH line anyway.
    /// Default off: such a line gets `500 5.5.2 Line too long`.
    pub long_auth_command: bool,
    /// Allow AUTH (and advertise it) without TLS. Default off: AUTH before TLS gets
    /// `538 5.7.11` (RFC 4954 §4) and is not advertised.
    pub auth_without_tls: bool,
    /// Refuse MAIL with `530 5.7.0` until the client has authenticated (a submission
    /// server, RFC 6409 §4.3). Default off.
    pub require_auth: bool,
    /// The application checks proxy authorization: `AUTH PLAIN` with an authorization
    /// identity other than the authentication identity reaches it (in
    /// [`crate::server::Credentials::authzid`]) for a decision.
    ///
    /// Background: RFC 4616 §2 has the server verify that the authentication identity
    /// may act as the authorization identity. Passing the credentials on and letting an
    /// application that only checks the password accept them would let any user act as
    /// any other, so by default such a request is refused with `535 5.7.8` before the
    /// application sees it. Default off.
    pub auth_proxy: bool,
    /// Advertise `REQUIRETLS` under TLS and accept the MAIL parameter (RFC 8689).
    /// Default off.
    pub requiretls: bool,
    /// Pass MAIL/RCPT parameters this library does not know to the application instead
    /// of answering `555 5.5.4` (RFC 5321 §4.1.1.11). Default off.
    pub accept_unknown_params: bool,
    /// Speak LMTP (RFC 2033): `LHLO` instead of HELO/EHLO, one reply per recipient
    /// after the message. Default off.
    pub lmtp: bool,
    /// Further EHLO lines to advertise, after the built-in ones.
    pub extra_extensions: Vec<Extension>,
}

impl ServerOptions {
    /// The defaults (see each field) with this hostname.
    pub fn new(hostname: Domain) -> Self {
        Self {
            hostname,
            greeting: None,
            max_message_size: 10_240_000,
            max_recipients: 1000,
            max_transactions: None,
            max_recipient_domains: None,
            advertise_limits: true,
            max_errors: 20,
            max_junk_commands: 100,
            limits: Limits::default(),
            address_limits: AddressLimits::RFC,
            command_line_endings: LineEndings::Strict,
            body_line_endings: BareLineEndings::Reject,
            pipelining: true,
            eight_bit_mime: true,
            smtputf8: true,
            chunking: true,
            binary_mime: false,
            dsn: false,
            starttls: true,
            require_tls: false,
            auth_mechanisms: Vec::new(),
            long_auth_command: false,
            auth_without_tls: false,
            require_auth: false,
            auth_proxy: false,
            requiretls: false,
            accept_unknown_params: false,
            lmtp: false,
            extra_extensions: Vec::new(),
        }
    }

    /// The `LIMITS` line the EHLO/LHLO reply carries (RFC 9422 §3), from
    /// [`ServerOptions::max_recipients`], [`ServerOptions::max_transactions`] and
    /// [`ServerOptions::max_recipient_domains`]; `None` when
    /// [`ServerOptions::advertise_limits`] is off or there is nothing to say. Values
    /// are `1*6DIGIT` without a leading zero: larger limits are advertised as 999999, a
    /// `max_recipients` of 0 or above 999999 not at all.
    pub fn advertised_limits(&self) -> Option<LimitsExt> {
        const MAX: u32 = 999_999;
        if !self.advertise_limits {
            return None;
        }
        let l = LimitsExt {
            mailmax: self.max_transactions.map(|n| n.clamp(1, MAX)),
            rcptmax: u32::try_from(self.max_recipients)
                .ok()
                .filter(|n| (1..=MAX).contains(n)),
            rcptdomainmax: self.max_recipient_domains.map(|n| n.clamp(1, MAX)),
            other: Vec::new(),
        };
        let any = l.rcptmax.is_some() || l.mailmax.is_some() || l.rcptdomainmax.is_some();
        any.then_some(l)
    }

    /// The longest command line these options can let in: [`Limits::command_line`] plus
    /// what every extension they may advertise adds to a MAIL line (a bound for buffers;
    /// the session applies the limits of the extensions in force, per verb).
    pub fn command_line_limit(&self) -> usize {
        let (mail, rcpt) = self.parameter_lines(true, !self.auth_mechanisms.is_empty(), true);
        mail.max(rcpt)
    }

    /// The longest MAIL and RCPT lines once a client has greeted (`esmtp`: with EHLO or
    /// LHLO), with AUTH offered or not and TLS active or not: what the extensions then
    /// advertised add to each (RFC 5321 §4.5.3.1.4 "SMTP extensions may be used to
    /// increase this limit").
    pub(crate) fn parameter_lines(&self, esmtp: bool, auth: bool, tls: bool) -> (usize, usize) {
        let base = self.limits.command_line;
        let (mut mail, mut rcpt) = (base, base);
        if !esmtp {
            return (mail, rcpt);
        }
        mail += 26; // " SIZE=" + 20 digits (RFC 1870 §3; SIZE is always advertised)
        if self.binary_mime && self.chunking {
            mail += 16; // " BODY=BINARYMIME" (RFC 3030)
        } else if self.eight_bit_mime {
            mail += 14; // " BODY=8BITMIME" (RFC 6152)
        }
        if self.smtputf8 && self.eight_bit_mime {
            mail += 9; // " SMTPUTF8" (RFC 6531)
        }
        if auth {
            mail += 500; // " AUTH=" xtext (RFC 4954 §5)
        }
        if self.dsn {
            mail += 9 + 107; // " RET=HDRS", " ENVID=" + 100 (RFC 3461 §4.3-4)
            rcpt += 29 + 507; // " NOTIFY=SUCCESS,FAILURE,DELAY", " ORCPT=" + 500
        }
        if self.requiretls && tls {
            mail += 11; // " REQUIRETLS" (RFC 8689)
        }
        (mail, rcpt)
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self::new(Domain(crate::types::str::Str::from_static("localhost")))
    }
}
