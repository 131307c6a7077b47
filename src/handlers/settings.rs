//! `/settings`: the user's profile and password.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::password::check_new_password;
use crate::auth::SessionUser;
use crate::db::write_tx;
use crate::errors::AppError;
use crate::models::{accounts, orgs};
use crate::web::{
    flash_success, invalid, ok, redirect, run_db, text_field, FieldErrors, Layout, State,
};

#[derive(Template)]
#[template(path = "settings/profile.html")]
struct ProfilePage {
    ctx: Layout,
    tab: &'static str,
    username: String,
    display_name: String,
    email: String,
    errors: FieldErrors,
}

pub async fn profile_form(
    state: State,
    session: Session,
    user: SessionUser,
) -> Result<HttpResponse, AppError> {
    let uid = user.id;
    let (nav, profile) = run_db(&state, move |c| {
        Ok((orgs::nav_orgs(c, uid)?, accounts::profile(c, uid)?))
    })
    .await?;
    ok(&ProfilePage {
        ctx: Layout::new(&session, Some(&user), nav, "Settings"),
        tab: "profile",
        username: profile.username,
        display_name: profile.display_name,
        email: profile.email,
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
}

pub async fn update(
    state: State,
    session: Session,
    user: SessionUser,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let uid = user.id;
    let mut errors = FieldErrors::default();
    let (mut display_name, mut email) = (String::new(), String::new());
    match form.action.as_str() {
        "profile" => {
            display_name = text_field(&mut errors, "display_name", &form.display_name, 100);
            email = form.email.trim().to_string();
            errors.check("email", accounts::check_email(&email));
            if errors.is_empty() {
                let (d, e) = (display_name.clone(), email.clone());
                let saved = run_db(&state, move |c| {
                    write_tx(c, |c| {
                        Ok::<_, AppError>(accounts::update_profile(c, uid, &d, &e)?)
                    })
                })
                .await;
                match saved {
                    Ok(true) => {
                        flash_success(&session, "Your profile was saved.");
                        return Ok(redirect("/settings"));
                    }
                    Ok(false) | Err(AppError::Conflict(_)) => {
                        errors.add("email", "Another account uses this email.")
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        "password" => {
            errors.check("new_password", check_new_password(&form.new_password));
            let current = run_db(&state, move |c| Ok(accounts::password_hash(c, uid)?)).await?;
            if !state
                .hasher
                .verify(form.current_password, Some(current))
                .await?
            {
                errors.add("current_password", "This is not your current password.");
            }
            if errors.is_empty() {
                let hash = state.hasher.hash(form.new_password).await?;
                run_db(&state, move |c| {
                    write_tx(c, |c| {
                        Ok::<_, AppError>(accounts::set_password(c, uid, &hash)?)
                    })
                })
                .await?;
                // Every session of the user is gone, this one included; a new id keeps this
                // browser signed in.
                session.renew();
                flash_success(
                    &session,
                    "Your password was changed. Other sessions were signed out.",
                );
                return Ok(redirect("/settings"));
            }
        }
        _ => return Err(AppError::bad_request("Unknown settings action.")),
    }
    let (nav, profile) = run_db(&state, move |c| {
        Ok((orgs::nav_orgs(c, uid)?, accounts::profile(c, uid)?))
    })
    .await?;
    if form.action == "password" {
        display_name = profile.display_name;
        email = profile.email;
    }
    invalid(&ProfilePage {
        ctx: Layout::new(&session, Some(&user), nav, "Settings"),
        tab: "profile",
        username: profile.username,
        display_name,
        email,
        errors,
    })
}
