//! Invitations: an administrator invites a user by username or anyone by email address,
//! with the organization role and the default dataset role chosen up front; the invitation
//! can be resent (which renews it) or cancelled; its addressee accepts or declines it. Every
//! step is an audit event, written in the same transaction, as is the email's job.
//!
//! Changes lock the organization first (`models::orgs::lock`), then read the caller's role,
//! then check the permission table, like every organization use case; accepting makes the
//! membership under that lock with the rules of SPEC 4 (one membership per user). Tokens
//! have 256 random bits and only their SHA-256 is stored; an invitation addressed to an
//! email can only be accepted by an account that has verified that address.

use chrono::{NaiveDateTime, Utc};

use crate::app::authz;
use crate::app::error::{unique_means, Conflict, Denied, DomainError, FieldErrors, Joining};
use crate::app::principal::Principal;
use crate::app::Mailing;
use crate::auth::{hash_link_token, new_link_token};
use crate::db::{DbConn, WriteTx};
use crate::domain::audit::Action;
use crate::domain::names::{check_email, email_key};
use crate::domain::roles::{default_role_label, DatasetRole, OrgAction, OrgRole};
use crate::domain::status::InvitationStatus;
use crate::domain::webhooks::Roles;
use crate::mail;
use crate::models::audit::{self, Event, Hook};
use crate::models::invitations::{self as rows, Invitation, NewInvitation, PendingRow, Received};
use crate::models::orgs::{self, Org};
use crate::models::{accounts, jobs};

type Result<T> = std::result::Result<T, DomainError>;

/// The actor named in the audit log for what Colabel does by itself (expiry).
pub const SYSTEM_ACTOR: &str = "Colabel";

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn lock_for(tx: &mut WriteTx<'_>, p: &Principal, name: &str) -> Result<Org> {
    let org = orgs::lock(tx, name)?.ok_or(DomainError::NotFound)?;
    let role = orgs::role_of(tx, org.id, p.user_id)?;
    authz::org(&org.username, role, OrgAction::Manage)?;
    Ok(org)
}

fn record(
    conn: &mut DbConn,
    org_id: i32,
    actor: Option<&Principal>,
    action: Action,
    subject: Option<&str>,
    details: String,
) -> Result<()> {
    record_with(conn, org_id, actor, action, subject, details, None)
}

/// [`record`] with the roles that webhooks are told the invitation gives.
fn record_with(
    conn: &mut DbConn,
    org_id: i32,
    actor: Option<&Principal>,
    action: Action,
    subject: Option<&str>,
    details: String,
    roles: Option<Roles>,
) -> Result<()> {
    Ok(audit::record(
        conn,
        Event {
            account_id: org_id,
            actor_id: actor.map(|p| p.user_id),
            actor_name: actor.map_or(SYSTEM_ACTOR, |p| p.username.as_str()),
            action,
            subject,
            details,
            hook: Hook {
                after: roles,
                ..Hook::default()
            },
        },
    )?)
}

fn roles_text(role: OrgRole, default_role: Option<DatasetRole>) -> String {
    format!(
        "as {}, default dataset role {}",
        role.label(),
        default_role_label(default_role)
    )
}

/// Who an invitation is for, as pages and the audit log name them: the username, or the
/// address.
fn addressee(conn: &mut DbConn, inv: &Invitation) -> Result<String> {
    Ok(match (inv.invitee_id, &inv.email) {
        (Some(id), _) => rows::account_name(conn, id)?.unwrap_or_default(),
        (None, Some(email)) => email.clone(),
        (None, None) => String::new(),
    })
}

/// Refuses a new invitation (or a resend) past the organization's daily limit.
fn within_limit(tx: &mut WriteTx<'_>, m: &Mailing, org: &Org) -> Result<()> {
    let since = now() - chrono::Duration::days(1);
    let actions = [Action::InvitationSent, Action::InvitationResent];
    if audit::count_since(tx, org.id, &actions, since)? >= m.invitations_per_day {
        return Err(DomainError::InvitationLimit {
            org: org.username.clone(),
            limit: m.invitations_per_day,
        });
    }
    Ok(())
}

/// Composes and queues the invitation's email to `address`; returns the job.
#[allow(clippy::too_many_arguments)]
fn queue_email(
    tx: &mut WriteTx<'_>,
    m: &Mailing,
    p: &Principal,
    org: &Org,
    inv: (OrgRole, Option<DatasetRole>, NaiveDateTime),
    raw_token: &str,
    address: &str,
    to_address: bool,
) -> Result<i32> {
    let message = mail::Invitation {
        inviter: p.username.clone(),
        org: org.username.clone(),
        org_title: org.title().to_string(),
        role: inv.0.label().to_string(),
        default_role: default_role_label(inv.1).to_string(),
        link: m.link("/invitation", raw_token),
        to_address,
        expires: inv.2.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
    .to(address)?;
    m.queue(tx, message, now())
}

/// "Invite by email or username".
pub struct Invite {
    pub org: String,
    /// A username, or an email address (anything with an `@`).
    pub invitee: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

/// An invitation that was sent (or made, for a user without a verified address).
#[derive(Clone, Debug)]
pub struct Invited {
    pub org: String,
    pub addressee: String,
    /// Whether an email was queued.
    pub emailed: bool,
}

fn field_error(message: impl Into<String>) -> DomainError {
    let mut errors = FieldErrors::default();
    errors.add("invitee", message);
    DomainError::Invalid(errors)
}

pub fn invite(tx: &mut WriteTx<'_>, p: &Principal, m: &Mailing, cmd: Invite) -> Result<Invited> {
    let org = lock_for(tx, p, &cmd.org)?;
    let wanted = cmd.invitee.trim().to_string();
    if wanted.is_empty() {
        return Err(field_error(
            "Type the username or the email address of the person to invite.",
        ));
    }
    let already_member = || {
        DomainError::Conflict(Conflict::AlreadyMember {
            org: org.username.clone(),
        })
    };
    let already_invited = Conflict::AlreadyInvited {
        org: org.username.clone(),
    };
    let t = now();
    let expires_at = t + m.invitation_ttl;
    let (raw, hash) = new_link_token();
    let (invitee_id, email, to): (Option<i32>, Option<String>, Option<(String, bool)>) =
        if wanted.contains('@') {
            check_email(&wanted).map_err(field_error)?;
            if let Some(user) = accounts::mailbox_by_email(tx, &wanted)? {
                if orgs::role_of(tx, org.id, user.id)?.is_some() {
                    return Err(already_member());
                }
            }
            if rows::pending_for(tx, org.id, None, Some(&email_key(&wanted)))?.is_some() {
                return Err(DomainError::Conflict(already_invited));
            }
            (None, Some(wanted.clone()), Some((wanted.clone(), true)))
        } else {
            let account = accounts::find_account(tx, &wanted)?.ok_or(DomainError::UnknownUser)?;
            if account.is_org() {
                return Err(DomainError::IsOrganization(Joining::Organization));
            }
            if orgs::role_of(tx, org.id, account.id)?.is_some() {
                return Err(already_member());
            }
            if rows::pending_for(tx, org.id, Some(account.id), None)?.is_some() {
                return Err(DomainError::Conflict(already_invited));
            }
            let mailbox = accounts::mailbox_of(tx, account.id)?.ok_or(DomainError::UnknownUser)?;
            let to = mailbox.verified.then(|| (mailbox.email.clone(), false));
            (Some(account.id), None, to)
        };
    within_limit(tx, m, &org)?;
    let id = rows::insert(
        tx,
        NewInvitation {
            org_id: org.id,
            invitee_id,
            email: email.as_deref(),
            email_key: email.as_deref().map(email_key),
            role: cmd.role,
            default_role: cmd.default_role,
            token_hash: &hash,
            invited_by: p.user_id,
            inviter_name: &p.username,
            now: t,
            expires_at,
        },
    )
    .map_err(unique_means(already_invited))?;
    if let Some((address, to_address)) = &to {
        let roles = (cmd.role, cmd.default_role, expires_at);
        let job = queue_email(tx, m, p, &org, roles, &raw, address, *to_address)?;
        rows::set_email_job(tx, id, Some(job))?;
    }
    let shown = match invitee_id {
        Some(uid) => rows::account_name(tx, uid)?.unwrap_or_else(|| wanted.clone()),
        None => wanted.clone(),
    };
    let mut details = roles_text(cmd.role, cmd.default_role);
    if to.is_none() {
        details.push_str("; no email: their address is not verified");
    }
    record_with(
        tx,
        org.id,
        Some(p),
        Action::InvitationSent,
        Some(&shown),
        details,
        Some(Roles::member(cmd.role, cmd.default_role)),
    )?;
    Ok(Invited {
        org: org.username,
        addressee: shown,
        emailed: to.is_some(),
    })
}

/// Resend or cancel a pending invitation of the organization.
pub struct ManageInvitation {
    pub org: String,
    pub id: i32,
}

/// The pending invitation `id` of the locked organization.
fn pending_of(tx: &mut WriteTx<'_>, org: &Org, id: i32) -> Result<Invitation> {
    let inv = rows::find(tx, id)?
        .filter(|i| i.org_id == org.id)
        .ok_or(DomainError::NotFound)?;
    if inv.status != InvitationStatus::Pending {
        return Err(DomainError::InvitationClosed(inv.status));
    }
    Ok(inv)
}

/// Sends the invitation again with a new link (the old one stops working) and a new end
/// date; counts against the daily limit. Returns its addressee.
pub fn resend(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    m: &Mailing,
    cmd: ManageInvitation,
) -> Result<Invited> {
    let org = lock_for(tx, p, &cmd.org)?;
    let inv = pending_of(tx, &org, cmd.id)?;
    within_limit(tx, m, &org)?;
    let t = now();
    let (raw, hash) = new_link_token();
    let expires_at = t + m.invitation_ttl;
    rows::renew(tx, inv.id, &hash, expires_at)?;
    if let Some(old) = inv.email_job_id {
        jobs::cancel_queued(tx, old, "{}", t)?;
    }
    let to = match (inv.invitee_id, &inv.email) {
        (Some(uid), _) => accounts::mailbox_of(tx, uid)?
            .filter(|mb| mb.verified)
            .map(|mb| (mb.email, false)),
        (None, Some(email)) => Some((email.clone(), true)),
        (None, None) => None,
    };
    let job = match &to {
        Some((address, to_address)) => {
            let roles = (inv.role, inv.default_role, expires_at);
            Some(queue_email(
                tx,
                m,
                p,
                &org,
                roles,
                &raw,
                address,
                *to_address,
            )?)
        }
        None => None,
    };
    rows::set_email_job(tx, inv.id, job)?;
    let shown = addressee(tx, &inv)?;
    let details = format!("valid until {}", expires_at.format("%Y-%m-%d %H:%M UTC"));
    record(
        tx,
        org.id,
        Some(p),
        Action::InvitationResent,
        Some(&shown),
        details,
    )?;
    Ok(Invited {
        org: org.username,
        addressee: shown,
        emailed: job.is_some(),
    })
}

/// Cancels a pending invitation (its link stops working; an email not yet sent is not
/// sent). Returns the organization's name and the addressee.
pub fn cancel(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: ManageInvitation,
) -> Result<(String, String)> {
    let org = lock_for(tx, p, &cmd.org)?;
    let inv = pending_of(tx, &org, cmd.id)?;
    let t = now();
    if !rows::close(tx, inv.id, InvitationStatus::Cancelled, t)? {
        return Err(DomainError::InvitationClosed(InvitationStatus::Expired));
    }
    if let Some(job) = inv.email_job_id {
        jobs::cancel_queued(tx, job, "{}", t)?;
    }
    let shown = addressee(tx, &inv)?;
    record(
        tx,
        org.id,
        Some(p),
        Action::InvitationCancelled,
        Some(&shown),
        String::new(),
    )?;
    Ok((org.username, shown))
}

/// Which invitation a response is about: the link's token, or its id (from the dashboard,
/// where the addressee is the signed-in user).
pub enum Which {
    Token(String),
    Id(i32),
}

/// "Accept" or "Decline".
pub struct Respond {
    pub which: Which,
    pub accept: bool,
}

/// What a response did.
#[derive(Clone, Debug)]
pub struct Responded {
    pub org: String,
    pub accepted: bool,
    /// Accepted by someone who had become a member meanwhile (nothing changed).
    pub was_member: bool,
}

fn find_which(conn: &mut DbConn, which: &Which) -> Result<Option<Invitation>> {
    Ok(match which {
        Which::Token(raw) => rows::find_by_token(conn, &hash_link_token(raw.trim()))?,
        Which::Id(id) => rows::find(conn, *id)?,
    })
}

/// Whether `p` is the addressee: the user it names, or the account that verified the
/// address it names.
fn check_addressee(conn: &mut DbConn, p: &Principal, inv: &Invitation) -> Result<()> {
    if let Some(uid) = inv.invitee_id {
        return if uid == p.user_id {
            Ok(())
        } else {
            Err(DomainError::Forbidden(Denied::NotInvitee))
        };
    }
    let me = accounts::mailbox_of(conn, p.user_id)?.ok_or(DomainError::NotFound)?;
    match &inv.email_key {
        Some(key) if *key == email_key(&me.email) => {
            if me.verified {
                Ok(())
            } else {
                Err(DomainError::EmailNotVerified {
                    email: inv.email.clone().unwrap_or_default(),
                })
            }
        }
        _ => Err(DomainError::Forbidden(Denied::NotInvitee)),
    }
}

pub fn respond(tx: &mut WriteTx<'_>, p: &Principal, cmd: Respond) -> Result<Responded> {
    let by_id = matches!(cmd.which, Which::Id(_));
    // An id that is not the caller's is "not found", like anything not theirs to see.
    let hide = |e: DomainError| match e {
        DomainError::Forbidden(Denied::NotInvitee) if by_id => DomainError::NotFound,
        e => e,
    };
    let found = find_which(tx, &cmd.which)?.ok_or(DomainError::NotFound)?;
    let org_name = orgs::name_of(tx, found.org_id)?.ok_or(DomainError::NotFound)?;
    // The organization's lock first; then the invitation again, as the lock leaves it.
    let org = orgs::lock(tx, &org_name)?.ok_or(DomainError::NotFound)?;
    let inv = rows::find(tx, found.id)?.ok_or(DomainError::NotFound)?;
    check_addressee(tx, p, &inv).map_err(hide)?;
    let t = now();
    if inv.status != InvitationStatus::Pending {
        return Err(DomainError::InvitationClosed(inv.status));
    }
    if inv.expires_at <= t {
        return Err(DomainError::InvitationClosed(InvitationStatus::Expired));
    }
    // Closed only if still pending: the worker's expiry does not take the organization's lock.
    let closed = |tx: &mut WriteTx<'_>, status| -> Result<()> {
        if rows::close(tx, inv.id, status, t)? {
            Ok(())
        } else {
            Err(DomainError::InvitationClosed(InvitationStatus::Expired))
        }
    };
    if !cmd.accept {
        closed(tx, InvitationStatus::Declined)?;
        let details = format!("invited by {}", inv.inviter_name);
        record(
            tx,
            org.id,
            Some(p),
            Action::InvitationDeclined,
            None,
            details,
        )?;
        return Ok(Responded {
            org: org.username,
            accepted: false,
            was_member: false,
        });
    }
    closed(tx, InvitationStatus::Accepted)?;
    let was_member = orgs::role_of(tx, org.id, p.user_id)?.is_some();
    let mut details = format!(
        "{}; invited by {}",
        roles_text(inv.role, inv.default_role),
        inv.inviter_name
    );
    if was_member {
        details = format!("already a member; invited by {}", inv.inviter_name);
    } else {
        orgs::insert_membership(
            tx,
            org.id,
            p.user_id,
            &p.username,
            inv.role,
            inv.default_role,
        )
        .map_err(unique_means(Conflict::AlreadyMember {
            org: org.username.clone(),
        }))?;
    }
    let joined = (!was_member).then(|| Roles::member(inv.role, inv.default_role));
    record_with(
        tx,
        org.id,
        Some(p),
        Action::InvitationAccepted,
        None,
        details,
        joined,
    )?;
    Ok(Responded {
        org: org.username,
        accepted: true,
        was_member,
    })
}

/// Marks pending invitations past their end as expired, each with its audit event (by
/// [`SYSTEM_ACTOR`]); run by the job worker's housekeeping. Returns how many.
pub fn expire_due(tx: &mut WriteTx<'_>) -> Result<usize> {
    let t = now();
    let mut n = 0;
    for inv in rows::due_to_expire(tx, t, 200)? {
        if rows::close(tx, inv.id, InvitationStatus::Expired, t)? {
            if let Some(job) = inv.email_job_id {
                jobs::cancel_queued(tx, job, "{}", t)?;
            }
            let shown = addressee(tx, &inv)?;
            let details = format!("sent by {}", inv.inviter_name);
            record(
                tx,
                inv.org_id,
                None,
                Action::InvitationExpired,
                Some(&shown),
                details,
            )?;
            n += 1;
        }
    }
    Ok(n)
}

// ---- Reads ----

/// A pending invitation as the Members subtab lists it.
#[derive(Clone, Debug)]
pub struct Pending {
    pub id: i32,
    pub addressee: String,
    pub by_email: bool,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
    pub inviter_name: String,
    pub expires_at: NaiveDateTime,
    pub expired: bool,
    pub email: EmailState,
}

/// How the invitation's email fares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailState {
    /// None was sent: a user without a verified address (they see it on their dashboard).
    NotSent,
    Queued,
    /// An attempt failed; another follows.
    Retrying {
        attempts: i32,
        error: String,
    },
    Sent,
    /// Every attempt failed, or the server refused it for good: resend, or check the address.
    Failed {
        error: String,
    },
}

impl From<PendingRow> for Pending {
    fn from(r: PendingRow) -> Self {
        use crate::domain::status::JobStatus as J;
        let email = match r.job {
            None => EmailState::NotSent,
            Some((J::Done, _, _)) => EmailState::Sent,
            Some((J::Failed, _, error)) => EmailState::Failed { error },
            Some((J::Queued | J::Running, attempts, error))
                if attempts > 0 && !error.is_empty() =>
            {
                EmailState::Retrying { attempts, error }
            }
            Some((J::Queued | J::Running, _, _)) => EmailState::Queued,
            Some((J::Cancelled, _, _)) => EmailState::NotSent,
        };
        let inv = r.invitation;
        Pending {
            id: inv.id,
            addressee: r.invitee_name.or(inv.email.clone()).unwrap_or_default(),
            by_email: inv.email.is_some(),
            role: inv.role,
            default_role: inv.default_role,
            inviter_name: inv.inviter_name,
            expires_at: inv.expires_at,
            expired: inv.expires_at <= now(),
            email,
        }
    }
}

/// The organization's pending invitations (administrators).
pub fn pending(conn: &mut DbConn, org: &Org) -> Result<Vec<Pending>> {
    Ok(rows::pending_of_org(conn, org.id)?
        .into_iter()
        .map(Pending::from)
        .collect())
}

/// The open invitations the caller may answer: to their username, or to their address once
/// it is verified.
pub fn received(conn: &mut DbConn, p: &Principal) -> Result<Vec<Received>> {
    Ok(rows::received(conn, p.user_id, now())?)
}

/// What the page of an invitation link shows.
#[derive(Clone, Debug)]
pub struct View {
    pub org: String,
    pub org_title: String,
    pub inviter_name: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
    /// The address it was sent to (an email invitation), else `None`.
    pub email: Option<String>,
    pub expires_at: NaiveDateTime,
    /// `None` while it can be answered; else why not.
    pub closed: Option<InvitationStatus>,
    /// For a signed-in viewer: `Ok` when they may answer it, else why not.
    pub viewer: Option<std::result::Result<(), String>>,
}

/// The invitation behind a link's token, as `viewer` (if signed in) may act on it.
pub fn view(conn: &mut DbConn, viewer: Option<&Principal>, token: &str) -> Result<View> {
    let inv = rows::find_by_token(conn, &hash_link_token(token.trim()))?
        .ok_or(DomainError::LinkInvalid)?;
    let org = orgs::name_of(conn, inv.org_id)?.ok_or(DomainError::LinkInvalid)?;
    let (org_found, _) = orgs::find_with_role(conn, &org, viewer.map_or(-1, |p| p.user_id))?
        .ok_or(DomainError::LinkInvalid)?;
    let t = now();
    let closed = match inv.status {
        InvitationStatus::Pending if inv.expires_at <= t => Some(InvitationStatus::Expired),
        InvitationStatus::Pending => None,
        other => Some(other),
    };
    let viewer = viewer.map(|p| check_addressee(conn, p, &inv).map_err(|e| e.message()));
    Ok(View {
        org,
        org_title: org_found.title().to_string(),
        inviter_name: inv.inviter_name,
        role: inv.role,
        default_role: inv.default_role,
        email: inv.email,
        expires_at: inv.expires_at,
        closed,
        viewer,
    })
}
