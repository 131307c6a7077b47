//! Organization use cases: create, settings, delete, add / change / remove members, leave;
//! and the reads their pages need.
//!
//! Every change takes the organization's row lock first (`models::orgs::lock`), then reads
//! the caller's current role under that lock, then asks the permission table, then acts and
//! writes the audit event, all in the caller's write transaction. So a demoted administrator's
//! racing request is judged by the role it finds after the demotion committed, and nothing
//! acts on an organization that a change committed first has deleted.

use crate::app::authz;
use crate::app::error::{unique_means, Conflict, Denied, DomainError, FieldErrors, Joining};
use crate::app::principal::Principal;
use crate::db::{DbConn, WriteTx};
use crate::domain::audit::Action;
use crate::domain::names::{check_email, check_username, MAX_DESCRIPTION, MAX_DISPLAY_NAME};
use crate::domain::roles::{
    default_role_label, is_last_admin, DatasetRole, OrgAction, OrgRole, RoleFilter,
};
use crate::domain::webhooks::Roles;
use crate::models::audit::{self, AuditRow, Event, Hook};
use crate::models::orgs::{self, Member, MemberFilter, Membership, Org, UserOrg};
use crate::models::{accounts, Page};

type Result<T> = std::result::Result<T, DomainError>;

/// Locks the organization, then reads the caller's role under the lock, then checks it.
pub(crate) fn lock_for(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    name: &str,
    action: OrgAction,
) -> Result<(Org, OrgRole)> {
    let org = orgs::lock(tx, name)?.ok_or(DomainError::NotFound)?;
    let role = orgs::role_of(tx, org.id, p.user_id)?;
    let role = authz::org(&org.username, role, action)?;
    Ok((org, role))
}

fn record(
    conn: &mut DbConn,
    org_id: i32,
    p: &Principal,
    action: Action,
    subject: Option<&str>,
    details: String,
) -> Result<()> {
    record_with(conn, org_id, p, action, subject, details, Hook::default())
}

/// [`record`] with what webhooks are told beyond the audit log's text (the roles).
fn record_with(
    conn: &mut DbConn,
    org_id: i32,
    p: &Principal,
    action: Action,
    subject: Option<&str>,
    details: String,
    hook: Hook,
) -> Result<()> {
    Ok(audit::record(
        conn,
        Event {
            account_id: org_id,
            actor_id: Some(p.user_id),
            actor_name: &p.username,
            action,
            subject,
            details,
            hook,
        },
    )?)
}

fn roles_change(before: Option<Roles>, after: Option<Roles>) -> Hook {
    Hook {
        before,
        after,
        ..Hook::default()
    }
}

/// "Create organization".
pub struct CreateOrg {
    pub username: String,
    pub display_name: String,
}

/// Creates an organization with the caller as its administrator (default dataset role
/// "None": administrators see every dataset anyway); returns its name.
pub fn create(tx: &mut WriteTx<'_>, p: &Principal, cmd: CreateOrg) -> Result<String> {
    let mut errors = FieldErrors::default();
    let username = cmd.username.trim().to_string();
    errors.check("username", check_username(&username));
    let display_name = errors.text("display_name", &cmd.display_name, MAX_DISPLAY_NAME);
    errors.into_result(())?;
    if accounts::name_taken(tx, &username)? {
        return Err(DomainError::Conflict(Conflict::NameTaken));
    }
    let id = orgs::insert(tx, p.user_id, &username, &display_name)
        .map_err(unique_means(Conflict::NameTaken))?;
    orgs::insert_membership(tx, id, p.user_id, &p.username, OrgRole::Admin, None)?;
    record(
        tx,
        id,
        p,
        Action::OrgCreated,
        Some(&username),
        String::new(),
    )?;
    Ok(username)
}

/// The organization's profile on its settings page.
pub struct UpdateOrgSettings {
    pub org: String,
    pub display_name: String,
    pub description: String,
    pub contact_email: String,
}

/// Saves the profile (administrators); records which fields changed. Returns the name.
pub fn update_settings(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: UpdateOrgSettings,
) -> Result<String> {
    let mut errors = FieldErrors::default();
    let display_name = errors.text("display_name", &cmd.display_name, MAX_DISPLAY_NAME);
    let description = errors.text("description", &cmd.description, MAX_DESCRIPTION);
    let contact_email = cmd.contact_email.trim().to_string();
    if !contact_email.is_empty() {
        errors.check("contact_email", check_email(&contact_email));
    }
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    errors.into_result(())?;
    let mut changed = Vec::new();
    if org.display_name != display_name {
        changed.push("display name");
    }
    if org.description != description {
        changed.push("description");
    }
    if org.contact_email != contact_email {
        changed.push("contact email");
    }
    if !changed.is_empty() {
        orgs::update_profile(tx, org.id, &display_name, &description, &contact_email)?;
        record(
            tx,
            org.id,
            p,
            Action::OrgSettingsChanged,
            None,
            changed.join(", "),
        )?;
    }
    Ok(org.username)
}

/// How members join: "administrators may also add members directly" (the default) or "only
/// by invitation".
pub struct SetMemberPolicy {
    pub org: String,
    pub invite_only: bool,
}

pub fn set_member_policy(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: SetMemberPolicy,
) -> Result<String> {
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    if org.invite_only != cmd.invite_only {
        orgs::set_invite_only(tx, org.id, cmd.invite_only)?;
        let details = if cmd.invite_only {
            "members join only by invitation"
        } else {
            "administrators may also add members directly"
        };
        record(
            tx,
            org.id,
            p,
            Action::OrgSettingsChanged,
            None,
            details.to_string(),
        )?;
    }
    Ok(org.username)
}

/// "Delete this organization", confirmed by typing its name.
pub struct DeleteOrg {
    pub org: String,
    pub confirm: String,
}

/// Deletes the organization with its memberships, datasets, collaborators and audit log
/// (administrators); the name becomes free. Returns the name.
pub fn delete(tx: &mut WriteTx<'_>, p: &Principal, cmd: DeleteOrg) -> Result<String> {
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    if cmd.confirm.trim() != org.username {
        let mut errors = FieldErrors::default();
        errors.add("confirm", format!("Type {} to confirm.", org.username));
        return Err(DomainError::Invalid(errors));
    }
    orgs::delete(tx, org.id)?;
    Ok(org.username)
}

/// "Add member": a user by name, with an organization role and a default dataset role.
pub struct AddMember {
    pub org: String,
    pub username: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

/// A membership that was made.
#[derive(Debug, Clone)]
pub struct Added {
    pub org: String,
    pub username: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

pub fn add_member(tx: &mut WriteTx<'_>, p: &Principal, cmd: AddMember) -> Result<Added> {
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    if org.invite_only {
        return Err(DomainError::Forbidden(Denied::InviteOnly {
            org: org.username,
        }));
    }
    let wanted = cmd.username.trim();
    if wanted.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add("username", "Type the username of the user to add.");
        return Err(DomainError::Invalid(errors));
    }
    let account = accounts::find_account(tx, wanted)?.ok_or(DomainError::UnknownUser)?;
    if account.is_org() {
        return Err(DomainError::IsOrganization(Joining::Organization));
    }
    let already = Conflict::AlreadyMember {
        org: org.username.clone(),
    };
    if orgs::role_of(tx, org.id, account.id)?.is_some() {
        return Err(DomainError::Conflict(already));
    }
    orgs::insert_membership(
        tx,
        org.id,
        account.id,
        &account.username,
        cmd.role,
        cmd.default_role,
    )
    .map_err(unique_means(already))?;
    record_with(
        tx,
        org.id,
        p,
        Action::MemberAdded,
        Some(&account.username),
        format!(
            "as {}, default dataset role {}",
            cmd.role.label(),
            default_role_label(cmd.default_role)
        ),
        roles_change(None, Some(Roles::member(cmd.role, cmd.default_role))),
    )?;
    Ok(Added {
        org: org.username,
        username: account.username,
        role: cmd.role,
        default_role: cmd.default_role,
    })
}

/// A member's new organization role and default dataset role; `None` keeps one as it is
/// (the inner `Option` of the default role is "None (do not add)").
pub struct ChangeMember {
    pub org: String,
    pub member: String,
    pub role: Option<OrgRole>,
    pub default_role: Option<Option<DatasetRole>>,
}

impl ChangeMember {
    /// Whether the caller takes the administrator role away from themselves: pages ask
    /// first, as they lose the Settings with it. (Only administrators may change members,
    /// so a caller who gets this far is one.)
    pub fn demotes_caller(&self, p: &Principal) -> bool {
        self.member.trim().eq_ignore_ascii_case(&p.username)
            && self.role.is_some_and(|r| !r.is_admin())
    }
}

/// A member's roles before and after a change.
#[derive(Debug, Clone)]
pub struct MemberChanged {
    pub org: String,
    pub before: Membership,
    pub now: Membership,
}

impl MemberChanged {
    /// What changed, in a line: "user15000: Labeler → Reviewer", "bob: Member → Administrator,
    /// None (do not add) → Viewer", or "bob: nothing changed".
    pub fn summary(&self) -> String {
        let (b, n) = (&self.before, &self.now);
        let mut parts = Vec::new();
        if b.role != n.role {
            parts.push(format!("{} → {}", b.role.label(), n.role.label()));
        }
        if b.default_role != n.default_role {
            parts.push(format!(
                "{} → {}",
                default_role_label(b.default_role),
                default_role_label(n.default_role)
            ));
        }
        if parts.is_empty() {
            format!("{}: nothing changed", n.username)
        } else {
            format!("{}: {}", n.username, parts.join(", "))
        }
    }
}

/// Changes a member's roles (administrators); the last administrator cannot be demoted.
/// One audit event per role that changed. Returns the member before and after.
pub fn change_member(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: ChangeMember,
) -> Result<MemberChanged> {
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    let target = orgs::member_by_name(tx, org.id, &cmd.member)?.ok_or(DomainError::NotFound)?;
    let role = cmd.role.unwrap_or(target.role);
    let default_role = cmd.default_role.unwrap_or(target.default_role);
    if !role.is_admin() && is_last_admin(target.role, orgs::admin_count(tx, org.id)?) {
        return Err(DomainError::LastAdmin { org: org.username });
    }
    let now = Membership {
        role,
        default_role,
        ..target.clone()
    };
    if target.role == role && target.default_role == default_role {
        return Ok(MemberChanged {
            org: org.username,
            before: target,
            now,
        });
    }
    orgs::set_member_roles(tx, org.id, target.user_id, role, default_role)?;
    let hook = roles_change(
        Some(Roles::member(target.role, target.default_role)),
        Some(Roles::member(role, default_role)),
    );
    if target.role != role {
        let details = format!("from {} to {}", target.role.label(), role.label());
        record_with(
            tx,
            org.id,
            p,
            Action::MemberRoleChanged,
            Some(&target.username),
            details,
            hook.clone(),
        )?;
    }
    if target.default_role != default_role {
        let details = format!(
            "from {} to {}",
            default_role_label(target.default_role),
            default_role_label(default_role)
        );
        // One webhook event per change, however many of the roles changed.
        let hook = Hook {
            silent: target.role != role,
            ..hook
        };
        let action = Action::MemberDefaultRoleChanged;
        record_with(tx, org.id, p, action, Some(&target.username), details, hook)?;
    }
    Ok(MemberChanged {
        org: org.username,
        before: target,
        now,
    })
}

/// A membership that ended.
#[derive(Debug, Clone)]
pub struct Removed {
    pub org: String,
    pub username: String,
    /// The caller removed themselves.
    pub was_self: bool,
}

/// Ends a membership under the organization's lock: not the last administrator's (SPEC
/// 4.1), and the member's collaborator entries on the organization's datasets go with it
/// (SPEC 4.5).
fn end_membership(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    org: Org,
    target: Membership,
) -> Result<Removed> {
    if is_last_admin(target.role, orgs::admin_count(tx, org.id)?) {
        return Err(DomainError::LastAdmin { org: org.username });
    }
    orgs::delete_membership(tx, org.id, target.user_id)?;
    let was_self = target.user_id == p.user_id;
    let hook = roles_change(Some(Roles::member(target.role, target.default_role)), None);
    if was_self {
        record_with(tx, org.id, p, Action::MemberLeft, None, String::new(), hook)?;
    } else {
        record_with(
            tx,
            org.id,
            p,
            Action::MemberRemoved,
            Some(&target.username),
            String::new(),
            hook,
        )?;
    }
    Ok(Removed {
        org: org.username,
        username: target.username,
        was_self,
    })
}

/// "Remove member" (administrators).
pub struct RemoveMember {
    pub org: String,
    pub member: String,
}

pub fn remove_member(tx: &mut WriteTx<'_>, p: &Principal, cmd: RemoveMember) -> Result<Removed> {
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    let target = orgs::member_by_name(tx, org.id, &cmd.member)?.ok_or(DomainError::NotFound)?;
    end_membership(tx, p, org, target)
}

/// "Leave organization", from the user's own settings.
pub struct Leave {
    pub org: String,
}

pub fn leave(tx: &mut WriteTx<'_>, p: &Principal, cmd: Leave) -> Result<Removed> {
    let (org, role) = lock_for(tx, p, &cmd.org, OrgAction::View)?;
    let me = Membership {
        user_id: p.user_id,
        username: p.username.clone(),
        role,
        default_role: None,
    };
    end_membership(tx, p, org, me)
}

// ---- Reads ----

/// The organization `name` as the caller may see it: "not found" unless a member,
/// "forbidden" when the member's role does not allow `action` (one statement).
pub(crate) fn find(
    conn: &mut DbConn,
    p: &Principal,
    name: &str,
    action: OrgAction,
) -> Result<(Org, OrgRole)> {
    let (org, role) = orgs::find_with_role(conn, name, p.user_id)?.ok_or(DomainError::NotFound)?;
    let role = authz::org(&org.username, role, action)?;
    Ok((org, role))
}

/// Which page of a list, and how many to a page.
#[derive(Clone, Copy, Debug)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    /// A page of the HTML lists (50 rows).
    pub fn html(page: i64) -> Self {
        Paging {
            page,
            per_page: crate::models::PAGE_SIZE,
        }
    }
}

/// The organization's settings page (administrators).
pub fn settings(conn: &mut DbConn, p: &Principal, name: &str) -> Result<(Org, OrgRole)> {
    find(conn, p, name, OrgAction::Manage)
}

/// A page of an organization's members, those the filter selects, and whether the caller
/// may see their default dataset roles (administrators only, as on the Members subtab).
pub struct MembersView {
    pub org: Org,
    pub role: OrgRole,
    pub members: Page<Member>,
    pub shows_default_roles: bool,
    /// How many administrators the organization has (for the Members subtab only, 0
    /// elsewhere), for [`MembersView::is_last_admin`].
    pub admins: i64,
}

impl MembersView {
    /// Whether `m` is the last administrator, whom the use cases refuse to demote or remove
    /// (SPEC 4.1): the page shows those controls disabled, with the ways out.
    pub fn is_last_admin(&self, m: &Member) -> bool {
        self.admins > 0 && is_last_admin(m.role, self.admins)
    }
}

/// Who a member list shows: a part of a name (or, for administrators, of an email) and a role.
#[derive(Clone, Debug, Default)]
pub struct FindMembers {
    pub text: String,
    pub role: RoleFilter,
    /// Where the page the caller came from began or ended, for reading a nearby page from
    /// there (only the unfiltered list uses it).
    pub cursor: Option<orgs::Cursor>,
}

/// The most characters of a search that count (a display name is at most 100).
pub const MAX_SEARCH: usize = 100;

/// A search as typed, trimmed, without control characters, at most [`MAX_SEARCH`] characters.
pub fn search_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_SEARCH)
        .collect::<String>()
        .trim()
        .to_string()
}

fn members_for(
    conn: &mut DbConn,
    p: &Principal,
    name: &str,
    action: OrgAction,
    wanted: FindMembers,
    paging: Paging,
) -> Result<MembersView> {
    let (org, role) = find(conn, p, name, action)?;
    // Emails and default dataset roles are for administrators' eyes: a member's filter by
    // either is refused, as is the search of emails.
    let admin = role.can(OrgAction::Manage);
    if wanted.role.is_by_default_role() && !admin {
        return Err(DomainError::Forbidden(Denied::OrgRole {
            org: org.username,
            action: OrgAction::Manage,
        }));
    }
    let filter = MemberFilter {
        text: search_text(&wanted.text),
        emails: admin,
        role: wanted.role,
        cursor: wanted.cursor,
    };
    let members = orgs::members(conn, &org, &filter, paging.page, paging.per_page)?;
    // From the organization's row (kept by a trigger): no count of its own.
    let admins = if admin && action == OrgAction::Manage {
        org.admin_count
    } else {
        0
    };
    Ok(MembersView {
        org,
        role,
        members,
        shows_default_roles: admin,
        admins,
    })
}

/// The Members tab (and the API's list): every member of the organization may see it.
pub fn members(
    conn: &mut DbConn,
    p: &Principal,
    name: &str,
    wanted: FindMembers,
    paging: Paging,
) -> Result<MembersView> {
    members_for(conn, p, name, OrgAction::View, wanted, paging)
}

/// The Members subtab, where roles are managed (administrators).
pub fn managed_members(
    conn: &mut DbConn,
    p: &Principal,
    name: &str,
    wanted: FindMembers,
    paging: Paging,
) -> Result<MembersView> {
    members_for(conn, p, name, OrgAction::Manage, wanted, paging)
}

/// One member (members of the organization may see it), and whether the caller may see
/// the default dataset role.
pub fn member(
    conn: &mut DbConn,
    p: &Principal,
    name: &str,
    member: &str,
) -> Result<(Member, bool)> {
    let (org, role) = find(conn, p, name, OrgAction::View)?;
    let m =
        orgs::member(conn, org.id, member)?.ok_or(DomainError::NotMember { org: org.username })?;
    Ok((m, role.can(OrgAction::Manage)))
}

/// A page of the audit log (administrators).
pub fn audit_log(
    conn: &mut DbConn,
    p: &Principal,
    name: &str,
    paging: Paging,
) -> Result<(Org, OrgRole, Page<AuditRow>)> {
    let (org, role) = find(conn, p, name, OrgAction::Manage)?;
    let events = audit::list(conn, org.id, paging.page, paging.per_page)?;
    Ok((org, role, events))
}

/// The caller's organizations, with their role and whether they are its last administrator.
pub fn mine(conn: &mut DbConn, p: &Principal) -> Result<Vec<UserOrg>> {
    Ok(orgs::user_orgs(conn, p.user_id)?)
}

/// Before "Leave organization": the organization's name, and whether the caller is its last
/// administrator (who cannot leave; the page says so before the click).
pub fn leave_preview(conn: &mut DbConn, p: &Principal, name: &str) -> Result<(String, bool)> {
    let (org, role) = find(conn, p, name, OrgAction::View)?;
    let last = is_last_admin(role, orgs::admin_count(conn, org.id)?);
    Ok((org.username, last))
}

/// Before "Remove member" (or demoting oneself): the organization's and the member's names,
/// and whether the member is the last administrator, whom [`remove_member`] and
/// [`change_member`] refuse (the page says so before the click).
pub fn remove_preview(
    conn: &mut DbConn,
    p: &Principal,
    name: &str,
    member: &str,
) -> Result<(String, String, bool)> {
    let (org, _) = find(conn, p, name, OrgAction::Manage)?;
    let target = orgs::member_by_name(conn, org.id, member)?.ok_or(DomainError::NotFound)?;
    let last = is_last_admin(target.role, orgs::admin_count(conn, org.id)?);
    Ok((org.username, target.username, last))
}

/// Every member, for "Export as CSV" (administrators): the organization's name and the rows.
pub fn export_members(
    conn: &mut DbConn,
    p: &Principal,
    name: &str,
) -> Result<(String, Vec<orgs::ExportedMember>)> {
    let (org, _) = find(conn, p, name, OrgAction::Manage)?;
    let rows = orgs::export_members(conn, org.id)?;
    Ok((org.username, rows))
}

/// The members as CSV (RFC 4180, CRLF): username, display name, organization role, default
/// dataset role, joined (UTC). A field that a spreadsheet would read as a formula (starting
/// with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`.
pub fn members_csv(rows: &[orgs::ExportedMember]) -> String {
    fn field(out: &mut String, value: &str) {
        let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{value}")
        } else {
            value.to_string()
        };
        if guarded.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&guarded.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&guarded);
        }
    }
    let mut out =
        String::from("username,display_name,organization_role,default_dataset_role,joined\r\n");
    for m in rows {
        field(&mut out, &m.username);
        out.push(',');
        field(&mut out, &m.display_name);
        out.push(',');
        out.push_str(m.role.as_str());
        out.push(',');
        out.push_str(crate::domain::roles::default_role_value(m.default_role));
        out.push(',');
        out.push_str(&m.joined.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        out.push_str("\r\n");
    }
    out
}

// ---- Bulk changes ----

/// The most members one bulk change takes (two pages of the Members subtab).
pub const MAX_BULK: usize = 100;

/// What a bulk change does to every selected member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkChange {
    Role(OrgRole),
    DefaultRole(Option<DatasetRole>),
    /// Add or raise the members' collaborator entries on the existing datasets to their
    /// default dataset role (`app::bulk_add::defaults_preview`, with a page of its own).
    ApplyDefaults,
    Remove,
}

impl BulkChange {
    /// `role-admin`, `role-member`, `default-labeler`, `default-none`, `remove`.
    pub fn parse(s: &str) -> Option<BulkChange> {
        if s == "remove" {
            return Some(BulkChange::Remove);
        }
        if s == "apply-defaults" {
            return Some(BulkChange::ApplyDefaults);
        }
        if let Some(r) = s.strip_prefix("role-") {
            return OrgRole::parse(r).map(BulkChange::Role);
        }
        s.strip_prefix("default-")
            .and_then(crate::domain::roles::parse_default_role)
            .map(BulkChange::DefaultRole)
    }

    pub fn value(self) -> String {
        match self {
            BulkChange::Role(r) => format!("role-{}", r.as_str()),
            BulkChange::DefaultRole(d) => {
                format!("default-{}", crate::domain::roles::default_role_value(d))
            }
            BulkChange::ApplyDefaults => "apply-defaults".into(),
            BulkChange::Remove => "remove".into(),
        }
    }

    /// "Make Administrator", "Set default dataset role to Reviewer", "Remove from the
    /// organization".
    pub fn label(self) -> String {
        match self {
            BulkChange::Role(r) => format!("Make {}", r.label()),
            BulkChange::DefaultRole(d) => {
                format!("Set default dataset role to {}", default_role_label(d))
            }
            BulkChange::ApplyDefaults => "Apply default dataset roles to existing datasets".into(),
            BulkChange::Remove => "Remove from the organization".into(),
        }
    }

    /// Every bulk change, in the order of the menu.
    pub fn choices() -> Vec<BulkChange> {
        let mut v: Vec<BulkChange> = OrgRole::ALL
            .iter()
            .rev()
            .map(|r| BulkChange::Role(*r))
            .collect();
        v.extend(
            crate::domain::roles::default_role_choices()
                .into_iter()
                .map(BulkChange::DefaultRole),
        );
        v.push(BulkChange::ApplyDefaults);
        v.push(BulkChange::Remove);
        v
    }
}

/// "Change the selected members".
#[derive(Clone, Debug)]
pub struct BulkMembers {
    pub org: String,
    pub members: Vec<String>,
    pub change: BulkChange,
    /// Every member the filter finds instead of `members` ("Select all N matching"), read
    /// again under the lock when applied.
    pub matching: Option<FindMembers>,
}

/// The most members one change may reach through "every member matching the filter".
pub const MAX_MATCHING: i64 = 20_000;

/// The members a bulk change names: those ticked (found by name), or every member the
/// filter finds (one statement), with the names that are no members.
fn bulk_targets(
    conn: &mut DbConn,
    org: &Org,
    cmd: &BulkMembers,
) -> Result<(Vec<Membership>, Vec<String>)> {
    if let Some(wanted) = &cmd.matching {
        let filter = MemberFilter {
            text: search_text(&wanted.text),
            emails: true,
            role: wanted.role,
            cursor: None,
        };
        let found = orgs::members(conn, org, &filter, 1, MAX_MATCHING)?;
        if found.total > MAX_MATCHING {
            return Err(DomainError::BadInput(format!(
                "{} members match: narrow the search or the filter to at most 20,000 at once.",
                found.total
            )));
        }
        if found.items.is_empty() {
            let mut errors = FieldErrors::default();
            errors.add("members", "No members match the filter.");
            return Err(DomainError::Invalid(errors));
        }
        let members = found
            .items
            .into_iter()
            .map(|m| Membership {
                user_id: m.user_id,
                username: m.username,
                role: m.role,
                default_role: m.default_role,
            })
            .collect();
        return Ok((members, Vec::new()));
    }
    let names = crate::app::bulk_add::selected_names(&cmd.members)?;
    let plausible: Vec<String> = names
        .iter()
        .filter(|n| crate::models::plausible_name(n))
        .cloned()
        .collect();
    let found = orgs::members_by_names(conn, org.id, &plausible)?;
    let unknown = names
        .iter()
        .filter(|n| !found.iter().any(|m| m.username.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    Ok((found, unknown))
}

/// What a bulk change does (the confirmation page) or did: the members it changes, those
/// it leaves as they are (they already have the role) and the names that are no members.
#[derive(Clone, Debug)]
pub struct BulkPlan {
    pub org: String,
    pub change: BulkChange,
    pub changes: Vec<Membership>,
    pub unchanged: Vec<String>,
    pub unknown: Vec<String>,
}

fn bulk_plan(conn: &mut DbConn, org: &Org, cmd: &BulkMembers) -> Result<BulkPlan> {
    if cmd.change == BulkChange::ApplyDefaults {
        // Its own use cases (`bulk_add::defaults_preview`, `defaults_apply`) and pages.
        return Err(DomainError::BadInput(
            "Review the default dataset roles on their own page first.".into(),
        ));
    }
    let (found, unknown) = bulk_targets(conn, org, cmd)?;
    let (mut changes, mut unchanged) = (Vec::new(), Vec::new());
    for m in found {
        let same = match cmd.change {
            BulkChange::Role(r) => m.role == r,
            BulkChange::DefaultRole(d) => m.default_role == d,
            BulkChange::ApplyDefaults | BulkChange::Remove => false,
        };
        if same {
            unchanged.push(m.username);
        } else {
            changes.push(m);
        }
    }
    // SPEC 4.1 over the whole selection: demoting or removing every administrator is refused.
    let losing = changes.iter().filter(|m| m.role.is_admin()).count() as i64;
    let takes_admin = matches!(cmd.change, BulkChange::Role(r) if !r.is_admin())
        || cmd.change == BulkChange::Remove;
    if takes_admin && losing > 0 && orgs::admin_count(conn, org.id)? - losing < 1 {
        return Err(DomainError::LastAdmin {
            org: org.username.clone(),
        });
    }
    Ok(BulkPlan {
        org: org.username.clone(),
        change: cmd.change,
        changes,
        unchanged,
        unknown,
    })
}

/// The confirmation of a bulk change: what it would do (administrators).
pub fn bulk_preview(conn: &mut DbConn, p: &Principal, cmd: &BulkMembers) -> Result<BulkPlan> {
    let (org, _) = find(conn, p, &cmd.org, OrgAction::Manage)?;
    bulk_plan(conn, &org, cmd)
}

/// Applies a bulk change in the caller's one transaction under the organization's lock: the
/// rules of the single changes (never the last administrator), all or nothing, one audit
/// event per member changed. Returns what it did.
pub fn bulk_apply(tx: &mut WriteTx<'_>, p: &Principal, cmd: BulkMembers) -> Result<BulkPlan> {
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    let plan = bulk_plan(tx, &org, &cmd)?;
    let ids: Vec<i32> = plan.changes.iter().map(|m| m.user_id).collect();
    if ids.is_empty() {
        return Ok(plan);
    }
    match cmd.change {
        BulkChange::Role(r) => {
            orgs::set_role_of(tx, org.id, &ids, r)?;
        }
        BulkChange::DefaultRole(d) => {
            orgs::set_default_role_of(tx, org.id, &ids, d)?;
        }
        BulkChange::Remove => orgs::delete_memberships(tx, org.id, &ids)?,
        BulkChange::ApplyDefaults => return Ok(plan),
    }
    // One event per member, with the roles before and after as the single changes tell
    // webhooks, in multi-row statements (an "every member matching" change reaches
    // thousands).
    let events: Vec<Event<'_>> = plan
        .changes
        .iter()
        .filter_map(|m| {
            let before = Roles::member(m.role, m.default_role);
            let (action, details, after) = match cmd.change {
                BulkChange::Role(r) => (
                    Action::MemberRoleChanged,
                    format!("from {} to {}", m.role.label(), r.label()),
                    Some(Roles::member(r, m.default_role)),
                ),
                BulkChange::DefaultRole(d) => (
                    Action::MemberDefaultRoleChanged,
                    format!(
                        "from {} to {}",
                        default_role_label(m.default_role),
                        default_role_label(d)
                    ),
                    Some(Roles::member(m.role, d)),
                ),
                BulkChange::Remove if m.user_id == p.user_id => {
                    (Action::MemberLeft, String::new(), None)
                }
                BulkChange::Remove => (Action::MemberRemoved, String::new(), None),
                BulkChange::ApplyDefaults => return None,
            };
            Some(Event {
                account_id: org.id,
                actor_id: Some(p.user_id),
                actor_name: &p.username,
                action,
                subject: (action != Action::MemberLeft).then_some(m.username.as_str()),
                details,
                hook: roles_change(Some(before), after),
            })
        })
        .collect();
    audit::record_many(tx, &events)?;
    Ok(plan)
}
