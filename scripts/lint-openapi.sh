#!/usr/bin/env bash
# Lints the OpenAPI document a fresh server serves (GET /v2/integrations/openapi.json) with Redocly CLI,
# configured by redocly.yaml (Redocly's recommended rules, every warning raised to an error). Exits
# non-zero on any problem.
#
#   scripts/lint-openapi.sh
#
# Needs cargo, python3, curl, node (20.19+ or 22.12+), npm, and unshare and ip (util-linux, iproute2).
# Redocly CLI is installed on first use into target/tools/redocly (override with REDOCLY_PREFIX), from the
# npm registry. The server and the linter run in a network namespace of their own (scripts/lib.sh
# run_isolated): the document has no remote reference to resolve, and the linter sends no telemetry.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

REDOCLY_VERSION=2.77.0
REDOCLY_PREFIX="${REDOCLY_PREFIX:-$REPO_ROOT/target/tools/redocly}"
REDOCLY="$REDOCLY_PREFIX/node_modules/.bin/redocly"

export SCRIPT_STARTED="${SCRIPT_STARTED:-$(date +%s)}"
if [ -z "${ISOLATED:-}" ]; then
    ensure_npm_tool @redocly/cli "$REDOCLY_VERSION" "$REDOCLY_PREFIX" "$REDOCLY"
    build_server
    run_isolated "$@"
fi

trap cleanup EXIT
start_server

curl -fsS -o "$WORK_DIR/openapi.json" "$SERVER_URL/v2/integrations/openapi.json"

status=0
log "redocly lint (redocly.yaml) of the served document"
# The configuration file itself is checked too (--lint-config error): a misspelt rule fails the run.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
    "$REDOCLY" lint "$WORK_DIR/openapi.json" \
    --config "$REPO_ROOT/redocly.yaml" \
    --lint-config error \
    --format stylish \
    || status=$?

if [ "$status" -eq 0 ]; then
    log "openapi lint: passed in $(($(date +%s) - SCRIPT_STARTED)) s"
else
    log "openapi lint: FAILED (exit $status) in $(($(date +%s) - SCRIPT_STARTED)) s"
fi
exit "$status"
