//! The rounds of [`Pool::send`](super::Pool::send): which recipients go on another
//! connection, and one result from the rounds' results.

use crate::delivery::Delivery;
use crate::error::Error;

/// The recipients of `result` to send on another connection: those left untried while
/// the connection stayed open (so its limits, not a failure, left them out).
pub(super) fn left_for_elsewhere(
    result: &Result<Delivery, Error>,
    room_here: bool,
) -> Option<Vec<usize>> {
    let delivery = match result {
        Ok(d) if room_here => d,
        Err(Error::LimitReached { delivery }) => delivery,
        Err(Error::MessageRefused { delivery, .. }) if room_here => delivery,
        _ => return None,
    };
    let left: Vec<usize> = (delivery.recipients.iter().enumerate())
        .filter(|(_, r)| r.rcpt_reply.is_none() && r.reply.is_none())
        .map(|(i, _)| i)
        .collect();
    (!left.is_empty()).then_some(left)
}

/// The first result with the recipients at `left` replaced by the second's.
pub(super) fn merge(
    first: Result<Delivery, Error>,
    left: &[usize],
    second: Result<Delivery, Error>,
) -> Result<Delivery, Error> {
    let mut merged = match first {
        Ok(d) => d,
        Err(e) => e.into_delivery()?,
    };
    let second = match second.or_else(Error::into_delivery) {
        Ok(d) => d,
        // No per-recipient answer: they stay untried (transient).
        Err(e) => {
            tracing::debug!(error = %e, "sending the rest on another connection failed");
            // Nothing tried anywhere: that failure is the answer, not "no room".
            if !merged.any_delivered() && merged.refusal().is_none() {
                return Err(e);
            }
            return merged.into_result();
        }
    };
    if merged.mail.is_none() {
        merged.mail = second.mail.clone();
    }
    for (&i, r) in left.iter().zip(second.recipients) {
        merged.recipients[i] = r;
    }
    merged.refused = merged.refused.or(second.refused);
    merged.message.extend(second.message);
    merged.into_result()
}
