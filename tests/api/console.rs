//! The web console (CONTRACT §14): served from the binary under `/console` with a strict CSP, no
//! inline script, the right content types, framing only by `CONSOLE_FRAME_ANCESTORS`, and nothing
//! at all with `CONSOLE_ENABLED=false`.

use std::collections::BTreeSet;

use axum::http::{header, StatusCode};
use integrations_core::api::console::ASSETS;

use crate::helpers::{TestApp, TestResponse};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; frame-ancestors 'none'";

fn header(response: &TestResponse, name: header::HeaderName) -> &str {
    response.headers.get(&name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
}

#[tokio::test]
async fn the_console_page_is_served_with_a_strict_csp_and_nosniff() {
    let app = TestApp::new().await;
    for path in ["/console", "/console/"] {
        let page = app.get(path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        assert_eq!(header(&page, header::CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
        assert_eq!(header(&page, header::CONTENT_SECURITY_POLICY), CSP, "{path}");
        assert_eq!(header(&page, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        assert!(page.text.contains("<script type=\"module\" src=\"/console/js/main.js\"></script>"), "{}", page.text);
    }
}

#[tokio::test]
async fn every_asset_is_served_with_its_content_type_and_the_same_headers() {
    let app = TestApp::new().await;
    for asset in ASSETS {
        let response = app.get(&format!("/console/{}", asset.path), None).await;
        assert_eq!(response.status, StatusCode::OK, "{}", asset.path);
        let expected = match asset.path.rsplit('.').next().unwrap() {
            "html" => "text/html; charset=utf-8",
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            other => panic!("unexpected asset kind {other}"),
        };
        assert_eq!(header(&response, header::CONTENT_TYPE), expected, "{}", asset.path);
        assert_eq!(header(&response, header::CONTENT_SECURITY_POLICY), CSP, "{}", asset.path);
        assert_eq!(header(&response, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{}", asset.path);
        assert_eq!(response.text, asset.body, "{}", asset.path);
    }
}

#[tokio::test]
async fn an_unknown_console_file_is_an_enveloped_404() {
    let app = TestApp::new().await;
    for path in ["/console/nope.js", "/console/js/../../Cargo.toml", "/console/js/"] {
        let response = app.get(path, None).await;
        let error = response.error(StatusCode::NOT_FOUND);
        assert!(!error.is_empty(), "{path}");
    }
}

#[test]
fn every_file_of_the_console_folder_is_embedded_and_served() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
    let mut on_disk = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                on_disk.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    on_disk.sort();
    let mut served: Vec<String> = ASSETS.iter().map(|asset| asset.path.to_string()).collect();
    served.sort();
    assert_eq!(on_disk, served, "console/ and the ASSETS table of src/api/console.rs differ");
}

#[test]
fn the_html_has_no_inline_script_style_or_event_handler() {
    for asset in ASSETS.iter().filter(|asset| asset.path.ends_with(".html")) {
        let html = asset.body.to_ascii_lowercase();
        for (at, _) in html.match_indices("<script") {
            let tag = &html[at..at + html[at..].find('>').unwrap()];
            assert!(tag.contains(" src="), "{}: a script without src (inline) in {tag}", asset.path);
            let after = &html[at + tag.len() + 1..];
            assert!(after.starts_with("</script>"), "{}: a script with a body", asset.path);
        }
        assert!(!html.contains("<style"), "{}: an inline <style>", asset.path);
        assert!(!html.contains(" style="), "{}: an inline style attribute", asset.path);
        for tag in html.split('<').skip(1).map(|rest| rest.split('>').next().unwrap_or_default()) {
            let handler = tag.split_whitespace().skip(1).find(|attribute| attribute.starts_with("on"));
            assert!(handler.is_none(), "{}: an inline event handler in <{tag}>", asset.path);
        }
        assert!(!html.contains("javascript:"), "{}: a javascript: URL", asset.path);
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{}: a file from another origin (CDN)",
            asset.path
        );
    }
}

#[test]
fn the_scripts_load_nothing_from_another_origin_and_keep_the_token_out_of_local_storage() {
    for asset in ASSETS.iter().filter(|asset| asset.path.ends_with(".js")) {
        assert!(!asset.body.contains("localStorage"), "{}: the token belongs in sessionStorage only", asset.path);
        assert!(!asset.body.contains("document.cookie"), "{}: no cookies", asset.path);
        assert!(!asset.body.contains("eval("), "{}: no eval", asset.path);
        assert!(!asset.body.contains("innerHTML"), "{}: text goes in as text, never as HTML", asset.path);
        for line in asset.body.lines().filter(|line| line.trim_start().starts_with("import")) {
            assert!(
                line.contains("\"./") || line.contains("\"../"),
                "{}: an import from elsewhere: {line}",
                asset.path
            );
        }
    }
}

#[tokio::test]
async fn frame_ancestors_names_the_configured_origins() {
    let app =
        TestApp::with_env(&[("CONSOLE_FRAME_ANCESTORS", "https://crm.example.com, https://crm2.example.com/")]).await;
    let page = app.get("/console", None).await;
    let csp = header(&page, header::CONTENT_SECURITY_POLICY);
    assert!(csp.ends_with("; frame-ancestors https://crm.example.com https://crm2.example.com"), "{csp}");
    assert!(csp.starts_with("default-src 'none'; script-src 'self';"), "{csp}");
}

#[tokio::test]
async fn a_disabled_console_answers_404_everywhere() {
    let app = TestApp::with_env(&[("CONSOLE_ENABLED", "false")]).await;
    for path in ["/console", "/console/", "/console/js/main.js", "/console/console.css"] {
        let response = app.get(path, None).await;
        response.error(StatusCode::NOT_FOUND);
        assert!(response.headers.get(header::CONTENT_SECURITY_POLICY).is_none(), "{path}");
    }
    // The API itself is untouched.
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
}

#[test]
fn the_console_adds_well_under_2_mib_to_the_binary() {
    let total: usize = ASSETS.iter().map(|asset| asset.body.len()).sum();
    assert!(total < 512 * 1024, "the console's files weigh {total} bytes");
}

/// Every call the console's scripts make to the API: (METHOD, path below `/v2/integrations` with
/// `{}` for each interpolated segment). Calls through a variable path (the client's own helpers) are
/// skipped; the literal paths are all the views use.
fn console_api_calls() -> BTreeSet<(String, String)> {
    const HELPERS: &[(&str, &str)] = &[
        ("api.get(", "GET"),
        ("api.count(", "GET"),
        ("api.post(", "POST"),
        ("api.put(", "PUT"),
        ("api.del(", "DELETE"),
    ];
    let mut calls = BTreeSet::new();
    for asset in ASSETS.iter().filter(|asset| asset.path.ends_with(".js")) {
        let mut found = Vec::new();
        for (helper, method) in HELPERS {
            found.extend(
                asset.body.match_indices(helper).map(|(at, _)| (method.to_string(), &asset.body[at + helper.len()..])),
            );
        }
        for (at, _) in asset.body.match_indices("request(\"") {
            let rest = &asset.body[at + "request(\"".len()..];
            let (method, rest) = rest.split_once('"').unwrap();
            found.push((method.to_string(), rest.trim_start_matches(',').trim_start()));
        }
        for (method, rest) in found {
            let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '`') else { continue };
            let literal = &rest[1..1 + rest[1..].find(quote).unwrap()];
            let mut path = String::new();
            let mut remaining = literal;
            while let Some(start) = remaining.find("${") {
                path.push_str(&remaining[..start]);
                path.push_str("{}");
                remaining = &remaining[start + remaining[start..].find('}').unwrap() + 1..];
            }
            path.push_str(remaining);
            calls.insert((method, path));
        }
    }
    calls
}

#[test]
fn the_console_calls_only_documented_operations_of_the_public_api() {
    let document = serde_json::to_value(integrations_core::api::openapi::document()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        let Some(below) = path.strip_prefix("/v2/integrations") else { continue };
        let mut generic = String::new();
        let mut inside = false;
        for c in below.chars() {
            match c {
                '{' => inside = true,
                '}' => {
                    inside = false;
                    generic.push_str("{}");
                }
                _ if !inside => generic.push(c),
                _ => {}
            }
        }
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.to_ascii_uppercase(), generic.clone()));
        }
    }
    let calls = console_api_calls();
    for expected in
        [("GET", "/call/{}/events"), ("POST", "/webhook_deliveries/{}/retry"), ("POST", "/console_link/exchange")]
    {
        assert!(
            calls.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} not found in {calls:?}"
        );
    }
    assert!(calls.len() >= 25, "the scan found only {calls:?}");
    let undocumented: Vec<_> = calls.difference(&documented).collect();
    assert!(undocumented.is_empty(), "the console calls operations the API does not document: {undocumented:?}");
}
