//! `TestApp`: a fresh database and router per test, with builders that seed customers and apps.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use integrations_core::config::Config;
use integrations_core::dispatch::{Dispatcher, OutboxConsumer};
use integrations_core::server::router;
use integrations_core::state::AppState;
use integrations_core::store::Store;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::receiver::Receiver;

pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const ADMIN_TOKEN: &str = "test-admin-token";

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    /// The consumer end of the app's outbox, until [`TestApp::start_dispatcher`] takes it.
    pub outbox: std::sync::Mutex<Option<OutboxConsumer>>,
    /// How to open the test's database behind the store's back (see [`TestApp::raw_dump`]).
    raw: RawDb,
    /// Keeps the SQLite folder alive for the test's lifetime.
    _dir: tempfile::TempDir,
    /// Drops the test's Postgres schema when the test ends.
    #[cfg(feature = "pg-tests")]
    _schema: SchemaGuard,
}

/// A response with its body parsed as JSON (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    /// The envelope's `Data`, after checking the answer is a 200 success envelope.
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "expected 200, got {}: {}", self.status, self.text);
        assert_eq!(self.body["Status"], "Success", "{}", self.text);
        &self.body["Data"]
    }

    /// Checks a failure envelope with `status` and returns its `Error` text.
    pub fn error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert_eq!(self.body["Status"], "Failure", "{}", self.text);
        assert_eq!(self.body["Code"], status.as_u16(), "{}", self.text);
        assert!(self.body["Data"].is_null(), "{}", self.text);
        self.body["Error"].as_str().expect("Error is a string").to_string()
    }

    /// The envelope's keys, in the order of the JSON text.
    pub fn envelope_keys(&self) -> Vec<String> {
        serde_json::from_str::<KeyOrder>(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text)).0
    }

    /// The keys of the `Data` object, in the order of the JSON text.
    pub fn data_keys(&self) -> Vec<String> {
        #[derive(serde::Deserialize)]
        struct Wrapper {
            #[serde(rename = "Data")]
            data: KeyOrder,
        }
        serde_json::from_str::<Wrapper>(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text)).data.0
    }

    /// The keys of each object of the `Data` array, in the order of the JSON text.
    pub fn data_item_keys(&self) -> Vec<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Wrapper {
            #[serde(rename = "Data")]
            data: Vec<KeyOrder>,
        }
        let wrapper = serde_json::from_str::<Wrapper>(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text));
        wrapper.data.into_iter().map(|k| k.0).collect()
    }
}

/// The keys of the JSON object `text`, in the order of the text (serde_json's own map sorts them).
pub fn object_keys(text: &str) -> Vec<String> {
    serde_json::from_str::<KeyOrder>(text).unwrap_or_else(|e| panic!("{e}: {text}")).0
}

/// The keys of a JSON object in text order (serde_json's own map sorts them).
struct KeyOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeyOrder {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(KeyOrder(keys))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The call payload's keys, in the contract's order (CONTRACT 7.1).
pub const CALL_PAYLOAD_KEYS: [&str; 21] = [
    "CustomerId",
    "AppId",
    "CallSid",
    "ExotelAccountSid",
    "DialWhomNumber",
    "AppUserID",
    "VirtualNumber",
    "Direction",
    "CallStatus",
    "CallState",
    "ToNumber",
    "FromNumber",
    "TotalDuration",
    "CallRecordings",
    "AccountDomain",
    "TicketId",
    "CallDetail",
    "StartTime",
    "EndTime",
    "CreatedAt",
    "UpdatedAt",
];

/// Turns `["A", "B"]` into owned strings, to compare with key lists.
/// The keys of a delivery object (CONTRACT 8), in order.
pub const DELIVERY_KEYS: [&str; 11] = [
    "DeliveryId",
    "EventType",
    "Url",
    "CallSid",
    "Status",
    "Attempts",
    "LastResponseCode",
    "LastError",
    "NextAttemptAt",
    "CreatedAt",
    "DeliveredAt",
];

pub fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// A seeded customer, with a live customer token.
#[derive(Clone, Debug)]
pub struct TestCustomer {
    pub id: String,
    pub secret: String,
    pub token: String,
}

/// A seeded app, with a live app token.
#[derive(Clone, Debug)]
pub struct TestAppEntity {
    pub id: String,
    pub secret: String,
    pub token: String,
    pub customer: TestCustomer,
    pub account_sid: String,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// A TestApp whose configuration has `overrides` on top of the test defaults.
    pub async fn with_env(overrides: &[(&str, &str)]) -> Self {
        Self::configured(overrides, &[]).await
    }

    /// A TestApp whose configuration lacks the variables `unset` (e.g. `ADMIN_TOKEN`).
    pub async fn without_env(unset: &[&str]) -> Self {
        Self::configured(&[], unset).await
    }

    async fn configured(overrides: &[(&str, &str)], unset: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}/integrations.db", dir.path().display());
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), database_url),
            ("MASTER_KEY".into(), MASTER_KEY.into()),
            ("ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
            ("LOG_FORMAT".into(), "text".into()),
        ]);
        for (k, v) in overrides {
            vars.insert(k.to_string(), v.to_string());
        }
        for k in unset {
            vars.remove(*k);
        }
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
        // The store waits 5 s for a connection unless the test names its own bound.
        let acquire_timeout = match overrides.iter().any(|(k, _)| *k == "DATABASE_ACQUIRE_TIMEOUT_MS") {
            true => config.database_acquire_timeout,
            false => std::time::Duration::from_secs(5),
        };
        #[cfg(feature = "pg-tests")]
        let (store, raw, schema) = fresh_store(&config, acquire_timeout).await;
        #[cfg(not(feature = "pg-tests"))]
        let (store, raw) = fresh_store(&config, acquire_timeout).await;
        let (state, outbox) = AppState::new(store, config);
        Self {
            router: router(state.clone()),
            state,
            outbox: std::sync::Mutex::new(Some(outbox)),
            raw,
            _dir: dir,
            #[cfg(feature = "pg-tests")]
            _schema: schema,
        }
    }

    /// Every text value of every row of every table, read straight from the database
    /// (one per line): what a database dump would reveal.
    pub async fn raw_dump(&self) -> String {
        raw_dump(&self.raw).await
    }

    /// Runs `sql` on the test's database behind the store's back.
    pub async fn raw_execute(&self, sql: &str) {
        raw_execute(&self.raw, sql).await
    }

    /// Takes the write lock on `table` from a connection of its own and holds it until the
    /// returned connection is dropped: a database that stalls the store's writes.
    #[cfg(not(feature = "pg-tests"))]
    pub async fn hold_write_lock(&self, table: &str) -> sqlx::SqliteConnection {
        use sqlx::Connection;
        let conn = sqlx::SqliteConnection::connect(&self.raw).await.expect("raw sqlite connection");
        take_write_lock(conn, table).await
    }

    #[cfg(feature = "pg-tests")]
    pub async fn hold_write_lock(&self, table: &str) -> sqlx::PgConnection {
        use sqlx::Connection;
        let conn = sqlx::PgConnection::connect_with(&self.raw).await.expect("raw postgres connection");
        take_write_lock(conn, table).await
    }

    /// Runs `sql` in a transaction of its own, behind the store's back, and leaves it open: a
    /// writer that has not committed yet. [`release`] rolls it back.
    pub async fn uncommitted(&self, sql: &str) -> RawConnection {
        use sqlx::Connection;
        #[cfg(not(feature = "pg-tests"))]
        let mut conn = sqlx::SqliteConnection::connect(&self.raw).await.expect("raw sqlite connection");
        #[cfg(feature = "pg-tests")]
        let mut conn = sqlx::PgConnection::connect_with(&self.raw).await.expect("raw postgres connection");
        sqlx::query("BEGIN").execute(&mut conn).await.expect("begin");
        sqlx::query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn
    }

    /// The SQLite database file behind this app.
    #[cfg(not(feature = "pg-tests"))]
    pub fn sqlite_file(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(self.raw.trim_start_matches("sqlite://"))
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Sends a request from the default client address.
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, token);
        }
        let body = match body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).unwrap()).await
    }

    /// Sends any request; the client address defaults to 127.0.0.1 unless the request carries one.
    pub async fn send(&self, mut request: Request<Body>) -> TestResponse {
        if request.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
            request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        }
        let response = self.router.clone().oneshot(request).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(Method::DELETE, path, token, None).await
    }

    /// `POST /token` for any entity; returns the raw response.
    pub async fn token_response(&self, id: &str, secret: &str, entity: &str) -> TestResponse {
        self.post("/v2/integrations/token", None, json!({"Id": id, "Secret": secret, "Entity": entity})).await
    }

    pub async fn token(&self, id: &str, secret: &str, entity: &str) -> String {
        self.token_response(id, secret, entity).await.data().as_str().expect("token is a string").to_string()
    }

    /// Creates a customer through the admin route and signs it in.
    pub async fn seed_customer(&self) -> TestCustomer {
        let n = uuid::Uuid::new_v4().simple().to_string();
        let created = self
            .post(
                "/v2/integrations/customer",
                Some(ADMIN_TOKEN),
                json!({"CustomerName": format!("Customer {}", &n[..6]), "Email": format!("owner-{}@example.com", &n[..6])}),
            )
            .await;
        let data = created.data();
        let id = data["CustomerID"].as_str().unwrap().to_string();
        let secret = data["CustomerSecret"].as_str().unwrap().to_string();
        let token = self.token(&id, &secret, "customer").await;
        TestCustomer { id, secret, token }
    }

    /// Creates an app of `domain` under `customer` and signs it in.
    pub async fn seed_app_for(&self, customer: &TestCustomer, domain: &str) -> TestAppEntity {
        let account_sid = format!("acme{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let created = self
            .post(
                "/v2/integrations/app",
                Some(&customer.token),
                json!({
                    "AppName": "WebRTC",
                    "ExotelAccountSid": account_sid,
                    "ExotelApiKey": "test-api-key",
                    "ExotelApiToken": "test-api-token",
                    "ExotelDomain": domain,
                    "IsActive": true
                }),
            )
            .await;
        let data = created.data();
        let id = data["AppID"].as_str().unwrap().to_string();
        let secret = data["AppSecret"].as_str().unwrap().to_string();
        let token = self.token(&id, &secret, "app").await;
        TestAppEntity { id, secret, token, customer: customer.clone(), account_sid }
    }

    /// A test app whose webhooks may target this machine, with fast retries; `extra` adds
    /// variables or overrides these.
    pub async fn with_local_webhooks(extra: &[(&str, &str)]) -> Self {
        let mut env = vec![("WEBHOOK_ALLOW_PRIVATE", "true"), ("WEBHOOK_RETRY_SCHEDULE", "100ms,100ms,100ms")];
        env.extend_from_slice(extra);
        Self::with_env(&env).await
    }

    /// Maps one agent (`POST /usermapping`) with `agent_number` as its phone; returns the stored user.
    pub async fn map_agent(&self, entity: &TestAppEntity, id: &str, agent_number: &str) -> Value {
        let users = self
            .post(
                "/v2/integrations/usermapping",
                Some(&entity.token),
                json!([{
                    "AppUserId": id, "AppUsername": "Meera Pillai", "Email": format!("{id}@acme.example"),
                    "ExotelAccountSid": entity.account_sid, "ExotelUserName": "Meera Pillai",
                    "AgentNumber": agent_number, "VirtualNumber": "+918040001111"
                }]),
            )
            .await;
        users.data()[0].clone()
    }

    /// Sets one of the app's settings (`POST /app_setting`), checking it succeeded.
    pub async fn set_setting(&self, entity: &TestAppEntity, key: &str, value: impl Into<Value>) {
        let body = json!({"Key": key, "Value": value.into()});
        self.post("/v2/integrations/app_setting", Some(&entity.token), body).await.data();
    }

    /// A new customer with one app of `domain`.
    pub async fn seed_app(&self, domain: &str) -> TestAppEntity {
        let customer = self.seed_customer().await;
        self.seed_app_for(&customer, domain).await
    }
}

/// Takes the write lock on `table` (on SQLite, the database's one write lock) in a transaction of
/// `conn` and hands the connection back: writes to the table wait until it is dropped.
#[cfg(not(feature = "pg-tests"))]
async fn take_write_lock(mut conn: RawConnection, _table: &str) -> RawConnection {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.expect("take SQLite's write lock");
    conn
}

#[cfg(feature = "pg-tests")]
async fn take_write_lock(mut conn: RawConnection, table: &str) -> RawConnection {
    sqlx::query("BEGIN").execute(&mut conn).await.expect("begin");
    sqlx::query(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE")).execute(&mut conn).await.expect("lock");
    conn
}

/// A connection of the test's own to its database, beside the store's pools.
#[cfg(not(feature = "pg-tests"))]
pub type RawConnection = sqlx::SqliteConnection;
#[cfg(feature = "pg-tests")]
pub type RawConnection = sqlx::PgConnection;

/// Rolls back what [`TestApp::uncommitted`] left open and closes its connection.
pub async fn release(mut conn: RawConnection) {
    use sqlx::Connection;
    sqlx::query("ROLLBACK").execute(&mut conn).await.expect("rollback");
    conn.close().await.expect("close");
}

/// The SQLite database URL.
#[cfg(not(feature = "pg-tests"))]
type RawDb = String;

/// Connection options scoped to the test's schema.
#[cfg(feature = "pg-tests")]
type RawDb = sqlx::postgres::PgConnectOptions;

/// A fresh, migrated store: a SQLite file beside the test.
#[cfg(not(feature = "pg-tests"))]
async fn fresh_store(config: &Config, acquire_timeout: std::time::Duration) -> (Store, RawDb) {
    let url = config.database_url.expose().to_string();
    let store = Store::connect(&url, 4, acquire_timeout).await.expect("sqlite store");
    store.migrate().await.expect("migrations");
    (store, url)
}

#[cfg(not(feature = "pg-tests"))]
async fn raw_execute(url: &RawDb, sql: &str) {
    let pool = sqlx::SqlitePool::connect(url).await.expect("raw sqlite pool");
    sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
}

#[cfg(feature = "pg-tests")]
async fn raw_execute(options: &RawDb, sql: &str) {
    let pool = sqlx::PgPool::connect_with(options.clone()).await.expect("raw postgres pool");
    sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
}

#[cfg(not(feature = "pg-tests"))]
async fn raw_dump(url: &RawDb) -> String {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let options = SqliteConnectOptions::from_str(url).expect("sqlite url").read_only(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.expect("raw sqlite pool");
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&pool)
        .await
        .expect("list tables");
    let mut dump = String::new();
    for table in tables {
        let rows = sqlx::query(&format!("SELECT * FROM \"{table}\"")).fetch_all(&pool).await.expect("dump table");
        append_text_columns(&mut dump, &rows);
    }
    pool.close().await;
    dump
}

#[cfg(feature = "pg-tests")]
async fn raw_dump(options: &RawDb) -> String {
    let pool = sqlx::PgPool::connect_with(options.clone()).await.expect("raw postgres pool");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_all(&pool)
    .await
    .expect("list tables");
    let mut dump = String::new();
    for table in tables {
        let rows = sqlx::query(&format!("SELECT * FROM \"{table}\"")).fetch_all(&pool).await.expect("dump table");
        append_text_columns(&mut dump, &rows);
    }
    pool.close().await;
    dump
}

/// Appends every column that decodes as text; numbers, booleans and blobs are skipped.
fn append_text_columns<R: sqlx::Row>(dump: &mut String, rows: &[R])
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    for row in rows {
        for i in 0..row.len() {
            if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                dump.push_str(&text);
                dump.push('\n');
            }
        }
    }
}

/// A fresh, migrated store in a Postgres schema of its own, dropped when the guard is.
#[cfg(feature = "pg-tests")]
async fn fresh_store(_config: &Config, acquire_timeout: std::time::Duration) -> (Store, RawDb, SchemaGuard) {
    use sqlx::postgres::PgConnectOptions;
    use std::str::FromStr;
    let url = std::env::var("DATABASE_URL").expect("pg-tests needs DATABASE_URL=postgres://...");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let schema = format!("t_{now}_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.expect("postgres reachable");
    sweep_abandoned_schemas(&admin, now).await;
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.expect("create schema");
    admin.close().await;
    let options = PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
    let store = Store::connect_postgres(options.clone(), 4, acquire_timeout).await.expect("postgres store");
    store.migrate().await.expect("migrations");
    (store, options, SchemaGuard { url, schema })
}

/// Schemas of test runs that ended without dropping theirs (a crash, a kill) are dropped by the
/// next run, once per process: those over an hour old, so that a run going on beside is left alone.
#[cfg(feature = "pg-tests")]
async fn sweep_abandoned_schemas(admin: &sqlx::PgPool, now: u64) {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        .fetch_all(admin)
        .await
        .expect("list test schemas");
    for name in names {
        // `t_<unix seconds>_<uuid>`; the older `t_<uuid>` form has no time and is always abandoned.
        let created = name.split('_').nth(1).and_then(|secs| secs.parse::<u64>().ok()).unwrap_or(0);
        if now.saturating_sub(created) > 3_600 {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).execute(admin).await;
        }
    }
}

/// Drops a test's schema when the test ends, from a thread of its own (a test's runtime cannot
/// block on it from `Drop`).
#[cfg(feature = "pg-tests")]
struct SchemaGuard {
    url: String,
    schema: String,
}

#[cfg(feature = "pg-tests")]
impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let admin = sqlx::PgPool::connect(&url).await?;
                // Never wait long on a lock a task of the (now blocked) test runtime may hold:
                // the next run's sweep drops what is left.
                let mut tx = admin.begin().await?;
                sqlx::query("SET LOCAL lock_timeout = '5s'").execute(&mut *tx).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut *tx).await?;
                tx.commit().await?;
                admin.close().await;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test schema {}: {error}", self.schema);
        }
    }
}

/// Stops the dispatcher when dropped.
pub struct RunningDispatcher {
    _stop: tokio_util::sync::DropGuard,
}

impl TestApp {
    /// Starts this app's webhook dispatcher (woken by its passthru handlers).
    pub fn start_dispatcher(&self) -> RunningDispatcher {
        let stop = tokio_util::sync::CancellationToken::new();
        // The first dispatcher takes the app's outbox; another is one of a second process (claims only).
        let outbox = self.outbox.lock().unwrap().take();
        let outbox = outbox.unwrap_or_else(|| integrations_core::dispatch::new_pair(&self.state.config).1);
        let dispatcher = Dispatcher::new(self.state.store.clone(), &self.state.config, outbox);
        tokio::spawn(dispatcher.run(stop.clone()));
        RunningDispatcher { _stop: stop.drop_guard() }
    }
}

/// The prelude of a webhook test: a test app whose webhooks may target this machine (with fast
/// retries), a local receiver, a running dispatcher, and a sandbox app with settings pointing at it.
pub struct WebhookTest {
    pub app: TestApp,
    pub receiver: Receiver,
    pub entity: TestAppEntity,
    /// Bind it (`dispatcher: _dispatcher`): the dispatcher stops when it is dropped.
    pub dispatcher: RunningDispatcher,
}

impl WebhookTest {
    /// `env` adds to (or overrides) [`TestApp::with_local_webhooks`]'s variables; each `(key, path)`
    /// of `settings` points that app setting at `path` on the receiver.
    pub async fn start(env: &[(&str, &str)], settings: &[(&str, &str)]) -> Self {
        let app = TestApp::with_local_webhooks(env).await;
        let receiver = Receiver::start().await;
        let dispatcher = app.start_dispatcher();
        let entity = app.seed_app("sandbox").await;
        for (key, path) in settings {
            app.set_setting(&entity, key, receiver.url(path)).await;
        }
        Self { app, receiver, entity, dispatcher }
    }
}

#[cfg(not(feature = "pg-tests"))]
type RawPool = sqlx::SqlitePool;
#[cfg(feature = "pg-tests")]
type RawPool = sqlx::PgPool;

impl TestApp {
    /// A pool on the test's database, behind the store's back.
    async fn raw_pool(&self) -> RawPool {
        #[cfg(not(feature = "pg-tests"))]
        let pool = sqlx::SqlitePool::connect(&self.raw).await.expect("raw sqlite pool");
        #[cfg(feature = "pg-tests")]
        let pool = sqlx::PgPool::connect_with(self.raw.clone()).await.expect("raw postgres pool");
        pool
    }

    /// The one integer `sql` answers (a `SELECT COUNT(*) …`), read behind the store's back.
    pub async fn raw_count(&self, sql: &str) -> i64 {
        let pool = self.raw_pool().await;
        let count: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        count
    }

    /// The first column of every row `sql` returns, as text, read behind the store's back.
    pub async fn raw_texts(&self, sql: &str) -> Vec<String> {
        let pool = self.raw_pool().await;
        let texts = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        texts
    }
}

/// An independent Standard Webhooks verifier: HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed
/// with the bytes of `whsec_` + base64(secret), decoded; accepted when any `v1,` signature of the
/// space-separated header matches.
pub fn verify_standard_webhook(whsec: &str, id: &str, timestamp: &str, body: &str, signatures: &str) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(whsec.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = b64.encode(mac.finalize().into_bytes());
    signatures.split(' ').any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

/// Whether a webhook verifies, as a receiver holding `app_secret` checks it (whsec_ + base64(AppSecret)).
pub fn signed_with_app_secret(webhook: &crate::receiver::Received, app_secret: &str) -> bool {
    use base64::Engine;
    let whsec = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(app_secret.as_bytes()));
    let (id, timestamp) = (webhook.header("webhook-id"), webhook.header("webhook-timestamp"));
    verify_standard_webhook(&whsec, &id, &timestamp, &webhook.body, &webhook.header("webhook-signature"))
}

/// A database of its own for the real binary's processes (servers, CLI commands): a SQLite file,
/// or (pg-tests) a fresh Postgres database named `<prefix>_<uuid>`.
pub struct ProcessDatabase {
    pub url: String,
    _dir: tempfile::TempDir,
}

impl ProcessDatabase {
    #[cfg_attr(not(feature = "pg-tests"), allow(unused_variables))]
    pub async fn new(prefix: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        #[cfg(not(feature = "pg-tests"))]
        let url = format!("sqlite://{}/integrations.db", dir.path().display());
        #[cfg(feature = "pg-tests")]
        let url = {
            let base = std::env::var("DATABASE_URL").expect("pg-tests needs DATABASE_URL");
            let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(&base).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
            admin.close().await;
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&name);
            url.to_string()
        };
        Self { url, _dir: dir }
    }

    /// The binary on this database, with nothing else of the test's environment: `PATH`,
    /// `DATABASE_URL` and `RUST_LOG=warn` (the caller adds its keys).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_integrations-core"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.url)
            .env("RUST_LOG", "warn");
        command
    }

    /// A pool on this database, behind the binary's back.
    async fn pool(&self) -> RawPool {
        RawPool::connect(&self.url).await.unwrap()
    }

    /// Runs `sql` on this database behind the binary's back.
    pub async fn execute(&self, sql: &str) {
        let pool = self.pool().await;
        sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    }

    /// The one number `sql` answers (a `COUNT(*)`), read behind the binary's back.
    pub async fn count(&self, sql: &str) -> i64 {
        let pool = self.pool().await;
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        n
    }

    /// Takes the write lock on `table` from a connection of its own, held until it is dropped.
    pub async fn hold_write_lock(&self, table: &str) -> RawConnection {
        use sqlx::Connection;
        take_write_lock(RawConnection::connect(&self.url).await.unwrap(), table).await
    }

    /// Removes a Postgres test database once its servers are gone (SQLite files go with the folder).
    pub async fn drop(self) {
        #[cfg(feature = "pg-tests")]
        {
            let name = url::Url::parse(&self.url).unwrap().path().trim_start_matches('/').to_string();
            let admin = sqlx::PgPool::connect(&std::env::var("DATABASE_URL").unwrap()).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await;
            admin.close().await;
        }
    }
}
