//! Webhooks, their deliveries and the attempts at them. An event is queued by two statements
//! whatever the number of webhooks: one `INSERT ... SELECT` makes a delivery for every active
//! webhook of the organization that hears the event, a second queues a job per delivery.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use crate::db::DbConn;
use crate::schema::{jobs, webhook_attempts, webhook_deliveries, webhooks};

/// A webhook as its pages show it (never its secret).
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i32,
    pub org_id: i32,
    pub url: String,
    pub events: String,
    pub active: bool,
    pub consecutive_failures: i32,
    pub disabled_reason: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// At most this many webhooks per organization.
pub const MAX_PER_ORG: i64 = 20;

pub struct NewWebhook<'a> {
    pub org_id: i32,
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a str,
    pub active: bool,
    pub created_by: &'a str,
}

pub fn insert(conn: &mut DbConn, w: NewWebhook<'_>, now: NaiveDateTime) -> QueryResult<i32> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::org_id.eq(w.org_id),
            webhooks::url.eq(w.url),
            webhooks::secret.eq(w.secret),
            webhooks::events.eq(w.events),
            webhooks::active.eq(w.active),
            webhooks::consecutive_failures.eq(0),
            webhooks::disabled_reason.eq(""),
            webhooks::created_by.eq(w.created_by),
            webhooks::created_at.eq(now),
            webhooks::updated_at.eq(now),
        ))
        .returning(webhooks::id)
        .get_result(conn)
}

pub fn count(conn: &mut DbConn, org_id: i32) -> QueryResult<i64> {
    webhooks::table
        .filter(webhooks::org_id.eq(org_id))
        .count()
        .get_result(conn)
}

/// The organization's webhooks, oldest first (at most [`MAX_PER_ORG`]).
pub fn list(conn: &mut DbConn, org_id: i32) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .filter(webhooks::org_id.eq(org_id))
        .order(webhooks::id)
        .limit(MAX_PER_ORG)
        .select(Webhook::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, org_id: i32, id: i32) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .filter(webhooks::org_id.eq(org_id))
        .filter(webhooks::id.eq(id))
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

/// Saves a webhook's settings; activating it again clears its failures. `secret: None`
/// keeps the secret.
pub fn update(
    conn: &mut DbConn,
    id: i32,
    url: &str,
    events: &str,
    active: bool,
    secret: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let target = webhooks::table.find(id);
    let base = (
        webhooks::url.eq(url),
        webhooks::events.eq(events),
        webhooks::active.eq(active),
        webhooks::updated_at.eq(now),
    );
    if active {
        diesel::update(target)
            .set((
                base,
                webhooks::consecutive_failures.eq(0),
                webhooks::disabled_reason.eq(""),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target).set(base).execute(conn)?;
    }
    if let Some(secret) = secret {
        diesel::update(target)
            .set(webhooks::secret.eq(secret))
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete(conn: &mut DbConn, id: i32) -> QueryResult<()> {
    diesel::delete(webhooks::table.find(id))
        .execute(conn)
        .map(drop)
}

/// One event to queue for the organization's webhooks.
pub struct QueuedEvent<'a> {
    pub org_id: i32,
    /// The event's name (`member.added`).
    pub event: &'a str,
    /// Random, shared by the event's deliveries; each delivery id is it, `-` and the
    /// webhook's id.
    pub key: &'a str,
    /// The body, with `org_mark` where the organization's name goes and `delivery_mark`
    /// where the delivery id goes (both random, so no name or text can contain them).
    pub body: &'a str,
    pub org_mark: &'a str,
    pub delivery_mark: &'a str,
    /// Only this webhook, whatever its events (a ping); `None`: every active one hearing it.
    pub only: Option<i32>,
    pub max_attempts: i32,
    pub now: NaiveDateTime,
}

/// Makes the event's deliveries and their jobs (two statements; one when no webhook hears
/// it). Returns how many deliveries were made.
pub fn queue_event(conn: &mut DbConn, e: QueuedEvent<'_>) -> QueryResult<usize> {
    let filter = if e.only.is_some() {
        "w.id = $8"
    } else {
        "w.active AND (w.events = '*' OR w.events LIKE $8)"
    };
    let made = diesel::sql_query(format!(
        "INSERT INTO webhook_deliveries \
           (webhook_id, guid, event_key, event, payload, status, attempts, created_at) \
         SELECT w.id, $1 || '-' || CAST(w.id AS TEXT), $1, $2, \
           REPLACE(REPLACE($3, $4, a.username), $5, $1 || '-' || CAST(w.id AS TEXT)), \
           'queued', 0, $6 \
         FROM webhooks w JOIN accounts a ON a.id = w.org_id \
         WHERE w.org_id = $7 AND {filter}"
    ))
    .bind::<Text, _>(e.key)
    .bind::<Text, _>(e.event)
    .bind::<Text, _>(e.body)
    .bind::<Text, _>(e.org_mark)
    .bind::<Text, _>(e.delivery_mark)
    .bind::<Timestamp, _>(e.now)
    .bind::<Integer, _>(e.org_id);
    let made = match e.only {
        Some(id) => made.bind::<Integer, _>(id).execute(conn),
        None => made
            .bind::<Text, _>(format!("%,{},%", e.event))
            .execute(conn),
    };
    let made = made?;
    if made == 0 {
        return Ok(0);
    }
    queue_jobs(conn, e.key, e.max_attempts, e.now)?;
    Ok(made)
}

fn queue_jobs(
    conn: &mut DbConn,
    key: &str,
    max_attempts: i32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, last_error, created_at) \
         SELECT 'webhook', '{\"delivery\":' || CAST(d.id AS TEXT) || '}', 'queued', 0, $1, $2, '', $2 \
         FROM webhook_deliveries d WHERE d.event_key = $3",
    )
    .bind::<Integer, _>(max_attempts)
    .bind::<Timestamp, _>(now)
    .bind::<Text, _>(key)
    .execute(conn)
}

/// A delivery in the log.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: i32,
    pub webhook_id: i32,
    pub guid: String,
    pub event: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub status_code: Option<i32>,
    pub created_at: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
}

/// One attempt in the log.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = webhook_attempts)]
pub struct Attempt {
    pub id: i32,
    pub delivery_id: i32,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    pub error: String,
    pub request_headers: String,
    pub response_headers: String,
    pub response_body: String,
    pub created_at: NaiveDateTime,
}

/// The webhook's latest deliveries, newest first, and their attempts (two statements).
pub fn recent(
    conn: &mut DbConn,
    webhook_id: i32,
    limit: i64,
) -> QueryResult<(Vec<Delivery>, Vec<Attempt>)> {
    let deliveries: Vec<Delivery> = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)?;
    if deliveries.is_empty() {
        return Ok((deliveries, Vec::new()));
    }
    let ids: Vec<i32> = deliveries.iter().map(|d| d.id).collect();
    let attempts = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::id))
        .select(Attempt::as_select())
        .load(conn)?;
    Ok((deliveries, attempts))
}

pub fn delivery_by_guid(
    conn: &mut DbConn,
    webhook_id: i32,
    guid: &str,
) -> QueryResult<Option<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::guid.eq(guid))
        .select(Delivery::as_select())
        .first(conn)
        .optional()
}

/// Queues one more attempt at a delivery (Redeliver): the same delivery id and body.
pub fn requeue(
    conn: &mut DbConn,
    delivery_id: i32,
    max_attempts: i32,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(delivery_id))
        .set(webhook_deliveries::status.eq("queued"))
        .execute(conn)?;
    crate::models::jobs::insert(
        conn,
        "webhook",
        &format!("{{\"delivery\":{delivery_id}}}"),
        max_attempts,
        now,
    )
    .map(drop)
}

/// What the worker needs to send a delivery.
#[derive(Clone, Debug)]
pub struct Target {
    pub delivery_id: i32,
    pub webhook_id: i32,
    pub guid: String,
    pub event: String,
    pub payload: String,
    pub url: String,
    pub secret: String,
    pub active: bool,
}

pub fn target(conn: &mut DbConn, delivery_id: i32) -> QueryResult<Option<Target>> {
    webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::id.eq(delivery_id))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhook_deliveries::guid,
            webhook_deliveries::event,
            webhook_deliveries::payload,
            webhooks::url,
            webhooks::secret,
            webhooks::active,
        ))
        .first::<(i32, i32, String, String, String, String, String, bool)>(conn)
        .optional()
        .map(|r| {
            r.map(
                |(delivery_id, webhook_id, guid, event, payload, url, secret, active)| Target {
                    delivery_id,
                    webhook_id,
                    guid,
                    event,
                    payload,
                    url,
                    secret,
                    active,
                },
            )
        })
}

/// Sets a delivery's state: `skipped` (its webhook was inactive when its turn came),
/// `failed` (it was disabled meanwhile).
pub fn set_status(conn: &mut DbConn, delivery_id: i32, status: &str) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(delivery_id))
        .set(webhook_deliveries::status.eq(status))
        .execute(conn)
        .map(drop)
}

/// One attempt's outcome, as recorded.
pub struct AttemptRecord<'a> {
    pub delivery_id: i32,
    pub webhook_id: i32,
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    pub error: &'a str,
    pub request_headers: &'a str,
    pub response_headers: &'a str,
    pub response_body: &'a str,
    pub ok: bool,
    /// The delivery's state after it: `queued` (a retry is due), `ok` or `failed`.
    pub status: &'a str,
    pub max_failures: i32,
    pub now: NaiveDateTime,
}

/// Records an attempt, and the webhook's consecutive failures (disabling it when they
/// reach `max_failures`); returns whether the webhook is still active.
pub fn record_attempt(conn: &mut DbConn, a: AttemptRecord<'_>) -> QueryResult<bool> {
    conn.transaction(|conn| {
        let attempts: i32 = diesel::update(webhook_deliveries::table.find(a.delivery_id))
            .set((
                webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
                webhook_deliveries::status.eq(a.status),
                webhook_deliveries::status_code.eq(a.status_code),
                webhook_deliveries::last_attempt_at.eq(a.now),
            ))
            .returning(webhook_deliveries::attempts)
            .get_result(conn)?;
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(a.delivery_id),
                webhook_attempts::attempt.eq(attempts),
                webhook_attempts::status_code.eq(a.status_code),
                webhook_attempts::duration_ms.eq(a.duration_ms),
                webhook_attempts::error.eq(a.error),
                webhook_attempts::request_headers.eq(a.request_headers),
                webhook_attempts::response_headers.eq(a.response_headers),
                webhook_attempts::response_body.eq(a.response_body),
                webhook_attempts::created_at.eq(a.now),
            ))
            .execute(conn)?;
        let hook = webhooks::table.find(a.webhook_id);
        if a.ok {
            diesel::update(hook)
                .set(webhooks::consecutive_failures.eq(0))
                .execute(conn)?;
            return Ok(true);
        }
        let (failures, active): (i32, bool) = diesel::update(hook)
            .set(webhooks::consecutive_failures.eq(webhooks::consecutive_failures + 1))
            .returning((webhooks::consecutive_failures, webhooks::active))
            .get_result(conn)?;
        if active && failures >= a.max_failures {
            let reason = format!(
                "Disabled on {} after {failures} consecutive failed deliveries; the last: {}",
                a.now.format("%Y-%m-%d %H:%M UTC"),
                if a.error.is_empty() {
                    format!("HTTP {}", a.status_code.unwrap_or_default())
                } else {
                    a.error.to_string()
                }
            );
            diesel::update(hook)
                .set((
                    webhooks::active.eq(false),
                    webhooks::disabled_reason.eq(crate::domain::webhooks::excerpt(&reason, 500)),
                ))
                .execute(conn)?;
            return Ok(false);
        }
        Ok(active)
    })
}

/// Deletes deliveries (with their attempts) made before `before`, one batch.
pub fn sweep(conn: &mut DbConn, before: NaiveDateTime, batch: i64) -> QueryResult<usize> {
    let skip_locked = if crate::db::is_sqlite(conn) {
        ""
    } else {
        " FOR UPDATE SKIP LOCKED"
    };
    diesel::sql_query(format!(
        "DELETE FROM webhook_deliveries WHERE id IN \
         (SELECT id FROM webhook_deliveries WHERE created_at < $1 LIMIT $2{skip_locked})"
    ))
    .bind::<Timestamp, _>(before)
    .bind::<BigInt, _>(batch)
    .execute(conn)
}

/// The job of a delivery still queued or running (tests and the log read it).
pub fn pending_jobs(conn: &mut DbConn) -> QueryResult<i64> {
    jobs::table
        .filter(jobs::kind.eq("webhook"))
        .filter(jobs::status.eq("queued").or(jobs::status.eq("running")))
        .count()
        .get_result(conn)
}

/// The organization's active webhooks with the events they hear, and the organization's
/// name (one statement), for [`queue_many`].
pub fn active_of(conn: &mut DbConn, org_id: i32) -> QueryResult<Vec<(i32, String, String)>> {
    use crate::schema::accounts;
    webhooks::table
        .inner_join(accounts::table.on(accounts::id.eq(webhooks::org_id)))
        .filter(webhooks::org_id.eq(org_id))
        .filter(webhooks::active.eq(true))
        .select((webhooks::id, webhooks::events, accounts::username))
        .load(conn)
}

/// Whether a webhook's stored event list (`*` or `,a,b,`) includes `event`.
pub fn hears(events: &str, event: &str) -> bool {
    events == "*" || events.contains(&format!(",{event},"))
}

/// One delivery of many to queue: the webhook, the event key, the event and the body.
pub struct NewDelivery {
    pub webhook_id: i32,
    pub key: String,
    pub event: &'static str,
    pub payload: String,
}

/// Queues many deliveries and a job for each with multi-row statements of
/// [`crate::models::INSERT_CHUNK`] rows (three per chunk: the deliveries, their ids, the
/// jobs), never a statement per event.
pub fn queue_many(
    conn: &mut DbConn,
    rows: &[NewDelivery],
    max_attempts: i32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let mut made = 0;
    for chunk in rows.chunks(crate::models::INSERT_CHUNK) {
        let guids: Vec<String> = chunk
            .iter()
            .map(|d| format!("{}-{}", d.key, d.webhook_id))
            .collect();
        let values: Vec<_> = chunk
            .iter()
            .zip(&guids)
            .map(|(d, guid)| {
                (
                    webhook_deliveries::webhook_id.eq(d.webhook_id),
                    webhook_deliveries::guid.eq(guid.clone()),
                    webhook_deliveries::event_key.eq(d.key.clone()),
                    webhook_deliveries::event.eq(d.event),
                    webhook_deliveries::payload.eq(d.payload.clone()),
                    webhook_deliveries::status.eq("queued"),
                    webhook_deliveries::attempts.eq(0),
                    webhook_deliveries::created_at.eq(now),
                )
            })
            .collect();
        let q = diesel::insert_into(webhook_deliveries::table).values(values);
        made += crate::on_backend!(conn, q, execute)?;
        let ids: Vec<i32> = webhook_deliveries::table
            .filter(webhook_deliveries::guid.eq_any(guids))
            .order(webhook_deliveries::id)
            .select(webhook_deliveries::id)
            .load(conn)?;
        let jobs: Vec<_> = ids
            .iter()
            .map(|id| {
                (
                    jobs::kind.eq("webhook"),
                    jobs::payload.eq(format!("{{\"delivery\":{id}}}")),
                    jobs::status.eq("queued"),
                    jobs::attempts.eq(0),
                    jobs::max_attempts.eq(max_attempts),
                    jobs::run_at.eq(now),
                    jobs::last_error.eq(""),
                    jobs::created_at.eq(now),
                )
            })
            .collect();
        let q = diesel::insert_into(jobs::table).values(jobs);
        crate::on_backend!(conn, q, execute)?;
    }
    Ok(made)
}
