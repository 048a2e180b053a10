//! [`ClientOptions`], [`ClientAuth`] and the [`Envelope`] of one message.

use super::policy::TlsPolicy;
use crate::codec::Cursor;
use crate::error::ValueError;
use crate::framing::stuff::BareEndingsOut;
use crate::limits::Limits;
use crate::secret::Secret;
use crate::types::domain::Host;
use crate::types::params::{MailParams, RcptParams};
use crate::types::path::{ForwardPath, Mailbox, ReversePath};

/// Credentials for `AUTH` (RFC 4954).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `PLAIN` (RFC 4616).
    Plain {
        /// Authorization identity, if different from the user.
        authzid: Option<String>,
        /// User name.
        username: String,
        /// Password (redacted from `Debug`).
        password: Secret<String>,
    },
    /// `LOGIN`.
    Login {
        /// User name.
        username: String,
        /// Password (redacted from `Debug`).
        password: Secret<String>,
    },
    /// `XOAUTH2`: an OAuth 2.0 bearer token.
    XOAuth2 {
        /// User name (e-mail address).
        username: String,
        /// Access token (redacted from `Debug`).
        token: Secret<String>,
    },
    /// A user name and password, and the mechanisms that may carry them in the
    /// caller's order of preference: the session uses the first one the server offers
    /// in its EHLO reply after TLS (what it offered before TLS is forgotten, RFC 3207
    /// §4.2). `PLAIN`, `LOGIN` and `XOAUTH2` (the password is then the access token);
    /// other names are skipped. None offered: the session ends with
    /// [`PolicyViolation::MissingExtension`](super::policy::PolicyViolation::MissingExtension)
    /// before any credential is sent. [`ClientAuth::password`] prefers `PLAIN`, then
    /// `LOGIN`.
    Password {
        /// Authorization identity, if different from the user (`PLAIN` only).
        authzid: Option<String>,
        /// User name.
        username: String,
        /// Password, or access token for `XOAUTH2` (redacted from `Debug`).
        password: Secret<String>,
        /// Acceptable mechanisms, most preferred first.
        mechanisms: Vec<crate::types::command::Mechanism>,
    },
    /// Any other SASL mechanism, driven by the application: each `334` challenge comes
    /// as [`ClientEvent::AuthChallenge`](super::ClientEvent::AuthChallenge), answered with `auth_respond` or `auth_cancel`.
    Other {
        /// The mechanism (must be advertised by the server).
        mechanism: crate::types::command::Mechanism,
        /// The initial response, if the mechanism has one.
        initial: Option<Secret<bytes::Bytes>>,
    },
}

impl ClientAuth {
    /// A user name and password for `PLAIN` or else `LOGIN`, whichever the server
    /// offers after TLS (`PLAIN` when both are).
    pub fn password(username: &str, password: &str) -> Self {
        use crate::types::command::Mechanism;
        Self::Password {
            authzid: None,
            username: username.to_owned(),
            password: Secret::new(password.to_owned()),
            mechanisms: vec![Mechanism::PLAIN, Mechanism::LOGIN],
        }
    }

    /// The mechanism of a credential bound to one (`None` for [`ClientAuth::Password`],
    /// which is chosen from the server's offer).
    pub fn mechanism(&self) -> Option<crate::types::command::Mechanism> {
        use crate::types::command::Mechanism;
        match self {
            Self::Plain { .. } => Some(Mechanism::PLAIN),
            Self::Login { .. } => Some(Mechanism::LOGIN),
            Self::XOAuth2 { .. } => Some(Mechanism::XOAUTH2),
            Self::Other { mechanism, .. } => Some(mechanism.clone()),
            Self::Password { .. } => None,
        }
    }

    /// The credential for `mechanism` out of a [`ClientAuth::Password`] (`None` for a
    /// mechanism it cannot carry); any other credential as it is, when its mechanism
    /// is `mechanism`.
    pub(super) fn for_mechanism(
        &self,
        mechanism: &crate::types::command::Mechanism,
    ) -> Option<Self> {
        let Self::Password {
            authzid,
            username,
            password,
            mechanisms,
        } = self
        else {
            return self
                .mechanism()
                .filter(|m| m == mechanism)
                .map(|_| self.clone());
        };
        if !mechanisms.contains(mechanism) {
            return None;
        }
        let username = username.clone();
        match mechanism.as_str() {
            "PLAIN" => Some(Self::Plain {
                authzid: authzid.clone(),
                username,
                password: password.clone(),
            }),
            "LOGIN" => Some(Self::Login {
                username,
                password: password.clone(),
            }),
            "XOAUTH2" => Some(Self::XOAuth2 {
                username,
                token: password.clone(),
            }),
            _ => None,
        }
    }
}

/// How a client session behaves.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The name sent in EHLO/HELO.
    pub hello_name: Host,
    /// The server (MX host) connected to: for certificate checks and messages.
    pub server: String,
    /// The destination domain the policy was chosen for: for messages.
    pub destination: String,
    /// The TLS policy for this destination (see [`PolicyMap::lookup`](super::policy::PolicyMap::lookup)).
    /// Default [`TlsPolicy::May`].
    pub tls_policy: TlsPolicy,
    /// Credentials, if the session should authenticate.
    pub auth: Option<ClientAuth>,
    /// Send credentials without TLS. Default off: AUTH before TLS is a
    /// [`PolicyViolation::AuthWithoutTls`](super::policy::PolicyViolation::AuthWithoutTls).
    pub auth_without_tls: bool,
    /// Use `BDAT` when the server offers CHUNKING (RFC 3030). Default off.
    ///
    /// With PIPELINING too, the chunks follow the envelope in the same burst: one round
    /// trip a message instead of two (DATA waits for its 354). The last piece of the
    /// body goes out as `BDAT n LAST`. A refused MAIL or every RCPT refused stops the
    /// body; RSET follows.
    pub chunking: bool,
    /// Bare CR/LF in bodies: sent as CRLF (default) or refused.
    pub bare_endings: BareEndingsOut,
    /// Reply limits. Default [`ClientOptions::DEFAULT_LIMITS`]: reply lines up to
    /// 4,096 octets.
    pub limits: Limits,
    /// Speak LMTP (RFC 2033): LHLO, one reply per recipient after the message.
    pub lmtp: bool,
}

impl ClientOptions {
    /// The client's default limits: [`Limits::RFC`], except reply lines of up to 4,096
    /// octets including CRLF (not 512).
    ///
    /// Background: RFC 5321 §4.5.3.1.5 makes 512 octets the reply line a client must
    /// accept, and §4.5.3.1 asks for no limits "to the maximum extent possible". Real
    /// servers go past 512: EHLO lines listing many AUTH mechanisms, long 5yz texts
    /// with URLs. 4,096 accepts those and still bounds what a hostile server can make
    /// the client hold: with [`Limits::reply_lines`] (128) one reply is at most 512 KiB
    /// (a `334` AUTH challenge line may be [`Limits::auth_line`] long). A longer line
    /// ends the session with `PeerMisbehaved::InvalidReply` and
    /// `ParseErrorKind::LineTooLong`; more lines with `TooManyReplyLines`. The server
    /// keeps [`Limits::RFC`]: only the client reads replies.
    pub const DEFAULT_LIMITS: Limits = Limits {
        reply_line: 4096,
        ..Limits::RFC
    };

    /// Defaults for a session from `hello_name` to the MX `server` for `destination`.
    /// Panics never: an invalid `hello_name` falls back to `localhost`.
    pub fn new(hello_name: &str, server: &str, destination: &str) -> Self {
        Self {
            // RFC 6531 §3.7.1 keeps the EHLO argument in A-labels: a U-label name would
            // give a line servers refuse, so it is treated like any invalid name.
            hello_name: Host::new(hello_name)
                .ok()
                .filter(Host::is_ascii)
                .unwrap_or_else(|| {
                    Host::Domain(crate::types::domain::Domain(
                        crate::types::str::Str::from_static("localhost"),
                    ))
                }),
            server: server.to_owned(),
            destination: destination.to_owned(),
            tls_policy: TlsPolicy::May,
            auth: None,
            auth_without_tls: false,
            chunking: false,
            bare_endings: BareEndingsOut::Normalize,
            limits: Self::DEFAULT_LIMITS,
            lmtp: false,
        }
    }
}

/// One message's envelope: the sender, the recipients, and their parameters.
///
/// Addresses are given as the caller has them: a plain address (`alice@example.org`)
/// or a path in its wire form (`<alice@example.org>`, `<>` for the null sender of a
/// bounce). Both are parsed by the RFC 5321 grammar (§4.1.2), never by searching for
/// `>`: a quoted local part stays one local part whatever it holds.
///
/// ```
/// use smtp_proto::client::Envelope;
///
/// let env = Envelope::new("alice@example.org", ["<bob@example.com>", "\"a> ORCPT=x\"@example.com"])?;
/// assert_eq!(env.from.to_string(), "<alice@example.org>");
/// let (to, params) = &env.recipients[1];
/// assert_eq!(to.mailbox().unwrap().local_part().as_str(), "a> ORCPT=x");
/// assert!(params.orcpt.is_none()); // nothing escaped the quotes
/// // Results name each recipient as the caller wrote it.
/// assert_eq!(env.recipient_as_written(&env.recipients[0].0), "<bob@example.com>");
/// assert!(Envelope::new("<>", ["postmaster"]).is_ok());
/// assert!(Envelope::new("alice@example.org", ["<bob@example.com"]).is_err());
/// # Ok::<(), smtp_proto::ValueError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender.
    pub from: ReversePath,
    /// MAIL parameters. `SMTPUTF8` is added when an address needs it, and
    /// `BODY=8BITMIME` when `eight_bit` is set.
    pub params: MailParams,
    /// The recipients, in order.
    pub recipients: Vec<(ForwardPath, RcptParams)>,
    /// The body has bytes above 0x7F (needs 8BITMIME).
    pub eight_bit: bool,
    /// Each recipient given as a string, and the string: results name a recipient as
    /// its caller wrote it.
    written: Vec<(ForwardPath, String)>,
}

impl Envelope {
    /// An envelope from addresses as strings: each a plain address
    /// (`alice@example.org`) or a path (`<alice@example.org>`; `<>` for the null
    /// sender; `Postmaster` or `<Postmaster>` for the bare postmaster recipient of
    /// RFC 5321 §4.5.1). A path may carry a source route, which is discarded
    /// (RFC 5321 §4.1.1.2).
    pub fn new(
        from: &str,
        to: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<Self, ValueError> {
        let mut env = Self::from_paths(reverse_path(from)?, []);
        for t in to {
            env.add_recipient(t.as_ref())?;
        }
        Ok(env)
    }

    /// An envelope from paths already built (no parameters).
    pub fn from_paths(from: ReversePath, to: impl IntoIterator<Item = ForwardPath>) -> Self {
        Self {
            from,
            params: MailParams::default(),
            recipients: to.into_iter().map(|t| (t, RcptParams::default())).collect(),
            eight_bit: false,
            written: Vec::new(),
        }
    }

    /// Adds a recipient given as a plain address or a path (as [`Envelope::new`]
    /// takes them); its parameters (NOTIFY, ORCPT) can be set through the result.
    pub fn add_recipient(&mut self, to: &str) -> Result<&mut RcptParams, ValueError> {
        let path = forward_path(to)?;
        self.written.push((path.clone(), to.to_owned()));
        self.recipients.push((path, RcptParams::default()));
        let last = self.recipients.len() - 1;
        Ok(&mut self.recipients[last].1)
    }

    /// How the caller wrote `path`: the string given to [`Envelope::new`] or
    /// [`Envelope::add_recipient`] (the first one, when two strings name the same
    /// path); for a path added as a value, the address without brackets
    /// (`bob@example.com`, `Postmaster`).
    pub fn recipient_as_written(&self, path: &ForwardPath) -> std::borrow::Cow<'_, str> {
        match self.written.iter().find(|(p, _)| p == path) {
            Some((_, s)) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(match path {
                ForwardPath::Postmaster => "Postmaster".to_owned(),
                ForwardPath::Mailbox(m) => m.to_string(),
            }),
        }
    }
}

/// A sender as [`Envelope::new`] takes it: a path by the `Reverse-path` grammar when it
/// starts with `<`, else a plain `Mailbox`.
fn reverse_path(s: &str) -> Result<ReversePath, ValueError> {
    if s.starts_with('<') {
        Cursor::parse_value(s, "path", |c| c.reverse_path())
    } else {
        Mailbox::parse(s).map(ReversePath::Mailbox)
    }
}

/// A recipient as [`Envelope::new`] takes it: a path by the `Forward-path` grammar
/// (with `<Postmaster>`) when it starts with `<`, else `Postmaster` or a plain
/// `Mailbox`.
fn forward_path(s: &str) -> Result<ForwardPath, ValueError> {
    if s.starts_with('<') {
        Cursor::parse_value(s, "path", |c| c.forward_path())
    } else if s.eq_ignore_ascii_case("postmaster") {
        Ok(ForwardPath::Postmaster)
    } else {
        Mailbox::parse(s).map(ForwardPath::Mailbox)
    }
}
