//! Personal API keys: the rows. A key is found by the SHA-256 of what the client sent (one
//! indexed lookup); the key itself is never stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::{accounts, api_keys};

/// A key as its owner's settings page lists it.
#[derive(Queryable, Clone, Debug)]
pub struct ApiKeyRow {
    pub id: i32,
    pub name: String,
    pub key_prefix: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

impl ApiKeyRow {
    pub fn created(&self) -> String {
        self.created_at.date().to_string()
    }

    /// "Last used 2026-12-01", or "Never used".
    pub fn last_used(&self) -> String {
        self.last_used_at.map_or_else(
            || "Never used".to_string(),
            |t| format!("Last used {}", t.date()),
        )
    }
}

/// The user a key belongs to, found by the key's hash.
pub struct KeyOwner {
    pub key_id: i32,
    pub key_name: String,
    pub user_id: i32,
    pub username: String,
    pub last_used_at: Option<NaiveDateTime>,
}

pub fn insert(
    conn: &mut DbConn,
    user_id: i32,
    name: &str,
    key_hash: &str,
    key_prefix: &str,
    now: NaiveDateTime,
) -> QueryResult<i32> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(user_id),
            api_keys::name.eq(name),
            api_keys::key_hash.eq(key_hash),
            api_keys::key_prefix.eq(key_prefix),
            api_keys::created_at.eq(now),
        ))
        .returning(api_keys::id)
        .get_result(conn)
}

/// The user's keys, newest first (bounded: a user has at most a few dozen).
pub fn list(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .order(api_keys::id.desc())
        .limit(200)
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::key_prefix,
            api_keys::created_at,
            api_keys::last_used_at,
        ))
        .load(conn)
}

pub fn count(conn: &mut DbConn, user_id: i32) -> QueryResult<i64> {
    api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

/// The key whose hash is `key_hash` and its user (one statement, by the unique index).
pub fn find_by_hash(conn: &mut DbConn, key_hash: &str) -> QueryResult<Option<KeyOwner>> {
    let query = api_keys::table
        .inner_join(accounts::table.on(accounts::id.eq(api_keys::user_id)))
        .filter(api_keys::key_hash.eq(key_hash))
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::user_id,
            accounts::username,
            api_keys::last_used_at,
        ));
    crate::db::load_one::<_, (i32, String, i32, String, Option<NaiveDateTime>)>(conn, query).map(
        |row| {
            row.map(
                |(key_id, key_name, user_id, username, last_used_at)| KeyOwner {
                    key_id,
                    key_name,
                    user_id,
                    username,
                    last_used_at,
                },
            )
        },
    )
}

/// Records a use at `now` if the last one is older than `stale_before` (or there was none);
/// `true` when this was the key's first use ever. At most one of several simultaneous
/// requests wins each write.
pub fn mark_used(
    conn: &mut DbConn,
    key_id: i32,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
    first: bool,
) -> QueryResult<bool> {
    let key = api_keys::table.filter(api_keys::id.eq(key_id));
    let updated = if first {
        diesel::update(key.filter(api_keys::last_used_at.is_null()))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)?
    } else {
        diesel::update(key.filter(api_keys::last_used_at.lt(stale_before)))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)?
    };
    Ok(first && updated == 1)
}

/// Deletes one of the user's keys; its name, or `None` when the user has no such key.
pub fn delete(conn: &mut DbConn, user_id: i32, key_id: i32) -> QueryResult<Option<String>> {
    let key = api_keys::table
        .filter(api_keys::id.eq(key_id))
        .filter(api_keys::user_id.eq(user_id));
    let name: Option<String> = key.select(api_keys::name).first(conn).optional()?;
    if name.is_some() {
        diesel::delete(key).execute(conn)?;
    }
    Ok(name)
}

/// Deletes every key of the user; their names.
pub fn delete_all(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<String>> {
    let names = api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .select(api_keys::name)
        .load(conn)?;
    diesel::delete(api_keys::table.filter(api_keys::user_id.eq(user_id))).execute(conn)?;
    Ok(names)
}
