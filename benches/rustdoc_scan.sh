#!/usr/bin/env bash
# False positives on real HTML: `leakwarden scan` over the Rust
# documentation that rustup installs (no card numbers in it; plenty of
# digits, entities, `&nbsp;`, inline tags, code samples and numeric IDs).
# Prints the megabytes scanned and the findings per kind; the card count
# must be 0. Not part of `cargo test` (the docs are not beside a fresh
# clone); run it by hand or in a benchmark job.
#
#   bash benches/rustdoc_scan.sh                 # std: about 120 MB of .html
#   bash benches/rustdoc_scan.sh core alloc      # other parts of the docs
#   RUST_DOCS=/path/to/share/doc/rust/html LEAKWARDEN_BIN=target/release/leakwarden bash benches/rustdoc_scan.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
docs=${RUST_DOCS:-$(rustc --print sysroot)/share/doc/rust/html}
[ -d "$docs" ] || { echo "no Rust documentation at $docs (rustup component add rust-docs)" >&2; exit 2; }
bin=${LEAKWARDEN_BIN:-}
if [ -z "$bin" ]; then
    (cd "$root" && cargo build --release --quiet)
    bin=$root/target/release/leakwarden
fi
[ $# -gt 0 ] || set -- std

list=$(mktemp)
out=$(mktemp)
trap 'rm -f "$list" "$out"' EXIT
for part in "$@"; do
    find "$docs/$part" -type f -name '*.html' -print0
done | sort -z >"$list"

bytes=$(du -cb --files0-from="$list" | tail -1 | cut -f1)
files=$(tr -cd '\0' <"$list" | wc -c)
# `scan` exits 1 when it finds something (like grep): only 2 and above
# (an error) fail a batch.
# shellcheck disable=SC2016
xargs -0 -n 2000 sh -c '"$0" scan --format json "$@"; [ $? -le 1 ]' "$bin" <"$list" >"$out" || {
    echo "leakwarden scan failed" >&2
    exit 2
}
cards=$(grep -c '"kind":"card"' "$out" || true)
printf 'scanned %d .html files, %d bytes (%.1f MB) under %s (%s)\n' \
    "$files" "$bytes" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" "$docs" "$*"
echo "findings per kind:"
grep -o '"kind":"[a-z_]*"' "$out" | sort | uniq -c | sed 's/^/  /' || echo "  (none)"
echo "card findings: $cards"
[ "$cards" -eq 0 ]
