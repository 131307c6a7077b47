//! The audit log: who did what to whom, and when. Written in the same transaction as the
//! change; names are copied so that history survives removals.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::auth::random_token;
use crate::db::DbConn;
use crate::domain::audit::Action;
use crate::domain::webhooks::{Payload, PayloadAccount, Roles, Subject, WebhookEvent};
use crate::models::webhooks::{self, QueuedEvent};
use crate::models::Page;
use crate::schema::audit_events;

/// One event to write.
pub struct Event<'a> {
    pub account_id: i32,
    pub actor_id: Option<i32>,
    pub actor_name: &'a str,
    pub action: Action,
    pub subject: Option<&'a str>,
    pub details: String,
    /// What the organization's webhooks are told beyond the above.
    pub hook: Hook,
}

/// The structured part of a change that webhook payloads carry (the audit log itself keeps
/// the text of `details`).
#[derive(Default, Clone, Debug)]
pub struct Hook {
    /// The dataset of a collaborator change.
    pub dataset: Option<String>,
    pub before: Option<Roles>,
    pub after: Option<Roles>,
    /// Tell no webhook (an event already told them about this change).
    pub silent: bool,
}

/// Writes the audit event and, for an action that webhooks hear, a delivery (and its job)
/// for each of the account's active webhooks that listen for it: the one place every use
/// case goes through, so no change is audited without its webhook events, in the same
/// transaction.
pub fn record(conn: &mut DbConn, e: Event<'_>) -> QueryResult<()> {
    if let Some(event) = WebhookEvent::of(e.action).filter(|_| !e.hook.silent) {
        queue_webhooks(conn, &e, event)?;
        // Joining by invitation is also a member added, for receivers that follow members.
        if e.action == Action::InvitationAccepted && e.hook.after.is_some() {
            queue_webhooks(conn, &e, WebhookEvent::MemberAdded)?;
        }
    }
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::account_id.eq(e.account_id),
            audit_events::actor_id.eq(e.actor_id),
            audit_events::actor_name.eq(e.actor_name),
            audit_events::action.eq(e.action),
            audit_events::subject_name.eq(e.subject),
            audit_events::details.eq(&e.details),
            audit_events::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// The payload of `event` for every webhook of the account that hears it (two statements,
/// one when none does).
fn queue_webhooks(conn: &mut DbConn, e: &Event<'_>, event: WebhookEvent) -> QueryResult<usize> {
    let (actor, subject) = described(e);
    queue_payload(
        conn,
        e.account_id,
        event,
        actor,
        subject,
        e.hook.clone(),
        e.details.clone(),
        None,
    )
}

/// Who made the change and what it was about, as payloads say it.
fn described(e: &Event<'_>) -> (Option<PayloadAccount>, Option<Subject>) {
    let subject_name = match (e.subject, e.action) {
        (Some(s), _) => Some(s),
        // Leaving, accepting and declining name no subject: it is the actor.
        (None, Action::MemberLeft | Action::InvitationAccepted | Action::InvitationDeclined) => {
            Some(e.actor_name)
        }
        (None, _) => None,
    };
    let kind = match e.action {
        Action::DatasetCreated | Action::DatasetSettingsChanged | Action::DatasetDeleted => {
            "dataset"
        }
        _ if subject_name.is_some_and(|s| s.contains('@')) => "email",
        _ => "user",
    };
    let actor = e.actor_id.map(|_| PayloadAccount {
        name: e.actor_name.to_string(),
    });
    let subject = subject_name.map(|name| Subject {
        kind: kind.into(),
        name: name.to_string(),
    });
    (actor, subject)
}

/// [`record`] for many events of one account (the bulk changes): the audit rows and the
/// webhook deliveries with their jobs in multi-row statements (one statement reads the
/// account's webhooks; nothing more when none hears the events), never a statement per
/// event. The events that [`record`] doubles (joining by invitation) are not for it.
pub fn record_many(conn: &mut DbConn, events: &[Event<'_>]) -> QueryResult<()> {
    let Some(first) = events.first() else {
        return Ok(());
    };
    let account_id = first.account_id;
    debug_assert!(events.iter().all(|e| e.account_id == account_id));
    debug_assert!(events
        .iter()
        .all(|e| e.action != Action::InvitationAccepted));
    let now = Utc::now().naive_utc();
    let heard: Vec<(&Event<'_>, WebhookEvent)> = events
        .iter()
        .filter(|e| !e.hook.silent)
        .filter_map(|e| WebhookEvent::of(e.action).map(|w| (e, w)))
        .collect();
    if !heard.is_empty() {
        let hooks = webhooks::active_of(conn, account_id)?;
        let mut rows = Vec::new();
        for (e, event) in heard {
            let listening: Vec<&(i32, String, String)> = hooks
                .iter()
                .filter(|(_, events, _)| webhooks::hears(events, event.as_str()))
                .collect();
            if listening.is_empty() {
                continue;
            }
            let key = new_event_key();
            let (actor, subject) = described(e);
            for (webhook_id, _, org) in listening {
                let body = Payload {
                    event: event.as_str().to_string(),
                    delivery: format!("{key}-{webhook_id}"),
                    time: now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    organization: PayloadAccount { name: org.clone() },
                    actor: actor.clone(),
                    subject: subject.clone(),
                    dataset: e.hook.dataset.clone(),
                    before: e.hook.before.clone(),
                    after: e.hook.after.clone(),
                    details: e.details.clone(),
                };
                rows.push(webhooks::NewDelivery {
                    webhook_id: *webhook_id,
                    key: key.clone(),
                    event: event.as_str(),
                    payload: serde_json::to_string(&body).expect("a payload serializes"),
                });
            }
        }
        webhooks::queue_many(conn, &rows, crate::jobs::WEBHOOK_MAX_ATTEMPTS, now)?;
    }
    for chunk in events.chunks(crate::models::INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    audit_events::account_id.eq(e.account_id),
                    audit_events::actor_id.eq(e.actor_id),
                    audit_events::actor_name.eq(e.actor_name),
                    audit_events::action.eq(e.action),
                    audit_events::subject_name.eq(e.subject),
                    audit_events::details.eq(&e.details),
                    audit_events::created_at.eq(now),
                )
            })
            .collect();
        let q = diesel::insert_into(audit_events::table).values(values);
        crate::on_backend!(conn, q, execute)?;
    }
    Ok(())
}

/// Queues one event's deliveries (to `only` whatever it hears, or to every active webhook
/// of the account that hears `event`).
#[allow(clippy::too_many_arguments)]
pub fn queue_payload(
    conn: &mut DbConn,
    account_id: i32,
    event: WebhookEvent,
    actor: Option<PayloadAccount>,
    subject: Option<Subject>,
    hook: Hook,
    details: String,
    only: Option<i32>,
) -> QueryResult<usize> {
    let now = Utc::now().naive_utc();
    let org_mark = format!("~org~{}~", random_token(16));
    let delivery_mark = format!("~delivery~{}~", random_token(16));
    let body = Payload {
        event: event.as_str().to_string(),
        delivery: delivery_mark.clone(),
        time: now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        organization: PayloadAccount {
            name: org_mark.clone(),
        },
        actor,
        subject,
        dataset: hook.dataset,
        before: hook.before,
        after: hook.after,
        details,
    };
    let body = serde_json::to_string(&body).expect("a payload serializes");
    webhooks::queue_event(
        conn,
        QueuedEvent {
            org_id: account_id,
            event: event.as_str(),
            key: &new_event_key(),
            body: &body,
            org_mark: &org_mark,
            delivery_mark: &delivery_mark,
            only,
            max_attempts: crate::jobs::WEBHOOK_MAX_ATTEMPTS,
            now,
        },
    )
}

/// A random key shaped like the start of a UUID (`8-4-4-4` hex digits); delivery ids are
/// it, `-` and the webhook's id.
fn new_event_key() -> String {
    let hex = hex::encode(rand::random::<[u8; 12]>());
    format!(
        "{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20]
    )
}

/// An event as the audit page shows it.
#[derive(Queryable, Clone, Debug)]
pub struct AuditRow {
    pub id: i32,
    pub actor_name: String,
    pub action: Action,
    pub subject_name: Option<String>,
    pub details: String,
    pub created_at: NaiveDateTime,
}

impl AuditRow {
    pub fn verb(&self) -> &str {
        self.action.verb()
    }

    pub fn when(&self) -> String {
        self.created_at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// Newest first, one page of `per_page` (two statements).
pub fn list(
    conn: &mut DbConn,
    account_id: i32,
    page: i64,
    per_page: i64,
) -> QueryResult<Page<AuditRow>> {
    let total = audit_events::table
        .filter(audit_events::account_id.eq(account_id))
        .count()
        .get_result(conn)?;
    let items = audit_events::table
        .filter(audit_events::account_id.eq(account_id))
        .order(audit_events::id.desc())
        .limit(per_page)
        .offset(Page::<AuditRow>::offset(page, per_page))
        .select((
            audit_events::id,
            audit_events::actor_name,
            audit_events::action,
            audit_events::subject_name,
            audit_events::details,
            audit_events::created_at,
        ))
        .load(conn)?;
    Ok(Page {
        items,
        page,
        total,
        per_page,
    })
}

/// How many events of these kinds the account had since `since` (the daily invitation
/// limit counts its sent and resent invitations).
pub fn count_since(
    conn: &mut DbConn,
    account_id: i32,
    actions: &[Action],
    since: NaiveDateTime,
) -> QueryResult<i64> {
    audit_events::table
        .filter(audit_events::account_id.eq(account_id))
        .filter(crate::models::one_of(
            audit_events::action,
            actions.to_vec(),
        ))
        .filter(audit_events::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// The account's latest `limit` events of the given kinds, newest first (one statement).
pub fn recent_of(
    conn: &mut DbConn,
    account_id: i32,
    actions: Vec<Action>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    audit_events::table
        .filter(audit_events::account_id.eq(account_id))
        .filter(crate::models::one_of(audit_events::action, actions))
        .order(audit_events::id.desc())
        .limit(limit)
        .select((
            audit_events::id,
            audit_events::actor_name,
            audit_events::action,
            audit_events::subject_name,
            audit_events::details,
            audit_events::created_at,
        ))
        .load(conn)
}
