//! `/settings/api-keys`: personal API keys. A new key is shown once, on the page that
//! answers its creation (never stored in a session or a flash); afterwards only its name,
//! first characters and dates.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::app::api_keys::{self as uc, CreateKey, NewKey};
use crate::app::{FieldErrors, Principal};
use crate::db::write_tx;
use crate::html::error::HtmlError;
use crate::html::layout::{flash_success, form_errors, invalid, ok, redirect, Layout};
use crate::html::State;
use crate::models::api_keys::ApiKeyRow;
use crate::models::audit::AuditRow;
use crate::models::orgs::Nav;

#[derive(Template)]
#[template(path = "settings/api_keys.html")]
struct ApiKeysPage {
    ctx: Layout,
    tab: &'static str,
    keys: Vec<ApiKeyRow>,
    history: Vec<AuditRow>,
    created: Option<NewKey>,
    /// The name typed into the form shown again.
    key_name: String,
    errors: FieldErrors,
    /// The address to give the SDK: this site's origin.
    api_url: String,
}

fn page(
    req: &HttpRequest,
    session: &Session,
    user: &Principal,
    nav: Nav,
    (keys, history): (Vec<ApiKeyRow>, Vec<AuditRow>),
) -> ApiKeysPage {
    ApiKeysPage {
        ctx: Layout::new(session, Some(user), nav, "API keys"),
        tab: "api-keys",
        keys,
        history,
        created: None,
        key_name: String::new(),
        errors: FieldErrors::default(),
        api_url: {
            let info = req.connection_info();
            format!("{}://{}/", info.scheme(), info.host())
        },
    }
}

pub async fn list(
    req: HttpRequest,
    state: State,
    session: Session,
    user: Principal,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let data = state.run(move |c| uc::list(c, &p)).await?;
    ok(&page(&req, &session, &user, state.nav(), data))
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
}

pub async fn create(
    req: HttpRequest,
    state: State,
    session: Session,
    user: Principal,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let cmd = CreateKey {
        name: form.name.clone(),
    };
    let (created, data) = state
        .run(move |c| {
            let created = write_tx(c, |tx| uc::create(tx, &p, cmd));
            let created = match created {
                Ok(key) => Ok(key),
                Err(e) => Err(form_errors(e, |_| None)?),
            };
            Ok((created, uc::list(c, &p)?))
        })
        .await?;
    let mut page = page(&req, &session, &user, state.nav(), data);
    match created {
        Ok(key) => {
            page.created = Some(key);
            // The key is in this page only: never in a cache (or the back-forward cache).
            let mut res = ok(&page)?;
            res.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            Ok(res)
        }
        Err(errors) => {
            page.key_name = form.name.trim().to_string();
            page.errors = errors;
            invalid(&page)
        }
    }
}

pub async fn revoke(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<i32>,
) -> Result<HttpResponse, HtmlError> {
    let (p, id) = (user.clone(), path.into_inner());
    let name = state
        .run(move |c| write_tx(c, |tx| uc::revoke(tx, &p, id)))
        .await?;
    flash_success(
        &session,
        format!("The API key {name} was revoked. It stopped working at once."),
    );
    Ok(redirect("/settings/api-keys"))
}
