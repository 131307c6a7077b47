//! `/settings`: the user's profile and password.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::app::accounts::{self as uc, ChangePassword, UpdateProfile};
use crate::app::email::resend_verification as resend_link;
use crate::app::{Conflict, DomainError, FieldErrors, Principal};
use crate::client::ClientInfo;
use crate::db::write_tx;
use crate::html::error::HtmlError;
use crate::html::layout::{
    flash_error, flash_success, form_errors, local_path, ok, redirect, render, Layout,
};
use crate::html::{session, State};

#[derive(Template)]
#[template(path = "settings/profile.html")]
struct ProfilePage {
    ctx: Layout,
    tab: &'static str,
    username: String,
    display_name: String,
    email: String,
    email_verified: bool,
    errors: FieldErrors,
}

pub async fn profile_form(
    state: State,
    session: Session,
    user: Principal,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let profile = state.run(move |c| uc::profile(c, &p)).await?;
    let nav = state.nav();
    ok(&ProfilePage {
        ctx: Layout::new(&session, Some(&user), nav, "Settings"),
        tab: "profile",
        username: profile.username,
        display_name: profile.display_name,
        email: profile.email,
        email_verified: profile.email_verified,
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct SettingsForm {
    action: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    /// The checkbox "Also revoke all my API keys".
    #[serde(default)]
    revoke_keys: Option<String>,
}

pub async fn update(
    state: State,
    session: Session,
    user: Principal,
    client: ClientInfo,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, HtmlError> {
    let form = form.into_inner();
    let p = user.clone();
    let refused = match form.action.as_str() {
        "profile" => {
            let cmd = UpdateProfile {
                display_name: form.display_name.clone(),
                email: form.email.clone(),
            };
            let m = state.mailing();
            match state
                .run(move |c| write_tx(c, |tx| uc::update_profile(tx, &p, &m, cmd)))
                .await
            {
                Ok(changed) => {
                    flash_success(
                        &session,
                        if changed {
                            "Your profile was saved. We sent a link to your new email address to verify it, and told the old one."
                        } else {
                            "Your profile was saved."
                        },
                    );
                    return Ok(redirect("/settings"));
                }
                Err(e) => e,
            }
        }
        "password" => {
            let revoke = form.revoke_keys.is_some();
            let cmd = ChangePassword {
                current: form.current_password,
                new: form.new_password,
                revoke_keys: form.revoke_keys.is_some(),
                client: client.ip,
            };
            match uc::change_password(state.app().await?, &p, cmd).await {
                Ok(()) => {
                    // Every session of the user is gone, this one included; a new session
                    // (new id, new CSRF token) keeps this browser signed in.
                    session::start(&session, &user)?;
                    flash_success(
                        &session,
                        if revoke {
                            "Your password was changed. Other sessions were signed out and your API keys revoked."
                        } else {
                            "Your password was changed. Other sessions were signed out."
                        },
                    );
                    return Ok(redirect("/settings"));
                }
                Err(e) => e,
            }
        }
        _ => return Err(HtmlError::bad_request("Unknown settings action.")),
    };
    let status = match refused {
        DomainError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let errors = form_errors(refused, |e| match e {
        DomainError::Conflict(Conflict::EmailTaken) => {
            Some(("email", "Another account uses this email.".into()))
        }
        DomainError::Throttled { minutes } => Some((
            "current_password",
            format!(
                "Too many wrong passwords. Try again in {minutes} minute{}.",
                if *minutes == 1 { "" } else { "s" }
            ),
        )),
        _ => None,
    })?;
    let p = user.clone();
    let profile = state.run(move |c| uc::profile(c, &p)).await?;
    let nav = state.nav();
    let (display_name, email) = if form.action == "password" {
        (profile.display_name, profile.email)
    } else {
        (
            form.display_name.trim().to_string(),
            form.email.trim().to_string(),
        )
    };
    render(
        status,
        &ProfilePage {
            ctx: Layout::new(&session, Some(&user), nav, "Settings"),
            tab: "profile",
            username: profile.username,
            display_name,
            email,
            email_verified: profile.email_verified,
            errors,
        },
    )
}

/// `POST /settings/email/verify`: sends the verification link again (the banner's button).
pub async fn resend_verification(
    state: State,
    session: Session,
    user: Principal,
    headers: actix_web::HttpRequest,
) -> Result<HttpResponse, HtmlError> {
    let (p, m) = (user.clone(), state.mailing());
    match state
        .run(move |c| write_tx(c, |tx| resend_link(tx, &p, &m)))
        .await
    {
        Ok(email) => flash_success(
            &session,
            format!("We sent a new link to {email}. It works for 24 hours."),
        ),
        Err(e @ DomainError::TooManyEmails { .. }) => flash_error(&session, e.message()),
        Err(e) => return Err(e.into()),
    }
    // Back to the page the banner was on (a local path), else the profile.
    let back = headers
        .headers()
        .get("referer")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()));
    Ok(redirect(&local_path(back.as_deref())))
}
