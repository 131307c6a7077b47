//! The JSON the API reads and writes: the models of the Segments.ai SDK
//! (`SDK-CONTRACT.md` section 3), with Colabel's own words in extra fields the SDK ignores,
//! and the bodies it accepts. Fields Colabel has no concept of are answered with the SDK's
//! defaults, and accepted and ignored on input.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::api::iso;
use crate::app::accounts::{AccountView, Me};
use crate::app::datasets::Entry;
use crate::domain::roles::{DatasetRole, OrgRole};
use crate::models::accounts::Account;
use crate::models::audit::AuditRow;
use crate::models::datasets::DatasetDetail;
use crate::models::orgs::MemberOf;

/// A user or an organization.
#[derive(Serialize, ToSchema)]
pub struct User {
    pub username: String,
    /// ISO 8601, UTC.
    pub created_at: String,
    pub is_organization: bool,
    /// Only on `GET /user` (your own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Only on `GET /user`: every organization you belong to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<Membership>>,
    /// Only for an organization: who created it (`null` once that account is gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_created_by: Option<Option<String>>,
    /// Only for an organization, to its members: every member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Membership>>,
}

/// An organization of the caller, or a member of an organization.
#[derive(Serialize, ToSchema)]
pub struct Membership {
    pub username: String,
    pub created_at: String,
    pub is_organization: bool,
    /// The SDK's field: `admin` for an administrator, `null` for a member.
    pub organization_role: Option<&'static str>,
    /// Colabel's organization role: `member` or `admin`.
    pub role: &'static str,
    /// The default dataset role: `viewer`, `labeler`, `reviewer`, `manager`, `admin`, or
    /// `null` (none: not added to new datasets). Shown to the organization's administrators
    /// and to the member themselves only, as on the pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub default_dataset_role: Option<Option<&'static str>>,
}

fn sdk_org_role(role: OrgRole) -> Option<&'static str> {
    role.is_admin().then_some("admin")
}

impl Membership {
    fn of(m: MemberOf, is_organization: bool, shows_default_role: bool) -> Self {
        Membership {
            username: m.username,
            created_at: iso(m.created_at),
            is_organization,
            organization_role: sdk_org_role(m.role),
            role: m.role.as_str(),
            default_dataset_role: shows_default_role
                .then(|| m.default_role.map(DatasetRole::as_str)),
        }
    }
}

impl User {
    fn account(a: &Account) -> Self {
        User {
            username: a.username.clone(),
            created_at: iso(a.created_at),
            is_organization: a.is_org(),
            email: None,
            organizations: None,
            organization_created_by: None,
            members: None,
        }
    }

    pub fn me(me: Me) -> Self {
        User {
            email: Some(me.email),
            organizations: Some(
                me.orgs
                    .into_iter()
                    .map(|o| Membership::of(o, true, true))
                    .collect(),
            ),
            ..User::account(&me.account)
        }
    }

    pub fn view(view: AccountView) -> Self {
        match view {
            AccountView::User(a) => User::account(&a),
            AccountView::Org {
                account,
                created_by,
                members,
                shows_default_roles,
            } => User {
                organization_created_by: Some(created_by),
                members: Some(
                    members
                        .into_iter()
                        .map(|m| Membership::of(m, false, shows_default_roles))
                        .collect(),
                ),
                ..User::account(&account)
            },
        }
    }
}

/// A member of an organization, on Colabel's members endpoints.
#[derive(Serialize, ToSchema)]
pub struct Member {
    pub username: String,
    pub display_name: String,
    /// `member` or `admin`.
    pub role: &'static str,
    /// `viewer` ... `admin`, or `null` (none). Shown to the organization's administrators
    /// only, as on the pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub default_dataset_role: Option<Option<&'static str>>,
}

impl Member {
    pub fn of(m: &crate::models::orgs::Member, shows_default_role: bool) -> Self {
        Member {
            username: m.username.clone(),
            display_name: m.display_name.clone(),
            role: m.role.as_str(),
            default_dataset_role: shows_default_role
                .then(|| m.default_role.map(DatasetRole::as_str)),
        }
    }
}

/// A dataset's owner.
#[derive(Serialize, ToSchema)]
pub struct Owner {
    pub username: String,
    pub created_at: String,
}

/// An object with no members (`{}`): Colabel keeps no label statistics or metadata.
#[derive(Serialize, ToSchema, Default)]
pub struct Empty {}

/// A dataset, with every field the SDK's model requires.
#[derive(Serialize, ToSchema)]
pub struct Dataset {
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    pub description: String,
    /// Always `other`.
    pub category: &'static str,
    pub public: bool,
    /// Always `false`.
    pub archived: bool,
    pub owner: Owner,
    pub created_at: String,
    pub task_type: &'static str,
    pub label_stats: Empty,
    pub metadata: Empty,
    pub enable_ratings: bool,
    pub enable_skip_labeling: bool,
    pub enable_skip_reviewing: bool,
    pub enable_save_button: bool,
    pub enable_label_status_verified: bool,
    pub enable_same_dimensions_track_constraint: bool,
    pub enable_3d_region_of_interest: bool,
    pub enable_interpolation: bool,
    pub use_timestamps_for_interpolation: bool,
    pub enable_object_linking: bool,
    /// Your effective role: `viewer`, `labeler`, `reviewer`, `manager` or `admin`.
    pub role: &'static str,
    /// Collaborator entries (the owner and organization administrators have none).
    pub collaborators_count: i64,
    pub samples_count: i64,
    pub readme: &'static str,
    /// `owner/name` of the dataset it was cloned from.
    pub cloned_from: Option<String>,
}

impl Dataset {
    pub fn of(d: &DatasetDetail) -> Self {
        let ds = &d.ds;
        Dataset {
            name: ds.name.clone(),
            full_name: format!("{}/{}", ds.owner_name, ds.name),
            description: ds.description.clone(),
            category: "other",
            public: ds.is_public,
            archived: false,
            owner: Owner {
                username: ds.owner_name.clone(),
                created_at: iso(ds.owner_created_at),
            },
            created_at: iso(ds.created_at),
            task_type: ds.task_type.as_str(),
            label_stats: Empty {},
            metadata: Empty {},
            // The SDK's own defaults for a new dataset.
            enable_ratings: false,
            enable_skip_labeling: true,
            enable_skip_reviewing: false,
            enable_save_button: false,
            enable_label_status_verified: false,
            enable_same_dimensions_track_constraint: false,
            enable_3d_region_of_interest: false,
            enable_interpolation: true,
            use_timestamps_for_interpolation: false,
            enable_object_linking: false,
            role: d.access.role().as_str(),
            collaborators_count: d.ds.collaborator_count,
            samples_count: 0,
            readme: "",
            cloned_from: ds.cloned_from.clone(),
        }
    }
}

/// A collaborator entry.
#[derive(Serialize, ToSchema)]
pub struct Collaborator {
    pub user: User,
    /// `viewer`, `labeler`, `reviewer`, `manager` or `admin`.
    pub role: &'static str,
}

impl Collaborator {
    pub fn of(e: &Entry) -> Collaborator {
        Collaborator {
            user: User {
                username: e.username.clone(),
                created_at: iso(e.created_at),
                is_organization: false,
                email: None,
                organizations: None,
                organization_created_by: None,
                members: None,
            },
            role: e.role.as_str(),
        }
    }
}

/// A person with access to a dataset, and why (`GET /datasets/{owner}/{name}/access/`).
/// Everyone may view a public dataset besides (the dataset's `public`): that is not a row.
#[derive(Serialize, ToSchema)]
pub struct Grantee {
    pub username: String,
    /// The effective role, the highest that applies: `viewer` ... `admin`.
    pub role: &'static str,
    /// Every source of it, highest first: `owner` (the personal account that owns the
    /// dataset), `organization_administrator` (of the organization that owns it),
    /// `collaborator` (an entry, with `collaborator_role`).
    pub sources: Vec<&'static str>,
    /// The role of the collaborator entry, or `null` without one.
    pub collaborator_role: Option<&'static str>,
}

impl Grantee {
    pub fn of(g: &crate::models::access::Grantee) -> Grantee {
        Grantee {
            username: g.username.clone(),
            role: g.sources.role().map_or("", DatasetRole::as_str),
            sources: g.sources.codes(),
            collaborator_role: g.sources.collaborator.map(DatasetRole::as_str),
        }
    }
}

/// An event of an organization's audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: i32,
    pub created_at: String,
    /// Who did it.
    pub actor: String,
    /// A stable code such as `member.added` or `collaborator.role_changed`.
    pub action: &'static str,
    /// Whom or what it concerned.
    pub subject: Option<String>,
    pub details: String,
}

impl AuditEvent {
    pub fn of(e: &AuditRow) -> Self {
        AuditEvent {
            id: e.id,
            created_at: iso(e.created_at),
            actor: e.actor_name.clone(),
            action: e.action.code(),
            subject: e.subject_name.clone(),
            details: e.details.clone(),
        }
    }
}

/// `GET /api_status/`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok`.
    pub status: &'static str,
}

// ---- Bodies ----

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /user/datasets/`, `POST /organizations/{org}/datasets/`. Other fields the SDK sends
/// are accepted and ignored.
#[derive(Deserialize, ToSchema)]
pub struct NewDataset {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// One of Colabel's task types (default `segmentation-bitmap`).
    #[serde(default)]
    pub task_type: Option<String>,
    #[serde(default)]
    pub public: Option<bool>,
}

/// `PATCH /datasets/{owner}/{name}/`: only the fields given change.
#[derive(Deserialize, ToSchema)]
pub struct DatasetPatch {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub task_type: Option<String>,
    #[serde(default)]
    pub public: Option<bool>,
}

/// `POST /datasets/{owner}/{name}/clone/`.
#[derive(Deserialize, ToSchema)]
pub struct CloneRequest {
    /// Default: `{name}-clone`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub task_type: Option<String>,
    #[serde(default)]
    pub public: Option<bool>,
    /// An organization you administer; default: your own account.
    #[serde(default)]
    pub owner: Option<String>,
}

fn labeler() -> String {
    "labeler".into()
}

/// `POST /datasets/{owner}/{name}/collaborators/`.
#[derive(Deserialize, ToSchema)]
pub struct NewCollaborator {
    /// A username.
    pub user: String,
    /// `viewer`, `labeler` (default), `reviewer`, `manager` or `admin`.
    #[serde(default = "labeler")]
    pub role: String,
}

/// `PATCH /datasets/{owner}/{name}/collaborators/{user}`.
#[derive(Deserialize, ToSchema)]
pub struct CollaboratorPatch {
    pub role: String,
}

/// `POST /organizations/{org}/members/`.
#[derive(Deserialize, ToSchema)]
pub struct NewMember {
    pub username: String,
    /// `member` (default) or `admin`.
    #[serde(default)]
    pub role: Option<String>,
    /// A dataset role, or `null` for none; default `labeler`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub default_dataset_role: Option<Option<String>>,
}

/// `PATCH /organizations/{org}/members/{user}`: only the fields given change.
#[derive(Deserialize, ToSchema)]
pub struct MemberPatch {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub default_dataset_role: Option<Option<String>>,
}

/// Parses a role or task type sent in a body; a value Colabel does not know is a 400 that
/// lists what it accepts (never the value sent).
pub fn parse<T: Copy>(
    field: &str,
    value: &str,
    all: &'static [T],
    parse: fn(&str) -> Option<T>,
    text: fn(T) -> &'static str,
) -> Result<T, crate::app::DomainError> {
    parse(value).ok_or_else(|| {
        let accepted: Vec<&str> = all.iter().map(|v| text(*v)).collect();
        crate::app::DomainError::BadInput(format!(
            "Invalid {field}: use one of {}.",
            accepted.join(", ")
        ))
    })
}
