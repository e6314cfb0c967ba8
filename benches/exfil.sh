#!/usr/bin/env bash
# Exfiltration budgets (issue 19): requests/s through the guard with
# budgets off, with the local store and with a Redis store, side by side.
#
#   bash benches/exfil.sh [--rounds N] [--duration S] [--conns C]
#                         [--clients LIST] [--no-build] [--callgrind S]
#                         [--perf S] [--paired]
#
# Everything runs on 127.0.0.1 with free ports and is stopped on exit:
#   upstream     nginx serving one generated 12 KB HTML page with one card
#                number in it (so every response is charged)
#   redis-server no persistence
#   off, local, redis   three guards (release build, default policy, one
#                worker each); `local` and `redis` carry a budget no client
#                reaches, so every request pays the read and the charge
# With 2+ cores each guard runs pinned to the same core (PROXY_CPU, default
# 1) and wrk, nginx and redis-server to the others: the guard's core is the
# bottleneck, as in the proxy benchmark. Targets are interleaved (every
# round runs each once, the order rotating) and the report gives each
# target's median requests/s, the guard's CPU time per request and their
# ratios against `off`, then each round's own ratio against `off` (median,
# quartiles, range: how far one run's figure can be trusted), once per
# client count in --clients (default
# "1,1000": one client, as a scraper's parallel requests are, whose
# overlapping reads share a round trip; and a thousand, every request
# another client, round robin). It also says how
# many Redis operations failed (a figure taken while the guard fell back to
# local counters is not Redis's).
#
# --callgrind S runs each guard under `valgrind --tool=callgrind` instead
# and reports user-space instructions per request over S seconds of wrk
# (after a warm-up), the figure a shared machine does not move; kernel
# time (sockets, wake-ups) is not in it, and under valgrind the writer's
# batches are smaller than at full speed (fewer charges per 2 ms).
#
# --paired runs the three guards at once, all pinned to the one guard core,
# each under its own wrk (--conns connections each) for --duration seconds
# per round, the start order rotating: the kernel shares that core between
# them, so the machine's drift (a VM whose core runs 20% slower for a
# minute) hits the three alike within the same second. The report gives
# each guard's requests and CPU time per request summed over the rounds
# (utime + stime, with the threads that exited), their ratios against
# `off`, and each round's own ratio of requests served. It measures what a
# request costs on a core the guard shares (its caches too), which can be
# more than alone on the core: the two regimes are reported separately. An
# A/A check (`local` configured as `off`) gave 0.995 (quartiles
# 0.990-0.998) over 15 rounds.
#
# --perf S runs the guards at full speed (pinned as above) and records
# each with `perf record` over S seconds of wrk (32 connections, the last
# client count), then prints the top of `perf report` per guard: where the
# CPU goes when the writer's batches are as large as in production.
#
# Environment: LEAKWARDEN_BIN (use this binary, skip the build),
# PROXY_CPU, EXFIL_REPORT (where to copy the report; default
# /tmp/leakwarden-exfil.md), EXFIL_CALLGRIND_KEEP (with --callgrind, a
# directory to keep each guard's profile in, as callgrind.TARGET, for
# `callgrind_annotate --inclusive=yes`), EXFIL_PERF_KEEP (with --perf, a
# directory to keep each guard's recording in, as perf.TARGET).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

ROUNDS=5
DURATION=10
CONNS=32
CLIENTS="1,1000"
BUILD=1
CALLGRIND=0
PERF=0
PAIRED=0

# The comment block above, whatever its length.
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --conns) CONNS=$2; shift ;;
        --clients) CLIENTS=$2; shift ;;
        --no-build) BUILD=0 ;;
        --callgrind) CALLGRIND=$2; shift ;;
        --perf) PERF=$2; shift ;;
        --paired) PAIRED=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "exfil.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
# shellcheck source=benches/lib.sh
. "$HERE/lib.sh"

require_tools nginx wrk curl python3 redis-server
[ "$CALLGRIND" = 0 ] || require_tools valgrind
[ "$PERF" = 0 ] || require_tools perf
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

leakwarden_bin "$REPO" "$BUILD"

TMP=$(mktemp -d /tmp/leakwarden-exfil.XXXXXX)
PIDS=()
cleanup() { stop_pids "${PIDS[@]}"; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
export RUST_LOG=${RUST_LOG:-warn}
ulimit -n 16384 2>/dev/null || true

if [ "$(nproc)" -ge 2 ]; then
    PROXY_CPU=${PROXY_CPU:-1}
    OTHER_CPUS=$(python3 -c "import os;print(','.join(str(c) for c in sorted(os.sched_getaffinity(0)) if c != $PROXY_CPU))")
    PIN_PROXY=(taskset -c "$PROXY_CPU"); PIN_OTHER=(taskset -c "$OTHER_CPUS")
else
    PROXY_CPU="-"; OTHER_CPUS="-"; PIN_PROXY=(); PIN_OTHER=()
fi

read -r UP_PORT UP_H2_PORT REDIS_PORT OFF_PORT OFF_ADMIN LOCAL_PORT LOCAL_ADMIN REDIS_LW_PORT REDIS_ADMIN < <(free_ports 9)

launch() { # name cmd... ; background, pid in LAST_PID
    local name=$1; shift
    "$@" >"$TMP/$name.out" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# The page: the one benches/exfil.rs uses (12 KB of order lines, one card).
mkdir -p "$TMP/pages" "$TMP/upstream-tmp"
python3 - "$TMP/pages/page-12k.html" <<'EOF'
import sys
html = "<html><body><h1>Order history</h1>\n"
i = 0
while len(html) < 12 * 1024 - 200:
    html += "<p>Order %d: 3 items shipped to the customer, total %d.%02d EUR.</p>\n" % (i, i * 7 % 300, i % 100)
    i += 1
html += "<p>Paid with 4111 1111 1111 1111</p></body></html>\n"
open(sys.argv[1], "w").write(html)
EOF

render "$HERE/proxy/nginx-upstream.conf.in" "$TMP/nginx-upstream.conf" "UP_PORT=$UP_PORT" "UP_H2_PORT=$UP_H2_PORT"
launch upstream "${PIN_OTHER[@]}" "$NGINX" -p "$TMP" -c "$TMP/nginx-upstream.conf"
wait_http "http://127.0.0.1:$UP_PORT/page-12k.html" || { cat "$TMP/upstream.out" >&2; exit 1; }

launch redis "${PIN_OTHER[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no
REDIS_PID=$LAST_PID
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break; sleep 0.1; done

export LW_BENCH_KEY=bench-key-0123456789abcdef
BUDGET='[exfiltration]
key = "header:x-client"
budget = { card = 1000000000 }
hash_key_env = "LW_BENCH_KEY"'
guard_config() { # port admin extra
    cat <<EOF
[server]
listen = ["127.0.0.1:$1"]
[admin]
listen = "127.0.0.1:$2"
[upstreams.origin]
url = "http://127.0.0.1:$UP_PORT"
[[routes]]
name = "bench"
upstream = "origin"
[policies.default]
[audit]
output = "file"
path = "/dev/null"
[access_log]
enabled = false
[log]
level = "warn"
$3
EOF
}
guard_config "$OFF_PORT" "$OFF_ADMIN" "" > "$TMP/off.toml"
guard_config "$LOCAL_PORT" "$LOCAL_ADMIN" "$BUDGET" > "$TMP/local.toml"
# read_timeout 50 ms rather than the default 5 ms: redis-server shares its
# core with wrk and nginx here, and a read that times out falls back to
# local counters, which would make the figure part local.
guard_config "$REDIS_LW_PORT" "$REDIS_ADMIN" "$BUDGET
store = \"redis://127.0.0.1:$REDIS_PORT\"
read_timeout = \"50ms\"" > "$TMP/redis.toml"

TARGETS=(off local redis)
declare -A PORT=([off]=$OFF_PORT [local]=$LOCAL_PORT [redis]=$REDIS_LW_PORT)
declare -A ADMIN=([off]=$OFF_ADMIN [local]=$LOCAL_ADMIN [redis]=$REDIS_ADMIN)
declare -A PID
for t in "${TARGETS[@]}"; do
    "$LW_BIN" check-config "$TMP/$t.toml" >/dev/null
    if [ "$CALLGRIND" = 0 ]; then
        launch "$t" "${PIN_PROXY[@]}" "$LW_BIN" run --config "$TMP/$t.toml" --workers 1
    else
        launch "$t" valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.$t" --dump-instr=no \
            "$LW_BIN" run --config "$TMP/$t.toml" --workers 1
    fi
    PID[$t]=$LAST_PID
    wait_http "http://127.0.0.1:${PORT[$t]}/page-12k.html" || wait_http "http://127.0.0.1:${PORT[$t]}/page-12k.html" \
        || { cat "$TMP/$t.out" >&2; exit 1; }
done
metric() { # target name-with-labels-regex -> summed value
    curl -s "http://127.0.0.1:${ADMIN[$1]}/metrics" \
        | awk -v re="^$2" '$0 ~ re { s += $NF } END { printf "%d", s }'
}
# The Redis store connects in the background.
for _ in $(seq 100); do
    [ "$(metric redis 'leakwarden_exfiltration_store_degraded')" = 0 ] && break
    sleep 0.1
done
# Sanity: the card comes back masked through every guard.
for t in "${TARGETS[@]}"; do
    body=$(curl -s "http://127.0.0.1:${PORT[$t]}/page-12k.html")
    case "$body" in *"4111 1111 1111 1111"*) echo "exfil.sh: $t did not mask" >&2; exit 1 ;; esac
done
ERRORS_BEFORE=$(metric redis 'leakwarden_exfiltration_store_errors_total')
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, all threads
TICK=$(getconf CLK_TCK)

cat > "$TMP/clients.lua" <<'EOF'
-- Each request names the next of EXFIL_CLIENTS clients, round robin.
-- The requests are made once: formatting one per request cost wrk more
-- CPU than the guard's budget work, on the core redis-server shares.
local n = tonumber(os.getenv("EXFIL_CLIENTS") or "1")
local reqs = {}
for c = 0, n - 1 do
    reqs[c + 1] = wrk.format("GET", nil, { ["x-client"] = "client-" .. c })
end
local i = 0
request = function()
    i = i % n + 1
    return reqs[i]
end
EOF

if [ "$CALLGRIND" != 0 ]; then
    IFS=, read -r -a CLIENT_COUNTS <<< "$CLIENTS"
    nc=${CLIENT_COUNTS[-1]}
    echo "## Exfiltration budgets under callgrind: $("$LW_BIN" --version | head -1)"
    echo
    echo "- 12 KB HTML page with one card; $nc client(s) round robin; wrk -t1 -c8, 5 s warm-up, then ${CALLGRIND} s counted"
    echo
    echo "| target | requests | instructions per request | vs off |"
    echo "|---|---:|---:|---:|"
    declare -A IPR
    for t in "${TARGETS[@]}"; do
        url="http://127.0.0.1:${PORT[$t]}/page-12k.html"
        EXFIL_CLIENTS=$nc wrk -t1 -c8 -d5s -s "$TMP/clients.lua" "$url" >/dev/null
        callgrind_control -z "${PID[$t]}" >/dev/null 2>&1
        out=$(EXFIL_CLIENTS=$nc wrk -t1 -c8 -d"${CALLGRIND}s" -s "$TMP/clients.lua" "$url")
        callgrind_control -d "${PID[$t]}" >/dev/null 2>&1
        reqs=$(awk '/requests in/{print $1}' <<<"$out")
        part=$(ls "$TMP/callgrind.$t".* | sort -V | head -1)
        [ -z "${EXFIL_CALLGRIND_KEEP:-}" ] || { mkdir -p "$EXFIL_CALLGRIND_KEEP"; cp "$part" "$EXFIL_CALLGRIND_KEEP/callgrind.$t"; }
        total=$(callgrind_annotate "$part" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1; exit}')
        IPR[$t]=$((total / reqs))
        printf '| %s | %s | %s | %s |\n' "$t" "$reqs" "${IPR[$t]}" \
            "$(python3 -c "print(f'{${IPR[$t]} / ${IPR[off]}:.3f}')")"
    done
    echo
    echo "Mirror reads of the Redis guard: $(metric redis 'leakwarden_exfiltration_mirror_reads_total[{]result="hit"') hit, $(metric redis 'leakwarden_exfiltration_mirror_reads_total[{]result="miss"') miss."
    exit 0
fi

if [ "$PERF" != 0 ]; then
    IFS=, read -r -a CLIENT_COUNTS <<< "$CLIENTS"
    nc=${CLIENT_COUNTS[-1]}
    echo "## Exfiltration budgets under perf: $("$LW_BIN" --version | head -1)"
    for t in "${TARGETS[@]}"; do
        url="http://127.0.0.1:${PORT[$t]}/page-12k.html"
        EXFIL_CLIENTS=$nc "${PIN_OTHER[@]}" wrk -t1 -c"$CONNS" -d3s -s "$TMP/clients.lua" "$url" >/dev/null
        perf record -q -F 2000 -g -p "${PID[$t]}" -o "$TMP/perf.$t" -- sleep "$PERF" >/dev/null 2>&1 &
        rec=$!
        out=$(EXFIL_CLIENTS=$nc "${PIN_OTHER[@]}" wrk -t1 -c"$CONNS" -d"${PERF}s" -s "$TMP/clients.lua" "$url")
        wait "$rec" || true
        echo
        echo "### $t ($nc client(s)): $(awk '/^Requests\/sec:/{print $2}' <<<"$out") requests/s"
        echo
        echo '```'
        perf report -i "$TMP/perf.$t" --no-children --percent-limit 0.7 --stdio -g none 2>/dev/null \
            | grep -v '^#' | grep -v '^$' | head -40
        echo '```'
        [ -z "${EXFIL_PERF_KEEP:-}" ] || { mkdir -p "$EXFIL_PERF_KEEP"; cp "$TMP/perf.$t" "$EXFIL_PERF_KEEP/"; }
    done
    exit 0
fi

if [ "$PAIRED" = 1 ]; then
    log "paired rounds: $ROUNDS x ${DURATION}s, the three guards at once on CPU $PROXY_CPU, one wrk each (-c$CONNS) on $OTHER_CPUS"
    RESULTS="$TMP/paired.tsv"; : > "$RESULTS"
    IFS=, read -r -a CLIENT_COUNTS <<< "$CLIENTS"
    declare -A C0 WRK
    for nc in "${CLIENT_COUNTS[@]}"; do
    for r in $(seq "$ROUNDS"); do
        for t in "${TARGETS[@]}"; do C0[$t]=$(cpu_ticks "${PID[$t]}"); done
        # The start order rotates: in an A/A check without it, the guard
        # started second served 1% fewer requests than its twin.
        order=("${TARGETS[@]:$(( (r - 1) % 3 ))}" "${TARGETS[@]:0:$(( (r - 1) % 3 ))}")
        for t in "${order[@]}"; do
            EXFIL_CLIENTS=$nc "${PIN_OTHER[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" \
                -s "$TMP/clients.lua" "http://127.0.0.1:${PORT[$t]}/page-12k.html" > "$TMP/wrk.$t" &
            WRK[$t]=$!
        done
        for t in "${TARGETS[@]}"; do wait "${WRK[$t]}"; done
        line="$nc	$r"
        for t in "${TARGETS[@]}"; do
            reqs=$(awk '/requests in/{print $1}' "$TMP/wrk.$t")
            errs=$(awk '/Socket errors|Non-2xx/{n++} END{print n+0}' "$TMP/wrk.$t")
            line="$line	$t	$reqs	$(( $(cpu_ticks "${PID[$t]}") - C0[$t] ))	$errs"
        done
        printf '%s\n' "$line" >> "$RESULTS"
        log "clients $nc, paired round $r (target requests CPU-ticks errors): $(cut -f3- <<<"$line" | tr '\t' ' ')"
    done
    done
    ERRORS_AFTER=$(metric redis 'leakwarden_exfiltration_store_errors_total')
    REPORT=${EXFIL_REPORT:-/tmp/leakwarden-exfil.md}
    python3 - "$RESULTS" "$ROUNDS" "$DURATION" "$CONNS" "$((ERRORS_AFTER - ERRORS_BEFORE))" "$("$LW_BIN" --version | head -1)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$TICK" <<'EOF' | tee "$REPORT"
import statistics, sys
path, rounds, dur, conns, store_errors, version, load, tick = sys.argv[1:]
tick = int(tick)
rows = [l.rstrip("\n").split("\t") for l in open(path)]
print(f"## Exfiltration budgets, paired: {version}")
print()
print(f"- 12 KB HTML page with one card; the three guards at once on one core, one wrk -t1 -c{conns} each; {rounds} rounds x {dur} s; load average at the end: {load}")
print(f"- Redis store errors during the runs: {store_errors} (0 means every figure for `redis` is Redis's)")
for nc in dict.fromkeys(r[0] for r in rows):
    mine = [r for r in rows if r[0] == nc]
    reqs, ticks, errs, per_round = {}, {}, {}, []
    for r in mine:
        cells = r[2:]
        rnd = {}
        for i in range(0, len(cells), 4):
            t, n, c, e = cells[i], int(cells[i + 1]), int(cells[i + 2]), int(cells[i + 3])
            reqs[t] = reqs.get(t, 0) + n
            ticks[t] = ticks.get(t, 0) + c
            errs[t] = errs.get(t, 0) + e
            rnd[t] = n
        per_round.append(rnd)
    secs = len(mine) * int(dur)
    cpu = {t: ticks[t] / tick * 1e6 / max(1, reqs[t]) for t in reqs}
    busy = sum(ticks.values()) / tick / secs * 100
    print()
    print(f"### {nc} client(s), round robin")
    print()
    print("| target | requests | vs off | guard CPU per request | CPU per request vs off | share of the core | wrk error lines |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in ("off", "local", "redis"):
        print(f"| {t} | {reqs[t]:,} | {reqs[t] / reqs['off']:.3f} | {cpu[t]:.1f} us | {cpu[t] / cpu['off']:.3f} | {ticks[t] / tick / secs * 100:.0f}% | {errs[t]} |")
    print()
    bound = "" if busy >= 95 else " (below ~95%: something besides the guard's core, such as the wrk side, bounded them)"
    print(f"The three guards together kept their core {busy:.0f}% busy{bound}.")
    for t in ("local", "redis"):
        ratios = sorted(v[t] / v["off"] for v in per_round)
        if len(ratios) >= 4:
            q = statistics.quantiles(ratios, n=4)
            print()
            print(f"{t} against off, requests round by round: median {statistics.median(ratios):.3f}, "
                  f"quartiles {q[0]:.3f}-{q[2]:.3f}, range {ratios[0]:.3f}-{ratios[-1]:.3f} ({len(ratios)} rounds); "
                  f"off's CPU per request over {t}'s: {cpu['off'] / cpu[t]:.3f} (target for redis: >= 0.95).")
EOF
    exit 0
fi

log "rounds: $ROUNDS x ${DURATION}s per target, $CONNS connections; guards on CPU $PROXY_CPU, wrk/nginx/redis on $OTHER_CPUS"
RESULTS="$TMP/results.tsv"; : > "$RESULTS"
IFS=, read -r -a CLIENT_COUNTS <<< "$CLIENTS"
for nc in "${CLIENT_COUNTS[@]}"; do
for r in $(seq "$ROUNDS"); do
    order=("${TARGETS[@]:$(( (r - 1) % 3 ))}" "${TARGETS[@]:0:$(( (r - 1) % 3 ))}")
    for t in "${order[@]}"; do
        c0=$(cpu_ticks "${PID[$t]}"); r0=$(cpu_ticks "$REDIS_PID")
        out=$(EXFIL_CLIENTS=$nc "${PIN_OTHER[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
            -s "$TMP/clients.lua" "http://127.0.0.1:${PORT[$t]}/page-12k.html")
        c1=$(cpu_ticks "${PID[$t]}"); r1=$(cpu_ticks "$REDIS_PID")
        rps=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
        reqs=$(awk '/requests in/{print $1}' <<<"$out")
        # The guard's CPU time per request (us): independent of how busy
        # the rest of the machine is, unlike requests/s.
        cpu_us=$(python3 -c "print(round(($c1 - $c0) / $TICK * 1e6 / max(1, $reqs), 1))")
        # redis-server's CPU per request (it shares the other core with wrk
        # and nginx, so its work can bound requests/s there).
        redis_us=$(python3 -c "print(round(($r1 - $r0) / $TICK * 1e6 / max(1, $reqs), 1))")
        p99=$(awk '$1=="99%"{print $2}' <<<"$out")
        errs=$(awk '/Socket errors|Non-2xx/{n++} END{print n+0}' <<<"$out")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$nc" "$r" "$t" "$rps" "$p99" "$errs" "$cpu_us" "$redis_us" >> "$RESULTS"
        log "clients $nc, round $r, $t: $rps req/s, p99 $p99, guard CPU $cpu_us us/request"
    done
done
done
ERRORS_AFTER=$(metric redis 'leakwarden_exfiltration_store_errors_total')
CHARGED_REDIS=$(metric redis 'leakwarden_exfiltration_charged_total')
HITS=$(metric redis 'leakwarden_exfiltration_mirror_reads_total[{]result="hit"')
MISSES=$(metric redis 'leakwarden_exfiltration_mirror_reads_total[{]result="miss"')

REPORT=${EXFIL_REPORT:-/tmp/leakwarden-exfil.md}
python3 - "$RESULTS" "$ROUNDS" "$DURATION" "$CONNS" "$((ERRORS_AFTER - ERRORS_BEFORE))" "$CHARGED_REDIS" "$("$LW_BIN" --version | head -1)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$HITS" "$MISSES" <<'EOF' | tee "$REPORT"
import statistics, sys
path, rounds, dur, conns, store_errors, charged, version, load, hits, misses = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(path)]
print(f"## Exfiltration budgets: {version}")
print()
print(f"- 12 KB HTML page with one card; wrk -t1 -c{conns}, {rounds} rounds x {dur} s per target, interleaved; load average at the end: {load}")
print(f"- Redis store errors during the runs: {store_errors} (0 means every figure for `redis` is Redis's); responses charged through Redis: {charged}")
print(f"- Request-start reads of the Redis guard answered by its mirror: {hits} (hit), sent to Redis: {misses} (miss)")
for nc in dict.fromkeys(r[0] for r in rows):
    by = {}
    for c, r, t, rps, p99, errs, cpu, rcpu in rows:
        if c == nc:
            by.setdefault(t, []).append((float(rps), p99, int(errs), float(cpu), float(rcpu)))
    med = {t: statistics.median(v[0] for v in vs) for t, vs in by.items()}
    cpu = {t: statistics.median(v[3] for v in vs) for t, vs in by.items()}
    print()
    print(f"### {nc} client(s), round robin")
    print()
    # How busy the guard's core was: below ~95% the guard was not what
    # bounded requests/s (on a 2-core machine, redis-server shares the
    # other core with wrk and nginx, which its work can saturate).
    busy = {t: statistics.median(v[0] * v[3] / 1e4 for v in vs) for t, vs in by.items()}
    rcpu = {t: statistics.median(v[4] for v in vs) for t, vs in by.items()}
    print("| target | median req/s | vs off | rounds (req/s) | guard CPU per request | CPU vs off | guard core busy | wrk error lines |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for t in ("off", "local", "redis"):
        vs = by.get(t, [])
        if vs:
            print(f"| {t} | {med[t]:,.0f} | {med[t] / med['off']:.3f} | {', '.join(f'{v[0]:,.0f}' for v in vs)} | {cpu[t]:.1f} us | {cpu[t] / cpu['off']:.3f} | {busy[t]:.0f}% | {sum(v[2] for v in vs)} |")
    print()
    print(f"Requests/s, Redis against local: {med['redis'] / med['local']:.3f}; against off: {med['redis'] / med['off']:.3f} (target: >= 0.95). "
          f"Guard CPU per request, Redis against off: {cpu['redis'] / cpu['off']:.3f}. "
          f"redis-server CPU per request of the Redis guard: {rcpu['redis']:.1f} us.")
    # Each round runs the three targets back to back, so a round's ratio
    # is free of the machine's drift between rounds; its spread says how
    # far one run's median can be trusted.
    rounds = {}
    for c, r, t, rps, *_ in rows:
        if c == nc:
            rounds.setdefault(r, {})[t] = float(rps)
    for t in ("local", "redis"):
        ratios = sorted(v[t] / v["off"] for v in rounds.values() if t in v and "off" in v)
        if len(ratios) >= 4:
            q = statistics.quantiles(ratios, n=4)
            print()
            print(f"{t} against off, round by round: median {statistics.median(ratios):.3f}, "
                  f"quartiles {q[0]:.3f}-{q[2]:.3f}, range {ratios[0]:.3f}-{ratios[-1]:.3f} ({len(ratios)} rounds).")
EOF
