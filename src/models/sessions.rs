//! Server-side sessions of the HTML surface: one row per session, found by the SHA-256 of
//! the key the cookie holds. Deleting the row ends the session on every instance at once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::sessions;

/// What a session row holds: the serialized state and its three times.
pub struct SessionRow {
    pub state: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(id)
        .select((
            sessions::state,
            sessions::created_at,
            sessions::last_seen_at,
            sessions::expires_at,
        ))
        .first::<(String, NaiveDateTime, NaiveDateTime, NaiveDateTime)>(conn)
        .optional()
        .map(|row| {
            row.map(|(state, created_at, last_seen_at, expires_at)| SessionRow {
                state,
                created_at,
                last_seen_at,
                expires_at,
            })
        })
}

pub fn insert(
    conn: &mut DbConn,
    id: &str,
    user_id: Option<i32>,
    state: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Replaces the state of a session; `false` when the row is gone (ended meanwhile).
pub fn update_state(
    conn: &mut DbConn,
    id: &str,
    user_id: Option<i32>,
    state: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Marks a session as used now; it expires `expires_at` unless used again.
pub fn touch(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id))
        .execute(conn)
        .map(drop)
}

/// Ends every session of `user_id` (after a password change).
pub fn end_user_sessions(conn: &mut DbConn, user_id: i32) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Deletes up to `batch` sessions that expired before `now`; returns how many. Several
/// instances may sweep at once: on PostgreSQL each takes rows no other holds, so none waits
/// for another, and a batch holds its locks only briefly.
pub fn sweep_expired(conn: &mut DbConn, now: NaiveDateTime, batch: i64) -> QueryResult<usize> {
    let skip_locked = if crate::db::is_sqlite(conn) {
        ""
    } else {
        " FOR UPDATE SKIP LOCKED"
    };
    diesel::sql_query(format!(
        "DELETE FROM sessions WHERE id IN \
         (SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2{skip_locked})"
    ))
    .bind::<diesel::sql_types::Timestamp, _>(now)
    .bind::<diesel::sql_types::BigInt, _>(batch)
    .execute(conn)
}
