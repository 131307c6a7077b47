//! Sign up, log in, log out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::app::accounts::{self as uc, Login, Signup};
use crate::app::{Conflict, DomainError, FieldErrors, Principal};
use crate::client::ClientInfo;
use crate::db::write_tx;
use crate::html::error::HtmlError;
use crate::html::layout::{
    flash_success, form_errors, invalid, local_path, ok, redirect, render, url_encode, Layout,
};
use crate::html::session;
use crate::html::State;
use crate::models::orgs::Nav;

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

/// `?email=` prefills the address (the invitation page links here with the invited one).
#[derive(Deserialize)]
pub struct SignupQuery {
    email: Option<String>,
}

pub async fn signup_form(
    session: Session,
    user: Option<Principal>,
    query: web::Query<SignupQuery>,
) -> Result<HttpResponse, HtmlError> {
    if user.is_some() {
        return Ok(redirect("/"));
    }
    ok(&SignupPage {
        ctx: Layout::new(&session, None, Vec::new(), "Sign up"),
        username: String::new(),
        email: query
            .email
            .as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(320)
            .collect(),
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
    let errors = match uc::signup(state.for_anyone(), cmd).await {
        Ok(user) => {
            session::start(&session, &user)?;
            flash_success(
                &session,
                format!(
                    "Welcome to Colabel, {}! We sent a link to {email} to verify your address.",
                    user.username
                ),
            );
            return Ok(redirect("/"));
        }
        Err(e) => form_errors(e, |e| match e {
            DomainError::Conflict(Conflict::EmailTaken) => Some(("email", e.message())),
            DomainError::Conflict(Conflict::NameTaken) => {
                Some(("username", "That username is taken.".into()))
            }
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
    /// Sent here from a page that needs signing in (`?next=`): said, and where to go after.
    resumes: bool,
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
        resumes: action != "/login",
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
    match uc::login(state.for_anyone(), cmd).await {
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

// ---- Email verification ----

#[derive(Template)]
#[template(path = "account/link.html")]
struct LinkPage {
    ctx: Layout,
    heading: String,
    message: String,
    /// The form's action, with the token as a hidden field; no form when empty.
    action: String,
    token: String,
    button: String,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn link_invalid(session: &Session, user: Option<&Principal>, nav: Nav) -> LinkPage {
    LinkPage {
        ctx: Layout::new(session, user, nav, "Link expired"),
        heading: "This link cannot be used".into(),
        message: DomainError::LinkInvalid.message(),
        action: String::new(),
        token: String::new(),
        button: String::new(),
    }
}

/// `GET /email/verify?token=`: a button that verifies (a GET changes nothing, so a mail
/// scanner that opens the link does not use it up).
pub async fn verify_form(
    state: State,
    session: Session,
    user: Option<Principal>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, HtmlError> {
    let token = query.into_inner().token;
    let t = token.clone();
    let preview = state
        .run(move |c| Ok(crate::app::email::verification_preview(c, &t)))
        .await?;
    let nav = state.menu().await?;
    match preview {
        Ok(email) => ok(&LinkPage {
            ctx: Layout::new(&session, user.as_ref(), nav, "Verify your email address"),
            heading: "Verify your email address".into(),
            message: format!("Confirm that {email} is the email address of your Colabel account."),
            action: "/email/verify".into(),
            token,
            button: "Verify my email address".into(),
        }),
        Err(DomainError::LinkInvalid) => render(
            StatusCode::GONE,
            &link_invalid(&session, user.as_ref(), nav),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

/// `POST /email/verify`.
pub async fn verify(
    state: State,
    session: Session,
    user: Option<Principal>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, HtmlError> {
    let token = form.into_inner().token;
    let result = state
        .run(move |c| Ok(write_tx(c, |tx| crate::app::email::verify(tx, &token))))
        .await?;
    match result {
        Ok(done) => {
            flash_success(
                &session,
                format!(
                    "Your email address {} is verified. Invitations sent to it are on your dashboard.",
                    done.email
                ),
            );
            if user.is_some() {
                Ok(redirect("/"))
            } else {
                Ok(redirect("/login"))
            }
        }
        Err(DomainError::LinkInvalid) => {
            let nav = state.menu().await?;
            render(
                StatusCode::GONE,
                &link_invalid(&session, user.as_ref(), nav),
            )
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Password reset ----

#[derive(Template)]
#[template(path = "account/forgot.html")]
struct ForgotPage {
    ctx: Layout,
    email: String,
    errors: FieldErrors,
}

pub async fn forgot_form(session: Session) -> Result<HttpResponse, HtmlError> {
    ok(&ForgotPage {
        ctx: Layout::new(&session, None, Vec::new(), "Forgot your password?"),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `POST /password/forgot`: the same answer whether or not an account has the address.
pub async fn forgot(
    state: State,
    session: Session,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, HtmlError> {
    let email = form.into_inner().email.trim().to_string();
    let (e, m) = (email.clone(), state.mailing());
    match state
        .run(move |c| write_tx(c, |tx| crate::app::email::request_reset(tx, &m, &e)))
        .await
    {
        Ok(()) => {
            flash_success(
                &session,
                format!("If an account uses {email}, we sent it a link to reset the password. The link works for one hour."),
            );
            Ok(redirect("/login"))
        }
        Err(DomainError::Invalid(errors)) => invalid(&ForgotPage {
            ctx: Layout::new(&session, None, Vec::new(), "Forgot your password?"),
            email,
            errors,
        }),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "account/reset.html")]
struct ResetPage {
    ctx: Layout,
    username: String,
    token: String,
    errors: FieldErrors,
}

/// `GET /password/reset?token=`: the new-password form, when the link is usable.
pub async fn reset_form(
    state: State,
    session: Session,
    user: Option<Principal>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, HtmlError> {
    let token = query.into_inner().token;
    let t = token.clone();
    let preview = state
        .run(move |c| Ok(crate::app::email::reset_preview(c, &t)))
        .await?;
    let nav = state.menu().await?;
    match preview {
        Ok(username) => ok(&ResetPage {
            ctx: Layout::new(&session, user.as_ref(), nav, "Choose a new password"),
            username,
            token,
            errors: FieldErrors::default(),
        }),
        Err(DomainError::LinkInvalid) => render(
            StatusCode::GONE,
            &link_invalid(&session, user.as_ref(), nav),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// `POST /password/reset`: sets the password; every session ends (this browser's too), and
/// the user logs in with the new password.
pub async fn reset(
    state: State,
    session: Session,
    user: Option<Principal>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, HtmlError> {
    let ResetForm { token, password } = form.into_inner();
    let cmd = crate::app::email::ResetPassword {
        token: token.clone(),
        password,
    };
    match crate::app::email::reset_password(state.for_anyone(), cmd).await {
        Ok(username) => {
            // Every session of the account ended; this browser's, if it was one, carries on
            // as a visitor's (with the message).
            if user.as_ref().is_some_and(|u| u.username == username) {
                for key in session::SIGNED_IN_KEYS {
                    session.remove(key);
                }
                session.renew();
            }
            flash_success(
                &session,
                format!("The password of {username} was changed, and every session was signed out. Log in with the new password."),
            );
            Ok(redirect("/login"))
        }
        Err(DomainError::Invalid(errors)) => {
            let t = token.clone();
            let username = state
                .run(move |c| crate::app::email::reset_preview(c, &t))
                .await?;
            let nav = state.menu().await?;
            invalid(&ResetPage {
                ctx: Layout::new(&session, user.as_ref(), nav, "Choose a new password"),
                username,
                token,
                errors,
            })
        }
        Err(DomainError::LinkInvalid) => {
            let nav = state.menu().await?;
            render(
                StatusCode::GONE,
                &link_invalid(&session, user.as_ref(), nav),
            )
        }
        Err(e) => Err(e.into()),
    }
}
