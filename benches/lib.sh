# Shell helpers shared by the bench scripts (proxy/run.sh, proxy/callgrind.sh, soak.sh, exfil.sh; sourced,
# not run). Everything they start listens on 127.0.0.1 only.

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# require_tools CMD[=PACKAGE]...: installs the Debian package of every
# command not found (in PATH or /usr/sbin), with sudo when not root; with
# NO_INSTALL=1 it fails instead.
require_tools() {
    local need=() spec cmd
    for spec in "$@"; do
        cmd=${spec%%=*}
        command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("${spec#*=}")
    done
    [ ${#need[@]} -gt 0 ] || return 0
    if [ "${NO_INSTALL:-0}" = 1 ]; then
        echo "missing ${need[*]} (and --no-install given)" >&2
        exit 1
    fi
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    log "installing ${need[*]}"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null
}

# stop_pids PID...: SIGTERM to each, up to 5 s for it to exit, then SIGKILL.
stop_pids() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# wait_http URL [curl args]: waits up to 20 s for any HTTP answer.
wait_http() {
    local url=$1; shift
    for _ in $(seq 200); do
        if curl -s -o /dev/null --max-time 1 "$@" "$url"; then return 0; fi
        sleep 0.1
    done
    return 1
}

# free_ports N: prints N distinct free TCP ports on 127.0.0.1 (bound
# together, then released).
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# leakwarden_bin REPO BUILD: sets LW_BIN to $LEAKWARDEN_BIN when given,
# else to REPO's release binary, built first when BUILD is 1.
leakwarden_bin() {
    if [ -n "${LEAKWARDEN_BIN:-}" ]; then
        LW_BIN=$LEAKWARDEN_BIN
        return
    fi
    if [ "$2" = 1 ]; then
        log "building leakwarden (cargo build --release)"
        (cd "$1" && cargo build --release --locked --bin leakwarden) >&2
    fi
    LW_BIN="$1/target/release/leakwarden"
}

# nginx's `user` directive: needed (and only allowed) when run as root.
USER_DIRECTIVE=""
[ "$(id -u)" = 0 ] && USER_DIRECTIVE="user $(id -un) $(id -gn);"

# render TEMPLATE OUT KEY=VALUE...: writes TEMPLATE to OUT with each
# @KEY@ replaced by VALUE, and @TMP@, @PAGES@ ($TMP/pages) and
# @USER_DIRECTIVE@ always filled. Needs $TMP.
render() {
    local tpl=$1 out=$2; shift 2
    local args=(-e "s|@TMP@|$TMP|g" -e "s|@PAGES@|$TMP/pages|g" -e "s|@USER_DIRECTIVE@|$USER_DIRECTIVE|g")
    local kv
    for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    sed "${args[@]}" "$tpl" > "$out"
}
