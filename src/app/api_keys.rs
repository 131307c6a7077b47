//! Personal API keys: create (the key is shown once), list, revoke, and the authentication
//! step of the JSON API, which turns a key into a [`Principal`] acting with its user's
//! current rights.
//!
//! A key is `clb_` followed by 43 random letters and digits (256 bits from the OS-seeded
//! CSPRNG); only its SHA-256 is stored, so checking one is a single indexed lookup, never a
//! bcrypt. Revoking deletes the row: the next request with the key fails, on every instance.

use std::net::IpAddr;

use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};

use crate::app::error::{DomainError, FieldErrors};
use crate::app::principal::{Principal, Via};
use crate::db::{write_tx, DbConn, WriteTx};
use crate::domain::audit::Action;
use crate::domain::names::clean_text;
use crate::models::api_keys::{self, ApiKeyRow};
use crate::models::audit::{self, AuditRow, Event};

type Result<T> = std::result::Result<T, DomainError>;

/// What every key starts with, so that a leaked one is recognizable (secret scanners).
pub const KEY_PREFIX: &str = "clb_";
const KEY_RANDOM_CHARS: usize = 43;
/// The characters of a key shown in the list.
const SHOWN_CHARS: usize = 8;
/// A user may hold this many keys.
pub const MAX_KEYS: i64 = 50;
const MAX_NAME_CHARS: usize = 100;
/// The last use is written at most this often per key.
const LAST_USED_EVERY_MINUTES: i64 = 60;

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn record(conn: &mut DbConn, p: &Principal, action: Action, key_name: &str) -> Result<()> {
    Ok(audit::record(
        conn,
        Event {
            account_id: p.user_id,
            actor_id: Some(p.user_id),
            actor_name: &p.username,
            action,
            subject: Some(key_name),
            details: String::new(),
            hook: Default::default(),
        },
    )?)
}

/// "Create API key".
pub struct CreateKey {
    pub name: String,
}

/// A key just made: the only moment its text exists outside the client.
pub struct NewKey {
    pub id: i32,
    pub name: String,
    pub key: String,
}

pub fn create(tx: &mut WriteTx<'_>, p: &Principal, cmd: CreateKey) -> Result<NewKey> {
    let mut errors = FieldErrors::default();
    let name = match clean_text(&cmd.name, MAX_NAME_CHARS) {
        Ok(n) if n.is_empty() => {
            errors.add(
                "name",
                "Give the key a name, such as the script that will use it.",
            );
            n
        }
        Ok(n) => n,
        Err(m) => {
            errors.add("name", m);
            String::new()
        }
    };
    errors.into_result(())?;
    // The user's own lock: two simultaneous creations cannot both pass the limit.
    crate::models::accounts::lock(tx, p.user_id)?;
    if api_keys::count(tx, p.user_id)? >= MAX_KEYS {
        let mut errors = FieldErrors::default();
        errors.add(
            "name",
            format!("You have {MAX_KEYS} keys, the most one account may hold. Revoke one you no longer use first."),
        );
        return Err(DomainError::Invalid(errors));
    }
    let key = format!(
        "{KEY_PREFIX}{}",
        crate::auth::random_token(KEY_RANDOM_CHARS)
    );
    let shown: String = key.chars().take(SHOWN_CHARS).collect();
    let id = api_keys::insert(
        tx,
        p.user_id,
        &name,
        &hash(&key),
        &shown,
        Utc::now().naive_utc(),
    )?;
    record(tx, p, Action::ApiKeyCreated, &name)?;
    Ok(NewKey { id, name, key })
}

/// "Revoke" one of the caller's keys; its name.
pub fn revoke(tx: &mut WriteTx<'_>, p: &Principal, key_id: i32) -> Result<String> {
    let name = api_keys::delete(tx, p.user_id, key_id)?.ok_or(DomainError::NotFound)?;
    record(tx, p, Action::ApiKeyRevoked, &name)?;
    Ok(name)
}

/// Revokes every key of the caller (offered with a password change), recorded as one
/// event naming them; how many.
pub fn revoke_all(tx: &mut WriteTx<'_>, p: &Principal) -> Result<usize> {
    let names = api_keys::delete_all(tx, p.user_id)?;
    if !names.is_empty() {
        let all = format!("all {} of them: {}", names.len(), names.join(", "));
        record(tx, p, Action::ApiKeyRevoked, &all)?;
    }
    Ok(names.len())
}

/// The caller's keys and the recent history of their keys (created, first used, revoked).
pub fn list(conn: &mut DbConn, p: &Principal) -> Result<(Vec<ApiKeyRow>, Vec<AuditRow>)> {
    let keys = api_keys::list(conn, p.user_id)?;
    let actions = vec![
        Action::ApiKeyCreated,
        Action::ApiKeyFirstUsed,
        Action::ApiKeyRevoked,
    ];
    let history = audit::recent_of(conn, p.user_id, actions, 20)?;
    Ok((keys, history))
}

/// Whether `key` has the shape of a Colabel key (checked before any database work).
fn well_formed(key: &str) -> bool {
    key.len() == KEY_PREFIX.len() + KEY_RANDOM_CHARS
        && key.starts_with(KEY_PREFIX)
        && key[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

/// The principal a key stands for, or "bad credentials" for a key that is malformed,
/// unknown or revoked. One indexed read; a write only the first time a key is used (with an
/// audit event) and at most once an hour after that. A key that fails is counted against the
/// client's address by the one throttle of every secret (`app::attempts`): past its limit the
/// answer is "throttled", so an address cannot try keys without end (a valid key still works).
pub fn authenticate(conn: &mut DbConn, key: &str, client: IpAddr) -> Result<Principal> {
    let hashed = hash(key);
    let found = if well_formed(key) {
        api_keys::find_by_hash(conn, &hashed)?
    } else {
        None
    };
    let Some(owner) = found else {
        let target = crate::app::attempts::Target::Token {
            kind: "api_key",
            id: &hashed,
        };
        // Counted, never given back: a wrong key stays a failure for its window.
        let _failed = crate::app::attempts::begin(conn, target, client)?;
        return Err(DomainError::BadCredentials);
    };
    let p = Principal {
        user_id: owner.user_id,
        username: owner.username,
        via: Via::ApiKey(owner.key_id),
    };
    let now = Utc::now().naive_utc();
    // Bookkeeping, not a condition of the request: if the write fails (SQLite's lock is busy,
    // say), the request goes on and the use is written another time.
    let noted = match owner.last_used_at {
        None => write_tx(conn, |tx| {
            if api_keys::mark_used(tx, owner.key_id, now, now, true)? {
                record(tx, &p, Action::ApiKeyFirstUsed, &owner.key_name)?;
            }
            Ok::<_, DomainError>(())
        }),
        Some(last) if now - last >= Duration::minutes(LAST_USED_EVERY_MINUTES) => {
            let stale_before = now - Duration::minutes(LAST_USED_EVERY_MINUTES);
            api_keys::mark_used(conn, owner.key_id, now, stale_before, false)
                .map(drop)
                .map_err(DomainError::from)
        }
        Some(_) => Ok(()),
    };
    if let Err(e) = noted {
        log::warn!("the last use of an API key was not written: {e}");
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_recognizable_and_long() {
        let key = format!(
            "{KEY_PREFIX}{}",
            crate::auth::random_token(KEY_RANDOM_CHARS)
        );
        assert!(well_formed(&key));
        assert!(key.len() >= 32);
        // 43 characters of 62: log2(62) * 43 > 256 bits.
        assert!((62f64).log2() * KEY_RANDOM_CHARS as f64 >= 256.0);
        assert!(!well_formed("clb_short"));
        assert!(!well_formed(&key.replace(KEY_PREFIX, "xyz_")));
        assert!(!well_formed(&format!("{}!", &key[..key.len() - 1])));
    }
}
