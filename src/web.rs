//! What every handler shares: the application state, running database work off the async
//! workers, the layout context of every page, flash messages and rendering.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::auth::password::Hasher;
use crate::auth::SessionUser;
use crate::config::Settings;
use crate::db::{Db, DbConn};
use crate::errors::AppError;

/// Shared by every worker; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub hasher: Hasher,
    pub settings: Settings,
}

pub type State = web::Data<AppState>;

/// Runs `f` with a pooled connection on the blocking thread pool: all of a request's
/// database work goes through here, in one call where possible.
pub async fn run_db<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let db = state.db.clone();
    web::block(move || {
        let mut conn = db.get()?;
        f(&mut conn)
    })
    .await?
}

/// A one-time message shown on the next page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    pub kind: String,
    pub text: String,
}

const FLASH_KEY: &str = "flash";

pub fn flash_success(session: &Session, text: impl Into<String>) {
    let _ = session.insert(
        FLASH_KEY,
        Flash {
            kind: "success".into(),
            text: text.into(),
        },
    );
}

pub fn flash_error(session: &Session, text: impl Into<String>) {
    let _ = session.insert(
        FLASH_KEY,
        Flash {
            kind: "error".into(),
            text: text.into(),
        },
    );
}

/// The part of every page that the layout (`base.html`) reads.
pub struct Layout {
    pub user: Option<SessionUser>,
    session: Session,
    pub flash: Option<Flash>,
    /// The user's organizations, for the profile menu.
    pub orgs: Vec<String>,
    pub title: String,
}

impl Layout {
    pub fn new(
        session: &Session,
        user: Option<&SessionUser>,
        orgs: Vec<String>,
        title: impl Into<String>,
    ) -> Self {
        // Only touch the session when there is a message: an untouched session of a visitor
        // is never written, so pages without forms cost no database work.
        let flash = if session.contains_key(FLASH_KEY) {
            session.remove_as::<Flash>(FLASH_KEY).and_then(Result::ok)
        } else {
            None
        };
        Layout {
            user: user.cloned(),
            session: session.clone(),
            flash,
            orgs,
            title: title.into(),
        }
    }

    /// For error pages: no database access, no new token.
    pub fn bare(session: &Session, title: &str) -> Self {
        Layout {
            user: SessionUser::from_session(session),
            session: session.clone(),
            flash: None,
            orgs: Vec::new(),
            title: title.into(),
        }
    }

    /// The session's CSRF token, made when a page first shows a form.
    pub fn csrf(&self) -> String {
        crate::auth::csrf::token(&self.session)
    }

    pub fn asset(&self, name: &str) -> String {
        crate::assets::url(name)
    }

    /// The letter shown in an account's round avatar.
    pub fn initial(&self, name: &str) -> String {
        name.chars()
            .next()
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or('?')
            .to_string()
    }
}

/// Renders a page with a status (200 for pages, 422 for forms shown again with errors).
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AppError> {
    let html = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

pub fn ok(page: &impl Template) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, page)
}

pub fn invalid(page: &impl Template) -> Result<HttpResponse, AppError> {
    render(StatusCode::UNPROCESSABLE_ENTITY, page)
}

/// A 303 to `to`, the answer to a successful form.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to))
        .finish()
}

/// Percent-encodes a query-string value.
pub fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A path that is safe to return to after login: local, never `//host` or `/\host`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(|c| c.is_control() || c == '\\') =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Per-field messages of a form shown again.
#[derive(Default, Debug)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub fn check(&mut self, field: &'static str, result: Result<(), &str>) {
        if let Err(m) = result {
            self.add(field, m);
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Trims a text field and checks its length in characters.
pub fn text_field(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> String {
    let v = value.trim().to_string();
    if v.chars().count() > max_chars {
        errors.add(field, format!("Use at most {max_chars} characters."));
    } else if v
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.add(field, "Remove the control characters.");
    } else if v.chars().any(crate::models::accounts::is_bidi_control) {
        // They would let a name display as another one.
        errors.add(field, "Remove the invisible text-direction characters.");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/acme/members")), "/acme/members");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}
