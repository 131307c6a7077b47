//! Roles and the permission table of SPEC section 2, kept as data.
//!
//! Every authorization decision in handlers and templates goes through [`OrgRole::can`] and
//! [`DatasetRole::can`], which read the two tables below. Roles are ordered from least to most.

use std::fmt;

/// A role within an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrgRole {
    Member,
    Admin,
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
}

/// Rows: actions; columns: member, administrator.
const ORG_PERMISSIONS: &[(OrgAction, [bool; 2])] = &[
    (OrgAction::View, [true, true]),
    (OrgAction::CreateDataset, [false, true]),
    (OrgAction::Manage, [false, true]),
];

/// A collaborator role on a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DatasetRole {
    Viewer,
    Labeler,
    Reviewer,
    Manager,
    Admin,
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
    pub const ALL: [OrgRole; 2] = [OrgRole::Member, OrgRole::Admin];

    pub fn can(self, action: OrgAction) -> bool {
        ORG_PERMISSIONS
            .iter()
            .find(|(a, _)| *a == action)
            .is_some_and(|(_, allowed)| allowed[self as usize])
    }

    /// The value stored in the database and sent by forms.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Member => "member",
            OrgRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
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

impl DatasetRole {
    pub const ALL: [DatasetRole; 5] = [
        DatasetRole::Viewer,
        DatasetRole::Labeler,
        DatasetRole::Reviewer,
        DatasetRole::Manager,
        DatasetRole::Admin,
    ];

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

    pub fn as_str(self) -> &'static str {
        match self {
            DatasetRole::Viewer => "viewer",
            DatasetRole::Labeler => "labeler",
            DatasetRole::Reviewer => "reviewer",
            DatasetRole::Manager => "manager",
            DatasetRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
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
            for r in DatasetRole::ALL {
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
        assert!(
            OrgRole::Admin.can(OrgAction::CreateDataset) && OrgRole::Admin.can(OrgAction::Manage)
        );
    }

    #[test]
    fn managers_cannot_touch_administrators() {
        assert!(DatasetRole::Manager.can_assign(DatasetRole::Manager));
        assert!(!DatasetRole::Manager.can_assign(DatasetRole::Admin));
        assert!(DatasetRole::Admin.can_assign(DatasetRole::Admin));
        assert!(!DatasetRole::Reviewer.can_assign(DatasetRole::Viewer));
    }

    #[test]
    fn values_round_trip() {
        for r in DatasetRole::ALL {
            assert_eq!(DatasetRole::parse(r.as_str()), Some(r));
        }
        for r in OrgRole::ALL {
            assert_eq!(OrgRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(parse_default_role("none"), Some(None));
        assert_eq!(parse_default_role("owner"), None);
    }
}
