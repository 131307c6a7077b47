//! The effective role of a person on a dataset (SPEC 2): the highest that applies.

use crate::domain::roles::{DatasetRole, OrgAction, OrgRole};

/// Where a user's effective role on a dataset comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The dataset belongs to the user's personal account.
    Owner,
    /// The user administers the organization that owns the dataset.
    OrgAdmin,
    Collaborator(DatasetRole),
    /// Anyone may view a public dataset.
    Public,
}

impl Access {
    pub fn role(self) -> DatasetRole {
        match self {
            Access::Owner | Access::OrgAdmin => DatasetRole::Admin,
            Access::Collaborator(r) => r,
            Access::Public => DatasetRole::Viewer,
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            Access::Owner => "you own this dataset",
            Access::OrgAdmin => "you are an administrator of the organization that owns it",
            Access::Collaborator(_) => "you are a collaborator",
            Access::Public => "the dataset is public",
        }
    }

    /// The highest access that applies, or none: `viewer` is the user (none for a visitor),
    /// `viewer_org_role` their role in the owning organization, `collaborator` their entry.
    pub fn effective(
        owner_id: i32,
        viewer: Option<i32>,
        viewer_org_role: Option<OrgRole>,
        collaborator: Option<DatasetRole>,
        is_public: bool,
    ) -> Option<Access> {
        if viewer.is_some() && viewer == Some(owner_id) {
            return Some(Access::Owner);
        }
        if viewer_org_role.is_some_and(|r| r.can(OrgAction::AdministerDatasets)) {
            return Some(Access::OrgAdmin);
        }
        if let Some(role) = collaborator {
            return Some(Access::Collaborator(role));
        }
        is_public.then_some(Access::Public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_role_is_the_highest_that_applies() {
        use Access::*;
        let e = Access::effective;
        assert_eq!(e(1, Some(1), None, None, false), Some(Owner));
        assert_eq!(
            e(
                9,
                Some(1),
                Some(OrgRole::Admin),
                Some(DatasetRole::Viewer),
                false
            ),
            Some(OrgAdmin)
        );
        assert_eq!(
            e(
                9,
                Some(1),
                Some(OrgRole::Member),
                Some(DatasetRole::Reviewer),
                true
            ),
            Some(Collaborator(DatasetRole::Reviewer))
        );
        assert_eq!(
            e(9, Some(1), Some(OrgRole::Member), None, true),
            Some(Public)
        );
        assert_eq!(e(9, Some(1), Some(OrgRole::Member), None, false), None);
        assert_eq!(e(9, None, None, None, false), None);
        assert_eq!(e(9, None, None, None, true), Some(Public));
    }
}
