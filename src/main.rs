//! The `integrations-core` binary: parse the command line, load the configuration, run.

use clap::Parser;
use integrations_core::cli::{self, Cli, Command};
use integrations_core::config::{Config, LogFormat};
use integrations_core::{server, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The document needs no configuration, database or logging.
    if let Some(Command::Openapi) = cli.command {
        return match cli::openapi_json() {
            Ok(json) => {
                println!("{json}");
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    if let Some(path) = &config.generated_master_key {
        tracing::warn!(path = %path.display(), "generated a new master key; back it up: without it the stored secrets cannot be read");
    }
    let log_format = config.log_format;
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::run(config).await,
        Command::Migrate => cli::migrate(&config).await,
        Command::Customer { command } => cli::customer(&config, command).await,
        Command::App { command } => cli::app(&config, command).await,
        Command::Health { output } => cli::health(&config, output).await,
        Command::Rekey { output } => cli::rekey(&config, output).await,
        Command::Openapi => unreachable!("handled before the configuration is loaded"),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            let error = cli::describe(&error);
            // Said once: a JSON log line for a log collector, else a plain line for the person at the shell.
            match log_format {
                LogFormat::Json => tracing::error!(error, "integrations-core failed"),
                LogFormat::Text => eprintln!("error: {error}"),
            }
            std::process::ExitCode::FAILURE
        }
    }
}
