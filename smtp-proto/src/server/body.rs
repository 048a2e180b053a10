//! Message bodies: DATA and BDAT chunks through the framing decoders, size accounting,
//! and the end of a message (one decision, or one per recipient in LMTP).

use super::replies as r;
use super::{AbortReason, Pending, ServerEvent, ServerSession, State, Step};
use crate::framing::data::{BodyDefect, BodyStep};
use bytes::Buf;

fn reason(d: BodyDefect) -> AbortReason {
    match d {
        BodyDefect::BareLf => AbortReason::BareLf,
        BodyDefect::BareCr => AbortReason::BareCr,
    }
}

impl ServerSession {
    pub(super) fn step_body(&mut self) -> Step {
        let Some(tx) = self.tx.as_mut() else {
            self.state = State::Command;
            return Step::Continue;
        };
        let (step, defect) = match &mut self.state {
            State::Data(dec) => (dec.decode(&mut self.input), dec.defect()),
            State::Bdat { .. } => match tx.chunks.as_mut() {
                Some(dec) => (dec.decode(&mut self.input), dec.defect()),
                None => (BodyStep::End, None),
            },
            _ => return Step::Continue,
        };
        if tx.aborted.is_none()
            && let Some(d) = defect
        {
            tx.aborted = Some(reason(d));
            self.events
                .push_back(ServerEvent::MessageAborted(reason(d)));
        }
        match step {
            BodyStep::NeedInput => Step::NeedInput,
            BodyStep::Chunk(bytes) => {
                if tx.aborted.is_some() {
                    return Step::Continue;
                }
                let max = self.opts.max_message_size;
                let room = max.saturating_sub(tx.received);
                if max > 0 && bytes.len() as u64 > room {
                    // Up to the limit, then the abort: the same whatever the read sizes.
                    if room > 0 {
                        let head = bytes.slice(..room as usize);
                        self.events.push_back(ServerEvent::Body(head));
                    }
                    tx.received = max.saturating_add(1);
                    tx.aborted = Some(AbortReason::TooBig);
                    self.events
                        .push_back(ServerEvent::MessageAborted(AbortReason::TooBig));
                    return Step::Continue;
                }
                tx.received += bytes.len() as u64;
                self.events.push_back(ServerEvent::Body(bytes));
                Step::Continue
            }
            BodyStep::End => self.end_of_chunk(),
        }
    }

    /// The end of the DATA body, or of one BDAT chunk.
    fn end_of_chunk(&mut self) -> Step {
        let state = std::mem::replace(&mut self.state, State::Command);
        let Some(tx) = self.tx.as_mut() else {
            return Step::Continue;
        };
        if let State::Bdat { last, size } = state {
            if !last {
                if tx.aborted.is_some() {
                    // RFC 3030 §2: the transaction has failed (the client should RSET);
                    // one reply for this chunk, also in LMTP (RFC 2033 §4.3).
                    return self.refuse_message(false);
                }
                r::chunk_ok(&mut self.out, size);
                return Step::Continue;
            }
            if let Some(dec) = tx.chunks.as_mut() {
                let tail = dec.finish();
                if tx.aborted.is_none() {
                    if let Some(d) = dec.defect() {
                        tx.aborted = Some(reason(d));
                        self.events
                            .push_back(ServerEvent::MessageAborted(reason(d)));
                    } else if let Some(lf) = tail {
                        tx.received += 1;
                        self.events.push_back(ServerEvent::Body(lf));
                    }
                }
            }
        }
        match self.tx.as_ref().and_then(|t| t.aborted) {
            Some(_) => self.refuse_message(true),
            None => {
                self.next_message_end = Some(0);
                Step::Continue
            }
        }
    }

    /// Refuses the message for the reason already recorded: once per accepted recipient
    /// at the end of an LMTP message (RFC 2033 §4.2), else once. The transaction ends.
    fn refuse_message(&mut self, at_end: bool) -> Step {
        let Some(tx) = self.tx.take() else {
            return Step::Continue;
        };
        // RFC 3030 §2: chunks the client pipelined behind this one are drained quietly.
        self.bdat_failed = !at_end;
        let reply = match tx.aborted {
            Some(AbortReason::BareLf) => r::BODY_BARE_LF,
            Some(AbortReason::BareCr) => r::BODY_BARE_CR,
            _ => r::TOO_BIG,
        };
        let n = if self.opts.lmtp && at_end {
            tx.rcpts_ok
        } else {
            1
        };
        for _ in 0..n {
            self.out.extend_from_slice(reply);
        }
        self.commands.options = self.commands.options.with_smtputf8(false);
        Step::Continue
    }

    /// The `i`th end-of-message decision: the only one in SMTP, one per accepted
    /// recipient in RCPT order in LMTP.
    pub(super) fn message_end(&mut self, i: usize) -> ServerEvent {
        let recipient = self
            .tx
            .as_ref()
            .filter(|_| self.opts.lmtp)
            .and_then(|t| t.lmtp_rcpts.get(i).cloned());
        self.pending = Some(Pending::MessageEnd { index: i });
        ServerEvent::MessageEnd { recipient }
    }

    pub(super) fn step_drain(&mut self) -> Step {
        let State::BdatDrain {
            remaining,
            reply,
            count,
        } = &mut self.state
        else {
            return Step::Continue;
        };
        let n = usize::try_from(*remaining).map_or(self.input.len(), |r| r.min(self.input.len()));
        self.input.advance(n);
        *remaining -= n as u64;
        if *remaining > 0 {
            return Step::NeedInput;
        }
        let (reply, count) = (*reply, *count);
        self.state = State::Command;
        for _ in 1..count {
            self.out.extend_from_slice(reply);
        }
        // A size refusal is the client's message, not its error; a chunk pipelined
        // behind a failed one was sent in good faith (RFC 3030 §2), but does no work, so
        // it counts as junk.
        if reply == r::TOO_BIG {
            self.reply(reply)
        } else if reply == r::BDAT_FAILED {
            if !self.junk_limit_reached() {
                self.out.extend_from_slice(reply);
            }
            Step::Continue
        } else {
            self.error(reply)
        }
    }
}
