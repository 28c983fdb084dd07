//! Seeds realistic data through the public API only: customers, sandbox apps with their webhook
//! settings pointing at the local receiver, user mappings in batches of 100, and live app tokens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};

use crate::http::Req;
use crate::load::run_all;

pub struct Sizes {
    pub customers: usize,
    pub apps_per_customer: usize,
    pub users_per_app: usize,
    pub tokens_per_app: usize,
}

pub struct App {
    pub id: String,
    pub secret: String,
    /// This app's live tokens (the first also set its settings and users).
    pub tokens: Vec<Arc<str>>,
    pub users: usize,
}

pub struct World {
    pub apps: Vec<App>,
    pub all_tokens: Vec<Arc<str>>,
    pub steps: Vec<SeedStep>,
}

#[derive(Serialize, serde::Deserialize, Clone, Debug)]
pub struct SeedStep {
    pub step: String,
    pub requests: usize,
    pub items: usize,
    pub secs: f64,
}

const API: &str = "/v2/integrations";

/// The id of user `k` of app `a`, and its phone number (the one Exotel dials: `DialWhomNumber`).
pub fn user_id(a: usize, k: usize) -> String {
    format!("agent-{a}-{k}")
}
pub fn agent_number(a: usize, k: usize) -> String {
    format!("+9198{a:04}{k:04}")
}

fn data(body: &[u8]) -> Result<Value, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    Ok(value["Data"].clone())
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    value[key].as_str().map(str::to_string).ok_or_else(|| format!("no {key} in {value}"))
}

async fn step(
    steps: &mut Vec<SeedStep>,
    name: &str,
    items: usize,
    addr: SocketAddr,
    concurrency: usize,
    requests: Vec<Req>,
) -> Result<Vec<bytes::Bytes>, String> {
    let count = requests.len();
    let started = Instant::now();
    let answers = run_all(addr, concurrency, requests).await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!("  seeded {name}: {items} in {count} requests, {secs:.1} s ({:.0} requests/s)", count as f64 / secs);
    steps.push(SeedStep { step: name.to_string(), requests: count, items, secs });
    Ok(answers)
}

pub async fn seed(
    addr: SocketAddr,
    admin_token: &str,
    sizes: &Sizes,
    receiver_url: &str,
    concurrency: usize,
) -> Result<World, String> {
    let mut steps = Vec::new();
    let admin: Arc<str> = Arc::from(admin_token);

    let requests = (0..sizes.customers)
        .map(|c| {
            let body = json!({"CustomerName": format!("Customer {c}"), "Email": format!("ops{c}@customer{c}.example")});
            Req::post(format!("{API}/customer"), body.to_string()).auth(&admin)
        })
        .collect();
    let answers = step(&mut steps, "customers", sizes.customers, addr, concurrency, requests).await?;
    let customers = answers
        .iter()
        .map(|b| {
            let d = data(b)?;
            Ok((text(&d, "CustomerID")?, text(&d, "CustomerSecret")?))
        })
        .collect::<Result<Vec<_>, String>>()?;

    let requests = customers
        .iter()
        .map(|(id, secret)| {
            Req::post(format!("{API}/token"), json!({"Id": id, "Secret": secret, "Entity": "customer"}).to_string())
        })
        .collect();
    let answers = step(&mut steps, "customer tokens", customers.len(), addr, concurrency, requests).await?;
    let customer_tokens: Vec<Arc<str>> = answers
        .iter()
        .map(|b| Ok(Arc::from(data(b)?.as_str().ok_or("token is not a string")?)))
        .collect::<Result<_, String>>()?;

    let app_count = sizes.customers * sizes.apps_per_customer;
    let requests = (0..app_count)
        .map(|a| {
            let body = json!({"AppName": format!("CRM {a}"), "ExotelAccountSid": format!("acct{a:04}"),
                "ExotelApiKey": format!("key-{a}"), "ExotelApiToken": format!("token-{a}"),
                "ExotelDomain": "sandbox", "IsActive": true});
            Req::post(format!("{API}/app"), body.to_string()).auth(&customer_tokens[a / sizes.apps_per_customer])
        })
        .collect();
    let answers = step(&mut steps, "apps (sandbox)", app_count, addr, concurrency, requests).await?;
    let mut apps = answers
        .iter()
        .map(|b| {
            let d = data(b)?;
            Ok(App { id: text(&d, "AppID")?, secret: text(&d, "AppSecret")?, tokens: Vec::new(), users: 0 })
        })
        .collect::<Result<Vec<_>, String>>()?;

    // Tokens are requested app after app in turn, so every app's tokens are spread over time.
    let token_count = app_count * sizes.tokens_per_app;
    let requests = (0..token_count)
        .map(|n| {
            let app = &apps[n % app_count];
            Req::post(format!("{API}/token"), json!({"Id": app.id, "Secret": app.secret, "Entity": "app"}).to_string())
        })
        .collect();
    let answers = step(&mut steps, "live app tokens", token_count, addr, concurrency, requests).await?;
    let mut all_tokens = Vec::with_capacity(token_count);
    for (n, body) in answers.iter().enumerate() {
        let token: Arc<str> = Arc::from(data(body)?.as_str().ok_or("token is not a string")?);
        apps[n % app_count].tokens.push(token.clone());
        all_tokens.push(token);
    }

    let requests = apps
        .iter()
        .enumerate()
        .flat_map(|(a, app)| {
            ["popup", "missedCall"].map(|key| {
                let body = json!({"Key": key, "Value": format!("{receiver_url}/hook/{a}")});
                Req::post(format!("{API}/app_setting"), body.to_string()).auth(&app.tokens[0])
            })
        })
        .collect();
    step(&mut steps, "webhook settings (popup, missedCall)", app_count * 2, addr, concurrency, requests).await?;

    let requests = apps
        .iter()
        .enumerate()
        .map(|(a, app)| {
            let users: Vec<Value> = (0..sizes.users_per_app)
                .map(|k| {
                    json!({"AppUserId": user_id(a, k), "AppUsername": format!("Agent {k} of CRM {a}"),
                        "Email": format!("agent{k}@crm{a}.example"), "ExotelAccountSid": format!("acct{a:04}"),
                        "ExotelUserName": format!("Agent{k:03} Crm{a:04}"), "AgentNumber": agent_number(a, k),
                        "VirtualNumber": format!("+918047{a:06}")})
                })
                .collect();
            Req::post(format!("{API}/usermapping"), Value::Array(users).to_string()).auth(&app.tokens[0])
        })
        .collect();
    step(&mut steps, "user mappings (batches of 100)", app_count * sizes.users_per_app, addr, concurrency, requests)
        .await?;
    for app in &mut apps {
        app.users = sizes.users_per_app;
    }

    Ok(World { apps, all_tokens, steps })
}
