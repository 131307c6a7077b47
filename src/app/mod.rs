//! The application layer: one use case per action of the product, called the same way by
//! every surface (the HTML pages today, the JSON API next).
//!
//! A use case that changes something takes a [`Principal`], a typed command and a
//! [`WriteTx`](crate::db::WriteTx) (which only `db::write_tx` hands out): it takes the locks
//! its rule needs first, then reads the caller's current role under them, then asks the one
//! permission table (`domain::roles`), then acts and writes the audit event, in that
//! transaction. It answers a typed result or a [`DomainError`] with a stable code. Reads take
//! a connection and check the same permissions. Nothing here knows HTTP.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod attempts;
mod authz;
pub mod bulk_add;
pub mod datasets;
pub mod email;
pub mod error;
pub mod invitations;
pub mod orgs;
pub mod principal;
pub mod sessions;
pub mod sweep;
pub mod webhooks;

pub use error::{Conflict, Denied, DomainError, FieldErrors, Joining};
pub use principal::{Principal, Via};

use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::db::{Db, DbConn};
use crate::jobs::Job;
use crate::mail::Email;

/// What the use cases run on; shared by every worker and cheap to clone.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub hasher: Hasher,
    pub settings: Settings,
    pub mailing: Arc<Mailing>,
}

/// What the use cases that send email need: where links point, the invitation rules, and
/// how messages are queued.
#[derive(Clone, Debug)]
pub struct Mailing {
    /// The origin of every link, without a trailing slash.
    pub public_url: String,
    pub invitation_ttl: chrono::Duration,
    pub invitations_per_day: i64,
    /// Attempts of a message's job before it is marked failed.
    pub max_attempts: i32,
}

impl Mailing {
    pub fn from_settings(settings: &Settings, public_url: String) -> Self {
        Mailing {
            public_url,
            invitation_ttl: chrono::Duration::seconds(settings.mail.invitation_ttl.as_secs() as i64),
            invitations_per_day: settings.mail.invitations_per_day,
            max_attempts: settings.jobs.max_attempts,
        }
    }

    /// An absolute link to `path` (which starts with `/`) carrying a one-time `token`.
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.public_url)
    }

    /// Queues `email` in the caller's transaction; returns the job's id.
    pub fn queue(
        &self,
        conn: &mut DbConn,
        email: Email,
        now: NaiveDateTime,
    ) -> Result<i32, DomainError> {
        Ok(crate::jobs::enqueue(
            conn,
            &Job::Email(email),
            self.max_attempts,
            now,
        )?)
    }
}

impl From<askama::Error> for DomainError {
    fn from(e: askama::Error) -> Self {
        DomainError::Internal(format!("mail template: {e}"))
    }
}

impl App {
    /// Runs `f` with a pooled connection on the blocking threads (never on an async
    /// worker): all of a request's database work goes through here, in one call where
    /// possible.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DomainError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| DomainError::Internal(format!("database thread: {e}")))?
    }

    /// Whether the database answers, and on SQLite is still the file opened at start.
    pub async fn health(&self) -> Result<(), DomainError> {
        if let Some(problem) = self.db.file_problem() {
            return Err(DomainError::Unavailable(problem));
        }
        self.run(|c| Ok(crate::db::ping(c)?)).await
    }
}
