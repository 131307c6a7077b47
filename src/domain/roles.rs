//! Roles and the permission table of SPEC section 2, kept as data.
//!
//! Every authorization decision goes through [`OrgRole::can`] and [`DatasetRole::can`], which
//! read the two tables below: the use cases ask them before they act, and templates ask the
//! same questions to decide which controls to show. Roles are ordered from least to most.

use std::fmt;

text_enum! {
    /// A role within an organization.
    #[derive(PartialOrd, Ord)]
    pub enum OrgRole {
        Member = "member",
        Admin = "admin",
    }
}

/// What an organization role may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgAction {
    /// Access the organization account and see other members.
    View,
    /// Create new organization datasets.
    CreateDataset,
    /// Manage memberships and settings (and read the audit log).
    Manage,
    /// Administer every dataset the organization owns (SPEC 2, effective role).
    AdministerDatasets,
}

/// Rows: actions; columns: member, administrator.
const ORG_PERMISSIONS: &[(OrgAction, [bool; 2])] = &[
    (OrgAction::View, [true, true]),
    (OrgAction::CreateDataset, [false, true]),
    (OrgAction::Manage, [false, true]),
    (OrgAction::AdministerDatasets, [false, true]),
];

text_enum! {
    /// A collaborator role on a dataset.
    #[derive(PartialOrd, Ord)]
    pub enum DatasetRole {
        Viewer = "viewer",
        Labeler = "labeler",
        Reviewer = "reviewer",
        Manager = "manager",
        Admin = "admin",
    }
}

/// What a dataset role may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetAction {
    View,
    Label,
    Review,
    /// Add, update and remove collaborators.
    ManageCollaborators,
    /// Change the dataset's settings and delete it.
    ManageSettings,
}

/// Rows: actions; columns: viewer, labeler, reviewer, manager, administrator.
const DATASET_PERMISSIONS: &[(DatasetAction, [bool; 5])] = &[
    (DatasetAction::View, [true, true, true, true, true]),
    (DatasetAction::Label, [false, true, true, true, true]),
    (DatasetAction::Review, [false, false, true, true, true]),
    (
        DatasetAction::ManageCollaborators,
        [false, false, false, true, true],
    ),
    (
        DatasetAction::ManageSettings,
        [false, false, false, false, true],
    ),
];

impl OrgRole {
    pub fn can(self, action: OrgAction) -> bool {
        ORG_PERMISSIONS
            .iter()
            .find(|(a, _)| *a == action)
            .is_some_and(|(_, allowed)| allowed[self as usize])
    }

    /// The roles that may do `action`, least first (for queries that select by permission).
    pub fn allowed_to(action: OrgAction) -> Vec<OrgRole> {
        Self::ALL
            .iter()
            .copied()
            .filter(|r| r.can(action))
            .collect()
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgRole::Member => "Member",
            OrgRole::Admin => "Administrator",
        }
    }

    pub fn is_admin(self) -> bool {
        self == OrgRole::Admin
    }
}

/// SPEC 4.1: whether taking the role `role` away from a member (demoting, removing, or
/// leaving) would leave the organization without an administrator, when it has `admins`.
/// The use cases refuse such a change; pages ask the same question to say so beforehand.
pub fn is_last_admin(role: OrgRole, admins: i64) -> bool {
    role.is_admin() && admins <= 1
}

impl DatasetRole {
    pub fn can(self, action: DatasetAction) -> bool {
        DATASET_PERMISSIONS
            .iter()
            .find(|(a, _)| *a == action)
            .is_some_and(|(_, allowed)| allowed[self as usize])
    }

    /// Whether a collaborator with this role may give `target` to someone, or change or
    /// remove someone who has `target`: managers may not touch administrators.
    pub fn can_assign(self, target: DatasetRole) -> bool {
        self.can(DatasetAction::ManageCollaborators)
            && (target != DatasetRole::Admin || self.can(DatasetAction::ManageSettings))
    }

    /// The roles this role may give (empty without `ManageCollaborators`).
    pub fn assignable(self) -> Vec<DatasetRole> {
        Self::ALL
            .iter()
            .copied()
            .filter(|r| self.can_assign(*r))
            .collect()
    }

    pub fn label(self) -> &'static str {
        match self {
            DatasetRole::Viewer => "Viewer",
            DatasetRole::Labeler => "Labeler",
            DatasetRole::Reviewer => "Reviewer",
            DatasetRole::Manager => "Manager",
            DatasetRole::Admin => "Administrator",
        }
    }
}

/// The default dataset role a new member gets unless told otherwise (the form preselects it).
pub const DEFAULT_FOR_NEW_MEMBERS: Option<DatasetRole> = Some(DatasetRole::Labeler);

/// A member's default dataset role: a role, or "None (do not add)". The form value of
/// "None" is `none`; in the database it is NULL.
pub fn parse_default_role(s: &str) -> Option<Option<DatasetRole>> {
    if s == "none" {
        Some(None)
    } else {
        DatasetRole::parse(s).map(Some)
    }
}

pub fn default_role_value(r: Option<DatasetRole>) -> &'static str {
    r.map_or("none", DatasetRole::as_str)
}

pub fn default_role_label(r: Option<DatasetRole>) -> &'static str {
    r.map_or("None (do not add)", DatasetRole::label)
}

/// Every choice of default dataset role, "None" last.
pub fn default_role_choices() -> Vec<Option<DatasetRole>> {
    let mut v: Vec<Option<DatasetRole>> = DatasetRole::ALL.iter().copied().map(Some).collect();
    v.push(None);
    v
}

/// Which members a member list shows: everyone, those with one organization role, or those
/// with one default dataset role ("None" included). In a URL: `admin`, `member`,
/// `default-labeler`, `default-none`, ...
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoleFilter {
    #[default]
    Any,
    Org(OrgRole),
    Default(Option<DatasetRole>),
}

impl RoleFilter {
    /// The filter named `s` in a URL (`""` is every member); `None` for an unknown name.
    pub fn parse(s: &str) -> Option<RoleFilter> {
        if s.is_empty() || s == "any" {
            return Some(RoleFilter::Any);
        }
        if let Some(d) = s.strip_prefix("default-") {
            return parse_default_role(d).map(RoleFilter::Default);
        }
        OrgRole::parse(s).map(RoleFilter::Org)
    }

    pub fn value(self) -> String {
        match self {
            RoleFilter::Any => String::new(),
            RoleFilter::Org(r) => r.as_str().to_string(),
            RoleFilter::Default(d) => format!("default-{}", default_role_value(d)),
        }
    }

    pub fn label(self) -> String {
        match self {
            RoleFilter::Any => "Everyone".into(),
            RoleFilter::Org(OrgRole::Admin) => "Administrators".into(),
            RoleFilter::Org(OrgRole::Member) => "Members".into(),
            RoleFilter::Default(d) => format!("Default dataset role: {}", default_role_label(d)),
        }
    }

    /// Whether it selects by default dataset role, which only administrators see.
    pub fn is_by_default_role(self) -> bool {
        matches!(self, RoleFilter::Default(_))
    }

    /// Every filter, in the order of the filter menu.
    pub fn choices() -> Vec<RoleFilter> {
        let mut v = vec![
            RoleFilter::Any,
            RoleFilter::Org(OrgRole::Admin),
            RoleFilter::Org(OrgRole::Member),
        ];
        v.extend(default_role_choices().into_iter().map(RoleFilter::Default));
        v
    }
}

impl fmt::Display for OrgRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl fmt::Display for DatasetRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_least_to_most() {
        assert!(DatasetRole::ALL.windows(2).all(|w| w[0] < w[1]));
        assert!(OrgRole::Member < OrgRole::Admin);
    }

    #[test]
    fn the_tables_match_the_spec() {
        use DatasetAction::*;
        let expect = |action, from: DatasetRole| {
            for r in DatasetRole::ALL.iter().copied() {
                assert_eq!(r.can(action), r >= from, "{r:?} {action:?}");
            }
        };
        expect(View, DatasetRole::Viewer);
        expect(Label, DatasetRole::Labeler);
        expect(Review, DatasetRole::Reviewer);
        expect(ManageCollaborators, DatasetRole::Manager);
        expect(ManageSettings, DatasetRole::Admin);
        assert!(OrgRole::Member.can(OrgAction::View));
        assert!(!OrgRole::Member.can(OrgAction::CreateDataset));
        assert!(!OrgRole::Member.can(OrgAction::Manage));
        assert!(!OrgRole::Member.can(OrgAction::AdministerDatasets));
        assert!(
            OrgRole::Admin.can(OrgAction::CreateDataset) && OrgRole::Admin.can(OrgAction::Manage)
        );
        assert_eq!(
            OrgRole::allowed_to(OrgAction::AdministerDatasets),
            vec![OrgRole::Admin]
        );
    }

    #[test]
    fn managers_cannot_touch_administrators() {
        assert!(DatasetRole::Manager.can_assign(DatasetRole::Manager));
        assert!(!DatasetRole::Manager.can_assign(DatasetRole::Admin));
        assert!(DatasetRole::Admin.can_assign(DatasetRole::Admin));
        assert!(!DatasetRole::Reviewer.can_assign(DatasetRole::Viewer));
        assert_eq!(DatasetRole::Reviewer.assignable(), vec![]);
        assert_eq!(DatasetRole::Manager.assignable().len(), 4);
    }

    #[test]
    fn the_last_administrator() {
        assert!(is_last_admin(OrgRole::Admin, 1));
        assert!(!is_last_admin(OrgRole::Admin, 2));
        assert!(!is_last_admin(OrgRole::Member, 1));
    }

    #[test]
    fn values_round_trip() {
        for r in DatasetRole::ALL {
            assert_eq!(DatasetRole::parse(r.as_str()), Some(*r));
        }
        for r in OrgRole::ALL {
            assert_eq!(OrgRole::parse(r.as_str()), Some(*r));
        }
        assert_eq!(parse_default_role("none"), Some(None));
        assert_eq!(parse_default_role("owner"), None);
    }
}
