#!/usr/bin/env bash
# Runs every fuzz target for a fixed number of executions with a fixed seed (repeatable),
# starting from the checked-in seeds copied to a scratch corpus.
#   fuzz/run.sh [RUNS]        default 200000 runs per target
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on a stable toolchain the
# sanitizer flags need RUSTC_BOOTSTRAP=1, which this script sets.
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-200000}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz build
for t in $(cargo fuzz list); do
    corpus=$(mktemp -d)
    cp seeds/"$t"/* "$corpus"/ 2>/dev/null || true
    echo "fuzz: $t ($runs runs)"
    log="$corpus.log"
    if ! cargo fuzz run "$t" "$corpus" -- -runs="$runs" -seed=1 -dict=smtp.dict -max_len=4096 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $t FAILED (crash input under fuzz/artifacts/$t/)"
        exit 1
    fi
    grep -E '^Done' "$log"
    rm -rf "$corpus" "$log"
done
