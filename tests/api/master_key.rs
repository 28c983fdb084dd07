//! Master-key rotation (CONTRACT 13): sealed values name their key, start-up refuses a key that
//! cannot open the database, and `rekey` moves every stored secret to `MASTER_KEY` — stopping
//! before any write when a value opens with no key, and finishing on a second run after a SIGKILL.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use integrations_core::crypto::{Keyring, MasterKey, SecretField};
use integrations_core::services::master_key::{self, MasterKeyError};
use integrations_core::store::{SealedRowKey, Store};
use serde_json::{json, Value};

use crate::helpers::{ProcessDatabase, TestApp, MASTER_KEY};

/// The key the tests rotate to, and one that never sealed anything here.
const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const STRANGER_KEY: &str = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";

fn key(base64: &str) -> MasterKey {
    MasterKey::from_base64(base64).unwrap()
}

/// Every stored secret in clear, by column and row, opened with `keyring`.
async fn opened(store: &Store, keyring: &Keyring) -> BTreeMap<(&'static str, String), String> {
    let mut values = BTreeMap::new();
    for field in SecretField::ALL {
        let mut after = SealedRowKey::default();
        loop {
            let page = store.sealed_page(field, &after, 50).await.unwrap();
            for value in &page {
                let context = value.row.context();
                let plaintext = keyring
                    .open_field(field, &context, &value.sealed)
                    .unwrap_or_else(|e| panic!("{} of {context}: {e}", field.label()));
                values.insert((field.label(), context), plaintext);
            }
            match page.last() {
                Some(last) if page.len() == 50 => after = last.row.clone(),
                _ => break,
            }
        }
    }
    values
}

/// The app's secret rotated with a grace (so `apps.previous_secret` is set) and one agent mapped
/// (a SIP password): every sealed column holds a value.
async fn seed_every_sealed_column(app: &TestApp) {
    let entity = app.seed_app("sandbox").await;
    app.map_agent(&entity, "agent-1", "+919812345678").await;
    app.post("/v2/integrations/app/secret", Some(&entity.token), json!({"GraceHours": 24})).await.data();
    app.seed_app("sandbox").await;
}

#[tokio::test]
async fn rekey_moves_every_stored_secret_to_the_new_key_and_the_old_key_can_then_be_dropped() {
    let app = TestApp::new().await;
    seed_every_sealed_column(&app).await;
    master_key::check(app.store(), &Keyring::new(key(MASTER_KEY), vec![])).await.unwrap();
    let before = opened(app.store(), &Keyring::new(key(MASTER_KEY), vec![])).await;
    for field in SecretField::ALL {
        assert!(before.keys().any(|(column, _)| *column == field.label()), "{} holds a value", field.label());
    }

    let rotating = Keyring::new(key(NEW_KEY), vec![key(MASTER_KEY)]);
    let mut reports = Vec::new();
    let summary = master_key::rekey(app.store(), &rotating, |progress| reports.push(progress)).await.unwrap();

    let resealed: u64 = summary.iter().map(|c| c.resealed).sum();
    assert_eq!(resealed as usize, before.len(), "{summary:?}");
    assert_eq!(summary.last().unwrap().column, "key_check.sealed", "the key check moves last");
    assert_eq!(reports.first().map(|p| (p.done, p.total)), Some((0, before.len() as u64)));
    assert_eq!(reports.last().map(|p| (p.done, p.total)), Some((before.len() as u64, before.len() as u64)));

    let new_only = Keyring::new(key(NEW_KEY), vec![]);
    assert_eq!(opened(app.store(), &new_only).await, before, "the same secrets, under the new key alone");
    master_key::check(app.store(), &new_only).await.unwrap();
    let old_only = master_key::check(app.store(), &Keyring::new(key(MASTER_KEY), vec![])).await.unwrap_err();
    assert!(matches!(old_only, MasterKeyError::NoKeyOpens(_)), "{old_only}");

    let again = master_key::rekey(app.store(), &new_only, |_| {}).await.unwrap();
    assert!(again.iter().all(|c| c.resealed == 0), "nothing left to move: {again:?}");
    assert_eq!(again.iter().map(|c| c.already_current).sum::<u64>() as usize, before.len());
}

#[tokio::test]
async fn a_value_a_server_rewrites_during_rekey_keeps_the_newer_value() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let rotating = Keyring::new(key(NEW_KEY), vec![key(MASTER_KEY)]);
    let stale = app.store().sealed_page(SecretField::AppSecret, &SealedRowKey::default(), 10).await.unwrap();
    // A server with the new key rotates the app's secret after rekey read the old value.
    let newer = rotating.seal_field(SecretField::AppSecret, &entity.id, "rotated-meanwhile");
    app.raw_execute(&format!("UPDATE apps SET secret = '{}' WHERE id = '{}'", newer.0, entity.id)).await;
    let reseal = integrations_core::store::Reseal {
        row: stale[0].row.clone(),
        old: stale[0].sealed.clone(),
        new: rotating.seal_field(SecretField::AppSecret, &entity.id, &entity.secret),
    };
    assert_eq!(app.store().reseal(SecretField::AppSecret, &[reseal]).await.unwrap(), 0);
    let now = app.store().sealed_page(SecretField::AppSecret, &SealedRowKey::default(), 10).await.unwrap();
    assert_eq!(rotating.open_field(SecretField::AppSecret, &entity.id, &now[0].sealed).unwrap(), "rotated-meanwhile");
}

/// A database of the binary's own (SQLite file or Postgres database) and the binary run on it.
struct Db {
    db: ProcessDatabase,
}

impl Db {
    async fn new() -> Self {
        Self { db: ProcessDatabase::new("rekey").await }
    }

    fn command(&self, args: &[&str], keys: &[(&str, &str)]) -> Command {
        let mut command = self.db.command(args);
        command.env("LISTEN_ADDR", "127.0.0.1:0");
        for (name, value) in keys {
            command.env(name, value);
        }
        command
    }

    fn run(&self, args: &[&str], keys: &[(&str, &str)]) -> Output {
        self.command(args, keys).stdin(Stdio::null()).output().expect("the binary runs")
    }

    fn ok(&self, args: &[&str], keys: &[(&str, &str)]) -> String {
        let output = self.run(args, keys);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{args:?}: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
        stdout
    }

    async fn execute(&self, sql: &str) {
        self.db.execute(sql).await;
    }

    async fn count(&self, sql: &str) -> i64 {
        self.db.count(sql).await
    }

    /// Customers made straight in the database, their secrets sealed under `MASTER_KEY`: (id, secret).
    async fn seed_customers(&self, n: usize) -> Vec<(String, String)> {
        let old = key(MASTER_KEY);
        let customers: Vec<(String, String)> =
            (0..n).map(|i| (format!("cust-{i:06}"), uuid::Uuid::new_v4().to_string())).collect();
        for chunk in customers.chunks(500) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|(id, secret)| {
                    let sealed = old.seal_field(SecretField::CustomerSecret, id, secret);
                    format!("('{id}', 'Customer {id}', '{id}@example.com', '{}', 1, 1)", sealed.0)
                })
                .collect();
            self.execute(&format!(
                "INSERT INTO customers (id, name, email, secret, created_at, updated_at) VALUES {}",
                rows.join(", ")
            ))
            .await;
        }
        customers
    }

    /// How many customer secrets name the key `id`.
    async fn customers_under(&self, key_id: &str) -> i64 {
        self.count(&format!("SELECT COUNT(*) FROM customers WHERE secret LIKE 'v2:{key_id}:%'")).await
    }

    /// Every customer's secret, as `customer list --show-secrets --json` prints them.
    fn listed_secrets(&self, keys: &[(&str, &str)]) -> BTreeMap<String, String> {
        let listed: Value =
            serde_json::from_str(&self.ok(&["customer", "list", "--show-secrets", "--json"], keys)).unwrap();
        listed["Customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["CustomerID"].as_str().unwrap().to_string(), c["CustomerSecret"].as_str().unwrap().to_string()))
            .collect()
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// No key, in any form, appears in what the binary printed.
fn assert_no_key_in(output: &Output) {
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr(output));
    for secret in [MASTER_KEY, NEW_KEY, STRANGER_KEY] {
        assert!(!text.contains(secret), "a key was printed: {text}");
    }
}

#[tokio::test]
async fn a_server_started_with_a_key_that_cannot_open_the_database_refuses_naming_master_key() {
    let db = Db::new().await;
    let right = [("MASTER_KEY", MASTER_KEY)];
    db.ok(&["customer", "create", "--name", "Acme", "--email", "ops@acme.example"], &right);

    let wrong = [("MASTER_KEY", STRANGER_KEY)];
    let started = Instant::now();
    let serve = db.run(&["serve"], &wrong);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!serve.status.success(), "must refuse to serve: {}", stderr(&serve));
    assert!(stderr(&serve).contains("MASTER_KEY does not open this database's secrets"), "{}", stderr(&serve));
    assert!(stderr(&serve).contains("key_check.sealed of master"), "names what did not open: {}", stderr(&serve));
    assert!(!stderr(&serve).contains("is ready"), "{}", stderr(&serve));
    assert_no_key_in(&serve);

    let list = db.run(&["customer", "list"], &wrong);
    assert!(!list.status.success() && stderr(&list).contains("MASTER_KEY does not open"), "{}", stderr(&list));

    // The same key that sealed the data opens it, and so does a ring that holds it as a previous key.
    db.ok(&["customer", "list"], &right);
    db.ok(&["customer", "list"], &[("MASTER_KEY", NEW_KEY), ("MASTER_KEY_PREVIOUS", MASTER_KEY)]);
    db.db.drop().await;
}

#[tokio::test]
async fn a_database_written_before_key_ids_and_the_key_check_keeps_working_after_the_upgrade() {
    let db = Db::new().await;
    let right = [("MASTER_KEY", MASTER_KEY)];
    let created: Value =
        serde_json::from_str(&db.ok(&["customer", "create", "--name", "Acme", "--email", "ops@acme.example"], &right))
            .unwrap();
    let secret = created["CustomerSecret"].as_str().unwrap().to_string();
    // What today's main wrote: values as `v1:<base64>` (no key id), no key_check table, migrations to 0011.
    db.execute("UPDATE customers SET secret = 'v1:' || substr(secret, 21)").await;
    db.execute("DROP TABLE key_check").await;
    db.execute("DELETE FROM _sqlx_migrations WHERE version = 12").await;
    assert_eq!(db.count("SELECT COUNT(*) FROM customers WHERE secret LIKE 'v1:%'").await, 1);

    let migrated = db.ok(&["migrate"], &right);
    assert!(migrated.contains("0012_key_check"), "{migrated}");
    // A wrong key is refused on the stored customer secret, before the key check is written.
    let wrong = db.run(&["customer", "list"], &[("MASTER_KEY", STRANGER_KEY)]);
    assert!(stderr(&wrong).contains("MASTER_KEY does not open"), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("customers.secret of"), "{}", stderr(&wrong));
    assert_eq!(db.count("SELECT COUNT(*) FROM key_check").await, 0, "no key check under a wrong key");

    let listed = db.listed_secrets(&right);
    assert_eq!(listed.values().collect::<Vec<_>>(), vec![&secret], "the legacy value opens");
    assert_eq!(db.count("SELECT COUNT(*) FROM key_check").await, 1, "the upgraded database got its key check");

    let rotating = [("MASTER_KEY", NEW_KEY), ("MASTER_KEY_PREVIOUS", MASTER_KEY)];
    db.ok(&["rekey"], &rotating);
    assert_eq!(db.customers_under(key(NEW_KEY).id()).await, 1, "the legacy value now names the new key");
    assert_eq!(db.listed_secrets(&[("MASTER_KEY", NEW_KEY)]), listed);
    db.db.drop().await;
}

#[tokio::test]
async fn rekey_with_a_wrong_previous_key_names_the_first_row_it_cannot_open_and_writes_nothing() {
    let db = Db::new().await;
    db.ok(&["migrate"], &[("MASTER_KEY", MASTER_KEY)]);
    let customers = db.seed_customers(3).await;
    let before = db.count("SELECT COUNT(*) FROM customers WHERE secret LIKE 'v2:%'").await;

    let output = db.run(&["rekey"], &[("MASTER_KEY", NEW_KEY), ("MASTER_KEY_PREVIOUS", STRANGER_KEY)]);
    let text = stderr(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("rekey stopped before writing anything"), "{text}");
    assert!(text.contains(&format!("customers.secret of {}", customers[0].0)), "the first row: {text}");
    assert!(text.contains("MASTER_KEY_PREVIOUS"), "{text}");
    assert_no_key_in(&output);
    assert_eq!(db.customers_under(key(NEW_KEY).id()).await, 0, "nothing was written");
    assert_eq!(db.customers_under(key(MASTER_KEY).id()).await, before);

    let bad = db.run(&["rekey"], &[("MASTER_KEY", NEW_KEY), ("MASTER_KEY_PREVIOUS", "not-a-key")]);
    assert!(stderr(&bad).contains("MASTER_KEY_PREVIOUS: key 1 of 1"), "{}", stderr(&bad));
    assert!(!stderr(&bad).contains("not-a-key"), "{}", stderr(&bad));
    db.db.drop().await;
}

#[tokio::test]
async fn a_rekey_killed_mid_way_leaves_every_value_readable_and_a_second_run_finishes() {
    let db = Db::new().await;
    let rotating = [("MASTER_KEY", NEW_KEY), ("MASTER_KEY_PREVIOUS", MASTER_KEY)];
    db.ok(&["migrate"], &[("MASTER_KEY", MASTER_KEY)]);
    let customers = db.seed_customers(10_000).await;
    let expected: BTreeMap<String, String> = customers.into_iter().collect();
    let new_id = key(NEW_KEY).id().to_string();

    let mut child = db.command(&["rekey"], &rotating).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Once its first page is committed, stall its writes behind a lock of ours and kill it there.
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.customers_under(&new_id).await == 0 {
        assert!(Instant::now() < deadline, "rekey never wrote its first page");
        assert!(child.try_wait().unwrap().is_none(), "rekey ended before it could be interrupted");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let lock = db.db.hold_write_lock("customers").await;
    child.kill().unwrap();
    child.wait().unwrap();
    drop(lock);

    let moved = db.customers_under(&new_id).await;
    assert!(moved > 0 && moved < expected.len() as i64, "killed mid-way: {moved} of {} moved", expected.len());
    assert_eq!(db.listed_secrets(&rotating), expected, "every value readable with the ring mid-rotation");

    let summary: Value = serde_json::from_str(&db.ok(&["rekey", "--json"], &rotating)).unwrap();
    let customers_row = summary.as_array().unwrap().iter().find(|c| c["Column"] == "customers.secret").unwrap();
    assert_eq!(customers_row["Resealed"].as_i64().unwrap() + moved, expected.len() as i64, "{customers_row}");
    assert_eq!(customers_row["AlreadyCurrent"].as_i64().unwrap(), moved);
    assert_eq!(db.customers_under(&new_id).await, expected.len() as i64);
    assert_eq!(db.listed_secrets(&[("MASTER_KEY", NEW_KEY)]), expected, "the old key is no longer needed");
    db.db.drop().await;
}

#[tokio::test]
async fn rekey_prints_a_summary_table_and_no_progress_bar_off_a_terminal() {
    let db = Db::new().await;
    db.ok(&["migrate"], &[("MASTER_KEY", MASTER_KEY)]);
    db.seed_customers(2).await;
    let output = db.run(&["rekey"], &[("MASTER_KEY", NEW_KEY), ("MASTER_KEY_PREVIOUS", MASTER_KEY)]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout.contains("COLUMN") && stdout.contains("RE-SEALED"), "{stdout}");
    let customers_line = stdout.lines().find(|l| l.starts_with("customers.secret")).unwrap();
    assert_eq!(customers_line.split_whitespace().collect::<Vec<_>>(), ["customers.secret", "2", "0", "0"]);
    assert!(stdout.contains(&format!("sealed under MASTER_KEY (key {})", key(NEW_KEY).id())), "{stdout}");
    assert!(!stderr(&output).contains("re-sealing"), "no bar when stderr is a pipe: {}", stderr(&output));
    assert_no_key_in(&output);
    db.db.drop().await;
}
