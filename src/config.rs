//! Configuration read from the environment (and `.env`), validated once; secrets print as `***`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::FixedOffset;

use crate::crypto::{Keyring, MasterKey};

/// Where the embedded SQLite database lives when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/integrations.db";
/// The name of the generated master key file, next to the SQLite database.
pub const MASTER_KEY_FILE: &str = "master.key";

/// A start-up configuration problem, always naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self { variable, message: message.into() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Which origins may call the API from a browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

/// A string that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://...` or `postgres://...`. May carry a password, so it is redacted in `Debug`.
    pub database_url: SecretString,
    pub database_max_connections: u32,
    /// The longest a request waits for a database connection before it is answered 503.
    pub database_acquire_timeout: Duration,
    pub listen_addr: SocketAddr,
    /// Client connections open at once; one more is answered 503 and closed. `None`: sized from
    /// the file-descriptor limit at start.
    pub max_connections: Option<usize>,
    /// How long a client has to send a request's head, counted from its first byte (or from the
    /// connection's start, for its first request).
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may sit idle between requests.
    pub keep_alive_timeout: Duration,
    /// How long a client has to send a whole request body once its head has arrived.
    pub body_read_timeout: Duration,
    /// The base URL Exotel and browsers reach this server at (status callbacks point here).
    pub public_base_url: String,
    pub admin_token: Option<SecretString>,
    /// `MASTER_KEY`, which seals new values, and the keys of `MASTER_KEY_PREVIOUS`, still read.
    pub keyring: Keyring,
    /// Where a master key was generated on this start (first SQLite run), to warn the operator once logging is up.
    pub generated_master_key: Option<PathBuf>,
    pub token_ttl: chrono::Duration,
    pub display_offset: FixedOffset,
    pub request_timeout: Duration,
    pub webhook_allow_private: bool,
    pub webhook_timeout: Duration,
    /// Webhook attempts one app may have in flight at once in one process (a hanging receiver holds no more).
    pub webhook_max_in_flight_per_app: usize,
    pub webhook_retry_schedule: Vec<Duration>,
    /// How long a dispatcher signs with an app's secrets before reading them again: the longest a
    /// secret rotated through another process goes unseen here.
    pub webhook_secret_cache_ttl: Duration,
    pub popup_deadline: Duration,
    /// How long finished deliveries stay in the log before they are purged.
    pub webhook_retention: Duration,
    /// The pause between a sandbox call's simulated events: an outbound call's (answered, then terminal)
    /// and a simulated inbound call's passthru requests (`POST /sandbox/inbound_call`).
    pub sandbox_call_step: Duration,
    /// How long one call to Exotel may take before it counts as unreachable.
    pub exotel_timeout: Duration,
    pub exotel_ccm_url_mumbai: String,
    pub exotel_ccm_url_singapore: String,
    pub cors_allowed_origins: CorsOrigins,
    pub log_format: LogFormat,
    /// Failed `POST /token` attempts allowed per client address in one window (then it is refused);
    /// past as many for one Id, from all addresses, wrong secrets for that Id are answered slowly.
    pub token_failure_limit: u32,
    pub token_failure_window: Duration,
    /// The longest a wrong secret's 401 is held back for an Id past its failure limit (0: never).
    pub token_failure_max_delay: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (for the sign-in throttle).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Whether `/console` and the console-link routes are served (else 404).
    pub console_enabled: bool,
    /// The origins allowed to frame the console (its CSP `frame-ancestors`); empty: none.
    pub console_frame_ancestors: Vec<String>,
}

impl Config {
    /// Reads the process environment (after loading `.env`, if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable lookup; tests pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(lookup);

        let database_url = vars.get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let backend = DatabaseKind::of(&database_url)
            .ok_or_else(|| ConfigError::new("DATABASE_URL", "must start with sqlite:// or postgres://"))?;

        let listen_addr: SocketAddr = vars.parse_or("LISTEN_ADDR", "127.0.0.1:8080".parse().unwrap(), |v| {
            v.parse().map_err(|_| "must be an address like 127.0.0.1:8080".to_string())
        })?;
        let public_base_url = match vars.get("PUBLIC_BASE_URL") {
            Some(v) => {
                let parsed =
                    url::Url::parse(&v).map_err(|_| ConfigError::new("PUBLIC_BASE_URL", "must be an http(s) URL"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(ConfigError::new("PUBLIC_BASE_URL", "must be an http(s) URL"));
                }
                v.trim_end_matches('/').to_string()
            }
            None => format!("http://{listen_addr}"),
        };

        let mut generated_master_key = None;
        let master_key = match vars.get("MASTER_KEY") {
            Some(v) => MasterKey::from_base64(&v).map_err(|e| ConfigError::new("MASTER_KEY", e))?,
            None => match backend {
                DatabaseKind::Sqlite => {
                    let dir = sqlite_data_dir(&database_url);
                    // The database's folder is the database's: a path that cannot be made names DATABASE_URL.
                    std::fs::create_dir_all(&dir).map_err(|e| {
                        ConfigError::new("DATABASE_URL", format!("cannot create the folder {}: {e}", dir.display()))
                    })?;
                    let path = dir.join(MASTER_KEY_FILE);
                    refuse_a_new_key_for_existing_data(&path, &sqlite_file(&database_url))?;
                    let (key, created) =
                        load_or_create_master_key(&path).map_err(|e| ConfigError::new("MASTER_KEY", e))?;
                    if created {
                        generated_master_key = Some(path);
                    }
                    key
                }
                DatabaseKind::Postgres => {
                    return Err(ConfigError::new(
                        "MASTER_KEY",
                        "is required with Postgres: set it to base64 of 32 random bytes (openssl rand -base64 32)",
                    ))
                }
            },
        };

        let token_ttl_days = vars.positive("TOKEN_TTL_DAYS", 90u32)?;
        let display_offset = vars.parse_or("DISPLAY_UTC_OFFSET", default_offset(), |v| {
            v.parse::<FixedOffset>().map_err(|_| "must be an offset like +05:30 or -04:00".to_string())
        })?;

        let log_format = vars.parse_or("LOG_FORMAT", LogFormat::Text, |v| match v.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("must be text or json".to_string()),
        })?;

        let cors_allowed_origins = match vars.get("CORS_ALLOWED_ORIGINS") {
            None => CorsOrigins::Any,
            Some(v) if v == "*" => CorsOrigins::Any,
            Some(v) => CorsOrigins::List(origin_list("CORS_ALLOWED_ORIGINS", &v)?),
        };
        let console_frame_ancestors = match vars.get("CONSOLE_FRAME_ANCESTORS") {
            None => Vec::new(),
            Some(v) => origin_list("CONSOLE_FRAME_ANCESTORS", &v)?,
        };

        let trusted_proxies = match vars.get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse().map_err(|_| ConfigError::new("TRUSTED_PROXIES", format!("{a:?} is not an IP address")))
                })
                .collect::<Result<_, _>>()?,
        };

        Ok(Config {
            database_url: SecretString::new(database_url),
            database_max_connections: vars.parse_or(
                "DATABASE_MAX_CONNECTIONS",
                // Postgres commits wait on the WAL flush: more connections let more commits share one
                // (the passthru bench went from 1,334 to 1,687 events/s with 24). SQLite readers need
                // few, and each costs memory (its page cache, its thread and that thread's malloc
                // arena): in the bench, 3 readers served `GET /app` as fast as 8, at 48 MiB against 75.
                match backend {
                    DatabaseKind::Postgres => 24u32,
                    DatabaseKind::Sqlite => 4u32,
                },
                positive_int,
            )?,
            database_acquire_timeout: vars.millis("DATABASE_ACQUIRE_TIMEOUT_MS", 2000)?,
            listen_addr,
            max_connections: vars.parse_or("MAX_CONNECTIONS", None, |v| positive_int(v).map(Some))?,
            header_read_timeout: vars.secs("HEADER_READ_TIMEOUT_SECS", 10)?,
            keep_alive_timeout: vars.secs("KEEP_ALIVE_TIMEOUT_SECS", 30)?,
            body_read_timeout: vars.secs("BODY_READ_TIMEOUT_SECS", 10)?,
            public_base_url,
            admin_token: vars.get("ADMIN_TOKEN").map(SecretString::new),
            keyring: Keyring::new(master_key, previous_master_keys(vars.get("MASTER_KEY_PREVIOUS"))?),
            generated_master_key,
            token_ttl: chrono::Duration::days(token_ttl_days.into()),
            display_offset,
            request_timeout: vars.secs("REQUEST_TIMEOUT_SECS", 30)?,
            webhook_allow_private: vars.parse_or("WEBHOOK_ALLOW_PRIVATE", false, parse_bool)?,
            webhook_timeout: vars.secs("WEBHOOK_TIMEOUT_SECS", 10)?,
            webhook_max_in_flight_per_app: vars.positive("WEBHOOK_MAX_IN_FLIGHT_PER_APP", 64usize)?,
            webhook_retry_schedule: vars.parse_or(
                "WEBHOOK_RETRY_SCHEDULE",
                parse_schedule("5s,30s,2m,10m,30m,1h,2h,4h,8h").unwrap(),
                parse_schedule,
            )?,
            webhook_secret_cache_ttl: vars.millis("WEBHOOK_SECRET_CACHE_MS", 5000)?,
            popup_deadline: vars.secs("POPUP_DEADLINE_SECS", 60)?,
            sandbox_call_step: vars.millis("SANDBOX_CALL_STEP_MS", 2000)?,
            webhook_retention: Duration::from_secs(86_400 * vars.positive("WEBHOOK_RETENTION_DAYS", 7u64)?),
            exotel_timeout: vars.secs("EXOTEL_TIMEOUT_SECS", 15)?,
            exotel_ccm_url_mumbai: vars.parse_or(
                "EXOTEL_CCM_URL_MUMBAI",
                "https://ccm-api.in.exotel.com".to_string(),
                parse_base_url,
            )?,
            exotel_ccm_url_singapore: vars.parse_or(
                "EXOTEL_CCM_URL_SINGAPORE",
                "https://ccm-api.exotel.com".to_string(),
                parse_base_url,
            )?,
            cors_allowed_origins,
            trusted_proxies,
            console_enabled: vars.parse_or("CONSOLE_ENABLED", true, parse_bool)?,
            console_frame_ancestors,
            log_format,
            token_failure_limit: vars.positive("TOKEN_FAILURE_LIMIT", 10u32)?,
            token_failure_window: vars.secs("TOKEN_FAILURE_WINDOW_SECS", 300)?,
            token_failure_max_delay: Duration::from_millis(vars.parse_or(
                "TOKEN_FAILURE_MAX_DELAY_MS",
                2000u64,
                |v| v.parse::<u64>().map_err(|_| "must be a whole number of milliseconds (0 for none)".to_string()),
            )?),
        })
    }

    pub fn database_kind(&self) -> DatabaseKind {
        DatabaseKind::of(self.database_url.expose()).expect("validated at load")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// The SQLite database file a `sqlite://` URL names.
fn sqlite_file(database_url: &str) -> PathBuf {
    let path = database_url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    PathBuf::from(path.split('?').next().unwrap_or_default())
}

/// The folder holding a SQLite database file (where the master key is generated too).
pub fn sqlite_data_dir(database_url: &str) -> PathBuf {
    match sqlite_file(database_url).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A new key is generated only beside a database that does not exist yet (or is empty): the
/// secrets of an existing one were sealed under the key that went missing, and a fresh key would
/// let the server report ready and then fail every request that opens a secret.
fn refuse_a_new_key_for_existing_data(key_file: &Path, database: &Path) -> Result<(), ConfigError> {
    let key_missing = matches!(std::fs::metadata(key_file), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    let database_holds_data = std::fs::metadata(database).is_ok_and(|m| m.len() > 0);
    if key_missing && database_holds_data {
        return Err(ConfigError::new(
            "MASTER_KEY",
            format!(
                "is not set and {} is missing, but the database {} already exists: its secrets were sealed \
                 under the key that file held. Restore {MASTER_KEY_FILE} from your backup or set MASTER_KEY to \
                 that key; no new key is generated next to existing data",
                key_file.display(),
                database.display()
            ),
        ));
    }
    Ok(())
}

/// `MASTER_KEY_PREVIOUS`: comma-separated base64 keys still accepted for reading. A bad one is
/// named by its position, never echoed.
fn previous_master_keys(value: Option<String>) -> Result<Vec<MasterKey>, ConfigError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let entries: Vec<&str> = value.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
    entries
        .iter()
        .enumerate()
        .map(|(index, text)| {
            MasterKey::from_base64(text).map_err(|e| {
                ConfigError::new("MASTER_KEY_PREVIOUS", format!("key {} of {}: {e}", index + 1, entries.len()))
            })
        })
        .collect()
}

/// Reads the master key file, or creates it (mode 0600) with a fresh random key; true when created.
fn load_or_create_master_key(path: &Path) -> Result<(MasterKey, bool), String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            MasterKey::from_base64(text.trim()).map(|k| (k, false)).map_err(|e| format!("{} {e}", path.display()))
        }
        // The caller has made the folder (a failure there names DATABASE_URL).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            write_private_file(path, &key.to_base64()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok((key, true))
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

fn default_offset() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("valid offset")
}

/// The variables of one lookup, each named once where it is read, with its default and its rule.
struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// The variable's value, trimmed; unset and blank are the same.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// The variable parsed by `parse`, or `default` when unset; a value `parse` refuses is an error naming it.
    fn parse_or<T>(
        &self,
        name: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse(&v).map_err(|message| ConfigError::new(name, format!("{message} (got {v:?})"))),
        }
    }

    fn positive<T: std::str::FromStr + PartialOrd + Default>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        self.parse_or(name, default, positive_int)
    }

    /// A positive whole number of seconds.
    fn secs(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.positive(name, default).map(Duration::from_secs)
    }

    /// A positive whole number of milliseconds.
    fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.positive(name, default).map(Duration::from_millis)
    }
}

/// A comma-separated list of origins (`https://crm.example.com`), each checked; a trailing `/` is dropped.
fn origin_list(variable: &'static str, value: &str) -> Result<Vec<String>, ConfigError> {
    let origins: Vec<String> =
        value.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect();
    for origin in &origins {
        let ok = url::Url::parse(origin)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none())
            .unwrap_or(false);
        // An origin goes into a header as it is written: nothing that could end or extend it.
        if !ok || origin.contains([';', ' ', '\'', '"']) {
            return Err(ConfigError::new(
                variable,
                format!("{origin:?} is not an origin like https://crm.example.com"),
            ));
        }
    }
    Ok(origins)
}

fn positive_int<T: std::str::FromStr + PartialOrd + Default>(v: &str) -> Result<T, String> {
    match v.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err("must be a positive whole number".to_string()),
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("must be true or false".to_string()),
    }
}

fn parse_base_url(v: &str) -> Result<String, String> {
    match url::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(v.trim_end_matches('/').to_string()),
        _ => Err("must be an http(s) URL".to_string()),
    }
}

/// Parses a retry schedule like `5s,30s,2m,10m,1h`.
pub fn parse_schedule(v: &str) -> Result<Vec<Duration>, String> {
    let steps: Result<Vec<Duration>, String> = v.split(',').map(|s| parse_duration(s.trim())).collect();
    let steps = steps?;
    if steps.is_empty() {
        return Err("must list at least one delay, like 5s,30s,2m".to_string());
    }
    Ok(steps)
}

/// Parses `250ms`, `5s`, `2m`, `1h` or `1d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration like 500ms, 5s, 2m, 1h or 1d");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let millis = match unit {
        "ms" => n,
        "s" => n * 1_000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => return Err(bad()),
    };
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = load(&[("MASTER_KEY", KEY)]).unwrap();
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_base_url, "http://127.0.0.1:8080");
        assert_eq!(config.token_ttl, chrono::Duration::days(90));
        assert_eq!(config.display_offset.to_string(), "+05:30");
        assert_eq!(config.webhook_retry_schedule.len(), 9);
        assert_eq!(config.cors_allowed_origins, CorsOrigins::Any);
        assert_eq!(config.database_kind(), DatabaseKind::Sqlite);
    }

    #[test]
    fn previous_master_keys_are_read_for_opening_and_a_bad_one_is_named_by_position_not_echoed() {
        let other = MasterKey::from_bytes([9; 32]).to_base64();
        let config = load(&[("MASTER_KEY", KEY), ("MASTER_KEY_PREVIOUS", &format!(" {other} ,"))]).unwrap();
        let sealed = MasterKey::from_bytes([9; 32]).seal("old", "ctx");
        assert!(!config.keyring.is_current(&sealed));
        let field = crate::crypto::SecretField::AppSecret;
        let old = MasterKey::from_bytes([9; 32]).seal_field(field, "a", "old");
        assert_eq!(config.keyring.open_field(field, "a", &old).unwrap(), "old");

        let err = load(&[("MASTER_KEY", KEY), ("MASTER_KEY_PREVIOUS", &format!("{other},bm90LWEta2V5"))]).unwrap_err();
        assert_eq!(err.variable, "MASTER_KEY_PREVIOUS");
        assert!(err.to_string().contains("key 2 of 2"), "{err}");
        assert!(!err.to_string().contains("bm90LWEta2V5") && !err.to_string().contains(&other), "{err}");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (name, value) in [
            ("LISTEN_ADDR", "nope"),
            ("TOKEN_TTL_DAYS", "0"),
            ("DISPLAY_UTC_OFFSET", "IST"),
            ("WEBHOOK_RETRY_SCHEDULE", "5s,soon"),
            ("WEBHOOK_ALLOW_PRIVATE", "maybe"),
            ("LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x"),
            ("MASTER_KEY", "c2hvcnQ="),
            ("CORS_ALLOWED_ORIGINS", "crm.example.com"),
            ("TRUSTED_PROXIES", "10.0.0.1,proxy.local"),
            ("TOKEN_FAILURE_MAX_DELAY_MS", "2s"),
            ("MASTER_KEY_PREVIOUS", "c2hvcnQ="),
            ("CONSOLE_ENABLED", "sometimes"),
            ("CONSOLE_FRAME_ANCESTORS", "https://crm.example.com; script-src *"),
        ] {
            let mut vars = vec![("MASTER_KEY", KEY)];
            vars.retain(|(k, _)| *k != name);
            vars.push((name, value));
            let err = load(&vars).unwrap_err();
            assert_eq!(err.variable, name, "{err}");
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn postgres_requires_a_master_key() {
        let err = load(&[("DATABASE_URL", "postgres://localhost/x")]).unwrap_err();
        assert_eq!(err.variable, "MASTER_KEY");
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let config = load(&[
            ("MASTER_KEY", KEY),
            ("ADMIN_TOKEN", "admin-secret-value"),
            ("DATABASE_URL", "postgres://user:db-password@localhost/x"),
        ])
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("admin-secret-value"));
        assert!(!shown.contains("db-password"));
        assert!(!shown.contains(KEY));
    }

    #[test]
    fn sqlite_without_a_key_generates_one_privately_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/db/integrations.db", dir.path().display());
        let first = load(&[("DATABASE_URL", &url)]).unwrap();
        let path = dir.path().join("db").join(MASTER_KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let second = load(&[("DATABASE_URL", &url)]).unwrap();
        assert_eq!(first.keyring.current().to_base64(), second.keyring.current().to_base64());
    }

    #[test]
    fn no_key_is_generated_next_to_an_existing_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/integrations.db", dir.path().display());
        load(&[("DATABASE_URL", &url)]).unwrap();
        std::fs::write(dir.path().join("integrations.db"), b"SQLite format 3\0").unwrap();
        std::fs::remove_file(dir.path().join(MASTER_KEY_FILE)).unwrap();

        let err = load(&[("DATABASE_URL", &url)]).unwrap_err();
        assert_eq!(err.variable, "MASTER_KEY");
        assert!(err.message.contains("master.key is missing"), "{}", err.message);
        assert!(err.message.contains("integrations.db already exists"), "{}", err.message);
        assert!(!dir.path().join(MASTER_KEY_FILE).exists(), "no new key was written");
        // With the key given, the same database starts.
        load(&[("DATABASE_URL", &url), ("MASTER_KEY", KEY)]).unwrap();
    }

    #[test]
    fn schedules_and_durations_parse() {
        assert_eq!(
            parse_schedule("500ms,5s,2m,1h").unwrap(),
            vec![
                Duration::from_millis(500),
                Duration::from_secs(5),
                Duration::from_secs(120),
                Duration::from_secs(3600)
            ]
        );
        assert!(parse_schedule("").is_err());
        assert!(parse_duration("5x").is_err());
    }
}
