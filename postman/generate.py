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
    ("adminToken", "", "The server's ADMIN_TOKEN (`Create customer` and the Operator folder use it)."),
    ("webhookBase", "https://crm.example.com/exotel",
     "Where the app's webhooks go: popup -> {{webhookBase}}/popup, callback -> {{webhookBase}}/callback, "
     "incomingCallHangup -> {{webhookBase}}/incomingCallHangup, missedCall -> {{webhookBase}}/missedCall. "
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
    ("passthruKey", "", "Set by `Get passthru URLs`: the key the app's passthru URLs carry."),
    ("deliveryId", "", "Set by `List webhook deliveries` to a finished delivery, if any."),
    ("deliveryPolls", "0", "How many times `List webhook deliveries` has polled (internal)."),
    ("simCallSid", "", "Set by `Simulate an answered call`: the simulated call's CallSid."),
    ("simMissedCallSid", "", "Set by `Simulate a missed call`."),
    ("simDeliveryId", "", "Set by `Call timeline (events)`: the DeliveryId of the simulated call's hangup webhook."),
    ("eventPolls", "0", "How many times `Call timeline (events)` has polled (internal)."),
    ("recoverSince", "", "Set before `Recover dead deliveries`: an hour ago, RFC 3339."),
    ("spareCustomerId", "", "Set by `Create a spare customer (operator)`; `Delete a customer (operator)` removes it."),
    ("consoleLinkCode", "", "Set by `Create a console link`: the code after `#link=` in its Url."),
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
               "call back, the inbound passthru Exotel's flow calls (no Authorization), and the app's passthru key "
               "(the signed passthru: the URLs carry it, and the app may require it).", [
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
    request(
        "Get passthru URLs", "GET", "/app/passthru", token="app",
        description="The three passthru URLs to paste into the app's Exotel flow, each carrying the app's key "
                    "(`key=`), and whether a passthru must carry it (not by default, as Exotel's).",
        tests=data_test("Data is the passthru URLs with the app's key; stored as passthruKey",
                        "pm.expect(Object.keys(data)).to.eql(['Required', 'Popup', 'IncomingCallHangup', 'MissedCall']);",
                        "pm.expect(data.Required).to.eql(false);",
                        "const key = data.Popup.split('&key=')[1];",
                        "pm.expect(key).to.match(/^[0-9a-f]{64}$/);",
                        "pm.expect(data.Popup).to.include('/call/inbound_call/' + pm.collectionVariables.get('appId') + '?type=popup&key=');",
                        store("passthruKey", "key")),
    ),
    request(
        "Require the passthru key", "PUT", "/app/passthru", token="app", body={"Required": True},
        description="From now on a passthru without the app's key is a 401 and records nothing.",
        tests=data_test("Data says the key is required, with the same key",
                        "pm.expect(data.Required).to.eql(true);",
                        "pm.expect(data.Popup.split('&key=')[1]).to.eql(pm.collectionVariables.get('passthruKey'));"),
    ),
    request(
        "Inbound passthru (signed popup)", "GET", "/call/inbound_call/{{appId}}",
        query=[("type", "popup"), ("key", "{{passthruKey}}"), ("CallSid", "{{inboundCallSid}}-signed"),
               ("CallFrom", "09999912345"), ("CallTo", "{{virtualNumber}}"), ("DialWhomNumber", "{{agentNumber}}"),
               ("Status", "busy"), ("EventType", "Dial")],
        description="The popup URL of `Get passthru URLs`, as the Exotel flow calls it once the key is required.",
        tests=data_test("Data is 'Success'", "pm.expect(data).to.eql('Success');"),
    ),
    request(
        "Renew the passthru key, unrequired", "PUT", "/app/passthru", token="app",
        body={"Required": False, "RenewKey": True},
        description="A new key (the old one stops at once), and unsigned passthrus let in again.",
        tests=data_test("Data carries a new key, not required",
                        "pm.expect(data.Required).to.eql(false);",
                        "pm.expect(data.Popup.split('&key=')[1]).to.not.eql(pm.collectionVariables.get('passthruKey'));",
                        store("passthruKey", "data.Popup.split('&key=')[1]")),
    ),
])

# Where `List webhook deliveries` goes when no delivery finished (skipping `Retry a delivery`).
AFTER_RETRY = "Set incomingCallHangup URL"

DELIVERIES = folder("Webhook deliveries", "The app's webhook delivery log, and retrying a finished delivery.", [
    request(
        "List webhook deliveries", "GET", "/webhook_deliveries", token="app", query=[("page_size", "100")],
        description="Polls (up to 20 times, 500 ms apart) until a delivery has finished, and keeps its id as "
                    "deliveryId. A delivery finishes once the receiver at webhookBase answers: with no receiver "
                    f"there, the run goes on without `Retry a delivery` (at `{AFTER_RETRY}`).",
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
            f"    setNext({json.dumps(AFTER_RETRY)});",
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

# How often, and how far apart, `Call timeline (events)` polls until the simulated call has hung up
# and its webhooks have finished. The simulator plays its steps SANDBOX_CALL_STEP_MS apart (default
# 2000 ms: an answered call hangs up about 4 s after it starts), so 40 polls 500 ms apart leave room.
EVENT_POLLS = 40
EVENT_POLL_MS = 500

DELIVERY_KEYS = ["DeliveryId", "EventType", "Url", "CallSid", "Status", "Attempts", "LastResponseCode", "LastError",
                 "NextAttemptAt", "CreatedAt", "DeliveredAt"]
ATTEMPT_KEYS = ["Attempt", "At", "ResponseCode", "DurationMs", "Error", "ResponseBody"]
EVENT_KEYS = ["EventType", "ReceivedAt", "Payload", "Deliveries"]

SANDBOX = folder(
    "Develop against the sandbox",
    "The CRM developer's loop on a `sandbox` app, with no Exotel account and no caller: point the call webhooks "
    "at your receiver, test a URL, simulate an answered and a missed incoming call, read the calls and one call's "
    "timeline, read a webhook's attempts, filter the delivery log by call, and re-send what died. The simulator "
    "plays its steps SANDBOX_CALL_STEP_MS apart (default 2000 ms), so `Call timeline (events)` polls until the "
    "answered call has hung up. Needs a mapped agent (the `Users` folder's `Create users`).",
    [
        request("Set incomingCallHangup URL", "POST", "/app_setting", token="app",
                body={"Key": "incomingCallHangup", "Value": "{{webhookBase}}/incomingCallHangup"},
                description="Where the server POSTs the call payload when an answered incoming call hangs up "
                            "(`CallDetail` `terminal`, `TotalDuration`, `CallRecordings`).",
                tests=setting_test("incomingCallHangup",
                                   "pm.variables.replaceIn('{{webhookBase}}/incomingCallHangup')")),
        request("Set missedCall URL", "POST", "/app_setting", token="app",
                body={"Key": "missedCall", "Value": "{{webhookBase}}/missedCall"},
                description="Where the server POSTs the call payload when an incoming call ends unanswered.",
                tests=setting_test("missedCall", "pm.variables.replaceIn('{{webhookBase}}/missedCall')")),
        request(
            "Test the popup URL", "POST", "/app_setting/test", token="app", body={"Key": "popup"},
            description="Sends one signed sample call payload (its `CallSid` starts with `test`) to the `popup` "
                        "URL now, and answers with what your receiver did: `ResponseCode` (null when no HTTP "
                        "answer came), `DurationMs`, `Error` (\"\" on a 2xx) and the first 4 KiB of "
                        "`ResponseBody`. The answer is 200 even when the receiver failed: read `ResponseCode` and "
                        "`Error`. Logged in the delivery log with `EventType` `test`, never retried. `Key` is one "
                        "of `popup`, `incomingCallHangup`, `missedCall`, `callback` (an unset key: 404).",
            tests=js(
                *data_test("Data is the single attempt's outcome, at the popup URL",
                           f"pm.expect(Object.keys(data)).to.eql({json.dumps(['DeliveryId', 'Url', 'ResponseCode', 'DurationMs', 'Error', 'ResponseBody'])});",
                           "pm.expect(data.DeliveryId).to.be.a('string').and.not.empty;",
                           "pm.expect(data.Url).to.eql(pm.variables.replaceIn('{{webhookBase}}/popup'));",
                           "pm.expect(data.DurationMs).to.be.a('number');",
                           "pm.expect(data.ResponseBody).to.be.a('string');",
                           "const ok = data.ResponseCode !== null && data.ResponseCode >= 200 && data.ResponseCode < 300;",
                           "// Error is \"\" exactly when the receiver answered 2xx.",
                           "pm.expect(data.Error === '', data.Error).to.eql(ok);"),
                "const tested = pm.response.json().Data || {};",
                "console.log('popup URL test:', tested.ResponseCode, tested.Error || 'ok', tested.DurationMs + ' ms');",
            ),
        ),
        request(
            "Simulate an answered call", "POST", "/sandbox/inbound_call", token="app",
            body={"from": "+919876500001", "user_id": "{{userId}}", "outcome": "answered", "talk_seconds": 42},
            description="Simulates a customer (`from`) calling the agent `user_id` (default: the app's first "
                        "mapped agent), through the same code path as Exotel's passthru requests. The server then "
                        "plays, SANDBOX_CALL_STEP_MS apart: a `popup` (`CallDetail` `dial`), a `popup` (`answered`) "
                        "and an `incomingCallHangup` (`terminal`, `TotalDuration` = `talk_seconds`, a "
                        "`CallRecordings` URL), each one an ordinary signed webhook. Answers at once with the first "
                        "popup's call payload; its `CallSid` (stored as simCallSid) names the call. Sandbox apps "
                        "only (a live app: 400).",
            tests=data_test("Data is the first popup's call payload; stored as simCallSid",
                            "pm.expect(data.CallSid).to.be.a('string').and.not.empty;",
                            "pm.expect(data.Direction).to.eql('incoming');",
                            "pm.expect(data.CallState).to.eql('active');",
                            "pm.expect(data.CallDetail).to.eql('dial');",
                            "pm.expect(data.AppUserID).to.eql(pm.collectionVariables.get('userId'));",
                            "pm.expect(data.AppId).to.eql(pm.collectionVariables.get('appId'));",
                            store("simCallSid", "data.CallSid")),
        ),
        request(
            "Simulate a missed call", "POST", "/sandbox/inbound_call", token="app",
            body={"from": "+919876500002", "outcome": "missed"},
            description="The same with `outcome` `missed`: a `popup` (`dial`), then a `missedCall` webhook "
                        "(`CallState` `terminal`). No `user_id`: the app's first mapped agent is called. "
                        "(`talk_seconds` with `missed` is a 400.)",
            tests=data_test("Data is the first popup's call payload; stored as simMissedCallSid",
                            "pm.expect(data.CallSid).to.be.a('string').and.not.empty;",
                            "pm.expect(data.CallSid).to.not.eql(pm.collectionVariables.get('simCallSid'));",
                            "pm.expect(data.Direction).to.eql('incoming');",
                            "pm.expect(data.CallDetail).to.eql('dial');",
                            "pm.expect(data.AppUserID).to.eql(pm.collectionVariables.get('userId'));",
                            store("simMissedCallSid", "data.CallSid")),
        ),
        request(
            "List incoming calls", "GET", "/calls", token="app",
            query=[("direction", "incoming"), ("page_size", "20")],
            description="The app's calls, newest first, each as its latest call payload. `direction` is "
                        "`incoming` or `outbound` (omit it for both). Paged backwards: pass the answer's "
                        "`LastEvaluatedValue` as `last_value` for older calls (`\"\"` on the last page); "
                        "`page_size` 1–100, default 20.",
            tests=data_test("Data lists the incoming calls newest first: the missed call, the answered one, the "
                            "passthru popup",
                            "pm.expect(data.Calls).to.be.an('array');",
                            "pm.expect(data.PageSize).to.eql(20);",
                            "data.Calls.forEach(c => pm.expect(c.Direction).to.eql('incoming'));",
                            "const sids = data.Calls.map(c => c.CallSid);",
                            "const order = ['simMissedCallSid', 'simCallSid', 'inboundCallSid']"
                            ".map(v => sids.indexOf(pm.collectionVariables.get(v)));",
                            "order.forEach(i => pm.expect(i).to.be.at.least(0));",
                            "pm.expect(order[0]).to.be.below(order[1]);",
                            "pm.expect(order[1]).to.be.below(order[2]);",
                            "pm.expect(sids).to.not.include(pm.collectionVariables.get('callSid'));"),
        ),
        request(
            "Call timeline (events)", "GET", "/call/{{simCallSid}}/events", token="app",
            description="One call's story, oldest first: each event (`popup`, `incomingcallhungup`, `missedcall`; "
                        "`outbound_call`, `answered`, `terminal` for outbound calls) with `ReceivedAt`, the call "
                        "payload as it stood after it, and the webhook deliveries it queued (with their status). "
                        f"In a run it polls (up to {EVENT_POLLS} times, {EVENT_POLL_MS} ms apart) until the "
                        "simulated call has hung up and its webhooks have finished, then stores the hangup "
                        "webhook's DeliveryId as simDeliveryId.",
            prerequest=js(
                "// Give the simulator (SANDBOX_CALL_STEP_MS) and the dispatcher a moment between polls.",
                "if (Number(pm.collectionVariables.get('eventPolls') || 0) > 0) "
                f"{{ setTimeout(function () {{}}, {EVENT_POLL_MS}); }}",
            ),
            tests=js(
                *data_test("Data is the simulated call's timeline, oldest first, from its first popup",
                           "pm.expect(data.CallSid).to.eql(pm.collectionVariables.get('simCallSid'));",
                           "pm.expect(data.Events).to.be.an('array').that.is.not.empty;",
                           "pm.expect(data.Events[0].EventType).to.eql('popup');",
                           "pm.expect(data.Events[0].Payload.CallDetail).to.eql('dial');",
                           "data.Events.forEach(e => {",
                           f"    pm.expect(Object.keys(e)).to.eql({json.dumps(EVENT_KEYS)});",
                           "    pm.expect(e.Payload.CallSid).to.eql(data.CallSid);",
                           "    pm.expect(e.Deliveries).to.be.an('array');",
                           "});"),
                "const events = (pm.response.json().Data || {}).Events || [];",
                "const hangup = events.find(e => e.EventType === 'incomingcallhungup');",
                "const pending = events.some(e => (e.Deliveries || []).some(d => d.Status === 'pending'));",
                "const polls = Number(pm.collectionVariables.get('eventPolls') || 0);",
                "const setNext = (pm.execution && pm.execution.setNextRequest) ? pm.execution.setNextRequest : postman.setNextRequest;",
                f"if ((!hangup || pending) && polls < {EVENT_POLLS}) {{",
                "    pm.collectionVariables.set('eventPolls', String(polls + 1));",
                "    setNext(pm.info.requestName);",
                "} else {",
                "    pm.collectionVariables.set('eventPolls', '0');",
                "    pm.test('The call rang, was answered and hung up, each step with its webhook', function () {",
                "        pm.expect(events.map(e => e.EventType)).to.eql(['popup', 'popup', 'incomingcallhungup']);",
                "        pm.expect(events.map(e => e.Payload.CallDetail)).to.eql(['dial', 'answered', 'terminal']);",
                "        pm.expect(hangup.Payload.CallState).to.eql('terminal');",
                "        pm.expect(hangup.Payload.TotalDuration).to.eql(42);",
                "        pm.expect(events.map(e => e.Deliveries.map(d => d.EventType))).to.eql("
                "[['popup'], ['popup'], ['incomingCallHangup']]);",
                "    });",
                "    if (pending) {",
                "        console.log('A webhook of the simulated call is still pending (is a receiver listening at webhookBase?).');",
                "    }",
                "    const delivery = hangup && hangup.Deliveries[0];",
                "    pm.collectionVariables.set('simDeliveryId', delivery ? delivery.DeliveryId : '');",
                "}",
            ),
        ),
        request(
            "Get a delivery (attempt log)", "GET", "/webhook_deliveries/{{simDeliveryId}}", token="app",
            description="One webhook delivery (here the simulated call's `incomingCallHangup`): the delivery log "
                        "entry, then `Payload` (the JSON body sent) and `AttemptLog`, oldest first: each attempt's "
                        "`At`, `ResponseCode` (null when no HTTP answer came), `DurationMs`, `Error` (\"\" on "
                        "success) and the first 4 KiB of your receiver's `ResponseBody`. The `DeliveryId` is the "
                        "`webhook-id` header your receiver got.",
            tests=data_test("Data is the hangup webhook, its body and its attempts",
                            f"pm.expect(Object.keys(data)).to.eql({json.dumps(DELIVERY_KEYS + ['Payload', 'AttemptLog'])});",
                            "pm.expect(data.DeliveryId).to.eql(pm.collectionVariables.get('simDeliveryId'));",
                            "pm.expect(data.EventType).to.eql('incomingCallHangup');",
                            "pm.expect(data.CallSid).to.eql(pm.collectionVariables.get('simCallSid'));",
                            "pm.expect(data.Url).to.eql(pm.variables.replaceIn('{{webhookBase}}/incomingCallHangup'));",
                            "pm.expect(data.Payload.CallSid).to.eql(data.CallSid);",
                            "pm.expect(data.Payload.CallDetail).to.eql('terminal');",
                            "pm.expect(data.AttemptLog).to.be.an('array').with.lengthOf(data.Attempts);",
                            "data.AttemptLog.forEach((a, i) => {",
                            f"    pm.expect(Object.keys(a)).to.eql({json.dumps(ATTEMPT_KEYS)});",
                            "    pm.expect(a.Attempt).to.eql(i + 1);",
                            "});",
                            "if (data.Status === 'delivered') {",
                            "    const last = data.AttemptLog[data.AttemptLog.length - 1];",
                            "    pm.expect(last.ResponseCode).to.be.within(200, 299);",
                            "    pm.expect(last.Error).to.eql('');",
                            "}"),
        ),
        request(
            "Deliveries of the simulated call", "GET", "/webhook_deliveries", token="app",
            query=[("call_sid", "{{simCallSid}}"), ("page_size", "100")],
            description="The delivery log narrowed to one call. Other filters: `status` (`pending`, `delivered`, "
                        "`dead`, `expired`), `event_type` (`popup`, `incomingCallHangup`, `missedCall`, "
                        "`callback`, `test`), `since` and `until` (RFC 3339 on `CreatedAt`, inclusive, whole "
                        "seconds); a bad value is a 400 naming the parameter.",
            tests=data_test("Data is the simulated call's three webhooks, and only those",
                            "pm.expect(data.Deliveries).to.be.an('array');",
                            "data.Deliveries.forEach(d => {",
                            f"    pm.expect(Object.keys(d)).to.eql({json.dumps(DELIVERY_KEYS)});",
                            "    pm.expect(d.CallSid).to.eql(pm.collectionVariables.get('simCallSid'));",
                            "});",
                            "pm.expect(data.Deliveries.map(d => d.EventType)).to.have.members("
                            "['popup', 'popup', 'incomingCallHangup']);",
                            "pm.expect(data.Deliveries.map(d => d.DeliveryId)).to.include("
                            "pm.collectionVariables.get('simDeliveryId'));"),
        ),
        request(
            "Recover dead deliveries", "POST", "/webhook_deliveries/recover", token="app",
            body={"Since": "{{recoverSince}}", "Statuses": ["dead"]},
            description="After fixing your receiver: queues again every finished delivery created in "
                        "[`Since`, `Until`] (`Until` defaults to now) whose status is in `Statuses` (default "
                        "`[\"dead\"]`; also `expired`, `delivered`). Each goes out under its own `DeliveryId` (the "
                        "`webhook-id`, so you can drop duplicates) with the whole retry schedule ahead of it. "
                        "Answers `{\"Queued\": n}` (0 when nothing died). `test` deliveries are never recovered; a "
                        "window longer than WEBHOOK_RETENTION_DAYS is a 400. The pre-request script sets `Since` to "
                        "an hour ago.",
            prerequest=js(
                "// Since: an hour ago, RFC 3339 in UTC (whole seconds).",
                "const since = new Date(Date.now() - 60 * 60 * 1000).toISOString().replace(/\\.\\d{3}Z$/, 'Z');",
                store("recoverSince", "since"),
            ),
            tests=data_test("Data is the number of deliveries queued again",
                            "pm.expect(Object.keys(data)).to.eql(['Queued']);",
                            "pm.expect(data.Queued).to.be.a('number').and.at.least(0);",
                            "pm.expect(Number.isInteger(data.Queued)).to.eql(true);"),
        ),
    ],
)

ADMIN_CUSTOMER_KEYS = ["CustomerID", "CustomerName", "Email", "CustomerSetting", "CreatedAt", "UpdatedAt",
                       "DeletedAt", "AppCount"]

OPERATOR = folder(
    "Operator",
    "The operator's view across tenants (`/admin/...`, the server's ADMIN_TOKEN: set `adminToken`): customers "
    "with their app counts, one customer with its apps, switching any app off and on, the webhook queue's health, "
    "and deleting a customer (with everything it owns). The same operations are CLI commands: `integrations-core "
    "customer list|show|delete`, `app activate|deactivate`, `health`.",
    [
        request(
            "Create a spare customer (operator)", "POST", "/customer", token="admin",
            body={"CustomerName": "Postman Spare", "Email": "postman.spare.{{$timestamp}}@example.com"},
            description="A second customer, for `Delete a customer (operator)` to remove at the end of the run.",
            tests=data_test("Data is the customer; stored as spareCustomerId",
                            "pm.expect(data.CustomerID).to.be.a('string').and.not.empty;",
                            store("spareCustomerId", "data.CustomerID")),
        ),
        request(
            "List customers (operator)", "GET", "/admin/customers", token="admin",
            query=[("page_size", "100")],
            description="Every customer in creation order, a page at a time (`last_value` = the previous page's "
                        "`LastEvaluatedValue`, `\"\"` on the last page; `page_size` 1-100), each without its "
                        "secret and with its `AppCount`.",
            tests=data_test("Data is a page of customers without secrets",
                            "pm.expect(Object.keys(data)).to.eql(['Customers', 'PageSize', 'LastEvaluatedValue']);",
                            "pm.expect(data.PageSize).to.eql(data.Customers.length);",
                            "data.Customers.forEach(c => {",
                            f"    pm.expect(Object.keys(c)).to.eql({json.dumps(ADMIN_CUSTOMER_KEYS)});",
                            "});"),
        ),
        request(
            "Show customer (operator)", "GET", "/admin/customers/{{customerId}}", token="admin",
            description="One customer without its secret, with `AppCount` and its apps (public objects), "
                        "oldest first. An unknown CustomerID is a 404.",
            tests=data_test("Data is this customer with its app",
                            "pm.expect(data.CustomerID).to.eql(pm.collectionVariables.get('customerId'));",
                            "pm.expect(data).to.not.have.any.keys('CustomerSecret');",
                            "pm.expect(data.AppCount).to.eql(data.Apps.length);",
                            "pm.expect(data.Apps.map(a => a.AppID)).to.include(pm.collectionVariables.get('appId'));"),
        ),
        request(
            "Switch the app off (operator)", "PUT", "/admin/apps/{{appId}}", token="admin",
            body={"IsActive": False},
            description="Switches any app off (or on with `true`), whichever customer it belongs to: what to do "
                        "with a misbehaving tenant. Answers the public app object.",
            tests=data_test("Data is the app, now inactive",
                            "pm.expect(data.AppID).to.eql(pm.collectionVariables.get('appId'));",
                            "pm.expect(data.IsActive).to.eql(false);"),
        ),
        request(
            "Switch the app on again (operator)", "PUT", "/admin/apps/{{appId}}", token="admin",
            body={"IsActive": True},
            tests=data_test("Data is the app, active again", "pm.expect(data.IsActive).to.eql(true);"),
        ),
        request(
            "Console link for the app (operator)", "POST", "/admin/apps/{{appId}}/console_link", token="admin",
            description="The operator's way into one app's console, to look into its deliveries without its "
                        "secret: the same single-use link, valid 10 minutes, as the app's own `Create a console "
                        "link`. Append `&next=/app/deliveries?status=dead` to open its dead deliveries.",
            tests=data_test("Data is a console link",
                            "pm.expect(Object.keys(data)).to.eql(['Url', 'ExpiresAt']);",
                            "pm.expect(data.Url).to.include('/console/#link=');"),
        ),
        request(
            "Webhook health (operator)", "GET", "/admin/health", token="admin",
            description="The queue's depth, the age of its oldest pending delivery (0 when none), and up to 20 "
                        "apps with the most deliveries that went dead in the last 24 h and are still dead.",
            tests=data_test("Data is the queue and the failing apps",
                            "pm.expect(Object.keys(data)).to.eql(['Database', 'QueueDepth', "
                            "'OldestPendingAgeSeconds', 'FailingApps']);",
                            "pm.expect(data.Database).to.eql('ok');",
                            "pm.expect(data.FailingApps).to.be.an('array');",
                            "data.FailingApps.forEach(a => pm.expect(Object.keys(a)).to.eql("
                            "['AppID', 'CustomerID', 'Dead24h', 'Pending', 'LastError']));"),
        ),
        request(
            "Delete a customer (operator)", "DELETE", "/admin/customers/{{spareCustomerId}}", token="admin",
            description="Deletes the customer with all its apps, settings, users, calls and tokens, as "
                        "`DELETE /customer` does. Irreversible.",
            tests=data_test("Data is 'Deleted Successfully'", "pm.expect(data).to.eql('Deleted Successfully');"),
        ),
    ],
)

SECRETS = folder(
    "Secrets",
    "Rotate a leaked or old secret. `Rotate app secret`: a new AppSecret; for `GraceHours` (0-168, default 24) "
    "every webhook carries two signatures in `webhook-signature`, the new secret's first, so receivers can switch "
    "without losing a webhook (`GraceHours: 0` drops the old one at once, for a leak). `Rotate customer secret`: a "
    "new CustomerSecret, the old one dead at once. `RevokeTokens: true` also kills the tokens minted earlier "
    "(the caller's included); this run keeps them (`false`) and mints fresh ones with the new secrets.",
    [
        request(
            "Rotate app secret", "POST", "/app/secret", token="app",
            body={"GraceHours": 24, "RevokeTokens": False},
            tests=data_test("Data is the new secret and the end of the old one's grace; stored as appSecret",
                            "pm.expect(Object.keys(data)).to.eql(['AppID', 'AppSecret', 'PreviousSecretExpiresAt']);",
                            "pm.expect(data.AppID).to.eql(pm.collectionVariables.get('appId'));",
                            "pm.expect(data.AppSecret).to.be.a('string').and.not.eql(pm.collectionVariables.get('appSecret'));",
                            "pm.expect(data.PreviousSecretExpiresAt).to.be.a('string');",
                            store("appSecret", "data.AppSecret")),
        ),
        request(
            "App token (rotated secret)", "POST", "/token",
            body={"Id": "{{appId}}", "Secret": "{{appSecret}}", "Entity": "app"},
            tests=data_test("The new secret mints a token; stored as appToken",
                            "pm.expect(data).to.be.a('string').with.lengthOf(48);",
                            store("appToken", "data")),
        ),
        request(
            "Rotate customer secret", "POST", "/customer/secret", token="customer",
            body={"RevokeTokens": False},
            tests=data_test("Data is the new secret; stored as customerSecret",
                            "pm.expect(Object.keys(data)).to.eql(['CustomerID', 'CustomerSecret']);",
                            "pm.expect(data.CustomerID).to.eql(pm.collectionVariables.get('customerId'));",
                            "pm.expect(data.CustomerSecret).to.be.a('string').and.not.eql(pm.collectionVariables.get('customerSecret'));",
                            store("customerSecret", "data.CustomerSecret")),
        ),
        request(
            "Customer token (rotated secret)", "POST", "/token",
            body={"Id": "{{customerId}}", "Secret": "{{customerSecret}}", "Entity": "customer"},
            tests=data_test("The new secret mints a token; stored as customerToken",
                            "pm.expect(data).to.be.a('string').with.lengthOf(48);",
                            store("customerToken", "data")),
        ),
    ],
)

CONSOLE = folder(
    "Console",
    "The web console is at `/console` (open it in a browser). `Create a console link`: a single-use link, valid "
    "10 minutes, that opens the console signed in as the app without its secret; the console trades its code "
    "with `Exchange a console link` for an app token valid 12 hours. A second exchange of the code is a 401.",
    [
        request(
            "Create a console link", "POST", "/app/console_link", token="app",
            tests=data_test("Data is the link and its expiry; its code stored as consoleLinkCode",
                            "pm.expect(Object.keys(data)).to.eql(['Url', 'ExpiresAt']);",
                            "pm.expect(data.Url).to.include('/console/#link=');",
                            "pm.collectionVariables.set('consoleLinkCode', data.Url.split('#link=')[1]);"),
        ),
        request(
            "Exchange a console link", "POST", "/console_link/exchange",
            body={"Code": "{{consoleLinkCode}}"},
            tests=data_test("Data is an app token (48 characters)",
                            "pm.expect(data).to.be.a('string').with.lengthOf(48);"),
        ),
    ],
)

FOLDERS = [CUSTOMER, TOKEN, APP, SETTINGS, USERS, DEVICE, CALLS, DELIVERIES, SANDBOX, OPERATOR, SECRETS, CONSOLE]

# The order of one run, across the folders. It starts with the collection's first request.
FLOW = [
    "Create customer", "Customer token", "Get customer",
    "Create app", "App token", "Get app (app token)", "Get apps (customer token)", "Update app",
    "Set popup URL", "Set callback URL", "Set record", "Get one setting", "Get all settings", "Delete one setting",
    "Create users", "Get one user", "List users (page)", "Switch to SIP",
    "Outbound call", "Get call", "Inbound passthru (popup)",
    "Get passthru URLs", "Require the passthru key", "Inbound passthru (signed popup)",
    "Renew the passthru key, unrequired",
    "List webhook deliveries", "Retry a delivery",
    "Set incomingCallHangup URL", "Set missedCall URL", "Test the popup URL",
    "Simulate an answered call", "Simulate a missed call", "List incoming calls", "Call timeline (events)",
    "Get a delivery (attempt log)", "Deliveries of the simulated call", "Recover dead deliveries",
    "Create a console link", "Exchange a console link",
    "Create a spare customer (operator)", "List customers (operator)", "Show customer (operator)",
    "Switch the app off (operator)", "Switch the app on again (operator)", "Console link for the app (operator)",
    "Webhook health (operator)",
    "Rotate app secret", "App token (rotated secret)", "Rotate customer secret", "Customer token (rotated secret)",
    "Delete one user", "Delete all users", "Delete app", "Delete a customer (operator)", "Delete customer",
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
outbound call (simulated), reads it back, plays Exotel's inbound popup passthru, requires the app's passthru key \
and plays a signed popup with it, renews the key and lets unsigned passthrus in again, reads the webhook delivery log \
(and retries a finished delivery), then develops against the sandbox (the folder of that name): points the \
incomingCallHangup and missedCall webhooks at `webhookBase`, tests the popup URL, simulates an answered and a \
missed incoming call, lists the incoming calls, follows the answered call's timeline until it hangs up, reads its \
hangup webhook's attempt log, filters the delivery log by that call, and recovers dead deliveries of the last \
hour. As the operator (the Operator folder, with `adminToken`) it lists the customers, shows this one with its \
app, switches the app off and on again and reads the webhook health. It rotates the app's and the customer's \
secrets (keeping the tokens) and mints tokens with the new ones. Then it deletes everything it made.

The simulated calls play their steps SANDBOX_CALL_STEP_MS apart (default 2000 ms): `Call timeline (events)` \
polls for up to ~20 s. Webhooks only finish when something answers at `webhookBase`; without a receiver the run \
skips `Retry a delivery`, the attempt logs show the failed attempts (`ResponseCode` null, `Error` set), and it \
still passes.

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
    assert FLOW[FLOW.index("Retry a delivery") + 1] == AFTER_RETRY, "AFTER_RETRY must follow `Retry a delivery`"
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
