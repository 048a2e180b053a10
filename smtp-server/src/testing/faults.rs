//! The rule set a server consults at each stage, shared by its connections and
//! changeable while it runs; and the per-connection transcripts it keeps.

use super::rules::{Action, CertKind, Rule, RuleError, Stage, When, glob};
use super::transcript::Transcript;
use rustls::ServerConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The fault rules of a server: add and clear them at any time, also while clients are
/// connected (a rule applies from the next stage it matches). Clones share the rules.
///
/// Rules are tried in the order they were added; each one that matches a stage (and
/// its pattern) counts the occurrence, and the first that fires decides. Counts are
/// over the whole server, so "the first two times" spans reconnections, as a retrying
/// client needs.
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    rules: Mutex<Vec<Armed>>,
    /// EHLO keywords always left out (extensions switched off on the wire).
    hidden: Mutex<Vec<String>>,
    /// Enhanced status codes left out of every reply (ENHANCEDSTATUSCODES off).
    strip_enhanced: std::sync::atomic::AtomicBool,
    certs: Mutex<HashMap<CertKind, Arc<ServerConfig>>>,
    /// Transcripts of the connections open now, by connection id.
    live: Mutex<HashMap<u64, Arc<Mutex<Transcript>>>>,
}

struct Armed {
    rule: Rule,
    seen: u64,
    rng: u64,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("rules", &self.rules())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Faults {
    /// No rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule after the others.
    pub fn add(&self, rule: Rule) {
        let rng = match rule.when {
            When::Probability { seed, .. } => seed ^ 0x9E37_79B9_7F4A_7C15,
            _ => 0,
        };
        lock(&self.inner.rules).push(Armed { rule, seen: 0, rng });
    }

    /// Adds a rule written in the rule syntax ([`Rule`]'s `FromStr`).
    pub fn add_str(&self, rule: &str) -> Result<(), RuleError> {
        self.add(rule.parse()?);
        Ok(())
    }

    /// Removes every rule.
    pub fn clear(&self) {
        lock(&self.inner.rules).clear();
    }

    /// The rules, in order.
    pub fn rules(&self) -> Vec<Rule> {
        lock(&self.inner.rules)
            .iter()
            .map(|a| a.rule.clone())
            .collect()
    }

    /// Leaves `keyword` out of every EHLO reply (case ignored).
    pub(crate) fn hide_keyword(&self, keyword: &str) {
        lock(&self.inner.hidden).push(keyword.to_ascii_uppercase());
    }

    pub(crate) fn strip_enhanced_codes(&self, on: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        self.inner.strip_enhanced.store(on, Relaxed);
    }

    pub(crate) fn strips_enhanced_codes(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.inner.strip_enhanced.load(Relaxed)
    }

    pub(crate) fn hidden_keywords(&self) -> Vec<String> {
        lock(&self.inner.hidden).clone()
    }

    pub(crate) fn set_certificate(&self, kind: CertKind, config: Arc<ServerConfig>) {
        lock(&self.inner.certs).insert(kind, config);
    }

    pub(crate) fn certificate(&self, kind: CertKind) -> Option<Arc<ServerConfig>> {
        lock(&self.inner.certs).get(&kind).cloned()
    }

    /// The action for one occurrence of `stage` with `subject` (an address or a name),
    /// if a rule fires. STARTTLS hiding rules count at EHLO (where they act), whether
    /// written for `starttls` or `ehlo`.
    pub(crate) fn fire(&self, stage: Stage, subjects: &[&str]) -> Option<Action> {
        let mut rules = lock(&self.inner.rules);
        let mut fired = None;
        for armed in rules.iter_mut() {
            let r = &armed.rule;
            let hides = r.action == Action::HideStartTls;
            let at = match stage {
                Stage::Ehlo => r.stage == Stage::Ehlo || (hides && r.stage == Stage::StartTls),
                Stage::StartTls => r.stage == Stage::StartTls && !hides,
                s => r.stage == s,
            };
            let matches = at
                && r.pattern.as_deref().is_none_or(|p| {
                    if subjects.is_empty() {
                        glob(p, "")
                    } else {
                        subjects.iter().any(|s| glob(p, s))
                    }
                });
            if !matches {
                continue;
            }
            armed.seen += 1;
            let fires = match r.when {
                When::Always => true,
                When::Times(n) => armed.seen <= n,
                When::Nth(n) => armed.seen == n,
                When::Every(n) => armed.seen % n.max(1) == 0,
                When::Probability { p, .. } => next_unit(&mut armed.rng) < p,
            };
            if fires && fired.is_none() {
                fired = Some(r.action.clone());
            }
        }
        fired
    }

    pub(crate) fn open(&self, id: u64) -> Arc<Mutex<Transcript>> {
        let t = Arc::new(Mutex::new(Transcript::default()));
        lock(&self.inner.live).insert(id, t.clone());
        t
    }

    pub(crate) fn closed(&self, id: u64) {
        lock(&self.inner.live).remove(&id);
    }

    /// The transcript so far of connection `id` (a [`Context::id`](crate::Context::id)),
    /// while it is open.
    pub fn transcript(&self, id: u64) -> Option<Transcript> {
        let t = lock(&self.inner.live).get(&id).cloned()?;
        Some(lock(&t).clone())
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014) as a float in [0, 1): deterministic per
/// seed, which is all a fault schedule needs.
fn next_unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(s: &str) -> Action {
        Action::Reply(super::super::rules::parse_reply(s).unwrap())
    }

    #[test]
    fn counts_span_the_server_and_the_first_firing_rule_decides() {
        let f = Faults::new();
        f.add_str("data:times=2=451 4.3.0 Try later").unwrap();
        f.add_str("rcpt:*@bounce.test=550 5.1.1 No such user")
            .unwrap();
        f.add_str("rcpt:nth=2=close").unwrap();
        assert_eq!(f.fire(Stage::Data, &[]), Some(reply("451 4.3.0 Try later")));
        assert_eq!(f.fire(Stage::Data, &[]), Some(reply("451 4.3.0 Try later")));
        assert_eq!(f.fire(Stage::Data, &[]), None);
        assert_eq!(f.fire(Stage::Rcpt, &["a@example.test"]), None);
        assert_eq!(
            f.fire(Stage::Rcpt, &["b@bounce.test"]),
            Some(reply("550 5.1.1 No such user"))
        );
        f.clear();
        assert_eq!(f.fire(Stage::Rcpt, &["b@bounce.test"]), None);
    }

    #[test]
    fn a_seed_gives_the_same_schedule() {
        let run = || {
            let f = Faults::new();
            f.add_str("mail:p=0.5:seed=42=close").unwrap();
            (0..64)
                .map(|_| f.fire(Stage::Mail, &["a@b.test"]).is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let n = a.iter().filter(|x| **x).count();
        assert!((16..48).contains(&n), "{n} of 64");
    }

    #[test]
    fn hiding_starttls_acts_at_ehlo() {
        let f = Faults::new();
        f.add_str("starttls=hide").unwrap();
        assert_eq!(f.fire(Stage::StartTls, &[]), None);
        assert_eq!(f.fire(Stage::Ehlo, &["client"]), Some(Action::HideStartTls));
    }
}
