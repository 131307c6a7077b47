//! The home page (landing or dashboard), `/healthz` and the fallback 404.

use actix_session::Session;
use actix_web::{HttpResponse, Responder};
use askama::Template;
use diesel::RunQueryDsl;

use crate::auth::SessionUser;
use crate::errors::AppError;
use crate::models::orgs;
use crate::web::{ok, run_db, Layout, State};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Layout,
}

/// `GET /`: what Colabel is for visitors (no database work), the dashboard for users.
pub async fn home(
    state: State,
    session: Session,
    user: Option<SessionUser>,
) -> Result<HttpResponse, AppError> {
    let Some(user) = user else {
        return ok(&HomePage {
            ctx: Layout::new(&session, None, Vec::new(), "Label data together"),
        });
    };
    let uid = user.id;
    let nav = run_db(&state, move |c| Ok(orgs::nav_orgs(c, uid)?)).await?;
    ok(&HomePage {
        ctx: Layout::new(&session, Some(&user), nav, "Dashboard"),
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
