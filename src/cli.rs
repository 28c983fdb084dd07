//! The command line: `serve` (default), `migrate`, `customer create|list|show|delete`,
//! `app activate|deactivate`, `health`, `rekey`, `openapi`.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Args, Parser, Subcommand};

use crate::api::admin::{AdminCustomerBody, AdminCustomerDetail, AdminCustomerPage, AdminHealthBody};
use crate::api::app::AppBody;
use crate::api::customer::CustomerBody;
use crate::config::Config;
use crate::services::{customers, master_key, operator, storage};
use crate::store::Store;

/// What `--help` lists after the commands: every variable the configuration reads (the README
/// gives their defaults and what they do).
const ENVIRONMENT_HELP: &str = "\
Configuration comes from the environment (and a .env file in the working folder):
  Storage:    DATABASE_URL (sqlite://... or postgres://...), DATABASE_MAX_CONNECTIONS,
              DATABASE_ACQUIRE_TIMEOUT_MS
  Secrets:    MASTER_KEY (base64 of 32 bytes; on SQLite a master.key next to the database by default),
              MASTER_KEY_PREVIOUS (comma-separated older keys, still read while `rekey` moves their values),
              ADMIN_TOKEN (the operator's token; the operator API is off without it)
  HTTP:       LISTEN_ADDR, PUBLIC_BASE_URL, MAX_CONNECTIONS, HEADER_READ_TIMEOUT_SECS,
              BODY_READ_TIMEOUT_SECS, KEEP_ALIVE_TIMEOUT_SECS, REQUEST_TIMEOUT_SECS,
              CORS_ALLOWED_ORIGINS, TRUSTED_PROXIES
  Tokens:     TOKEN_TTL_DAYS, TOKEN_FAILURE_LIMIT, TOKEN_FAILURE_WINDOW_SECS, TOKEN_FAILURE_MAX_DELAY_MS
  Webhooks:   WEBHOOK_TIMEOUT_SECS, WEBHOOK_RETRY_SCHEDULE, WEBHOOK_MAX_IN_FLIGHT_PER_APP,
              WEBHOOK_RETENTION_DAYS, WEBHOOK_SECRET_CACHE_MS, WEBHOOK_ALLOW_PRIVATE, POPUP_DEADLINE_SECS
  Exotel:     EXOTEL_CCM_URL_MUMBAI, EXOTEL_CCM_URL_SINGAPORE, EXOTEL_TIMEOUT_SECS, SANDBOX_CALL_STEP_MS
  Console:    CONSOLE_ENABLED, CONSOLE_FRAME_ANCESTORS
  Display:    DISPLAY_UTC_OFFSET, LOG_FORMAT (text or json), RUST_LOG";

#[derive(Parser, Debug)]
#[command(
    name = "integrations-core",
    version,
    about = "Exotel integrations core v2, reimplemented",
    after_help = ENVIRONMENT_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage customers: create, list, show, delete.
    Customer {
        #[command(subcommand)]
        command: CustomerCommand,
    },
    /// Switch any app on or off.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// The webhook queue and the apps whose webhooks went dead in the last 24 hours.
    Health {
        #[command(flatten)]
        output: Output,
    },
    /// Re-seal every stored secret under MASTER_KEY, reading the old values with MASTER_KEY_PREVIOUS.
    ///
    /// Safe while servers serve (give them the same MASTER_KEY and MASTER_KEY_PREVIOUS first); stops
    /// before writing anything if a value opens with none of the keys; may be interrupted and run
    /// again. Afterwards MASTER_KEY_PREVIOUS can be dropped.
    Rekey {
        #[command(flatten)]
        output: Output,
    },
    /// Print the OpenAPI document (JSON) and exit.
    Openapi,
}

/// How a command prints its answer.
#[derive(Args, Debug, Clone, Copy)]
pub struct Output {
    /// Print JSON (the same object as the operator API's `Data`) instead of a readable table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum CustomerCommand {
    /// Create a customer and print it as JSON, secret included.
    Create {
        /// The customer's name (1–200 characters).
        #[arg(long)]
        name: String,
        /// The customer's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// List every customer in creation order with its number of apps (secrets hidden).
    List {
        /// Also print each customer's CustomerSecret.
        #[arg(long)]
        show_secrets: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Show one customer with its apps (no secrets).
    Show {
        /// The customer's CustomerID.
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Delete a customer with all its apps, settings, user mappings, calls and tokens (irreversible).
    Delete {
        /// The customer's CustomerID.
        id: String,
        /// Delete without asking for confirmation (no question is asked when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Switch an app on (IsActive true).
    Activate {
        /// The app's AppID.
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Switch an app off (IsActive false).
    Deactivate {
        /// The app's AppID.
        id: String,
        #[command(flatten)]
        output: Output,
    },
}

/// The OpenAPI document as pretty JSON: what `GET /v2/integrations/openapi.json` serves.
pub fn openapi_json() -> anyhow::Result<String> {
    Ok(crate::api::openapi::document().to_pretty_json()?)
}

/// Re-seals every stored secret under `MASTER_KEY`: a progress bar on a terminal, a summary at the end.
pub async fn rekey(config: &Config, output: Output) -> anyhow::Result<()> {
    let store = storage::connect(config).await?;
    let result = rekey_on(&store, config, output).await;
    store.close().await;
    result
}

async fn rekey_on(store: &Store, config: &Config, output: Output) -> anyhow::Result<()> {
    store.migrate().await?;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template("re-sealing {bar:40} {pos}/{len} secrets ({eta} left)")
                .expect("a valid template"),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let summary = master_key::rekey(store, &config.keyring, |progress| {
        bar.set_length(progress.total);
        bar.set_position(progress.done);
    })
    .await;
    bar.finish_and_clear();
    let summary = summary?;
    if output.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    let rows = summary
        .iter()
        .map(|c| {
            vec![
                c.column.to_string(),
                c.resealed.to_string(),
                c.already_current.to_string(),
                c.changed_meanwhile.to_string(),
            ]
        })
        .collect();
    print!("{}", table(&["COLUMN", "RE-SEALED", "ALREADY CURRENT", "CHANGED MEANWHILE"], rows));
    let resealed: u64 = summary.iter().map(|c| c.resealed).sum();
    println!(
        "every stored secret is now sealed under MASTER_KEY (key {}); {resealed} re-sealed by this run. \
         MASTER_KEY_PREVIOUS can be removed once every server runs with this MASTER_KEY.",
        config.keyring.current().id()
    );
    Ok(())
}

/// Applies the pending migrations and says which (or that none was pending) on stdout.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = storage::connect(config).await?;
    let applied = store.migrate().await;
    store.close().await;
    let applied = applied?;
    if applied.is_empty() {
        println!("nothing to migrate: the database ({}) is up to date", store.backend_name());
    } else {
        println!("applied {} migration(s) to the {} database:", applied.len(), store.backend_name());
        for name in applied {
            println!("  {name}");
        }
    }
    Ok(())
}

/// An error and its causes on one line, each cause once: wrappers that repeat their source's
/// text (`database error: … : …`) add nothing.
pub fn describe(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

fn failed(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

pub async fn customer(config: &Config, command: CustomerCommand) -> anyhow::Result<()> {
    let store = storage::open(config).await?;
    let result = customer_on(&store, config, command).await;
    store.close().await;
    result
}

async fn customer_on(store: &Store, config: &Config, command: CustomerCommand) -> anyhow::Result<()> {
    let key = &config.keyring;
    let offset = config.display_offset;
    match command {
        CustomerCommand::Create { name, email } => {
            let (row, secret) = customers::register(store, key, Some(name), Some(email)).await.map_err(failed)?;
            println!("{}", serde_json::to_string_pretty(&CustomerBody::new(&row, secret, offset))?);
        }
        CustomerCommand::List { show_secrets, output } => {
            let listed = operator::all_customers(store).await.map_err(failed)?;
            let mut bodies = Vec::with_capacity(listed.len());
            for found in &listed {
                let mut body = AdminCustomerBody::new(&found.customer, found.app_count, offset);
                if show_secrets {
                    body.customer_secret = Some(customers::secret(key, &found.customer).map_err(failed)?);
                }
                bodies.push(body);
            }
            if output.json {
                let page = AdminCustomerPage {
                    page_size: bodies.len(),
                    customers: bodies,
                    last_evaluated_value: String::new(),
                };
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else if bodies.is_empty() {
                println!(
                    "No customers yet: create one with `integrations-core customer create --name NAME --email EMAIL`."
                );
            } else {
                let mut headers = vec!["CUSTOMER ID", "NAME", "EMAIL", "APPS", "CREATED"];
                if show_secrets {
                    headers.push("SECRET");
                }
                let rows = bodies
                    .iter()
                    .map(|c| {
                        let mut row = vec![
                            c.customer_id.clone(),
                            c.customer_name.clone(),
                            c.email.clone(),
                            c.app_count.to_string(),
                            c.created_at.clone(),
                        ];
                        row.extend(c.customer_secret.clone());
                        row
                    })
                    .collect();
                print!("{}", table(&headers, rows));
            }
        }
        CustomerCommand::Show { id, output } => {
            let detail = find_customer(store, &id, offset).await?;
            if output.json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
            } else {
                print!("{}", customer_text(&detail));
            }
        }
        CustomerCommand::Delete { id, yes, output } => {
            let detail = find_customer(store, &id, offset).await?;
            if !yes && std::io::stdin().is_terminal() && !confirm_delete(&detail)? {
                anyhow::bail!("not deleted: customer {id} is unchanged");
            }
            if !operator::delete_customer(store, &id).await.map_err(failed)? {
                anyhow::bail!("no customer with CustomerID {id}");
            }
            if output.json {
                println!("{}", serde_json::to_string(&"Deleted Successfully")?);
            } else {
                println!(
                    "Deleted customer {id} ({}) with its {} app(s) and everything they owned.",
                    detail.customer.customer_name, detail.customer.app_count
                );
            }
        }
    }
    Ok(())
}

async fn find_customer(store: &Store, id: &str, offset: chrono::FixedOffset) -> anyhow::Result<AdminCustomerDetail> {
    let (customer, apps) = operator::customer_with_apps(store, id)
        .await
        .map_err(failed)?
        .ok_or_else(|| anyhow::anyhow!("no customer with CustomerID {id}"))?;
    Ok(AdminCustomerDetail::new(&customer, &apps, offset))
}

/// Asks on the terminal; true only for `y` or `yes`.
fn confirm_delete(detail: &AdminCustomerDetail) -> anyhow::Result<bool> {
    let customer = &detail.customer;
    let mut stderr = std::io::stderr();
    write!(
        stderr,
        "Delete customer {} ({}, {}) with its {} app(s), their settings, users, calls and tokens? This cannot be undone. [y/N] ",
        customer.customer_id, customer.customer_name, customer.email, customer.app_count
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

pub async fn app(config: &Config, command: AppCommand) -> anyhow::Result<()> {
    let store = storage::open(config).await?;
    let (id, active, output) = match command {
        AppCommand::Activate { id, output } => (id, true, output),
        AppCommand::Deactivate { id, output } => (id, false, output),
    };
    let result = operator::set_app_active(&store, &id, active).await.map_err(failed);
    store.close().await;
    let app = result?.ok_or_else(|| anyhow::anyhow!("no app with AppID {id}"))?;
    let body = AppBody::new(&app, config.display_offset);
    if output.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        let state = if active { "active" } else { "inactive" };
        println!("App {} ({}) of customer {} is now {state}.", app.id, app.name, app.customer_id);
    }
    Ok(())
}

pub async fn health(config: &Config, output: Output) -> anyhow::Result<()> {
    let store = storage::open(config).await?;
    let result = operator::health(&store).await.map_err(failed);
    store.close().await;
    let body = AdminHealthBody::from(&result?);
    if output.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    println!("Database:             {}", body.database);
    println!("Queue depth:          {}", body.queue_depth);
    println!("Oldest pending (s):   {}", body.oldest_pending_age_seconds);
    if body.failing_apps.is_empty() {
        println!("Failing apps (24 h):  none");
    } else {
        println!("Failing apps (24 h):");
        let rows = body
            .failing_apps
            .iter()
            .map(|a| {
                vec![
                    a.app_id.clone(),
                    a.customer_id.clone(),
                    a.dead_24h.to_string(),
                    a.pending.to_string(),
                    a.last_error.clone(),
                ]
            })
            .collect();
        print!("{}", table(&["APP ID", "CUSTOMER ID", "DEAD 24H", "PENDING", "LAST ERROR"], rows));
    }
    Ok(())
}

fn customer_text(detail: &AdminCustomerDetail) -> String {
    let c = &detail.customer;
    let mut out = format!(
        "CustomerID:  {}\nName:        {}\nEmail:       {}\nCreated:     {}\nUpdated:     {}\nApps:        {}\n",
        c.customer_id, c.customer_name, c.email, c.created_at, c.updated_at, c.app_count
    );
    if !detail.apps.is_empty() {
        out.push('\n');
        let rows = detail
            .apps
            .iter()
            .map(|app| {
                let value = serde_json::to_value(app).unwrap_or_default();
                let text = |key: &str| match &value[key] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                vec![text("AppID"), text("AppName"), text("ExotelDomain"), text("IsActive"), text("CreatedAt")]
            })
            .collect();
        out.push_str(&table(&["APP ID", "NAME", "DOMAIN", "ACTIVE", "CREATED"], rows));
    }
    out
}

/// Left-aligned columns, two spaces apart, a header line first.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_pads_each_column_to_its_widest_cell() {
        let text = table(&["ID", "NAME"], vec![vec!["1".into(), "Acme".into()], vec!["22".into(), "B".into()]]);
        assert_eq!(text, "ID  NAME\n1   Acme\n22  B\n");
    }
}
