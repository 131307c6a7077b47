//! Sessions of the HTML surface: actix-session's `SessionStore` over the `sessions` table,
//! and the step that turns a request's session into a [`Principal`].
//!
//! Only signed-in sessions have a row. The cookie holds only a random key; the row is found
//! by the key's SHA-256, so a copy of the table cannot be replayed. Deleting the row ends the
//! session everywhere at once: logout, a password change and expiry all do that.
//!
//! A visitor's session (the CSRF token of the login and signup forms, a message) has no row:
//! its state travels in the cookie itself, which actix-session signs with
//! `COLABEL_SESSION_KEY`, with an expiry. So the forms carry their token as a signed
//! double-submit cookie, any instance can check it, and visitors, however many, store
//! nothing (issue 13).

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest};
use chrono::{NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use crate::app::Principal;
use crate::db::{Db, DbConn};
use crate::html::error::HtmlError;
use crate::models::sessions;

/// The session state keys holding the signed-in user's id and name.
pub const USER_ID_KEY: &str = "uid";
const USERNAME_KEY: &str = "uname";

/// Session keys that exist only while signed in.
pub const SIGNED_IN_KEYS: &[&str] = &[USER_ID_KEY, USERNAME_KEY];

/// Set (in memory only) when the store could not load the session: the request is answered
/// 503 by [`unavailable`] instead of running as a visitor. actix-session would turn a load
/// error into a bare 500 outside every other middleware: no page, no headers, no log line.
const UNAVAILABLE_KEY: &str = "_unavailable";

/// Rows are touched at most this often, so a page view rarely writes.
const TOUCH_EVERY_SECS: i64 = 60;

/// The start of a visitor's session key: `anon.EXPIRES.HEX` (Unix seconds; the state as
/// hex-encoded JSON). Row keys are letters and digits only, so they never start like this.
const ANONYMOUS: &str = "anon.";

/// The signed-in user of a session, if any (no database round trip: the session row exists
/// only while the user does, and ends at logout or password change).
pub fn principal(session: &Session) -> Option<Principal> {
    let id = session.get::<i32>(USER_ID_KEY).ok().flatten()?;
    let username = session.get::<String>(USERNAME_KEY).ok().flatten()?;
    Some(Principal::session(id, username))
}

/// Extracting a `Principal` requires a signed-in session: visitors are sent to the login
/// page and come back afterwards. Use `Option<Principal>` where visitors are welcome.
impl FromRequest for Principal {
    type Error = HtmlError;
    type Future = Ready<Result<Self, HtmlError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = principal(&req.get_session());
        ready(user.ok_or_else(|| {
            let next = if req.method() == actix_web::http::Method::GET {
                req.uri()
                    .path_and_query()
                    .map_or("/".into(), |p| p.as_str().to_string())
            } else {
                "/".into()
            };
            HtmlError::LoginRequired(next)
        }))
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

/// Answers 503 (the error page, logged) when the session could not be loaded because the
/// database is out of reach; runs inside the session middleware, before any handler.
pub async fn unavailable<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let cause = req
        .get_session()
        .get::<String>(UNAVAILABLE_KEY)
        .ok()
        .flatten();
    match cause {
        Some(cause) => Ok(req
            .error_response(HtmlError::Unavailable(format!("sessions: {cause}")))
            .map_into_right_body()),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
    }
}

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

fn signed_in(state: &State) -> bool {
    SIGNED_IN_KEYS.iter().any(|k| state.contains_key(*k))
}

/// A visitor's session key, holding `state` until `idle` from now.
fn anonymous_key(state: &State, idle: Duration) -> Result<SessionKey, anyhow::Error> {
    let expires = now().and_utc().timestamp() + secs(idle).num_seconds();
    let json = serde_json::to_string(state)?;
    SessionKey::try_from(format!("{ANONYMOUS}{expires}.{}", hex::encode(json)))
        .map_err(|e| anyhow::anyhow!("session key: {e}"))
}

/// The state of a visitor's session key; `None` when it has expired or does not parse. (The
/// cookie's signature was checked before: the key is one this application made.)
fn anonymous_state(rest: &str) -> Option<State> {
    let (expires, hex_state) = rest.split_once('.')?;
    if expires.parse::<i64>().ok()? <= now().and_utc().timestamp() {
        return None;
    }
    let state: State = serde_json::from_slice(&hex::decode(hex_state).ok()?).ok()?;
    (!signed_in(&state)).then_some(state)
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

    fn insert_row(
        conn: &mut DbConn,
        state: &State,
        idle: Duration,
    ) -> Result<SessionKey, anyhow::Error> {
        let key = crate::auth::random_token(64);
        let t = now();
        let json = serde_json::to_string(state)?;
        sessions::insert(
            conn,
            &session_id(&key),
            user_id_of(state),
            &json,
            t,
            t + secs(idle),
        )?;
        SessionKey::try_from(key).map_err(|e| anyhow::anyhow!("session key: {e}"))
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        if let Some(rest) = key.as_ref().strip_prefix(ANONYMOUS) {
            return Ok(anonymous_state(rest));
        }
        let id = session_id(key.as_ref());
        let (idle, max_age) = (self.idle, self.max_age);
        self.blocking(move |conn| {
            let Some(row) = sessions::find(conn, &id)? else {
                return Ok(None);
            };
            let t = now();
            if t >= row.expires_at || t >= row.created_at + secs(max_age) {
                sessions::delete(conn, &id)?;
                return Ok(None);
            }
            if (t - row.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
                sessions::touch(conn, &id, t, t + secs(idle))?;
            }
            Ok(Some(serde_json::from_str::<State>(&row.state)?))
        })
        .await
        .or_else(|e| {
            // Not an error for actix-session (it would answer a bare 500): a state that
            // `unavailable` answers with the 503 page. It is never saved: nothing changes it.
            let cause = serde_json::Value::String(e.to_string()).to_string();
            Ok(Some(State::from([(UNAVAILABLE_KEY.to_string(), cause)])))
        })
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        let idle = self.idle;
        if !signed_in(&state) {
            return anonymous_key(&state, idle).map_err(SaveError::Other);
        }
        match self
            .blocking(move |conn| Self::insert_row(conn, &state, idle))
            .await
        {
            Ok(key) => Ok(key),
            // The response is ready: rather than a bare 500, it goes out with a key that
            // has no row (the session starts again on the next request); the loss is logged.
            Err(e) => {
                log::warn!("database unavailable: a new session was not saved: {e}");
                SessionKey::try_from(crate::auth::random_token(64))
                    .map_err(|e| SaveError::Other(e.into()))
            }
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let idle = self.idle;
        if key.as_ref().starts_with(ANONYMOUS) {
            if !signed_in(&state) {
                return anonymous_key(&state, idle).map_err(UpdateError::Other);
            }
            // Signed in without a renewal (`start` renews): a row under a new key.
            return self
                .save(state, _ttl)
                .await
                .map_err(|e| UpdateError::Other(anyhow::anyhow!("{e}")));
        }
        let id = session_id(key.as_ref());
        let fallback = SessionKey::try_from(key.as_ref().to_string())
            .map_err(|e| UpdateError::Other(e.into()))?;
        self.blocking(move |conn| {
            let t = now();
            let json = serde_json::to_string(&state)?;
            if sessions::update_state(conn, &id, user_id_of(&state), &json, t, t + secs(idle))? {
                return Ok(key);
            }
            // The row was deleted meanwhile (logout elsewhere, password change, expiry):
            // never bring a signed-in state back; keep only the anonymous part, as a
            // visitor's session (no row).
            let mut anonymous = state;
            anonymous.retain(|k, _| !SIGNED_IN_KEYS.contains(&k.as_str()));
            anonymous_key(&anonymous, idle)
        })
        .await
        .or_else(|e| {
            // As in `save`: the change of state (a message, a token) is lost, and logged.
            log::warn!("database unavailable: a session change was not saved: {e}");
            Ok(fallback)
        })
    }

    async fn update_ttl(
        &self,
        key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        if key.as_ref().starts_with(ANONYMOUS) {
            return Ok(());
        }
        let id = session_id(key.as_ref());
        let idle = self.idle;
        self.blocking(move |conn| {
            let t = now();
            sessions::touch(conn, &id, t, t + secs(idle))?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        if key.as_ref().starts_with(ANONYMOUS) {
            return Ok(());
        }
        let id = session_id(key.as_ref());
        self.blocking(move |conn| {
            sessions::delete(conn, &id)?;
            Ok(())
        })
        .await
    }
}
