//! The application layer: one use case per action of the product, called the same way by
//! every surface (the HTML pages today, the JSON API next).
//!
//! A use case that changes something takes a [`Principal`], a typed command and a
//! [`WriteTx`](crate::db::WriteTx) (which only `db::write_tx` hands out): it takes the locks
//! its rule needs first, then reads the caller's current role under them, then asks the one
//! permission table (`domain::roles`), then acts and writes the audit event, in that
//! transaction. It answers a typed result or a [`DomainError`] with a stable code. Reads take
//! a connection and check the same permissions. Nothing here knows HTTP.

pub mod accounts;
pub mod attempts;
mod authz;
pub mod datasets;
pub mod error;
pub mod orgs;
pub mod principal;
pub mod sweep;

pub use error::{Conflict, Denied, DomainError, FieldErrors, Joining};
pub use principal::{Principal, Via};

use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::db::{Db, DbConn};

/// What the use cases run on; shared by every worker and cheap to clone.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub hasher: Hasher,
    pub settings: Settings,
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
