//! The HTML surface's error: what a handler answers when it does not render a page itself.
//! Domain errors map onto it (their message becomes the error page's text); its response
//! carries an [`ErrorPage`] that the error-page middleware renders in the layout.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::app::{Conflict, DomainError};

#[derive(Debug)]
pub enum HtmlError {
    /// Missing, or not visible to this visitor (the two look the same).
    NotFound,
    /// Visible, but this action is not allowed; the text says why.
    Forbidden(String),
    /// Malformed or unacceptable input that no form can show again.
    BadRequest(String),
    /// The request conflicts with the current state.
    Conflict(String),
    /// The body is larger than we accept.
    TooLarge,
    /// The client must sign in first; carries the path to return to.
    LoginRequired(String),
    /// The database could not be reached in time; the cause is logged.
    Unavailable(String),
    /// Anything else: logged, never shown.
    Internal(String),
}

/// What the error page shows; attached to error responses as an extension.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
}

impl std::fmt::Display for HtmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HtmlError::NotFound => f.write_str("not found"),
            HtmlError::Forbidden(m) | HtmlError::BadRequest(m) | HtmlError::Conflict(m) => {
                f.write_str(m)
            }
            HtmlError::TooLarge => f.write_str("request body too large"),
            HtmlError::LoginRequired(_) => f.write_str("login required"),
            HtmlError::Unavailable(cause) => write!(f, "database unavailable: {cause}"),
            HtmlError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for HtmlError {}

impl HtmlError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        HtmlError::Internal(e.to_string())
    }

    pub fn forbidden(m: impl Into<String>) -> Self {
        HtmlError::Forbidden(m.into())
    }

    pub fn bad_request(m: impl Into<String>) -> Self {
        HtmlError::BadRequest(m.into())
    }

    fn page(&self) -> ErrorPage {
        let (title, message) = match self {
            HtmlError::NotFound => ("Page not found", DomainError::NotFound.message()),
            HtmlError::Forbidden(m) => ("Not allowed", m.clone()),
            HtmlError::BadRequest(m) => ("Bad request", m.clone()),
            HtmlError::Conflict(m) => ("Conflict", m.clone()),
            HtmlError::TooLarge => (
                "Request too large",
                "The form you sent is larger than Colabel accepts.".to_string(),
            ),
            HtmlError::LoginRequired(_) => ("Sign in required", "Please sign in.".to_string()),
            HtmlError::Unavailable(cause) => (
                "Service unavailable",
                DomainError::Unavailable(cause.clone()).message(),
            ),
            HtmlError::Internal(_) => (
                "Something went wrong",
                DomainError::Internal(String::new()).message(),
            ),
        };
        ErrorPage {
            title: title.to_string(),
            message,
        }
    }
}

/// Every domain error has an answer here; handlers that show a form again, or a flash,
/// handle the ones they expect before this.
impl From<DomainError> for HtmlError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound | DomainError::NotCollaborator => HtmlError::NotFound,
            DomainError::Forbidden(_) => HtmlError::Forbidden(e.message()),
            DomainError::Unavailable(cause) => HtmlError::Unavailable(cause),
            DomainError::SessionEnded(resume) => HtmlError::LoginRequired(resume),
            DomainError::Internal(cause) => HtmlError::Internal(cause),
            DomainError::Conflict(Conflict::Concurrent) => HtmlError::Conflict(e.message()),
            DomainError::Throttled { .. } | DomainError::TooManyEmails { .. } => {
                HtmlError::Conflict(e.message())
            }
            DomainError::InvitationClosed(_) | DomainError::LinkInvalid => {
                HtmlError::Conflict(e.message())
            }
            DomainError::EmailNotVerified { .. } => HtmlError::Forbidden(e.message()),
            DomainError::Conflict(_) => HtmlError::Conflict(e.message()),
            DomainError::Invalid(_)
            | DomainError::BadInput(_)
            | DomainError::UnknownUser
            | DomainError::IsOrganization(_)
            | DomainError::NotMember { .. }
            | DomainError::LastAdmin { .. }
            | DomainError::InvitationLimit { .. }
            | DomainError::BadCredentials => HtmlError::BadRequest(e.message()),
        }
    }
}

impl ResponseError for HtmlError {
    fn status_code(&self) -> StatusCode {
        match self {
            HtmlError::NotFound => StatusCode::NOT_FOUND,
            HtmlError::Forbidden(_) => StatusCode::FORBIDDEN,
            HtmlError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HtmlError::Conflict(_) => StatusCode::CONFLICT,
            HtmlError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HtmlError::LoginRequired(_) => StatusCode::SEE_OTHER,
            HtmlError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HtmlError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let HtmlError::LoginRequired(next) = self {
            let target = if next == "/" || next.is_empty() {
                "/login".to_string()
            } else {
                format!("/login?next={}", crate::html::layout::url_encode(next))
            };
            return HttpResponse::SeeOther()
                .insert_header(("Location", target))
                .finish();
        }
        match self {
            HtmlError::Internal(cause) => log::error!("internal error: {cause}"),
            HtmlError::Unavailable(cause) => log::warn!("database unavailable: {cause}"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.page().message);
        res.extensions_mut().insert(self.page());
        res
    }
}

impl From<actix_web::error::BlockingError> for HtmlError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        HtmlError::Internal(format!("blocking pool: {e}"))
    }
}

impl From<askama::Error> for HtmlError {
    fn from(e: askama::Error) -> Self {
        HtmlError::Internal(format!("template: {e}"))
    }
}
