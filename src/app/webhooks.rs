//! Organization webhooks (administrators): create (its secret shown once, and a ping sent),
//! change, delete, list, the deliveries log, ping and redeliver. Changes lock the
//! organization first, then read the caller's role, then ask the permission table (managing
//! webhooks is part of managing the organization), like every organization use case.
//!
//! The events themselves are queued by `models::audit::record`, in the transaction of the
//! change they describe; this module only configures where they go.

use chrono::{NaiveDateTime, Utc};

use crate::app::authz;
use crate::app::error::{DomainError, FieldErrors};
use crate::app::principal::Principal;
use crate::auth::random_token;
use crate::config::WebhookSettings;
use crate::db::{DbConn, WriteTx};
use crate::domain::roles::{OrgAction, OrgRole};
use crate::domain::webhooks::{check_url, EventSet, PayloadAccount, Subject, WebhookEvent};
use crate::models::audit::{queue_payload, Hook};
use crate::models::orgs::{self, Org};
use crate::models::webhooks::{self as rows, Attempt, Delivery, NewWebhook, Webhook};

type Result<T> = std::result::Result<T, DomainError>;

/// Deliveries shown in a webhook's log (the newest).
pub const LOG_SIZE: i64 = 50;

/// The shortest and longest secret an administrator may choose.
pub const SECRET_LEN: (usize, usize) = (16, 200);

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn lock_for(tx: &mut WriteTx<'_>, p: &Principal, name: &str) -> Result<Org> {
    let org = orgs::lock(tx, name)?.ok_or(DomainError::NotFound)?;
    let role = orgs::role_of(tx, org.id, p.user_id)?;
    authz::org(&org.username, role, OrgAction::Manage)?;
    Ok(org)
}

fn find_for(conn: &mut DbConn, p: &Principal, name: &str) -> Result<(Org, OrgRole)> {
    let (org, role) = orgs::find_with_role(conn, name, p.user_id)?.ok_or(DomainError::NotFound)?;
    let role = authz::org(&org.username, role, OrgAction::Manage)?;
    Ok((org, role))
}

/// A webhook's settings as a form or the API sends them.
#[derive(Clone, Debug, Default)]
pub struct WebhookForm {
    pub url: String,
    /// Event names; `*` for all.
    pub events: Vec<String>,
    pub active: bool,
    /// Empty: generate one (on creation) or keep it (on a change).
    pub secret: String,
}

struct Checked {
    url: String,
    events: EventSet,
    secret: Option<String>,
}

fn check(form: &WebhookForm, settings: &WebhookSettings) -> Result<Checked> {
    let mut errors = FieldErrors::default();
    let url = match check_url(&form.url, settings.allow_private) {
        Ok(u) => u,
        Err(m) => {
            errors.add("url", m);
            String::new()
        }
    };
    let events = match EventSet::parse(form.events.iter().map(String::as_str)) {
        Ok(e) => e,
        Err(m) => {
            errors.add("events", m);
            EventSet::All
        }
    };
    let secret = form.secret.trim();
    let secret = if secret.is_empty() {
        None
    } else if !(SECRET_LEN.0..=SECRET_LEN.1).contains(&secret.chars().count())
        || secret.chars().any(char::is_control)
    {
        errors.add(
            "secret",
            format!(
                "Use {} to {} characters, or leave it empty for a generated secret.",
                SECRET_LEN.0, SECRET_LEN.1
            ),
        );
        None
    } else {
        Some(secret.to_string())
    };
    errors.into_result(Checked {
        url,
        events,
        secret,
    })
}

/// A webhook that was made: the only time its secret is shown.
#[derive(Clone, Debug)]
pub struct Created {
    pub org: String,
    pub webhook: Webhook,
    pub secret: String,
}

/// "Add webhook": saves it and sends a ping.
pub fn create(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    settings: &WebhookSettings,
    org: &str,
    form: WebhookForm,
) -> Result<Created> {
    let checked = check(&form, settings);
    let org = lock_for(tx, p, org)?;
    let checked = checked?;
    if rows::count(tx, org.id)? >= rows::MAX_PER_ORG {
        let mut errors = FieldErrors::default();
        errors.add(
            "url",
            format!(
                "{} has {} webhooks, the most it may have; delete one first.",
                org.username,
                rows::MAX_PER_ORG
            ),
        );
        return Err(DomainError::Invalid(errors));
    }
    let secret = checked.secret.unwrap_or_else(|| random_token(40));
    let t = now();
    let id = rows::insert(
        tx,
        NewWebhook {
            org_id: org.id,
            url: &checked.url,
            secret: &secret,
            events: &checked.events.stored(),
            active: form.active,
            created_by: &p.username,
        },
        t,
    )?;
    if form.active {
        ping_one(tx, p, &org, id)?;
    }
    let webhook = rows::find(tx, org.id, id)?.ok_or(DomainError::NotFound)?;
    Ok(Created {
        org: org.username,
        webhook,
        secret,
    })
}

fn ping_one(tx: &mut WriteTx<'_>, p: &Principal, org: &Org, id: i32) -> Result<()> {
    queue_payload(
        tx,
        org.id,
        WebhookEvent::Ping,
        Some(PayloadAccount {
            name: p.username.clone(),
        }),
        Some(Subject {
            kind: "webhook".into(),
            name: id.to_string(),
        }),
        Hook::default(),
        "ping".into(),
        Some(id),
    )?;
    Ok(())
}

/// Which webhook of which organization.
#[derive(Clone, Debug)]
pub struct WebhookRef {
    pub org: String,
    pub id: i32,
}

/// A change of a webhook: the fields given replace the current ones.
#[derive(Clone, Debug, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
    /// A new secret (empty or `None` keeps it).
    pub secret: Option<String>,
}

/// Saves a webhook's URL, events, secret (when one is given) and state; making it active
/// again clears its failures and the reason it was disabled.
pub fn update(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    settings: &WebhookSettings,
    at: WebhookRef,
    patch: WebhookPatch,
) -> Result<(String, Webhook)> {
    let org = lock_for(tx, p, &at.org)?;
    let current = rows::find(tx, org.id, at.id)?.ok_or(DomainError::NotFound)?;
    let form = WebhookForm {
        url: patch.url.unwrap_or(current.url),
        events: patch
            .events
            .unwrap_or_else(|| EventSet::from_stored(&current.events).names()),
        active: patch.active.unwrap_or(current.active),
        secret: patch.secret.unwrap_or_default(),
    };
    let checked = check(&form, settings)?;
    rows::update(
        tx,
        at.id,
        &checked.url,
        &checked.events.stored(),
        form.active,
        checked.secret.as_deref(),
        now(),
    )?;
    let webhook = rows::find(tx, org.id, at.id)?.ok_or(DomainError::NotFound)?;
    Ok((org.username, webhook))
}

pub fn delete(tx: &mut WriteTx<'_>, p: &Principal, at: WebhookRef) -> Result<String> {
    let org = lock_for(tx, p, &at.org)?;
    rows::find(tx, org.id, at.id)?.ok_or(DomainError::NotFound)?;
    rows::delete(tx, at.id)?;
    Ok(org.username)
}

fn active_one(tx: &mut WriteTx<'_>, org: &Org, id: i32) -> Result<Webhook> {
    let hook = rows::find(tx, org.id, id)?.ok_or(DomainError::NotFound)?;
    if !hook.active {
        return Err(DomainError::BadInput(
            "This webhook is inactive: make it active first.".into(),
        ));
    }
    Ok(hook)
}

/// Sends a ping now.
pub fn ping(tx: &mut WriteTx<'_>, p: &Principal, at: WebhookRef) -> Result<String> {
    let org = lock_for(tx, p, &at.org)?;
    active_one(tx, &org, at.id)?;
    ping_one(tx, p, &org, at.id)?;
    Ok(org.username)
}

/// Sends a delivery again: the same delivery id and body.
pub fn redeliver(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    at: WebhookRef,
    guid: &str,
) -> Result<String> {
    let org = lock_for(tx, p, &at.org)?;
    active_one(tx, &org, at.id)?;
    let d = rows::delivery_by_guid(tx, at.id, guid)?.ok_or(DomainError::NotFound)?;
    rows::requeue(tx, d.id, crate::jobs::WEBHOOK_MAX_ATTEMPTS, now())?;
    Ok(org.username)
}

/// The Webhooks subtab: the organization's webhooks.
pub fn list(conn: &mut DbConn, p: &Principal, org: &str) -> Result<(Org, OrgRole, Vec<Webhook>)> {
    let (org, role) = find_for(conn, p, org)?;
    let hooks = rows::list(conn, org.id)?;
    Ok((org, role, hooks))
}

/// A webhook's page: its settings and its latest deliveries with their attempts.
pub struct WebhookView {
    pub org: Org,
    pub role: OrgRole,
    pub webhook: Webhook,
    pub deliveries: Vec<(Delivery, Vec<Attempt>)>,
}

pub fn show(conn: &mut DbConn, p: &Principal, at: WebhookRef) -> Result<WebhookView> {
    let (org, role) = find_for(conn, p, &at.org)?;
    let webhook = rows::find(conn, org.id, at.id)?.ok_or(DomainError::NotFound)?;
    let (deliveries, attempts) = rows::recent(conn, webhook.id, LOG_SIZE)?;
    let mut grouped: Vec<(Delivery, Vec<Attempt>)> =
        deliveries.into_iter().map(|d| (d, Vec::new())).collect();
    for a in attempts {
        if let Some((_, list)) = grouped.iter_mut().find(|(d, _)| d.id == a.delivery_id) {
            list.push(a);
        }
    }
    Ok(WebhookView {
        org,
        role,
        webhook,
        deliveries: grouped,
    })
}
