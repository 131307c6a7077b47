//! Who is asking: the signed-in user from the session, CSRF tokens, and password hashing.

pub mod csrf;
pub mod password;
pub mod session_store;
pub mod throttle;

use std::future::{ready, Ready};

use actix_session::{Session, SessionExt};
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use rand::distr::{Alphanumeric, SampleString};

use crate::errors::AppError;
use session_store::USER_ID_KEY;

/// Session keys that exist only while signed in.
pub const SIGNED_IN_KEYS: &[&str] = &[USER_ID_KEY, USERNAME_KEY];
const USERNAME_KEY: &str = "uname";

/// A random token of `len` ASCII letters and digits, from the OS-seeded CSPRNG.
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// The signed-in user, read from the session (no database round trip: the session row
/// exists only while the user does, and ends at logout or password change).
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub id: i32,
    pub username: String,
}

impl SessionUser {
    pub fn from_session(session: &Session) -> Option<Self> {
        let id = session.get::<i32>(USER_ID_KEY).ok().flatten()?;
        let username = session.get::<String>(USERNAME_KEY).ok().flatten()?;
        Some(SessionUser { id, username })
    }
}

/// Extracting `SessionUser` requires a signed-in user: visitors are sent to the login page
/// and come back afterwards. Use `Option<SessionUser>` where visitors are welcome.
impl FromRequest for SessionUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = SessionUser::from_session(&req.get_session());
        ready(user.ok_or_else(|| {
            let next = if req.method() == actix_web::http::Method::GET {
                req.uri()
                    .path_and_query()
                    .map_or("/".into(), |p| p.as_str().to_string())
            } else {
                "/".into()
            };
            AppError::LoginRequired(next)
        }))
    }
}

/// Starts a signed-in session: a new session id (the old one is deleted) and a new CSRF token.
pub fn start_session(session: &Session, user_id: i32, username: &str) -> Result<(), AppError> {
    session.renew();
    session
        .insert(USER_ID_KEY, user_id)
        .map_err(AppError::internal)?;
    session
        .insert(USERNAME_KEY, username)
        .map_err(AppError::internal)?;
    csrf::rotate(session)?;
    Ok(())
}

/// Ends the session for good: the row is deleted and the cookie removed.
pub fn end_session(session: &Session) {
    session.purge();
}
