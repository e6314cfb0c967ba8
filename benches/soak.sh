#!/usr/bin/env bash
# Soak test (issue 14): leakwarden under steady load for a long time, to
# show that it answers every request and that memory and file descriptors
# stay flat.
#
#   bash benches/soak.sh [--minutes N] [--seconds S] [--fraction F]
#                        [--capacity RPS] [--conns C] [--no-build]
#
# 1. Generates its own pages (no corpus needed): clean 12 KB HTML, dense
#    12 KB JSON where every record carries a card, an SSN, an IBAN or a
#    key (public test values), gzip copies of both, and a 600 KB page.
# 2. Starts an nginx upstream serving them and leakwarden (release build,
#    default policy: every detector, masking) in front, on 127.0.0.1.
# 3. Measures capacity: wrk unthrottled on the mix for a short while.
# 4. Warms up (and corrects the pacing by the response time it shows),
#    records leakwarden's RSS and open fds, then runs wrk for N minutes
#    (default 10) paced to F (default 0.8) of that capacity,
#    sampling RSS and fds every 10 s, and records them again at the end.
# 5. Prints the report: requests, req/s, p50/p99, non-2xx, socket errors,
#    RSS and fds at start and end; exits 1 if any request failed.
#
# Environment: LEAKWARDEN_BIN (use this binary, skip the build),
# SOAK_REPORT (where to copy the report; default /tmp/leakwarden-soak.md).
# Traffic goes to 127.0.0.1 only; every process started is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

SECONDS_TOTAL=600
FRACTION=0.8
CAPACITY=""
CONNS=32
BUILD=1
WARMUP=10
SAMPLE=10

# The comment block above, whatever its length.
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) SECONDS_TOTAL=$(( $2 * 60 )); shift ;;
        --seconds) SECONDS_TOTAL=$2; shift ;;
        --fraction) FRACTION=$2; shift ;;
        --capacity) CAPACITY=$2; shift ;;
        --conns) CONNS=$2; shift ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "soak.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
# shellcheck source=benches/lib.sh
. "$HERE/lib.sh"

require_tools nginx wrk curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

leakwarden_bin "$REPO" "$BUILD"

TMP=$(mktemp -d /tmp/leakwarden-soak.XXXXXX)
PIDS=()
cleanup() {
    stop_pids "${PIDS[@]}"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 16384 2>/dev/null || true

read -r UP_PORT LW_PORT LW_ADMIN < <(free_ports 3)

# ------------------------------------------------------------ pages ---
mkdir -p "$TMP/pages/gz" "$TMP/nginx-tmp"
python3 - "$TMP/pages" <<'PY'
import gzip, json, os, random, sys
out = sys.argv[1]
rnd = random.Random(7)
words = ("order shipping account settings profile basket delivery invoice "
         "returns support newsletter catalogue product review size colour").split()
def para(n):
    return " ".join(rnd.choice(words) for _ in range(n))
def html(target):
    parts = ["<!doctype html><html><head><title>shop</title></head><body>"]
    while sum(map(len, parts)) < target:
        parts.append(f"<section><h2>{para(3)}</h2><p>{para(60)} ref {rnd.randint(1000, 99999)}</p></section>\n")
    return ("".join(parts) + "</body></html>\n").encode()
# Published test and documentation values only (test card numbers, the
# SSN printed on a 1938 wallet insert, the IBAN registry's example, AWS's
# documentation key).
values = ["4111 1111 1111 1111", "5555555555554444", "078-05-1120",
          "GB82 WEST 1234 5698 7654 32", "AKIAIOSFODNN7EXAMPLE",
          "jane.example@example.com", "+1 415-555-0132"]
recs, body = [], b""
i = 0
while len(body) < 12 * 1024:
    recs.append({"id": i, "name": f"customer {i}", "note": para(6), "value": values[i % len(values)]})
    body = json.dumps({"customers": recs}, indent=1).encode()
    i += 1
pages = {"clean-12k.html": html(12 * 1024), "dense-12k.json": body,
         "large-600k.html": html(600 * 1024)}
for name, data in pages.items():
    open(os.path.join(out, name), "wb").write(data)
for name in ("clean-12k.html", "dense-12k.json"):
    open(os.path.join(out, "gz", name), "wb").write(gzip.compress(pages[name], 6))
PY

cat > "$TMP/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx.error.log warn;
worker_rlimit_nofile 16384;
$USER_DIRECTIVE
events { worker_connections 8192; }
http {
    access_log off;
    types { text/html html; application/json json; }
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    client_body_temp_path $TMP/nginx-tmp/body;
    proxy_temp_path       $TMP/nginx-tmp/proxy;
    fastcgi_temp_path     $TMP/nginx-tmp/fastcgi;
    uwsgi_temp_path       $TMP/nginx-tmp/uwsgi;
    scgi_temp_path        $TMP/nginx-tmp/scgi;
    server {
        listen 127.0.0.1:$UP_PORT backlog=4096;
        root $TMP/pages;
        # Precompressed copies, served as the upstream compressed them.
        location /gz/ {
            add_header Content-Encoding gzip;
        }
    }
}
EOF
cat > "$TMP/leakwarden.toml" <<EOF
[server]
listen = ["127.0.0.1:$LW_PORT"]
[admin]
listen = "127.0.0.1:$LW_ADMIN"
[upstreams.origin]
url = "http://127.0.0.1:$UP_PORT"
[[routes]]
name = "soak"
upstream = "origin"
# Every detector with the default actions (mask; email and phone detect).
[policies.default]
# Audit lines are produced as in production but not kept.
[audit]
output = "file"
path = "/dev/null"
[log]
level = "warn"
EOF

"$NGINX" -p "$TMP" -c "$TMP/nginx.conf" >"$TMP/nginx.out" 2>&1 &
PIDS+=($!)
"$LW_BIN" run --config "$TMP/leakwarden.toml" >"$TMP/leakwarden.out" 2>&1 &
LW_PID=$!
PIDS+=("$LW_PID")
wait_http "http://127.0.0.1:$UP_PORT/clean-12k.html" || { cat "$TMP/nginx.out" >&2; exit 1; }
wait_http "http://127.0.0.1:$LW_ADMIN/readyz" || { cat "$TMP/leakwarden.out" >&2; exit 1; }
URL="http://127.0.0.1:$LW_PORT"

# The guard must be scanning: the dense page comes back masked, the gzip
# one still gzip and masked.
if curl -s "$URL/dense-12k.json" | grep -q "4111 1111 1111 1111"; then
    echo "soak.sh: the guard is not masking" >&2; exit 1
fi
if curl -s -H 'Accept-Encoding: gzip' "$URL/gz/dense-12k.json" | gunzip | grep -q "5555555555554444"; then
    echo "soak.sh: the guard is not masking gzip bodies" >&2; exit 1
fi

rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$LW_PID/status"; }
fds() { ls "/proc/$LW_PID/fd" | wc -l; }
run_wrk() { # seconds delay_ms -> the SOAKJSON object
    SOAK_DELAY_MS=$2 wrk -t2 -c"$CONNS" -d"$1s" --timeout 10s -s "$HERE/soak_mix.lua" "$URL" \
        > "$TMP/wrk.out" 2>&1 || true
    if ! grep '^SOAKJSON ' "$TMP/wrk.out" | sed 's/^SOAKJSON //'; then
        cat "$TMP/wrk.out" >&2; exit 1
    fi
}

field_rate() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(int(d["requests"]/(d["duration_us"]/1e6)))' "$1"; }

if [ -z "$CAPACITY" ]; then
    probe=$(( SECONDS_TOTAL >= 300 ? 20 : 5 ))
    log "measuring capacity: ${probe}s unthrottled on the mix"
    cap=$(run_wrk "$probe" 0)
    CAPACITY=$(field_rate "$cap")
fi
TARGET=$(python3 -c "print(max(1, int($CAPACITY * $FRACTION)))")
# wrk 4 has no rate option: each connection waits DELAY ms between
# requests, so CONNS connections send at most CONNS*1000/DELAY req/s (less
# with the response time; the report shows the rate reached).
DELAY=$(python3 -c "print(max(1, round($CONNS * 1000 / $TARGET)))")
log "capacity ${CAPACITY} req/s; target ${TARGET} req/s (${FRACTION}): $CONNS connections, ${DELAY} ms apart"

log "warm-up ${WARMUP}s"
warm=$(run_wrk "$WARMUP" "$DELAY")
# Each connection's cycle is the delay plus the response time: correct the
# delay by the response time the warm-up showed, to land near the target.
DELAY=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1]); conns, target, delay = map(float, sys.argv[2:5])
rate = d["requests"] / (d["duration_us"] / 1e6)
response_ms = max(0.0, conns * 1000 / rate - delay) if rate else 0.0
print(max(1, round(conns * 1000 / target - response_ms)))' "$warm" "$CONNS" "$TARGET" "$DELAY")
log "warm-up reached $(field_rate "$warm") req/s; delay now ${DELAY} ms"
RSS0=$(rss_kib); FD0=$(fds)
log "start: RSS $((RSS0 / 1024)) MiB, $FD0 open fds; soaking for ${SECONDS_TOTAL}s"
: > "$TMP/samples.tsv"
(
    while kill -0 "$LW_PID" 2>/dev/null; do
        printf '%s\t%s\t%s\n' "$(date -u +%H:%M:%S)" "$(rss_kib)" "$(fds)" >> "$TMP/samples.tsv"
        sleep "$SAMPLE"
    done
) &
SAMPLER=$!
PIDS+=("$SAMPLER")
res=$(run_wrk "$SECONDS_TOTAL" "$DELAY")
kill "$SAMPLER" 2>/dev/null || true
alive=yes
kill -0 "$LW_PID" 2>/dev/null || alive=no
RSS1=$(rss_kib || echo 0); FD1=$(fds || echo 0)

status=0
python3 "$HERE/soak_report.py" "$res" "$RSS0" "$RSS1" "$FD0" "$FD1" "$TMP/samples.tsv" \
    "$CAPACITY" "$TARGET" "$SECONDS_TOTAL" "$CONNS" "$DELAY" "$alive" "$("$LW_BIN" --version)" \
    > "$TMP/report.md" || status=$?
cat "$TMP/report.md"
cp "$TMP/report.md" "${SOAK_REPORT:-/tmp/leakwarden-soak.md}"
log "report also written to ${SOAK_REPORT:-/tmp/leakwarden-soak.md}"
exit $status
