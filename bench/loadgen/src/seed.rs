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

/// A cheap, well-spread hash (the splitmix64 finalizer of `i` plus a constant): a bijection on
/// u64, so distinct inputs give distinct outputs.
pub fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Which passthru request of a call: the ringing popup or the hang-up that ends an answered call.
#[derive(Clone, Copy, PartialEq)]
pub enum Passthru {
    Popup,
    /// Talked for this many seconds.
    Hangup(u32),
}

/// Exotel's passthru request for an inbound call to agent `k` of app `a` (the app's id `app_id`),
/// with the parameters an Exotel flow sends; `caller` picks the caller's number (0–9999).
pub fn inbound_call_path(app_id: &str, a: usize, k: usize, call_sid: &str, caller: u64, event: Passthru) -> String {
    let dialled = format!("0{}", &agent_number(a, k)[3..]);
    let common = format!(
        "{API}/call/inbound_call/{app_id}?type={}&CallSid={call_sid}&CallFrom=0987654{caller:04}&CallTo=08047{a:06}\
         &DialWhomNumber={dialled}&Direction=incoming&Status=free",
        match event {
            Passthru::Popup => "popup",
            Passthru::Hangup(_) => "incomingcallhungup",
        }
    );
    match event {
        Passthru::Popup => format!(
            "{common}&EventType=Dial&Created=2024-05-01%2010%3A00%3A00&StartTime=2024-05-01%2010%3A00%3A00\
             &CurrentTime=2024-05-01%2010%3A00%3A02"
        ),
        Passthru::Hangup(talk) => {
            // Rang for 2 s, then talked: the end is 10:00:02 + talk.
            let end = 2 + talk;
            let end = format!("2024-05-01%20{:02}%3A{:02}%3A{:02}", 10 + end / 3600, end / 60 % 60, end % 60);
            format!(
                "{common}&EventType=Terminal&Created=2024-05-01%2010%3A00%3A00&StartTime=2024-05-01%2010%3A00%3A00\
                 &EndTime={end}&CurrentTime={end}&DialCallDuration={}&Legs%5B0%5D%5BOnCallDuration%5D={talk}\
                 &RecordingUrl=https%3A%2F%2Frecordings.example%2F{call_sid}.mp3",
                talk + 2
            )
        }
    }
}

/// Calls seeded for the call timeline and delivery detail rows.
pub struct Calls {
    /// Per app (the index of `World::apps`): the CallSids of its seeded calls.
    pub per_app: Vec<Vec<Arc<str>>>,
    /// Per app: ids of delivered deliveries of those calls (each with at least one attempt row).
    pub deliveries: Vec<Vec<Arc<str>>>,
    pub steps: Vec<SeedStep>,
    /// Seconds the whole call seeding took (settings, passthru, drain, read-back).
    pub secs: f64,
    pub note: String,
}

/// Calls are played in blocks: the popups of a block, then their hang-ups, so every call ends a
/// few seconds after it began, as calls do, rather than all at the end.
const CALL_BLOCK: usize = 5_000;

/// The CallSid of seeded call `n`: 32 hex digits like Exotel's, distinct per `n`, never starting
/// with `b` (the receiver times only `b<run>-<n>` CallSids).
pub fn seeded_call_sid(n: u64) -> String {
    format!("c{n:015x}{:016x}", mix(n))
}

/// Seeds `calls` inbound calls through the passthru, spread round-robin over the apps: each a popup
/// then an `incomingcallhungup`, both with their webhook URLs at the receiver, so each call has
/// two events and a delivery per event. Waits until the dispatcher has nothing pending (every
/// delivery has its attempt rows), then reads back the deliveries of up to `sample_calls` calls
/// per app through `GET /webhook_deliveries?call_sid=`.
pub async fn seed_calls(
    addr: SocketAddr,
    world: &World,
    receiver_url: &str,
    calls: usize,
    sample_calls: usize,
    concurrency: usize,
    drain_timeout: f64,
) -> Result<Calls, String> {
    let started = Instant::now();
    let mut steps = Vec::new();
    let app_count = world.apps.len();
    if app_count == 0 {
        return Err("no apps to seed calls for".into());
    }

    let requests = world
        .apps
        .iter()
        .enumerate()
        .map(|(a, app)| {
            let body = json!({"Key": "incomingCallHangup", "Value": format!("{receiver_url}/hook/{a}")});
            Req::post(format!("{API}/app_setting"), body.to_string()).auth(&app.tokens[0])
        })
        .collect();
    step(&mut steps, "webhook settings (incomingCallHangup)", app_count, addr, concurrency, requests).await?;

    let mut per_app: Vec<Vec<Arc<str>>> = vec![Vec::new(); app_count];
    let mut requests = Vec::with_capacity(calls * 2);
    for block in (0..calls).step_by(CALL_BLOCK) {
        let block = block..(block + CALL_BLOCK).min(calls);
        let call = |n: usize| {
            let a = n % app_count;
            let app = &world.apps[a];
            let r = mix(n as u64 ^ 0x5eed);
            let k = ((r >> 32) % app.users.max(1) as u64) as usize;
            (a, app, k, r, seeded_call_sid(n as u64))
        };
        for n in block.clone() {
            let (a, app, k, _, sid) = call(n);
            requests.push(Req::get(inbound_call_path(&app.id, a, k, &sid, n as u64 % 10_000, Passthru::Popup)));
            per_app[a].push(Arc::from(sid));
        }
        for n in block {
            let (a, app, k, r, sid) = call(n);
            let talk = 5 + (r % 600) as u32;
            requests.push(Req::get(inbound_call_path(&app.id, a, k, &sid, n as u64 % 10_000, Passthru::Hangup(talk))));
        }
    }
    let passthru_started = Instant::now();
    step(&mut steps, "calls: popup then incomingcallhungup (passthru)", calls, addr, concurrency, requests).await?;

    let drain_started = Instant::now();
    let pending = wait_until_nothing_pending(addr, drain_timeout).await?;
    let drain_secs = drain_started.elapsed().as_secs_f64();
    let passthru_to_drained = passthru_started.elapsed().as_secs_f64();
    eprintln!(
        "  seeded calls: dispatcher drained {drain_secs:.1} s after the last passthru ({pending} still pending), \
         {passthru_to_drained:.1} s from the first"
    );
    steps.push(SeedStep {
        step: "calls: dispatcher drained (no delivery pending)".into(),
        requests: 0,
        items: calls * 2,
        secs: drain_secs,
    });

    // Up to `sample_calls` calls per app, spread over its calls; their deliveries' ids.
    let mut asked = Vec::new();
    let mut requests = Vec::new();
    for (a, sids) in per_app.iter().enumerate() {
        let take = sample_calls.min(sids.len());
        for t in 0..take {
            let sid = &sids[t * sids.len() / take];
            requests.push(Req::get(format!("{API}/webhook_deliveries?call_sid={sid}")).auth(&world.apps[a].tokens[0]));
            asked.push(a);
        }
    }
    let sampled = requests.len();
    let answers =
        step(&mut steps, "calls: delivery ids read back (?call_sid=)", sampled, addr, concurrency, requests).await?;
    let mut deliveries: Vec<Vec<Arc<str>>> = vec![Vec::new(); app_count];
    let mut statuses: std::collections::BTreeMap<String, usize> = Default::default();
    let mut attempts_missing = 0;
    for (a, body) in asked.into_iter().zip(answers) {
        let page = data(&body)?;
        let list = page["Deliveries"].as_array().ok_or_else(|| format!("no Deliveries in {page}"))?;
        for d in list {
            let status = text(d, "Status")?;
            *statuses.entry(status.clone()).or_default() += 1;
            if status != "delivered" {
                continue;
            }
            if d["Attempts"].as_i64().unwrap_or(0) < 1 {
                attempts_missing += 1;
                continue;
            }
            deliveries[a].push(Arc::from(text(d, "DeliveryId")?));
        }
    }

    // A look at some calls' timelines: two events each (popup, incomingcallhungup), a delivery each.
    let checked: Vec<(usize, Arc<str>)> =
        per_app.iter().enumerate().filter_map(|(a, sids)| Some((a, sids.first()?.clone()))).take(200).collect();
    let requests = checked
        .iter()
        .map(|(a, sid)| Req::get(format!("{API}/call/{sid}/events")).auth(&world.apps[*a].tokens[0]))
        .collect();
    let answers = run_all(addr, concurrency, requests).await?;
    let mut unlike = 0;
    let mut first_unlike = None;
    for ((_, sid), body) in checked.iter().zip(answers) {
        let timeline = data(&body)?;
        let events = timeline["Events"].as_array().cloned().unwrap_or_default();
        let types: Vec<&str> = events.iter().map(|e| e["EventType"].as_str().unwrap_or("?")).collect();
        let deliveries: Vec<usize> =
            events.iter().map(|e| e["Deliveries"].as_array().map(Vec::len).unwrap_or(0)).collect();
        if timeline["CallSid"].as_str() != Some(sid) || types != ["popup", "incomingcallhungup"] || deliveries != [1, 1]
        {
            unlike += 1;
            first_unlike.get_or_insert_with(|| format!("{sid}: events {types:?}, deliveries {deliveries:?}"));
        }
    }
    let timelines = match first_unlike {
        None => format!("{} timelines looked at, each popup + incomingcallhungup with a delivery each", checked.len()),
        Some(first) => format!("{unlike} of {} timelines looked at are not popup + incomingcallhungup with a delivery each (first: {first})", checked.len()),
    };

    let secs = started.elapsed().as_secs_f64();
    let found: usize = statuses.values().sum();
    let tally = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ");
    let note = format!(
        "seeding {calls} calls (popup + incomingcallhungup each, over {app_count} apps) took {secs:.1} s: passthru \
         and dispatcher {passthru_to_drained:.1} s (drained {drain_secs:.1} s after the last passthru); the \
         deliveries of {sampled} sampled calls: {found} ({tally}{}), expected {}; {timelines}",
        if attempts_missing > 0 { format!(", {attempts_missing} delivered without an attempt") } else { String::new() },
        sampled * 2
    );
    eprintln!("  {note}");
    Ok(Calls { per_app, deliveries, steps, secs, note })
}

/// Polls `GET /metrics` until `webhook_queue_depth` is 0; returns what was still pending at the
/// end (0 unless the timeout passed).
pub async fn wait_until_nothing_pending(addr: SocketAddr, timeout: f64) -> Result<u64, String> {
    let started = Instant::now();
    let mut conn = crate::http::Conn::new(addr);
    let metrics = Req::get("/metrics");
    let mut last_print = Instant::now();
    loop {
        let (status, body) = conn.send(&metrics).await?;
        if !status.is_success() {
            return Err(format!("GET /metrics answered {status}"));
        }
        let text = String::from_utf8_lossy(&body);
        let depth = text
            .lines()
            .find_map(|l| l.strip_prefix("webhook_queue_depth "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or("no webhook_queue_depth in GET /metrics")? as u64;
        if depth == 0 || started.elapsed().as_secs_f64() > timeout {
            return Ok(depth);
        }
        if last_print.elapsed().as_secs() >= 5 {
            eprintln!("    {depth} deliveries pending, {:.0} s", started.elapsed().as_secs_f64());
            last_print = Instant::now();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_call_sids_are_distinct_and_untimed() {
        let sids: std::collections::HashSet<String> = (0..10_000).map(seeded_call_sid).collect();
        assert_eq!(sids.len(), 10_000);
        assert!(sids.iter().all(|s| s.len() == 32 && s.starts_with('c')));
    }

    #[test]
    fn a_hangup_carries_the_end_of_the_call() {
        let path = inbound_call_path("app", 3, 7, "c1", 42, Passthru::Hangup(61));
        assert!(path.starts_with(
            "/v2/integrations/call/inbound_call/app?type=incomingcallhungup&CallSid=c1&CallFrom=09876540042"
        ));
        assert!(path.contains("&DialWhomNumber=0980003000"), "{path}");
        assert!(path.contains("&EndTime=2024-05-01%2010%3A01%3A03&"), "{path}");
        assert!(path.contains("&Legs%5B0%5D%5BOnCallDuration%5D=61&"), "{path}");
    }
}
