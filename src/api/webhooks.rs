//! Colabel's own endpoints for organization webhooks (administrators): list, create (the
//! secret is in the answer this once), read, change, delete, ping, the deliveries log and
//! redeliver. The body every delivery carries is the `WebhookPayload` schema.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{created, iso, no_content, ok, run, ApiError, Body, Key, State};
use crate::app::webhooks::{self as uc, WebhookForm, WebhookPatch, WebhookRef};
use crate::db::write_tx;
use crate::domain::webhooks::EventSet;
use crate::models::webhooks::{Attempt, Delivery, Webhook};

/// A webhook (never its secret).
#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: i32,
    /// The payload URL.
    pub url: String,
    /// The event names it hears; `["*"]` for all.
    pub events: Vec<String>,
    pub active: bool,
    /// Failed attempts in a row; at the configured limit the webhook is disabled.
    pub consecutive_failures: i32,
    /// Why it was disabled, if it was (empty otherwise).
    pub disabled_reason: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl WebhookOut {
    pub fn of(w: &Webhook) -> Self {
        WebhookOut {
            id: w.id,
            url: w.url.clone(),
            events: EventSet::from_stored(&w.events).names(),
            active: w.active,
            consecutive_failures: w.consecutive_failures,
            disabled_reason: w.disabled_reason.clone(),
            created_by: w.created_by.clone(),
            created_at: iso(w.created_at),
            updated_at: iso(w.updated_at),
        }
    }
}

/// A new webhook and its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// The HMAC-SHA256 key of `X-Colabel-Signature-256`; it is not shown again.
    pub secret: String,
}

/// `POST /organizations/{org}/webhooks/`.
#[derive(Deserialize, ToSchema)]
pub struct NewWebhook {
    /// `https://` or `http://`; loopback, private and link-local addresses are refused.
    pub url: String,
    /// Event names, or `["*"]` (the default) for all.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Default `true`; a new active webhook is sent a `ping`.
    #[serde(default)]
    pub active: Option<bool>,
    /// 16 to 200 characters; default: a generated one.
    #[serde(default)]
    pub secret: Option<String>,
}

/// `PATCH /organizations/{org}/webhooks/{id}`: only the fields given change. Making a
/// webhook active again clears its failures.
#[derive(Deserialize, ToSchema)]
pub struct WebhookChange {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub active: Option<bool>,
    /// A new secret.
    #[serde(default)]
    pub secret: Option<String>,
}

/// The body of a ping or a redelivery: an object, fields ignored (`{}`).
#[derive(Deserialize, ToSchema)]
pub struct NoFields {}

/// One attempt at a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    pub attempt: i32,
    /// The answer's status; `null` when none came (a network error, a refused address).
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    pub error: String,
    pub request_headers: String,
    pub response_headers: String,
    /// The first 2 KB of the answer's body.
    pub response_body: String,
    pub at: String,
}

/// A delivery of one event to the webhook.
#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    /// The `X-Colabel-Delivery` id, the same on every attempt.
    pub delivery: String,
    pub event: String,
    /// `queued`, `ok`, `failed` or `skipped` (the webhook was inactive).
    pub status: String,
    pub attempts: i32,
    pub status_code: Option<i32>,
    /// The body sent (a `WebhookPayload`).
    pub payload: String,
    pub created_at: String,
    pub attempt_log: Vec<AttemptOut>,
}

impl DeliveryOut {
    fn of(d: &Delivery, attempts: &[Attempt]) -> Self {
        DeliveryOut {
            delivery: d.guid.clone(),
            event: d.event.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            status_code: d.status_code,
            payload: d.payload.clone(),
            created_at: iso(d.created_at),
            attempt_log: attempts
                .iter()
                .map(|a| AttemptOut {
                    attempt: a.attempt,
                    status_code: a.status_code,
                    duration_ms: a.duration_ms,
                    error: a.error.clone(),
                    request_headers: a.request_headers.clone(),
                    response_headers: a.response_headers.clone(),
                    response_body: a.response_body.clone(),
                    at: iso(a.created_at),
                })
                .collect(),
        }
    }
}

/// The organization's webhooks (administrators).
#[utoipa::path(get, path = "/organizations/{org}/webhooks/", tag = "Webhooks",
    params(("org" = String, Path)),
    responses((status = 200, body = [WebhookOut]), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn list_webhooks(
    state: State,
    key: Key,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org = path.into_inner();
    let (_, _, hooks) = run(&state, key, move |c, p| uc::list(c, p, &org)).await?;
    Ok(ok(&hooks.iter().map(WebhookOut::of).collect::<Vec<_>>()))
}

/// Adds a webhook (administrators); an active one is sent a `ping` at once. The answer
/// holds the secret, which is never shown again.
#[utoipa::path(post, path = "/organizations/{org}/webhooks/", tag = "Webhooks", request_body = NewWebhook,
    params(("org" = String, Path)),
    responses((status = 201, body = WebhookCreated), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn create_webhook(
    state: State,
    key: Key,
    path: web::Path<String>,
    body: Body<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let org = path.into_inner();
    let settings = state.settings.webhooks.clone();
    let made = run(&state, key, move |c, p| {
        let form = WebhookForm {
            url: body.url,
            events: body.events.unwrap_or_else(|| vec!["*".into()]),
            active: body.active.unwrap_or(true),
            secret: body.secret.unwrap_or_default(),
        };
        write_tx(c, |tx| uc::create(tx, p, &settings, &org, form))
    })
    .await?;
    Ok(created(&WebhookCreated {
        webhook: WebhookOut::of(&made.webhook),
        secret: made.secret,
    }))
}

/// One webhook.
#[utoipa::path(get, path = "/organizations/{org}/webhooks/{id}", tag = "Webhooks",
    params(("org" = String, Path), ("id" = i32, Path)),
    responses((status = 200, body = WebhookOut), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn get_webhook(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let at = webhook_ref(path.into_inner())?;
    let view = run(&state, key, move |c, p| uc::show(c, p, at)).await?;
    Ok(ok(&WebhookOut::of(&view.webhook)))
}

fn webhook_ref((org, id): (String, String)) -> Result<WebhookRef, ApiError> {
    let id = id
        .parse::<i32>()
        .map_err(|_| ApiError::from(crate::app::DomainError::NotFound))?;
    Ok(WebhookRef { org, id })
}

/// Changes a webhook (administrators).
#[utoipa::path(patch, path = "/organizations/{org}/webhooks/{id}", tag = "Webhooks", request_body = WebhookChange,
    params(("org" = String, Path), ("id" = i32, Path)),
    responses((status = 200, body = WebhookOut), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn update_webhook(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
    body: Body<WebhookChange>,
) -> Result<HttpResponse, ApiError> {
    let at = webhook_ref(path.into_inner())?;
    let body = body.0;
    let settings = state.settings.webhooks.clone();
    let (_, hook) = run(&state, key, move |c, p| {
        let patch = WebhookPatch {
            url: body.url,
            events: body.events,
            active: body.active,
            secret: body.secret,
        };
        write_tx(c, |tx| uc::update(tx, p, &settings, at, patch))
    })
    .await?;
    Ok(ok(&WebhookOut::of(&hook)))
}

/// Deletes a webhook and its deliveries log (administrators).
#[utoipa::path(delete, path = "/organizations/{org}/webhooks/{id}", tag = "Webhooks",
    params(("org" = String, Path), ("id" = i32, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn delete_webhook(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let at = webhook_ref(path.into_inner())?;
    run(&state, key, move |c, p| {
        write_tx(c, |tx| uc::delete(tx, p, at)).map(drop)
    })
    .await?;
    Ok(no_content())
}

/// Sends a `ping` to an active webhook (administrators).
#[utoipa::path(post, path = "/organizations/{org}/webhooks/{id}/pings/", tag = "Webhooks", request_body = NoFields,
    params(("org" = String, Path), ("id" = i32, Path)),
    responses((status = 202), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn ping_webhook(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
    _body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let at = webhook_ref(path.into_inner())?;
    run(&state, key, move |c, p| {
        write_tx(c, |tx| uc::ping(tx, p, at)).map(drop)
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// The webhook's latest 50 deliveries, newest first, with every attempt (administrators).
#[utoipa::path(get, path = "/organizations/{org}/webhooks/{id}/deliveries/", tag = "Webhooks",
    params(("org" = String, Path), ("id" = i32, Path)),
    responses((status = 200, body = [DeliveryOut]), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn webhook_deliveries(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let at = webhook_ref(path.into_inner())?;
    let view = run(&state, key, move |c, p| uc::show(c, p, at)).await?;
    let out: Vec<DeliveryOut> = view
        .deliveries
        .iter()
        .map(|(d, a)| DeliveryOut::of(d, a))
        .collect();
    Ok(ok(&out))
}

/// Sends a delivery again, with the same delivery id and body (administrators).
#[utoipa::path(post, path = "/organizations/{org}/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "Webhooks", request_body = NoFields,
    params(("org" = String, Path), ("id" = i32, Path), ("delivery" = String, Path)),
    responses((status = 202), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn redeliver_delivery(
    state: State,
    key: Key,
    path: web::Path<(String, String, String)>,
    _body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let (org, id, guid) = path.into_inner();
    let at = webhook_ref((org, id))?;
    run(&state, key, move |c, p| {
        write_tx(c, |tx| uc::redeliver(tx, p, at, &guid)).map(drop)
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}
