//! Sign up, log in, log out.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::password::check_new_password;
use crate::auth::{end_session, start_session, throttle, SessionUser};
use crate::db::write_tx;
use crate::errors::AppError;
use crate::models::accounts::{self, SignupConflict};
use crate::web::{
    invalid, local_path, ok, redirect, render, run_db, url_encode, FieldErrors, Layout, State,
};

#[derive(Template)]
#[template(path = "account/signup.html")]
struct SignupPage {
    ctx: Layout,
    username: String,
    email: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn signup_form(
    session: Session,
    user: Option<SessionUser>,
) -> Result<HttpResponse, AppError> {
    if user.is_some() {
        return Ok(redirect("/"));
    }
    ok(&SignupPage {
        ctx: Layout::new(&session, None, Vec::new(), "Sign up"),
        username: String::new(),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

pub async fn signup(
    state: State,
    session: Session,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let SignupForm {
        username,
        email,
        password,
    } = form.into_inner();
    let username = username.trim().to_string();
    let email = email.trim().to_string();
    let mut errors = FieldErrors::default();
    errors.check("username", accounts::check_username(&username));
    errors.check("email", accounts::check_email(&email));
    errors.check("password", check_new_password(&password));
    if errors.is_empty() {
        let hash = state.hasher.hash(password).await?;
        let (u, e) = (username.clone(), email.clone());
        let created = run_db(&state, move |c| {
            write_tx(c, |c| {
                Ok::<_, AppError>(accounts::create_user(c, &u, &e, &hash)?)
            })
        })
        .await;
        match created {
            Ok(Ok(id)) => {
                start_session(&session, id, &username)?;
                crate::web::flash_success(&session, format!("Welcome to Colabel, {username}!"));
                return Ok(redirect("/"));
            }
            Ok(Err(SignupConflict::Email)) => {
                errors.add("email", "An account with this email already exists.")
            }
            // A lost race on the unique index reads the same as a taken name.
            Ok(Err(SignupConflict::Username)) | Err(AppError::Conflict(_)) => {
                errors.add("username", "That username is taken.")
            }
            Err(e) => return Err(e),
        }
    }
    invalid(&SignupPage {
        ctx: Layout::new(&session, None, Vec::new(), "Sign up"),
        username,
        email,
        errors,
    })
}

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    ctx: Layout,
    action: String,
    login: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

fn login_page(
    session: &Session,
    next: &Option<String>,
    login: String,
    error: Option<String>,
) -> LoginPage {
    let action = match next {
        Some(n) if local_path(Some(n)) != "/" => format!("/login?next={}", url_encode(n)),
        _ => "/login".into(),
    };
    let mut errors = FieldErrors::default();
    if let Some(e) = error {
        errors.add("login", e);
    }
    LoginPage {
        ctx: Layout::new(session, None, Vec::new(), "Log in"),
        action,
        login,
        errors,
    }
}

pub async fn login_form(
    session: Session,
    user: Option<SessionUser>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    if user.is_some() {
        return Ok(redirect(&local_path(query.next.as_deref())));
    }
    ok(&login_page(&session, &query.next, String::new(), None))
}

pub async fn login(
    req: HttpRequest,
    state: State,
    session: Session,
    query: web::Query<NextQuery>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let LoginForm { login, password } = form.into_inner();
    let login = login.trim().to_string();
    let address = req
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let l = login.clone();
    let (creds, keys, blocked) = run_db(&state, move |c| {
        let creds = if l.is_empty() {
            None
        } else {
            accounts::find_credentials(c, &l)?
        };
        let keys = throttle::Keys::new(creds.as_ref().map(|u| u.id), &l, &address);
        let blocked = throttle::blocked_for(c, &keys)?;
        Ok((creds, keys, blocked))
    })
    .await?;
    if let Some(minutes) = blocked {
        let msg = format!(
            "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        return render(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            &login_page(&session, &query.next, login, Some(msg)),
        );
    }
    let verified = state
        .hasher
        .verify(password, creds.as_ref().map(|u| u.password_hash.clone()))
        .await?;
    match creds {
        Some(user) if verified => {
            run_db(&state, move |c| Ok(throttle::clear_account(c, &keys)?)).await?;
            start_session(&session, user.id, &user.username)?;
            Ok(redirect(&local_path(query.next.as_deref())))
        }
        _ => {
            run_db(&state, move |c| Ok(throttle::record_failure(c, &keys)?)).await?;
            invalid(&login_page(
                &session,
                &query.next,
                login,
                Some("Incorrect username, email or password.".into()),
            ))
        }
    }
}

/// `POST /logout`: deletes the session row, so the old cookie is worth nothing.
pub async fn logout(session: Session) -> HttpResponse {
    end_session(&session);
    redirect("/")
}
