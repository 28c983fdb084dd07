#!/usr/bin/env python3
"""Writes postman/integrations-core.postman_collection.json (Postman collection v2.1).

Python 3 standard library only. Run it after changing a request below, and commit both files:

    python3 postman/generate.py

`postman/check.py` fails when the committed collection is not what this script writes, or when a
request is not an operation of the OpenAPI document (or a secured operation has no request).

The collection has one folder per resource. A collection-level test script checks the envelope of
every answer and, when the collection runs as a whole (Postman's Collection Runner, newman), walks
the requests in FLOW order across the folders with `setNextRequest`, so one run goes: create a
customer -> customer token -> ... -> delete the app -> delete the customer, against a fresh server.
"""

import json
import os
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "integrations-core.postman_collection.json")

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

# Collection variables: (name, default, description). newman's --env-var (or a Postman environment)
# overrides any of them; the test scripts fill in the empty ones as the run goes.
VARIABLES = [
    ("baseUrl", "http://127.0.0.1:8080/v2/integrations", "The server's /v2/integrations base URL."),
    ("adminToken", "", "The server's ADMIN_TOKEN (only `Create customer` uses it)."),
    ("webhookBase", "https://crm.example.com/exotel",
     "Where the app's webhooks go: popup -> {{webhookBase}}/popup, callback -> {{webhookBase}}/callback. "
     "Point it at a receiver you can watch (a webhook.site URL, or a local one with WEBHOOK_ALLOW_PRIVATE=true)."),
    ("exotelAccountSid", "postmandemo", "ExotelAccountSid of the sandbox app, and of its users."),
    ("virtualNumber", "08047112345", "The users' Exotel virtual number."),
    ("agentNumber", "9876543210", "The first user's phone (AgentNumber); the inbound call dials it."),
    ("customerId", "", "Set by `Create customer`."),
    ("customerSecret", "", "Set by `Create customer`."),
    ("customerToken", "", "Set by `Customer token`."),
    ("appId", "", "Set by `Create app`."),
    ("appSecret", "", "Set by `Create app`."),
    ("appToken", "", "Set by `App token`."),
    ("userId", "postman-agent-1", "AppUserId of the first user."),
    ("userId2", "postman-agent-2", "AppUserId of the second user."),
    ("callSid", "", "Set by `Outbound call`."),
    ("inboundCallSid", "", "Set before `Inbound passthru (popup)`."),
    ("deliveryId", "", "Set by `List webhook deliveries` to a finished delivery, if any."),
    ("deliveryPolls", "0", "How many times `List webhook deliveries` has polled (internal)."),
]

# Raw `Authorization` headers, as the SDK sends them, and the security scheme each one satisfies.
TOKENS = {
    "customer": "{{customerToken}}",
    "app": "{{appToken}}",
    "admin": "{{adminToken}}",
}

# ----------------------------------------------------------------------------------------------
# Test-script snippets.


def js(*lines):
    return list(lines)


def store(var, expr):
    return f"pm.collectionVariables.set({json.dumps(var)}, {expr});"


def data_test(title, *lines):
    """A pm.test over `data` (the envelope's Data)."""
    return js(
        f"pm.test({json.dumps(title)}, function () {{",
        "    const data = pm.response.json().Data;",
        *("    " + line for line in lines),
        "});",
    )


def request(name, method, path, *, token=None, query=None, body=None, tests=(), prerequest=(), description=""):
    """One request. `path` is below {{baseUrl}} and may hold `{{var}}` segments."""
    segments = [s for s in path.strip("/").split("/") if s]
    query = query or []
    raw = "{{baseUrl}}/" + "/".join(segments)
    if query:
        raw += "?" + "&".join(f"{k}={v}" for k, v in query)
    headers = []
    if token is not None:
        headers.append(OrderedDict([("key", "Authorization"), ("value", TOKENS[token]), ("type", "text")]))
    if body is not None:
        headers.append(OrderedDict([("key", "Content-Type"), ("value", "application/json"), ("type", "text")]))
    req = OrderedDict()
    req["method"] = method
    req["header"] = headers
    if body is not None:
        req["body"] = OrderedDict([
            ("mode", "raw"),
            ("raw", json.dumps(body, indent=2)),
            ("options", {"raw": {"language": "json"}}),
        ])
    url = OrderedDict([("raw", raw), ("host", ["{{baseUrl}}"]), ("path", segments)])
    if query:
        url["query"] = [OrderedDict([("key", k), ("value", v)]) for k, v in query]
    req["url"] = url
    if description:
        req["description"] = description
    item = OrderedDict([("name", name)])
    events = []
    if prerequest:
        events.append(OrderedDict([("listen", "prerequest"),
                                   ("script", OrderedDict([("type", "text/javascript"), ("exec", list(prerequest))]))]))
    if tests:
        events.append(OrderedDict([("listen", "test"),
                                   ("script", OrderedDict([("type", "text/javascript"), ("exec", list(tests))]))]))
    if events:
        item["event"] = events
    item["request"] = req
    item["response"] = []
    return item


def folder(name, description, items):
    return OrderedDict([("name", name), ("description", description), ("item", items)])


# ----------------------------------------------------------------------------------------------
# The requests, by resource.

TOKEN = folder("Token", "Trade an entity's Id and Secret for a token (`POST /token`).", [
    request(
        "Customer token", "POST", "/token",
        body={"Id": "{{customerId}}", "Secret": "{{customerSecret}}", "Entity": "customer"},
        tests=data_test("Data is a 48-character token; stored as customerToken",
                        "pm.expect(data).to.be.a('string').with.lengthOf(48);",
                        store("customerToken", "data")),
    ),
    request(
        "App token", "POST", "/token",
        body={"Id": "{{appId}}", "Secret": "{{appSecret}}", "Entity": "app"},
        tests=data_test("Data is a 48-character token; stored as appToken",
                        "pm.expect(data).to.be.a('string').with.lengthOf(48);",
                        store("appToken", "data")),
    ),
])

CUSTOMER = folder("Customer", "The calling customer. `Create customer` needs the operator's ADMIN_TOKEN "
                  "(set the `adminToken` variable).", [
    request(
        "Create customer", "POST", "/customer", token="admin",
        body={"CustomerName": "Postman Demo", "Email": "postman.{{$timestamp}}@example.com"},
        tests=data_test("Data is the customer, secret included; stored as customerId/customerSecret",
                        "pm.expect(data.CustomerID).to.be.a('string').and.not.empty;",
                        "pm.expect(data.CustomerSecret).to.be.a('string').and.not.empty;",
                        "pm.expect(data.CustomerName).to.eql('Postman Demo');",
                        "pm.expect(data.DeletedAt).to.eql(false);",
                        store("customerId", "data.CustomerID"),
                        store("customerSecret", "data.CustomerSecret")),
    ),
    request(
        "Get customer", "GET", "/customer", token="customer",
        tests=data_test("Data is this customer",
                        "pm.expect(data.CustomerID).to.eql(pm.collectionVariables.get('customerId'));",
                        "pm.expect(data.CustomerSecret).to.eql(pm.collectionVariables.get('customerSecret'));"),
    ),
    request(
        "Delete customer", "DELETE", "/customer", token="customer",
        description="Deletes the customer with all its apps, settings, users, calls and tokens. Irreversible.",
        tests=data_test("Data is 'Deleted Successfully'", "pm.expect(data).to.eql('Deleted Successfully');"),
    ),
])

APP = folder("App", "Apps under the customer. A `sandbox` app never calls Exotel: the server simulates it.", [
    request(
        "Create app", "POST", "/app", token="customer",
        body={"AppName": "Postman Demo", "ExotelAccountSid": "{{exotelAccountSid}}", "ExotelApiKey": "sandbox-key",
              "ExotelApiToken": "sandbox-token", "ExotelDomain": "sandbox", "IsActive": True},
        tests=data_test("Data is the new app, secrets included; stored as appId/appSecret",
                        "pm.expect(data.AppID).to.be.a('string').and.not.empty;",
                        "pm.expect(data.AppSecret).to.be.a('string').and.not.empty;",
                        "pm.expect(data.CustomerID).to.eql(pm.collectionVariables.get('customerId'));",
                        "pm.expect(data.ExotelDomain).to.eql('sandbox');",
                        "pm.expect(data.IsActive).to.eql(true);",
                        store("appId", "data.AppID"),
                        store("appSecret", "data.AppSecret")),
    ),
    request(
        "Get app (app token)", "GET", "/app", token="app", query=[("entity", "app")],
        tests=data_test("Data is the public app object, without secrets",
                        "pm.expect(data.AppID).to.eql(pm.collectionVariables.get('appId'));",
                        "pm.expect(data).to.not.have.any.keys('AppSecret', 'ExotelApiKey', 'ExotelApiToken');"),
    ),
    request(
        "Get apps (customer token)", "GET", "/app", token="customer", query=[("entity", "customer")],
        tests=data_test("Data is the customer's apps, this one among them",
                        "pm.expect(data).to.be.an('array');",
                        "pm.expect(data.map(a => a.AppID)).to.include(pm.collectionVariables.get('appId'));"),
    ),
    request(
        "Update app", "PUT", "/app", token="app",
        body={"AppName": "Postman Demo (renamed)", "IsActive": True},
        tests=data_test("Data is the updated public app object",
                        "pm.expect(data.AppName).to.eql('Postman Demo (renamed)');",
                        "pm.expect(data.ExotelDomain).to.eql('sandbox');"),
    ),
    request(
        "Delete app", "DELETE", "/app", token="app",
        description="Deletes the app with its settings, users, calls and tokens.",
        tests=data_test("Data is 'Deleted Successfully'", "pm.expect(data).to.eql('Deleted Successfully');"),
    ),
])


def setting_test(key, value_expr):
    return data_test(f"Data is the {key} setting",
                     f"pm.expect(data.Key).to.eql({json.dumps(key)});",
                     f"pm.expect(data.Value).to.eql({value_expr});",
                     "pm.expect(data.AppID).to.eql(pm.collectionVariables.get('appId'));")


SETTINGS = folder("App settings", "The app's webhook URLs and call options (`popup`, `incomingCallHangup`, "
                  "`missedCall`, `callback`, `playback`, `streaming`, `record`).", [
    request("Set popup URL", "POST", "/app_setting", token="app",
            body={"Key": "popup", "Value": "{{webhookBase}}/popup"},
            tests=setting_test("popup", "pm.variables.replaceIn('{{webhookBase}}/popup')")),
    request("Set callback URL", "POST", "/app_setting", token="app",
            body={"Key": "callback", "Value": "{{webhookBase}}/callback"},
            tests=setting_test("callback", "pm.variables.replaceIn('{{webhookBase}}/callback')")),
    request("Set record", "POST", "/app_setting", token="app",
            body={"Key": "record", "Value": True},
            tests=setting_test("record", "'true'")),
    request("Get one setting", "GET", "/app_setting", token="app", query=[("key", "popup")],
            tests=setting_test("popup", "pm.variables.replaceIn('{{webhookBase}}/popup')")),
    request("Get all settings", "GET", "/app_setting", token="app",
            tests=data_test("Data is every setting",
                            "pm.expect(data).to.be.an('array');",
                            "pm.expect(data.map(s => s.Key)).to.have.members(['popup', 'callback', 'record']);")),
    request("Delete one setting", "DELETE", "/app_setting", token="app", query=[("key", "record")],
            tests=data_test("Data is 'Deleted Successfully'", "pm.expect(data).to.eql('Deleted Successfully');")),
])


def user(user_id, name, email, agent):
    return {"AppUserId": user_id, "AppUsername": name, "Email": email, "ExotelAccountSid": "{{exotelAccountSid}}",
            "ExotelUserName": name, "AgentNumber": agent, "VirtualNumber": "{{virtualNumber}}"}


MAPPING_KEYS = ["CustomerId", "AppID", "AppUserId", "ExotelAccountSid", "ExotelUserId", "AppUsername",
                "ExotelUserName", "AgentNumber", "ActiveDeviceId", "PhoneDeviceID", "SipDeviceID", "VirtualNumber",
                "Email", "OutboundActive", "Role", "SipId", "SipSecret", "IsActive", "UserDetail", "CreatedAt",
                "UpdatedAt"]

USERS = folder("Users", "The app's agents (user mappings), provisioned on Exotel (or the sandbox).", [
    request(
        "Create users", "POST", "/usermapping", token="app",
        body=[user("{{userId}}", "Asha Rao", "asha.rao@example.com", "{{agentNumber}}"),
              user("{{userId2}}", "Ravi Kumar", "ravi.kumar@example.com", "9876543211")],
        tests=data_test("Data is the two mappings, provisioned with a SIP id",
                        "pm.expect(data).to.be.an('array').with.lengthOf(2);",
                        f"pm.expect(Object.keys(data[0])).to.eql({json.dumps(MAPPING_KEYS)});",
                        "pm.expect(data.map(u => u.AppUserId)).to.eql("
                        "[pm.collectionVariables.get('userId'), pm.collectionVariables.get('userId2')]);",
                        "data.forEach(u => pm.expect(u.SipId).to.match(/^sip:/));"),
    ),
    request(
        "Get one user", "GET", "/usermapping", token="app", query=[("user_id", "{{userId}}")],
        tests=data_test("Data is that user's mapping",
                        "pm.expect(data.AppUserId).to.eql(pm.collectionVariables.get('userId'));",
                        "pm.expect(data.ExotelAccountSid).to.eql(pm.collectionVariables.get('exotelAccountSid'));"),
    ),
    request(
        "List users (page)", "GET", "/usermapping", token="app", query=[("last_value", "0"), ("page_size", "20")],
        tests=data_test("Data is a page holding both users, the last one",
                        "pm.expect(data.Users.map(u => u.AppUserId)).to.eql("
                        "[pm.collectionVariables.get('userId'), pm.collectionVariables.get('userId2')]);",
                        "pm.expect(data.PageSize).to.eql(20);",
                        "pm.expect(data.LastEvaluatedValue).to.eql('');"),
    ),
    request(
        "Delete one user", "DELETE", "/users/{{userId2}}", token="app",
        tests=data_test("Data is 'Deleted Successfuly' (sic)", "pm.expect(data).to.eql('Deleted Successfuly');"),
    ),
    request(
        "Delete all users", "DELETE", "/usermapping", token="app",
        tests=data_test("Data is 'Deleted Successfuly' (sic)", "pm.expect(data).to.eql('Deleted Successfuly');"),
    ),
])

DEVICE = folder("Device", "Switch an agent between phone and SIP (`PUT /device`).", [
    request(
        "Switch to SIP", "PUT", "/device", token="app",
        body={"UserId": "{{userId}}", "DeviceName": "sip", "DeviceStatus": True},
        tests=data_test("The SIP device is the active one",
                        "pm.expect(data.AppUserId).to.eql(pm.collectionVariables.get('userId'));",
                        "pm.expect(data.ActiveDeviceId).to.eql(data.SipDeviceID);",
                        "pm.expect(data.ActiveDeviceId).to.not.eql('');"),
    ),
])

CALLS = folder("Calls", "Outbound calls (sandbox: simulated, with `answered` then `terminal` callbacks), reading a "
               "call back, and the inbound passthru Exotel's flow calls (no Authorization).", [
    request(
        "Outbound call", "POST", "/call/outbound_call", token="app",
        body={"to": "09876500001", "user_id": "{{userId}}", "app_id": "{{appId}}", "customer_id": "{{customerId}}"},
        tests=data_test("Data is the call payload; stored as callSid",
                        "pm.expect(data.CallSid).to.be.a('string').and.not.empty;",
                        "pm.expect(data.Direction).to.eql('outbound');",
                        "pm.expect(data.CallState).to.eql('active');",
                        "pm.expect(data.AppUserID).to.eql(pm.collectionVariables.get('userId'));",
                        "pm.expect(data.ToNumber).to.eql('09876500001');",
                        store("callSid", "data.CallSid")),
    ),
    request(
        "Get call", "GET", "/call/{{callSid}}", token="app",
        tests=data_test("Data is the call's latest payload",
                        "pm.expect(data.CallSid).to.eql(pm.collectionVariables.get('callSid'));",
                        "pm.expect(data.AppId).to.eql(pm.collectionVariables.get('appId'));"),
    ),
    request(
        "Inbound passthru (popup)", "GET", "/call/inbound_call/{{appId}}",
        query=[("type", "popup"), ("CallSid", "{{inboundCallSid}}"), ("CallFrom", "09999912345"),
               ("CallTo", "{{virtualNumber}}"), ("DialWhomNumber", "{{agentNumber}}"), ("Direction", "incoming"),
               ("Status", "free"), ("EventType", "Dial")],
        description="What an Exotel flow's Connect applet calls (\"Create popup\" URL): no Authorization header. "
                    "Queues the call payload to the app's `popup` URL.",
        prerequest=js("pm.collectionVariables.set('inboundCallSid', 'postman' + Date.now());"),
        tests=data_test("Data is 'Success'", "pm.expect(data).to.eql('Success');"),
    ),
])

DELIVERIES = folder("Webhook deliveries", "The app's webhook delivery log, and retrying a finished delivery.", [
    request(
        "List webhook deliveries", "GET", "/webhook_deliveries", token="app", query=[("page_size", "100")],
        description="Polls (up to 20 times, 500 ms apart) until a delivery has finished, and keeps its id as "
                    "deliveryId. A delivery finishes once the receiver at webhookBase answers: with no receiver "
                    "there, the run goes on without `Retry a delivery`.",
        prerequest=js(
            "// Give the dispatcher a moment between polls.",
            "if (Number(pm.collectionVariables.get('deliveryPolls') || 0) > 0) { setTimeout(function () {}, 500); }",
        ),
        tests=js(
            *data_test("Data is a page of this app's deliveries, the popup among them",
                       "pm.expect(data.Deliveries).to.be.an('array');",
                       "pm.expect(data.Deliveries.map(d => d.EventType)).to.include('popup');",
                       "pm.expect(data.PageSize).to.eql(100);"),
            "const deliveries = pm.response.json().Data.Deliveries || [];",
            "const finished = deliveries.find(d => d.Status !== 'pending');",
            "const polls = Number(pm.collectionVariables.get('deliveryPolls') || 0);",
            "const setNext = (pm.execution && pm.execution.setNextRequest) ? pm.execution.setNextRequest : postman.setNextRequest;",
            "if (finished) {",
            "    pm.collectionVariables.set('deliveryId', finished.DeliveryId);",
            "    pm.collectionVariables.set('deliveryPolls', '0');",
            "} else if (polls < 20) {",
            "    pm.collectionVariables.set('deliveryPolls', String(polls + 1));",
            "    setNext(pm.info.requestName);",
            "} else {",
            "    console.log('No webhook delivery finished (is a receiver listening at webhookBase?): skipping the retry.');",
            "    pm.collectionVariables.set('deliveryId', '');",
            "    pm.collectionVariables.set('deliveryPolls', '0');",
            "    setNext('Delete one user');",
            "}",
        ),
    ),
    request(
        "Retry a delivery", "POST", "/webhook_deliveries/{{deliveryId}}/retry", token="app",
        tests=data_test("Data is the delivery, pending again",
                        "pm.expect(data.DeliveryId).to.eql(pm.collectionVariables.get('deliveryId'));",
                        "pm.expect(data.Status).to.eql('pending');"),
    ),
])

FOLDERS = [CUSTOMER, TOKEN, APP, SETTINGS, USERS, DEVICE, CALLS, DELIVERIES]

# The order of one run, across the folders. It starts with the collection's first request.
FLOW = [
    "Create customer", "Customer token", "Get customer",
    "Create app", "App token", "Get app (app token)", "Get apps (customer token)", "Update app",
    "Set popup URL", "Set callback URL", "Set record", "Get one setting", "Get all settings", "Delete one setting",
    "Create users", "Get one user", "List users (page)", "Switch to SIP",
    "Outbound call", "Get call", "Inbound passthru (popup)",
    "List webhook deliveries", "Retry a delivery",
    "Delete one user", "Delete all users", "Delete app", "Delete customer",
]

ENVELOPE_KEYS = ["RequestId", "Status", "Code", "Error", "Data"]

COLLECTION_TEST = js(
    "// Every answer of /v2/integrations is the envelope: {RequestId, Status, Code, Error, Data}, in that order.",
    "pm.test('The answer is the success envelope', function () {",
    "    const body = pm.response.json();",
    f"    pm.expect(Object.keys(body)).to.eql({json.dumps(ENVELOPE_KEYS)});",
    "    pm.expect(body.Status, body.Error).to.eql('Success');",
    "    pm.expect(body.Code).to.eql(pm.response.code);",
    "    pm.expect(pm.response.code).to.eql(200);",
    "    pm.expect(body.Error).to.eql('');",
    "    pm.expect(pm.response.headers.get('X-Request-Id')).to.eql(body.RequestId);",
    "});",
    "// A whole-collection run walks FLOW across the folders (a request's own script may override this).",
    f"const FLOW = {json.dumps(FLOW)};",
    "const at = FLOW.indexOf(pm.info.requestName);",
    "if (at >= 0) {",
    "    const setNext = (pm.execution && pm.execution.setNextRequest) ? pm.execution.setNextRequest : postman.setNextRequest;",
    "    setNext(at + 1 < FLOW.length ? FLOW[at + 1] : null);",
    "}",
)

DESCRIPTION = """\
integrations-core: Exotel's integrations core v2 API, reimplemented.

Run it top to bottom (Collection Runner, or `newman run`) against a fresh server. It creates a customer \
(with the server's ADMIN_TOKEN: set `adminToken`), trades its Id and Secret for a customer token, creates a \
`sandbox` app and an app token, sets the app's webhooks, maps two users, switches one to SIP, places an \
outbound call (simulated), reads it back, plays Exotel's inbound popup passthru, reads the webhook delivery log \
(and retries a finished delivery), then deletes everything it made.

The folders group the requests by resource; a whole run follows the order above across them (the collection's \
test script calls setNextRequest). Each request stores what the next ones need (tokens, ids) in the collection \
variables, and checks the envelope: `Status` `Success`, `Code` 200, `Error` "", `X-Request-Id` = `RequestId`.

Tokens travel raw in `Authorization`, as Exotel's SDK sends them. Set `baseUrl` to your server's \
`/v2/integrations` URL, and `webhookBase` to a receiver you can watch.

Generated by postman/generate.py; postman/check.py keeps it in step with the server's OpenAPI document \
(`integrations-core openapi`, or GET /v2/integrations/openapi.json)."""


def collection():
    names = [item["name"] for f in FOLDERS for item in f["item"]]
    assert len(names) == len(set(names)), "request names must be unique (setNextRequest goes by name)"
    missing = [n for n in FLOW if n not in names]
    assert not missing, f"FLOW names unknown requests: {missing}"
    unused = [n for n in names if n not in FLOW]
    assert not unused, f"requests missing from FLOW: {unused}"
    assert FOLDERS[0]["item"][0]["name"] == FLOW[0], "a run starts with the collection's first request"
    return OrderedDict([
        ("info", OrderedDict([
            ("_postman_id", "6b1f7f2e-3d0a-4c39-9a52-7c0d4b1e2a10"),
            ("name", "integrations-core"),
            ("description", DESCRIPTION),
            ("schema", SCHEMA_URL),
        ])),
        ("item", FOLDERS),
        ("auth", {"type": "noauth"}),
        ("event", [OrderedDict([("listen", "test"),
                                ("script", OrderedDict([("type", "text/javascript"), ("exec", COLLECTION_TEST)]))])]),
        ("variable", [OrderedDict([("key", k), ("value", v), ("type", "string"), ("description", d)])
                      for k, v, d in VARIABLES]),
    ])


def render():
    return json.dumps(collection(), indent=2, ensure_ascii=False) + "\n"


def main():
    text = render()
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUTPUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
