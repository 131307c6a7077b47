//! Refuses addresses that no handler can use: a NUL byte (raw or `%00`) in the path or
//! query. PostgreSQL rejects NUL in text, so it must never reach a query; no name can hold
//! one, so the answer is the same 404 as for any unknown name (400 for a query string).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::html::error::HtmlError;
use crate::http::has_nul;

pub async fn reject_nul<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let refusal = if has_nul(req.uri().path()) {
        Some(HtmlError::NotFound)
    } else if has_nul(req.query_string()) {
        Some(HtmlError::bad_request(
            "The address contains a NUL character.",
        ))
    } else {
        None
    };
    match refusal {
        Some(e) => Ok(req.error_response(e).map_into_right_body()),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
    }
}
