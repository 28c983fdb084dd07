//! A request that takes longer than `REQUEST_TIMEOUT_SECS` gets a 503 envelope instead of hanging.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::TestApp;

#[tokio::test]
async fn a_request_past_the_timeout_answers_503_with_an_envelope() {
    let exotel = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&exotel)
        .await;
    let app = TestApp::with_env(&[("EXOTEL_CCM_URL_MUMBAI", &exotel.uri()), ("REQUEST_TIMEOUT_SECS", "1")]).await;
    let entity = app.seed_app("mumbai").await;

    let started = Instant::now();
    let answer = app
        .post(
            "/v2/integrations/usermapping",
            Some(&entity.token),
            json!([{"AppUserId": "a", "AppUsername": "A", "Email": "a@acme.example", "ExotelAccountSid": entity.account_sid,
                "ExotelUserName": "Meera Pillai", "VirtualNumber": "+918040001111"}]),
        )
        .await;

    assert!(started.elapsed() < Duration::from_secs(3), "answered after {:?}", started.elapsed());
    assert!(answer.error(StatusCode::SERVICE_UNAVAILABLE).contains("longer than 1 s"));
    let page = app.get("/v2/integrations/usermapping", Some(&entity.token)).await;
    assert_eq!(page.data()["Users"], json!([]), "nothing was stored");
}
