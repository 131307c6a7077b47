//! Renders every 4xx and 5xx response as a page in the layout, unless the handler already
//! rendered one (a form shown again with its messages).

use actix_session::SessionExt;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::html::error::ErrorPage;
use crate::html::layout::Layout;

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorTemplate {
    ctx: Layout,
    status: u16,
    title: String,
    message: String,
}

fn default_page(status: StatusCode) -> ErrorPage {
    let (title, message) = match status.as_u16() {
        400 => ("Bad request", "The request could not be understood."),
        403 => ("Not allowed", "You do not have permission to do that."),
        404 => (
            "Page not found",
            "There is nothing here, or you do not have access to it.",
        ),
        405 => (
            "Method not allowed",
            "This address does not accept that kind of request.",
        ),
        413 => (
            "Request too large",
            "The form you sent is larger than Colabel accepts.",
        ),
        415 => ("Unsupported form", "Send the form as ordinary form data."),
        422 => ("Invalid input", "Some fields need attention."),
        429 => ("Too many requests", "Please wait a moment and try again."),
        s if s >= 500 => (
            "Something went wrong",
            "An unexpected error occurred. It has been logged.",
        ),
        _ => ("Request refused", "The request could not be completed."),
    };
    ErrorPage {
        title: title.into(),
        message: message.into(),
    }
}

pub fn render_error_page<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let info = res.response().extensions().get::<ErrorPage>().cloned();
    let is_html = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if info.is_none() && is_html {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let info = info.unwrap_or_else(|| default_page(res.status()));
    let (req, old) = res.into_parts();
    let new = page_response(&req, &old, &info);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

/// `old` as an HTML page in the layout: its status and headers, the page's text as body.
fn page_response<B>(req: &HttpRequest, old: &HttpResponse<B>, info: &ErrorPage) -> HttpResponse {
    let status = old.status();
    let session = req.get_session();
    let page = ErrorTemplate {
        ctx: Layout::bare(&session, &info.title),
        status: status.as_u16(),
        title: info.title.clone(),
        message: info.message.clone(),
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("{} {}", status.as_u16(), info.title));
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    new.content_type("text/html; charset=utf-8").body(body)
}
