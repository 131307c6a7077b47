//! Sessions of the HTML surface: actix-session's `SessionStore`, and the step that turns a
//! request's session into a claim that the page's own database call checks.
//!
//! Every session's state (the user it signed in, its CSRF token, a message for the next
//! page) travels in the cookie, which actix-session signs with `COLABEL_SESSION_KEY`. A
//! signed-in session also has a row, found by the SHA-256 of a random key the cookie holds
//! (so a copy of the table cannot be replayed); deleting the row ends the session everywhere
//! at once: logout, a password change and expiry all do that. Loading a session reads no
//! database: the cookie's claim is checked by `app::sessions::check` in the same database
//! call as the page's work, in the statement that reads the profile menu ([`crate::html::State`]),
//! so a page makes one hand-off to the database threads (issue 18).
//!
//! The cookie holds nothing secret from its owner (a name, a token they submit in forms, a
//! message): it is signed, not encrypted. A visitor's session has no row at all, so
//! visitors, however many, store nothing (issue 13).

use std::collections::HashMap;
use std::future::{ready, Ready};

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{Session, SessionExt};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use crate::app::sessions::{Claim, SessionPolicy};
use crate::app::Principal;
use crate::db::{Db, DbConn};
use crate::html::error::HtmlError;
use crate::models::sessions;

/// The session state keys holding the signed-in user's id and name.
pub const USER_ID_KEY: &str = "uid";
const USERNAME_KEY: &str = "uname";

/// Session keys that exist only while signed in.
pub const SIGNED_IN_KEYS: &[&str] = &[USER_ID_KEY, USERNAME_KEY];

/// Set in memory when a signed-in session is loaded: the id of its row. Never written to
/// the cookie (the cookie holds the key it is derived from).
const ROW_ID_KEY: &str = "_row";

/// The start of a visitor's session key: `anon.EXPIRES.HEX` (Unix seconds; the state as
/// hex-encoded JSON). A signed-in session's key is `KEY.HEX`, where `KEY` (letters and
/// digits) names its row; its expiry is the row's.
const ANONYMOUS: &str = "anon.";

/// The length of the random key that names a session's row.
const ROW_KEY_LEN: usize = 64;

/// The request's signed-in claim, if its cookie makes one: which session, and whose.
pub fn claim(session: &Session) -> Option<Claim> {
    let user_id = session.get::<i32>(USER_ID_KEY).ok().flatten()?;
    let username = session.get::<String>(USERNAME_KEY).ok().flatten()?;
    let session_id = session.get::<String>(ROW_ID_KEY).ok().flatten()?;
    Some(Claim {
        session_id,
        user_id,
        username,
    })
}

/// The user the session's cookie names, for error pages (which read no database). Pages
/// get theirs from [`crate::html::State`], checked.
pub fn principal(session: &Session) -> Option<Principal> {
    claim(session).map(|c| c.principal())
}

/// Extracting a `Principal` requires a signed-in session: visitors are sent to the login
/// page and come back afterwards. Use `Option<Principal>` where visitors are welcome.
impl FromRequest for Principal {
    type Error = HtmlError;
    type Future = Ready<Result<Self, HtmlError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The claim; `State::run` checks it before any of the page's work.
        let user = principal(&req.get_session());
        ready(user.ok_or_else(|| HtmlError::LoginRequired(resume_path(req))))
    }
}

/// Starts a signed-in session: a new session id (the old one is deleted) and a new CSRF token.
pub fn start(session: &Session, user: &Principal) -> Result<(), HtmlError> {
    session.renew();
    session
        .insert(USER_ID_KEY, user.user_id)
        .map_err(HtmlError::internal)?;
    session
        .insert(USERNAME_KEY, &user.username)
        .map_err(HtmlError::internal)?;
    crate::html::csrf::rotate(session)?;
    Ok(())
}

/// Ends the session for good: the row is deleted and the cookie removed.
pub fn end(session: &Session) {
    session.purge();
}

/// The next request's address to come back to after signing in: a page's own, a form's
/// none (its post cannot be replayed).
pub fn resume_path(req: &HttpRequest) -> String {
    if matches!(
        *req.method(),
        actix_web::http::Method::GET | actix_web::http::Method::HEAD
    ) {
        req.uri()
            .path_and_query()
            .map_or("/".into(), |p| p.as_str().to_string())
    } else {
        "/".into()
    }
}

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
    policy: SessionPolicy,
}

impl DbSessionStore {
    pub fn new(db: Db, policy: SessionPolicy) -> Self {
        DbSessionStore { db, policy }
    }
}

/// The database id of a session's row key.
pub fn session_id(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn user_id_of(state: &State) -> Option<i32> {
    state.get(USER_ID_KEY).and_then(|v| v.parse().ok())
}

fn signed_in(state: &State) -> bool {
    SIGNED_IN_KEYS.iter().any(|k| state.contains_key(*k))
}

/// The state as the cookie carries it (hex-encoded JSON), without what is kept in memory.
fn encode(state: &State) -> Result<String, anyhow::Error> {
    let mut kept = state.clone();
    kept.remove(ROW_ID_KEY);
    Ok(hex::encode(serde_json::to_string(&kept)?))
}

fn decode(hex_state: &str) -> Option<State> {
    serde_json::from_slice(&hex::decode(hex_state).ok()?).ok()
}

fn key(text: String) -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(text).map_err(|e| anyhow::anyhow!("session key: {e}"))
}

/// A visitor's session key, holding `state` until `idle` from now.
fn anonymous_key(state: &State, idle: chrono::Duration) -> Result<SessionKey, anyhow::Error> {
    let expires = now().and_utc().timestamp() + idle.num_seconds();
    key(format!("{ANONYMOUS}{expires}.{}", encode(state)?))
}

/// The state of a visitor's session key; `None` when it has expired or does not parse. (The
/// cookie's signature was checked before: the key is one this application made.)
fn anonymous_state(rest: &str) -> Option<State> {
    let (expires, hex_state) = rest.split_once('.')?;
    if expires.parse::<i64>().ok()? <= now().and_utc().timestamp() {
        return None;
    }
    let state = decode(hex_state)?;
    (!signed_in(&state)).then_some(state)
}

/// A signed-in session's row key and state, from its session key `KEY.HEX`.
fn signed_in_parts(text: &str) -> Option<(&str, &str)> {
    let (row_key, hex_state) = text.split_once('.')?;
    (row_key.len() == ROW_KEY_LEN && row_key.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some((row_key, hex_state))
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

type State = HashMap<String, String>;

impl DbSessionStore {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, anyhow::Error> + Send + 'static,
    ) -> Result<T, anyhow::Error> {
        let db = self.db.clone();
        actix_web::web::block(move || {
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| anyhow::anyhow!("blocking pool: {e}"))?
    }

    /// A new row for a session that has just signed in, and its session key.
    async fn insert_row(&self, state: State) -> Result<SessionKey, anyhow::Error> {
        let user_id = user_id_of(&state).ok_or_else(|| anyhow::anyhow!("no user id"))?;
        let row_key = crate::auth::random_token(ROW_KEY_LEN);
        let id = session_id(&row_key);
        let idle = self.policy.idle;
        self.blocking(move |conn| {
            let t = now();
            sessions::insert(conn, &id, user_id, t, t + idle)?;
            Ok(())
        })
        .await?;
        key(format!("{row_key}.{}", encode(&state)?))
    }

    async fn delete_row(&self, row_key: &str) -> Result<(), anyhow::Error> {
        let id = session_id(row_key);
        self.blocking(move |conn| {
            sessions::delete(conn, &id)?;
            Ok(())
        })
        .await
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let text = key.as_ref();
        if let Some(rest) = text.strip_prefix(ANONYMOUS) {
            return Ok(anonymous_state(rest));
        }
        // No database here: `State::run` checks the row with the page's own statements.
        let Some((row_key, hex_state)) = signed_in_parts(text) else {
            return Ok(None);
        };
        let Some(mut state) = decode(hex_state).filter(signed_in) else {
            return Ok(None);
        };
        let id = serde_json::Value::String(session_id(row_key)).to_string();
        state.insert(ROW_ID_KEY.to_string(), id);
        Ok(Some(state))
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        if !signed_in(&state) {
            return anonymous_key(&state, self.policy.idle).map_err(SaveError::Other);
        }
        match self.insert_row(state).await {
            Ok(key) => Ok(key),
            // The response is ready: rather than a bare 500, it goes out with a key that
            // has no row (the next page asks to sign in again); the loss is logged.
            Err(e) => {
                log::warn!("database unavailable: a new session was not saved: {e}");
                SessionKey::try_from(crate::auth::random_token(ROW_KEY_LEN))
                    .map_err(|e| SaveError::Other(e.into()))
            }
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let idle = self.policy.idle;
        let row_key = signed_in_parts(key.as_ref()).map(|(k, _)| k.to_string());
        match (row_key, signed_in(&state)) {
            // Signed in, still: the same row, the new state in the cookie.
            (Some(row_key), true) => encode(&state)
                .and_then(|hex_state| self::key(format!("{row_key}.{hex_state}")))
                .map_err(UpdateError::Other),
            // Signed in without a renewal (`start` renews): a row under a new key.
            (None, true) => self
                .save(state, ttl)
                .await
                .map_err(|e| UpdateError::Other(anyhow::anyhow!("{e}"))),
            // Signed out without a renewal: the row goes, the rest stays as a visitor's.
            (Some(row_key), false) => {
                if let Err(e) = self.delete_row(&row_key).await {
                    log::warn!(
                        "database unavailable: an ended session's row stays until it expires: {e}"
                    );
                }
                anonymous_key(&state, idle).map_err(UpdateError::Other)
            }
            (None, false) => anonymous_key(&state, idle).map_err(UpdateError::Other),
        }
    }

    async fn update_ttl(
        &self,
        _key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        // Never asked for (the cookie's lifetime is extended on changes only); a row's idle
        // expiry moves on when `app::sessions::check` sees it used.
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        match signed_in_parts(key.as_ref()) {
            Some((row_key, _)) => self.delete_row(row_key).await,
            None => Ok(()),
        }
    }
}
