#!/usr/bin/env bash
# The CI smoke run: every fuzz target for a fixed number of executions with a fixed seed
# (repeatable), starting from the checked-in corpus and seeds copied to a scratch
# directory (nothing is written into the repository).
#   fuzz/run.sh [RUNS]        default 200000 runs per target
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on a stable toolchain the
# sanitizer flags need RUSTC_BOOTSTRAP=1, which this script sets.
set -euo pipefail
cd "$(dirname "$0")"
. ./options.sh
runs=${1:-200000}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz build
for t in $(cargo fuzz list); do
    corpus=$(mktemp -d)
    for d in corpus/"$t" seeds/"$t"; do
        if [ -d "$d" ]; then cp "$d"/* "$corpus"/ 2>/dev/null || true; fi
    done
    echo "fuzz: $t ($runs runs)"
    log="$corpus.log"
    # shellcheck disable=SC2046
    if ! cargo fuzz run "$t" "$corpus" -- -runs="$runs" -seed=1 $(fuzz_flags "$t") \
        >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $t FAILED (crash input under fuzz/artifacts/$t/)"
        exit 1
    fi
    grep -E '^Done' "$log"
    rm -rf "$corpus" "$log"
done
