//! The addressee's side of invitations: the page an invitation's link opens (with Accept
//! and Decline, or the way to sign up or log in first), and the answers from the dashboard
//! and the Organizations tab.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::app::invitations::{self as uc, Respond, View, Which};
use crate::app::{DomainError, Principal};
use crate::db::write_tx;
use crate::domain::roles::default_role_label;
use crate::html::error::HtmlError;
use crate::html::layout::{flash_error, flash_success, local_path, redirect, render, Layout};
use crate::html::State;

#[derive(Template)]
#[template(path = "invitations/show.html")]
struct InvitationPage {
    ctx: Layout,
    view: Option<View>,
    token: String,
    signed_in: bool,
}

impl InvitationPage {
    fn default_label(&self, v: &View) -> &'static str {
        default_role_label(v.default_role)
    }

    fn closed_message(&self, v: &View) -> String {
        v.closed
            .map(|s| DomainError::InvitationClosed(s).message())
            .unwrap_or_default()
    }

    fn signup_link(&self, v: &View) -> String {
        match &v.email {
            Some(e) => format!("/signup?email={}", crate::html::layout::url_encode(e)),
            None => "/signup".into(),
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /invitation?token=`: what the invitation offers, and what the viewer can do.
pub async fn show(
    state: State,
    session: Session,
    user: Option<Principal>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, HtmlError> {
    let token = query.into_inner().token;
    let (t, p) = (token.clone(), user.clone());
    let view = state.run(move |c| Ok(uc::view(c, p.as_ref(), &t))).await?;
    let nav = state.nav();
    let view = match view {
        Ok(v) => Some(v),
        Err(DomainError::LinkInvalid) => None,
        Err(e) => return Err(e.into()),
    };
    let status = if view.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let title = match &view {
        Some(v) => format!("Invitation to {}", v.org),
        None => "Invitation not found".into(),
    };
    render(
        status,
        &InvitationPage {
            ctx: Layout::new(&session, user.as_ref(), nav, title),
            view,
            token,
            signed_in: user.is_some(),
        },
    )
}

#[derive(Deserialize)]
pub struct RespondForm {
    action: String,
    #[serde(default)]
    token: String,
    /// Where to go after a decline (the page the answer came from).
    #[serde(default)]
    back: String,
}

fn accept_of(action: &str) -> Result<bool, HtmlError> {
    match action {
        "accept" => Ok(true),
        "decline" => Ok(false),
        _ => Err(HtmlError::bad_request("Unknown answer to an invitation.")),
    }
}

async fn answer(
    state: State,
    session: Session,
    user: Principal,
    which: Which,
    accept: bool,
    back: String,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let result = state
        .run(move |c| {
            Ok(write_tx(c, |tx| {
                uc::respond(tx, &p, Respond { which, accept })
            }))
        })
        .await?;
    match result {
        Ok(done) if done.accepted => {
            let text = if done.was_member {
                format!("You were already a member of {}.", done.org)
            } else {
                format!("Welcome to {}! You are now a member.", done.org)
            };
            flash_success(&session, text);
            Ok(redirect(&format!("/{}", done.org)))
        }
        Ok(done) => {
            flash_success(
                &session,
                format!("You declined the invitation to {}.", done.org),
            );
            Ok(redirect(&local_path(Some(&back))))
        }
        Err(
            e @ (DomainError::InvitationClosed(_)
            | DomainError::EmailNotVerified { .. }
            | DomainError::Forbidden(_)),
        ) => {
            flash_error(&session, e.message());
            Ok(redirect(&local_path(Some(&back))))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /invitation`: Accept or Decline from the link's page (the token in the form).
pub async fn respond_by_token(
    state: State,
    session: Session,
    user: Principal,
    form: web::Form<RespondForm>,
) -> Result<HttpResponse, HtmlError> {
    let form = form.into_inner();
    let accept = accept_of(&form.action)?;
    answer(
        state,
        session,
        user,
        Which::Token(form.token),
        accept,
        "/".into(),
    )
    .await
}

/// `POST /settings/organizations/invitations/{id}`: Accept or Decline from the dashboard
/// or the Organizations tab.
pub async fn respond(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<i32>,
    form: web::Form<RespondForm>,
) -> Result<HttpResponse, HtmlError> {
    let form = form.into_inner();
    let accept = accept_of(&form.action)?;
    let back = if form.back.is_empty() {
        "/settings/organizations".to_string()
    } else {
        form.back
    };
    answer(
        state,
        session,
        user,
        Which::Id(path.into_inner()),
        accept,
        back,
    )
    .await
}
