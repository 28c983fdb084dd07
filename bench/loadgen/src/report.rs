//! The markdown report: one table, every row with its ratio to `/healthz` of the same run.

use std::path::PathBuf;

use crate::bench::{BackendResult, Row};

#[derive(Clone, Debug, clap::Args)]
pub struct ReportArgs {
    /// A backend's results (from `bench --out`), in the order to show them.
    #[arg(long = "result")]
    pub results: Vec<PathBuf>,
    /// `LABEL=PATH` of a `spawn --out` file: a start-up-to-ready time to show.
    #[arg(long = "startup")]
    pub startups: Vec<String>,
    /// `Key=Value` lines shown above the table (date, machine, commit...).
    #[arg(long = "meta")]
    pub meta: Vec<String>,
}

fn num(value: Option<f64>, digits: usize) -> String {
    match value {
        Some(v) => format!("{v:.digits$}"),
        None => "—".to_string(),
    }
}

/// `12345` → `12,345`.
pub fn thousands(n: u64) -> String {
    let text = n.to_string();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 100.0 => thousands(v.round() as u64),
        other => num(other, 1),
    }
}

fn ratio(row: &Row, healthz: Option<&Row>) -> String {
    let Some(h) = healthz else { return "—".into() };
    if let (Some(r), Some(hr)) = (row.rps, h.rps) {
        return format!("{:.2}× req/s", r / hr);
    }
    if let (Some(p), Some(hp)) = (row.open_p99, h.open_p99) {
        return format!("{:.1}× p99", p / hp);
    }
    "—".into()
}

pub fn run(args: ReportArgs) -> Result<(), String> {
    let results: Vec<BackendResult> = args
        .results
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect::<Result<_, String>>()?;
    let Some(first) = results.first() else { return Err("no --result given".into()) };

    let mut out = String::new();
    out.push_str("# integrations-core benchmark results\n\n");
    for line in &args.meta {
        let (k, v) = line.split_once('=').unwrap_or((line.as_str(), ""));
        out.push_str(&format!("- **{k}**: {v}\n"));
    }
    out.push_str(&format!(
        "- **Load**: closed loop = {} keep-alive connections, {} s warm-up + {} s measured; open loop = a fixed {} requests/s, \
         latency from each request's due time (queueing included); passthru → receiver runs use {} s + {} s\n",
        first.concurrency, first.warmup, first.duration, first.rate, first.warmup, first.duration
    ));
    out.push_str("- Load generator, seeder and webhook receiver: `bench/loadgen` (same machine, sharing its 2 cores with the server)\n\n");

    out.push_str(&format!(
        "| Scenario | DB | req/s (closed, c={c}) | p50 ms | p99 ms | p50 ms @{r}/s (open) | p99 ms @{r}/s (open) | peak RSS MiB | CPU cores: server / loadgen / postgres / other | vs `/healthz` |\n",
        c = first.concurrency,
        r = first.rate
    ));
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    let mut notes = Vec::new();
    for key_row in &first.rows {
        for result in &results {
            let Some(row) = result.rows.iter().find(|r| r.key == key_row.key) else { continue };
            let healthz = result.rows.iter().find(|r| r.key == "healthz");
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} |\n",
                row.title,
                result.backend,
                rate(row.rps),
                num(row.p50, 2),
                num(row.p99, 2),
                num(row.open_p50, 2),
                num(row.open_p99, 2),
                row.rss_mib,
                row.cpu.map(|[s, l, p, r]| format!("{s:.2} / {l:.2} / {p:.2} / {r:.2}")).unwrap_or_else(|| "—".into()),
                ratio(row, healthz)
            ));
            if !row.note.is_empty() {
                notes.push(format!("- {} ({}): {}", row.key, result.backend, row.note));
            }
        }
    }
    out.push('\n');
    out.push_str("Peak RSS is the highest VmRSS sampled every 50 ms during the scenario. ");
    out.push_str("CPU cores are averages over the closed-loop window (the open-loop window for the passthru → receiver rows), from /proc: \
                  the server, the load generator with its webhook receiver, every `postgres` process of the machine, and everything else \
                  (other work on a shared machine: a non-zero last figure means the row was measured on a busy machine). ");
    out.push_str("For the dispatcher row, req/s is webhooks received per second and p50/p99 are passthru sent → webhook received; ");
    out.push_str(
        "for the open-loop passthru → receiver rows, the ratio compares p99 with `/healthz`'s open-loop p99.\n\n",
    );

    if !notes.is_empty() {
        out.push_str("## Notes per row\n\n");
        for n in &notes {
            out.push_str(n);
            out.push('\n');
        }
        out.push('\n');
    }

    out.push_str("## Start-up to ready and memory\n\n| What | Value |\n|---|--:|\n");
    for item in &args.startups {
        let (label, path) = item.split_once('=').ok_or("--startup is LABEL=PATH")?;
        let value = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["ready_ms"].as_f64())
            .map(|ms| format!("{ms:.0} ms"))
            .unwrap_or_else(|| "—".into());
        out.push_str(&format!("| {label}: spawn → `/readyz` 200 | {value} |\n"));
    }
    for result in &results {
        out.push_str(&format!(
            "| {}: VmHWM at the end (includes seeding) | {:.1} MiB |\n",
            result.backend, result.vmhwm_mib
        ));
    }
    out.push('\n');

    out.push_str("## Seeding (through the API, 32 connections)\n\n| Step | DB | items | requests | seconds | requests/s |\n|---|---|--:|--:|--:|--:|\n");
    for (i, step) in first.seed.iter().enumerate() {
        for result in &results {
            if let Some(s) = result.seed.get(i) {
                // A step without requests of its own (waiting for the dispatcher) has no rate.
                let (requests, per_sec) = match s.requests {
                    0 => ("—".to_string(), "—".to_string()),
                    n => (n.to_string(), format!("{:.0}", n as f64 / s.secs)),
                };
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {:.1} | {} |\n",
                    step.step, result.backend, s.items, requests, s.secs, per_sec
                ));
            }
        }
    }
    for result in &results {
        for n in &result.notes {
            out.push_str(&format!("\n{}: {n}\n", result.backend));
        }
    }
    print!("{out}");
    Ok(())
}
