//! The audit log: who did what to whom, and when. Written in the same transaction as the
//! change; names are copied so that history survives removals.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::domain::audit::Action;
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
}

pub fn record(conn: &mut DbConn, e: Event<'_>) -> QueryResult<()> {
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
