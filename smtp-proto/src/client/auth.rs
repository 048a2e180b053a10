//! AUTH (RFC 4954): PLAIN, LOGIN, XOAUTH2, and application-driven mechanisms.

use super::policy;
use super::{ClientAuth, ClientEvent, ClientSession, Expect, Sent};
use crate::codec::Encode;
use crate::error::{ApiMisuse, Error};
use crate::types::command::{Command, Mechanism};
use crate::types::reply::Reply;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{BufMut, Bytes};

impl ClientSession {
    pub(super) fn start_auth(&mut self) {
        let Some(auth) = self.opts.auth.clone() else {
            return self.ready();
        };
        if self.tls.is_none() && !self.opts.auth_without_tls {
            self.failure = Some(
                policy::PolicyViolation::AuthWithoutTls {
                    server: self.opts.server.clone(),
                }
                .into(),
            );
            return self.send_quit();
        }
        // RFC 3207 §4.2: only the capabilities from after TLS count (`caps` holds
        // the last EHLO reply's); the caller's order decides among those offered.
        let offered: Vec<Mechanism> = self
            .caps
            .as_ref()
            .map(|c| c.auth_mechanisms().cloned().collect())
            .unwrap_or_default();
        let wanted: Vec<Mechanism> = match &auth {
            ClientAuth::Password { mechanisms, .. } => mechanisms.clone(),
            other => other.mechanism().into_iter().collect(),
        };
        let chosen = wanted
            .iter()
            .filter(|m| offered.contains(m))
            .find_map(|m| auth.for_mechanism(m).map(|a| (m.clone(), a)));
        let Some((mechanism, auth)) = chosen else {
            let extension = policy::Needed::Auth(match wanted.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            });
            self.failure = Some(
                policy::PolicyViolation::MissingExtension {
                    server: self.opts.server.clone(),
                    extension,
                }
                .into(),
            );
            return self.send_quit();
        };
        self.auth_used = Some(auth.clone());
        let initial = match &auth {
            ClientAuth::Plain {
                authzid,
                username,
                password,
            } => {
                let msg = format!(
                    "{}\0{}\0{}",
                    authzid.as_deref().unwrap_or(""),
                    username,
                    password.expose()
                );
                Some(msg.into_bytes())
            }
            ClientAuth::Login { .. } => None,
            ClientAuth::XOAuth2 { username, token } => Some(
                format!("user={username}\x01auth=Bearer {}\x01\x01", token.expose()).into_bytes(),
            ),
            ClientAuth::Other { initial, .. } => initial.as_ref().map(|i| i.expose().to_vec()),
            // Resolved to one of the above by `for_mechanism`.
            ClientAuth::Password { .. } => None,
        };
        self.auth_step = 0;
        // RFC 4954 §4: an initial response that would make the AUTH line longer than
        // 512 octets is sent after the server's first (empty) challenge instead.
        let line_len =
            |ir: &Vec<u8>| "AUTH  \r\n".len() + mechanism.as_str().len() + ir.len().div_ceil(3) * 4;
        let initial = match initial {
            Some(ir) if line_len(&ir) > 512 => {
                self.auth_ir = Some(ir);
                None
            }
            other => other,
        };
        let command = Command::Auth {
            mechanism,
            initial: initial.map(|v| crate::Secret::new(Bytes::from(v))),
        };
        self.write_marked(Sent::AuthCommand, |out| command.encode(out));
        self.expect(Expect::Auth);
    }

    pub(super) fn on_auth_reply(&mut self, reply: Reply) {
        let code = reply.code().get();
        if code == 235 {
            return self.ready();
        }
        if code == 334 {
            if let Some(ir) = self.auth_ir.take() {
                return self.sasl_response(BASE64.encode(ir).as_bytes());
            }
            if matches!(self.auth_used, Some(ClientAuth::Other { .. })) {
                // RFC 4954 §4: the challenge is the base64 text of the 334 line.
                let text = reply.text();
                let Ok(challenge) = BASE64.decode(text.trim()) else {
                    return self.sasl_response(b"*");
                };
                self.challenge_pending = true;
                self.events
                    .push_back(ClientEvent::AuthChallenge(crate::Secret::new(Bytes::from(
                        challenge,
                    ))));
                return;
            }
            self.auth_step += 1;
            let line: Vec<u8> = match (&self.auth_used, self.auth_step) {
                (Some(ClientAuth::Login { username, .. }), 1) => username.as_bytes().to_vec(),
                (Some(ClientAuth::Login { password, .. }), 2) => {
                    password.expose().as_bytes().to_vec()
                }
                // XOAUTH2 error challenge: an empty response gets the final error reply.
                (Some(ClientAuth::XOAuth2 { .. }), 1) => return self.sasl_response(b""),
                // An exchange we cannot continue: cancel (RFC 4954 §4).
                _ => return self.sasl_response(b"*"),
            };
            return self.sasl_response(BASE64.encode(line).as_bytes());
        }
        self.refuse(crate::error::Stage::Auth, reply);
    }

    /// Answers an [`ClientEvent::AuthChallenge`].
    pub fn auth_respond(&mut self, response: &[u8]) -> Result<(), Error> {
        if !std::mem::take(&mut self.challenge_pending) {
            return Err(ApiMisuse::NoDecisionPending.into());
        }
        self.sasl_response(BASE64.encode(response).as_bytes());
        Ok(())
    }

    /// Cancels the AUTH exchange after an [`ClientEvent::AuthChallenge`] (`*`, RFC 4954
    /// §4); the server's 501 then ends the session as a refused AUTH.
    pub fn auth_cancel(&mut self) -> Result<(), Error> {
        if !std::mem::take(&mut self.challenge_pending) {
            return Err(ApiMisuse::NoDecisionPending.into());
        }
        self.sasl_response(b"*");
        Ok(())
    }

    /// Sends one SASL response line (base64, empty, or `*`), marked as a credential
    /// for transcripts, and awaits the server's next AUTH reply.
    fn sasl_response(&mut self, line: &[u8]) {
        self.write_marked(Sent::SaslResponse, |out| {
            out.put_slice(line);
            out.put_slice(b"\r\n");
        });
        self.expect(Expect::Auth);
    }
}
