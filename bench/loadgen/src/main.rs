//! The integrations-core benchmark tool: times the server's start-up to ready, seeds data,
//! drives load (closed and open loop), receives the webhooks, and writes the report.

mod bench;
mod http;
mod load;
mod report;
mod seed;

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "loadgen", about = "Benchmark driver for integrations-core")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Wait for a server just started (by the caller) to answer `/readyz` 200; writes
    /// `{"pid", "ready_ms"}`, ready_ms counted from `--since-unix-ns` (taken just before the spawn).
    WaitReady {
        /// The server's address, loopback only.
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        pid: u32,
        #[arg(long)]
        since_unix_ns: u128,
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
    },
    /// Seed the running server and run every scenario against it.
    Bench(bench::BenchArgs),
    /// Print the markdown report from the backends' result files.
    Report(report::ReportArgs),
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Cmd::WaitReady { addr, pid, since_unix_ns, out, timeout } => {
                wait_ready(addr, pid, since_unix_ns, out, timeout).await
            }
            Cmd::Bench(args) => bench::run(args).await,
            Cmd::Report(args) => report::run(args),
        }
    });
    if let Err(e) = result {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

fn unix_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Whether the process is gone (or a zombie).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')).unwrap_or(false),
        Err(_) => true,
    }
}

async fn wait_ready(
    addr: std::net::SocketAddr,
    pid: u32,
    since_unix_ns: u128,
    out: std::path::PathBuf,
    timeout: f64,
) -> Result<(), String> {
    if !addr.ip().is_loopback() {
        return Err("the server must listen on a loopback address".into());
    }
    let deadline = Instant::now() + Duration::from_secs_f64(timeout);
    let ready = http::Req::get("/readyz");
    loop {
        let mut conn = http::Conn::new(addr);
        if let Ok((status, _)) = conn.send(&ready).await {
            if status.is_success() {
                break;
            }
        }
        if exited(pid) {
            return Err(format!("the server (pid {pid}) exited before it was ready"));
        }
        if Instant::now() > deadline {
            return Err(format!("the server was not ready within {timeout} s"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ready_ms = unix_ns().saturating_sub(since_unix_ns) as f64 / 1e6;
    std::fs::write(&out, serde_json::json!({"pid": pid, "ready_ms": ready_ms}).to_string())
        .map_err(|e| e.to_string())?;
    eprintln!("server pid {pid} ready after {ready_ms:.1} ms");
    Ok(())
}
