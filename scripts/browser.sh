#!/usr/bin/env bash
# Drives the web console in a real browser (Debian's chromium, through Playwright for Python) against a
# fresh server on a fresh SQLite database: tests/browser/console_flow.py. Writes the screenshots of the
# main screens to docs/console-*.png and prints how soon each page became interactive.
#
#   scripts/browser.sh
#
# Needs cargo, python3 (with venv), curl, unshare and ip. Installs what is missing on first use:
# chromium with apt-get (when `chromium` is not on PATH), and Playwright from PyPI into a venv at
# target/tools/browser-venv (override with BROWSER_VENV). Never `playwright install`: the suite
# launches the system chromium.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

PLAYWRIGHT_VERSION=1.65.2
BROWSER_VENV="${BROWSER_VENV:-$REPO_ROOT/target/tools/browser-venv}"
PYTHON="$BROWSER_VENV/bin/python"

export SCRIPT_STARTED="${SCRIPT_STARTED:-$(date +%s)}"
if [ -z "${ISOLATED:-}" ]; then
    if ! command -v chromium >/dev/null; then
        log "installing chromium (apt-get)"
        sudo_cmd=()
        [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
        "${sudo_cmd[@]}" apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium >&2
    fi
    if [ ! -x "$PYTHON" ] || [ "$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("playwright"))' 2>/dev/null)" != "$PLAYWRIGHT_VERSION" ]; then
        log "installing playwright $PLAYWRIGHT_VERSION into $BROWSER_VENV (PyPI)"
        python3 -m venv "$BROWSER_VENV"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION" >&2
    fi
    build_server
    run_isolated "$@"
fi

trap cleanup EXIT
# Failing webhooks go dead within seconds; simulated calls step quickly; a CRM page on CRM_PORT (served
# by the suite) may frame the console.
CRM_PORT="$(free_port)"
start_server WEBHOOK_RETRY_SCHEDULE=1s,1s SANDBOX_CALL_STEP_MS=300 CONSOLE_FRAME_ANCESTORS="http://127.0.0.1:$CRM_PORT"

status=0
"$PYTHON" tests/browser/console_flow.py \
    --server "$SERVER_URL" \
    --admin-token "$ADMIN_TOKEN" \
    --screenshots "$REPO_ROOT/docs" \
    --crm-port "$CRM_PORT" \
    || status=$?

if [ "$status" -eq 0 ]; then
    log "browser: passed in $(($(date +%s) - SCRIPT_STARTED)) s"
else
    log "browser: FAILED (exit $status) in $(($(date +%s) - SCRIPT_STARTED)) s"
fi
exit "$status"
