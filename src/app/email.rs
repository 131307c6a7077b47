//! Email addresses and passwords by email: verification of an address (at sign-up and after
//! a change; a link valid 24 hours), and password reset ("Forgot password?": the same answer
//! whether or not the address exists; a link valid one hour, used once; the new password
//! ends every session and every other reset link). Both are throttled per address or
//! account by a small counter of their own.

use chrono::{Duration, NaiveDateTime, Utc};

use crate::app::error::{DomainError, FieldErrors};
use crate::app::principal::Principal;
use crate::app::{App, Mailing};
use crate::auth::{hash_link_token, new_link_token};
use crate::db::{write_tx, DbConn, WriteTx};
use crate::domain::names::{check_email, check_new_password, email_key};
use crate::domain::status::TokenPurpose;
use crate::mail;
use crate::models::{accounts, email_tokens, mail_limits, sessions};

type Result<T> = std::result::Result<T, DomainError>;

pub const VERIFY_HOURS: i64 = 24;
pub const RESET_MINUTES: i64 = 60;
/// Emails of one kind per address or account in [`LIMIT_WINDOW_MINUTES`].
pub const EMAILS_PER_WINDOW: i32 = 5;
pub const LIMIT_WINDOW_MINUTES: i64 = 60;

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Counts one email against `key`; `Err(minutes left)` past the limit.
fn throttle(conn: &mut DbConn, key: &str) -> Result<std::result::Result<(), i64>> {
    let t = now();
    let window = Duration::minutes(LIMIT_WINDOW_MINUTES);
    let (hits, started) = mail_limits::hit(conn, key, t, t - window)?;
    if hits > EMAILS_PER_WINDOW {
        let left = (started + window - t).num_seconds().max(1);
        return Ok(Err((left + 59) / 60));
    }
    Ok(Ok(()))
}

/// Sends a verification link for the user's current address (ending earlier ones), in the
/// caller's transaction. Used at sign-up, after a change and on request.
pub fn queue_verification(
    tx: &mut WriteTx<'_>,
    m: &Mailing,
    user_id: i32,
    username: &str,
    email: &str,
) -> Result<()> {
    let t = now();
    email_tokens::end_all(tx, user_id, TokenPurpose::VerifyEmail, t)?;
    let (raw, hash) = new_link_token();
    let ends = t + Duration::hours(VERIFY_HOURS);
    email_tokens::insert(
        tx,
        user_id,
        TokenPurpose::VerifyEmail,
        email,
        &hash,
        t,
        ends,
    )?;
    let message = mail::VerifyEmail {
        username: username.to_string(),
        email: email.to_string(),
        link: m.link("/email/verify", &raw),
        hours: VERIFY_HOURS,
    }
    .message()?;
    m.queue(tx, message, t)?;
    Ok(())
}

/// "Send the link again" from the banner. Returns the address it went to; nothing is sent
/// when the address is verified already.
pub fn resend_verification(tx: &mut WriteTx<'_>, p: &Principal, m: &Mailing) -> Result<String> {
    let me = accounts::mailbox_of(tx, p.user_id)?.ok_or(DomainError::NotFound)?;
    if me.verified {
        return Ok(me.email);
    }
    if let Err(minutes) = throttle(tx, &format!("verify:user:{}", p.user_id))? {
        return Err(DomainError::TooManyEmails { minutes });
    }
    queue_verification(tx, m, me.id, &me.username, &me.email)?;
    Ok(me.email)
}

/// An address that was verified, and by whom.
#[derive(Clone, Debug)]
pub struct Verified {
    pub user_id: i32,
    pub username: String,
    pub email: String,
}

/// Follows a verification link: the address is verified if it is still the account's.
pub fn verify(tx: &mut WriteTx<'_>, token: &str) -> Result<Verified> {
    let t = now();
    let hash = hash_link_token(token.trim());
    let link = email_tokens::find_live(tx, TokenPurpose::VerifyEmail, &hash, t)?
        .ok_or(DomainError::LinkInvalid)?;
    if !email_tokens::use_up(tx, link.id, t)? {
        return Err(DomainError::LinkInvalid);
    }
    // A link to an address the account no longer has verifies nothing.
    if !accounts::set_email_verified(tx, link.user_id, &link.email, t)? {
        return Err(DomainError::LinkInvalid);
    }
    let me = accounts::mailbox_of(tx, link.user_id)?.ok_or(DomainError::LinkInvalid)?;
    Ok(Verified {
        user_id: me.id,
        username: me.username,
        email: me.email,
    })
}

/// Whether a verification link is usable (for the page that shows its button).
pub fn verification_preview(conn: &mut DbConn, token: &str) -> Result<String> {
    let hash = hash_link_token(token.trim());
    let link = email_tokens::find_live(conn, TokenPurpose::VerifyEmail, &hash, now())?
        .ok_or(DomainError::LinkInvalid)?;
    Ok(link.email)
}

/// "Forgot password?": queues a reset link when an account has this address, and answers
/// the same either way (also past the limit, when nothing is sent), so the form tells no one
/// which addresses have accounts.
pub fn request_reset(tx: &mut WriteTx<'_>, m: &Mailing, email: &str) -> Result<()> {
    let email = email.trim();
    let mut errors = FieldErrors::default();
    errors.check("email", check_email(email));
    errors.into_result(())?;
    let key = format!("reset:{}", hash_link_token(&email_key(email)));
    if throttle(tx, &key)?.is_err() {
        log::info!("password reset: too many requests for one address; none sent");
        return Ok(());
    }
    let Some(user) = accounts::mailbox_by_email(tx, email)? else {
        return Ok(());
    };
    let t = now();
    let (raw, hash) = new_link_token();
    let ends = t + Duration::minutes(RESET_MINUTES);
    email_tokens::insert(
        tx,
        user.id,
        TokenPurpose::ResetPassword,
        &user.email,
        &hash,
        t,
        ends,
    )?;
    let message = mail::PasswordReset {
        username: user.username.clone(),
        link: m.link("/password/reset", &raw),
        minutes: RESET_MINUTES,
    }
    .to(&user.email)?;
    m.queue(tx, message, t)?;
    Ok(())
}

/// The account a reset link is for (for the page with the new-password form).
pub fn reset_preview(conn: &mut DbConn, token: &str) -> Result<String> {
    let hash = hash_link_token(token.trim());
    let link = email_tokens::find_live(conn, TokenPurpose::ResetPassword, &hash, now())?
        .ok_or(DomainError::LinkInvalid)?;
    Ok(accounts::mailbox_of(conn, link.user_id)?
        .ok_or(DomainError::LinkInvalid)?
        .username)
}

/// "Set a new password" from a reset link.
pub struct ResetPassword {
    pub token: String,
    pub password: String,
}

/// Sets the new password from a reset link: the link is used up, every other reset link of
/// the account ends, and so does every session. The link proves that its reader gets the
/// account's mail, so the address counts as verified too. Returns the username.
pub async fn reset_password(app: &App, cmd: ResetPassword) -> Result<String> {
    let hash = hash_link_token(cmd.token.trim());
    let h = hash.clone();
    app.run(move |c| {
        email_tokens::find_live(c, TokenPurpose::ResetPassword, &h, now())?
            .ok_or(DomainError::LinkInvalid)
    })
    .await?;
    let mut errors = FieldErrors::default();
    errors.check("password", check_new_password(&cmd.password));
    errors.into_result(())?;
    let password_hash = app.hasher.hash(cmd.password).await?;
    app.run(move |c| {
        write_tx(c, |tx| {
            let t = now();
            let link = email_tokens::find_live(tx, TokenPurpose::ResetPassword, &hash, t)?
                .ok_or(DomainError::LinkInvalid)?;
            if !email_tokens::use_up(tx, link.id, t)? {
                return Err(DomainError::LinkInvalid);
            }
            accounts::set_password(tx, link.user_id, &password_hash)?;
            email_tokens::end_all(tx, link.user_id, TokenPurpose::ResetPassword, t)?;
            sessions::end_user_sessions(tx, link.user_id)?;
            accounts::set_email_verified(tx, link.user_id, &link.email, t)?;
            Ok(accounts::mailbox_of(tx, link.user_id)?
                .ok_or(DomainError::LinkInvalid)?
                .username)
        })
    })
    .await
}
