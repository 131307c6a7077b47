//! Counters that limit how many verification and reset emails one address or account can
//! cause in a window (kept apart from the login throttle, which is reworked on its own).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use crate::db::DbConn;
use crate::schema::mail_limits;

/// Counts one request against `key` (a new window starts when the old one began before
/// `window_start`); returns the count in the current window and when that window began.
pub fn hit(
    conn: &mut DbConn,
    key: &str,
    now: NaiveDateTime,
    window_start: NaiveDateTime,
) -> QueryResult<(i32, NaiveDateTime)> {
    diesel::sql_query(
        "INSERT INTO mail_limits (scope_key, hits, window_started_at) VALUES ($1, 1, $2) \
         ON CONFLICT (scope_key) DO UPDATE SET \
         hits = CASE WHEN mail_limits.window_started_at < $3 THEN 1 ELSE mail_limits.hits + 1 END, \
         window_started_at = CASE WHEN mail_limits.window_started_at < $3 THEN $2 ELSE mail_limits.window_started_at END",
    )
    .bind::<Text, _>(key)
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(window_start)
    .execute(conn)?;
    mail_limits::table
        .find(key)
        .select((mail_limits::hits, mail_limits::window_started_at))
        .first(conn)
}

/// Deletes counters whose window began before `before`.
pub fn delete_stale(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(mail_limits::table.filter(mail_limits::window_started_at.lt(before)))
        .execute(conn)
}
