//! Which hosts to try for a domain, from its MX records (RFC 5321 §5.1, RFC 7505):
//! pure rules; the lookups are the binding's.

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxHost {
    /// Lower is preferred.
    pub preference: u16,
    /// The exchange host, without a trailing dot (empty: the root, a null MX).
    pub host: String,
}

/// The domain publishes a null MX (RFC 7505): it accepts no mail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{domain} publishes a null MX: it accepts no mail (RFC 7505)")]
pub struct NullMx {
    /// The domain.
    pub domain: String,
}

/// The hosts to try for `domain`, in order (RFC 5321 §5.1): by MX preference, hosts of
/// equal preference in the order given; the domain itself when it has no MX (the
/// implicit MX); [`NullMx`] when a record is the root.
pub fn mail_hosts(mut mx: Vec<MxHost>, domain: &str) -> Result<Vec<String>, NullMx> {
    if mx.is_empty() {
        return Ok(vec![domain.trim_end_matches('.').to_owned()]);
    }
    if mx.iter().any(|m| m.host.is_empty() || m.host == ".") {
        return Err(NullMx {
            domain: domain.to_owned(),
        });
    }
    mx.sort_by_key(|m| m.preference);
    let mut hosts: Vec<String> = Vec::new();
    for m in mx {
        let h = m.host.trim_end_matches('.').to_ascii_lowercase();
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    Ok(hosts)
}

/// Sorts by preference and puts records of equal preference in a random order (RFC
/// 5321 §5.1: "the sender-SMTP MUST randomize them to spread the load"). The core has
/// no randomness of its own: `seed` is the caller's (any varying number; a small
/// xorshift is enough for load spreading).
pub fn shuffle_equal_preferences(records: &mut [MxHost], seed: u64) {
    let mut state = seed | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    records.sort_by_key(|m| m.preference);
    for group in records.chunk_by_mut(|a, b| a.preference == b.preference) {
        for i in (1..group.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            group.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MxHost, shuffle_equal_preferences};

    #[test]
    fn equal_preferences_are_shuffled_and_never_reordered_across_levels() {
        let mx = |p, h: &str| MxHost {
            preference: p,
            host: h.into(),
        };
        let mut seen_first = std::collections::HashSet::new();
        for seed in 0..200u64 {
            let mut r = vec![
                mx(20, "c"),
                mx(10, "a1"),
                mx(10, "a2"),
                mx(10, "a3"),
                mx(30, "d"),
            ];
            shuffle_equal_preferences(&mut r, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let prefs: Vec<u16> = r.iter().map(|m| m.preference).collect();
            assert_eq!(prefs, [10, 10, 10, 20, 30]);
            seen_first.insert(r[0].host.clone());
        }
        assert!(seen_first.len() > 1, "{seen_first:?}");
    }
}
