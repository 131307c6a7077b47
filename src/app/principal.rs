//! Who is asking. One authentication step per surface turns a request into a [`Principal`]
//! (the HTML surface from its session cookie; the JSON API from an API key), and the use
//! cases ask it, never the raw session. Its rights are never stored in it: every use case
//! reads the caller's current role from the database, under the locks it takes.

/// A signed-in caller: the user and how they proved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i32,
    /// The user's canonical name (names never change), copied into the audit log.
    pub username: String,
    pub via: Via,
}

/// How a principal authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A session cookie of the HTML surface.
    Session,
    /// A personal API key (its id), on the JSON API.
    ApiKey(i32),
}

impl Principal {
    pub fn session(user_id: i32, username: impl Into<String>) -> Self {
        Principal {
            user_id,
            username: username.into(),
            via: Via::Session,
        }
    }
}
