//! The home page (landing or dashboard), `/healthz` and the fallback 404.

use actix_session::Session;
use actix_web::{web, HttpResponse, Responder};
use askama::Template;
use diesel::RunQueryDsl;

use crate::auth::SessionUser;
use crate::errors::AppError;
use crate::handlers::orgs::ListQuery;
use crate::models::datasets::{self, DatasetSummary};
use crate::models::{orgs, Page};
use crate::web::{ok, run_db, Layout, State};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Layout,
    datasets: Page<DatasetSummary>,
}

/// `GET /`: what Colabel is for visitors (no database work), the dashboard for users.
pub async fn home(
    state: State,
    session: Session,
    user: Option<SessionUser>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let Some(user) = user else {
        return ok(&HomePage {
            ctx: Layout::new(&session, None, Vec::new(), "Label data together"),
            datasets: Page::empty(),
        });
    };
    let (uid, page) = (user.id, query.page_number());
    let (nav, datasets) = run_db(&state, move |c| {
        Ok((
            orgs::nav_orgs(c, uid)?,
            datasets::list_for_dashboard(c, uid, page)?,
        ))
    })
    .await?;
    ok(&HomePage {
        ctx: Layout::new(&session, Some(&user), nav, "Dashboard"),
        datasets,
    })
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(state: State) -> impl Responder {
    let result = run_db(&state, |c| {
        diesel::sql_query("SELECT 1").execute(c)?;
        Ok(())
    })
    .await;
    match result {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Err(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable"),
    }
}

/// Every unknown address.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
