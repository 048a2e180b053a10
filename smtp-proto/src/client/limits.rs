//! The rules a sender follows for the server's limits, as pure functions: how a
//! message's recipients are split into transactions the server takes (RFC 9422
//! `RCPTMAX` per transaction, `RCPTDOMAINMAX` per session), and which RCPT reply means
//! "too many recipients, send the rest in another transaction" (RFC 5321 §4.5.3.1.10).
//!
//! ```
//! use smtp_proto::client::limits::split_recipients;
//! use smtp_proto::LimitsExt;
//!
//! let mut limits = LimitsExt::default();
//! limits.rcptmax = Some(2);
//! limits.rcptdomainmax = Some(2);
//! // The session has sent to a.test already.
//! let mut session = vec!["a.test".to_owned()];
//! let domains = ["a.test", "b.test", "c.test", "A.TEST", "b.test"];
//! let split = split_recipients(domains.iter().map(|d| Some(*d)), &limits, &mut session);
//! // At most two recipients in each transaction; c.test would be a third domain in
//! // this session, so it goes on another connection.
//! assert_eq!(split.batches, [vec![0, 1], vec![3, 4]]);
//! assert_eq!(split.elsewhere, [2]);
//! assert_eq!(session, ["a.test", "b.test"]);
//! ```

use crate::{LimitsExt, Reply};

/// Where a message's recipients go: see [`split_recipients`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// The transactions on this connection, each a list of recipients (indexes, in
    /// the order given).
    pub batches: Vec<Vec<usize>>,
    /// The recipients this session cannot take (their domain would be one too many
    /// under `RCPTDOMAINMAX`): for another connection.
    pub elsewhere: Vec<usize>,
}

/// The transactions a message needs on this connection under the server's `limits`:
/// at most `RCPTMAX` recipients in each (RFC 9422 §4.2: RCPT commands "in a single
/// transaction"), in the order given, and no more distinct recipient domains in the
/// whole session than `RCPTDOMAINMAX` (§4.3: "within a single session"). `session`
/// holds the domains (lower-cased) this session has sent to so far; the domains the
/// split adds are appended to it. Domains are compared without ASCII case; a recipient
/// without a domain (the bare `<Postmaster>`) counts toward `RCPTMAX` only. A limit of
/// 0 (which RFC 9422 §4 does not allow) is read as 1.
///
/// `domains` gives each recipient's domain, in order. Without limits every recipient
/// is in one batch.
pub fn split_recipients<'a>(
    domains: impl IntoIterator<Item = Option<&'a str>>,
    limits: &LimitsExt,
    session: &mut Vec<String>,
) -> Split {
    let rcpt_max = limits.rcptmax.map_or(usize::MAX, |n| n.max(1) as usize);
    let domain_max = limits
        .rcptdomainmax
        .map_or(usize::MAX, |n| n.max(1) as usize);
    let mut split = Split::default();
    let mut here: Vec<usize> = Vec::new();
    for (i, domain) in domains.into_iter().enumerate() {
        let Some(d) = domain.map(str::to_ascii_lowercase) else {
            here.push(i);
            continue;
        };
        if session.contains(&d) {
            here.push(i);
        } else if session.len() < domain_max {
            session.push(d);
            here.push(i);
        } else {
            split.elsewhere.push(i);
        }
    }
    split.batches = here.chunks(rcpt_max).map(<[usize]>::to_vec).collect();
    split
}

/// Whether a reply to RCPT says the transaction has as many recipients as the server
/// takes, so the recipient is to be sent again in a further transaction rather than
/// failed: `452` (RFC 5321 §4.5.3.1.10, "too many recipients"; with an enhanced code,
/// only `4.5.3`, RFC 3463 §3.6), and the `552 5.5.3` of older servers, which the same
/// section asks clients to treat as temporary.
pub fn too_many_recipients(reply: &Reply) -> bool {
    let enhanced = reply.enhanced().map(|e| e.to_string());
    matches!(
        (reply.code().get(), enhanced.as_deref()),
        (452, None | Some("4.5.3")) | (552, Some("5.5.3"))
    )
}

/// The recipients (of `batch`, by index) to send again in a further transaction:
/// those whose RCPT reply ([`too_many_recipients`]) asks for it, given in `replies` in
/// the batch's order. None when the transaction delivered to nobody, or when all of it
/// would go again: each further transaction is then smaller and follows a delivery,
/// so a sender that repeats this ends.
pub fn send_again(batch: &[usize], replies: &[Option<&Reply>], delivered: bool) -> Vec<usize> {
    let again: Vec<usize> = batch
        .iter()
        .zip(replies)
        .filter(|(_, r)| r.is_some_and(too_many_recipients))
        .map(|(&i, _)| i)
        .collect();
    if delivered && again.len() < batch.len() {
        again
    } else {
        Vec::new()
    }
}

/// How many more transactions the server takes on this connection under `MAILMAX`
/// (RFC 9422), after `done` of them (counting every MAIL sent, accepted or not);
/// `None` without the limit. At 0 the connection is spent: open another.
pub fn transactions_left(limits: &LimitsExt, done: u32) -> Option<u32> {
    limits.mailmax.map(|max| max.saturating_sub(done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EnhancedCode, ReplyCode, Text};
    use proptest::prelude::*;

    fn limits(rcpt: Option<u32>, domains: Option<u32>) -> LimitsExt {
        LimitsExt {
            rcptmax: rcpt,
            rcptdomainmax: domains,
            ..Default::default()
        }
    }

    fn reply(code: u16, enhanced: Option<(u8, u16, u16)>) -> Reply {
        let e = enhanced.map(|(a, b, c)| EnhancedCode::new(a, b, c).unwrap());
        Reply::new(
            ReplyCode::new(code).unwrap(),
            e,
            vec![Text::new("x").unwrap()],
        )
        .unwrap()
    }

    fn split(domains: &[Option<&str>], l: &LimitsExt) -> Split {
        split_recipients(domains.iter().copied(), l, &mut Vec::new())
    }

    #[test]
    fn without_limits_one_transaction() {
        let b = split(&[Some("a"), None, Some("b")], &LimitsExt::default());
        assert_eq!(b.batches, [vec![0, 1, 2]]);
        assert!(b.elsewhere.is_empty());
        assert_eq!(split(&[], &limits(Some(1), None)), Split::default());
    }

    #[test]
    fn two_hundred_fifty_recipients_at_rcptmax_100_are_three_transactions() {
        let domains = vec![Some("example.test"); 250];
        let b = split(&domains, &limits(Some(100), None));
        let sizes: Vec<usize> = b.batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 50]);
    }

    #[test]
    fn rcptdomainmax_counts_the_whole_session() {
        let l = limits(None, Some(1));
        let mut session = Vec::new();
        let first = split_recipients([Some("A.test"), Some("b.test")], &l, &mut session);
        assert_eq!((first.batches, first.elsewhere), (vec![vec![0]], vec![1]));
        // A later message on the same connection: a.test still fits, b.test does not.
        let second = split_recipients([Some("b.test"), Some("a.TEST"), None], &l, &mut session);
        assert_eq!(
            (second.batches, second.elsewhere),
            (vec![vec![1, 2]], vec![0])
        );
        assert_eq!(session, ["a.test"]);
    }

    #[test]
    fn too_many_recipients_replies() {
        assert!(too_many_recipients(&reply(452, Some((4, 5, 3)))));
        assert!(too_many_recipients(&reply(452, None)));
        assert!(too_many_recipients(&reply(552, Some((5, 5, 3)))));
        assert!(!too_many_recipients(&reply(452, Some((4, 2, 2)))));
        assert!(!too_many_recipients(&reply(550, Some((5, 1, 1)))));
        assert!(!too_many_recipients(&reply(552, Some((5, 3, 4)))));
    }

    #[test]
    fn only_a_transaction_that_delivered_sends_the_rest_again() {
        let (ok, full) = (reply(250, Some((2, 1, 5))), reply(452, Some((4, 5, 3))));
        let replies = [Some(&ok), Some(&full), None, Some(&full)];
        assert_eq!(send_again(&[3, 5, 7, 9], &replies, true), [5, 9]);
        assert!(send_again(&[3, 5, 7, 9], &replies, false).is_empty());
        assert!(send_again(&[5, 9], &[Some(&full), Some(&full)], true).is_empty());
    }

    #[test]
    fn mailmax_counts_down() {
        assert_eq!(transactions_left(&LimitsExt::default(), 7), None);
        let l = LimitsExt {
            mailmax: Some(3),
            ..Default::default()
        };
        assert_eq!(transactions_left(&l, 1), Some(2));
        assert_eq!(transactions_left(&l, 5), Some(0));
    }

    proptest! {
        #[test]
        fn batches_cover_every_recipient_once_within_the_limits(
            domains in prop::collection::vec(prop::option::of("[a-cA-C]\\.test"), 0..60),
            rcpt in prop::option::of(0u32..8),
            dom in prop::option::of(0u32..4),
            before in prop::collection::vec("[a-d]\\.test", 0..3),
        ) {
            let mut session = before.clone();
            session.dedup();
            let start = session.clone();
            let s = split_recipients(domains.iter().map(|d| d.as_deref()), &limits(rcpt, dom), &mut session);
            let mut all: Vec<usize> = s.batches.iter().flatten().chain(&s.elsewhere).copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..domains.len()).collect::<Vec<_>>());
            prop_assert!(session.starts_with(&start));
            let lower = |i: usize| domains[i].as_ref().map(|s| s.to_ascii_lowercase());
            for batch in &s.batches {
                prop_assert!(!batch.is_empty());
                prop_assert!(batch.windows(2).all(|w| w[0] < w[1]));
                if let Some(r) = rcpt {
                    prop_assert!(batch.len() <= r.max(1) as usize);
                }
                for &i in batch {
                    // Every domain sent is one of the session's.
                    prop_assert!(lower(i).is_none_or(|d| session.contains(&d)));
                }
            }
            if let Some(d) = dom {
                // The session grows only up to the limit; what is left out is new.
                prop_assert!(session.len() <= (d.max(1) as usize).max(start.len()));
                for &i in &s.elsewhere {
                    prop_assert!(lower(i).is_some_and(|d| !session.contains(&d)));
                }
            } else {
                prop_assert!(s.elsewhere.is_empty());
            }
            if rcpt.is_none() && dom.is_none() && !domains.is_empty() {
                prop_assert_eq!(s.batches.len(), 1);
            }
        }
    }
}
