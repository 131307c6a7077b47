//! Invitations to organizations: the rows and the statements. The rules (who may invite,
//! accept, resend, the limits) are in `app::invitations`, which calls these inside its write
//! transaction after taking the organization's lock.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::domain::roles::{DatasetRole, OrgRole};
use crate::domain::status::{InvitationStatus, JobStatus};
use crate::schema::{accounts as acc, invitations, jobs, users};

/// An invitation as stored.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: i32,
    pub org_id: i32,
    pub invitee_id: Option<i32>,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub role: OrgRole,
    #[diesel(column_name = default_dataset_role)]
    pub default_role: Option<DatasetRole>,
    pub status: InvitationStatus,
    pub inviter_name: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub email_job_id: Option<i32>,
}

impl Invitation {
    /// Still open: pending and not past its end.
    pub fn is_open(&self, now: NaiveDateTime) -> bool {
        self.status == InvitationStatus::Pending && self.expires_at > now
    }
}

/// A new invitation, addressed to a user or to an email address.
pub struct NewInvitation<'a> {
    pub org_id: i32,
    pub invitee_id: Option<i32>,
    pub email: Option<&'a str>,
    pub email_key: Option<String>,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
    pub token_hash: &'a str,
    pub invited_by: i32,
    pub inviter_name: &'a str,
    pub now: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Inserts a pending invitation; the partial unique indexes refuse a second pending one for
/// the same addressee.
pub fn insert(conn: &mut DbConn, n: NewInvitation<'_>) -> QueryResult<i32> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::org_id.eq(n.org_id),
            invitations::invitee_id.eq(n.invitee_id),
            invitations::email.eq(n.email),
            invitations::email_key.eq(n.email_key),
            invitations::role.eq(n.role),
            invitations::default_dataset_role.eq(n.default_role),
            invitations::token_hash.eq(n.token_hash),
            invitations::status.eq(InvitationStatus::Pending),
            invitations::invited_by.eq(n.invited_by),
            invitations::inviter_name.eq(n.inviter_name),
            invitations::created_at.eq(n.now),
            invitations::expires_at.eq(n.expires_at),
        ))
        .returning(invitations::id)
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: i32) -> QueryResult<Option<Invitation>> {
    invitations::table
        .find(id)
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_token(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<Invitation>> {
    invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

/// The pending invitation of the organization for this user or this address, if any.
pub fn pending_for(
    conn: &mut DbConn,
    org_id: i32,
    invitee_id: Option<i32>,
    email_key: Option<&str>,
) -> QueryResult<Option<Invitation>> {
    let q = invitations::table
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .select(Invitation::as_select())
        .into_boxed();
    let q = match (invitee_id, email_key) {
        (Some(id), _) => q.filter(invitations::invitee_id.eq(id)),
        (None, Some(key)) => q.filter(invitations::email_key.eq(key)),
        (None, None) => return Ok(None),
    };
    q.first(conn).optional()
}

/// A pending invitation on the Members subtab: who, the roles, and how its email fares.
#[derive(Clone, Debug)]
pub struct PendingRow {
    pub invitation: Invitation,
    pub invitee_name: Option<String>,
    pub job: Option<(JobStatus, i32, String)>,
}

type PendingTuple = (
    Invitation,
    Option<String>,
    Option<JobStatus>,
    Option<i32>,
    Option<String>,
);

/// The organization's pending invitations, newest first (at most 200).
pub fn pending_of_org(conn: &mut DbConn, org_id: i32) -> QueryResult<Vec<PendingRow>> {
    let query = invitations::table
        .left_join(acc::table.on(invitations::invitee_id.eq(acc::id.nullable())))
        .left_join(jobs::table.on(invitations::email_job_id.eq(jobs::id.nullable())))
        .filter(invitations::org_id.eq(org_id))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .order(invitations::id.desc())
        .limit(200)
        .select((
            // The columns themselves, the same for every backend (`as_select` would type
            // the query for one; the backend named here only picks the derive's impl).
            <Invitation as Selectable<diesel::sqlite::Sqlite>>::construct_selection(),
            acc::username.nullable(),
            jobs::status.nullable(),
            jobs::attempts.nullable(),
            jobs::last_error.nullable(),
        ));
    let rows: Vec<PendingTuple> = crate::db::load(conn, query)?;
    Ok(rows
        .into_iter()
        .map(
            |(invitation, invitee_name, status, attempts, error)| PendingRow {
                invitation,
                invitee_name,
                job: status.map(|s| (s, attempts.unwrap_or(0), error.unwrap_or_default())),
            },
        )
        .collect())
}

/// An open invitation as its addressee sees it.
#[derive(Clone, Debug)]
pub struct Received {
    pub invitation: Invitation,
    pub org_name: String,
    pub org_display_name: String,
}

impl Received {
    /// "Member, default dataset role Labeler".
    pub fn roles(&self) -> String {
        format!(
            "{}, default dataset role {}",
            self.invitation.role.label(),
            crate::domain::roles::default_role_label(self.invitation.default_role)
        )
    }
}

/// The open invitations addressed to the user, or to their address when it is verified.
pub fn received(conn: &mut DbConn, user_id: i32, now: NaiveDateTime) -> QueryResult<Vec<Received>> {
    // The user's verified address, in the same statement: an invitation by email reaches
    // its owner only once the address is verified.
    let verified_key = users::table
        .filter(users::id.eq(user_id))
        .filter(users::email_verified_at.is_not_null())
        .select(users::email_key)
        .single_value();
    let q = invitations::table
        .inner_join(acc::table.on(acc::id.eq(invitations::org_id)))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .filter(invitations::expires_at.gt(now))
        .filter(
            invitations::invitee_id
                .eq(user_id)
                .or(invitations::email_key.eq(verified_key)),
        )
        .order(invitations::id.desc())
        .limit(50)
        .select((Invitation::as_select(), acc::username, acc::display_name));
    let rows: Vec<(Invitation, String, String)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(invitation, org_name, org_display_name)| Received {
            invitation,
            org_name,
            org_display_name,
        })
        .collect())
}

/// Closes a pending invitation; `false` when it was no longer pending (another instance
/// closed it first).
pub fn close(
    conn: &mut DbConn,
    id: i32,
    status: InvitationStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::status.eq(InvitationStatus::Pending)),
    )
    .set((
        invitations::status.eq(status),
        invitations::responded_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// A resend: a new token (the old link stops working), a new end, the new email's job.
pub fn renew(
    conn: &mut DbConn,
    id: i32,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::token_hash.eq(token_hash),
            invitations::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

pub fn set_email_job(conn: &mut DbConn, id: i32, job_id: Option<i32>) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set(invitations::email_job_id.eq(job_id))
        .execute(conn)
        .map(drop)
}

/// Pending invitations past their end, oldest first (at most `limit`).
pub fn due_to_expire(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Invitation>> {
    invitations::table
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .filter(invitations::expires_at.le(now))
        .order(invitations::expires_at)
        .limit(limit)
        .select(Invitation::as_select())
        .load(conn)
}

/// The name of the user account `id` (the invitee of a username invitation).
pub fn account_name(conn: &mut DbConn, id: i32) -> QueryResult<Option<String>> {
    acc::table
        .find(id)
        .select(acc::username)
        .first(conn)
        .optional()
}
