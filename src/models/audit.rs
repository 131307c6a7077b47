//! The audit log: who did what to whom, and when. Written in the same transaction as the
//! change; names are copied so that history survives removals.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::models::Page;
use crate::schema::audit_events;

/// The kinds of events, stored as their code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    OrgCreated,
    MemberAdded,
    MemberRoleChanged,
    MemberDefaultRoleChanged,
    MemberRemoved,
    MemberLeft,
    OrgSettingsChanged,
    DatasetCreated,
    DatasetSettingsChanged,
    DatasetDeleted,
    CollaboratorAdded,
    CollaboratorRoleChanged,
    CollaboratorRemoved,
}

impl Action {
    const ALL: [Action; 13] = [
        Action::OrgCreated,
        Action::MemberAdded,
        Action::MemberRoleChanged,
        Action::MemberDefaultRoleChanged,
        Action::MemberRemoved,
        Action::MemberLeft,
        Action::OrgSettingsChanged,
        Action::DatasetCreated,
        Action::DatasetSettingsChanged,
        Action::DatasetDeleted,
        Action::CollaboratorAdded,
        Action::CollaboratorRoleChanged,
        Action::CollaboratorRemoved,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::OrgCreated => "org.created",
            Action::MemberAdded => "member.added",
            Action::MemberRoleChanged => "member.role_changed",
            Action::MemberDefaultRoleChanged => "member.default_role_changed",
            Action::MemberRemoved => "member.removed",
            Action::MemberLeft => "member.left",
            Action::OrgSettingsChanged => "org.settings_changed",
            Action::DatasetCreated => "dataset.created",
            Action::DatasetSettingsChanged => "dataset.settings_changed",
            Action::DatasetDeleted => "dataset.deleted",
            Action::CollaboratorAdded => "collaborator.added",
            Action::CollaboratorRoleChanged => "collaborator.role_changed",
            Action::CollaboratorRemoved => "collaborator.removed",
        }
    }

    /// The verb shown between actor and subject.
    pub fn verb(self) -> &'static str {
        match self {
            Action::OrgCreated => "created the organization",
            Action::MemberAdded => "added member",
            Action::MemberRoleChanged => "changed the organization role of",
            Action::MemberDefaultRoleChanged => "changed the default dataset role of",
            Action::MemberRemoved => "removed member",
            Action::MemberLeft => "left the organization",
            Action::OrgSettingsChanged => "changed the settings",
            Action::DatasetCreated => "created dataset",
            Action::DatasetSettingsChanged => "changed the settings of dataset",
            Action::DatasetDeleted => "deleted dataset",
            Action::CollaboratorAdded => "added collaborator",
            Action::CollaboratorRoleChanged => "changed the dataset role of",
            Action::CollaboratorRemoved => "removed collaborator",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }
}

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
            audit_events::action.eq(e.action.code()),
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
    pub action: String,
    pub subject_name: Option<String>,
    pub details: String,
    pub created_at: NaiveDateTime,
}

impl AuditRow {
    pub fn verb(&self) -> &str {
        match Action::from_code(&self.action) {
            Some(a) => a.verb(),
            None => &self.action,
        }
    }

    pub fn when(&self) -> String {
        self.created_at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// Newest first, one page (two statements).
pub fn list(conn: &mut DbConn, account_id: i32, page: i64) -> QueryResult<Page<AuditRow>> {
    let per_page = crate::models::PAGE_SIZE;
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
