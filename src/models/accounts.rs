//! Accounts: the one namespace of names shared by users and organizations, and the users'
//! credentials and profiles.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::domain::kinds::AccountKind;
use crate::domain::names::{email_key, name_key};
use crate::schema::{accounts, users};

/// An account as shown on pages.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i32,
    pub username: String,
    pub kind: AccountKind,
    pub display_name: String,
    pub created_at: NaiveDateTime,
}

impl Account {
    pub fn path(&self) -> String {
        format!("/{}", self.username)
    }

    pub fn is_org(&self) -> bool {
        self.kind == AccountKind::Org
    }
}

/// Locks the account's row until the transaction ends (for rules about what one user holds,
/// such as the number of API keys).
pub fn lock(tx: &mut crate::db::WriteTx<'_>, id: i32) -> QueryResult<()> {
    crate::first_locked!(tx, i32, accounts::table.find(id).select(accounts::id)).map(drop)
}

/// Finds an account by name, ignoring case.
pub fn find_account(conn: &mut DbConn, name: &str) -> QueryResult<Option<Account>> {
    if !crate::models::plausible_name(name) {
        return Ok(None);
    }
    accounts::table
        .filter(accounts::username_key.eq(name_key(name)))
        .select(Account::as_select())
        .first(conn)
        .optional()
}

/// The accounts whose names are reserved words (possible only for accounts made before a
/// word was reserved).
pub fn holding_reserved_names(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let reserved: Vec<&str> = crate::domain::names::RESERVED_USERNAMES.to_vec();
    accounts::table
        .filter(accounts::username_key.eq_any(reserved))
        .select(accounts::username)
        .load(conn)
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
            accounts::kind.eq(kind),
            accounts::display_name.eq(display_name),
            accounts::created_at.eq(Utc::now().naive_utc()),
        ))
        .returning(accounts::id)
        .get_result(conn)
}

/// Inserts the credentials of the user whose account row is `id`. The unique index on
/// `email_key` decides races.
pub fn insert_user(
    conn: &mut DbConn,
    id: i32,
    email: &str,
    password_hash: &str,
) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::email.eq(email),
            users::email_key.eq(email_key(email)),
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
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
    pub email_verified: bool,
}

pub fn profile(conn: &mut DbConn, user_id: i32) -> QueryResult<Profile> {
    users::table
        .inner_join(accounts::table)
        .filter(users::id.eq(user_id))
        .select((
            accounts::username,
            accounts::display_name,
            users::email,
            users::email_verified_at,
        ))
        .first::<(String, String, String, Option<NaiveDateTime>)>(conn)
        .map(|(username, display_name, email, verified)| Profile {
            username,
            display_name,
            email,
            email_verified: verified.is_some(),
        })
}

/// A user's name and address, and whether the address is verified.
#[derive(Clone, Debug)]
pub struct Mailbox {
    pub id: i32,
    pub username: String,
    pub email: String,
    pub verified: bool,
}

type MailboxRow = (i32, String, String, Option<NaiveDateTime>);

fn mailbox((id, username, email, verified): MailboxRow) -> Mailbox {
    Mailbox {
        id,
        username,
        email,
        verified: verified.is_some(),
    }
}

pub fn mailbox_of(conn: &mut DbConn, user_id: i32) -> QueryResult<Option<Mailbox>> {
    users::table
        .inner_join(accounts::table)
        .filter(users::id.eq(user_id))
        .select((
            users::id,
            accounts::username,
            users::email,
            users::email_verified_at,
        ))
        .first::<MailboxRow>(conn)
        .optional()
        .map(|r| r.map(mailbox))
}

/// The user whose address is `email` (in any case), if any.
pub fn mailbox_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Mailbox>> {
    users::table
        .inner_join(accounts::table)
        .filter(users::email_key.eq(email_key(email)))
        .select((
            users::id,
            accounts::username,
            users::email,
            users::email_verified_at,
        ))
        .first::<MailboxRow>(conn)
        .optional()
        .map(|r| r.map(mailbox))
}

/// Marks the user's address verified, if it is still `email`; `false` when it changed.
pub fn set_email_verified(
    conn: &mut DbConn,
    user_id: i32,
    email: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        users::table
            .find(user_id)
            .filter(users::email_key.eq(email_key(email))),
    )
    .set(users::email_verified_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn password_hash(conn: &mut DbConn, user_id: i32) -> QueryResult<String> {
    users::table
        .find(user_id)
        .select(users::password_hash)
        .first(conn)
}

/// Saves display name and email.
pub fn update_profile(
    conn: &mut DbConn,
    user_id: i32,
    display_name: &str,
    email: &str,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(user_id))
        .set(accounts::display_name.eq(display_name))
        .execute(conn)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::email.eq(email),
            users::email_key.eq(email_key(email)),
        ))
        .execute(conn)
        .map(drop)
}

/// A new address is not verified yet.
pub fn set_email_unverified(conn: &mut DbConn, user_id: i32) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::email_verified_at.eq(None::<NaiveDateTime>))
        .execute(conn)
        .map(drop)
}

/// Stores a new password hash.
pub fn set_password(conn: &mut DbConn, user_id: i32, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// The accounts named `names` (any case; names that cannot be one are skipped), one
/// statement whatever their number (at most the bulk add's 1,000).
pub fn find_accounts(conn: &mut DbConn, names: &[String]) -> QueryResult<Vec<Account>> {
    let keys: Vec<String> = names
        .iter()
        .filter(|n| crate::models::plausible_name(n))
        .map(|n| name_key(n))
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    accounts::table
        .filter(accounts::username_key.eq_any(keys))
        .select(Account::as_select())
        .load(conn)
}
