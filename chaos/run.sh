#!/usr/bin/env bash
# The chaos suite (chaos/README.md): kills, restarts, outages, floods and a full disk under load.
#
#   chaos/run.sh                 short form (CI): under 3 minutes on 2 cores, release build excluded
#   chaos/run.sh --full          full form (on demand): about 7 minutes; writes chaos/RESULTS.md
#   chaos/run.sh --cases 1,5 --backends sqlite     a subset (either form)
#
# Needs: cargo (the release build), python3 (standard library only), psql and a Postgres cluster on
# 127.0.0.1:5432 (user postgres, trust), root for the tmpfs of the full-disk case (skipped otherwise)
# and for the throwaway cluster of the Postgres-restart case. Sends traffic only to 127.0.0.1.
# CHAOS_BIN=<path> skips the build and uses that binary. Exit status: non-zero when a case failed.
set -euo pipefail

cd "$(dirname "$0")/.."

full=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --full) full=--full ;;
        --cases|--backends) args+=("$1" "$2"); shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "chaos/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ -n "${CHAOS_BIN:-}" ]; then
    bin="$CHAOS_BIN"
else
    echo "==> cargo build --release"
    cargo build --release --quiet --bin integrations-core
    bin="${CARGO_TARGET_DIR:-$PWD/target}/release/integrations-core"
fi
[ -x "$bin" ] || { echo "chaos/run.sh: no binary at $bin" >&2; exit 2; }
# Run a private copy: target/ is shared, and a rebuild meanwhile must not swap the binary mid-run.
copy_dir="$(mktemp -d "${TMPDIR:-/tmp}/chaos-bin.XXXXXX")"
trap 'rm -rf "$copy_dir"' EXIT
cp "$bin" "$copy_dir/integrations-core"

if ! pg_isready -q -h 127.0.0.1; then
    echo "==> starting Postgres"
    for version in $(ls /etc/postgresql 2>/dev/null); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 && break
        sleep 1
    done
    pg_isready -h 127.0.0.1 || echo "chaos/run.sh: Postgres is not up; its cases will fail" >&2
fi

if [ -n "$full" ]; then
    limit=2400
    args+=(--full --results chaos/RESULTS.md)
else
    limit=600
fi
# A hard bound on the whole run; the suite cleans up (servers, mounts, databases) on SIGTERM.
timeout --signal=TERM --kill-after=30 "$limit" python3 -u chaos/chaos.py --bin "$copy_dir/integrations-core" "${args[@]}"
