//! Sending messages on a [`Connection`]: the transaction, the body from memory or a
//! stream, and the per-recipient [`Delivery`].

use super::{BODY_PIECE, Connection, Step};
use crate::delivery::Delivery;
use crate::error::Error;
use smtp_proto::client::{ClientEvent, Envelope};
use smtp_proto::framing::stuff::crlf_size;
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
    /// with `.` are stuffed. A body with 8-bit bytes is declared `BODY=8BITMIME`
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
        let sent = self
            .transaction(envelope, Source::<&[u8]>::Bytes(Some(body)))
            .await;
        sent.map_err(|e| e.with_report(&self.report))
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
