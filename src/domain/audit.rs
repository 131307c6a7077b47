//! The kinds of events the audit log records, stored as their code.

text_enum! {
    pub enum Action {
        OrgCreated = "org.created",
        MemberAdded = "member.added",
        MemberRoleChanged = "member.role_changed",
        MemberDefaultRoleChanged = "member.default_role_changed",
        MemberRemoved = "member.removed",
        MemberLeft = "member.left",
        OrgSettingsChanged = "org.settings_changed",
        DatasetCreated = "dataset.created",
        DatasetSettingsChanged = "dataset.settings_changed",
        DatasetDeleted = "dataset.deleted",
        CollaboratorAdded = "collaborator.added",
        CollaboratorRoleChanged = "collaborator.role_changed",
        CollaboratorRemoved = "collaborator.removed",
        InvitationSent = "invitation.sent",
        InvitationResent = "invitation.resent",
        InvitationCancelled = "invitation.cancelled",
        InvitationAccepted = "invitation.accepted",
        InvitationDeclined = "invitation.declined",
        InvitationExpired = "invitation.expired",
        ApiKeyCreated = "api_key.created",
        ApiKeyFirstUsed = "api_key.first_used",
        ApiKeyRevoked = "api_key.revoked",
    }
}

impl Action {
    /// The stable code (the stored text).
    pub fn code(self) -> &'static str {
        self.as_str()
    }

    /// The verb shown between actor and subject.
    pub fn verb(self) -> &'static str {
        match self {
            Action::OrgCreated => "created the organization",
            Action::MemberAdded => "added member",
            Action::MemberRoleChanged => "changed the organization role of",
            Action::MemberDefaultRoleChanged => "changed the default dataset role of",
            Action::MemberRemoved => "removed member",
            Action::MemberLeft => "left the organization",
            Action::OrgSettingsChanged => "changed the settings",
            Action::DatasetCreated => "created dataset",
            Action::DatasetSettingsChanged => "changed the settings of dataset",
            Action::DatasetDeleted => "deleted dataset",
            Action::CollaboratorAdded => "added collaborator",
            Action::CollaboratorRoleChanged => "changed the dataset role of",
            Action::CollaboratorRemoved => "removed collaborator",
            Action::InvitationSent => "invited",
            Action::InvitationResent => "resent the invitation of",
            Action::InvitationCancelled => "cancelled the invitation of",
            Action::InvitationAccepted => "accepted an invitation and joined",
            Action::InvitationDeclined => "declined an invitation",
            Action::InvitationExpired => "expired the invitation of",
            Action::ApiKeyCreated => "created the API key",
            Action::ApiKeyFirstUsed => "first used the API key",
            Action::ApiKeyRevoked => "revoked the API key",
        }
    }
}
