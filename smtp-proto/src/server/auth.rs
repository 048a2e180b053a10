//! The AUTH exchange (RFC 4954): `334` challenges, base64 responses, `*` to cancel, and
//! the built-in `PLAIN` (RFC 4616) and `LOGIN` mechanisms.

use super::replies as r;
use super::{Credentials, Pending, ServerEvent, ServerSession, State, Step};
use crate::error::ParseErrorKind;
use crate::secret::Secret;
use crate::types::command::{Mechanism, SaslResponse};
use bytes::Bytes;

/// Which client line the exchange waits for.
#[derive(Debug)]
pub(super) enum Sasl {
    /// PLAIN's message after an empty challenge.
    Plain,
    /// LOGIN's user name.
    LoginUser,
    /// LOGIN's password.
    LoginPass(String),
    /// The next response of another mechanism.
    Step(Mechanism),
}

impl ServerSession {
    /// AUTH admitted by the phase table (EHLO given, no transaction, not yet
    /// authenticated, TLS or `auth_without_tls`).
    pub(super) fn on_auth(&mut self, mechanism: Mechanism, initial: Option<Secret<Bytes>>) -> Step {
        if !self.opts.auth_mechanisms.contains(&mechanism) {
            return self.error(r::AUTH_UNKNOWN_MECH);
        }
        let initial = initial.map(Secret::into_inner);
        if mechanism == Mechanism::PLAIN {
            match initial {
                Some(msg) => self.plain(&msg),
                None => self.ask(r::AUTH_EMPTY_CHALLENGE, Sasl::Plain),
            }
        } else if mechanism == Mechanism::LOGIN {
            match initial {
                Some(user) => self.login_user(&user),
                None => self.ask(r::LOGIN_USER, Sasl::LoginUser),
            }
        } else {
            self.pending = Some(Pending::AuthStep(mechanism.clone()));
            Step::Event(ServerEvent::AuthStep {
                mechanism,
                response: initial.map(Secret::new),
            })
        }
    }

    /// Sends a challenge and waits for the response line.
    fn ask(&mut self, challenge: &'static [u8], next: Sasl) -> Step {
        self.out.extend_from_slice(challenge);
        self.state = State::Sasl(next);
        Step::Continue
    }

    /// Sends `334 base64(data)` for a pass-through mechanism. Only while an
    /// [`ServerEvent::AuthStep`] waits for a decision.
    pub fn challenge(&mut self, data: &[u8]) -> Result<(), crate::ApiMisuse> {
        let m = match &self.pending {
            _ if !self.events.is_empty() => return Err(crate::ApiMisuse::NoDecisionPending),
            Some(Pending::AuthStep(m)) => m.clone(),
            Some(_) => return Err(crate::ApiMisuse::WrongEvent),
            None => return Err(crate::ApiMisuse::NoDecisionPending),
        };
        self.pending = None;
        r::challenge(&mut self.out, data);
        self.state = State::Sasl(Sasl::Step(m));
        Ok(())
    }

    pub(super) fn step_sasl(&mut self) -> Step {
        let line = self.commands.decode_sasl(&mut self.input);
        let resp = match line {
            Ok(None) => return Step::NeedInput,
            Ok(Some(SaslResponse::Cancel)) => {
                self.state = State::Command;
                return self.error(r::AUTH_CANCELLED);
            }
            Ok(Some(SaslResponse::Data(d))) => d.into_inner(),
            Err(e) => {
                self.state = State::Command;
                return self.error(match e.kind() {
                    ParseErrorKind::LineTooLong { .. } => r::AUTH_LINE_TOO_LONG,
                    ParseErrorKind::BareLf | ParseErrorKind::BareCr => r::AUTH_MALFORMED,
                    _ => r::AUTH_BAD_BASE64,
                });
            }
        };
        match std::mem::replace(&mut self.state, State::Command) {
            State::Sasl(Sasl::Plain) => self.plain(&resp),
            State::Sasl(Sasl::LoginUser) => self.login_user(&resp),
            State::Sasl(Sasl::LoginPass(user)) => match String::from_utf8(resp.to_vec()) {
                Ok(pass) => self.credentials(Mechanism::LOGIN, None, user, pass),
                Err(_) => self.error(r::AUTH_MALFORMED),
            },
            State::Sasl(Sasl::Step(m)) => {
                self.pending = Some(Pending::AuthStep(m.clone()));
                Step::Event(ServerEvent::AuthStep {
                    mechanism: m,
                    response: Some(Secret::new(resp)),
                })
            }
            other => {
                self.state = other;
                Step::Continue
            }
        }
    }

    /// RFC 4616 §2: `message = [authzid] UTF8NUL authcid UTF8NUL passwd`, authcid and
    /// passwd non-empty.
    fn plain(&mut self, msg: &[u8]) -> Step {
        let mut parts = msg.split(|&b| b == 0);
        let (Some(z), Some(c), Some(p), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return self.error(r::AUTH_MALFORMED);
        };
        let (Ok(z), Ok(c), Ok(p)) = (
            std::str::from_utf8(z),
            std::str::from_utf8(c),
            std::str::from_utf8(p),
        ) else {
            return self.error(r::AUTH_MALFORMED);
        };
        if c.is_empty() || p.is_empty() {
            return self.error(r::AUTH_MALFORMED);
        }
        // RFC 4616 §2: the server must verify that the authentication identity may act
        // as the authorization identity; unless the application has said it checks
        // that (`ServerOptions::auth_proxy`), acting as someone else is refused.
        if !z.is_empty() && z != c && !self.opts.auth_proxy {
            return self.error(r::AUTH_AUTHZID_REFUSED);
        }
        let authzid = (!z.is_empty()).then(|| z.to_owned());
        self.credentials(Mechanism::PLAIN, authzid, c.to_owned(), p.to_owned())
    }

    fn login_user(&mut self, user: &[u8]) -> Step {
        match std::str::from_utf8(user) {
            Ok(u) if !u.is_empty() && !u.contains('\0') => {
                self.ask(r::LOGIN_PASS, Sasl::LoginPass(u.to_owned()))
            }
            _ => self.error(r::AUTH_MALFORMED),
        }
    }

    fn credentials(
        &mut self,
        mechanism: Mechanism,
        authzid: Option<String>,
        username: String,
        password: String,
    ) -> Step {
        self.pending = Some(Pending::Auth);
        Step::Event(ServerEvent::Auth(Credentials {
            mechanism,
            authzid,
            username,
            password: Secret::new(password),
        }))
    }
}
