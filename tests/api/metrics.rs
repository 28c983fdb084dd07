//! `GET /metrics` in the Prometheus text format (the recorder is process-wide, so figures only grow).

use std::time::Duration;

use serde_json::json;

use crate::helpers::TestApp;
use crate::receiver::Receiver;

/// The value of the first sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_with_latency_histograms() {
    let app = TestApp::new().await;
    app.token_response("nobody", "wrong", "customer").await;
    app.get("/healthz", None).await;

    let metrics = app.get("/metrics", None).await;

    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = &metrics.text;
    let failed_tokens =
        sample(text, "http_requests_total", &["route=\"/v2/integrations/token\"", "status=\"401\"", "method=\"POST\""]);
    assert!(failed_tokens.unwrap_or(0.0) >= 1.0, "{text}");
    assert!(
        sample(text, "http_request_duration_seconds_bucket", &["route=\"/healthz\"", "le=\"0.005\""]).is_some(),
        "{text}"
    );
    assert!(sample(text, "db_pool_connections", &["state=\"idle\""]).is_some(), "{text}");
    assert!(sample(text, "webhook_queue_depth", &[]).is_some(), "{text}");
    assert!(sample(text, "webhook_queue_oldest_age_seconds", &[]).is_some(), "{text}");
}

#[tokio::test]
async fn unknown_routes_are_counted_without_their_raw_path() {
    let app = TestApp::new().await;
    app.get("/v2/integrations/secret-id-12345", None).await;
    let text = app.get("/metrics", None).await.text;
    assert!(!text.contains("secret-id-12345"));
    assert!(sample(&text, "http_requests_total", &["route=\"unmatched\"", "status=\"404\""]).is_some());
}

#[tokio::test]
async fn webhook_outcomes_and_queue_depth_are_measured() {
    let app = TestApp::with_env(&[("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let receiver = Receiver::start().await;
    let entity = app.seed_app("sandbox").await;
    app.set_setting(&entity, "popup", receiver.url("/p")).await;
    app.get(&format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid=m1", entity.id), None).await.data();

    let queued = app.get("/metrics", None).await.text;
    assert!(sample(&queued, "webhook_queue_depth", &[]).unwrap() >= 1.0, "{queued}");

    let _dispatcher = app.start_dispatcher();
    receiver.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let text = app.get("/metrics", None).await.text;
    let delivered = sample(&text, "webhook_deliveries_total", &["event_type=\"popup\"", "outcome=\"delivered\""]);
    assert!(delivered.unwrap_or(0.0) >= 1.0, "{text}");
    assert!(sample(&text, "webhook_attempt_duration_seconds_count", &["outcome=\"delivered\""]).is_some());
}

#[tokio::test]
async fn exotel_calls_are_counted_by_operation_and_outcome() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let app = TestApp::with_env(&[("EXOTEL_CCM_URL_MUMBAI", &server.uri())]).await;
    let entity = app.seed_app("mumbai").await;
    app.post(
        "/v2/integrations/usermapping",
        Some(&entity.token),
        json!([{"AppUserId": "a", "AppUsername": "A", "Email": "a@acme.example", "ExotelAccountSid": entity.account_sid,
            "ExotelUserName": "Meera Pillai", "VirtualNumber": "+918040001111"}]),
    )
    .await;
    let text = app.get("/metrics", None).await.text;
    let refused = sample(&text, "exotel_requests_total", &["operation=\"find_user\"", "outcome=\"refused\""]);
    assert!(refused.unwrap_or(0.0) >= 1.0, "{text}");
    assert!(sample(&text, "exotel_request_duration_seconds_count", &["operation=\"find_user\""]).is_some());
}
