//! The connection's side of the fault engine: giving the core the tap's next unit, and
//! writing replies as the rules change them.

use super::edit::{endless_block, malformed};
use super::rules::{Action, Stage};
use super::tap::{Tap, Unit};
use crate::conn::Conn;
use smtp_proto::{Encode, Reply};

/// A never-ending reply stops here (the client should have given up long before).
const ENDLESS_LIMIT: u64 = 64 * 1024 * 1024;

impl Conn {
    /// Gives the core the next piece of input the tap holds, or does what a rule says
    /// instead; whether anything happened (if not, the connection reads).
    pub(crate) async fn deliver(&mut self) -> bool {
        let Some(tap) = self.tap.as_mut() else {
            return false;
        };
        match tap.next_unit(&self.session) {
            Unit::None if tap.eof => {
                self.session.feed_eof();
                true
            }
            Unit::None => false,
            Unit::Feed(bytes) => {
                self.session.feed(&bytes);
                true
            }
            Unit::FeedThenClose(bytes) => {
                self.session.feed(&bytes);
                self.fault_close();
                true
            }
            Unit::Answer(reply, close) => {
                // A command answered here is progress, like one the core answers.
                self.progress();
                self.transmit(&reply).await;
                if close {
                    self.fault_close();
                }
                true
            }
            Unit::Close => {
                self.fault_close();
                true
            }
        }
    }

    /// Drops the connection, as a rule asked: no reply, no TLS close.
    pub(crate) fn fault_close(&mut self) {
        self.broken("closed by a fault rule".into());
        self.session.feed_eof();
    }

    /// Writes the core's replies as the rules change them.
    pub(crate) async fn transmit_tapped(&mut self, bytes: &[u8]) {
        let Some(tap) = self.tap.as_mut() else {
            return self.transmit(bytes).await;
        };
        let (mut data, action) = tap.outgoing(bytes);
        match action {
            Some(Action::Delay(d)) => {
                tokio::time::sleep(d).await;
                self.transmit(&data).await;
            }
            Some(Action::Drip(d)) => {
                for b in data {
                    self.transmit(&[b]).await;
                    tokio::time::sleep(d).await;
                }
            }
            Some(Action::Close) => self.fault_close(),
            Some(Action::Malformed) => self.transmit(&malformed(&data)).await,
            Some(Action::Endless) => {
                let code = data.get(..3).unwrap_or(b"250").to_vec();
                let (mut sent, mut line) = (0, 0);
                while sent < ENDLESS_LIMIT && !self.is_dead() {
                    let block = endless_block(&code, line);
                    line += 64;
                    sent += block.len() as u64;
                    self.transmit(&block).await;
                }
                self.fault_close();
            }
            Some(Action::Inject(extra)) => {
                tap.record(&extra);
                data.extend_from_slice(&extra);
                self.transmit(&data).await;
            }
            Some(Action::Unsolicited(r)) => {
                let extra = r.to_bytes();
                tap.record(&extra);
                data.extend_from_slice(&extra);
                self.transmit(&data).await;
            }
            // The greeting's own text replaced by a positive reply.
            Some(Action::Reply(r)) => self.transmit(&r.to_bytes()).await,
            _ => self.transmit(&data).await,
        }
    }
}

/// What the rules say of a connection before its greeting.
pub(crate) enum Start {
    Go,
    Close,
    /// Greet with this refusal (`554`, `421`) and answer nothing else but QUIT
    /// (RFC 5321 §3.1).
    Refuse(Reply),
}

/// The `connect` and `greeting` stages: a close, a refusal, a pause now, or an action
/// for the greeting's write.
pub(crate) async fn at_connect(tap: &mut Tap) -> Start {
    for stage in [Stage::Connect, Stage::Greeting] {
        let action = tap.faults.fire(stage, &[]);
        if let Some(a) = &action {
            tap.note(format!("fault at {}: {a:?}", stage.name()));
        }
        match action {
            None => {}
            Some(Action::Close) => return Start::Close,
            Some(Action::Reply(r)) if !r.is_positive() => return Start::Refuse(r),
            Some(Action::Delay(d)) if stage == Stage::Connect => tokio::time::sleep(d).await,
            other => tap.set_action(other),
        }
    }
    Start::Go
}
