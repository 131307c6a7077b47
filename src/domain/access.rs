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

/// Every source of one person's role on a dataset, not only the highest ("who has access,
/// and why"): the pages list them all and show the effective role, which is the one that
/// [`Access::effective`] picks from them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// The dataset belongs to the person's personal account.
    pub owner: bool,
    /// The person's role in the organization that owns the dataset (`None` for a personal
    /// dataset, or when not a member).
    pub org_role: Option<OrgRole>,
    /// The person's collaborator entry.
    pub collaborator: Option<DatasetRole>,
    /// The dataset is public.
    pub public: bool,
}

impl Sources {
    /// The effective access (SPEC 2: the highest that applies), or none.
    pub fn effective(&self) -> Option<Access> {
        // Stand-in ids: only whether the person is the owner matters.
        let (owner_id, me) = (1, if self.owner { 1 } else { 2 });
        Access::effective(
            owner_id,
            Some(me),
            self.org_role,
            self.collaborator,
            self.public,
        )
    }

    /// The effective role, or none.
    pub fn role(&self) -> Option<DatasetRole> {
        self.effective().map(Access::role)
    }

    /// Every source that grants a role, highest first, as the pages say it:
    /// "personal owner", "organization administrator", "collaborator entry: Labeler",
    /// "public".
    pub fn labels(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.owner {
            v.push("personal owner".to_string());
        }
        if self
            .org_role
            .is_some_and(|r| r.can(OrgAction::AdministerDatasets))
        {
            v.push("organization administrator".to_string());
        }
        if let Some(r) = self.collaborator {
            v.push(format!("collaborator entry: {}", r.label()));
        }
        if self.public {
            v.push("public".to_string());
        }
        v
    }

    /// The sources as stable codes, highest first, for the JSON API: `owner`,
    /// `organization_administrator`, `collaborator`, `public`.
    pub fn codes(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.owner {
            v.push("owner");
        }
        if self
            .org_role
            .is_some_and(|r| r.can(OrgAction::AdministerDatasets))
        {
            v.push("organization_administrator");
        }
        if self.collaborator.is_some() {
            v.push("collaborator");
        }
        if self.public {
            v.push("public");
        }
        v
    }

    /// "Administrator — organization administrator; collaborator entry: Labeler".
    pub fn summary(&self) -> String {
        match self.role() {
            Some(role) => format!("{} — {}", role.label(), self.labels().join("; ")),
            None => "No access".to_string(),
        }
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
    #[test]
    fn sources_list_every_grant_and_the_highest_role() {
        let s = Sources {
            owner: false,
            org_role: Some(OrgRole::Admin),
            collaborator: Some(DatasetRole::Labeler),
            public: true,
        };
        assert_eq!(s.role(), Some(DatasetRole::Admin));
        assert_eq!(
            s.summary(),
            "Administrator — organization administrator; collaborator entry: Labeler; public"
        );
        let member = Sources {
            org_role: Some(OrgRole::Member),
            collaborator: Some(DatasetRole::Reviewer),
            public: true,
            ..Sources::default()
        };
        assert_eq!(member.role(), Some(DatasetRole::Reviewer));
        assert_eq!(
            member.labels(),
            vec!["collaborator entry: Reviewer", "public"]
        );
        let owner = Sources {
            owner: true,
            ..Sources::default()
        };
        assert_eq!(owner.summary(), "Administrator — personal owner");
        let public = Sources {
            public: true,
            org_role: Some(OrgRole::Member),
            ..Sources::default()
        };
        assert_eq!(public.summary(), "Viewer — public");
        assert_eq!(Sources::default().role(), None);
    }
}
