#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, then prints,
# per target, the run time, executions and corpus size (libFuzzer's last
# status line). Usage: fuzz/run.sh SECONDS [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler. On a
# stable toolchain RUSTC_BOOTSTRAP=1 lets cargo-fuzz use its nightly flags;
# `-s none` builds without a sanitizer (stable has none), so the targets
# find panics, assertion failures, timeouts and out-of-memory, not
# undefined behaviour (the crate's only `unsafe` is in src/detect/simd.rs).
#
# The growing corpus is fuzz/corpus/TARGET (ignored by git); the committed
# seeds are fuzz/seeds/TARGET. A crash is written to fuzz/artifacts/TARGET;
# the script then stops with status 1. Keep every crash input as a
# regression test in the main crate (tests/fuzz_regressions.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(engine_chunks decode config audit access_log)
fi
export RUSTC_BOOTSTRAP=1
echo "== cargo fuzz build -s none"
cargo fuzz build -s none
status=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/$t/last-run.log"
    echo "== fuzz $t for ${secs}s"
    start=$(date +%s)
    # -rss_limit_mb: the decode target's bomb limit is 1 MiB per input;
    # anything near the limit is a leak. -timeout: one input, 10 s.
    if cargo fuzz run -s none "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1; then
        result=ok
    else
        result=CRASH
        status=1
        grep -m5 -E "panicked|ERROR|SUMMARY|Test unit written" "$log" || true
    fi
    end=$(date +%s)
    execs=$(grep -m1 -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
    files=$(find "fuzz/corpus/$t" -type f | wc -l)
    bytes=$(du -sb "fuzz/corpus/$t" | cut -f1)
    summary+=("$(printf '%-14s %-5s %5ss %12s execs  corpus %6s files %9s bytes' \
        "$t" "$result" "$((end - start))" "$execs" "$files" "$bytes")")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
