//! Typed settings read from the environment (and a few CLI flags), passed in explicitly.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://colabel.db` | `sqlite://PATH` or `postgres://...` |
//! | `COLABEL_ADDR` | `127.0.0.1:8080` | address to listen on |
//! | `COLABEL_SESSION_KEY` | random, with a warning | secret for signing cookies (64+ bytes) |
//! | `COLABEL_SECURE_COOKIES` | `true` | `false` for plain-http development |
//! | `COLABEL_BCRYPT_COST` | `12` | bcrypt cost (4 to 31) |
//! | `COLABEL_HASH_CONCURRENCY` | half the cores, at least 1 | threads computing password hashes, at a lower CPU priority |
//! | `COLABEL_POOL_SIZE` | 16, or workers × blocking threads + 4 if more | database connections in the pool |
//! | `COLABEL_WORKERS` | the number of cores | HTTP worker threads |
//! | `COLABEL_BLOCKING_THREADS` | `2` | threads per worker that run database work |
//! | `COLABEL_SESSION_IDLE_SECS` | `86400` (1 day) | a session unused this long ends |
//! | `COLABEL_SESSION_MAX_SECS` | `1209600` (14 days) | a session ends this long after login |
//! | `COLABEL_DB_TIMEOUT_SECS` | `10` | how long a request waits for a database connection, and on SQLite for the write lock, before it answers 503 |
//! | `COLABEL_SMTP_URL` | none: messages go to `.eml` files | the SMTP server in lettre's URL form: `smtp://host:port` (plain), `smtp://host:587?tls=required` (STARTTLS), `smtps://host` (implicit TLS), `smtp://user:pass@host` |
//! | `COLABEL_MAIL_FROM` | `Colabel <colabel@localhost>` | the sender of every message |
//! | `COLABEL_MAIL_DIR` | `mail/` beside the SQLite database, `./mail` with PostgreSQL | where messages are written when no SMTP server is configured |
//! | `COLABEL_PUBLIC_URL` | `http://` + the address listened on | the origin that links in messages start with |
//! | `COLABEL_SMTP_TIMEOUT_SECS` | `30` | how long one SMTP delivery may take |
//! | `COLABEL_INVITATION_DAYS` | `7` | how long an invitation stays valid (a resend renews it) |
//! | `COLABEL_INVITATIONS_PER_DAY` | `50` | invitations (and resends) an organization may send in 24 hours |
//! | `COLABEL_JOB_POLL_MS` | `1000` | how often the job worker looks for due jobs |
//! | `COLABEL_JOB_RETRY_BASE_MS` | `30000` | the first retry's delay; each further retry waits twice as long |
//! | `COLABEL_JOB_RETRY_MAX_SECS` | `3600` | the longest delay between two attempts |
//! | `COLABEL_JOB_MAX_ATTEMPTS` | `10` | attempts before a job is marked failed |
//! | `COLABEL_JOB_LEASE_SECS` | `120` | a claimed job whose worker has not finished it by then (it died) is claimed again |
//! | `COLABEL_TRUSTED_PROXIES` | empty | addresses and CIDR ranges (IPv4, IPv6; comma- or space-separated) of the proxies whose `X-Forwarded-For`, `-Proto` and `-Host` are believed |
//! | `COLABEL_SWEEP_SECS` | `600` | how often each instance deletes expired sessions and spent login throttles |
//! | `COLABEL_WEBHOOK_ALLOW_PRIVATE` | `false` | `true` lets webhooks reach loopback, private and link-local addresses (development, tests) |
//! | `COLABEL_WEBHOOK_MAX_FAILURES` | `10` | consecutive failed attempts after which a webhook is disabled |
//! | `COLABEL_WEBHOOK_TIMEOUT_SECS` | `10` | how long one webhook delivery may take |
//! | `RUST_LOG` | `info` | log filter |

use std::path::PathBuf;
use std::time::Duration;

use crate::client::TrustedProxies;

/// Everything the application needs to start, with no global state.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub addr: String,
    /// `None` means a random key is generated at start (sessions end at restart).
    pub session_key: Option<Vec<u8>>,
    pub secure_cookies: bool,
    pub bcrypt_cost: u32,
    pub hash_concurrency: usize,
    pub pool_size: u32,
    pub workers: usize,
    /// Threads per worker that run database work (`web::block`). Few threads queue requests
    /// first-come-first-served; many threads fight over the pool and the cores, which made
    /// the p99 latency 3-10x worse (docs/performance.md). Raise it for a distant PostgreSQL.
    pub blocking_threads: usize,
    pub session_idle: Duration,
    pub session_max: Duration,
    /// How long a request waits for a pooled connection (and, on SQLite, for the write
    /// lock) before the database counts as unavailable (503).
    pub db_timeout: Duration,
    /// The load balancers and reverse proxies in front of Colabel (`crate::client`).
    pub trusted_proxies: TrustedProxies,
    /// How often expired sessions and spent throttle counters are deleted.
    pub sweep_every: Duration,
    /// Where email goes, and what links in it start with.
    pub mail: MailSettings,
    /// The durable job queue's worker.
    pub jobs: JobSettings,
    /// Organization webhooks.
    pub webhooks: WebhookSettings,
}

/// Where webhooks may point, how long a delivery may take, when one is disabled.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    pub allow_private: bool,
    pub max_failures: i32,
    pub timeout: Duration,
}

/// Email and the links it carries.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// lettre's URL form; `None` writes every message to [`MailSettings::dir`] instead.
    pub smtp_url: Option<String>,
    pub from: String,
    /// `None`: beside the SQLite database, or `./mail` with PostgreSQL.
    pub dir: Option<PathBuf>,
    /// `None`: `http://` and the address the server listens on.
    pub public_url: Option<String>,
    pub smtp_timeout: Duration,
    pub invitation_ttl: Duration,
    pub invitations_per_day: i64,
}

/// How the job worker polls, retries and reclaims.
#[derive(Clone, Debug)]
pub struct JobSettings {
    pub poll: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub max_attempts: i32,
    pub lease: Duration,
}

/// A configuration value that cannot be used; the message names the variable.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://colabel.db";

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests can pass their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let session_key = match lookup("COLABEL_SESSION_KEY") {
            Some(k) if k.len() < 64 => {
                return Err(ConfigError(
                    "COLABEL_SESSION_KEY must be at least 64 bytes long".into(),
                ))
            }
            Some(k) => Some(k.into_bytes()),
            None => None,
        };
        let bcrypt_cost = parse(&lookup, "COLABEL_BCRYPT_COST", 12u32)?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(ConfigError(
                "COLABEL_BCRYPT_COST must be between 4 and 31".into(),
            ));
        }
        let workers = parse(&lookup, "COLABEL_WORKERS", cores)?.max(1);
        let blocking_threads = parse(&lookup, "COLABEL_BLOCKING_THREADS", 2usize)?.max(1);
        // Enough connections that no database thread waits for one (the session sweeper and
        // migrations take a few more).
        let default_pool = u32::try_from(workers * blocking_threads + 4)
            .unwrap_or(u32::MAX)
            .max(16);
        Ok(Settings {
            database_url: lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            addr: lookup("COLABEL_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            session_key,
            secure_cookies: parse_bool(&lookup, "COLABEL_SECURE_COOKIES", true)?,
            bcrypt_cost,
            hash_concurrency: parse(&lookup, "COLABEL_HASH_CONCURRENCY", (cores / 2).max(1))?
                .max(1),
            pool_size: parse(&lookup, "COLABEL_POOL_SIZE", default_pool)?.max(1),
            workers,
            blocking_threads,
            session_idle: Duration::from_secs(parse(&lookup, "COLABEL_SESSION_IDLE_SECS", 86_400)?),
            session_max: Duration::from_secs(parse(
                &lookup,
                "COLABEL_SESSION_MAX_SECS",
                14 * 86_400,
            )?),
            db_timeout: Duration::from_secs(
                parse(&lookup, "COLABEL_DB_TIMEOUT_SECS", 10u64)?.max(1),
            ),
            trusted_proxies: TrustedProxies::parse(
                &lookup("COLABEL_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|e| ConfigError(format!("COLABEL_TRUSTED_PROXIES: {e}")))?,
            sweep_every: Duration::from_secs(parse(&lookup, "COLABEL_SWEEP_SECS", 600u64)?.max(1)),
            mail: MailSettings {
                smtp_url: lookup("COLABEL_SMTP_URL").filter(|v| !v.trim().is_empty()),
                from: lookup("COLABEL_MAIL_FROM")
                    .unwrap_or_else(|| "Colabel <colabel@localhost>".into()),
                dir: lookup("COLABEL_MAIL_DIR")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from),
                public_url: lookup("COLABEL_PUBLIC_URL")
                    .map(|v| v.trim().trim_end_matches('/').to_string())
                    .filter(|v| !v.is_empty()),
                smtp_timeout: Duration::from_secs(
                    parse(&lookup, "COLABEL_SMTP_TIMEOUT_SECS", 30u64)?.max(1),
                ),
                invitation_ttl: Duration::from_secs(
                    parse(&lookup, "COLABEL_INVITATION_DAYS", 7u64)?.clamp(1, 365) * 86_400,
                ),
                invitations_per_day: parse(&lookup, "COLABEL_INVITATIONS_PER_DAY", 50i64)?.max(1),
            },
            jobs: JobSettings {
                poll: Duration::from_millis(
                    parse(&lookup, "COLABEL_JOB_POLL_MS", 1000u64)?.max(10),
                ),
                retry_base: Duration::from_millis(parse(
                    &lookup,
                    "COLABEL_JOB_RETRY_BASE_MS",
                    30_000u64,
                )?),
                retry_max: Duration::from_secs(parse(
                    &lookup,
                    "COLABEL_JOB_RETRY_MAX_SECS",
                    3600u64,
                )?),
                max_attempts: parse(&lookup, "COLABEL_JOB_MAX_ATTEMPTS", 10i32)?.max(1),
                lease: Duration::from_secs(
                    parse(&lookup, "COLABEL_JOB_LEASE_SECS", 120u64)?.max(1),
                ),
            },
            webhooks: WebhookSettings {
                allow_private: parse_bool(&lookup, "COLABEL_WEBHOOK_ALLOW_PRIVATE", false)?,
                max_failures: parse(&lookup, "COLABEL_WEBHOOK_MAX_FAILURES", 10i32)?.max(1),
                timeout: Duration::from_secs(
                    parse(&lookup, "COLABEL_WEBHOOK_TIMEOUT_SECS", 10u64)?.max(1),
                ),
            },
        })
    }
}

fn parse<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name} has an invalid value: {v:?}"))),
    }
}

fn parse_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(ConfigError(format!(
            "{name} must be true or false, not {v:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Settings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("valid settings")
    }

    #[test]
    fn the_pool_has_a_connection_for_every_database_thread() {
        let small = with(&[("COLABEL_WORKERS", "2")]);
        assert_eq!((small.blocking_threads, small.pool_size), (2, 16));
        let big = with(&[("COLABEL_WORKERS", "32"), ("COLABEL_BLOCKING_THREADS", "3")]);
        assert_eq!(big.pool_size, 32 * 3 + 4);
        let chosen = with(&[("COLABEL_WORKERS", "32"), ("COLABEL_POOL_SIZE", "8")]);
        assert_eq!(chosen.pool_size, 8, "an explicit size wins");
    }

    #[test]
    fn trusted_proxies_are_addresses_and_ranges() {
        assert!(with(&[]).trusted_proxies.is_empty(), "none by default");
        let s = with(&[("COLABEL_TRUSTED_PROXIES", "10.0.0.0/8, ::1")]);
        assert!(s.trusted_proxies.contains("10.9.8.7".parse().unwrap()));
        assert!(s.trusted_proxies.contains("::1".parse().unwrap()));
        let err = Settings::from_lookup(|n| {
            (n == "COLABEL_TRUSTED_PROXIES").then(|| "10.0.0.0/8 nginx".to_string())
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("COLABEL_TRUSTED_PROXIES: \"nginx\""),
            "{err}"
        );
    }
}
