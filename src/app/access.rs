//! "Who has access, and why" (issue 15, item 5): reads for the dataset's Access tab
//! (managers and administrators of the dataset, as for its collaborators) and a member's
//! Access page (administrators of the organization, as for the Members subtab).

use crate::app::authz;
use crate::app::error::DomainError;
use crate::app::orgs::{search_text, Paging};
use crate::app::principal::Principal;
use crate::db::DbConn;
use crate::domain::access::Access;
use crate::domain::roles::{DatasetAction, OrgAction, OrgRole};
use crate::models::access::{grantees, member_datasets, Grantee, MemberDataset};
use crate::models::datasets::{self, Dataset};
use crate::models::orgs::{self, Member, Org};
use crate::models::Page;

type Result<T> = std::result::Result<T, DomainError>;

/// What the dataset's Access tab shows.
pub struct DatasetAccessView {
    pub ds: Dataset,
    /// The caller's access (for the tabs).
    pub access: Access,
    /// A page of the people with access, by username, each with every source of their role.
    pub people: Page<Grantee>,
    /// The search as used (a part of a username).
    pub search: String,
}

/// The people with access to `owner/name` and why: "not found" without access to the
/// dataset (SPEC 4.8), "forbidden" below manager, as the collaborators page answers.
pub fn dataset_access(
    conn: &mut DbConn,
    p: &Principal,
    owner: &str,
    name: &str,
    search: &str,
    paging: Paging,
) -> Result<DatasetAccessView> {
    let (ds, access) = datasets::find_with_access(conn, owner, name, Some(p.user_id))?
        .ok_or(DomainError::NotFound)?;
    let access = authz::dataset(&ds.name, access, DatasetAction::ManageCollaborators)?;
    let search = search_text(search);
    let people = grantees(conn, &ds, &search, paging.page, paging.per_page)?;
    Ok(DatasetAccessView {
        ds,
        access,
        people,
        search,
    })
}

/// What a member's Access page shows.
pub struct MemberAccessView {
    pub org: Org,
    /// The caller's role (for the tabs).
    pub role: OrgRole,
    pub member: Member,
    /// A page of the organization's datasets the member can open, by name.
    pub datasets: Page<MemberDataset>,
    /// How many datasets of the organization the member cannot open.
    pub hidden: i64,
}

/// The datasets of the organization `org` that its member `member` can open, with the role
/// and its sources (administrators of the organization; "not found" for a non-member caller
/// and for someone who is not a member, "forbidden" for a member, as the Members subtab).
pub fn member_access(
    conn: &mut DbConn,
    p: &Principal,
    org: &str,
    member: &str,
    page: i64,
) -> Result<MemberAccessView> {
    let (org, role) = orgs::find_with_role(conn, org, p.user_id)?.ok_or(DomainError::NotFound)?;
    let role = authz::org(&org.username, role, OrgAction::Manage)?;
    let member = orgs::member(conn, org.id, member)?.ok_or(DomainError::NotFound)?;
    let (datasets, hidden) = member_datasets(conn, org.id, member.user_id, member.role, page)?;
    Ok(MemberAccessView {
        org,
        role,
        member,
        datasets,
        hidden,
    })
}
