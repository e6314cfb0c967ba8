#!/usr/bin/env bash
# End-to-end check with a real Prometheus server (Debian's `prometheus`
# package): start the guard (`leakwarden demo`: shop upstream + guard +
# admin listener, all on loopback), start Prometheus scraping the admin
# listener every second with config/alerts.yml loaded, send traffic, then
# wait (bounded) until the Prometheus HTTP API returns leakwarden series and
# lists the alert rule groups, all rules healthy. Everything binds 127.0.0.1
# only and is killed on exit.
#
# Usage: bash tests/prometheus/run.sh   (from anywhere; CI calls it after
# `cargo test`). LEAKWARDEN_BIN overrides the binary (default
# target/debug/leakwarden, built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

BIN=${LEAKWARDEN_BIN:-$ROOT/target/debug/leakwarden}
TIMEOUT=${PROM_TEST_TIMEOUT:-30}

say() { echo "prometheus-e2e: $*" >&2; }
die() {
  say "FAIL: $*"
  for f in "$WORK"/*.log; do
    [ -f "$f" ] || continue
    echo "----- $(basename "$f") (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
  exit 1
}

for tool in prometheus curl; do
  command -v "$tool" >/dev/null || { say "FAIL: $tool is not installed (apt-get install prometheus curl)"; exit 1; }
done
if [ ! -x "$BIN" ]; then
  say "building $BIN"
  cargo build --quiet --bin leakwarden
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leakwarden-prom.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nobody listens on right now. The small race with other
# processes is handled by checking that each server really started.
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_for SECONDS PID DESCRIPTION COMMAND...: polls COMMAND every 0.2 s
# until it succeeds; fails if PID died or time ran out.
wait_for() {
  local secs=$1 pid=$2 what=$3
  shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || return 2
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
  say "$what: ok"
}

http_ok() { curl -fsS --max-time 2 -o /dev/null "$1"; }

# --- the guard
started=
for attempt in 1 2 3; do
  GUARD_PORT=$(free_port) ADMIN_PORT=$(free_port)
  [ "$GUARD_PORT" != "$ADMIN_PORT" ] || continue
  "$BIN" demo --listen "127.0.0.1:$GUARD_PORT" --admin "127.0.0.1:$ADMIN_PORT" \
    >"$WORK/guard.log" 2>&1 &
  GUARD_PID=$!
  PIDS+=("$GUARD_PID")
  if wait_for 20 "$GUARD_PID" "guard /healthz on 127.0.0.1:$ADMIN_PORT" \
    http_ok "http://127.0.0.1:$ADMIN_PORT/healthz"; then
    started=1
    break
  fi
  say "guard did not start (attempt $attempt)"
  kill "$GUARD_PID" 2>/dev/null || true
done
[ -n "$started" ] || die "the guard did not start"

# --- Prometheus
cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/config/alerts.yml
scrape_configs:
  - job_name: leakwarden
    static_configs:
      - targets: ['127.0.0.1:$ADMIN_PORT']
YAML
promtool check config "$WORK/prometheus.yml" >/dev/null || die "generated prometheus.yml is invalid"

started=
for attempt in 1 2 3; do
  PROM_PORT=$(free_port)
  rm -rf "$WORK/data"
  prometheus --config.file="$WORK/prometheus.yml" \
    --storage.tsdb.path="$WORK/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    >"$WORK/prometheus.log" 2>&1 &
  PROM_PID=$!
  PIDS+=("$PROM_PID")
  if wait_for 20 "$PROM_PID" "prometheus ready on 127.0.0.1:$PROM_PORT" \
    http_ok "http://127.0.0.1:$PROM_PORT/-/ready"; then
    started=1
    break
  fi
  say "prometheus did not start (attempt $attempt)"
  kill "$PROM_PID" 2>/dev/null || true
done
[ -n "$started" ] || die "prometheus did not start"
PROM="http://127.0.0.1:$PROM_PORT"

# --- traffic through the guard
for i in $(seq 1 5); do
  for path in / /account /api/customers /export.csv /missing; do
    curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$GUARD_PORT$path" || true
  done
done
say "traffic sent"

query() { curl -fsS --max-time 2 -G "$PROM/api/v1/query" --data-urlencode "query=$1"; }
has_result() { query "$1" | grep -q '"result":\[{'; }
rules_loaded() {
  local r
  r=$(curl -fsS --max-time 2 "$PROM/api/v1/rules") || return 1
  local g
  for g in leakwarden-leaks leakwarden-upstream leakwarden-operations; do
    grep -q "\"name\":\"$g\"" <<<"$r" || return 1
  done
  # Every rule evaluated at least once, without error.
  ! grep -q '"health":"\(err\|unknown\)"' <<<"$r"
}

wait_for "$TIMEOUT" "$PROM_PID" "series leakwarden_requests_total stored" \
  has_result 'leakwarden_requests_total{job="leakwarden"}' ||
  die "no leakwarden_requests_total series in Prometheus within ${TIMEOUT}s"
wait_for "$TIMEOUT" "$PROM_PID" "target up" has_result 'up{job="leakwarden"} == 1' ||
  die "the leakwarden target is not up"
wait_for "$TIMEOUT" "$PROM_PID" "process metrics stored" \
  has_result 'process_resident_memory_bytes{job="leakwarden"}' ||
  die "no process metrics"
wait_for "$TIMEOUT" "$PROM_PID" "alert rule groups loaded and healthy" rules_loaded ||
  die "the alert rules did not load: $(curl -sS "$PROM/api/v1/rules" | head -c 2000)"

# The counters Prometheus stored match the traffic: 25 requests (the
# missing path included) over all routes and codes.
requests_stored() {
  query 'sum(leakwarden_requests_total{job="leakwarden"})' |
    sed -n 's/.*"value":\[[0-9.]*,"\([0-9.]*\)"\].*/\1/p'
}
requests_are_25() { [ "$(requests_stored)" = 25 ]; }
wait_for "$TIMEOUT" "$PROM_PID" "sum(leakwarden_requests_total) == 25 in Prometheus" requests_are_25 ||
  die "expected 25 requests stored, got $(requests_stored)"

# Findings, when the engine reports them (informational here; exact counts
# are asserted in tests/metrics_scrape.rs).
if has_result 'leakwarden_findings_total{job="leakwarden"} > 0'; then
  say "findings series stored: $(query 'sum by (kind) (leakwarden_findings_total{job="leakwarden"})' | grep -o '"kind":"[a-z_]*"' | tr '\n' ' ')"
fi
say "PASS"
