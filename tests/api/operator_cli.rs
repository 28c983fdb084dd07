//! The operator's commands (CONTRACT 12) run as the real binary against a database of their own:
//! `customer list|show|delete`, `app activate|deactivate`, `health`, as tables and as `--json`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::helpers::{keys, object_keys, ProcessDatabase, MASTER_KEY};

/// The commands' database (see [`ProcessDatabase`]) and how to run the binary on it.
struct CliDatabase {
    db: ProcessDatabase,
}

impl CliDatabase {
    async fn new() -> Self {
        Self { db: ProcessDatabase::new("cli").await }
    }

    async fn drop(self) {
        self.db.drop().await;
    }

    async fn execute(&self, sql: &str) {
        self.db.execute(sql).await;
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.db.command(args);
        command.env("MASTER_KEY", MASTER_KEY);
        command
    }

    /// Runs the command with stdin not a terminal (`input` written to it).
    fn run(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs the command, checks it succeeded, and returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args, "");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?} failed: {stderr}\n{stdout}");
        stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }

    /// A customer created by the CLI: (CustomerID, CustomerSecret).
    fn create_customer(&self, name: &str) -> (String, String) {
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let created = self.json(&["customer", "create", "--name", name, "--email", &email]);
        (created["CustomerID"].as_str().unwrap().to_string(), created["CustomerSecret"].as_str().unwrap().to_string())
    }

    /// An app row for `customer_id` (no secret of it is ever opened by these commands).
    async fn insert_app(&self, app_id: &str, customer_id: &str, created_at: i64) {
        self.execute(&format!(
            "INSERT INTO apps (id, customer_id, name, exotel_account_sid, exotel_api_key, exotel_api_token, \
             exotel_domain, is_active, secret, created_at, updated_at) VALUES ('{app_id}', '{customer_id}', \
             'App {app_id}', 'acme', 'sealed', 'sealed', 'sandbox', TRUE, 'sealed', {created_at}, {created_at})"
        ))
        .await;
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn customer_list_hides_secrets_unless_asked_and_show_gives_the_apps() {
    let db = CliDatabase::new().await;
    assert!(db.ok(&["customer", "list"]).contains("No customers yet"));
    let (first, first_secret) = db.create_customer("Acme Corp");
    let (second, second_secret) = db.create_customer("Globex");
    db.insert_app("app-one", &first, now_ms() - 2000).await;
    db.insert_app("app-two", &first, now_ms() - 1000).await;

    let table = db.ok(&["customer", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("CUSTOMER ID") && lines[0].contains("APPS"), "{table}");
    assert!(!lines[0].contains("SECRET"), "{table}");
    assert!(lines[1].starts_with(&first) && lines[1].contains("Acme Corp") && lines[1].contains(" 2 "), "{table}");
    assert!(lines[2].starts_with(&second) && lines[2].contains(" 0 "), "{table}");
    assert!(!table.contains(&first_secret) && !table.contains(&second_secret), "{table}");

    let listed = db.json(&["customer", "list", "--json"]);
    assert_eq!(listed["PageSize"], 2);
    assert_eq!(listed["LastEvaluatedValue"], "");
    assert_eq!(listed["Customers"][0]["CustomerID"], first.as_str());
    assert_eq!(listed["Customers"][0]["AppCount"], 2);
    assert!(listed["Customers"][0].get("CustomerSecret").is_none(), "{listed}");
    let text = db.ok(&["customer", "list", "--json"]);
    let start = text.find('{').unwrap() + 1;
    let start = start + text[start..].find('{').unwrap();
    let end = start + text[start..].find('}').unwrap() + 1;
    assert_eq!(
        object_keys(&text[start..end]),
        keys(&[
            "CustomerID",
            "CustomerName",
            "Email",
            "CustomerSetting",
            "CreatedAt",
            "UpdatedAt",
            "DeletedAt",
            "AppCount"
        ])
    );

    let with_secrets = db.ok(&["customer", "list", "--show-secrets"]);
    assert!(with_secrets.lines().next().unwrap().contains("SECRET"));
    assert!(with_secrets.contains(&first_secret) && with_secrets.contains(&second_secret), "{with_secrets}");
    let json_secrets = db.json(&["customer", "list", "--json", "--show-secrets"]);
    assert_eq!(json_secrets["Customers"][1]["CustomerSecret"], second_secret.as_str());

    let shown = db.ok(&["customer", "show", &first]);
    assert!(shown.contains("Acme Corp") && shown.contains("acme.corp@example.com"), "{shown}");
    let app_one = shown.find("app-one").expect("the first app listed");
    assert!(shown[app_one..].contains("app-two"), "oldest first: {shown}");
    assert!(!shown.contains(&first_secret));
    let detail = db.json(&["customer", "show", &first, "--json"]);
    assert_eq!(detail["AppCount"], 2);
    let apps: Vec<&str> = detail["Apps"].as_array().unwrap().iter().map(|a| a["AppID"].as_str().unwrap()).collect();
    assert_eq!(apps, ["app-one", "app-two"]);
    assert_eq!(detail["Apps"][0]["IsActive"], true);
    assert!(detail.get("CustomerSecret").is_none());

    let missing = db.run(&["customer", "show", "nobody"], "");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no customer with CustomerID nobody"));
    db.drop().await;
}

#[tokio::test]
async fn apps_are_switched_off_and_on_from_the_shell() {
    let db = CliDatabase::new().await;
    let (customer, _) = db.create_customer("Initech");
    db.insert_app("app-x", &customer, now_ms()).await;

    let off = db.ok(&["app", "deactivate", "app-x"]);
    assert!(off.contains("app-x") && off.contains("now inactive"), "{off}");
    assert_eq!(db.json(&["customer", "show", &customer, "--json"])["Apps"][0]["IsActive"], false);
    let on = db.json(&["app", "activate", "app-x", "--json"]);
    assert_eq!(on["AppID"], "app-x");
    assert_eq!(on["CustomerID"], customer.as_str());
    assert_eq!(on["IsActive"], true);
    assert!(on.get("AppSecret").is_none() && on.get("ExotelApiKey").is_none());

    let missing = db.run(&["app", "activate", "no-such-app"], "");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no app with AppID no-such-app"));
    db.drop().await;
}

#[tokio::test]
async fn customer_delete_asks_on_a_terminal_unless_yes_and_not_when_stdin_is_not_one() {
    let db = CliDatabase::new().await;
    let (kept, _) = db.create_customer("Kept Co");
    let (piped, _) = db.create_customer("Piped Co");
    let (confirmed, _) = db.create_customer("Confirmed Co");
    let (forced, _) = db.create_customer("Forced Co");
    db.insert_app("app-piped", &piped, now_ms()).await;

    // On a terminal (`script` gives the command a pseudo-terminal): anything but yes keeps it.
    let on_terminal = |id: &str, answer: &str| {
        let bin = env!("CARGO_BIN_EXE_integrations-core");
        let mut script = Command::new("script")
            .args(["-qec", &format!("{bin} customer delete {id}"), "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.db.url)
            .env("MASTER_KEY", MASTER_KEY)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script runs");
        script.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
        script.wait_with_output().unwrap()
    };
    let declined = on_terminal(&kept, "n\n");
    let shown = String::from_utf8_lossy(&declined.stdout);
    assert!(!declined.status.success(), "{shown}");
    assert!(shown.contains("[y/N]") && shown.contains("Kept Co"), "the question names the customer: {shown}");
    assert!(shown.contains("not deleted"), "{shown}");
    db.ok(&["customer", "show", &kept]);

    let accepted = on_terminal(&confirmed, "y\n");
    let shown = String::from_utf8_lossy(&accepted.stdout);
    assert!(accepted.status.success(), "{shown}");
    assert!(shown.contains("[y/N]") && shown.contains("Deleted customer"), "{shown}");
    assert!(!db.run(&["customer", "show", &confirmed], "").status.success());

    // Stdin not a terminal: no question, deleted.
    let output = db.run(&["customer", "delete", &piped], "");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stdout.contains("[y/N]") && !stderr.contains("[y/N]"), "no question: {stdout}{stderr}");
    assert!(stdout.contains("Deleted customer") && stdout.contains("1 app"), "{stdout}");
    assert!(!db.run(&["customer", "show", &piped], "").status.success());

    assert_eq!(db.json(&["customer", "delete", &forced, "--yes", "--json"]), json!("Deleted Successfully"));
    let left = db.json(&["customer", "list", "--json"]);
    assert_eq!(left["Customers"].as_array().unwrap().len(), 1);
    assert_eq!(left["Customers"][0]["CustomerID"], kept.as_str());

    let again = db.run(&["customer", "delete", &forced, "--yes"], "");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no customer with CustomerID"));
    db.drop().await;
}

#[tokio::test]
async fn health_shows_the_queue_and_the_failing_apps() {
    let db = CliDatabase::new().await;
    let quiet = db.json(&["health", "--json"]);
    assert_eq!(quiet, json!({"Database": "ok", "QueueDepth": 0, "OldestPendingAgeSeconds": 0, "FailingApps": []}));
    assert!(db.ok(&["health"]).contains("none"));

    let (customer, _) = db.create_customer("Umbrella");
    db.insert_app("app-failing", &customer, now_ms()).await;
    let now = now_ms();
    let rows = [
        ("d1", "dead", "receiver answered 410", now - 60_000),
        ("d2", "dead", "receiver answered 410 again", now - 1_000),
        ("old", "dead", "long ago", now - 2 * 86_400_000),
        ("p1", "pending", "", now - 90_000),
    ];
    for (id, status, error, at) in rows {
        db.execute(&format!(
            "INSERT INTO webhook_deliveries (id, app_id, event_type, url, call_sid, payload, status, attempts, \
             next_attempt_at, lease_until, last_error, created_at, updated_at) VALUES ('{id}', 'app-failing', \
             'missedCall', 'https://crm.example/hook', '{id}', '{{}}', '{status}', 1, {}, 0, '{error}', {at}, {at})",
            now + 3_600_000
        ))
        .await;
    }

    let health = db.json(&["health", "--json"]);
    assert_eq!(health["QueueDepth"], 1);
    let age = health["OldestPendingAgeSeconds"].as_i64().unwrap();
    assert!((89..=120).contains(&age), "{health}");
    assert_eq!(
        health["FailingApps"],
        json!([{"AppID": "app-failing", "CustomerID": customer, "Dead24h": 2, "Pending": 1,
                "LastError": "receiver answered 410 again"}])
    );
    let table = db.ok(&["health"]);
    assert!(table.contains("Queue depth:") && table.contains("LAST ERROR"), "{table}");
    let row = table.lines().find(|l| l.starts_with("app-failing")).expect("a row for the failing app");
    assert!(row.contains(&customer) && row.contains("receiver answered 410 again"), "{table}");
    db.drop().await;
}

#[test]
fn every_command_and_flag_has_help_text() {
    let help = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_integrations-core")).args(args).arg("--help").output().unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let top = help(&[]);
    for command in ["customer", "app", "health", "DATABASE_URL", "ADMIN_TOKEN"] {
        assert!(top.contains(command), "{top}");
    }
    for (args, flags) in [
        (&["customer", "list"][..], &["--show-secrets", "--json"][..]),
        (&["customer", "show"], &["--json", "<ID>"]),
        (&["customer", "delete"], &["--yes", "--json", "<ID>"]),
        (&["app", "activate"], &["--json", "<ID>"]),
        (&["app", "deactivate"], &["--json", "<ID>"]),
        (&["health"], &["--json"]),
    ] {
        let text = help(args);
        for flag in flags {
            let line =
                text.lines().find(|l| l.trim_start().starts_with(flag)).unwrap_or_else(|| panic!("{args:?}: {text}"));
            assert!(line.trim().len() > flag.len() + 4, "{args:?} {flag} has no description: {text}");
        }
    }
}
