//! Security primitives below the application layer: random tokens, password hashing on
//! threads of their own, and the login throttle's counters.

pub mod password;
pub mod throttle;

use rand::distr::{Alphanumeric, SampleString};

/// A random token of `len` ASCII letters and digits, from the OS-seeded CSPRNG.
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}
