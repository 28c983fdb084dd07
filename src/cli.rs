//! The command line: `serve` (default), `migrate`, `customer create|list`, `openapi`.

use clap::{Parser, Subcommand};

use crate::api::customer::CustomerBody;
use crate::config::Config;
use crate::services::customers;
use crate::store::Store;

#[derive(Parser, Debug)]
#[command(name = "integrations-core", version, about = "Exotel integrations core v2, reimplemented")]
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
    /// Manage customers.
    Customer {
        #[command(subcommand)]
        command: CustomerCommand,
    },
    /// Print the OpenAPI document (JSON) and exit.
    Openapi,
}

#[derive(Subcommand, Debug)]
pub enum CustomerCommand {
    /// Create a customer and print it as JSON, secret included.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
    /// List customers as a JSON array, secrets included.
    List,
}

/// The OpenAPI document as pretty JSON: what `GET /v2/integrations/openapi.json` serves.
pub fn openapi_json() -> anyhow::Result<String> {
    Ok(crate::api::openapi::document().to_pretty_json()?)
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store =
        Store::connect(config.database_url.expose(), config.database_max_connections, config.database_acquire_timeout)
            .await?;
    store.migrate().await?;
    Ok(store)
}

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    store.close().await;
    tracing::info!("migrations applied");
    Ok(())
}

pub async fn customer(config: &Config, command: CustomerCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let key = &config.master_key;
    let output = match command {
        CustomerCommand::Create { name, email } => {
            let (row, secret) =
                customers::register(&store, key, Some(name), Some(email)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            serde_json::to_string_pretty(&CustomerBody::new(&row, secret, config.display_offset))?
        }
        CustomerCommand::List => {
            let rows = store.list_customers().await?;
            let bodies = rows
                .iter()
                .map(|row| {
                    customers::secret(key, row).map(|secret| CustomerBody::new(row, secret, config.display_offset))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            serde_json::to_string_pretty(&bodies)?
        }
    };
    println!("{output}");
    store.close().await;
    Ok(())
}
