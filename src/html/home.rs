//! The home page (landing or dashboard), `/healthz` and the fallback 404.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::app::{datasets, invitations, Principal};
use crate::html::error::HtmlError;
use crate::html::layout::{ok, Layout};
use crate::html::{DatasetList, DatasetQuery, State};
use crate::models::datasets::DatasetSummary;
use crate::models::invitations::Received;
use crate::models::Page;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Layout,
    datasets: Page<DatasetSummary>,
    invitations: Vec<Received>,
    back: &'static str,
    list: DatasetList,
}

/// `GET /`: what Colabel is for visitors (no database work), the dashboard for users.
pub async fn home(
    state: State,
    session: Session,
    user: Option<Principal>,
    query: web::Query<DatasetQuery>,
) -> Result<HttpResponse, HtmlError> {
    let Some(user) = user else {
        return ok(&HomePage {
            ctx: Layout::new(&session, None, Vec::new(), "Label data together"),
            datasets: Page::empty(),
            invitations: Vec::new(),
            back: "/",
            list: query.list(),
        });
    };
    let (p, page, filter) = (user.clone(), query.page(), query.filter()?);
    let (datasets, invitations) = state
        .run(move |c| {
            Ok((
                datasets::dashboard(c, &p, &filter, page)?,
                invitations::received(c, &p)?,
            ))
        })
        .await?;
    ok(&HomePage {
        ctx: Layout::new(&session, Some(&user), state.nav(), "Dashboard"),
        datasets,
        invitations,
        back: "/",
        list: query.list(),
    })
}

/// `GET /healthz`: 200 when the database answers (on SQLite: from the file opened at
/// start), 503 otherwise.
pub async fn healthz(app: actix_web::web::Data<crate::app::App>) -> HttpResponse {
    // No session: a load balancer's probe.
    match app.health().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Err(e) => {
            log::warn!("health check: {e}");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}

/// Every unknown address.
pub async fn not_found() -> Result<HttpResponse, HtmlError> {
    Err(HtmlError::NotFound)
}
