#!/usr/bin/env bash
# The integrations-core benchmark: builds the release binary and the load generator, then for
# SQLite and for Postgres starts the server, seeds it through the API and runs every scenario.
# Writes bench/RESULTS.md and prints it. Only ever talks to 127.0.0.1. See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT="$BENCH_DIR/out"
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
WARMUP=${BENCH_WARMUP:-3}
DURATION=${BENCH_DURATION:-10}
OPEN_WARMUP=${BENCH_OPEN_WARMUP:-1}
OPEN_DURATION=${BENCH_OPEN_DURATION:-5}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
RATE=${BENCH_RATE:-500}
ONLY=${BENCH_ONLY:-}
# Keep the seeded Postgres database afterwards (its name is printed), to look into a result.
KEEP_DB=${BENCH_KEEP_DB:-}
# The data set (defaults: 100 customers x 10 apps, 100 users and 100 tokens per app, and 100,000
# calls for the call_events and delivery_detail rows, seeded only when one of them runs).
SIZES=(--customers "${BENCH_CUSTOMERS:-100}" --apps-per-customer "${BENCH_APPS_PER_CUSTOMER:-10}"
    --users-per-app "${BENCH_USERS_PER_APP:-100}" --tokens-per-app "${BENCH_TOKENS_PER_APP:-100}"
    --calls "${BENCH_CALLS:-100000}")
PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres

started=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$OUT"
log() { printf '\n== %s\n' "$*" >&2; }

# --- what the benchmark needs -------------------------------------------------------------
apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then apt-get update -qq >&2; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
if ! command -v cargo >/dev/null; then
    echo "cargo is needed (a Rust toolchain at least as new as the crate's rust-version)" >&2
    exit 1
fi
if [[ " $BACKENDS " == *" postgres "* ]] && ! command -v pg_ctlcluster >/dev/null; then
    log "installing PostgreSQL"
    apt_install postgresql postgresql-client
fi

# --- build ----------------------------------------------------------------------------------
log "building the release binary (cargo build --release)"
build_started=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
(cd "$ROOT" && cargo build --release)
build_secs=$(( $(date +%s) - build_started ))
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
BIN="$TARGET_DIR/release/integrations-core"

log "building the load generator (bench/loadgen, its own workspace)"
(cd "$BENCH_DIR/loadgen" && CARGO_TARGET_DIR="$BENCH_DIR/loadgen/target" cargo build --release)
LOADGEN="$BENCH_DIR/loadgen/target/release/loadgen"
build_all_secs=$(( $(date +%s) - build_started ))

# --- the server's environment ---------------------------------------------------------------
export MASTER_KEY
MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export ADMIN_TOKEN
ADMIN_TOKEN="bench-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export WEBHOOK_ALLOW_PRIVATE=true
export RUST_LOG=warn

WORK=$(mktemp -d /tmp/integrations-bench.XXXXXX)
SERVER_PID=
PG_DB=
stop_server() {
    local pid=$SERVER_PID
    [ -n "$pid" ] || return 0
    SERVER_PID=
    kill -TERM "$pid" 2>/dev/null || true
    # Graceful first; a hung receiver's attempts may hold the drain, so not for long.
    for _ in $(seq 50); do
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)" = Z ] && break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_server
    if [ -n "$PG_DB" ]; then
        psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -qAtc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
        PG_DB=
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local port
    for port in $(seq 18080 18980); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    done
    echo "no free port" >&2; exit 1
}

# Starts the server as this script's child (cwd: the temp dir, so no stray .env is read) and
# times it from just before the spawn to the first /readyz 200.
start_server() { # label database_url
    local port since
    port=$(free_port)
    ADDR="127.0.0.1:$port"
    since=$(date +%s%N)
    (cd "$WORK" && DATABASE_URL="$2" LISTEN_ADDR="$ADDR" exec "$BIN" serve) >"$OUT/server-$1.log" 2>&1 &
    SERVER_PID=$!
    "$LOADGEN" wait-ready --addr "$ADDR" --pid "$SERVER_PID" --since-unix-ns "$since" --out "$OUT/ready-$1.json"
}

run_backend() { # label database_url
    log "$1: starting the server"
    start_server "$1" "$2"
    log "$1: seeding and running the scenarios against pid $SERVER_PID on $ADDR"
    "$LOADGEN" bench --addr "$ADDR" --pid "$SERVER_PID" --backend "$1" --admin-token "$ADMIN_TOKEN" \
        --out "$OUT/$1.json" --warmup "$WARMUP" --duration "$DURATION" --open-warmup "$OPEN_WARMUP" \
        --open-duration "$OPEN_DURATION" --concurrency "$CONCURRENCY" --rate "$RATE" --only "$ONLY" "${SIZES[@]}"
    stop_server
}

report_args=()
startup_args=()
pg_settings=""
for backend in $BACKENDS; do
    case "$backend" in
    sqlite)
        mkdir -p "$WORK/sqlite"
        url="sqlite://$WORK/sqlite/integrations.db"
        run_backend sqlite "$url"
        log "sqlite: restarting on the seeded database to time start-up again"
        start_server sqlite-restart "$url"
        stop_server
        startup_args+=(--startup "SQLite, fresh database (migrations included)=$OUT/ready-sqlite.json"
            --startup "SQLite, restart on the seeded database=$OUT/ready-sqlite-restart.json")
        report_args+=(--result "$OUT/sqlite.json")
        ;;
    postgres)
        if ! pg_isready -h "$PG_HOST" -p "$PG_PORT" -q; then
            log "starting PostgreSQL"
            pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
            for _ in $(seq 100); do pg_isready -h "$PG_HOST" -p "$PG_PORT" -q && break; sleep 0.2; done
        fi
        PG_DB="bench_$(date +%s)_$$"
        psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -qAtc "CREATE DATABASE $PG_DB" >/dev/null
        pg_settings=$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -qAt -c "SHOW server_version" \
            -c "SHOW fsync" -c "SHOW synchronous_commit" -c "SHOW shared_buffers" | paste -sd' ')
        run_backend postgres "postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
        if [ -n "$KEEP_DB" ]; then
            log "postgres: keeping database $PG_DB (BENCH_KEEP_DB)"
        else
            psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -qAtc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
        fi
        PG_DB=
        startup_args+=(--startup "Postgres, fresh database (migrations included)=$OUT/ready-postgres.json")
        report_args+=(--result "$OUT/postgres.json")
        ;;
    *) echo "unknown backend $backend (sqlite, postgres)" >&2; exit 2 ;;
    esac
done

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -- src migrations Cargo.toml Cargo.lock 2>/dev/null | wc -l)
[ "$dirty" -gt 0 ] && commit="$commit (working tree had $dirty uncommitted change(s) under src/, migrations/ or Cargo.*)"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
total_secs=$(( $(date +%s) - started ))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
settings="MASTER_KEY, ADMIN_TOKEN, WEBHOOK_ALLOW_PRIVATE=true, RUST_LOG=warn; everything else default"
extra=$(env | grep -E '^(DATABASE_MAX_CONNECTIONS|WEBHOOK_TIMEOUT_SECS|WEBHOOK_RETRY_SCHEDULE|POPUP_DEADLINE_SECS|TOKEN_[A-Z_]+|REQUEST_TIMEOUT_SECS|LOG_FORMAT)=' | paste -sd' ' || true)
[ -n "$extra" ] && settings="$settings except $extra"

meta=(--meta "Date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    --meta "Machine=nproc $(nproc), $cpu, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
    --meta "Commit=$commit"
    --meta "Load average (1, 5, 15 min)=$load_before at the start, $load_after at the end (other work on the machine skews absolute numbers; the ratios to /healthz less so, and the CPU column shows how much the rest of the machine took)"
    --meta "Server settings=$settings"
    --meta "Run=\`bench/run.sh\` took ${total_secs} s in all, builds ${build_all_secs} s (server ${build_secs} s)")
[ -n "$pg_settings" ] && meta+=(--meta "Postgres=version, fsync, synchronous_commit, shared_buffers: $pg_settings (local, 127.0.0.1)")

"$LOADGEN" report "${report_args[@]}" "${startup_args[@]}" "${meta[@]}" > "$OUT/RESULTS.md"
cp "$OUT/RESULTS.md" "$BENCH_DIR/RESULTS.md"
cat "$BENCH_DIR/RESULTS.md"
log "done in ${total_secs} s; bench/RESULTS.md written"
