//! The Webhooks subtab of an organization's settings (administrators): the list and the
//! "Add webhook" form (the new secret is shown once, on the page that answers it), and a
//! page per webhook with its settings, Ping, Delete, and the deliveries log with Redeliver.
//! Forms carry repeated `events` fields, so their bodies are read as pairs.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::app::webhooks::{self as uc, WebhookForm, WebhookPatch, WebhookRef, WebhookView};
use crate::app::{DomainError, FieldErrors, Principal};
use crate::db::write_tx;
use crate::domain::roles::OrgRole;
use crate::domain::webhooks::{EventSet, WebhookEvent};
use crate::html::error::HtmlError;
use crate::html::layout::{flash_success, form_errors, invalid, ok, redirect, Layout};
use crate::html::State;
use crate::models::orgs::Org;
use crate::models::webhooks::{Attempt, Delivery, Webhook};

/// The fields of a webhook form.
#[derive(Default, Clone)]
struct Fields {
    /// `None` when the form has no `action` field at all.
    action: Option<String>,
    url: String,
    events: Vec<String>,
    all: bool,
    active: bool,
    secret: String,
    delivery: String,
}

impl Fields {
    /// Reads a form; a field other than `events` sent twice is a forged form (400).
    fn parse(body: &[u8]) -> Result<Fields, HtmlError> {
        let mut f = Fields::default();
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            if k != "events" {
                if seen.iter().any(|s| *s == k) {
                    return Err(HtmlError::from(DomainError::BadInput(format!(
                        "The form is not valid: duplicate field `{k}`."
                    ))));
                }
                seen.push(k.to_string());
            }
            match &*k {
                "action" => f.action = Some(v.into_owned()),
                "url" => f.url = v.into_owned(),
                "events" => f.events.push(v.into_owned()),
                "all" => f.all = v == "on",
                "active" => f.active = v == "on",
                "secret" => f.secret = v.into_owned(),
                "delivery" => f.delivery = v.into_owned(),
                _ => {}
            }
        }
        Ok(f)
    }

    fn events(&self) -> Vec<String> {
        if self.all {
            vec!["*".into()]
        } else {
            self.events.clone()
        }
    }
}

/// A webhook as the list shows it.
struct Row {
    hook: Webhook,
    events: String,
}

fn describe(events: &str) -> String {
    match EventSet::from_stored(events) {
        EventSet::All => "All events".into(),
        EventSet::Some(v) => v.iter().map(|e| e.label()).collect::<Vec<_>>().join(", "),
    }
}

#[derive(Template)]
#[template(path = "orgs/webhooks.html")]
struct WebhooksPage {
    ctx: Layout,
    org: Org,
    role: OrgRole,
    tab: &'static str,
    subtab: &'static str,
    hooks: Vec<Row>,
    form: Fields,
    errors: FieldErrors,
    choices: &'static [WebhookEvent],
    /// Just made: its id and secret, shown this once.
    created: Option<(i32, String)>,
}

impl WebhooksPage {
    fn checked(&self, e: &WebhookEvent) -> bool {
        self.form.events.iter().any(|n| n == e.as_str())
    }
}

fn rows(hooks: Vec<Webhook>) -> Vec<Row> {
    hooks
        .into_iter()
        .map(|hook| Row {
            events: describe(&hook.events),
            hook,
        })
        .collect()
}

fn list_page(
    session: &Session,
    user: &Principal,
    state: &State,
    (org, role, hooks): (Org, OrgRole, Vec<Webhook>),
    form: Fields,
    errors: FieldErrors,
    created: Option<(i32, String)>,
) -> WebhooksPage {
    WebhooksPage {
        ctx: Layout::new(
            session,
            Some(user),
            state.nav(),
            format!("Webhooks · {}", org.username),
        ),
        org,
        role,
        tab: "settings",
        subtab: "webhooks",
        hooks: rows(hooks),
        form,
        errors,
        choices: WebhookEvent::choosable(),
        created,
    }
}

/// `GET /{org}/settings/webhooks`.
pub async fn list(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let view = state.run(move |c| uc::list(c, &p, &path)).await?;
    let form = Fields {
        all: true,
        active: true,
        ..Fields::default()
    };
    ok(&list_page(
        &session,
        &user,
        &state,
        view,
        form,
        FieldErrors::default(),
        None,
    ))
}

/// `POST /{org}/settings/webhooks`: "Add webhook".
pub async fn create(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, HtmlError> {
    let fields = Fields::parse(&body)?;
    let form = WebhookForm {
        url: fields.url.clone(),
        events: fields.events(),
        active: fields.active,
        secret: fields.secret.clone(),
    };
    let settings = state.settings().webhooks.clone();
    let (p, name) = (user.clone(), path.into_inner());
    let outcome = state
        .run(
            move |c| match write_tx(c, |tx| uc::create(tx, &p, &settings, &name, form)) {
                Ok(made) => Ok(Ok((made.webhook.id, made.secret, uc::list(c, &p, &name)?))),
                Err(e) => {
                    let errors = form_errors(e, |_| None)?;
                    Ok(Err((errors, uc::list(c, &p, &name)?)))
                }
            },
        )
        .await?;
    match outcome {
        Ok((id, secret, view)) => {
            let form = Fields {
                all: true,
                active: true,
                ..Fields::default()
            };
            let page = list_page(
                &session,
                &user,
                &state,
                view,
                form,
                FieldErrors::default(),
                Some((id, secret)),
            );
            ok(&page)
        }
        Err((errors, view)) => {
            let fields = Fields {
                secret: String::new(),
                ..fields
            };
            invalid(&list_page(
                &session, &user, &state, view, fields, errors, None,
            ))
        }
    }
}

/// A delivery and its attempts as the log shows them.
struct LogEntry {
    d: Delivery,
    attempts: Vec<Attempt>,
}

impl LogEntry {
    fn when(&self) -> String {
        self.d
            .created_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string()
    }

    fn code(&self) -> String {
        self.d
            .status_code
            .map_or_else(|| "—".to_string(), |c| c.to_string())
    }

    fn pretty_payload(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.d.payload)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| self.d.payload.clone())
    }
}

fn attempt_when(a: &Attempt) -> String {
    a.created_at.format("%H:%M:%S").to_string()
}

#[derive(Template)]
#[template(path = "orgs/webhook.html")]
struct WebhookPage {
    ctx: Layout,
    org: Org,
    role: OrgRole,
    tab: &'static str,
    subtab: &'static str,
    hook: Webhook,
    form: Fields,
    errors: FieldErrors,
    choices: &'static [WebhookEvent],
    log: Vec<LogEntry>,
}

impl WebhookPage {
    fn checked(&self, e: &WebhookEvent) -> bool {
        self.form.events.iter().any(|n| n == e.as_str())
    }

    fn when(&self, a: &Attempt) -> String {
        attempt_when(a)
    }
}

fn fields_of(hook: &Webhook) -> Fields {
    let set = EventSet::from_stored(&hook.events);
    Fields {
        url: hook.url.clone(),
        all: set == EventSet::All,
        events: match set {
            EventSet::All => Vec::new(),
            EventSet::Some(v) => v.iter().map(|e| e.as_str().to_string()).collect(),
        },
        active: hook.active,
        ..Fields::default()
    }
}

fn webhook_page(
    session: &Session,
    user: &Principal,
    state: &State,
    view: WebhookView,
    form: Option<Fields>,
    errors: FieldErrors,
) -> WebhookPage {
    let form = form.unwrap_or_else(|| fields_of(&view.webhook));
    WebhookPage {
        ctx: Layout::new(
            session,
            Some(user),
            state.nav(),
            format!("Webhook {} · {}", view.webhook.id, view.org.username),
        ),
        org: view.org,
        role: view.role,
        tab: "settings",
        subtab: "webhooks",
        hook: view.webhook,
        form,
        errors,
        choices: WebhookEvent::choosable(),
        log: view
            .deliveries
            .into_iter()
            .map(|(d, attempts)| LogEntry { d, attempts })
            .collect(),
    }
}

fn webhook_ref(org: String, id: &str) -> Result<WebhookRef, HtmlError> {
    let id = id.parse::<i32>().map_err(|_| HtmlError::NotFound)?;
    Ok(WebhookRef { org, id })
}

/// `GET /{org}/settings/webhooks/{id}`.
pub async fn show(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HtmlError> {
    let (org, id) = path.into_inner();
    let at = webhook_ref(org, &id)?;
    let p = user.clone();
    let view = state.run(move |c| uc::show(c, &p, at)).await?;
    ok(&webhook_page(
        &session,
        &user,
        &state,
        view,
        None,
        FieldErrors::default(),
    ))
}

/// `POST /{org}/settings/webhooks/{id}`: `action` = update, ping, redeliver or delete.
pub async fn act(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, HtmlError> {
    let (org, id) = path.into_inner();
    let at = webhook_ref(org, &id)?;
    let fields = Fields::parse(&body)?;
    let p = user.clone();
    let back = format!("/{}/settings/webhooks/{}", at.org, at.id);
    match fields.action.as_deref() {
        None => Err(HtmlError::from(DomainError::BadInput(
            "The form is incomplete: missing field `action`.".into(),
        ))),
        Some("update") => {
            let patch = WebhookPatch {
                url: Some(fields.url.clone()),
                events: Some(fields.events()),
                active: Some(fields.active),
                secret: Some(fields.secret.clone()),
            };
            let settings = state.settings().webhooks.clone();
            let outcome = state
                .run(move |c| {
                    match write_tx(c, |tx| uc::update(tx, &p, &settings, at.clone(), patch)) {
                        Ok(_) => Ok(Ok(())),
                        Err(e) => {
                            let errors = form_errors(e, |_| None)?;
                            Ok(Err((errors, uc::show(c, &p, at)?)))
                        }
                    }
                })
                .await?;
            match outcome {
                Ok(()) => {
                    flash_success(&session, "The webhook was saved.");
                    Ok(redirect(&back))
                }
                Err((errors, view)) => {
                    let fields = Fields {
                        secret: String::new(),
                        ..fields
                    };
                    invalid(&webhook_page(
                        &session,
                        &user,
                        &state,
                        view,
                        Some(fields),
                        errors,
                    ))
                }
            }
        }
        Some("ping") => {
            state
                .run(move |c| write_tx(c, |tx| uc::ping(tx, &p, at)))
                .await?;
            flash_success(&session, "A ping is on its way; its delivery shows below.");
            Ok(redirect(&back))
        }
        Some("redeliver") => {
            let guid = fields.delivery.clone();
            state
                .run(move |c| write_tx(c, |tx| uc::redeliver(tx, &p, at, &guid)))
                .await?;
            flash_success(
                &session,
                format!("Delivery {} will be sent again.", fields.delivery),
            );
            Ok(redirect(&back))
        }
        Some("delete") => {
            let org = state
                .run(move |c| write_tx(c, |tx| uc::delete(tx, &p, at)))
                .await?;
            flash_success(&session, "The webhook was deleted.");
            Ok(redirect(&format!("/{org}/settings/webhooks")))
        }
        _ => Err(HtmlError::from(DomainError::BadInput(
            "Unknown webhook action.".into(),
        ))),
    }
}
