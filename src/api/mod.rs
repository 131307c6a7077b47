//! The JSON API: the paths of the Segments.ai SDK at the root of the origin
//! (`SDK-CONTRACT.md`), and Colabel's own members and audit endpoints.
//!
//! Handlers are adapters like the HTML ones: they parse the path, the query and the JSON body
//! into a typed command, call one use case of `app`, and serialize the result. A caller is
//! authenticated only by the `Authorization: APIKey <key>` header, inside the same database
//! call as the handler's work (one hand-off to the database threads per request); session
//! cookies are never read here, so no CSRF token is asked. Every answer is JSON, errors
//! included (`{"detail": "..."}`, in the words the SDK classifies its exceptions by).

pub mod datasets;
pub mod doc;
pub mod orgs;
pub mod users;
pub mod webhooks;
pub mod wire;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

use crate::app::orgs::Paging;
use crate::app::{api_keys, Conflict, Denied, DomainError, Joining, Principal};
use crate::db::DbConn;

pub type State = web::Data<crate::app::App>;

/// The largest JSON body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An error of the API: a status and a message (`detail`), with per-field messages for a
/// body that did not validate.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// The stable code of the refusal (the domain error's, or the API's own).
    pub code: &'static str,
    pub detail: String,
    pub fields: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    errors: std::collections::BTreeMap<&'a str, Vec<&'a str>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_input", detail)
    }

    pub fn not_found() -> Self {
        ApiError::from(DomainError::NotFound)
    }

    fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication credentials were not provided.",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            detail: &self.detail,
            code: self.code,
            errors: self
                .fields
                .iter()
                .fold(Default::default(), |mut m, (f, msg)| {
                    m.entry(*f).or_insert_with(Vec::new).push(msg.as_str());
                    m
                }),
        };
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "APIKey"));
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .json(body)
    }
}

const NO_PERMISSION: &str = "You do not have permission to perform this action.";

/// The API's words for each domain error. The SDK picks its exception class from phrases in
/// the body (`not found`, `already exists`, `is already a collaborator`, `cannot be added as
/// collaborator`, `do not have permission`, `cannot leave the organization`, ...), so every
/// message carries the phrase of its class and no other.
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        use StatusCode as S;
        let code = e.code();
        let message = e.message();
        let (status, detail, fields) = match e {
            DomainError::NotFound => (S::NOT_FOUND, "Not found.".to_string(), Vec::new()),
            DomainError::Forbidden(d) => {
                let detail = match d {
                    Denied::OrgRole { org, .. } => {
                        format!("{NO_PERMISSION} You need to be an administrator of {org}.")
                    }
                    Denied::DatasetRole { role, .. } => format!(
                        "{NO_PERMISSION} Your role on this dataset ({}) does not allow it.",
                        role.as_str()
                    ),
                    Denied::AdminRoleOnly => format!(
                        "{}: only dataset administrators can grant or change the administrator role.",
                        NO_PERMISSION.trim_end_matches('.')
                    ),
                    Denied::OthersAccount => format!(
                        "{}: datasets can be created only for yourself or for an organization you administer.",
                        NO_PERMISSION.trim_end_matches('.')
                    ),
                    Denied::InviteOnly { org } => format!(
                        "{}: {org} adds members only by invitation.",
                        NO_PERMISSION.trim_end_matches('.')
                    ),
                    Denied::NotInvitee => format!(
                        "{}: this invitation is for another account.",
                        NO_PERMISSION.trim_end_matches('.')
                    ),
                };
                (S::FORBIDDEN, detail, Vec::new())
            }
            DomainError::Invalid(errors) => {
                let fields: Vec<(&'static str, String)> =
                    errors.iter().map(|(f, m)| (f, m.to_string())).collect();
                let detail = match fields.first() {
                    Some((f, m)) => format!("Invalid {f}: {m}"),
                    None => "Invalid input.".into(),
                };
                (S::BAD_REQUEST, detail, fields)
            }
            DomainError::BadInput(m) => (S::BAD_REQUEST, m, Vec::new()),
            DomainError::Conflict(c) => {
                let detail = match c {
                    Conflict::NameTaken => "An account with this name already exists.".into(),
                    Conflict::EmailTaken => "An account with this email already exists.".into(),
                    Conflict::DatasetNameTaken => "A dataset with this name already exists.".into(),
                    Conflict::AlreadyMember { org } => {
                        format!("A membership of this user in {org} already exists.")
                    }
                    Conflict::AlreadyCollaborator => {
                        "This user is already a collaborator on this dataset.".into()
                    }
                    Conflict::AlreadyInvited { org } => {
                        format!("An invitation of this person to {org} already exists.")
                    }
                    Conflict::Duplicate => "This already exists.".into(),
                    Conflict::Concurrent => {
                        "Another change happened at the same moment; please try again.".into()
                    }
                };
                (S::CONFLICT, detail, Vec::new())
            }
            DomainError::UnknownUser => (S::NOT_FOUND, "User not found.".into(), Vec::new()),
            DomainError::IsOrganization(Joining::Dataset) => (
                S::BAD_REQUEST,
                "This account is an organization and cannot be added as collaborator.".into(),
                Vec::new(),
            ),
            DomainError::IsOrganization(Joining::Organization) => (
                S::BAD_REQUEST,
                "This account is an organization and cannot be added as a member of an organization.".into(),
                Vec::new(),
            ),
            DomainError::NotMember { .. } => (S::NOT_FOUND, "Member not found.".into(), Vec::new()),
            DomainError::NotCollaborator => (S::NOT_FOUND, "Collaborator not found.".into(), Vec::new()),
            DomainError::LastAdmin { org } => (
                S::CONFLICT,
                format!(
                    "{org} must keep at least one administrator: its last administrator cannot leave the organization, be removed or be demoted. Make another member an administrator first."
                ),
                Vec::new(),
            ),
            DomainError::Throttled { minutes } => (
                S::TOO_MANY_REQUESTS,
                format!("Request was throttled. Try again in {minutes} minutes."),
                Vec::new(),
            ),
            DomainError::BadCredentials => (S::UNAUTHORIZED, "Invalid API key.".into(), Vec::new()),
            // The API has no sessions; were one to end, it is a failed authentication.
            DomainError::SessionEnded(_) => (S::UNAUTHORIZED, "Invalid API key.".into(), Vec::new()),
            DomainError::InvitationLimit { .. } => (S::TOO_MANY_REQUESTS, message, Vec::new()),
            DomainError::InvitationClosed(_) => (S::GONE, message, Vec::new()),
            DomainError::EmailNotVerified { .. } => {
                (S::FORBIDDEN, format!("{NO_PERMISSION} {message}"), Vec::new())
            }
            DomainError::LinkInvalid => (S::NOT_FOUND, "Invitation not found.".into(), Vec::new()),
            DomainError::TooManyEmails { minutes } => (
                S::TOO_MANY_REQUESTS,
                format!("Request was throttled. Try again in {minutes} minutes."),
                Vec::new(),
            ),
            DomainError::Unavailable(cause) => {
                log::warn!("database unavailable: {cause}");
                (
                    S::SERVICE_UNAVAILABLE,
                    "Colabel cannot reach its database. Please retry in a moment.".into(),
                    Vec::new(),
                )
            }
            DomainError::Internal(cause) => {
                log::error!("internal error: {cause}");
                (S::INTERNAL_SERVER_ERROR, "A server error occurred.".into(), Vec::new())
            }
        };
        ApiError {
            status,
            code,
            detail,
            fields,
        }
    }
}

/// The API key a request carries (`Authorization: APIKey <key>`), and the client's address.
/// Missing (or another scheme) answers 401 before any database work; the key is checked by
/// [`run`].
pub struct Key {
    key: String,
    client: std::net::IpAddr,
}

impl FromRequest for Key {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let key = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("APIKey "))
            .map(|k| Key {
                key: k.trim().to_string(),
                client: crate::client::of(req).ip,
            });
        std::future::ready(key.ok_or_else(ApiError::unauthenticated))
    }
}

/// Runs `f` for the caller the key stands for, on the database threads: the key is checked
/// (one indexed read) in the same call as the work, and before anything of the request is
/// judged (a wrong key is a 401 whatever else is wrong).
pub async fn run<T, F>(state: &State, key: Key, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn, &Principal) -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    Ok(state
        .run(move |c| {
            let p = api_keys::authenticate(c, &key.key, key.client)?;
            f(c, &p)
        })
        .await?)
}

/// `?page=N&per_page=M`: 1-based pages of at most 1,000.
#[derive(Deserialize, Debug, Clone, Copy)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The most rows one page of the API holds (the SDK asks for 1,000 datasets at a time).
pub const MAX_PER_PAGE: i64 = 1000;

impl PageQuery {
    pub fn paging(&self, default_per_page: i64) -> Result<Paging, ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(default_per_page);
        // A page past the end is an empty list; a page below 1 is a mistake.
        if page < 1 {
            return Err(ApiError::bad_request("page must be 1 or more."));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::bad_request(format!(
                "per_page must be between 1 and {MAX_PER_PAGE}."
            )));
        }
        Ok(Paging { page, per_page })
    }
}

/// 200 with a JSON body.
pub fn ok<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// 201 with a JSON body.
pub fn created<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// 204, for a deletion.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// The middleware of every API resource: a NUL byte in the address (PostgreSQL cannot store
/// one, and no name holds one) is refused before any handler; every answer is `no-store`.
pub async fn guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let has_nul =
        |raw: &str| raw.contains('\0') || percent_encoding::percent_decode_str(raw).any(|b| b == 0);
    if has_nul(req.uri().path()) {
        return Ok(req
            .error_response(ApiError::not_found())
            .map_into_right_body());
    }
    if has_nul(req.query_string()) {
        let e = ApiError::bad_request("The address contains a NUL character.");
        return Ok(req.error_response(e).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// A method the resource does not answer: 405 with the methods it does (OPTIONS answers
/// them with 204).
pub fn method_not_allowed(
    allow: String,
) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone {
    move |req: HttpRequest| {
        let res = if req.method() == actix_web::http::Method::OPTIONS {
            HttpResponse::NoContent()
                .insert_header((header::ALLOW, allow.as_str()))
                .finish()
        } else {
            let mut res = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("Method \"{}\" not allowed.", req.method()),
            )
            .error_response();
            if let Ok(v) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            res
        };
        std::future::ready(res)
    }
}

/// How deep a body's arrays and objects may nest.
pub const MAX_DEPTH: usize = 32;

/// A JSON body of type `T`: `Content-Type: application/json`, at most [`MAX_BODY_BYTES`],
/// valid UTF-8, nested at most [`MAX_DEPTH`] deep, without a NUL character in any string
/// (PostgreSQL cannot store one), fields of `T` of the right types. Fields `T` does not
/// know are ignored, but checked like the rest. Every refusal is a 400 (413 for the size)
/// whose message never quotes the input.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        use futures_util::StreamExt;
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            // 400, as every other body that cannot be used (issue 12), with the limit.
            let too_large = || {
                ApiError::bad_request(format!(
                    "The request body is larger than {MAX_BODY_BYTES} bytes."
                ))
            };
            if !is_json {
                return Err(ApiError::bad_request(
                    "Send the body as JSON, with Content-Type: application/json.",
                ));
            }
            if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|_| ApiError::bad_request("The request body could not be read."))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(describe_json_error(&e, true)))?;
            check_value(&value, 0)?;
            serde_json::from_value(value)
                .map(Body)
                .map_err(|e| ApiError::bad_request(describe_json_error(&e, false)))
        })
    }
}

/// Refuses nesting deeper than [`MAX_DEPTH`] and NUL characters, anywhere in a body.
fn check_value(value: &serde_json::Value, depth: usize) -> Result<(), ApiError> {
    use serde_json::Value;
    if depth > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "The request body nests deeper than {MAX_DEPTH} levels."
        )));
    }
    let nul = || ApiError::bad_request("The request body contains a NUL character.");
    match value {
        Value::String(s) if s.contains('\0') => Err(nul()),
        Value::Array(items) => items.iter().try_for_each(|v| check_value(v, depth + 1)),
        Value::Object(fields) => fields.iter().try_for_each(|(k, v)| {
            if k.contains('\0') {
                return Err(nul());
            }
            check_value(v, depth + 1)
        }),
        _ => Ok(()),
    }
}

/// What is wrong with a JSON body, without quoting it (a quoted value could carry a phrase
/// by which the SDK would misclassify the error); by position while it was being parsed.
fn describe_json_error(e: &serde_json::Error, parsing: bool) -> String {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof => {
            format!("Malformed JSON in the request body (line {line}, column {column}).")
        }
        Category::Data => {
            let text = e.to_string();
            // "missing field `name`": the name is ours, safe to repeat.
            let missing = text
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            match (missing, parsing) {
                (Some(field), _) => format!("The field {field} is required."),
                (None, true) => format!(
                    "A value in the request body has the wrong type (line {line}, column {column})."
                ),
                (None, false) => "A value in the request body has the wrong type.".into(),
            }
        }
        Category::Io => "The request body could not be read.".into(),
    }
}

/// Query strings that do not parse: 400.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|_, _| {
        ApiError::bad_request(
            "The query string is malformed: page and per_page must be whole numbers.",
        )
        .into()
    })
}

/// Path segments that do not parse: the same 404 as for anything that does not exist.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into())
}

/// Formats a stored UTC time as the SDK's models expect (ISO 8601, `Z`).
pub fn iso(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// An address under the API's paths that no endpoint answers: the key is asked for first,
/// as everywhere in the API, then the same JSON 404 as for anything that does not exist.
pub async fn no_such_endpoint(state: State, key: Key) -> Result<HttpResponse, ApiError> {
    run(&state, key, |_, _| Err::<(), _>(DomainError::NotFound)).await?;
    Err(ApiError::not_found())
}
