//! actix-session's `SessionStore` over our own `sessions` table.
//!
//! The cookie holds only a random key; the row is found by the key's SHA-256, so a copy of
//! the table cannot be replayed. Deleting the row ends the session everywhere at once:
//! logout, a password change and expiry all do that.

use std::collections::HashMap;
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::web;
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::schema::sessions;

/// The session state key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "uid";

/// Rows are touched at most this often, so a page view rarely writes.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
    idle: Duration,
    max_age: Duration,
}

impl DbSessionStore {
    pub fn new(db: Db, idle: Duration, max_age: Duration) -> Self {
        DbSessionStore { db, idle, max_age }
    }
}

/// The database id of a cookie's session key.
pub fn session_id(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn user_id_of(state: &HashMap<String, String>) -> Option<i32> {
    state.get(USER_ID_KEY).and_then(|v| v.parse().ok())
}

fn secs(d: Duration) -> chrono::Duration {
    chrono::Duration::seconds(d.as_secs().min(i64::MAX as u64 / 1000) as i64)
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

type State = HashMap<String, String>;

impl DbSessionStore {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut crate::db::DbConn) -> Result<T, anyhow::Error> + Send + 'static,
    ) -> Result<T, anyhow::Error> {
        let db = self.db.clone();
        web::block(move || {
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| anyhow::anyhow!("blocking pool: {e}"))?
    }

    fn insert_row(
        conn: &mut crate::db::DbConn,
        state: &State,
        idle: Duration,
    ) -> Result<SessionKey, anyhow::Error> {
        let key = crate::auth::random_token(64);
        let t = now();
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(session_id(&key)),
                sessions::user_id.eq(user_id_of(state)),
                sessions::state.eq(serde_json::to_string(state)?),
                sessions::created_at.eq(t),
                sessions::last_seen_at.eq(t),
                sessions::expires_at.eq(t + secs(idle)),
            ))
            .execute(conn)?;
        SessionKey::try_from(key).map_err(|e| anyhow::anyhow!("session key: {e}"))
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let id = session_id(key.as_ref());
        let (idle, max_age) = (self.idle, self.max_age);
        self.blocking(move |conn| {
            let row: Option<(String, NaiveDateTime, NaiveDateTime, NaiveDateTime)> =
                sessions::table
                    .find(&id)
                    .select((
                        sessions::state,
                        sessions::created_at,
                        sessions::last_seen_at,
                        sessions::expires_at,
                    ))
                    .first(conn)
                    .optional()?;
            let Some((state, created, last_seen, expires)) = row else {
                return Ok(None);
            };
            let t = now();
            if t >= expires || t >= created + secs(max_age) {
                diesel::delete(sessions::table.find(&id)).execute(conn)?;
                return Ok(None);
            }
            if (t - last_seen).num_seconds() >= TOUCH_EVERY_SECS {
                diesel::update(sessions::table.find(&id))
                    .set((
                        sessions::last_seen_at.eq(t),
                        sessions::expires_at.eq(t + secs(idle)),
                    ))
                    .execute(conn)?;
            }
            Ok(Some(serde_json::from_str::<State>(&state)?))
        })
        .await
        .map_err(LoadError::Other)
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        let idle = self.idle;
        self.blocking(move |conn| Self::insert_row(conn, &state, idle))
            .await
            .map_err(SaveError::Other)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let id = session_id(key.as_ref());
        let idle = self.idle;
        self.blocking(move |conn| {
            let t = now();
            let updated = diesel::update(sessions::table.find(&id))
                .set((
                    sessions::user_id.eq(user_id_of(&state)),
                    sessions::state.eq(serde_json::to_string(&state)?),
                    sessions::last_seen_at.eq(t),
                    sessions::expires_at.eq(t + secs(idle)),
                ))
                .execute(conn)?;
            if updated == 1 {
                return Ok(key);
            }
            // The row was deleted meanwhile (logout elsewhere, password change, expiry):
            // never bring a signed-in state back; keep only the anonymous part.
            let mut anonymous = state;
            anonymous.retain(|k, _| !crate::auth::SIGNED_IN_KEYS.contains(&k.as_str()));
            Self::insert_row(conn, &anonymous, idle)
        })
        .await
        .map_err(UpdateError::Other)
    }

    async fn update_ttl(
        &self,
        key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        let id = session_id(key.as_ref());
        let idle = self.idle;
        self.blocking(move |conn| {
            let t = now();
            diesel::update(sessions::table.find(&id))
                .set((
                    sessions::last_seen_at.eq(t),
                    sessions::expires_at.eq(t + secs(idle)),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let id = session_id(key.as_ref());
        self.blocking(move |conn| {
            diesel::delete(sessions::table.find(&id)).execute(conn)?;
            Ok(())
        })
        .await
    }
}

/// Ends every session of `user_id` (used after a password change, before the current
/// session is renewed). Also sweeps expired rows.
pub fn end_user_sessions(conn: &mut crate::db::DbConn, user_id: i32) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Deletes expired sessions; called now and then.
pub fn sweep_expired(conn: &mut crate::db::DbConn) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(now()))).execute(conn)
}
