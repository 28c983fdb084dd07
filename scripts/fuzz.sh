#!/usr/bin/env bash
# Fuzzes a fresh server against its own OpenAPI document with schemathesis: no request may get a 5xx,
# and every response must match the document (status code, content type, headers, body schema).
#
#   scripts/fuzz.sh                 # 25 examples per operation per phase
#   FUZZ_MAX_EXAMPLES=100 FUZZ_SEED=7 scripts/fuzz.sh
#   FUZZ_CHECKS=all KEEP_WORK_DIR=1 scripts/fuzz.sh    # every schemathesis check; keep the reports
#
# Needs cargo, python3 (3.9+ with venv), curl, and unshare and ip (util-linux, iproute2). schemathesis is installed on first use into a venv at
# target/tools/schemathesis-venv (override with SCHEMATHESIS_VENV), from PyPI.
# The run happens in a network namespace of its own (scripts/lib.sh run_isolated), so nothing leaves the
# machine whatever URLs the fuzzer stores as webhook settings: the server, its Exotel URLs
# (127.0.0.1:9, refused), a local webhook receiver and schemathesis share that namespace's 127.0.0.1.
#
# The server is seeded with a customer, a sandbox app, a user, popup and callback settings, one outbound
# call and one inbound popup; each operation gets the token its security scheme names (schemathesis's
# [auth.openapi] config). The run has four passes so that fuzzing cannot wreck its own fixture
# half-way: (1) every operation except the seven below; (2) PUT /app, PUT /admin/apps/{app_id} (it may switch the
# seeded app off), PUT /app/passthru (it may require the passthru key, turning the passthru's answers into 401s)
# and DELETE /users/{app_user_id} (a PUT to a mumbai domain would turn the user and call routes into 502s, the upstream being
# 127.0.0.1:9; deleting the seeded user turns them into 404s); (3) DELETE /usermapping (it would leave
# (2) nothing to delete); (4) DELETE /app and DELETE /customer (they kill the tokens everything uses).
# Nothing is left out: POST /call/status_callback/{app_id} is fuzzed without a valid signature (only the
# server can sign its URL), so it exercises the 401/400/404 answers only.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV="${SCHEMATHESIS_VENV:-$REPO_ROOT/target/tools/schemathesis-venv}"
ST="$SCHEMATHESIS_VENV/bin/schemathesis"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-25}"
SEED="${FUZZ_SEED:-20261127}"
PHASES="${FUZZ_PHASES:-examples,coverage,fuzzing}"
CHECKS="${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance}"

export SCRIPT_STARTED="${SCRIPT_STARTED:-$(date +%s)}"
if [ -z "${ISOLATED:-}" ]; then
    if [ ! -x "$ST" ] || [ "$("$ST" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
        log "installing schemathesis $SCHEMATHESIS_VERSION into $SCHEMATHESIS_VENV"
        python3 -m venv "$SCHEMATHESIS_VENV"
        "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
    fi
    build_server
    run_isolated "$@"
fi

trap cleanup EXIT
start_server
start_sink

API="$SERVER_URL/v2/integrations"

# call METHOD PATH TOKEN [JSON]: prints Data of a Success envelope, fails otherwise.
call() {
    local method=$1 path=$2 token=$3 body=${4:-}
    local args=(-sS -X "$method" "$API$path" -H 'Content-Type: application/json')
    [ -n "$token" ] && args+=(-H "Authorization: $token")
    [ -n "$body" ] && args+=(-d "$body")
    curl "${args[@]}" | python3 -c '
import json, sys
envelope = json.load(sys.stdin)
if envelope.get("Status") != "Success":
    sys.exit("seeding failed: %s %s: %s" % (sys.argv[1], sys.argv[2], json.dumps(envelope)))
data = envelope["Data"]
print(data if isinstance(data, str) else json.dumps(data))' "$method" "$path"
}
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

log "seeding: customer, sandbox app, user, settings, one outbound and one inbound call"
customer=$(call POST /customer "$ADMIN_TOKEN" '{"CustomerName": "Fuzz", "Email": "fuzz@example.com"}')
CUSTOMER_ID=$(field "$customer" CustomerID)
CUSTOMER_TOKEN=$(call POST /token "" \
    "{\"Id\": \"$CUSTOMER_ID\", \"Secret\": \"$(field "$customer" CustomerSecret)\", \"Entity\": \"customer\"}")
# ExotelAccountSid "exoteldemo" and AppUserId "1" are the document's examples, so they reach real rows.
app=$(call POST /app "$CUSTOMER_TOKEN" '{"AppName": "Fuzz", "ExotelAccountSid": "exoteldemo", "ExotelApiKey": "k",
    "ExotelApiToken": "t", "ExotelDomain": "sandbox", "IsActive": true}')
APP_ID=$(field "$app" AppID)
APP_TOKEN=$(call POST /token "" \
    "{\"Id\": \"$APP_ID\", \"Secret\": \"$(field "$app" AppSecret)\", \"Entity\": \"app\"}")
call POST /usermapping "$APP_TOKEN" '[{"AppUserId": "1", "AppUsername": "Fuzz One", "Email": "one@example.com",
    "ExotelAccountSid": "exoteldemo", "ExotelUserName": "Fuzz One", "AgentNumber": "9876543210",
    "VirtualNumber": "08047112345"}]' >/dev/null
call POST /app_setting "$APP_TOKEN" "{\"Key\": \"popup\", \"Value\": \"$SINK_URL/popup\"}" >/dev/null
call POST /app_setting "$APP_TOKEN" "{\"Key\": \"callback\", \"Value\": \"$SINK_URL/callback\"}" >/dev/null
outbound=$(call POST /call/outbound_call "$APP_TOKEN" '{"to": "09876500001", "user_id": "1"}')
CALL_SID=$(field "$outbound" CallSid)
curl -fsS -o /dev/null "$API/call/inbound_call/$APP_ID?type=popup&CallSid=fuzz-inbound&CallFrom=09999912345&DialWhomNumber=9876543210"
DELIVERY_ID=""
for _ in $(seq 1 50); do
    DELIVERY_ID=$(call GET "/webhook_deliveries?status=delivered" "$APP_TOKEN" | python3 -c '
import json, sys
page = json.load(sys.stdin)
print(page["Deliveries"][0]["DeliveryId"] if page["Deliveries"] else "")')
    [ -n "$DELIVERY_ID" ] && break
    sleep 0.1
done
[ -n "$DELIVERY_ID" ] || { log "seeding: no webhook delivery was delivered"; exit 1; }
log "seeded app $APP_ID, call $CALL_SID, delivery $DELIVERY_ID"

# The configuration: one token per security scheme, and the seeded ids offered to the generator
# (with some probability, so random values are still tried).
# Rotating a secret with RevokeTokens kills the tokens of whoever rotates: the rotations are fuzzed as a
# customer and app of their own (last pass), so that the other passes keep working tokens.
rotating_customer=$(call POST /customer "$ADMIN_TOKEN" '{"CustomerName": "Fuzz Rotation", "Email": "rotation@example.com"}')
ROTATING_CUSTOMER_TOKEN=$(call POST /token "" "{\"Id\": \"$(field "$rotating_customer" CustomerID)\", \
    \"Secret\": \"$(field "$rotating_customer" CustomerSecret)\", \"Entity\": \"customer\"}")
rotating_app=$(call POST /app "$ROTATING_CUSTOMER_TOKEN" '{"AppName": "Fuzz Rotation", "ExotelAccountSid": "exoteldemo",
    "ExotelApiKey": "k", "ExotelApiToken": "t", "ExotelDomain": "sandbox", "IsActive": true}')
ROTATING_APP_TOKEN=$(call POST /token "" "{\"Id\": \"$(field "$rotating_app" AppID)\", \
    \"Secret\": \"$(field "$rotating_app" AppSecret)\", \"Entity\": \"app\"}")

export ST_ADMIN_TOKEN="$ADMIN_TOKEN" ST_CUSTOMER_TOKEN="$CUSTOMER_TOKEN" ST_APP_TOKEN="$APP_TOKEN"
cat >"$WORK_DIR/schemathesis.toml" <<TOML
[auth.openapi.admin_token]
api_key = "\${ST_ADMIN_TOKEN}"

[auth.openapi.customer_token]
api_key = "\${ST_CUSTOMER_TOKEN}"

[auth.openapi.app_token]
api_key = "\${ST_APP_TOKEN}"

[dictionaries.app_ids]
values = ["$APP_ID"]
[dictionaries.user_ids]
values = ["1"]
[dictionaries.call_sids]
values = ["$CALL_SID"]
[dictionaries.delivery_ids]
values = ["$DELIVERY_ID"]
[dictionaries.account_sids]
values = ["exoteldemo"]
[dictionaries.exotel_user_names]
values = ["Fuzz Two", "Temp Name"]
[dictionaries.phone_numbers]
values = ["08047112345", "9876543210", "+919876543210"]

[parameters]
"path.app_id" = { dictionary = "app_ids", probability = 0.7 }
"query.user_id" = { dictionary = "user_ids", probability = 0.5 }
"path.app_user_id" = { dictionary = "user_ids", probability = 0.3 }
"path.call_sid" = { dictionary = "call_sids", probability = 0.5 }
"path.id" = { dictionary = "delivery_ids", probability = 0.5 }
"body.UserId" = { dictionary = "user_ids", probability = 0.5 }
"body.user_id" = { dictionary = "user_ids", probability = 0.5 }
"body.ExotelAccountSid" = { dictionary = "account_sids", probability = 0.5 }
"body.[*].ExotelAccountSid" = { dictionary = "account_sids", probability = 0.5 }
"body.ExotelUserName" = { dictionary = "exotel_user_names", probability = 0.5 }
"body.[*].ExotelUserName" = { dictionary = "exotel_user_names", probability = 0.5 }
"body.VirtualNumber" = { dictionary = "phone_numbers", probability = 0.5 }
"body.[*].VirtualNumber" = { dictionary = "phone_numbers", probability = 0.5 }
"body.to" = { dictionary = "phone_numbers", probability = 0.5 }
TOML

status=0
pass() {
    local name=$1
    shift
    log "schemathesis pass '$name' ($MAX_EXAMPLES examples per operation, seed $SEED)"
    # Run from the temp folder: schemathesis keeps its cache and reports in the working directory.
    (cd "$WORK_DIR" && "$ST" --config-file "$WORK_DIR/schemathesis.toml" run "$SERVER_URL/v2/integrations/openapi.json" \
        --url "$SERVER_URL" \
        --checks "$CHECKS" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --phases "$PHASES" \
        --workers 1 \
        --suppress-health-check all \
        --request-timeout 15 \
        --no-color \
        --report junit --report-dir "$WORK_DIR/report-$name" \
        "$@") || status=1
}

FIXTURE_OPS='^(update_app|update_passthru|admin_set_app_active|delete_usermappings|delete_user|delete_app|delete_customer|admin_delete_customer|rotate_app_secret|rotate_customer_secret)$'
pass main --exclude-operation-id-regex "$FIXTURE_OPS"
pass fixture-edits --include-operation-id-regex '^(update_app|update_passthru|admin_set_app_active|delete_user)$'
pass delete-users --include-operation-id-regex '^delete_usermappings$'
pass teardown --include-operation-id-regex '^(delete_app|delete_customer|admin_delete_customer)$'
ST_CUSTOMER_TOKEN="$ROTATING_CUSTOMER_TOKEN" ST_APP_TOKEN="$ROTATING_APP_TOKEN" \
    pass rotations --include-operation-id-regex '^(rotate_app_secret|rotate_customer_secret)$'

# The server's own view (JSON lines): any 5xx answered, or any error logged, is shown here.
errors='"status":5[0-9]{2}[,}]|"level":"ERROR"'
if grep -qE "$errors" "$WORK_DIR/server.log" 2>/dev/null; then
    log "server log lines with a 5xx or an error:"
    grep -E "$errors" "$WORK_DIR/server.log" | head -20 >&2
fi

if [ "$status" -eq 0 ]; then
    log "fuzz: passed in $(($(date +%s) - SCRIPT_STARTED)) s"
else
    log "fuzz: FAILED in $(($(date +%s) - SCRIPT_STARTED)) s (server log kept in $WORK_DIR unless CI)"
fi
exit "$status"
