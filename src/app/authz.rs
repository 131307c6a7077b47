//! The permission checks of the use cases: a role read under the use case's locks, asked of
//! the one permission table (`domain::roles`). No access at all answers "not found", exactly
//! as for what does not exist (SPEC 4.8); a role too low answers "forbidden" with the reason.

use crate::app::error::{Denied, DomainError};
use crate::domain::access::Access;
use crate::domain::roles::{DatasetAction, DatasetRole, OrgAction, OrgRole};

/// The caller's organization role when it allows `action`.
pub fn org(
    org_name: &str,
    role: Option<OrgRole>,
    action: OrgAction,
) -> Result<OrgRole, DomainError> {
    let role = role.ok_or(DomainError::NotFound)?;
    if role.can(action) {
        Ok(role)
    } else {
        Err(DomainError::Forbidden(Denied::OrgRole {
            org: org_name.to_string(),
            action,
        }))
    }
}

/// The caller's access to a dataset when its role allows `action` (a caller without access
/// never gets this far: the dataset is "not found" for them).
pub fn dataset(
    dataset_name: &str,
    access: Access,
    action: DatasetAction,
) -> Result<Access, DomainError> {
    if access.role().can(action) {
        Ok(access)
    } else {
        Err(DomainError::Forbidden(Denied::DatasetRole {
            dataset: dataset_name.to_string(),
            role: access.role(),
        }))
    }
}

/// Whether the caller may give `role` to a collaborator, or change or remove one who has it
/// (SPEC 2: a manager cannot touch the administrator role).
pub fn assign(access: Access, role: DatasetRole) -> Result<(), DomainError> {
    if access.role().can_assign(role) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(Denied::AdminRoleOnly))
    }
}
