//! A server that fails safe and says why: infrastructure errors name what failed, once, with the
//! variable that configures it; `migrate` says what it applied; no colour codes off a terminal.

use std::process::{Command, Output};

use crate::helpers::MASTER_KEY;

/// Runs the binary with `args` and exactly the variables `env` (plus PATH), stdout and stderr piped.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_integrations-core"));
    command.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The one line that says what failed: present once, and no escape codes anywhere.
fn assert_said_once(output: &Output, expected: &str) {
    let text = stderr(output);
    assert!(!output.status.success(), "must fail: {text}");
    assert_eq!(text.matches(expected).count(), 1, "{expected:?} once in:\n{text}");
    assert!(!text.contains('\u{1b}'), "no terminal colour codes when stderr is not a terminal:\n{text}");
}

#[test]
fn an_unreachable_postgres_is_named_by_host_port_and_variable() {
    // Nothing listens on port 1 of the loopback.
    let output = run(
        &["migrate"],
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/integrations"), ("MASTER_KEY", MASTER_KEY)],
    );
    assert_said_once(&output, "cannot open Postgres at 127.0.0.1:1, database \"integrations\" (DATABASE_URL)");
    assert!(stderr(&output).contains("Connection refused"), "{}", stderr(&output));
    assert!(!stderr(&output).contains("pool timed out"), "the cause, not the pool's symptom: {}", stderr(&output));
}

#[cfg(feature = "pg-tests")]
#[test]
fn a_postgres_database_that_does_not_exist_is_named_once() {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL for pg-tests");
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path("/integrations_no_such_database");
    let output = run(&["migrate"], &[("DATABASE_URL", url.as_str()), ("MASTER_KEY", MASTER_KEY)]);
    assert_said_once(&output, "database \"integrations_no_such_database\" does not exist");
    assert!(stderr(&output).contains("(DATABASE_URL)"), "{}", stderr(&output));
}

#[test]
fn an_sqlite_folder_that_cannot_be_created_names_database_url_not_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let url = format!("sqlite://{}/db/integrations.db", blocker.display());

    for env in [vec![("DATABASE_URL", url.as_str())], vec![("DATABASE_URL", url.as_str()), ("MASTER_KEY", MASTER_KEY)]]
    {
        let output = run(&["migrate"], &env);
        let text = stderr(&output);
        assert_said_once(&output, &format!("cannot create the folder {}/db", blocker.display()));
        assert!(text.contains("DATABASE_URL"), "{text}");
        assert!(!text.contains("MASTER_KEY"), "not a neighbouring variable: {text}");
    }
}

#[test]
fn an_address_in_use_is_named_with_listen_addr() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/integrations.db", dir.path().display());
    let output =
        run(&[], &[("DATABASE_URL", &url), ("MASTER_KEY", MASTER_KEY), ("LISTEN_ADDR", &addr), ("RUST_LOG", "info")]);
    assert_said_once(&output, &format!("LISTEN_ADDR: cannot listen on {addr}: Address already in use"));
}

#[test]
fn migrate_says_what_it_applied_then_that_nothing_was_pending() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/integrations.db", dir.path().display());
    let env = [("DATABASE_URL", url.as_str()), ("MASTER_KEY", MASTER_KEY)];
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();

    let first = run(&["migrate"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert!(text.contains(&format!("applied {migrations} migration(s) to the sqlite database")), "{text}");
    assert!(text.contains("0001_foundation"), "{text}");

    let second = run(&["migrate"], &env);
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(stdout(&second).trim(), "nothing to migrate: the database (sqlite) is up to date");
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    // A fresh SQLite data folder: the server generates its key and warns in a log line.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/integrations.db", dir.path().display());
    let output = run(&["migrate"], &[("DATABASE_URL", &url), ("RUST_LOG", "info")]);
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("generated a new master key"), "a log line was written: {text}");
    assert!(!text.contains('\u{1b}'), "no escape codes: {text:?}");
}

#[test]
fn help_lists_every_variable_the_configuration_reads() {
    let output = run(&["--help"], &[]);
    let help = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    let config = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.rs")).unwrap();
    // Every quoted upper-case name in the configuration's source is a variable it reads.
    let variables: std::collections::BTreeSet<&str> = config
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.len() > 3 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    assert!(variables.contains("WEBHOOK_RETRY_SCHEDULE"), "{variables:?}");
    for variable in variables {
        assert!(help.contains(variable), "--help does not list {variable}:\n{help}");
    }
}

#[test]
fn docker_compose_publishes_on_the_loopback_only_and_reads_an_env_file() {
    let compose = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml")).unwrap();
    let lines: Vec<&str> = compose.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
    let published: Vec<&str> =
        lines.iter().skip_while(|l| **l != "ports:").skip(1).take_while(|l| l.starts_with("- ")).copied().collect();
    assert!(!published.is_empty(), "the server publishes a port");
    for port in published {
        assert!(port.trim_start_matches("- ").trim_matches('"').starts_with("127.0.0.1:"), "{port} is not loopback");
    }
    assert_eq!(lines.iter().filter(|l| **l == "ports:").count(), 1, "Postgres publishes nothing");
    let env_file = lines.iter().position(|l| *l == "env_file:").expect("the server reads an env_file");
    assert_eq!(lines[env_file + 1], "- .env");
}
