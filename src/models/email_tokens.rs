//! One-time links sent by email (verify an address, reset a password): only the token's
//! SHA-256 is stored, with the address it went to and when it ends.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::domain::status::TokenPurpose;
use crate::schema::email_tokens;

/// A link that is still usable: its user, and the address it was sent to.
#[derive(Clone, Debug)]
pub struct LiveToken {
    pub id: i32,
    pub user_id: i32,
    pub email: String,
}

pub fn insert(
    conn: &mut DbConn,
    user_id: i32,
    purpose: TokenPurpose,
    email: &str,
    token_hash: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose),
            email_tokens::email.eq(email),
            email_tokens::token_hash.eq(token_hash),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// The unused, unexpired link of `purpose` whose hash is `token_hash`.
pub fn find_live(
    conn: &mut DbConn,
    purpose: TokenPurpose,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<LiveToken>> {
    email_tokens::table
        .filter(email_tokens::token_hash.eq(token_hash))
        .filter(email_tokens::purpose.eq(purpose))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .select((email_tokens::id, email_tokens::user_id, email_tokens::email))
        .first::<(i32, i32, String)>(conn)
        .optional()
        .map(|r| r.map(|(id, user_id, email)| LiveToken { id, user_id, email }))
}

/// Uses up a link; `false` when it was used meanwhile (a second click at the same moment).
pub fn use_up(conn: &mut DbConn, id: i32, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        email_tokens::table
            .find(id)
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Ends every unused link of `purpose` of the user (a new password ends every other reset
/// link; a new address, the links to the old one).
pub fn end_all(
    conn: &mut DbConn,
    user_id: i32,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)
}

/// Deletes links that ended before `before`.
pub fn delete_expired(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(email_tokens::table.filter(email_tokens::expires_at.lt(before))).execute(conn)
}
