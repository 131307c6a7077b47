//! One error type for every handler. Infrastructure errors map onto it with `From`; its
//! response carries an [`ErrorPage`] that the error-page middleware renders in the layout.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug)]
pub enum AppError {
    /// Missing, or not visible to this visitor (the two look the same).
    NotFound,
    /// Visible, but this action is not allowed; the text says why.
    Forbidden(String),
    /// Malformed or unacceptable input that no form can show again.
    BadRequest(String),
    /// The request conflicts with the current state (a unique index said no).
    Conflict(String),
    /// The body is larger than we accept.
    TooLarge,
    /// The client must sign in first; carries the path to return to.
    LoginRequired(String),
    /// The database could not be reached in time.
    Unavailable,
    /// Anything else: logged, never shown.
    Internal(String),
}

/// What the error page shows; attached to error responses as an extension.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::NotFound => f.write_str("not found"),
            AppError::Forbidden(m) | AppError::BadRequest(m) | AppError::Conflict(m) => {
                f.write_str(m)
            }
            AppError::TooLarge => f.write_str("request body too large"),
            AppError::LoginRequired(_) => f.write_str("login required"),
            AppError::Unavailable => f.write_str("database unavailable"),
            AppError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for AppError {}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    pub fn forbidden(m: impl Into<String>) -> Self {
        AppError::Forbidden(m.into())
    }

    pub fn bad_request(m: impl Into<String>) -> Self {
        AppError::BadRequest(m.into())
    }

    fn page(&self) -> ErrorPage {
        let (title, message) = match self {
            AppError::NotFound => (
                "Page not found",
                "There is nothing here, or you do not have access to it.".to_string(),
            ),
            AppError::Forbidden(m) => ("Not allowed", m.clone()),
            AppError::BadRequest(m) => ("Bad request", m.clone()),
            AppError::Conflict(m) => ("Conflict", m.clone()),
            AppError::TooLarge => (
                "Request too large",
                "The form you sent is larger than Colabel accepts.".to_string(),
            ),
            AppError::LoginRequired(_) => ("Sign in required", "Please sign in.".to_string()),
            AppError::Unavailable => (
                "Service unavailable",
                "Colabel is busy or cannot reach its database. Please try again in a moment."
                    .to_string(),
            ),
            AppError::Internal(_) => (
                "Something went wrong",
                "An unexpected error occurred. It has been logged.".to_string(),
            ),
        };
        ErrorPage {
            title: title.to_string(),
            message,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::LoginRequired(_) => StatusCode::SEE_OTHER,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::LoginRequired(next) = self {
            let target = if next == "/" || next.is_empty() {
                "/login".to_string()
            } else {
                format!("/login?next={}", crate::web::url_encode(next))
            };
            return HttpResponse::SeeOther()
                .insert_header(("Location", target))
                .finish();
        }
        if let AppError::Internal(cause) = self {
            log::error!("internal error: {cause}");
        }
        let mut res = HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.page().message);
        res.extensions_mut().insert(self.page());
        res
    }
}

impl From<DieselError> for AppError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => AppError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                AppError::Conflict("That already exists.".into())
            }
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                AppError::Conflict(
                    "Another change happened at the same moment; please try again.".into(),
                )
            }
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        log::warn!("database pool: {e}");
        AppError::Unavailable
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking pool: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

/// True when `e` is a unique-index violation.
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}
