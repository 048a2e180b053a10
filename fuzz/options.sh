# Shared by run.sh and campaign.sh: the libFuzzer options every run uses.
#
# max_len: the input size where the target stops finding new behaviour cheaply. The
# session and round-trip targets spend most of their time on long inputs (a 4 KiB
# session fed a byte at a time is thousands of polls), so they get smaller limits; the
# body decoders still see several of the decoder's 256-byte scan blocks.
max_len() {
    case $1 in
        dot_differential | data_decoder | roundtrip) echo 1024 ;;
        server | client) echo 2048 ;;
        *) echo 4096 ;;
    esac
}
# -rss_limit_mb=256 is about the target's memory; AddressSanitizer's quarantine of freed
# blocks (256 MB by default) would count against it in the allocation-heavy targets.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64}
fuzz_flags() {
    echo -rss_limit_mb=256 -timeout=5 -dict=smtp.dict -max_len="$(max_len "$1")"
}
