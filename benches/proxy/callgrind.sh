#!/usr/bin/env bash
# User-space instructions per request of the guard, under callgrind (issue 17).
#
#   bash benches/proxy/callgrind.sh [--out DIR] CASE...
#
# CASE is NAME:POLICY:PAGE:REQUESTS[:h1|h2], for example
#   noscan:noscan:page-12k.html:3000  scan:scan:page-600k.html:200
#   gzip:scan:page-12k.html.gz:2000    (a .gz page is served by nginx's
#   gzip_static as page-12k.html with Content-Encoding: gzip)
# POLICY is `scan` (benches/proxy/leakwarden.toml.in, the default policy),
# `noscan` (leakwarden-noscan.toml.in, scanning nothing) or `noinv` (the
# default policy with the privacy inventory off, as run.sh's
# leakwarden-noinv: the inventory's cost is its difference to `scan`), or
# `exfil` (the default policy with a local exfiltration budget no client
# reaches, keyed by client IP: the budget's cost is its difference to
# `scan`).
#
# Wall-clock figures are noise on a shared machine; instruction counts are
# not. Per case: a fresh guard under `valgrind --tool=callgrind`, 200
# warm-up requests, counters zeroed, exactly REQUESTS requests with
# `h2load -c 8` (HTTP/1.1 by default), counters dumped. Prints one line per
# case (instructions per request) and keeps the callgrind file in DIR for
# `callgrind_annotate --inclusive=yes`. Loopback only; everything it starts
# is stopped on exit.
#
# Environment: LEAKWARDEN_BIN (default target/release/leakwarden),
# LEAKWARDEN_SHARED_DIR (where corpus/ and corpus-clean/ are).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=benches/lib.sh
. "$HERE/../lib.sh"

OUT=""
if [ "${1:-}" = --out ]; then OUT=$2; shift 2; fi
[ $# -gt 0 ] || { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 2; }

require_tools nginx valgrind h2load=nghttp2-client curl python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
LW_BIN=${LEAKWARDEN_BIN:-$REPO/target/release/leakwarden}
[ -x "$LW_BIN" ] || { echo "callgrind.sh: no binary at $LW_BIN (cargo build --release)" >&2; exit 1; }

SHARED=""
for d in "${LEAKWARDEN_SHARED_DIR:-}" "$REPO/../shared" "$REPO/../../shared"; do
    if [ -n "$d" ] && [ -d "$d/corpus" ] && [ -d "$d/corpus-clean" ]; then SHARED=$(cd "$d" && pwd); break; fi
done
[ -n "$SHARED" ] || { echo "callgrind.sh: shared/corpus not found (set LEAKWARDEN_SHARED_DIR)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/leakwarden-callgrind.XXXXXX)
OUT=${OUT:-$TMP/out}
mkdir -p "$OUT" "$TMP/upstream-tmp"
PIDS=()
cleanup() { stop_pids "${PIDS[@]}"; rm -rf "$TMP/pages" "$TMP/upstream-tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
export RUST_LOG=${RUST_LOG:-warn}

python3 "$HERE/gen_pages.py" "$SHARED" "$TMP/pages" >/dev/null
# Precompressed pages (gzip -6, what most origins use) for gzip_static;
# gzip_proxied any, since nginx serves no gzip to a request with Via.
for p in "$TMP"/pages/*.html "$TMP"/pages/*.json; do gzip -6 -k -n "$p"; done

read -r UP_PORT UP_H2_PORT LW_PORT LW_ADMIN < <(free_ports 4)
render "$HERE/nginx-upstream.conf.in" "$TMP/nginx-upstream.conf" "UP_PORT=$UP_PORT" "UP_H2_PORT=$UP_H2_PORT"
sed -i 's|^\(\s*sendfile on;\)|\1\n    gzip_static on;\n    gzip_proxied any;|' "$TMP/nginx-upstream.conf"
"$NGINX" -p "$TMP" -c "$TMP/nginx-upstream.conf" >"$TMP/upstream.out" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$UP_PORT/api-1k.json" || { echo "upstream did not start" >&2; exit 1; }

printf 'case\tpolicy\tpage\tproto\trequests\tinstructions/request\n'
for spec in "$@"; do
    IFS=: read -r name policy page n proto <<< "$spec"
    proto=${proto:-h1}
    tpl=$HERE/leakwarden.toml.in
    [ "$policy" = noscan ] && tpl=$HERE/leakwarden-noscan.toml.in
    if [ "$policy" = noinv ]; then
        tpl=$TMP/leakwarden-noinv.toml.in
        { cat "$HERE/leakwarden.toml.in"; printf '\n[inventory]\nenabled = false\n'; } > "$tpl"
    fi
    if [ "$policy" = exfil ]; then
        tpl=$TMP/leakwarden-exfil.toml.in
        export LW_BENCH_KEY=bench-key-0123456789abcdef
        { cat "$HERE/leakwarden.toml.in"
          printf '\n[exfiltration]\nbudget = { card = 1000000000 }\nhash_key_env = "LW_BENCH_KEY"\n'; } > "$tpl"
    fi
    render "$tpl" "$TMP/$name.toml" "H1_PORT=$LW_PORT" "ADMIN_PORT=$LW_ADMIN" "BACKEND_PORT=$UP_PORT"
    # Lines written as in production, but not kept.
    cfile=$OUT/callgrind.$name.out
    valgrind --tool=callgrind --callgrind-out-file="$cfile" --dump-instr=no \
        "$LW_BIN" run --config "$TMP/$name.toml" --workers 1 >/dev/null 2>"$TMP/$name.err" &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$LW_PORT/api-1k.json" || sleep 5
    wait_http "http://127.0.0.1:$LW_PORT/api-1k.json" || { echo "guard did not start" >&2; tail "$TMP/$name.err" >&2; exit 1; }
    hdr=()
    url_page=$page
    if [[ $page == *.gz ]]; then url_page=${page%.gz}; hdr=(-H 'accept-encoding: gzip'); fi
    url="http://127.0.0.1:$LW_PORT/$url_page"
    popt=(--h1); [ "$proto" = h2 ] && popt=(-m 10)
    h2load "${popt[@]}" "${hdr[@]}" -n 200 -c 8 "$url" >/dev/null
    callgrind_control -z "$pid" >/dev/null 2>&1
    h2load "${popt[@]}" "${hdr[@]}" -n "$n" -c 8 "$url" > "$TMP/$name.h2load"
    grep -q " 0 failed, 0 errored" "$TMP/$name.h2load" || { echo "$name: requests failed" >&2; grep requests: "$TMP/$name.h2load" >&2; }
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    # The dump after zeroing is the .1 part (the final one covers shutdown).
    part=$(ls "$cfile".* 2>/dev/null | sort -V | head -1)
    total=$(callgrind_annotate "$part" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1; exit}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$policy" "$page" "$proto" "$n" "$((total / n))"
    mv "$part" "$cfile"
    rm -f "$cfile".*
done
