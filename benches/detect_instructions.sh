#!/usr/bin/env bash
# Instructions the detection engine spends per input, counted by valgrind.
#
# Wall-clock throughput (`cargo bench --bench detect`) swings by 20% or more
# on a shared VM; instruction counts do not, so this is the figure to compare
# two commits by. It runs `leakwarden scan --format text` under cachegrind
# (no cache simulation) on each corpus-clean document and on the ten labeled
# corpus documents with the most labels per byte, and subtracts a run on a
# tiny file (process start-up and engine construction).
#
#   bash benches/detect_instructions.sh            # builds the release binary
#   LEAKWARDEN_BIN=path/to/leakwarden bash benches/detect_instructions.sh
#
# Notes:
# - glibc's memcpy for large copies uses `rep movsb`, which valgrind counts
#   as one instruction per byte; both sides of a comparison include it.
# - valgrind emulates AVX2, so the engine's AVX2 path is what is counted,
#   but not the SHA extensions: the keyed fingerprints run sha2's software
#   SHA-256 here, which inflates the dense figures (every finding hashes).
#   Natively, on a CPU with SHA-NI, hashing is about a tenth of dense time.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${LEAKWARDEN_SHARED_DIR:-}
for c in "$shared" "$root/../shared" "$root/../../shared"; do
    if [ -n "$c" ] && [ -d "$c/corpus" ] && [ -d "$c/corpus-clean" ]; then shared=$c; break; fi
done
[ -d "$shared/corpus" ] || { echo "no shared/corpus next to the repository (set LEAKWARDEN_SHARED_DIR)" >&2; exit 2; }

if ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -qq valgrind >/dev/null
    else
        echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2
    fi
fi

bin=${LEAKWARDEN_BIN:-}
if [ -z "$bin" ]; then
    (cd "$root" && cargo build --release --quiet)
    bin=$root/target/release/leakwarden
fi

# Instructions of one `scan` run over the given files. `scan` exits like
# grep: 1 means it found something, which the dense documents always do.
count() {
    local out rc=0
    out=$(valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$bin" scan --format text "$@" 2>&1 >/dev/null) || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "leakwarden scan failed (exit $rc) on $*" >&2
        return 2
    fi
    awk '/I[[:space:]]+refs/ { gsub(",", "", $NF); print $NF }' <<<"$out"
}

tiny=$(mktemp)
trap 'rm -f "$tiny"' EXIT
# The engine builds every automaton when it is created (before 2026-11-30
# the SSN keywords were built on first use, which this line triggered).
echo "nothing to find here 123456789" >"$tiny"
base=$(count "$tiny")

mapfile -t dense < <(cd "$shared/corpus" && python3 - <<'EOF'
import json, os
docs = []
for line in open("labels.jsonl"):
    if line.strip():
        v = json.loads(line)
        docs.append((len(v.get("labels", [])) / max(os.path.getsize(v["file"]), 1), v["file"]))
docs.sort(reverse=True)
for _, f in docs[:10]:
    print(f)
EOF
)

printf '| input | bytes | instructions | per byte |\n|---|---:|---:|---:|\n'
row() {
    local name=$1; shift
    local bytes n
    bytes=$(cat "$@" | wc -c)
    n=$(( $(count "$@") - base ))
    printf '| %s | %d | %d | %s |\n' "$name" "$bytes" "$n" "$(awk -v n="$n" -v b="$bytes" 'BEGIN { printf "%.1f", n / b }')"
}
for f in "$shared"/corpus-clean/*.html "$shared"/corpus-clean/*.json; do
    row "corpus-clean/$(basename "$f")" "$f"
done
row "dense (10 corpus documents)" "${dense[@]/#/$shared/corpus/}"
echo
echo "start-up run subtracted: $base instructions ($bin)"
