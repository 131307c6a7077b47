//! Whether a signed-in session still stands: the rule that ends sessions (idle too long,
//! older than the longest a session may last, ended by a logout or a password change on
//! any instance). The HTML surface asks it in the same database call as a page's own work,
//! so a page makes one hand-off to the database threads and reads its session in the
//! statement that also reads the profile menu (issue 18).

use chrono::{Duration, NaiveDateTime};

use crate::app::{DomainError, Principal};
use crate::db::DbConn;
use crate::models::orgs::Nav;
use crate::models::sessions;

/// Rows are touched at most this often, so a page view rarely writes.
pub const TOUCH_EVERY_SECS: i64 = 60;

/// How long sessions last.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// Unused this long, a session ends.
    pub idle: Duration,
    /// However used, a session ends this long after it began.
    pub max_age: Duration,
}

impl SessionPolicy {
    pub fn new(idle: std::time::Duration, max_age: std::time::Duration) -> Self {
        let secs = |d: std::time::Duration| {
            Duration::seconds(d.as_secs().min(i64::MAX as u64 / 1000) as i64)
        };
        SessionPolicy {
            idle: secs(idle),
            max_age: secs(max_age),
        }
    }
}

/// What a request's session cookie says: which session, and whose. Signed by the server,
/// so it was true when it was issued; [`check`] says whether it still is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The SHA-256 of the cookie's key: the row's id.
    pub session_id: String,
    pub user_id: i32,
    pub username: String,
}

impl Claim {
    /// The caller the claim names, to be trusted only once [`check`] has answered.
    pub fn principal(&self) -> Principal {
        Principal::session(self.user_id, self.username.clone())
    }
}

/// The claimed session's user and their menu when the session still stands; otherwise
/// [`DomainError::SessionEnded`] (an expired row is deleted). A session used again after
/// [`TOUCH_EVERY_SECS`] has its idle expiry moved on; if that write fails (SQLite's write
/// lock is busy, say) the page is still served and the session is touched another time.
pub fn check(
    conn: &mut DbConn,
    claim: &Claim,
    policy: SessionPolicy,
    now: NaiveDateTime,
) -> Result<Nav, DomainError> {
    let Some(row) = sessions::signed_in(conn, &claim.session_id)? else {
        return Err(DomainError::SessionEnded(String::new()));
    };
    if row.user_id != claim.user_id || row.username != claim.username {
        // A cookie signed by this server never says so; refuse it all the same.
        return Err(DomainError::SessionEnded(String::new()));
    }
    if now >= row.expires_at || now >= row.created_at + policy.max_age {
        sessions::delete(conn, &claim.session_id)?;
        return Err(DomainError::SessionEnded(String::new()));
    }
    if (now - row.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
        if let Err(e) = sessions::touch(conn, &claim.session_id, now, now + policy.idle) {
            log::warn!("a session's last use was not written: {e}");
        }
    }
    Ok(row.nav)
}
