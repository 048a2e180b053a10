#!/usr/bin/env bash
# The long campaign for one target, growing the checked-in corpus:
#   fuzz/campaign.sh TARGET [RUNS]     default 10,000,000 executions
# Builds the target (release, debug assertions, AddressSanitizer with leak detection),
# runs one job on fuzz/corpus/TARGET (plus the seeds), and prints the final stats.
# Afterwards minimise the corpus: cargo fuzz cmin TARGET corpus/TARGET
set -euo pipefail
cd "$(dirname "$0")"
. ./options.sh
t=$1
runs=${2:-10000000}
export RUSTC_BOOTSTRAP=1
cargo fuzz build "$t"
mkdir -p corpus/"$t" seeds/"$t" artifacts/"$t"
# A private copy, so a rebuild during the run does not replace the running binary.
bin=$(mktemp -d)/"$t"
cp target/x86_64-unknown-linux-gnu/release/"$t" "$bin"
start=$(date +%s)
status=0
# shellcheck disable=SC2046
"$bin" corpus/"$t" seeds/"$t" -runs="$runs" $(fuzz_flags "$t") -print_final_stats=1 \
    -artifact_prefix=artifacts/"$t"/ || status=$?
echo "campaign: $t runs=$runs wall=$(( $(date +%s) - start ))s exit=$status files=$(ls corpus/"$t" | wc -l)"
rm -rf "$(dirname "$bin")"
exit "$status"
