//! The counters of the password throttle. An attempt at a secret is counted in the database
//! before the secret is checked, in one statement for all of its keys, so the limits hold
//! under parallel requests and across any number of instances: past a limit an attempt is
//! refused without being checked. The application layer's `app::attempts` decides what to
//! count and gives back the attempts that succeeded.
//!
//! Three keys per attempt, each with its limit within a window of [`WINDOW_MINUTES`]:
//! - the target from one client address (`user:7|ip:203.0.113.9`): [`ACCOUNT_LIMIT`], which
//!   slows a guesser without locking the owner out from elsewhere;
//! - the target from every address together (`user:7`): [`ACCOUNT_CEILING`], much higher, for
//!   guessing spread over many addresses;
//! - the client address, whatever the target (`ip:203.0.113.9`; an IPv6 client by its /64
//!   network, all of which one subscriber can use): [`ADDRESS_LIMIT`].

use std::net::IpAddr;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};
use sha2::{Digest, Sha256};

use crate::db::DbConn;

/// Attempts at one target from one client address within a window.
pub const ACCOUNT_LIMIT: i32 = 5;
/// Attempts at one target from all addresses together within a window.
pub const ACCOUNT_CEILING: i32 = 100;
/// Attempts from one client address at any targets within a window.
pub const ADDRESS_LIMIT: i32 = 30;
pub const WINDOW_MINUTES: i64 = 15;

/// What a client tries a secret against.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// An account's password.
    Account(i32),
    /// A login (username or email) that names no account: counted as if it did, so that an
    /// unknown name is no cheaper to try than a known one.
    UnknownLogin(&'a str),
    /// A token by its public identifier (the coming API keys and invitations).
    Token { kind: &'static str, id: &'a str },
}

/// The keys of one attempt, in the order their rows are locked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys(Vec<String>);

impl Keys {
    pub fn new(target: Target<'_>, client: IpAddr) -> Self {
        let target = match target {
            Target::Account(id) => format!("user:{id}"),
            // Hashed: the login is whatever was typed, of any length (a long key cannot be
            // indexed by PostgreSQL), and it may be someone's mistyped password.
            Target::UnknownLogin(login) => format!(
                "login:{}",
                hex::encode(Sha256::digest(login.to_lowercase()))
            ),
            Target::Token { kind, id } => format!(
                "token:{kind}:{}",
                hex::encode(Sha256::digest(id.as_bytes()))
            ),
        };
        let address = format!("ip:{}", scope_of(client));
        let mut keys = vec![format!("{target}|{address}"), target, address];
        // One order for every attempt: two attempts sharing keys lock them in the same
        // order, so PostgreSQL never finds them deadlocked.
        keys.sort();
        Keys(keys)
    }

    fn limit(key: &str) -> i32 {
        if key.contains('|') {
            ACCOUNT_LIMIT
        } else if key.starts_with("ip:") {
            ADDRESS_LIMIT
        } else {
            ACCOUNT_CEILING
        }
    }
}

/// The address a client is counted as: an IPv4 address, or the /64 network of an IPv6
/// address (one subscriber's network: a client can pick any address in it).
fn scope_of(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

/// The answer to a counted attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The attempt may be checked. `first_from_address`: the address has no other attempt
    /// pending or failed in its window. `windows`: each key's window, for a refund.
    Admitted {
        first_from_address: bool,
        windows: Vec<(String, NaiveDateTime)>,
    },
    /// A limit is reached: refused, unchecked, for this many more whole minutes (at least 1).
    Refused { minutes: i64 },
}

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = Text)]
    scope_key: String,
    #[diesel(sql_type = Integer)]
    failures: i32,
    #[diesel(sql_type = Timestamp)]
    window_started_at: NaiveDateTime,
}

/// Counts one attempt against every key in one statement (a new window starts on a key
/// whose window is over) and says whether it may be checked. The `failures` column counts
/// attempts not known to have succeeded: pending ones and failed ones.
pub fn count_attempt(conn: &mut DbConn, keys: &Keys) -> QueryResult<Admission> {
    let now = Utc::now().naive_utc();
    let window_start = now - Duration::minutes(WINDOW_MINUTES);
    // SQLite numbers `$N` parameters in the order they first appear: they appear in order.
    let rows: Vec<Counter> = diesel::sql_query(
        "INSERT INTO login_throttle (scope_key, failures, window_started_at) \
         VALUES ($1, 1, $2), ($3, 1, $4), ($5, 1, $6) \
         ON CONFLICT (scope_key) DO UPDATE SET \
         failures = CASE WHEN login_throttle.window_started_at < $7 THEN 1 ELSE login_throttle.failures + 1 END, \
         window_started_at = CASE WHEN login_throttle.window_started_at < $8 \
         THEN excluded.window_started_at ELSE login_throttle.window_started_at END \
         RETURNING scope_key, failures, window_started_at",
    )
    .bind::<Text, _>(&keys.0[0])
    .bind::<Timestamp, _>(now)
    .bind::<Text, _>(&keys.0[1])
    .bind::<Timestamp, _>(now)
    .bind::<Text, _>(&keys.0[2])
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(window_start)
    .bind::<Timestamp, _>(window_start)
    .load(conn)?;
    let left = rows
        .iter()
        .filter(|r| r.failures > Keys::limit(&r.scope_key))
        .map(|r| r.window_started_at + Duration::minutes(WINDOW_MINUTES) - now)
        .max();
    if let Some(left) = left {
        return Ok(Admission::Refused {
            minutes: ((left.num_seconds() + 59) / 60).max(1),
        });
    }
    let first_from_address = rows
        .iter()
        .any(|r| r.scope_key.starts_with("ip:") && r.failures == 1);
    Ok(Admission::Admitted {
        first_from_address,
        windows: rows
            .into_iter()
            .map(|r| (r.scope_key, r.window_started_at))
            .collect(),
    })
}

/// Gives an admitted attempt back (it succeeded, or was never checked): one less on each
/// key, unless that key's window has been replaced since.
pub fn refund(conn: &mut DbConn, windows: &[(String, NaiveDateTime)]) -> QueryResult<()> {
    for (key, window) in windows {
        diesel::sql_query(
            "UPDATE login_throttle SET failures = failures - 1 \
             WHERE scope_key = $1 AND window_started_at = $2 AND failures > 0",
        )
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(*window)
        .execute(conn)?;
    }
    Ok(())
}

/// Deletes up to `batch` counters whose window ended before `now`; returns how many.
/// Several instances may sweep at once: on PostgreSQL each takes rows no other holds.
pub fn sweep(conn: &mut DbConn, now: NaiveDateTime, batch: i64) -> QueryResult<usize> {
    let skip_locked = if crate::db::is_sqlite(conn) {
        ""
    } else {
        " FOR UPDATE SKIP LOCKED"
    };
    diesel::sql_query(format!(
        "DELETE FROM login_throttle WHERE scope_key IN \
         (SELECT scope_key FROM login_throttle WHERE window_started_at < $1 LIMIT $2{skip_locked})"
    ))
    .bind::<Timestamp, _>(now - Duration::minutes(WINDOW_MINUTES))
    .bind::<diesel::sql_types::BigInt, _>(batch)
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attempt_has_three_keys_with_their_limits() {
        let keys = Keys::new(Target::Account(7), "203.0.113.9".parse().unwrap());
        let limits: Vec<(&str, i32)> = keys
            .0
            .iter()
            .map(|k| (k.as_str(), Keys::limit(k)))
            .collect();
        assert_eq!(
            limits,
            [
                ("ip:203.0.113.9", ADDRESS_LIMIT),
                ("user:7", ACCOUNT_CEILING),
                ("user:7|ip:203.0.113.9", ACCOUNT_LIMIT),
            ]
        );
        // Every address of one IPv6 /64 is one client.
        let a = Keys::new(Target::Account(7), "2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = Keys::new(Target::Account(7), "2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert!(a.0.contains(&"ip:2001:db8:1:2::/64".to_string()), "{a:?}");
        let unknown = Keys::new(Target::UnknownLogin("Ghost"), "::1".parse().unwrap());
        assert_eq!(
            unknown,
            Keys::new(Target::UnknownLogin("ghost"), "::1".parse().unwrap())
        );
        assert!(unknown.0.iter().all(|k| !k.contains("ghost")));
    }
}
