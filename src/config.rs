//! The application's configuration: one typed struct, read through figment.
//!
//! Sources, later overriding earlier: built-in defaults, the `[default.metrocal]` /
//! `[release.metrocal]` table of Rocket.toml, `METROCAL_*` variables, and
//! `DATABASE_URL`. Rocket's own settings (address, port, limits) stay Rocket's.

use crate::store::DEFAULT_DATABASE_URL;
use chrono::NaiveDate;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a server on its default port is reached from the machine itself.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8000";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppConfig {
    /// sqlite://… (the default, embedded) or postgres://…
    pub database_url: String,
    /// Where the database file (by default) and generated secrets live.
    pub data_dir: PathBuf,
    /// Fill a new, empty database with the demo data set from calibration-data/demo.
    pub demo_data: bool,
    /// A fixed "today" for demonstrations and tests; absent means the date in Asia/Shanghai.
    pub today: Option<NaiveDate>,
    /// The address the public reaches this server at (METROCAL_PUBLIC_URL), for the
    /// verification links and QR codes of certificates and the links in e-mails.
    pub public_url: String,
    /// Limits of uncertainty evaluations (docs/security.md).
    #[serde(default)]
    pub evaluation: EvaluationConfig,
    /// The SMTP server notifications are e-mailed through (METROCAL_SMTP_URL,
    /// `smtp://user:password@host:587` or `smtps://…`); none: they stay in the app.
    #[serde(default)]
    pub smtp_url: Option<String>,
    /// The sender of those e-mails (METROCAL_MAIL_FROM).
    #[serde(default)]
    pub mail_from: Option<String>,
    /// The key-encryption key the laboratories' signing keys are sealed under, 64 hex
    /// digits (METROCAL_KEY_ENCRYPTION_KEY), or a file holding it
    /// (METROCAL_KEY_ENCRYPTION_KEY_FILE). Neither: one is generated into `data_dir`.
    #[serde(default)]
    pub key_encryption_key: Option<String>,
    #[serde(default)]
    pub key_encryption_key_file: Option<PathBuf>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            database_url: DEFAULT_DATABASE_URL.into(),
            data_dir: PathBuf::from("data"),
            demo_data: true,
            today: None,
            public_url: DEFAULT_PUBLIC_URL.into(),
            evaluation: Default::default(),
            smtp_url: None,
            mail_from: None,
            key_encryption_key: None,
            key_encryption_key_file: None,
        }
    }
}

impl AppConfig {
    /// Whether the public address points at this machine (localhost, 127.x, [::1]): the
    /// QR codes and verification links of the certificates it issues then open nowhere
    /// for the customer who scans them.
    pub fn public_url_is_local(&self) -> bool {
        address_is_local(&self.public_url)
    }

    /// Reads the configuration from Rocket.toml and the environment.
    pub fn load() -> Result<AppConfig, String> {
        let profile = Profile::from_env_or("ROCKET_PROFILE", rocket::Config::DEFAULT_PROFILE);
        let toml = Figment::from(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
            .select(profile)
            .focus("metrocal");
        Figment::from(Serialized::defaults(AppConfig::default()))
            .merge(toml)
            .merge(Env::prefixed("METROCAL_"))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
            .map_err(|e| e.to_string())
    }
}

/// What an instance of a shared (PostgreSQL) database lacks of the secrets every
/// instance must share: the cookie secret (ROCKET_SECRET_KEY) and the key-encryption key
/// (METROCAL_KEY_ENCRYPTION_KEY or METROCAL_KEY_ENCRYPTION_KEY_FILE). Empty on SQLite,
/// where one machine generates and keeps both in its data directory.
pub fn missing_shared_secrets(config: &AppConfig) -> Vec<&'static str> {
    if !config.database_url.starts_with("postgres") {
        return Vec::new();
    }
    let mut missing = Vec::new();
    let cookie = rocket::Config::figment()
        .extract::<rocket::Config>()
        .map(|c| !c.secret_key.is_zero())
        .unwrap_or(false);
    if !cookie {
        missing.push("ROCKET_SECRET_KEY");
    }
    let kek = config
        .key_encryption_key
        .as_deref()
        .is_some_and(|k| !k.trim().is_empty())
        || config.key_encryption_key_file.is_some();
    if !kek {
        missing.push("METROCAL_KEY_ENCRYPTION_KEY (or METROCAL_KEY_ENCRYPTION_KEY_FILE)");
    }
    missing
}

/// Rocket's figment plus the cookie-signing key. The key comes from ROCKET_SECRET_KEY
/// or Rocket.toml when given; otherwise it is generated once into data_dir/secret.key
/// with 0600 permissions, so it survives restarts and never enters the repository.
pub fn rocket_figment(config: &AppConfig) -> std::io::Result<Figment> {
    let mut figment = rocket::Config::figment();
    // The client address (for login throttling and the log) is the socket peer. A
    // forwarded header is trusted only when the operator names it, behind their own
    // proxy (ROCKET_IP_HEADER=X-Real-IP); otherwise any client could forge it.
    if std::env::var_os("ROCKET_IP_HEADER").is_none() {
        figment = figment.merge(("ip_header", false));
    }
    // Request size limits: forms and JSON bodies are small (an uncertainty budget the largest).
    if std::env::var_os("ROCKET_LIMITS").is_none() {
        use rocket::data::{Limits, ToByteUnit};
        let limits = Limits::default()
            .limit("form", 256.kibibytes())
            // Certificates (PDF or DCC) uploaded for verification.
            .limit("data-form", 8.mebibytes())
            .limit("file", 8.mebibytes())
            .limit("json", 256.kibibytes())
            .limit("string", 64.kibibytes())
            .limit("bytes", 64.kibibytes());
        figment = figment.merge(("limits", limits));
    }
    let configured = figment
        .extract::<rocket::Config>()
        .map(|c| !c.secret_key.is_zero())
        .unwrap_or(false);
    if configured {
        return Ok(figment);
    }
    let key = secret_key(&config.data_dir)?;
    Ok(figment.merge(("secret_key", key)))
}

fn secret_key(dir: &Path) -> std::io::Result<String> {
    let path = dir.join("secret.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let k = existing.trim().to_owned();
        if k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(k);
        }
    }
    std::fs::create_dir_all(dir)?;
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path)?;
    f.write_all(hex.as_bytes())?;
    Ok(hex)
}

/// How the server runs evaluations: the limits of one, how many Monte Carlo runs at once
/// and how many may wait, and how long one may take. Part of the configuration
/// (`[default.metrocal.evaluation]` in Rocket.toml); docs/security.md lists the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvaluationConfig {
    pub limits: crate::domain::uncertainty::Limits,
    /// Monte Carlo evaluations running at once, process-wide.
    pub concurrent: usize,
    /// Monte Carlo evaluations that may wait for one of those places; one more is
    /// answered 503 with Retry-After.
    pub queue: usize,
    /// Seconds an evaluation may run (and wait for a place) before it is stopped.
    pub deadline_secs: u64,
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        EvaluationConfig {
            // Monte Carlo leaves one core to the requests of everyone else.
            limits: crate::domain::uncertainty::Limits {
                threads: cores.saturating_sub(1).max(1),
                ..crate::domain::uncertainty::Limits::default()
            },
            concurrent: 1,
            queue: 4,
            deadline_secs: 30,
        }
    }
}

/// Whether `url`'s host is this machine.
pub fn address_is_local(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let host = host.to_ascii_lowercase();
    host.is_empty()
        || host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host == "0.0.0.0"
        || host.starts_with("127.")
}

#[cfg(test)]
mod address_tests {
    use super::address_is_local;

    #[test]
    fn local_addresses_are_told_apart_from_public_ones() {
        for local in [
            "http://localhost:8000",
            "http://127.0.0.1:8000/",
            "http://[::1]:8000",
            "https://LOCALHOST",
            "http://0.0.0.0:8000",
            "http://user@127.0.1.1",
        ] {
            assert!(address_is_local(local), "{local}");
        }
        for public in [
            "https://cert.gdim.example.cn",
            "https://10.1.2.3:8443",
            "https://metrocal.example/verify",
            "http://localhost.example.com",
        ] {
            assert!(!address_is_local(public), "{public}");
        }
    }
}
