//! Interleaved timing: every implementation of one piece of work runs once per round,
//! in turn, so drift in the machine (frequency, a neighbour's load) lands on all of them
//! alike instead of on whichever ran last.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// One pass of an implementation over its corpus; returns a count so the work cannot
/// be optimised away.
pub type Pass<'a> = Box<dyn FnMut() -> usize + 'a>;

/// Time per unit of work (nanoseconds per command, per reply or per byte) over the
/// rounds.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Median over the rounds.
    pub median: f64,
    /// Fastest round.
    pub min: f64,
    /// Slowest round.
    pub max: f64,
}

/// Each sample runs enough passes to last about this long: long enough for
/// `Instant`'s resolution and a timer interrupt to be noise, short enough that 15
/// rounds of every row take seconds, not minutes.
const SAMPLE: Duration = Duration::from_millis(20);

/// Runs `passes` in turn for `rounds` rounds, each pass doing `units` units of work, and
/// returns the time per unit of each.
pub fn interleaved(rounds: usize, units: usize, passes: &mut [Pass<'_>]) -> Vec<Stats> {
    // Warm-up (caches, branch predictors, the allocator's free lists), and the number
    // of passes per sample from how long one took.
    let reps: Vec<u32> = passes
        .iter_mut()
        .map(|pass| {
            black_box(pass());
            let start = Instant::now();
            black_box(pass());
            let one = start.elapsed().max(Duration::from_nanos(1));
            (SAMPLE.as_nanos() / one.as_nanos()).clamp(1, 1_000_000) as u32
        })
        .collect();
    let mut samples = vec![Vec::with_capacity(rounds); passes.len()];
    for _ in 0..rounds {
        for (i, pass) in passes.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..reps[i] {
                black_box(pass());
            }
            let ns = start.elapsed().as_nanos() as f64;
            samples[i].push(ns / (f64::from(reps[i]) * units as f64));
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            let n = s.len();
            let median = if n % 2 == 1 {
                s[n / 2]
            } else {
                (s[n / 2 - 1] + s[n / 2]) / 2.0
            };
            Stats {
                median,
                min: s[0],
                max: s[n - 1],
            }
        })
        .collect()
}
