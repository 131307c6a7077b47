//! Accounts: the one namespace of names shared by users and organizations, and users.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::{accounts, users};

/// First path segments the application uses; no account may take one.
pub const RESERVED_USERNAMES: &[&str] = &[
    "about",
    "account",
    "admin",
    "api",
    "assets",
    "audit",
    "dashboard",
    "datasets",
    "favicon.ico",
    "healthz",
    "help",
    "login",
    "logout",
    "members",
    "new",
    "organizations",
    "orgs",
    "robots.txt",
    "settings",
    "signup",
    "static",
    "users",
];

/// Words the URL scheme uses under an account; no dataset may be named one.
pub const RESERVED_DATASET_NAMES: &[&str] = &[
    "audit",
    "collaborators",
    "datasets",
    "edit",
    "members",
    "new",
    "settings",
];

/// Checks the characters and length of a username or dataset name (SPEC 1). Returns the
/// message to show beside the field.
pub fn check_name_shape(name: &str) -> Result<(), &'static str> {
    let len = name.len();
    if len == 0 {
        return Err("This field is required.");
    }
    if !(2..=39).contains(&len) {
        return Err("Use 2 to 39 characters.");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("Use only letters a-z, digits, '-' and '_'.");
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err("Start with a letter or a digit.");
    }
    Ok(())
}

/// Checks a new username for a user or an organization (shape and reserved words).
pub fn check_username(name: &str) -> Result<(), &'static str> {
    check_name_shape(name)?;
    if RESERVED_USERNAMES.contains(&name.to_ascii_lowercase().as_str()) {
        return Err("That name is reserved.");
    }
    Ok(())
}

/// The look-up key of a name: names are ASCII, and compare without case.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Bidirectional overrides and isolates: they make text display as something else.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Invisible formatting characters: zero-width characters, bidirectional controls, the BOM.
pub fn is_invisible_format(c: char) -> bool {
    is_bidi_control(c)
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Checks an email address loosely: one `@`, something on both sides, a dot in the domain,
/// nothing invisible.
pub fn check_email(email: &str) -> Result<(), &'static str> {
    let ok = email.len() <= 254
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible_format(c))
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err("Enter an email address such as name@example.com.")
    }
}

pub fn email_key(email: &str) -> String {
    email.to_lowercase()
}

/// What kind of account a name belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountKind {
    User,
    Org,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::User => "user",
            AccountKind::Org => "org",
        }
    }
}

/// An account as shown on pages.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i32,
    pub username: String,
    pub kind: String,
    pub display_name: String,
    pub created_at: NaiveDateTime,
}

impl Account {
    pub fn path(&self) -> String {
        format!("/{}", self.username)
    }

    pub fn is_org(&self) -> bool {
        self.kind == AccountKind::Org.as_str()
    }
}

/// Finds an account by name, ignoring case.
pub fn find_account(conn: &mut DbConn, name: &str) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(accounts::username_key.eq(name_key(name)))
        .select(Account::as_select())
        .first(conn)
        .optional()
}

/// Whether a name is taken by a user or an organization, in any case.
pub fn name_taken(conn: &mut DbConn, name: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        accounts::table.filter(accounts::username_key.eq(name_key(name))),
    ))
    .get_result(conn)
}

/// Inserts the namespace row of a new account and returns its id. The unique index on
/// `username_key` decides races.
pub fn insert_account(
    conn: &mut DbConn,
    username: &str,
    kind: AccountKind,
    display_name: &str,
) -> QueryResult<i32> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::username.eq(username),
            accounts::username_key.eq(name_key(username)),
            accounts::kind.eq(kind.as_str()),
            accounts::display_name.eq(display_name),
            accounts::created_at.eq(Utc::now().naive_utc()),
        ))
        .returning(accounts::id)
        .get_result(conn)
}

/// Why a new user could not be created.
#[derive(Debug)]
pub enum SignupConflict {
    Username,
    Email,
}

/// Creates a user (account row and credentials) inside the caller's transaction.
pub fn create_user(
    conn: &mut DbConn,
    username: &str,
    email: &str,
    password_hash: &str,
) -> Result<Result<i32, SignupConflict>, diesel::result::Error> {
    if name_taken(conn, username)? {
        return Ok(Err(SignupConflict::Username));
    }
    if email_taken(conn, email, None)? {
        return Ok(Err(SignupConflict::Email));
    }
    let id = insert_account(conn, username, AccountKind::User, "")?;
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::email.eq(email),
            users::email_key.eq(email_key(email)),
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(Ok(id))
}

/// Whether another user (not `except`) has this email, in any case.
pub fn email_taken(conn: &mut DbConn, email: &str, except: Option<i32>) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::email_key.eq(email_key(email)))
            .filter(users::id.ne(except.unwrap_or(-1))),
    ))
    .get_result(conn)
}

/// What a login needs: the user's id, name and hash, found by username or email.
pub struct Credentials {
    pub id: i32,
    pub username: String,
    pub password_hash: String,
}

pub fn find_credentials(conn: &mut DbConn, login: &str) -> QueryResult<Option<Credentials>> {
    let query = users::table.inner_join(accounts::table).into_boxed();
    let query = if login.contains('@') {
        query.filter(users::email_key.eq(email_key(login)))
    } else {
        query.filter(accounts::username_key.eq(name_key(login)))
    };
    query
        .select((users::id, accounts::username, users::password_hash))
        .first::<(i32, String, String)>(conn)
        .optional()
        .map(|row| {
            row.map(|(id, username, password_hash)| Credentials {
                id,
                username,
                password_hash,
            })
        })
}

/// The profile a user edits on `/settings`.
#[derive(Clone, Debug)]
pub struct Profile {
    pub username: String,
    pub display_name: String,
    pub email: String,
}

pub fn profile(conn: &mut DbConn, user_id: i32) -> QueryResult<Profile> {
    users::table
        .inner_join(accounts::table)
        .filter(users::id.eq(user_id))
        .select((accounts::username, accounts::display_name, users::email))
        .first::<(String, String, String)>(conn)
        .map(|(username, display_name, email)| Profile {
            username,
            display_name,
            email,
        })
}

pub fn password_hash(conn: &mut DbConn, user_id: i32) -> QueryResult<String> {
    users::table
        .find(user_id)
        .select(users::password_hash)
        .first(conn)
}

/// Saves display name and email; `Ok(false)` when the email belongs to someone else.
pub fn update_profile(
    conn: &mut DbConn,
    user_id: i32,
    display_name: &str,
    email: &str,
) -> QueryResult<bool> {
    if email_taken(conn, email, Some(user_id))? {
        return Ok(false);
    }
    diesel::update(accounts::table.find(user_id))
        .set(accounts::display_name.eq(display_name))
        .execute(conn)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::email.eq(email),
            users::email_key.eq(email_key(email)),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Stores a new password hash and ends every session of the user.
pub fn set_password(conn: &mut DbConn, user_id: i32, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    crate::auth::session_store::end_user_sessions(conn, user_id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(check_username("ab").is_ok());
        assert!(check_username("a").is_err());
        assert!(check_username(&"a".repeat(39)).is_ok());
        assert!(check_username(&"a".repeat(40)).is_err());
        assert!(check_username("-ab").is_err());
        assert!(check_username("_ab").is_err());
        assert!(check_username("a-b_c9").is_ok());
        assert!(check_username("a.b").is_err());
        assert!(check_username("Login").is_err());
        assert!(check_username("SETTINGS").is_err());
        assert!(check_username("ａb").is_err());
    }

    #[test]
    fn emails() {
        assert!(check_email("a@b.co").is_ok());
        assert!(check_email("a@b").is_err());
        assert!(check_email("a b@c.de").is_err());
        assert!(check_email("@c.de").is_err());
    }
}
