# Shared by scripts/postman.sh and scripts/fuzz.sh (source it; bash only).
# Starts the debug binary on a fresh SQLite database in a temp folder, on a free 127.0.0.1 port,
# with every outbound address pointed at this machine, and stops it on exit.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The script that sourced this file, as an absolute path (it is re-run by run_isolated).
SCRIPT_PATH="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
# Where cargo puts what it builds: CARGO_TARGET_DIR when set (relative to the repository root, as
# cargo reads it there), else target/.
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO_ROOT/$TARGET_DIR" ;; esac
BIN="$TARGET_DIR/debug/integrations-core"
WORK_DIR=""
SERVER_PID=""
SERVER_PORT=""
SERVER_URL=""
ADMIN_TOKEN=""
CLEANUP_PIDS=()

log() { printf '==> %s\n' "$*" >&2; }

# A TCP port on 127.0.0.1 that is free now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# run_isolated ARGS...: re-runs the calling script inside a new network namespace that has only a loopback
# interface (`unshare -n`, as root; `unshare -rn` otherwise), with ISOLATED=1. Inside it nothing can
# leave the machine, whatever URL a fuzzer or a collection variable makes the server call: the
# server, its webhook receiver and the client all talk over that namespace's 127.0.0.1.
# Installs and builds happen before, outside (they need the package registries).
run_isolated() {
    local flags
    for flags in -n -rn; do
        if unshare "$flags" true 2>/dev/null; then
            log "entering a network namespace of its own (unshare $flags): only 127.0.0.1 is reachable"
            exec unshare "$flags" env ISOLATED=1 bash -c 'ip link set lo up && exec bash "$0" "$@"' "$SCRIPT_PATH" "$@"
        fi
    done
    log "cannot create a network namespace (unshare -n / -rn): run as root, or enable user namespaces"
    exit 1
}

# Installs the npm package $1 at version $2 under the prefix $3, unless its binary $4 already
# reports that version (a pinned tool, from the npm registry).
ensure_npm_tool() {
    local package=$1 version=$2 prefix=$3 bin=$4
    if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "$version" ]; then
        log "installing $package $version into $prefix"
        mkdir -p "$prefix"
        npm install --no-audit --no-fund --loglevel=error --prefix "$prefix" "$package@$version" >&2
    fi
}

build_server() {
    log "cargo build"
    (cd "$REPO_ROOT" && cargo build --quiet --bin integrations-core)
}

# Called on EXIT: stops what this script started (by pid), keeps the server log on failure.
cleanup() {
    local status=$?
    local pid
    for pid in "${CLEANUP_PIDS[@]}" $SERVER_PID; do
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$WORK_DIR" ] && [ -d "$WORK_DIR" ]; then
        if [ "$status" -ne 0 ] && [ -f "$WORK_DIR/server.log" ]; then
            log "last lines of the server log ($WORK_DIR/server.log):"
            tail -n 40 "$WORK_DIR/server.log" >&2 || true
        fi
        if [ -n "${KEEP_WORK_DIR:-}" ]; then
            log "kept $WORK_DIR (server log, reports)"
        elif [ "$status" -eq 0 ] || [ -n "${CI:-}" ]; then
            rm -rf "$WORK_DIR"
        fi
    fi
    return "$status"
}

# start_server: sets WORK_DIR, SERVER_PORT, SERVER_URL (http://127.0.0.1:PORT) and ADMIN_TOKEN.
# Extra VAR=value arguments are passed to the server's environment.
start_server() {
    WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/integrations-core-script.XXXXXX")"
    SERVER_PORT="$(free_port)"
    SERVER_URL="http://127.0.0.1:$SERVER_PORT"
    ADMIN_TOKEN="admin-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    local master_key
    master_key="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
    log "starting the server on $SERVER_URL (SQLite in $WORK_DIR)"
    # A clean environment, run from the temp folder so no .env of the checkout is read.
    (cd "$WORK_DIR" && exec env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
        DATABASE_URL="sqlite://$WORK_DIR/integrations.db" \
        LISTEN_ADDR="127.0.0.1:$SERVER_PORT" \
        PUBLIC_BASE_URL="$SERVER_URL" \
        MASTER_KEY="$master_key" \
        ADMIN_TOKEN="$ADMIN_TOKEN" \
        WEBHOOK_ALLOW_PRIVATE=true \
        SANDBOX_CALL_STEP_MS=200 \
        EXOTEL_CCM_URL_MUMBAI=http://127.0.0.1:9 \
        EXOTEL_CCM_URL_SINGAPORE=http://127.0.0.1:9 \
        LOG_FORMAT=json \
        RUST_LOG="${SERVER_RUST_LOG:-warn}" \
        "$@" \
        "$BIN" serve >"$WORK_DIR/server.log" 2>&1) &
    SERVER_PID=$!
    local i
    for i in $(seq 1 200); do
        if curl -fsS -o /dev/null "$SERVER_URL/readyz" 2>/dev/null; then
            log "server ready (pid $SERVER_PID)"
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "the server exited before it was ready"
            cat "$WORK_DIR/server.log" >&2
            return 1
        fi
        sleep 0.1
    done
    log "the server was not ready within 20 s"
    return 1
}

# A local webhook receiver answering 200 to everything; sets SINK_URL.
start_sink() {
    local port
    port="$(free_port)"
    python3 "$REPO_ROOT/scripts/webhook_sink.py" "$port" >"$WORK_DIR/sink.log" 2>&1 &
    CLEANUP_PIDS+=("$!")
    SINK_URL="http://127.0.0.1:$port"
    local i
    for i in $(seq 1 50); do
        curl -fsS -o /dev/null "$SINK_URL/" 2>/dev/null && return 0
        sleep 0.1
    done
    log "the webhook receiver did not start"
    return 1
}
