//! The OpenAPI document: valid 3.1 JSON, served raw and printed by the CLI alike, and in step with
//! the router: every route is documented (with its error codes) and every documented operation is routed.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use integrations_core::api::openapi;
use serde_json::{json, Value};

use crate::helpers::{TestApp, ADMIN_TOKEN, CALL_PAYLOAD_KEYS, MASTER_KEY};
use crate::receiver::Receiver;

/// Every route of the contract, kept by hand and independently of the router and the document, with
/// the status codes it can answer. "4XX" stands for Exotel's own 4xx passed through.
const ROUTES: &[(&str, &str, &[&str])] = &[
    ("POST", "/v2/integrations/token", &["200", "400", "401", "413", "429", "500", "503"]),
    ("POST", "/v2/integrations/customer", &["200", "400", "401", "413", "429", "500", "503"]),
    ("GET", "/v2/integrations/customer", &["200", "401", "500", "503"]),
    ("DELETE", "/v2/integrations/customer", &["200", "401", "404", "500", "503"]),
    ("POST", "/v2/integrations/app", &["200", "400", "401", "413", "500", "503"]),
    ("GET", "/v2/integrations/app", &["200", "400", "401", "500", "503"]),
    ("PUT", "/v2/integrations/app", &["200", "400", "401", "404", "413", "500", "503"]),
    ("DELETE", "/v2/integrations/app", &["200", "401", "404", "500", "503"]),
    ("POST", "/v2/integrations/app/secret", &["200", "400", "401", "404", "409", "413", "500", "503"]),
    ("GET", "/v2/integrations/app/passthru", &["200", "401", "404", "500", "503"]),
    ("PUT", "/v2/integrations/app/passthru", &["200", "400", "401", "404", "413", "500", "503"]),
    ("POST", "/v2/integrations/app/console_link", &["200", "401", "404", "500", "503"]),
    ("POST", "/v2/integrations/console_link/exchange", &["200", "400", "401", "404", "413", "500", "503"]),
    ("POST", "/v2/integrations/customer/secret", &["200", "400", "401", "404", "413", "500", "503"]),
    ("POST", "/v2/integrations/app_setting", &["200", "400", "401", "413", "500", "503"]),
    ("GET", "/v2/integrations/app_setting", &["200", "400", "401", "404", "500", "503"]),
    ("DELETE", "/v2/integrations/app_setting", &["200", "400", "401", "404", "500", "503"]),
    ("POST", "/v2/integrations/app_setting/test", &["200", "400", "401", "404", "413", "500", "503"]),
    ("POST", "/v2/integrations/usermapping", &["200", "400", "401", "409", "413", "4XX", "500", "502", "503"]),
    ("GET", "/v2/integrations/usermapping", &["200", "400", "401", "404", "500", "503"]),
    ("DELETE", "/v2/integrations/usermapping", &["200", "401", "500", "503"]),
    ("DELETE", "/v2/integrations/users/{app_user_id}", &["200", "400", "401", "404", "500", "503"]),
    ("PUT", "/v2/integrations/device", &["200", "400", "401", "404", "413", "4XX", "500", "502", "503"]),
    ("GET", "/v2/integrations/call/inbound_call/{app_id}", &["200", "400", "401", "404", "413", "500", "503"]),
    ("POST", "/v2/integrations/call/inbound_call/{app_id}", &["200", "400", "401", "404", "413", "500", "503"]),
    ("POST", "/v2/integrations/call/outbound_call", &["200", "400", "401", "404", "413", "4XX", "500", "502", "503"]),
    ("POST", "/v2/integrations/call/status_callback/{app_id}", &["200", "400", "401", "404", "413", "500", "503"]),
    ("GET", "/v2/integrations/call/{call_sid}", &["200", "400", "401", "404", "500", "503"]),
    ("POST", "/v2/integrations/sandbox/inbound_call", &["200", "400", "401", "404", "413", "500", "503"]),
    ("GET", "/v2/integrations/calls", &["200", "400", "401", "500", "503"]),
    ("GET", "/v2/integrations/call/{call_sid}/events", &["200", "400", "401", "404", "500", "503"]),
    ("GET", "/v2/integrations/webhook_deliveries", &["200", "400", "401", "500", "503"]),
    ("POST", "/v2/integrations/webhook_deliveries/{id}/retry", &["200", "400", "401", "404", "409", "500", "503"]),
    ("POST", "/v2/integrations/webhook_deliveries/recover", &["200", "400", "401", "413", "500", "503"]),
    ("GET", "/v2/integrations/webhook_deliveries/{id}", &["200", "400", "401", "404", "500", "503"]),
    ("GET", "/v2/integrations/admin/customers", &["200", "400", "401", "429", "500", "503"]),
    ("GET", "/v2/integrations/admin/customers/{customer_id}", &["200", "400", "401", "404", "429", "500", "503"]),
    ("DELETE", "/v2/integrations/admin/customers/{customer_id}", &["200", "400", "401", "404", "429", "500", "503"]),
    ("PUT", "/v2/integrations/admin/apps/{app_id}", &["200", "400", "401", "404", "413", "429", "500", "503"]),
    ("POST", "/v2/integrations/admin/apps/{app_id}/console_link", &["200", "400", "401", "404", "429", "500", "503"]),
    ("GET", "/v2/integrations/admin/health", &["200", "401", "429", "500", "503"]),
    ("GET", "/v2/integrations/openapi.json", &["200", "500", "503"]),
    ("GET", "/healthz", &["200", "500", "503"]),
    ("GET", "/readyz", &["200", "500", "503"]),
    ("GET", "/metrics", &["200", "500", "503"]),
];

/// The console's routes (CONTRACT §14): a web page and its files, not API operations, so they are
/// the only routes the router serves that the OpenAPI document leaves out (`tests/api/console.rs`
/// checks them).
const CONSOLE_ROUTES: &[&str] = &["/console", "/console/", "/console/{*asset}"];

/// Who may call each route: the security scheme names of its operation (none: no Authorization).
fn expected_security(method: &str, path: &str) -> Vec<&'static str> {
    match (method, path.trim_start_matches("/v2/integrations")) {
        ("POST", "/customer") => vec!["admin_token"],
        (_, p) if p.starts_with("/admin/") => vec!["admin_token"],
        ("POST", "/app" | "/customer/secret") | ("GET" | "DELETE", "/customer") => vec!["customer_token"],
        ("GET", "/app") => vec!["app_token", "customer_token"],
        (_, "/token" | "/console_link/exchange" | "/openapi.json" | "/healthz" | "/readyz" | "/metrics") => vec![],
        (_, p) if p.starts_with("/call/inbound_call/") || p.starts_with("/call/status_callback/") => vec![],
        _ => vec!["app_token"],
    }
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn document() -> Value {
    serde_json::to_value(openapi::document()).expect("the document serializes")
}

/// (METHOD, path) → operation, for every operation of the document.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut found = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.insert((method.to_uppercase(), path.clone()), operation.clone());
            }
        }
    }
    found
}

fn maintained_routes() -> BTreeSet<(String, String)> {
    ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect()
}

/// A concrete URL for a templated path: every `{param}` becomes `probe`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("probe");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn collect_refs(value: &Value, refs: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.insert(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1_with_unique_operation_ids_and_no_dangling_references() {
    let text = openapi::document().to_json().expect("JSON");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "integrations-core");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let mut ids = BTreeSet::new();
    let webhook_operations = doc["webhooks"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, item)| (("POST".to_string(), format!("webhook {name}")), item["post"].clone()));
    for ((method, path), operation) in operations(&doc).into_iter().chain(webhook_operations) {
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        assert!(operation["summary"].as_str().is_some_and(|s| !s.is_empty()), "{method} {path} has no summary");
        assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path} has no tag");
    }

    let mut refs = BTreeSet::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("non-local reference {reference}"));
        assert!(doc.pointer(pointer).is_some(), "dangling reference {reference}");
    }

    let schemes = &doc["components"]["securitySchemes"];
    for name in ["customer_token", "app_token", "admin_token"] {
        assert_eq!(schemes[name]["type"], "apiKey", "{name}");
        assert_eq!(schemes[name]["in"], "header", "{name}");
        assert_eq!(schemes[name]["name"], "Authorization", "{name}");
        assert!(schemes[name]["description"].as_str().unwrap().contains("Bearer <token>"), "{name}");
    }
}

#[test]
fn the_document_lists_exactly_the_routes_of_the_contract() {
    let documented: BTreeSet<(String, String)> = operations(&document()).into_keys().collect();
    let maintained = maintained_routes();
    let undocumented: Vec<_> = maintained.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&maintained).collect();
    assert!(undocumented.is_empty(), "routes missing from the OpenAPI document: {undocumented:?}");
    assert!(unknown.is_empty(), "documented operations missing from the route list of this test: {unknown:?}");
}

/// The (METHOD, path) pairs the real router serves, read from axum's `Debug` rendering of it (its
/// path table and each route's `Allow` list): an enumeration of the router that owes nothing to the
/// document. HEAD (implied by GET) is left out.
fn routed_operations(router: &axum::Router) -> BTreeSet<(String, String)> {
    const CHANGED: &str = "axum's Router Debug format changed: update routed_operations";
    let text = format!("{router:?}");
    let main = text.split("fallback_router:").next().expect(CHANGED);
    let (routes, node) = main.split_once("node: Node { paths: {").expect(CHANGED);
    let mut allowed = BTreeMap::new();
    for chunk in routes.split("RouteId(").skip(1) {
        let (id, rest) = chunk.split_once(')').expect(CHANGED);
        if let Some((_, allow)) = rest.split_once("allow_header: Bytes(b\"") {
            allowed.insert(id.to_string(), allow.split('"').next().expect(CHANGED).to_string());
        }
    }
    let mut found = BTreeSet::new();
    for chunk in node.split("RouteId(").skip(1) {
        let (id, rest) = chunk.split_once("): \"").expect(CHANGED);
        let path = rest.split('"').next().expect(CHANGED);
        let methods = allowed.get(id).unwrap_or_else(|| panic!("route {path} has no Allow list; {CHANGED}"));
        for method in methods.split(',').filter(|m| *m != "HEAD") {
            found.insert((method.to_string(), path.to_string()));
        }
    }
    assert!(found.contains(&("GET".to_string(), "/healthz".to_string())), "{CHANGED}: {found:?}");
    for path in CONSOLE_ROUTES {
        assert!(
            found.remove(&("GET".to_string(), path.to_string())),
            "the console route {path} is not routed: {found:?}"
        );
    }
    found
}

#[tokio::test]
async fn the_router_serves_exactly_the_documented_operations() {
    let app = TestApp::new().await;
    let routed = routed_operations(&app.router);
    let documented: BTreeSet<(String, String)> = operations(&document()).into_keys().collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes served but missing from the OpenAPI document: {undocumented:?}");
    assert!(unrouted.is_empty(), "documented operations the router does not serve: {unrouted:?}");
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_no_other_method_is() {
    let app = TestApp::new().await;
    let doc = document();
    let documented = operations(&doc);
    let paths: BTreeSet<&String> = documented.keys().map(|(_, path)| path).collect();
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let mut request = Request::builder().method(method).uri(concrete(path));
            let body = if matches!(method, "POST" | "PUT" | "PATCH") {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from("{}")
            } else {
                Body::empty()
            };
            let response = app.send(request.body(body).unwrap()).await;
            let error = response.body["Error"].as_str().unwrap_or_default().to_string();
            if documented.contains_key(&(method.to_string(), path.clone())) {
                assert_ne!(
                    response.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but not routed"
                );
                assert!(
                    !(response.status == StatusCode::NOT_FOUND && error.starts_with("no route for")),
                    "{method} {path} is documented but not routed: {}",
                    response.text
                );
            } else {
                assert_eq!(
                    response.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is routed but not documented: {}",
                    response.text
                );
            }
        }
    }
}

#[tokio::test]
async fn the_document_is_served_raw_and_equals_what_the_cli_prints() {
    let app = TestApp::new().await;
    let served = app.get("/v2/integrations/openapi.json", None).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text);
    let content_type = served.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let body = &served.body;
    assert_eq!(body["openapi"], "3.1.0", "not the raw document: {}", served.text);
    for envelope_key in ["RequestId", "Status", "Code", "Error", "Data"] {
        assert!(body.get(envelope_key).is_none(), "the document must not be enveloped: {envelope_key}");
    }
    assert_eq!(body, &document());

    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_integrations-core"))
        .arg("openapi")
        .env("MASTER_KEY", MASTER_KEY)
        .env("DATABASE_URL", format!("sqlite://{}/openapi.db", dir.path().display()))
        .output()
        .expect("run integrations-core openapi");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(stdout.starts_with("{\n"), "pretty JSON expected: {}", &stdout[..stdout.len().min(80)]);
    let printed: Value = serde_json::from_str(&stdout).expect("the CLI prints JSON");
    assert_eq!(&printed, body, "`integrations-core openapi` and GET /v2/integrations/openapi.json differ");
}

#[test]
fn each_route_documents_its_status_codes_security_and_envelopes() {
    let doc = document();
    let documented = operations(&doc);
    for (method, path, codes) in ROUTES {
        let operation = &documented[&(method.to_string(), path.to_string())];
        let responses = operation["responses"].as_object().unwrap();
        let got: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
        let want: BTreeSet<&str> = codes.iter().copied().collect();
        assert_eq!(got, want, "{method} {path}: documented status codes");

        // Who may call it.
        // Stated on every operation (`security: []` on the public ones): the document has no default.
        let security: Vec<String> = operation["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path}: no `security` (a public operation says `security: []`)"))
            .iter()
            .flat_map(|r| r.as_object().unwrap().keys().cloned())
            .collect();
        assert_eq!(security, expected_security(method, path), "{method} {path}: security");
        if !security.is_empty() {
            assert!(want.contains("401"), "{method} {path}: a route with a token answers 401");
        }

        // A JSON body can be malformed or too large.
        let request_body = &operation["requestBody"]["content"];
        if request_body.get("application/json").is_some() {
            assert!(want.contains("400") && want.contains("413"), "{method} {path}: a JSON body means 400 and 413");
        }
        if *method == "GET" {
            assert!(operation.get("requestBody").is_none(), "{method} {path}: a GET has no body");
        }

        for (code, response) in responses {
            assert!(response["headers"].get("X-Request-Id").is_some(), "{method} {path} {code}: X-Request-Id");
            let content = &response["content"];
            let schema = |media: &str| content[media]["schema"]["$ref"].as_str().unwrap_or_default().to_string();
            if *path == "/v2/integrations/openapi.json" && code == "200" {
                assert_eq!(content["application/json"]["schema"]["type"], "object");
            } else if *path == "/metrics" && code == "200" {
                assert!(content.as_object().unwrap().keys().all(|k| k.starts_with("text/plain")), "{content}");
            } else if code == "200" {
                let reference = schema("application/json");
                let name = reference.strip_prefix("#/components/schemas/").unwrap_or_default();
                assert!(name.ends_with("Envelope"), "{method} {path} 200: an envelope, not {reference:?}");
                assert_eq!(
                    properties(name),
                    ["RequestId", "Status", "Code", "Error", "Data"],
                    "{method} {path}: {name}"
                );
            } else if code == "413" && content.get("text/plain").is_some() {
                // Bodies read raw (Exotel's form posts): axum's own rejection.
            } else {
                assert_eq!(
                    schema("application/json"),
                    "#/components/schemas/ErrorEnvelope",
                    "{method} {path} {code}: the failure envelope"
                );
            }
        }
    }
    // 429 carries Retry-After.
    let token = &documented[&("POST".to_string(), "/v2/integrations/token".to_string())];
    assert!(token["responses"]["429"]["headers"].get("Retry-After").is_some());
}

#[test]
fn the_document_names_its_server_as_the_root_it_is_served_from() {
    let doc = document();
    let servers = doc["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 1, "{servers:?}");
    // Relative: the document is the same whatever PUBLIC_BASE_URL a deployment has, and tools resolve
    // it against where they fetched the document (`GET /v2/integrations/openapi.json`).
    assert_eq!(servers[0]["url"], "/");
    assert!(servers[0]["description"].as_str().unwrap().contains("PUBLIC_BASE_URL"));
    let fetched = url::Url::parse("https://integrations.example.com/v2/integrations/openapi.json").unwrap();
    let server = fetched.join(servers[0]["url"].as_str().unwrap()).unwrap();
    for (_, path) in operations(&doc).keys() {
        let url = format!("{}{path}", server.as_str().trim_end_matches('/'));
        assert_eq!(url, format!("https://integrations.example.com{path}"), "the server adds no prefix to {path}");
    }
}

#[test]
fn every_operation_states_who_may_call_it_and_the_public_ones_need_no_token() {
    let doc = document();
    assert!(doc.get("security").is_none(), "no default requirement: each operation states its own");
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for ((method, path), operation) in operations(&doc) {
        let requirements = operation["security"].as_array().unwrap_or_else(|| panic!("{method} {path}: no security"));
        if expected_security(&method, &path).is_empty() {
            // `[]`, not `[{}]` (which would read "a token is optional").
            assert!(requirements.is_empty(), "{method} {path}: public, so `security: []`: {requirements:?}");
        }
        for requirement in requirements {
            let requirement = requirement.as_object().unwrap();
            assert_eq!(requirement.len(), 1, "{method} {path}: one scheme per alternative: {requirement:?}");
            for (name, scopes) in requirement {
                assert!(schemes.contains_key(name), "{method} {path}: unknown scheme {name}");
                assert_eq!(scopes, &json!([]), "{method} {path}: API keys have no scopes");
            }
        }
    }
    // The list the document is built from names real operations (a handler serving several
    // methods gets each method as a suffix of its id).
    let ids: BTreeSet<String> =
        operations(&doc).values().map(|op| op["operationId"].as_str().unwrap().to_string()).collect();
    for public in openapi::PUBLIC_OPERATIONS {
        assert!(
            ids.iter().any(|id| id == public || id.strip_prefix(public).is_some_and(|m| m.starts_with('_'))),
            "PUBLIC_OPERATIONS names {public}, which the document does not have"
        );
    }
}

#[test]
fn the_call_payload_schema_names_every_key_of_the_contract_in_order_and_requires_each() {
    assert_eq!(properties("CallPayload"), CALL_PAYLOAD_KEYS);
    // Every key is always sent (`CallDetail` as `null` on the answer to an outbound call).
    let required = document()["components"]["schemas"]["CallPayload"]["required"].clone();
    assert_eq!(required, json!(CALL_PAYLOAD_KEYS));
    let call_detail = &document()["components"]["schemas"]["CallPayload"]["properties"]["CallDetail"];
    assert_eq!(call_detail["type"], json!(["string", "null"]));
}

/// The webhooks, named by the app setting whose URL receives them, in the document's order.
const WEBHOOKS: [&str; 4] = ["popup", "incomingCallHangup", "missedCall", "callback"];

/// The Standard Webhooks headers every webhook carries.
const WEBHOOK_HEADERS: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

#[test]
fn the_webhooks_section_describes_each_webhook_a_crm_receives() {
    let doc = document();
    let text = openapi::document().to_json().unwrap();
    let names: Vec<String> = openapi::document().webhooks.0.into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, WEBHOOKS, "one webhook per setting, in this order");
    assert!(text.contains(r#""webhooks":{"popup":{"post":"#), "served in this order too");
    let webhooks = doc["webhooks"].as_object().expect("a webhooks section");
    assert_eq!(webhooks.len(), WEBHOOKS.len());
    // Each is named by a setting key the API accepts.
    let setting_keys = &doc["components"]["schemas"]["SettingKey"]["enum"];
    let tags: Vec<&str> = doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(tags.contains(&"webhooks"), "the webhooks tag is declared");

    for name in WEBHOOKS {
        let item = webhooks[name].as_object().unwrap_or_else(|| panic!("webhook {name} is missing"));
        assert!(setting_keys.as_array().unwrap().contains(&json!(name)), "{name} is not a setting key");
        assert_eq!(item.keys().collect::<Vec<_>>(), ["post"], "{name}: the server only POSTs");
        let post = &item["post"];
        assert!(post["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: summary");
        let description = post["description"].as_str().unwrap();
        assert!(description.contains(&format!(r#"{{"Key": "{name}""#)), "{name}: where to set its URL: {description}");
        assert!(post["operationId"].as_str().unwrap().starts_with("webhook_"), "{name}");
        assert_eq!(post["tags"], json!(["webhooks"]));
        assert_eq!(post["security"], json!([]), "{name}: signed, not token-guarded");

        let body = &post["requestBody"];
        assert_eq!(body["required"], true, "{name}");
        let json_body = &body["content"]["application/json"];
        assert_eq!(json_body["schema"]["$ref"], "#/components/schemas/CallPayload", "{name}");
        let example = json_body["example"].as_object().unwrap_or_else(|| panic!("{name}: an example body"));
        let mut example_keys: Vec<&str> = example.keys().map(String::as_str).collect();
        let mut contract_keys = CALL_PAYLOAD_KEYS.to_vec();
        example_keys.sort_unstable();
        contract_keys.sort_unstable();
        assert_eq!(example_keys, contract_keys, "{name}: the example is a whole call payload");

        let parameters = post["parameters"].as_array().unwrap();
        let names: Vec<&str> = parameters.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, WEBHOOK_HEADERS, "{name}: the Standard Webhooks headers");
        let headers: BTreeMap<&str, &Value> = parameters.iter().map(|p| (p["name"].as_str().unwrap(), p)).collect();
        for header in WEBHOOK_HEADERS {
            let parameter = headers[header];
            assert_eq!(parameter["in"], "header", "{name} {header}");
            assert_eq!(parameter["required"], true, "{name} {header}");
            assert_eq!(parameter["schema"]["type"], "string", "{name} {header}");
            assert!(parameter["description"].as_str().is_some_and(|d| d.len() > 40), "{name} {header}: described");
        }
        let signature = headers["webhook-signature"]["description"].as_str().unwrap();
        for how in ["HMAC-SHA256", "{webhook-id}.{webhook-timestamp}.{body}", "AppSecret", "whsec_", "constant time"] {
            assert!(signature.contains(how), "{name}: how to verify the signature names {how:?}: {signature}");
        }
        assert!(headers["webhook-timestamp"]["description"].as_str().unwrap().contains("unix seconds"));
        assert!(headers["webhook-id"]["description"].as_str().unwrap().contains("same on every attempt"));

        // The answers the dispatcher tells apart.
        let responses = post["responses"].as_object().unwrap();
        let codes: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(codes, ["2XX", "410", "429", "503", "default"], "{name}");
        for code in ["429", "503"] {
            assert_eq!(responses[code]["headers"]["Retry-After"]["schema"]["type"], "integer", "{name} {code}");
        }
        assert!(responses["410"]["description"].as_str().unwrap().contains("not retried"));
        assert!(responses["default"]["description"].as_str().unwrap().contains("retried"));
    }
    assert!(webhooks["popup"]["post"]["description"].as_str().unwrap().contains("POPUP_DEADLINE_SECS"));
}

#[tokio::test]
async fn a_received_webhook_carries_what_the_webhooks_section_describes() {
    let app = TestApp::with_env(&[("WEBHOOK_ALLOW_PRIVATE", "true"), ("SANDBOX_CALL_STEP_MS", "100")]).await;
    let receiver = Receiver::start().await;
    let _dispatcher = app.start_dispatcher();
    let entity = app.seed_app("sandbox").await;
    for name in WEBHOOKS {
        app.set_setting(&entity, name, receiver.url(&format!("/{name}"))).await;
    }
    app.map_agent(&entity, "meera", "+919812300011").await;
    for kind in ["popup", "incomingcallhungup", "missedcall"] {
        let passthru = format!("/v2/integrations/call/inbound_call/{}?type={kind}&CallSid=doc-{kind}", entity.id);
        app.get(&passthru, None).await.data();
    }
    let outbound = json!({"to": "+919812300077", "user_id": "meera"});
    app.post("/v2/integrations/call/outbound_call", Some(&entity.token), outbound).await.data();

    // Three inbound webhooks, then the outbound call's answered and terminal callbacks.
    let got = receiver.wait_for(5, Duration::from_secs(10)).await;
    let doc = document();
    let mut seen = BTreeSet::new();
    for request in &got {
        let name = request.path.trim_start_matches('/');
        let post = &doc["webhooks"][name]["post"];
        assert!(post.is_object(), "a webhook the document does not describe: {name}");
        seen.insert(name.to_string());

        for parameter in post["parameters"].as_array().unwrap() {
            let header = parameter["name"].as_str().unwrap();
            let value = request.header(header);
            assert!(!value.is_empty(), "{name}: the document's required header {header} was not sent");
        }
        let id = request.header("webhook-id");
        assert!(id.starts_with("msg_"), "{id}");
        let timestamp = request.header("webhook-timestamp");
        assert!(!timestamp.is_empty() && timestamp.bytes().all(|b| b.is_ascii_digit()), "{timestamp}");
        let signature_pattern = post["parameters"][2]["schema"]["pattern"].as_str().unwrap();
        assert_eq!(signature_pattern, "^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$");
        for signature in request.header("webhook-signature").split(' ') {
            let encoded = signature.strip_prefix("v1,").unwrap_or_else(|| panic!("{name}: {signature}"));
            let mac = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
            assert_eq!(mac.len(), 32, "{name}: an HMAC-SHA256");
        }
        assert_eq!(request.header("content-type"), "application/json");

        // The body: the schema's keys, in its order, each of its type.
        let body: serde_json::Map<String, Value> = serde_json::from_str(&request.body).unwrap();
        let order: Vec<&str> =
            CALL_PAYLOAD_KEYS.iter().copied().filter(|key| request.body.contains(&format!("\"{key}\":"))).collect();
        assert_eq!(order, CALL_PAYLOAD_KEYS, "{name}: every key is sent");
        let positions: Vec<usize> =
            CALL_PAYLOAD_KEYS.iter().map(|key| request.body.find(&format!("\"{key}\":")).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{name}: keys in the schema's order: {}", request.body);
        let schema = &doc["components"]["schemas"]["CallPayload"]["properties"];
        for (key, value) in &body {
            let allowed: Vec<Value> = match &schema[key]["type"] {
                Value::Array(types) => types.clone(),
                single => vec![single.clone()],
            };
            let actual = match value {
                Value::String(_) => "string",
                Value::Number(_) => "integer",
                Value::Null => "null",
                other => panic!("{name}: {key} is {other}"),
            };
            assert!(allowed.contains(&json!(actual)), "{name}: {key} is a {actual}, the schema says {allowed:?}");
        }
    }
    assert_eq!(seen, WEBHOOKS.iter().map(|w| w.to_string()).collect(), "each webhook was received");
}

#[test]
fn parameters_are_documented() {
    let documented = operations(&document());
    let params = |method: &str, path: &str| -> BTreeMap<String, (String, bool)> {
        documented[&(method.to_string(), path.to_string())]["parameters"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|p| {
                        let name = p["name"].as_str().unwrap().to_string();
                        (name, (p["in"].as_str().unwrap().to_string(), p["required"].as_bool().unwrap_or(false)))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let has = |method: &str, path: &str, name: &str, location: &str, required: bool| {
        let all = params(method, path);
        assert_eq!(all.get(name), Some(&(location.to_string(), required)), "{method} {path} parameter {name}: {all:?}");
    };
    let base = "/v2/integrations";
    has("GET", &format!("{base}/app"), "entity", "query", false);
    has("GET", &format!("{base}/app_setting"), "key", "query", false);
    has("DELETE", &format!("{base}/app_setting"), "key", "query", true);
    for name in ["user_id", "last_value", "page_size"] {
        has("GET", &format!("{base}/usermapping"), name, "query", false);
    }
    has("DELETE", &format!("{base}/users/{{app_user_id}}"), "app_user_id", "path", true);
    for method in ["GET", "POST"] {
        let path = format!("{base}/call/inbound_call/{{app_id}}");
        has(method, &path, "app_id", "path", true);
        has(method, &path, "type", "query", true);
        for name in
            ["CallSid", "From", "CallFrom", "To", "CallTo", "DialWhomNumber", "Status", "EventType", "RecordingUrl"]
        {
            has(method, &path, name, "query", false);
        }
        has(method, &path, "Legs[0][OnCallDuration]", "query", false);
    }
    let callback = format!("{base}/call/status_callback/{{app_id}}");
    has("POST", &callback, "app_id", "path", true);
    has("POST", &callback, "ref", "query", true);
    has("POST", &callback, "sig", "query", true);
    has("GET", &format!("{base}/call/{{call_sid}}"), "call_sid", "path", true);
    for name in ["status", "call_sid", "event_type", "since", "until", "last_value", "page_size"] {
        has("GET", &format!("{base}/webhook_deliveries"), name, "query", false);
    }
    has("POST", &format!("{base}/webhook_deliveries/{{id}}/retry"), "id", "path", true);

    // Every `{param}` of a path is documented as a path parameter.
    for (method, path) in documented.keys() {
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            has(method, path, name, "path", true);
        }
    }
}

#[test]
fn the_seed_samples_are_examples() {
    let documented = operations(&document());
    let example = |method: &str, path: &str| -> Value {
        let content = &documented[&(method.to_string(), format!("/v2/integrations{path}"))]["responses"]["200"]
            ["content"]["application/json"];
        content.get("example").cloned().unwrap_or_else(|| content["examples"].clone())
    };
    assert_eq!(example("POST", "/token")["Data"], "OTlmYTk4YTEtMmNlMC00NTdjLTkzNzEtMGQzYTAxZWI2ZWYw");
    assert_eq!(example("GET", "/customer")["Data"]["CustomerName"], "Temp Name");
    assert_eq!(example("DELETE", "/customer")["Data"], "Deleted Successfully");
    assert_eq!(example("POST", "/app")["Data"]["AppSecret"], "61b1f4c2-30d5-4819-9a5c-006ed9784313");
    assert_eq!(example("GET", "/app")["entity=customer"]["value"]["Data"][0]["AppName"], "WebRTC");
    assert_eq!(example("POST", "/usermapping")["Data"].as_array().unwrap().len(), 2);
    assert_eq!(example("GET", "/usermapping")["page"]["value"]["Data"]["LastEvaluatedValue"], "21");
    assert_eq!(example("DELETE", "/users/{app_user_id}")["Data"], "Deleted Successfuly");
    assert_eq!(example("PUT", "/device")["Data"]["SipId"], "sip:a4343j");
    assert_eq!(example("GET", "/call/inbound_call/{app_id}")["Data"], "Success");

    let request = |method: &str, path: &str| -> Value {
        documented[&(method.to_string(), format!("/v2/integrations{path}"))]["requestBody"]["content"]
            ["application/json"]["example"]
            .clone()
    };
    assert_eq!(request("POST", "/token")["Entity"], "customer");
    assert_eq!(request("POST", "/app")["ExotelDomain"], "mumbai");
    assert_eq!(request("POST", "/app_setting"), json!({"Key": "popup", "Value": "https://webhook.site/"}));
    assert_eq!(request("POST", "/usermapping")[0]["ExotelUserName"], "ABC XYZ");
    assert_eq!(request("PUT", "/device"), json!({"UserId": "1", "DeviceName": "phone", "DeviceStatus": true}));
}

/// The property names of a component schema, in the document's order (a `serde_json::Value` would sort them).
fn properties(name: &str) -> Vec<String> {
    use utoipa::openapi::{schema::Schema, RefOr};
    let components = openapi::document().api.components.expect("components");
    match components.schemas.get(name) {
        Some(RefOr::T(Schema::Object(object))) => object.properties.keys().cloned().collect(),
        _ => panic!("schema {name} is missing or not an object"),
    }
}

#[tokio::test]
async fn the_schemas_name_the_keys_the_server_sends_in_its_order() {
    let app = TestApp::new().await;

    let created = app
        .post(
            "/v2/integrations/customer",
            Some(ADMIN_TOKEN),
            json!({"CustomerName": "Temp Name", "Email": "temp.mail@company.in"}),
        )
        .await;
    assert_eq!(created.data_keys(), properties("CustomerBody"));
    let customer = app.seed_customer().await;
    let new_app = app
        .post(
            "/v2/integrations/app",
            Some(&customer.token),
            json!({"AppName": "WebRTC", "ExotelAccountSid": "abc", "ExotelApiKey": "k", "ExotelApiToken": "t",
                   "ExotelDomain": "sandbox", "IsActive": true}),
        )
        .await;
    assert_eq!(new_app.data_keys(), properties("CreatedAppBody"));

    let sandbox = app.seed_app("sandbox").await;
    let token = Some(sandbox.token.as_str());
    assert_eq!(app.get("/v2/integrations/app", token).await.data_keys(), properties("AppBody"));
    let setting = app
        .post("/v2/integrations/app_setting", token, json!({"Key": "popup", "Value": "https://example.com/p"}))
        .await;
    assert_eq!(setting.data_keys(), properties("SettingBody"));
    let users = app
        .post(
            "/v2/integrations/usermapping",
            token,
            json!([{"AppUserId": "1", "AppUsername": "Temp Name", "Email": "temp.user@company.in",
                    "ExotelAccountSid": sandbox.account_sid, "ExotelUserName": "Temp Name",
                    "AgentNumber": "+919876543210", "VirtualNumber": "01135124165"}]),
        )
        .await;
    assert_eq!(users.data_item_keys(), vec![properties("MappingBody")]);
    let page = app.get("/v2/integrations/usermapping", token).await;
    assert_eq!(page.data_keys(), properties("MappingPage"));
    let deliveries = app.get("/v2/integrations/webhook_deliveries", token).await;
    assert_eq!(deliveries.data_keys(), properties("DeliveryPage"));
    let error = app.get("/v2/integrations/customer", None).await;
    assert_eq!(error.envelope_keys(), properties("ErrorEnvelope"));
    assert_eq!(page.envelope_keys(), properties("MappingOrPageEnvelope"));
}

/// Whether two paths could match one URL with neither more specific everywhere (Redocly's
/// `no-ambiguous-paths`, which redocly.yaml turns off for the one pair the contract fixes).
fn ambiguous(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    let templated = |s: &str| s.starts_with('{');
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| x == y || templated(x) || templated(y))
        && a.iter().zip(&b).any(|(x, y)| !templated(x) && templated(y))
        && a.iter().zip(&b).any(|(x, y)| templated(x) && !templated(y))
}

#[test]
fn the_only_ambiguous_paths_are_exotels_callbacks_and_the_call_timeline_which_the_router_tells_apart() {
    let doc = document();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    let mut pairs = Vec::new();
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            if ambiguous(a, b) {
                pairs.push((a.to_string(), b.to_string()));
            }
        }
    }
    // `/call/inbound_call/events` goes to the passthru, `/call/status_callback/events` to the status
    // callback: a static segment wins in the router (tests/api/timeline.rs checks it), and no Exotel
    // CallSid is `inbound_call` or `status_callback`.
    let expected = [
        ("/v2/integrations/call/inbound_call/{app_id}", "/v2/integrations/call/{call_sid}/events"),
        ("/v2/integrations/call/status_callback/{app_id}", "/v2/integrations/call/{call_sid}/events"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let mut sorted = pairs
        .iter()
        .map(|(a, b)| if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) })
        .collect::<Vec<_>>();
    sorted.sort();
    assert_eq!(sorted, expected);
    assert!(!ambiguous("/call/outbound_call", "/call/{call_sid}"), "a concrete path is more specific");
}
