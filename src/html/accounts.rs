//! Sign up, log in, log out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::app::accounts::{self as uc, Login, Signup};
use crate::app::{Conflict, DomainError, FieldErrors, Principal};
use crate::client::ClientInfo;
use crate::html::error::HtmlError;
use crate::html::layout::{
    flash_success, form_errors, invalid, local_path, ok, redirect, render, url_encode, Layout,
};
use crate::html::session;
use crate::html::State;

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
    user: Option<Principal>,
) -> Result<HttpResponse, HtmlError> {
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
) -> Result<HttpResponse, HtmlError> {
    let SignupForm {
        username,
        email,
        password,
    } = form.into_inner();
    let (username, email) = (username.trim().to_string(), email.trim().to_string());
    let cmd = Signup {
        username: username.clone(),
        email: email.clone(),
        password,
    };
    let errors = match uc::signup(&state, cmd).await {
        Ok(user) => {
            session::start(&session, &user)?;
            flash_success(&session, format!("Welcome to Colabel, {}!", user.username));
            return Ok(redirect("/"));
        }
        Err(e) => form_errors(e, |e| match e {
            DomainError::Conflict(Conflict::EmailTaken) => {
                Some(("email", "An account with this email already exists.".into()))
            }
            DomainError::Conflict(_) => Some(("username", "That username is taken.".into())),
            _ => None,
        })?,
    };
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
    user: Option<Principal>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, HtmlError> {
    if user.is_some() {
        return Ok(redirect(&local_path(query.next.as_deref())));
    }
    ok(&login_page(&session, &query.next, String::new(), None))
}

pub async fn login(
    client: ClientInfo,
    state: State,
    session: Session,
    query: web::Query<NextQuery>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, HtmlError> {
    let LoginForm { login, password } = form.into_inner();
    let login = login.trim().to_string();
    let cmd = Login {
        login: login.clone(),
        password,
        client: client.ip,
    };
    match uc::login(&state, cmd).await {
        Ok(user) => {
            session::start(&session, &user)?;
            Ok(redirect(&local_path(query.next.as_deref())))
        }
        Err(e @ DomainError::Throttled { .. }) => render(
            StatusCode::TOO_MANY_REQUESTS,
            &login_page(&session, &query.next, login, Some(e.message())),
        ),
        Err(e @ DomainError::BadCredentials) => {
            invalid(&login_page(&session, &query.next, login, Some(e.message())))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`: deletes the session row, so the old cookie is worth nothing.
pub async fn logout(session: Session) -> HttpResponse {
    session::end(&session);
    redirect("/")
}
