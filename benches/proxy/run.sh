#!/usr/bin/env bash
# Side-by-side load benchmark: leakwarden vs nginx and HAProxy pass-through
# (issues 7 and 17).
#
#   bash benches/proxy/run.sh [--quick] [--rounds N] [--duration S]
#                             [--pages LIST] [--protocols h1,h2] [--no-mem]
#                             [--no-build] [--no-install] [--keep]
#
# Everything runs on 127.0.0.1 with free ports and is killed on exit:
#   upstream        nginx serving the generated pages (static, 1 worker)
#   nginx           nginx pass-through reverse proxy (1 worker, keep-alive pool)
#   haproxy         HAProxy pass-through (nbthread 1, http-reuse always)
#   leakwarden      default policy (all detectors, masking), --workers 1
#   leakwarden-noscan  same, with a policy that scans nothing
#   leakwarden-noinv   the default policy with the privacy inventory off
#                      (its cost is the difference to leakwarden)
# With 2+ cores each proxy is pinned to the same single core (PROXY_CPU) and
# the load generator and the upstream to the others, so the proxies compete
# on equal terms. Targets are interleaved (each round runs every target once,
# the order rotating per round) so machine drift cancels; the table shows the
# median of the rounds. See BENCHMARKS.md for a recorded run.
#
# Environment: LEAKWARDEN_BIN (use this binary, skip the build),
# LEAKWARDEN_SHARED_DIR (where corpus/ and corpus-clean/ are; without one
# the pages are generated, see gen_pages.py),
# PROXY_CPU (default 1), KEEP_TMP=1 (same as --keep).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

ROUNDS=3
DURATION=5
WARMUP=1
PAGES="api-1k.json,page-12k.html,page-600k.html,pii-12k.json"
PROTOCOLS="h1,h2"
MEM=1
BUILD=1
INSTALL=1
KEEP=${KEEP_TMP:-0}
CONNS=32
H2_STREAMS=10
BIG_BYTES=$((1024 * 1024 * 1024))
SLOW_CONNS=1000

# The comment block above, whatever its length.
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) ROUNDS=1; DURATION=2; WARMUP=0 ;;
        --rounds) ROUNDS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --pages) PAGES=$2; shift ;;
        --protocols) PROTOCOLS=$2; shift ;;
        --no-mem) MEM=0 ;;
        --no-build) BUILD=0 ;;
        --no-install) INSTALL=0 ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# shellcheck source=benches/lib.sh
. "$HERE/../lib.sh"

# ---------------------------------------------------------------- tools ---
[ "$INSTALL" = 1 ] || NO_INSTALL=1
require_tools nginx haproxy wrk h2load=nghttp2-client curl python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

# ---------------------------------------------------------- leakwarden ---
if [ -n "${LEAKWARDEN_BIN:-}" ]; then
    LW_BIN=$LEAKWARDEN_BIN
elif [ "$BUILD" = 1 ]; then
    log "building leakwarden (cargo build --release)"
    (cd "$REPO" && cargo build --release --locked --bin leakwarden) >&2
    LW_BIN="$REPO/target/release/leakwarden"
else
    LW_BIN="$REPO/target/release/leakwarden"
fi

# -------------------------------------------------------------- shared/ ---
SHARED=""
for d in "${LEAKWARDEN_SHARED_DIR:-}" "$REPO/../shared" "$REPO/../../shared"; do
    if [ -n "$d" ] && [ -d "$d/corpus" ] && [ -d "$d/corpus-clean" ]; then SHARED=$(cd "$d" && pwd); break; fi
done
# Without it (a fresh clone alone) the pages are generated from a fixed seed.
PAGE_SOURCE=${SHARED:-"-"}

# ------------------------------------------------------ temp + cleanup ---
TMP=$(mktemp -d /tmp/leakwarden-bench.XXXXXX)
PIDS=()
cleanup() {
    stop_pids "${PIDS[@]}"
    if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export RUST_LOG=${RUST_LOG:-warn}
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

NPROC=$(nproc)
if [ "$NPROC" -ge 2 ]; then
    PROXY_CPU=${PROXY_CPU:-1}
    OTHER_CPUS=$(python3 -c "import os;print(','.join(str(c) for c in sorted(os.sched_getaffinity(0)) if c != $PROXY_CPU))")
    PIN_PROXY=(taskset -c "$PROXY_CPU")
    PIN_OTHER=(taskset -c "$OTHER_CPUS")
else
    PROXY_CPU="-"; OTHER_CPUS="-"; PIN_PROXY=(); PIN_OTHER=()
fi

# Free loopback ports (held open together so they are distinct).
read -r UP_PORT UP_H2_PORT NG_PORT NG_H2_PORT LW_PORT LW_ADMIN LW0_PORT LW0_ADMIN \
        PY_PORT NGM_PORT NGM_H2_PORT LWM_PORT LWM_ADMIN HA_PORT HA_H2_PORT LWI_PORT LWI_ADMIN < <(free_ports 17)



# ----------------------------------------------------------- the pages ---
if [ -n "$SHARED" ]; then log "generating pages from $SHARED"; else log "no shared corpus: generating synthetic pages"; fi
python3 "$HERE/gen_pages.py" "$PAGE_SOURCE" "$TMP/pages" > "$TMP/pages.tsv"

# ------------------------------------------------------------- servers ---
launch() { # name pin... -- cmd... ; starts in background, records pid in LAST_PID
    local name=$1; shift
    "$@" >"$TMP/$name.out" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

mkdir -p "$TMP/upstream-tmp" "$TMP/nginx-tmp" "$TMP/nginxmem-tmp"
render "$HERE/nginx-upstream.conf.in" "$TMP/nginx-upstream.conf" "UP_PORT=$UP_PORT" "UP_H2_PORT=$UP_H2_PORT"
render "$HERE/nginx-proxy.conf.in" "$TMP/nginx-proxy.conf" NAME=nginx "BACKEND_PORT=$UP_PORT" \
    "H1_PORT=$NG_PORT" "H2_PORT=$NG_H2_PORT"
for c in nginx-upstream nginx-proxy; do
    "$NGINX" -t -q -p "$TMP" -c "$TMP/$c.conf" 2>"$TMP/$c.check.log" \
        || { cat "$TMP/$c.check.log" >&2; exit 1; }
done

launch upstream "${PIN_OTHER[@]}" "$NGINX" -p "$TMP" -c "$TMP/nginx-upstream.conf"
UP_PID=$LAST_PID
launch nginx "${PIN_PROXY[@]}" "$NGINX" -p "$TMP" -c "$TMP/nginx-proxy.conf"
NG_PID=$LAST_PID
wait_http "http://127.0.0.1:$UP_PORT/api-1k.json" || { echo "upstream nginx did not start" >&2; cat "$TMP/upstream.out" >&2; exit 1; }
wait_http "http://127.0.0.1:$NG_PORT/api-1k.json" || { echo "nginx proxy did not start" >&2; cat "$TMP/nginx.out" >&2; exit 1; }

render "$HERE/haproxy-proxy.cfg.in" "$TMP/haproxy.cfg" "BACKEND_PORT=$UP_PORT" \
    "H1_PORT=$HA_PORT" "H2_PORT=$HA_H2_PORT"
"$HAPROXY" -c -q -f "$TMP/haproxy.cfg" 2>"$TMP/haproxy.check.log" \
    || { cat "$TMP/haproxy.check.log" >&2; exit 1; }
launch haproxy "${PIN_PROXY[@]}" "$HAPROXY" -db -f "$TMP/haproxy.cfg"
HA_PID=$LAST_PID
wait_http "http://127.0.0.1:$HA_PORT/api-1k.json" || { echo "haproxy did not start" >&2; cat "$TMP/haproxy.out" >&2; exit 1; }

# leakwarden: the scanning one and the one that scans nothing.
LW_OK=0
LW_PID=""; LW0_PID=""; LWI_PID=""
start_leakwarden() { # name template port admin backend ; sets LAST_PID or returns 1
    local name=$1 tpl=$2 port=$3 admin=$4 backend=$5
    render "$tpl" "$TMP/$name.toml" "H1_PORT=$port" "ADMIN_PORT=$admin" "BACKEND_PORT=$backend"
    if [ ! -x "$LW_BIN" ]; then echo "no leakwarden binary at $LW_BIN" >"$TMP/$name.out"; return 1; fi
    launch "$name" "${PIN_PROXY[@]}" "$LW_BIN" run --config "$TMP/$name.toml" --workers 1
    if ! wait_http "http://127.0.0.1:$port/api-1k.json"; then
        return 1
    fi
}
if start_leakwarden leakwarden "$HERE/leakwarden.toml.in" "$LW_PORT" "$LW_ADMIN" "$UP_PORT"; then
    LW_PID=$LAST_PID
    if start_leakwarden leakwarden-noscan "$HERE/leakwarden-noscan.toml.in" "$LW0_PORT" "$LW0_ADMIN" "$UP_PORT"; then
        LW0_PID=$LAST_PID
        # The same guard with the privacy inventory off.
        { cat "$HERE/leakwarden.toml.in"; printf '\n[inventory]\nenabled = false\n'; } > "$TMP/leakwarden-noinv.toml.in"
        if start_leakwarden leakwarden-noinv "$TMP/leakwarden-noinv.toml.in" "$LWI_PORT" "$LWI_ADMIN" "$UP_PORT"; then
            LWI_PID=$LAST_PID
            LW_OK=1
        fi
    fi
fi
if [ "$LW_OK" != 1 ]; then
    log "leakwarden did not start; measuring direct and nginx only. Its output:"
    tail -n 20 "$TMP"/leakwarden*.out >&2 || true
fi

TARGETS=(direct nginx haproxy)
[ "$LW_OK" = 1 ] && TARGETS+=(leakwarden leakwarden-noscan leakwarden-noinv)

url_for() { # target proto page
    local port
    case "$1:$2" in
        direct:h1) port=$UP_PORT ;; direct:h2) port=$UP_H2_PORT ;;
        nginx:h1) port=$NG_PORT ;; nginx:h2) port=$NG_H2_PORT ;;
        haproxy:h1) port=$HA_PORT ;; haproxy:h2) port=$HA_H2_PORT ;;
        leakwarden:*) port=$LW_PORT ;; leakwarden-noscan:*) port=$LW0_PORT ;;
        leakwarden-noinv:*) port=$LWI_PORT ;;
    esac
    echo "http://127.0.0.1:$port/$3"
}
pids_for() { # target -> comma-separated pids whose RSS counts (nginx: master + worker)
    local p
    case "$1" in
        direct) p=$UP_PID ;; nginx) p=$NG_PID ;; haproxy) p=$HA_PID ;;
        leakwarden) p=$LW_PID ;; leakwarden-noscan) p=$LW0_PID ;; leakwarden-noinv) p=$LWI_PID ;;
    esac
    pids_of "$p"
}
pids_of() { # pid -> "pid,child,..." (nginx: master and its worker)
    local kids
    kids=$(pgrep -P "$1" || true)
    echo "$1${kids:+,$(echo "$kids" | paste -sd, -)}"
}
hwm_mib() { # comma-separated pids -> summed VmHWM in MiB
    local total=0 pid kib
    for pid in ${1//,/ }; do
        kib=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + ${kib:-0}))
    done
    awk -v k="$total" 'BEGIN{printf "%.1f", k/1024}'
}

# ------------------------------------------------------- sanity checks ---
# Each target must answer 200 with the page; the dense-PII page must come
# back changed through the scanning guard (otherwise it is not scanning).
log "sanity: one request per target, page and protocol"
SANITY="$TMP/sanity.txt"
: > "$SANITY"
IFS=, read -r -a PAGE_LIST <<< "$PAGES"
IFS=, read -r -a PROTO_LIST <<< "$PROTOCOLS"
for page in "${PAGE_LIST[@]}"; do
    for proto in "${PROTO_LIST[@]}"; do
        for t in "${TARGETS[@]}"; do
            opt=(); [ "$proto" = h2 ] && opt=(--http2-prior-knowledge)
            code=$(curl -s "${opt[@]}" -o "$TMP/sanity.body" -w '%{http_code}' --max-time 10 "$(url_for "$t" "$proto" "$page")" || echo 000)
            if cmp -s "$TMP/sanity.body" "$TMP/pages/$page"; then same=identical; else same=CHANGED; fi
            printf '%s\t%s\t%s\t%s\t%s bytes\t%s\n' "$t" "$page" "$proto" "$code" "$(stat -c %s "$TMP/sanity.body" 2>/dev/null || echo 0)" "$same" >> "$SANITY"
        done
    done
done

# --------------------------------------------------------------- load ---
RESULTS="$TMP/results.tsv"; RSS="$TMP/rss.tsv"; MEMR="$TMP/mem.jsonl"
: > "$RESULTS"; : > "$RSS"; : > "$MEMR"
cpu_ticks() { # comma-separated pids -> utime+stime summed, in clock ticks
    local total=0 pid t
    for pid in ${1//,/ }; do
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)
run_one() { # target proto page round
    local t=$1 proto=$2 page=$3 rnd=$4 url out res pids c0 c1
    url=$(url_for "$t" "$proto" "$page")
    pids=$(pids_for "$t")
    c0=$(cpu_ticks "$pids")
    out="$TMP/run.$t.$proto.$page.$rnd.out"
    if [ "$proto" = h1 ]; then
        timeout $((DURATION + 30)) "${PIN_OTHER[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
            -s "$HERE/wrk_report.lua" "$url" > "$out" 2>&1 || true
        res=$(python3 "$HERE/report.py" parse-wrk "$out")
    else
        rm -f "$TMP/h2.log"
        timeout $((DURATION + 30)) "${PIN_OTHER[@]}" h2load -c"$CONNS" -m"$H2_STREAMS" -D "$DURATION" \
            --log-file="$TMP/h2.log" "$url" > "$out" 2>&1 || true
        res=$(python3 "$HERE/report.py" parse-h2 "$out" "$TMP/h2.log")
    fi
    c1=$(cpu_ticks "$pids")
    # CPU seconds the target's process(es) used during the run.
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$page" "$proto" "$t" "$rnd" "$res" \
        "$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", d/hz}')" "$DURATION" >> "$RESULTS"
}

started=$(date +%s)
log "load: targets=${TARGETS[*]} pages=$PAGES protocols=$PROTOCOLS rounds=$ROUNDS duration=${DURATION}s proxy cpu=$PROXY_CPU load cpus=$OTHER_CPUS"
for proto in "${PROTO_LIST[@]}"; do
    for page in "${PAGE_LIST[@]}"; do
        if [ "$WARMUP" -gt 0 ]; then
            for t in "${TARGETS[@]}"; do
                "${PIN_OTHER[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$(url_for "$t" h1 "$page")" >/dev/null 2>&1 || true
            done
        fi
        n=${#TARGETS[@]}
        for rnd in $(seq 1 "$ROUNDS"); do
            for i in $(seq 0 $((n - 1))); do
                t=${TARGETS[$(((i + rnd - 1) % n))]}
                run_one "$t" "$proto" "$page" "$rnd"
            done
        done
        for t in "${TARGETS[@]}"; do
            printf '%s\t%s\t%s\t%s\n' "$page" "$proto" "$t" "$(hwm_mib "$(pids_for "$t")")" >> "$RSS"
        done
        log "  $proto $page done ($(( $(date +%s) - started )) s)"
    done
done

# ----------------------------------------------------- streaming memory ---
if [ "$MEM" = 1 ]; then
    log "streaming memory checks (fresh processes): 1 GiB response, $SLOW_CONNS slow responses"
    launch stream-upstream "${PIN_OTHER[@]}" python3 "$HERE/stream_upstream.py" "$PY_PORT" "$TMP/pages/stream-block.html"
    wait_http "http://127.0.0.1:$PY_PORT/slow?chunks=1&size=1&interval_ms=1" || { echo "stream upstream did not start" >&2; exit 1; }
    render "$HERE/nginx-proxy.conf.in" "$TMP/nginx-mem.conf" NAME=nginxmem "BACKEND_PORT=$PY_PORT" \
        "H1_PORT=$NGM_PORT" "H2_PORT=$NGM_H2_PORT"
    MEM_TARGETS=(nginx)
    [ "$LW_OK" = 1 ] && MEM_TARGETS=(leakwarden nginx)
    for t in "${MEM_TARGETS[@]}"; do
        for check in big slow; do
            # A fresh proxy per check, so VmHWM is that check's own peak.
            if [ "$t" = nginx ]; then
                launch "nginx-mem-$check" "${PIN_PROXY[@]}" "$NGINX" -p "$TMP" -c "$TMP/nginx-mem.conf"
                port=$NGM_PORT
            else
                start_leakwarden "leakwarden-mem-$check" "$HERE/leakwarden.toml.in" "$LWM_PORT" "$LWM_ADMIN" "$PY_PORT" || { log "leakwarden (memory) did not start"; continue; }
                port=$LWM_PORT
            fi
            pid=$LAST_PID
            wait_http "http://127.0.0.1:$port/slow?chunks=1&size=1&interval_ms=1" || true
            pids=$(pids_of "$pid")
            if [ "$check" = big ]; then
                label="1 GiB response"
                res=$("${PIN_OTHER[@]}" python3 "$HERE/memcheck.py" big "$port" "$pids" "$BIG_BYTES" 300)
            else
                label="$SLOW_CONNS slow responses"
                # each: 20 x 64 bytes, one every 250 ms (~5 s), all at once
                res=$("${PIN_OTHER[@]}" python3 "$HERE/memcheck.py" slow "$port" "$pids" "$SLOW_CONNS" 20 64 250 90)
            fi
            python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["target"]=sys.argv[2]; d["check"]=sys.argv[3]; print(json.dumps(d))' \
                "$res" "$t" "$label" >> "$MEMR"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        done
    done
fi

# -------------------------------------------------------------- report ---
{
    echo "## leakwarden vs nginx and HAProxy, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r); load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- leakwarden $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?') ($("$LW_BIN" --version 2>/dev/null || echo 'not built')), $("$NGINX" -v 2>&1 | sed 's/.*: //'), $("$HAPROXY" -v 2>&1 | head -1 | awk '{print "haproxy "$3}'), $(wrk -v 2>&1 | head -1 | awk '{print "wrk "$2}'), $(h2load --version 2>&1 | head -1)"
    echo "- proxies pinned to CPU $PROXY_CPU (leakwarden --workers 1; nginx worker_processes 1; haproxy nbthread 1, http-reuse always); load generator and upstream nginx on CPU(s) $OTHER_CPUS"
    echo "- HTTP/1.1: wrk -t1 -c$CONNS -d${DURATION}s (keep-alive); HTTP/2: h2load -c$CONNS -m$H2_STREAMS -D $DURATION (h2c prior knowledge); $ROUNDS interleaved round(s) per page, median shown; warm-up ${WARMUP}s per target and page"
    echo "- p50/p99 are medians over rounds of each round's percentile; errors = socket errors + non-2xx/3xx responses summed over rounds"
    echo "- proxy CPU = CPU time (user+sys, from /proc/PID/stat) the target's process(es) used during a run, as % of one core and per request: with the machine shared, a proxy below ~100% was not the bottleneck; CPU per request measures its cost independent of load (for direct it is the upstream nginx's)"
    echo "- peak RSS = VmHWM (nginx: master + worker) read after that page's block, so it is cumulative over the run so far"
    echo
    python3 "$HERE/report.py" table "$RESULTS" "$RSS" "$MEMR"
    echo
    if [ -n "$SHARED" ]; then page_src="from the shared corpus"; else page_src="generated (no shared corpus; gen_pages.py)"; fi
    echo "Pages $page_src (name, bytes, planted PII values):"
    echo
    sed 's/^/    /' "$TMP/pages.tsv" | grep -v stream-block
    echo
    echo "Sanity (one request per target: status, body size, identical to the origin file or changed):"
    echo
    sed 's/^/    /' "$SANITY"
} | tee "$TMP/report.md"
cp "$TMP/report.md" "${BENCH_REPORT:-/tmp/leakwarden-bench-report.md}"
log "report also written to ${BENCH_REPORT:-/tmp/leakwarden-bench-report.md}; total $(( $(date +%s) - started )) s of load"
