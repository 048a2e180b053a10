//! Starting a transaction: the envelope checked against the session's policy and the
//! server's extensions, MAIL and RCPT (pipelined when the server allows, RFC 2920 §3.1),
//! and the choice between DATA and BDAT with the body's encoder.

use super::{BodyPhase, ClientSession, Expect, Phase, Tx};
use super::{Envelope, TransactionResult, body};
use crate::codec::Encode;
use crate::error::{ApiMisuse, Error};
use crate::framing::stuff::DotStuffer;
use crate::types::capability::Capabilities;
use crate::types::command::Command;
use crate::types::params::Body;
use bytes::BytesMut;
use std::collections::VecDeque;

impl ClientSession {
    /// Whether the message goes by BDAT, and its encoder: dot-stuffing for DATA, raw for
    /// `BODY=BINARYMIME` (RFC 3030 §3), and the RFC 5321 §4.5.3.1.6 line limit for every
    /// body that has lines.
    fn encoder(&self, env: &Envelope) -> (bool, DotStuffer) {
        let caps = self.caps.as_ref();
        let binary = env.params.body == Some(Body::BinaryMime);
        let bdat = binary || (self.opts.chunking && caps.is_some_and(Capabilities::chunking));
        let stuffer = if binary {
            DotStuffer::raw()
        } else {
            DotStuffer::new(!bdat, self.opts.bare_endings)
                .with_line_limit(self.opts.limits.text_line)
        };
        (bdat, stuffer)
    }

    /// Checks a whole body before [`ClientSession::send`], as the transaction would
    /// encode it: no line longer than [`Limits::text_line`](crate::Limits::text_line)
    /// as sent ([`ApiMisuse::LineTooLong`], RFC 5321 §4.5.3.1.6; no limit with
    /// `BODY=BINARYMIME`), no bare line ending under
    /// [`BareEndingsOut::Refuse`](crate::framing::stuff::BareEndingsOut::Refuse). A
    /// body held in memory should pass here first, so that a message that cannot be
    /// sent costs no MAIL, and the session is unchanged. Call it when the session is
    /// idle: the server's capabilities decide between DATA and BDAT.
    pub fn check_body(&self, env: &Envelope, body: &[u8]) -> Result<(), Error> {
        let (_, mut stuffer) = self.encoder(env);
        // Encoded a slice at a time into one small buffer: the result is thrown away.
        let mut scratch = BytesMut::new();
        for piece in body.chunks(64 * 1024) {
            scratch.clear();
            stuffer
                .encode(piece, &mut scratch)
                .map_err(body::body_error)?;
        }
        scratch.clear();
        stuffer.finish(&mut scratch).map_err(body::body_error)?;
        Ok(())
    }

    /// Starts a transaction. Only between [`ClientEvent::Ready`](super::ClientEvent::Ready) (or `Done`) and the
    /// next `send`. Checks SIZE, 8BITMIME and SMTPUTF8 against the server first.
    pub fn send(&mut self, mut env: Envelope) -> Result<(), Error> {
        if self.phase != Phase::Idle || self.tx.is_some() || self.expects.contains(&Expect::Noop) {
            return Err(ApiMisuse::NotReady.into());
        }
        if env.recipients.is_empty() {
            return Err(ApiMisuse::NoRecipients.into());
        }
        self.prepare(&mut env)?;
        let caps = self.caps.as_ref();
        let pipelined = caps.is_some_and(Capabilities::pipelining);
        let (bdat, stuffer) = self.encoder(&env);
        let eight_bit =
            env.eight_bit || matches!(env.params.body, Some(Body::EightBitMime | Body::BinaryMime));
        let mut tx = Tx {
            result: TransactionResult {
                mail: None,
                recipients: env
                    .recipients
                    .iter()
                    .map(|(r, _)| (r.clone(), None))
                    .collect(),
                refused: None,
                message: Vec::new(),
            },
            unsent: VecDeque::new(),
            next_rcpt: 0,
            accepted: 0,
            pipelined,
            bdat,
            body: BodyPhase::Waiting,
            stuffer,
            eight_bit,
            sent: 0,
            message_replies: 0,
            failed: false,
            held: BytesMut::new(),
        };
        Command::Mail {
            from: env.from,
            params: env.params,
        }
        .encode(&mut self.out);
        self.expect(Expect::Mail);
        if pipelined {
            // RFC 2920 §3.1: MAIL, every RCPT and DATA in one write.
            for (i, (to, params)) in env.recipients.into_iter().enumerate() {
                Command::Rcpt { to, params }.encode(&mut self.out);
                self.expect(Expect::Rcpt(i));
            }
            tx.next_rcpt = tx.result.recipients.len();
            if !bdat {
                Command::Data.encode(&mut self.out);
                self.expect(Expect::Data);
            } else if !self.opts.lmtp {
                // BDAT needs no go-ahead: the chunks follow the envelope in the same
                // burst, one round trip for the whole message (RFC 3030 §4.2, the
                // pipelined example). A refused MAIL or every RCPT refused stops the
                // body there; the server reads and refuses the chunks already sent, and
                // RSET clears the transaction (§2). LMTP waits for the RCPT replies: it
                // must know how many recipients will answer after `BDAT … LAST`.
                tx.body = BodyPhase::Streaming;
            }
        } else {
            tx.unsent = env.recipients.into();
        }
        self.tx = Some(tx);
        self.phase = Phase::Transaction;
        Ok(())
    }
}
