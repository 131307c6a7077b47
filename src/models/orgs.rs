//! Organizations and their memberships, with the rules of SPEC 4: one membership per user,
//! at least one administrator, removal and leaving revoke dataset access. Each rule is one
//! function that runs inside the caller's write transaction.

use chrono::Utc;
use diesel::prelude::*;

use crate::db::{lock_org, DbConn};
use crate::models::accounts::{self, name_key, AccountKind};
use crate::models::audit::{self, Action, Event};
use crate::models::{prefix_upper_bound, Page, PAGE_SIZE};
use crate::roles::{default_role_label, DatasetRole, OrgRole};
use crate::schema::{accounts as acc, collaborators, datasets, memberships, organizations};

/// An organization as its pages show it.
#[derive(Clone, Debug)]
pub struct Org {
    pub id: i32,
    pub username: String,
    pub display_name: String,
    pub description: String,
    pub contact_email: String,
    /// Kept by a trigger on `memberships`.
    pub member_count: i64,
}

impl Org {
    /// `/{org}` followed by `suffix` (e.g. `/members`).
    pub fn path(&self, suffix: &str) -> String {
        format!("/{}{}", self.username, suffix)
    }

    /// The display name, or the username when there is none.
    pub fn title(&self) -> &str {
        if self.display_name.is_empty() {
            &self.username
        } else {
            &self.display_name
        }
    }
}

/// Who acts: the signed-in user's id and name (copied into the audit log).
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: i32,
    pub name: String,
}

/// The organization named `name` and `user_id`'s role in it (one statement).
pub fn find_with_role(
    conn: &mut DbConn,
    name: &str,
    user_id: i32,
) -> QueryResult<Option<(Org, Option<OrgRole>)>> {
    let row = acc::table
        .inner_join(organizations::table.on(organizations::id.eq(acc::id)))
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(acc::id)
                .and(memberships::user_id.eq(user_id))),
        )
        .filter(acc::username_key.eq(name_key(name)))
        .select((
            acc::id,
            acc::username,
            acc::display_name,
            organizations::description,
            organizations::contact_email,
            organizations::member_count,
            memberships::role.nullable(),
        ))
        .first::<(i32, String, String, String, String, i32, Option<String>)>(conn)
        .optional()?;
    Ok(row.map(
        |(id, username, display_name, description, contact_email, count, role)| {
            (
                Org {
                    id,
                    username,
                    display_name,
                    description,
                    contact_email,
                    member_count: count.into(),
                },
                role.as_deref().and_then(OrgRole::parse),
            )
        },
    ))
}

/// The organizations a user belongs to, by name, for the profile menu (bounded).
pub fn nav_orgs(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<String>> {
    memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::org_id)))
        .filter(memberships::user_id.eq(user_id))
        .order(acc::username_key)
        .select(acc::username)
        .limit(100)
        .load(conn)
}

/// An organization of the user, for `/settings/organizations`.
#[derive(Clone, Debug)]
pub struct UserOrg {
    pub username: String,
    pub display_name: String,
    pub role: OrgRole,
    pub admins: i64,
}

/// The user's organizations with their role and the number of administrators (two statements).
pub fn user_orgs(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<UserOrg>> {
    let rows: Vec<(i32, String, String, String)> = memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::org_id)))
        .filter(memberships::user_id.eq(user_id))
        .order(acc::username_key)
        .select((acc::id, acc::username, acc::display_name, memberships::role))
        .load(conn)?;
    // The user's organizations as a subquery, not an `IN` list of their ids: fixed text,
    // so the statement stays prepared.
    let mine = diesel::alias!(memberships as mine);
    let counts: std::collections::HashMap<i32, i64> = memberships::table
        .filter(
            memberships::org_id.eq_any(
                mine.filter(mine.field(memberships::user_id).eq(user_id))
                    .select(mine.field(memberships::org_id)),
            ),
        )
        .filter(memberships::role.eq(OrgRole::Admin.as_str()))
        .group_by(memberships::org_id)
        .select((memberships::org_id, diesel::dsl::count_star()))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, username, display_name, role)| UserOrg {
            username,
            display_name,
            role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
            admins: counts.get(&id).copied().unwrap_or(0),
        })
        .collect())
}

/// Creates an organization with `creator` as its administrator. `Ok(None)` when the name is
/// taken by a user or an organization.
pub fn create(
    conn: &mut DbConn,
    creator: &Actor,
    username: &str,
    display_name: &str,
) -> QueryResult<Option<i32>> {
    if accounts::name_taken(conn, username)? {
        return Ok(None);
    }
    let id = accounts::insert_account(conn, username, AccountKind::Org, display_name)?;
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(id),
            organizations::created_by.eq(creator.id),
        ))
        .execute(conn)?;
    insert_membership(conn, id, creator.id, &creator.name, OrgRole::Admin, None)?;
    audit::record(
        conn,
        Event {
            account_id: id,
            actor_id: Some(creator.id),
            actor_name: &creator.name,
            action: Action::OrgCreated,
            subject: Some(username),
            details: String::new(),
        },
    )?;
    Ok(Some(id))
}

fn insert_membership(
    conn: &mut DbConn,
    org_id: i32,
    user_id: i32,
    username: &str,
    role: OrgRole,
    default_role: Option<DatasetRole>,
) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::org_id.eq(org_id),
            memberships::user_id.eq(user_id),
            memberships::username_key.eq(name_key(username)),
            memberships::role.eq(role.as_str()),
            memberships::default_dataset_role.eq(default_role.map(DatasetRole::as_str)),
            memberships::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// A member as the member pages show them.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: i32,
    pub username: String,
    pub display_name: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

impl Member {
    pub fn default_role_value(&self) -> &'static str {
        crate::roles::default_role_value(self.default_role)
    }

    pub fn default_role_label(&self) -> &'static str {
        default_role_label(self.default_role)
    }
}

/// user id, username, display name, organization role, default dataset role.
type MemberRow = (i32, String, String, String, Option<String>);

/// One page of members ordered by name, optionally those whose name starts with `prefix`;
/// served by the `(org_id, username_key)` index. One statement (two with a prefix: the
/// total of an unfiltered list is the organization's `member_count`).
pub fn members(conn: &mut DbConn, org: &Org, prefix: &str, page: i64) -> QueryResult<Page<Member>> {
    let org_id = org.id;
    let prefix = name_key(prefix.trim());
    // A deferred join: the page's ids come from the covering index alone, so a deep page
    // skips index entries, not joined rows. One statement with fixed text, so it stays
    // prepared (an `IN` list of ids would be a new statement on every view); the subquery
    // cannot be boxed, hence a macro for its two shapes.
    let offset = Page::<Member>::offset(page, PAGE_SIZE);
    let paged = diesel::alias!(memberships as paged);
    macro_rules! page_rows {
        ($members:expr) => {
            memberships::table
                .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
                .filter(
                    memberships::id.eq_any(
                        $members
                            .order(paged.field(memberships::username_key))
                            .limit(PAGE_SIZE)
                            .offset(offset)
                            .select(paged.field(memberships::id)),
                    ),
                )
                .order(memberships::username_key)
                .select((
                    memberships::user_id,
                    acc::username,
                    acc::display_name,
                    memberships::role,
                    memberships::default_dataset_role,
                ))
                .load(conn)?
        };
    }
    let of_org = paged.filter(paged.field(memberships::org_id).eq(org_id));
    let key = paged.field(memberships::username_key);
    let upper = prefix_upper_bound(&prefix);
    let (total, rows): (i64, Vec<MemberRow>) = if prefix.is_empty() {
        (org.member_count, page_rows!(of_org))
    } else {
        let matching = of_org.filter(key.ge(&prefix)).filter(key.lt(&upper));
        (matching.count().get_result(conn)?, page_rows!(matching))
    };
    let items = rows
        .into_iter()
        .map(|(user_id, username, display_name, role, default)| Member {
            user_id,
            username,
            display_name,
            role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
            default_role: default.as_deref().and_then(DatasetRole::parse),
        })
        .collect();
    Ok(Page {
        items,
        page,
        total,
        per_page: PAGE_SIZE,
    })
}

/// Why a membership change was refused; each says what to do instead.
#[derive(Debug, PartialEq, Eq)]
pub enum MemberError {
    UnknownUser,
    IsOrganization,
    AlreadyMember,
    NotMember,
    LastAdmin,
}

impl MemberError {
    pub fn message(&self, org: &str) -> String {
        match self {
            MemberError::UnknownUser => "There is no user with that username.".into(),
            MemberError::IsOrganization => "That is an organization; only users can be members.".into(),
            MemberError::AlreadyMember => format!("That user is already a member of {org}."),
            MemberError::NotMember => format!("That user is not a member of {org}."),
            MemberError::LastAdmin => format!(
                "{org} must keep at least one administrator. Make another member an administrator first, or delete the organization in its settings."
            ),
        }
    }
}

fn member_row(
    conn: &mut DbConn,
    org_id: i32,
    user_id: i32,
) -> QueryResult<Option<(String, Option<String>, String)>> {
    memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq(user_id))
        .select((
            memberships::role,
            memberships::default_dataset_role,
            acc::username,
        ))
        .first(conn)
        .optional()
}

/// Whether `role` is the organization's only administrator role (SPEC 4.1).
pub fn is_last_admin(conn: &mut DbConn, org_id: i32, role: OrgRole) -> QueryResult<bool> {
    Ok(role.is_admin() && admin_count(conn, org_id)? <= 1)
}

fn admin_count(conn: &mut DbConn, org_id: i32) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq(OrgRole::Admin.as_str()))
        .count()
        .get_result(conn)
}

/// Adds `username` to the organization.
pub fn add_member(
    conn: &mut DbConn,
    org_id: i32,
    actor: &Actor,
    username: &str,
    role: OrgRole,
    default_role: Option<DatasetRole>,
) -> QueryResult<Result<String, MemberError>> {
    lock_org(conn, org_id)?;
    let Some(account) = accounts::find_account(conn, username)? else {
        return Ok(Err(MemberError::UnknownUser));
    };
    if account.is_org() {
        return Ok(Err(MemberError::IsOrganization));
    }
    if member_row(conn, org_id, account.id)?.is_some() {
        return Ok(Err(MemberError::AlreadyMember));
    }
    insert_membership(
        conn,
        org_id,
        account.id,
        &account.username,
        role,
        default_role,
    )?;
    audit::record(
        conn,
        Event {
            account_id: org_id,
            actor_id: Some(actor.id),
            actor_name: &actor.name,
            action: Action::MemberAdded,
            subject: Some(&account.username),
            details: format!(
                "as {}, default dataset role {}",
                role.label(),
                default_role_label(default_role)
            ),
        },
    )?;
    Ok(Ok(account.username))
}

/// Sets a member's organization role and default dataset role; the last administrator
/// cannot be demoted. Writes one audit event per change.
pub fn update_member(
    conn: &mut DbConn,
    org_id: i32,
    actor: &Actor,
    user_id: i32,
    role: OrgRole,
    default_role: Option<DatasetRole>,
) -> QueryResult<Result<(), MemberError>> {
    lock_org(conn, org_id)?;
    let Some((old_role, old_default, username)) = member_row(conn, org_id, user_id)? else {
        return Ok(Err(MemberError::NotMember));
    };
    let old_role = OrgRole::parse(&old_role).unwrap_or(OrgRole::Member);
    let old_default = old_default.as_deref().and_then(DatasetRole::parse);
    if old_role.is_admin() && !role.is_admin() && admin_count(conn, org_id)? <= 1 {
        return Ok(Err(MemberError::LastAdmin));
    }
    if old_role == role && old_default == default_role {
        return Ok(Ok(()));
    }
    diesel::update(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set((
        memberships::role.eq(role.as_str()),
        memberships::default_dataset_role.eq(default_role.map(DatasetRole::as_str)),
    ))
    .execute(conn)?;
    let mut event = |action, details| {
        audit::record(
            conn,
            Event {
                account_id: org_id,
                actor_id: Some(actor.id),
                actor_name: &actor.name,
                action,
                subject: Some(&username),
                details,
            },
        )
    };
    if old_role != role {
        event(
            Action::MemberRoleChanged,
            format!("from {} to {}", old_role.label(), role.label()),
        )?;
    }
    if old_default != default_role {
        event(
            Action::MemberDefaultRoleChanged,
            format!(
                "from {} to {}",
                default_role_label(old_default),
                default_role_label(default_role)
            ),
        )?;
    }
    Ok(Ok(()))
}

/// Removes a member (`actor` is an administrator) or lets one leave (`actor` is the member):
/// their collaborator entries on the organization's datasets go in the same transaction.
pub fn remove_member(
    conn: &mut DbConn,
    org_id: i32,
    actor: &Actor,
    user_id: i32,
) -> QueryResult<Result<String, MemberError>> {
    lock_org(conn, org_id)?;
    let Some((role, _, username)) = member_row(conn, org_id, user_id)? else {
        return Ok(Err(MemberError::NotMember));
    };
    if role == OrgRole::Admin.as_str() && admin_count(conn, org_id)? <= 1 {
        return Ok(Err(MemberError::LastAdmin));
    }
    diesel::delete(
        collaborators::table
            .filter(collaborators::user_id.eq(user_id))
            .filter(
                collaborators::dataset_id.eq_any(
                    datasets::table
                        .filter(datasets::owner_id.eq(org_id))
                        .select(datasets::id),
                ),
            ),
    )
    .execute(conn)?;
    diesel::delete(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .execute(conn)?;
    let leaving = actor.id == user_id;
    audit::record(
        conn,
        Event {
            account_id: org_id,
            actor_id: Some(actor.id),
            actor_name: &actor.name,
            action: if leaving {
                Action::MemberLeft
            } else {
                Action::MemberRemoved
            },
            subject: if leaving { None } else { Some(&username) },
            details: String::new(),
        },
    )?;
    Ok(Ok(username))
}

/// Saves the organization's profile; records which fields changed.
pub fn update_settings(
    conn: &mut DbConn,
    org: &Org,
    actor: &Actor,
    display_name: &str,
    description: &str,
    contact_email: &str,
) -> QueryResult<()> {
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
    if changed.is_empty() {
        return Ok(());
    }
    diesel::update(acc::table.find(org.id))
        .set(acc::display_name.eq(display_name))
        .execute(conn)?;
    diesel::update(organizations::table.find(org.id))
        .set((
            organizations::description.eq(description),
            organizations::contact_email.eq(contact_email),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        Event {
            account_id: org.id,
            actor_id: Some(actor.id),
            actor_name: &actor.name,
            action: Action::OrgSettingsChanged,
            subject: None,
            details: changed.join(", "),
        },
    )
}

/// Deletes the organization: its memberships, datasets, collaborators and audit log go
/// with it (foreign keys cascade from the account row), and the name becomes free.
pub fn delete(conn: &mut DbConn, org_id: i32) -> QueryResult<()> {
    lock_org(conn, org_id)?;
    diesel::delete(acc::table.find(org_id))
        .execute(conn)
        .map(drop)
}
