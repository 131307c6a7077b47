//! The one throttle of every secret a client presents: a password at login and in the
//! settings today; the API keys and invitation tokens next. An attempt is counted in the
//! database ([`begin`]) before the secret is checked, and refused past a limit without being
//! checked, so parallel requests and several instances get no more checks than the limits
//! (`auth::throttle`). An attempt that succeeds is given back, so successes never use a
//! limit up; one that fails stays counted for the rest of its window.
//!
//! The count also chooses the hashing lane: the first attempt of an address in its window is
//! checked before the queued attempts of addresses that keep trying.

use std::net::IpAddr;

use chrono::NaiveDateTime;

use crate::app::{App, DomainError};
use crate::auth::password::{HashError, Lane};
pub use crate::auth::throttle::Target;
use crate::auth::throttle::{self, Admission, Keys};
use crate::db::{write_tx, DbConn};

/// A counted attempt, admitted to be checked.
#[derive(Debug)]
#[must_use = "an attempt is settled: succeeded, or left counted as a failure"]
pub struct Attempt {
    windows: Vec<(String, NaiveDateTime)>,
    /// The hashing lane this attempt has earned.
    pub lane: Lane,
}

/// Counts an attempt at `target` from `client`; [`DomainError::Throttled`] past a limit.
pub fn begin(
    conn: &mut DbConn,
    target: Target<'_>,
    client: IpAddr,
) -> Result<Attempt, DomainError> {
    let keys = Keys::new(target, client);
    match write_tx(conn, |tx| throttle::count_attempt(tx, &keys))? {
        Admission::Refused { minutes } => Err(DomainError::Throttled { minutes }),
        Admission::Admitted {
            first_from_address,
            windows,
        } => Ok(Attempt {
            windows,
            lane: if first_from_address {
                Lane::Clean
            } else {
                Lane::Suspect
            },
        }),
    }
}

impl Attempt {
    /// The secret was right, or was never checked: the attempt is given back.
    pub fn give_back(self, conn: &mut DbConn) -> Result<(), DomainError> {
        Ok(throttle::refund(conn, &self.windows)?)
    }
}

/// Checks `password` against `hash` (an unknown account's login against a dummy hash, so
/// it takes as long) for an admitted attempt, and settles the attempt.
pub async fn check_password(
    app: &App,
    attempt: Attempt,
    password: String,
    hash: Option<String>,
) -> Result<bool, DomainError> {
    match app.hasher.verify(password, hash, attempt.lane).await {
        Ok(true) => {
            app.run(move |c| attempt.give_back(c)).await?;
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(e @ HashError::Busy) => {
            // Not a guess that failed: the queue was full, nothing was checked.
            app.run(move |c| attempt.give_back(c)).await?;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}
