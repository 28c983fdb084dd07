#!/usr/bin/env bash
# Runs the Postman collection with newman against a fresh server, then checks the collection against
# the server's OpenAPI document (postman/check.py). Exits non-zero on any failure.
#
#   scripts/postman.sh
#
# Needs cargo, python3, curl, node, npm, and unshare and ip (util-linux, iproute2). newman is installed on first use into
# target/tools/newman (override with NEWMAN_PREFIX), from the npm registry.
# The run happens in a network namespace of its own (scripts/lib.sh run_isolated): the server, newman
# and a local webhook receiver (which the app's webhooks point at) talk over its 127.0.0.1 only.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

NEWMAN_VERSION=6.2.2
NEWMAN_PREFIX="${NEWMAN_PREFIX:-$REPO_ROOT/target/tools/newman}"
NEWMAN="$NEWMAN_PREFIX/node_modules/.bin/newman"
COLLECTION=postman/integrations-core.postman_collection.json

export SCRIPT_STARTED="${SCRIPT_STARTED:-$(date +%s)}"
if [ -z "${ISOLATED:-}" ]; then
    ensure_npm_tool newman "$NEWMAN_VERSION" "$NEWMAN_PREFIX" "$NEWMAN"
    build_server
    run_isolated "$@"
fi

trap cleanup EXIT
start_server
start_sink

"$BIN" openapi >"$WORK_DIR/openapi.json"

status=0
log "newman run $COLLECTION"
"$NEWMAN" run "$COLLECTION" \
    --env-var "baseUrl=$SERVER_URL/v2/integrations" \
    --env-var "adminToken=$ADMIN_TOKEN" \
    --env-var "webhookBase=$SINK_URL/hooks" \
    --reporters cli \
    --reporter-cli-no-banner \
    --color off \
    --timeout-request 15000 \
    || status=$?

log "postman/check.py"
python3 postman/check.py "$WORK_DIR/openapi.json" "$COLLECTION" || status=$?

if [ "$status" -eq 0 ]; then
    log "postman: passed in $(($(date +%s) - SCRIPT_STARTED)) s"
else
    log "postman: FAILED (exit $status) in $(($(date +%s) - SCRIPT_STARTED)) s"
fi
exit "$status"
