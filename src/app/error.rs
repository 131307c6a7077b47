//! Domain errors: why a use case refused or failed, with a stable code each. Every surface
//! turns them into its own answer (the HTML adapter into pages, form messages and flashes; a
//! JSON adapter into status codes and bodies). Infrastructure errors map onto them here, in
//! one place: a vanished parent is "not found", a lost or locked database "unavailable".

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::domain::roles::{DatasetRole, OrgAction};
use crate::domain::status::InvitationStatus;

/// Per-field messages of a command that did not validate.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    /// Records the first message of a field (later ones are dropped).
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub fn check(&mut self, field: &'static str, result: Result<(), &str>) {
        if let Err(m) = result {
            self.add(field, m);
        }
    }

    /// Cleans free text with [`crate::domain::names::clean_text`]; records its message.
    pub fn text(&mut self, field: &'static str, value: &str, max_chars: usize) -> String {
        match crate::domain::names::clean_text(value, max_chars) {
            Ok(v) => v,
            Err(m) => {
                self.add(field, m);
                value.trim().to_string()
            }
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// A field's message for a form, and whether it is the form's first invalid field (the
    /// one focused when the form is shown again).
    pub fn field(&self, field: &str) -> Option<FieldMsg<'_>> {
        self.0
            .iter()
            .position(|(f, _)| *f == field)
            .map(|i| FieldMsg {
                text: &self.0[i].1,
                first: i == 0,
            })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(f, m)| (*f, m.as_str()))
    }

    /// `Ok(value)` when nothing was recorded, else the errors as [`DomainError::Invalid`].
    pub fn into_result<T>(self, value: T) -> Result<T, DomainError> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(DomainError::Invalid(self))
        }
    }
}

/// One field's message as a form shows it (see [`FieldErrors::field`]).
#[derive(Clone, Copy, Debug)]
pub struct FieldMsg<'a> {
    pub text: &'a str,
    pub first: bool,
}

impl std::fmt::Display for FieldMsg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text)
    }
}

/// Why a permission was refused (the caller may see the thing, not do this to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The caller's organization role does not allow the action.
    OrgRole { org: String, action: OrgAction },
    /// The caller's role on a dataset does not allow the action.
    DatasetRole { dataset: String, role: DatasetRole },
    /// Only dataset administrators may grant, change or remove the administrator role.
    AdminRoleOnly,
    /// Datasets can be created only for oneself or an organization one administers.
    OthersAccount,
    /// The organization adds members only by invitation.
    InviteOnly { org: String },
    /// The invitation is addressed to another account.
    NotInvitee,
}

/// What a change collided with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The name belongs to a user or an organization.
    NameTaken,
    EmailTaken,
    /// The owner has a dataset of that name.
    DatasetNameTaken,
    AlreadyMember {
        org: String,
    },
    AlreadyCollaborator,
    /// The person has a pending invitation to the organization already.
    AlreadyInvited {
        org: String,
    },
    /// A unique index refused a row no rule anticipated.
    Duplicate,
    /// Another change happened at the same moment (a serialization failure or deadlock).
    Concurrent,
}

/// Who was to join: organizations can be neither members nor collaborators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joining {
    Organization,
    Dataset,
}

#[derive(Debug)]
pub enum DomainError {
    /// Missing, or not visible to this caller (the two look the same, SPEC 4.8).
    NotFound,
    Forbidden(Denied),
    /// The command's fields did not validate.
    Invalid(FieldErrors),
    /// A value no form offers (an unknown role, task type or action).
    BadInput(String),
    Conflict(Conflict),
    /// The user to add does not exist.
    UnknownUser,
    /// An organization was named where a user is needed.
    IsOrganization(Joining),
    NotMember {
        org: String,
    },
    NotCollaborator,
    /// SPEC 4.1: the organization would be left without an administrator.
    LastAdmin {
        org: String,
    },
    /// Too many failed password checks; try again in this many minutes.
    Throttled {
        minutes: i64,
    },
    /// Wrong login or password.
    BadCredentials,
    /// The organization sent as many invitations in the last 24 hours as it may.
    InvitationLimit {
        org: String,
        limit: i64,
    },
    /// The invitation was accepted, declined, cancelled or has expired.
    InvitationClosed(InvitationStatus),
    /// An invitation to this address needs the address verified first.
    EmailNotVerified {
        email: String,
    },
    /// A link sent by email that has expired, was used, or never existed.
    LinkInvalid,
    /// Too many emails of one kind were asked for; try again in this many minutes.
    TooManyEmails {
        minutes: i64,
    },
    /// The caller's session ended (signed out elsewhere, a password change, expiry) before
    /// this request; carries the address to come back to after signing in again.
    SessionEnded(String),
    /// The database cannot be reached, or is locked, in time (the cause is for the log).
    Unavailable(String),
    /// Anything else: logged, never shown.
    Internal(String),
}

impl DomainError {
    /// A stable code, the same on every surface.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::NotFound => "not_found",
            DomainError::Forbidden(Denied::AdminRoleOnly) => "forbidden.admin_role_only",
            DomainError::Forbidden(Denied::OthersAccount) => "forbidden.others_account",
            DomainError::Forbidden(Denied::InviteOnly { .. }) => "forbidden.invite_only",
            DomainError::Forbidden(Denied::NotInvitee) => "forbidden.not_invitee",
            DomainError::Forbidden(_) => "forbidden",
            DomainError::Invalid(_) => "invalid",
            DomainError::BadInput(_) => "bad_input",
            DomainError::Conflict(c) => match c {
                Conflict::NameTaken => "conflict.name_taken",
                Conflict::EmailTaken => "conflict.email_taken",
                Conflict::DatasetNameTaken => "conflict.dataset_name_taken",
                Conflict::AlreadyMember { .. } => "conflict.already_member",
                Conflict::AlreadyCollaborator => "conflict.already_collaborator",
                Conflict::AlreadyInvited { .. } => "conflict.already_invited",
                Conflict::Duplicate => "conflict.duplicate",
                Conflict::Concurrent => "conflict.concurrent",
            },
            DomainError::UnknownUser => "unknown_user",
            DomainError::IsOrganization(_) => "is_organization",
            DomainError::NotMember { .. } => "not_member",
            DomainError::NotCollaborator => "not_collaborator",
            DomainError::LastAdmin { .. } => "last_admin",
            DomainError::Throttled { .. } => "throttled",
            DomainError::BadCredentials => "bad_credentials",
            DomainError::InvitationLimit { .. } => "invitation_limit",
            DomainError::InvitationClosed(_) => "invitation_closed",
            DomainError::EmailNotVerified { .. } => "email_not_verified",
            DomainError::LinkInvalid => "link_invalid",
            DomainError::TooManyEmails { .. } => "too_many_emails",
            DomainError::SessionEnded(_) => "session_ended",
            DomainError::Unavailable(_) => "unavailable",
            DomainError::Internal(_) => "internal",
        }
    }

    /// Colabel's own words for it, as its pages say them.
    pub fn message(&self) -> String {
        match self {
            DomainError::NotFound => {
                "There is nothing here, or you do not have access to it.".into()
            }
            DomainError::Forbidden(d) => match d {
                Denied::OrgRole { org, action } => match action {
                    OrgAction::CreateDataset => {
                        format!("Only administrators of {org} can create its datasets.")
                    }
                    _ => format!(
                        "Only administrators of {org} can do this. Ask one of them if you need a change."
                    ),
                },
                Denied::DatasetRole { dataset, role } => {
                    format!("Your role on {dataset} ({}) does not allow this.", role.label())
                }
                Denied::AdminRoleOnly => "Only dataset administrators can grant the administrator role or change an administrator.".into(),
                Denied::OthersAccount => "You can only create datasets for your own account or for organizations you administer.".into(),
                Denied::InviteOnly { org } => format!("{org} adds members only by invitation: invite them instead. Administrators can change this in the organization's settings."),
                Denied::NotInvitee => "This invitation is for another account. Sign in as the account it was sent to.".into(),
            },
            DomainError::Invalid(_) => "Some fields need attention.".into(),
            DomainError::BadInput(m) => m.clone(),
            DomainError::Conflict(c) => match c {
                Conflict::NameTaken => "That name is taken by a user or an organization.".into(),
                Conflict::EmailTaken => "An account with this email already exists.".into(),
                Conflict::DatasetNameTaken => {
                    "The owner already has a dataset with this name.".into()
                }
                Conflict::AlreadyMember { org } => format!("That user is already a member of {org}."),
                Conflict::AlreadyCollaborator => {
                    "That user is already a collaborator on this dataset.".into()
                }
                Conflict::AlreadyInvited { org } => format!(
                    "That person already has a pending invitation to {org}. Resend it from the list of pending invitations."
                ),
                Conflict::Duplicate => "That already exists.".into(),
                Conflict::Concurrent => {
                    "Another change happened at the same moment; please try again.".into()
                }
            },
            DomainError::UnknownUser => "There is no user with that username.".into(),
            DomainError::IsOrganization(Joining::Organization) => {
                "That is an organization; only users can be members.".into()
            }
            DomainError::IsOrganization(Joining::Dataset) => {
                "That is an organization; only users can be collaborators.".into()
            }
            DomainError::NotMember { org } => format!("That user is not a member of {org}."),
            DomainError::NotCollaborator => {
                "That user is not a collaborator on this dataset.".into()
            }
            DomainError::LastAdmin { org } => format!(
                "{org} must keep at least one administrator. Make another member an administrator first, or delete the organization in its settings."
            ),
            DomainError::Throttled { minutes } => format!(
                "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                if *minutes == 1 { "" } else { "s" }
            ),
            DomainError::BadCredentials => "Incorrect username, email or password.".into(),
            DomainError::InvitationLimit { org, limit } => format!(
                "{org} has sent {limit} invitations in the last 24 hours, the most it may. Try again tomorrow; pending invitations stay valid."
            ),
            DomainError::InvitationClosed(status) => match status {
                InvitationStatus::Accepted => "This invitation was already accepted.".into(),
                InvitationStatus::Declined => "This invitation was declined.".into(),
                InvitationStatus::Cancelled => "This invitation was cancelled by an administrator.".into(),
                InvitationStatus::Expired | InvitationStatus::Pending => "This invitation has expired. Ask an administrator of the organization to send it again.".into(),
            },
            DomainError::EmailNotVerified { email } => format!(
                "This invitation is for {email}. Verify that address first: use the link we sent to it (or send a new one from the banner at the top)."
            ),
            DomainError::LinkInvalid => "This link has expired or was already used. Ask for a new one.".into(),
            DomainError::TooManyEmails { minutes } => format!(
                "You asked for several emails recently. Try again in {minutes} minute{}.",
                if *minutes == 1 { "" } else { "s" }
            ),
            DomainError::SessionEnded(_) => {
                "Your session has ended. Please sign in again.".into()
            }
            DomainError::Unavailable(_) => {
                "Colabel is busy or cannot reach its database. Please try again in a moment."
                    .into()
            }
            DomainError::Internal(_) => {
                "An unexpected error occurred. It has been logged.".into()
            }
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        DomainError::Internal(e.to_string())
    }
}

impl std::fmt::Display for DomainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DomainError::Unavailable(cause) => write!(f, "unavailable: {cause}"),
            DomainError::Internal(cause) => write!(f, "internal error: {cause}"),
            other => write!(f, "{}: {}", other.code(), other.message()),
        }
    }
}

impl std::error::Error for DomainError {}

/// Messages by which SQLite and libpq say the database is out of reach or locked.
const UNAVAILABLE_MESSAGES: &[&str] = &[
    "database is locked",
    "database table is locked",
    "database is busy",
    "server closed the connection",
    "terminating connection",
    "no connection to the server",
    "the database system is",
    "disk i/o error",
    "unable to open database file",
    "attempt to write a readonly database",
];

impl From<DieselError> for DomainError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => DomainError::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let message = info.message().to_ascii_lowercase();
                match kind {
                    DatabaseErrorKind::UniqueViolation => {
                        DomainError::Conflict(Conflict::Duplicate)
                    }
                    // What the row pointed at is gone (deleted by a change that committed
                    // first): the same as asking for something that does not exist.
                    DatabaseErrorKind::ForeignKeyViolation => DomainError::NotFound,
                    DatabaseErrorKind::SerializationFailure => {
                        DomainError::Conflict(Conflict::Concurrent)
                    }
                    DatabaseErrorKind::ClosedConnection => {
                        DomainError::Unavailable(info.message().to_string())
                    }
                    _ if message.contains("deadlock detected") => {
                        DomainError::Conflict(Conflict::Concurrent)
                    }
                    _ if UNAVAILABLE_MESSAGES.iter().any(|m| message.contains(m)) => {
                        DomainError::Unavailable(info.message().to_string())
                    }
                    _ => DomainError::Internal(format!("database: {}", info.message())),
                }
            }
            DieselError::BrokenTransactionManager => {
                DomainError::Unavailable("the connection's transaction state is lost".into())
            }
            other => DomainError::Internal(format!("database: {other}")),
        }
    }
}

impl From<r2d2::Error> for DomainError {
    fn from(e: r2d2::Error) -> Self {
        DomainError::Unavailable(format!("no database connection: {e}"))
    }
}

/// Maps a unique-index refusal of one statement to the conflict it means there.
pub fn unique_means(conflict: Conflict) -> impl FnOnce(DieselError) -> DomainError {
    move |e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            DomainError::Conflict(conflict)
        }
        other => other.into(),
    }
}

impl From<crate::auth::password::HashError> for DomainError {
    fn from(e: crate::auth::password::HashError) -> Self {
        match e {
            crate::auth::password::HashError::Busy => DomainError::Unavailable(e.to_string()),
            crate::auth::password::HashError::Failed(_) => DomainError::Internal(e.to_string()),
        }
    }
}
