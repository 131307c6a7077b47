//! The OpenAPI 3.1 document of the API, generated from the handlers and the wire types
//! (utoipa), served at `/api/openapi.json`; the reference page (`/api`) is rendered from it.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{datasets, orgs, users, webhooks, wire};
use crate::domain::webhooks as payload;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Colabel API",
        description = "The JSON API of Colabel: the paths of the Segments.ai Python SDK (`segments-ai`), at the root of the origin, and Colabel's own members and audit endpoints. Authenticate with a personal API key from Settings → API keys, sent as `Authorization: APIKey <key>`. Every path answers with and without its trailing slash. Errors are `{\"detail\": \"...\"}`.",
        license(name = "MIT")
    ),
    paths(
        users::api_status, users::me, users::account,
        datasets::mine, datasets::create_mine, datasets::of_account, datasets::create_in_org,
        datasets::get, datasets::update, datasets::delete, datasets::clone,
        datasets::collaborators, datasets::add_collaborator, datasets::collaborator,
        datasets::change_collaborator, datasets::remove_collaborator, datasets::access,
        orgs::members, orgs::add_member, orgs::member, orgs::change_member, orgs::remove_member,
        orgs::leave, orgs::audit,
        webhooks::list_webhooks, webhooks::create_webhook, webhooks::get_webhook, webhooks::update_webhook, webhooks::delete_webhook,
        webhooks::ping_webhook, webhooks::webhook_deliveries, webhooks::redeliver_delivery,
    ),
    components(schemas(
        wire::User, wire::Membership, wire::Member, wire::Owner, wire::Empty, wire::Dataset,
        wire::Collaborator, wire::AuditEvent, wire::Status, wire::NewDataset, wire::DatasetPatch,
        wire::CloneRequest, wire::NewCollaborator, wire::CollaboratorPatch, wire::NewMember,
        wire::MemberPatch, wire::Grantee,
        webhooks::WebhookOut, webhooks::WebhookCreated, webhooks::NewWebhook,
        webhooks::WebhookChange, webhooks::DeliveryOut, webhooks::AttemptOut, webhooks::NoFields,
        payload::Payload, payload::PayloadAccount, payload::Subject, payload::Roles,
    )),
    modifiers(&KeyScheme),
    tags(
        (name = "Account", description = "The key check, you, and accounts"),
        (name = "Datasets", description = "Datasets you own, administer or collaborate on"),
        (name = "Collaborators", description = "Who has a role on a dataset"),
        (name = "Organizations", description = "Members, leaving, and the audit log (Colabel's own; the SDK has none)"),
        (name = "Webhooks", description = "Organization webhooks and their deliveries. Each delivery is a POST of a `Payload` (schema below) with `Content-Type: application/json`, `X-Colabel-Event`, `X-Colabel-Delivery` (the same on every attempt) and `X-Colabel-Signature-256: sha256=<hex HMAC-SHA256 of the body with the webhook's secret>`"),
    )
)]
struct ApiDoc;

struct KeyScheme;

impl Modify for KeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "Authorization",
                    "`APIKey <key>`: a personal API key from Settings → API keys",
                ))),
            );
        }
    }
}

/// The document (built once).
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        doc
    })
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> HttpResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| document().to_pretty_json().unwrap_or_default());
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(json.as_str())
}
