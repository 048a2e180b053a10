//! Sending messages on a [`Connection`]: the transaction, the body from memory or a
//! stream, and the per-recipient [`Delivery`].

use super::{BODY_PIECE, Connection, Step};
use crate::delivery::{Delivery, RecipientResult};
use crate::error::Error;
use smtp_proto::client::limits::{send_again, split_recipients};
use smtp_proto::client::{ClientEvent, Envelope};
use smtp_proto::framing::stuff::crlf_size;
use std::collections::VecDeque;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Where a message body comes from.
enum Source<'a, R> {
    /// All of it (taken on the first request).
    Bytes(Option<&'a [u8]>),
    /// A stream and the buffer one piece is read into.
    Reader(R, Vec<u8>),
}

impl Connection {
    /// Sends one message held in memory. Line endings are made CRLF and lines starting
    /// with `.` are stuffed.
    ///
    /// The server's limits are kept: the recipients go in as many transactions as its
    /// `LIMITS RCPTMAX` asks, recipients of a domain past its `RCPTDOMAINMAX` (per
    /// session) are left for another connection (RFC 9422), and recipients answered
    /// "too many recipients" (`452 4.5.3`, or the old `552 5.5.3`; RFC 5321
    /// §4.5.3.1.10) go again in a further transaction, as long as each one delivers to
    /// someone. Past the server's `MAILMAX` no transaction is started: the recipients
    /// not yet tried have no reply (transient; [`Connection::transactions_left`] is 0,
    /// send them on another connection). The [`Delivery`] then has every recipient in
    /// the envelope's order, the first MAIL reply and each transaction's message reply. A body with 8-bit bytes is declared `BODY=8BITMIME`
    /// (refused with [`PolicyViolation::MissingExtension`] when the server lacks it).
    ///
    /// `Ok` when at least one recipient got the message: [`Delivery::status`] says
    /// whether all did, and [`Delivery::recipients`] has each one's reply. When none
    /// did, [`Error::MessageRefused`] carries the same [`Delivery`]
    /// ([`Error::into_delivery`]), and the connection stays usable.
    ///
    /// [`PolicyViolation::MissingExtension`]: smtp_proto::client::policy::PolicyViolation::MissingExtension
    pub async fn send(
        &mut self,
        mut envelope: Envelope,
        message: impl AsRef<[u8]>,
    ) -> Result<Delivery, Error> {
        let body = message.as_ref();
        if !envelope.eight_bit && envelope.params.body.is_none() && !body.is_ascii() {
            envelope.eight_bit = true;
        }
        // RFC 1870 §4: declare the size (with CRLF line endings) so a server that
        // cannot take it says so at MAIL; dropped when the server has no SIZE.
        if envelope.params.size.is_none() {
            envelope.params.size = Some(crlf_size(body));
        }
        let sent = self.send_within_limits(envelope, body).await;
        self.note_end(&sent);
        sent.map_err(|e| e.with_report(&self.report))
    }

    /// [`Connection::send`]'s transactions: the first (all of it, without limits) as
    /// ever, more when the server's limits split the recipients.
    async fn send_within_limits(
        &mut self,
        envelope: Envelope,
        body: &[u8],
    ) -> Result<Delivery, Error> {
        let limits = self.server_limits().cloned().unwrap_or_default();
        let domains: Vec<Option<String>> = envelope
            .recipients
            .iter()
            // RFC 9422 §4.3 counts "different domains"; an address literal is one too.
            .map(|(p, _)| p.mailbox().map(|m| m.host().to_string()))
            .collect();
        let split = split_recipients(
            domains.iter().map(|d| d.as_deref()),
            &limits,
            &mut self.domains,
        );
        let mut queue: VecDeque<Vec<usize>> = split.batches.into();
        let mut slots: Vec<Option<RecipientResult>> = vec![None; envelope.recipients.len()];
        let mut merged: Option<Delivery> = None;
        let mut rounds = 0;
        let mut stopped = None;
        while let Some(batch) = queue.pop_front() {
            if !self.has_room() || (rounds > 0 && !self.is_open()) {
                break;
            }
            rounds += 1;
            let mut sub = envelope.clone();
            sub.recipients = batch
                .iter()
                .map(|&i| envelope.recipients[i].clone())
                .collect();
            let whole = batch.len() == envelope.recipients.len();
            let d = match self
                .transaction(sub, Source::<&[u8]>::Bytes(Some(body)))
                .await
            {
                Ok(d) => d,
                Err(Error::MessageRefused { delivery, .. }) if !whole || rounds > 1 => *delivery,
                // One transaction for every recipient: its result as it is.
                Err(e) if rounds == 1 && whole => return Err(e),
                Err(e) => {
                    stopped = Some(e);
                    break;
                }
            };
            let replies: Vec<_> = d.recipients.iter().map(|r| r.rcpt_reply.as_ref()).collect();
            let again = send_again(&batch, &replies, d.any_delivered());
            if rounds == 1 && whole && again.is_empty() {
                return Ok(d);
            }
            for (&i, r) in batch.iter().zip(&d.recipients) {
                slots[i] = Some(r.clone());
            }
            match merged.as_mut() {
                None => merged = Some(d),
                Some(m) => {
                    m.refused = d.refused.or(m.refused.take());
                    m.message.extend(d.message);
                }
            }
            if !again.is_empty() {
                queue.push_front(again);
            }
        }
        let Some(mut merged) = merged else {
            if let Some(e) = stopped {
                return Err(e);
            }
            // No transaction could start here (MAILMAX spent, or no domain fits).
            let delivery = Delivery {
                mail: None,
                recipients: (envelope.recipients.iter())
                    .map(|(path, _)| RecipientResult::untried(&envelope, path))
                    .collect(),
                refused: None,
                message: Vec::new(),
            };
            return Err(Error::LimitReached {
                delivery: Box::new(delivery),
            });
        };
        merged.recipients = slots
            .into_iter()
            .zip(&envelope.recipients)
            .map(|(slot, (path, _))| {
                slot.unwrap_or_else(|| RecipientResult::untried(&envelope, path))
            })
            .collect();
        if let Some(e) = stopped {
            tracing::debug!(error = %e, "a further transaction failed");
        }
        match merged.refusal() {
            Some((stage, reply)) => Err(Error::MessageRefused {
                stage,
                reply,
                delivery: Box::new(merged),
                report: None,
            }),
            None => Ok(merged),
        }
    }

    /// Sends one message read from a stream, a piece at a time (never all in memory).
    /// Set `envelope.eight_bit` when it may hold 8-bit bytes: an undeclared one ends
    /// the connection with [`Error::Body`], since a started body cannot be taken back.
    /// The result is as for [`Connection::send`].
    pub async fn send_reader<R: AsyncRead + Unpin>(
        &mut self,
        envelope: Envelope,
        reader: R,
    ) -> Result<Delivery, Error> {
        let sent = self
            .transaction(envelope, Source::Reader(reader, vec![0; BODY_PIECE]))
            .await;
        self.note_end(&sent);
        sent.map_err(|e| e.with_report(&self.report))
    }

    async fn transaction<R: AsyncRead + Unpin>(
        &mut self,
        envelope: Envelope,
        mut source: Source<'_, R>,
    ) -> Result<Delivery, Error> {
        self.enter()?;
        // What the server sent since the last transaction answers nothing: the core
        // refuses it before MAIL goes out.
        if let Err(e) = self.read_ready().await {
            self.closed = true;
            return Err(e);
        }
        if !self.session.is_idle() {
            // The server ended the session (e.g. 421 after the last transaction), or
            // sent what nobody asked for: the core says which.
            let e = match self.session.poll() {
                Err(e) => e.into(),
                Ok(_) => Error::Closed,
            };
            self.close_io().await;
            return Err(e);
        }
        // A body in memory is checked whole first (line length, bare line endings):
        // a message that cannot be sent costs no MAIL.
        let checked = match &source {
            Source::Bytes(Some(body)) => self.session.check_body(&envelope, body),
            _ => Ok(()),
        };
        // Results name each recipient as the caller wrote it.
        let written: Vec<String> = envelope
            .recipients
            .iter()
            .map(|(path, _)| envelope.recipient_as_written(path).into_owned())
            .collect();
        if let Err(e) = checked.and_then(|()| self.session.send(envelope)) {
            // Refused before anything was sent: the connection is as it was.
            self.busy = false;
            return Err(e.into());
        }
        self.transactions = self.transactions.saturating_add(1);
        loop {
            match self.step().await? {
                Step::Event(ClientEvent::SendBody) => self.feed_body(&mut source).await?,
                Step::Event(ClientEvent::Done(result)) => {
                    self.busy = false;
                    if !self.session.is_idle() {
                        // The result came with the end of the session (a 421 or a
                        // close after the RSET of a failed transaction).
                        self.close_io().await;
                    }
                    let delivery = Delivery::from_result(&result, written);
                    tracing::debug!(
                        server = %self.report.server,
                        delivered = delivery.recipients.iter().filter(|r| r.delivered()).count(),
                        recipients = delivery.recipients.len(),
                        "transaction done"
                    );
                    return match delivery.refusal() {
                        Some((stage, reply)) => Err(Error::MessageRefused {
                            stage,
                            reply,
                            delivery: Box::new(delivery),
                            report: None,
                        }),
                        None => Ok(delivery),
                    };
                }
                Step::Event(_) => {}
                Step::Idle | Step::Closed => {
                    self.closed = true;
                    return Err(Error::Closed);
                }
            }
        }
    }

    /// Gives the session the next piece of the body (and its end, when that is known).
    async fn feed_body<R: AsyncRead + Unpin>(
        &mut self,
        source: &mut Source<'_, R>,
    ) -> Result<(), Error> {
        let (piece, end): (&[u8], bool) = match source {
            Source::Bytes(b) => (b.take().unwrap_or_default(), true),
            Source::Reader(r, buf) => {
                let mut n = 0;
                let mut eof = false;
                while n < buf.len() {
                    match r.read(&mut buf[n..]).await {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(k) => n += k,
                        Err(e) => {
                            self.abandon().await;
                            return Err(Error::Body(format!("reading the message: {e}")));
                        }
                    }
                }
                (&buf[..n], eof)
            }
        };
        let mut r = self.session.body(piece);
        if r.is_ok() && end {
            r = self.session.end_body();
        }
        if let Err(e) = r {
            self.abandon().await;
            return Err(match e {
                smtp_proto::Error::Policy(v) => v.into(),
                smtp_proto::Error::Misuse(smtp_proto::ApiMisuse::LineTooLong { limit }) => {
                    Error::LineTooLong { limit }
                }
                other => Error::Body(other.to_string()),
            });
        }
        Ok(())
    }
}
