//! Deleting what has expired: sessions past their idle time and throttle counters whose
//! window is over. Every instance sweeps on its own timer (`startup`), in small batches: on
//! PostgreSQL each batch takes rows that no other sweep holds (`SKIP LOCKED`), so two
//! instances never wait for each other, and no batch holds locks, or SQLite's write lock,
//! for long.

use crate::app::{App, DomainError};
use crate::auth::throttle;
use crate::models::sessions;

/// Rows deleted by one statement.
pub const BATCH: i64 = 500;

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: usize,
    pub throttles: usize,
    pub deliveries: usize,
}

/// How long webhook deliveries (and their attempts) stay in the deliveries log.
pub const KEEP_DELIVERIES_DAYS: i64 = 14;

/// Sweeps until a batch comes back short, one batch per trip to the database threads, so
/// requests queued behind the sweep wait for one batch at most.
pub async fn run(app: &App) -> Result<Swept, DomainError> {
    let mut swept = Swept::default();
    loop {
        let now = chrono::Utc::now().naive_utc();
        let old = now - chrono::Duration::days(KEEP_DELIVERIES_DAYS);
        let (s, t, d) = app
            .run(move |c| {
                Ok((
                    sessions::sweep_expired(c, now, BATCH)?,
                    throttle::sweep(c, now, BATCH)?,
                    crate::models::webhooks::sweep(c, old, BATCH)?,
                ))
            })
            .await?;
        swept.sessions += s;
        swept.throttles += t;
        swept.deliveries += d;
        if (s as i64) < BATCH && (t as i64) < BATCH && (d as i64) < BATCH {
            break;
        }
    }
    if swept != Swept::default() {
        log::info!(
            "swept {} expired sessions, {} spent login throttles and {} old webhook deliveries",
            swept.sessions,
            swept.throttles,
            swept.deliveries
        );
    }
    Ok(swept)
}
