//! Password hashing with bcrypt, off the async workers and capped in concurrency so that a
//! burst of logins cannot take every core away from the pages.

use std::sync::Arc;

use actix_web::web;
use tokio::sync::Semaphore;

use crate::errors::AppError;

/// Shortest and longest accepted password, in bytes (bcrypt reads at most 72).
pub const MIN_PASSWORD_BYTES: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Checks a new password's length; returns the message to show beside the field.
pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    if password.len() < MIN_PASSWORD_BYTES {
        Err("Use at least 8 characters.")
    } else if password.len() > MAX_PASSWORD_BYTES {
        Err("Use at most 72 bytes (bcrypt cannot use more; it is never cut silently).")
    } else {
        Ok(())
    }
}

#[derive(Clone)]
pub struct Hasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// A hash of a random password at the same cost: verifying against it makes a login for
    /// an unknown account take as long as one with a wrong password.
    dummy: Arc<String>,
}

impl Hasher {
    pub fn new(cost: u32, concurrency: usize) -> Result<Self, bcrypt::BcryptError> {
        let secret: String = crate::auth::random_token(24);
        let dummy = bcrypt::hash(secret, cost)?;
        Ok(Hasher {
            cost,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let cost = self.cost;
        web::block(move || bcrypt::hash(password, cost))
            .await?
            .map_err(AppError::internal)
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there is no account.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        // bcrypt reads 72 bytes; a longer password was never accepted, so it never matches
        // (checking it would silently compare only its first 72 bytes).
        let found = hash.is_some() && password.len() <= MAX_PASSWORD_BYTES;
        let hash = hash.unwrap_or_else(|| self.dummy.as_str().to_owned());
        let ok = web::block(move || bcrypt::verify(password, &hash).unwrap_or(false)).await?;
        Ok(found && ok)
    }
}
