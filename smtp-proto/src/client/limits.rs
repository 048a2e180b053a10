//! The rules a sender follows for the server's limits, as pure functions: how a
//! message's recipients are split into transactions the server takes (RFC 9422
//! `RCPTMAX` and `RCPTDOMAINMAX`), and which RCPT reply means "too many recipients,
//! send the rest in another transaction" (RFC 5321 §4.5.3.1.10).
//!
//! ```
//! use smtp_proto::client::limits::recipient_batches;
//! use smtp_proto::LimitsExt;
//!
//! let mut limits = LimitsExt::default();
//! limits.rcptmax = Some(2);
//! limits.rcptdomainmax = Some(1);
//! let domains = ["a.test", "b.test", "a.test", "A.TEST", "b.test"];
//! let batches = recipient_batches(domains.iter().map(|d| Some(*d)), &limits);
//! // At most two recipients and one domain in each, in the order given.
//! assert_eq!(batches, [vec![0, 2], vec![1, 4], vec![3]]);
//! ```

use crate::{LimitsExt, Reply};

/// The recipients (by index, in the order given) of each transaction a message needs
/// under `limits`: at most `RCPTMAX` recipients and `RCPTDOMAINMAX` distinct domains
/// (compared without ASCII case) in each. Every index is in exactly one batch; each
/// recipient goes to the first batch that can take it, so a message with no limit,
/// or within them, is one transaction. A recipient without a domain (the bare
/// `<Postmaster>`) counts toward `RCPTMAX` only. A limit of 0 is read as 1 (a server
/// that takes no recipient at all takes no mail).
///
/// `domains` gives each recipient's domain, in order.
pub fn recipient_batches<'a>(
    domains: impl IntoIterator<Item = Option<&'a str>>,
    limits: &LimitsExt,
) -> Vec<Vec<usize>> {
    let rcpt_max = limits.rcptmax.map_or(usize::MAX, |n| n.max(1) as usize);
    let domain_max = limits
        .rcptdomainmax
        .map_or(usize::MAX, |n| n.max(1) as usize);
    // Each batch: its recipients and its distinct domains (lower-cased).
    let mut batches: Vec<(Vec<usize>, Vec<String>)> = Vec::new();
    for (i, domain) in domains.into_iter().enumerate() {
        let domain = domain.map(str::to_ascii_lowercase);
        let fits = |(members, seen): &(Vec<usize>, Vec<String>)| {
            members.len() < rcpt_max
                && domain
                    .as_ref()
                    .is_none_or(|d| seen.contains(d) || seen.len() < domain_max)
        };
        let slot = match batches.iter().position(fits) {
            Some(slot) => slot,
            None => {
                batches.push((Vec::new(), Vec::new()));
                batches.len() - 1
            }
        };
        let (members, seen) = &mut batches[slot];
        members.push(i);
        if let Some(d) = domain
            && !seen.contains(&d)
        {
            seen.push(d);
        }
    }
    batches.into_iter().map(|(members, _)| members).collect()
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

    #[test]
    fn without_limits_one_transaction() {
        let b = recipient_batches([Some("a"), None, Some("b")], &LimitsExt::default());
        assert_eq!(b, [vec![0, 1, 2]]);
        assert!(recipient_batches([], &limits(Some(1), None)).is_empty());
    }

    #[test]
    fn two_hundred_fifty_recipients_at_rcptmax_100_are_three_transactions() {
        let domains = vec![Some("example.test"); 250];
        let b = recipient_batches(domains, &limits(Some(100), None));
        let sizes: Vec<usize> = b.iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 50]);
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
        ) {
            let b = recipient_batches(domains.iter().map(|d| d.as_deref()), &limits(rcpt, dom));
            let mut all: Vec<usize> = b.iter().flatten().copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..domains.len()).collect::<Vec<_>>());
            for batch in &b {
                prop_assert!(!batch.is_empty());
                prop_assert!(batch.windows(2).all(|w| w[0] < w[1]));
                if let Some(r) = rcpt {
                    prop_assert!(batch.len() <= r.max(1) as usize);
                }
                if let Some(d) = dom {
                    let mut seen: Vec<String> = batch
                        .iter()
                        .filter_map(|&i| domains[i].as_ref().map(|s| s.to_ascii_lowercase()))
                        .collect();
                    seen.sort();
                    seen.dedup();
                    prop_assert!(seen.len() <= d.max(1) as usize);
                }
            }
            if rcpt.is_none() && dom.is_none() && !domains.is_empty() {
                prop_assert_eq!(b.len(), 1);
            }
        }
    }
}
