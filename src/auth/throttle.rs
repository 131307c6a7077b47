//! Throttling of failed sign-ins, per account and per client address. The counters live in
//! the database, so the limit holds across any number of instances.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use sha2::{Digest, Sha256};

use crate::db::DbConn;
use crate::schema::login_throttle;

/// Failed attempts allowed within one window before sign-in is refused.
pub const ACCOUNT_LIMIT: i32 = 5;
pub const ADDRESS_LIMIT: i32 = 30;
/// Attempts at one account from all addresses together (not enforced yet).
pub const ACCOUNT_CEILING: i32 = 100;
pub const WINDOW_MINUTES: i64 = 15;

/// The throttle keys of one attempt.
pub struct Keys {
    pub account: String,
    pub address: String,
}

impl Keys {
    /// `account` is the user's id when the login names an account, else the login itself,
    /// so that an attacker cannot double the limit by switching between name and email.
    pub fn new(user_id: Option<i32>, login: &str, address: &str) -> Self {
        let account = match user_id {
            Some(id) => format!("user:{id}"),
            // Hashed: the login is whatever was typed, of any length (a long key cannot be
            // indexed by PostgreSQL), and it may be someone's mistyped password.
            None => format!(
                "login:{}",
                hex::encode(Sha256::digest(login.to_lowercase()))
            ),
        };
        Keys {
            account,
            address: format!("ip:{address}"),
        }
    }

    fn limit(key: &str) -> i32 {
        if key.starts_with("ip:") {
            ADDRESS_LIMIT
        } else {
            ACCOUNT_LIMIT
        }
    }
}

/// When sign-in is throttled, how many whole minutes remain (at least 1).
pub fn blocked_for(conn: &mut DbConn, keys: &Keys) -> QueryResult<Option<i64>> {
    let now = Utc::now().naive_utc();
    let rows: Vec<(String, i32, NaiveDateTime)> = login_throttle::table
        .filter(login_throttle::scope_key.eq_any([&keys.account, &keys.address]))
        .select((
            login_throttle::scope_key,
            login_throttle::failures,
            login_throttle::window_started_at,
        ))
        .load(conn)?;
    let remaining = rows
        .into_iter()
        .filter(|(key, failures, _)| *failures >= Keys::limit(key))
        .map(|(_, _, start)| start + Duration::minutes(WINDOW_MINUTES) - now)
        .filter(|left| *left > Duration::zero())
        .max();
    Ok(remaining.map(|left| (left.num_seconds() + 59) / 60))
}

/// Counts one failure against both keys (a new window starts when the old one is over).
pub fn record_failure(conn: &mut DbConn, keys: &Keys) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    let window_start = now - Duration::minutes(WINDOW_MINUTES);
    for key in [&keys.account, &keys.address] {
        diesel::sql_query(
            "INSERT INTO login_throttle (scope_key, failures, window_started_at) VALUES ($1, 1, $2) \
             ON CONFLICT (scope_key) DO UPDATE SET \
             failures = CASE WHEN login_throttle.window_started_at < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
             window_started_at = CASE WHEN login_throttle.window_started_at < $3 THEN $2 ELSE login_throttle.window_started_at END",
        )
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(window_start)
        .execute(conn)?;
    }
    Ok(())
}

/// Forgets the account's failures after a successful sign-in.
pub fn clear_account(conn: &mut DbConn, keys: &Keys) -> QueryResult<()> {
    diesel::delete(login_throttle::table.filter(login_throttle::scope_key.eq(&keys.account)))
        .execute(conn)
        .map(drop)
}
