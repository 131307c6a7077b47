//! Security primitives below the application layer: random tokens, password hashing on
//! threads of their own, and the login throttle's counters.

pub mod password;
pub mod throttle;

use rand::distr::{Alphanumeric, SampleString};

/// A random token of `len` ASCII letters and digits, from the OS-seeded CSPRNG.
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A new one-time token for a link sent by email: 43 letters and digits (256 random bits)
/// and the SHA-256 that is stored in its place.
pub fn new_link_token() -> (String, String) {
    let raw = random_token(43);
    let hash = hash_link_token(&raw);
    (raw, hash)
}

/// The stored form of a link token (hex SHA-256): a copy of the table opens no link.
pub fn hash_link_token(raw: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(raw.as_bytes()))
}
