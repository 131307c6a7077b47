//! Server-side sessions of the HTML surface: one row per signed-in session, found by the
//! SHA-256 of the key the cookie holds. The row only authenticates (the rest of a session's
//! state travels in the signed cookie); deleting it ends the session on every instance at
//! once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::models::orgs::{Nav, NAV_ORGS};
use crate::schema::{accounts as acc, memberships, sessions, users};

/// A signed-in session as a page reads it, with what every page's layout shows of its user,
/// in one statement.
pub struct SignedIn {
    pub user_id: i32,
    pub username: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub nav: Nav,
}

/// The session `id` with its user, the user's organizations by name (at most
/// [`NAV_ORGS`], the profile menu) and their address while unverified (the banner): one
/// statement, so that a page pays nothing for its session beyond the menu it shows anyway.
pub fn signed_in(conn: &mut DbConn, id: &str) -> QueryResult<Option<SignedIn>> {
    let (user_acc, org_acc) = diesel::alias!(acc as user_acc, acc as org_acc);
    type Row = (
        i32,
        String,
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
        String,
        Option<NaiveDateTime>,
        Option<String>,
    );
    // Every request runs this: on the backend's own connection (`db::load`).
    let query = sessions::table
        .inner_join(users::table)
        .inner_join(user_acc.on(user_acc.field(acc::id).eq(sessions::user_id)))
        .left_join(memberships::table.on(memberships::user_id.eq(sessions::user_id)))
        .left_join(org_acc.on(org_acc.field(acc::id).eq(memberships::org_id)))
        .filter(sessions::id.eq(id))
        .order(org_acc.field(acc::username_key).nullable())
        .select((
            sessions::user_id,
            user_acc.field(acc::username),
            sessions::created_at,
            sessions::last_seen_at,
            sessions::expires_at,
            users::email,
            users::email_verified_at,
            org_acc.field(acc::username).nullable(),
        ))
        .limit(NAV_ORGS);
    let rows: Vec<Row> = crate::db::load(conn, query)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (user_id, username, created_at, last_seen_at, expires_at, email, verified, _) =
        first.clone();
    Ok(Some(SignedIn {
        user_id,
        username,
        created_at,
        last_seen_at,
        expires_at,
        nav: Nav {
            unverified_email: verified.is_none().then_some(email),
            orgs: rows.into_iter().filter_map(|r| r.7).collect(),
        },
    }))
}

pub fn insert(
    conn: &mut DbConn,
    id: &str,
    user_id: i32,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
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
