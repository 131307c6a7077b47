//! Dataset use cases: create (with the default-role fan-out), settings, delete, add / change
//! / remove collaborators; and the reads their pages need.
//!
//! Every change to a dataset takes the owning organization's lock (when an organization owns
//! it), then the dataset's row lock, then reads the caller's effective role under both, then
//! asks the permission table. Membership changes take the same organization lock, so a
//! removed member's collaborator entries cannot reappear, and a dataset deleted by a change
//! that committed first is "not found".

use crate::app::authz;
use crate::app::error::{unique_means, Conflict, Denied, DomainError, FieldErrors, Joining};
use crate::app::orgs::Paging;
use crate::app::principal::Principal;
use crate::db::{DbConn, WriteTx};
use crate::domain::access::Access;
use crate::domain::audit::Action;
use crate::domain::kinds::{AccountKind, TaskType};
use crate::domain::names::{check_dataset_name, MAX_DESCRIPTION};
use crate::domain::roles::{DatasetAction, DatasetRole, OrgAction};
use crate::domain::webhooks::Roles;
use crate::models::audit::{self, Event, Hook};
use crate::models::datasets::{
    self, Collaborator, Dataset, DatasetDetail, DatasetFilter, DatasetSummary, Listing, NewDataset,
    OwnerChoice,
};
use crate::models::{accounts, orgs, Page};

type Result<T> = std::result::Result<T, DomainError>;

/// Locks the dataset (after its organization), reads the caller's access, checks `action`.
fn lock_for(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    owner: &str,
    name: &str,
    action: DatasetAction,
) -> Result<(Dataset, Access)> {
    orgs::lock_if_org(tx, owner)?;
    datasets::lock(tx, owner, name)?;
    find_in(tx, Some(p), owner, name, action)
}

fn find_in(
    conn: &mut DbConn,
    viewer: Option<&Principal>,
    owner: &str,
    name: &str,
    action: DatasetAction,
) -> Result<(Dataset, Access)> {
    let (ds, access) = datasets::find_with_access(conn, owner, name, viewer.map(|p| p.user_id))?
        .ok_or(DomainError::NotFound)?;
    let access = authz::dataset(&ds.name, access, action)?;
    Ok((ds, access))
}

fn record(
    conn: &mut DbConn,
    ds_owner: i32,
    p: &Principal,
    action: Action,
    subject: &str,
    details: String,
) -> Result<()> {
    record_with(conn, ds_owner, p, action, subject, details, Hook::default())
}

/// [`record`] with what webhooks are told beyond the audit log's text.
fn record_with(
    conn: &mut DbConn,
    ds_owner: i32,
    p: &Principal,
    action: Action,
    subject: &str,
    details: String,
    hook: Hook,
) -> Result<()> {
    Ok(audit::record(
        conn,
        Event {
            account_id: ds_owner,
            actor_id: Some(p.user_id),
            actor_name: &p.username,
            action,
            subject: Some(subject),
            details,
            hook,
        },
    )?)
}

/// A collaborator change on `ds` for webhooks.
fn collab_hook(ds: &Dataset, before: Option<DatasetRole>, after: Option<DatasetRole>) -> Hook {
    Hook {
        dataset: Some(ds.name.clone()),
        before: before.map(Roles::collaborator),
        after: after.map(Roles::collaborator),
        ..Hook::default()
    }
}

/// "Create dataset": the owner (the caller's account or an organization they administer),
/// the name, a description, the task type (`None` when not chosen) and the visibility.
pub struct CreateDataset {
    pub owner: String,
    /// The kind of account the owner must be (the API's `/organizations/{org}/datasets/`
    /// creates only in organizations); `None`: either.
    pub owner_kind: Option<AccountKind>,
    pub name: String,
    pub description: String,
    pub task_type: Option<TaskType>,
    pub is_public: bool,
}

/// A dataset that was made.
#[derive(Debug, Clone)]
pub struct Created {
    pub owner: String,
    pub name: String,
    /// For an organization's dataset: how many members joined it by their default dataset
    /// role, per role, lowest first (the creator, its administrator, aside).
    pub joined: Vec<(DatasetRole, i64)>,
}

impl Created {
    pub fn path(&self) -> String {
        format!("/{}/{}", self.owner, self.name)
    }
}

/// The account `owner` as a dataset owner for the caller, its lock taken when it is an
/// organization: their own account, or an organization whose role allows creating datasets.
/// Someone else's account is "forbidden"; an organization they are not in, "not found".
fn lock_owner(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    owner: &str,
    kind: Option<AccountKind>,
) -> Result<OwnerChoice> {
    if let Some(org) = orgs::lock(tx, owner)? {
        let role = orgs::role_of(tx, org.id, p.user_id)?;
        authz::org(&org.username, role, OrgAction::CreateDataset)?;
        return Ok(OwnerChoice {
            id: org.id,
            username: org.username,
            is_org: true,
        });
    }
    let account = accounts::find_account(tx, owner)?
        .filter(|a| kind.is_none_or(|k| k == a.kind))
        .ok_or(DomainError::NotFound)?;
    if account.id != p.user_id {
        return Err(DomainError::Forbidden(Denied::OthersAccount));
    }
    Ok(OwnerChoice {
        id: account.id,
        username: account.username,
        is_org: false,
    })
}

/// Creates the dataset, and for an organization's dataset its collaborators in the same
/// transaction: every member with a default dataset role gets it, the creator is
/// administrator (SPEC 4.3). The owner is checked before the fields, so an invalid form
/// reveals nothing about an owner the caller may not use.
pub fn create(tx: &mut WriteTx<'_>, p: &Principal, cmd: CreateDataset) -> Result<Created> {
    create_dataset(tx, p, cmd, None)
}

fn create_dataset(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: CreateDataset,
    cloned_from: Option<i32>,
) -> Result<Created> {
    let mut errors = FieldErrors::default();
    let name = cmd.name.trim().to_string();
    errors.check("name", check_dataset_name(&name));
    if cmd.task_type.is_none() {
        errors.add("task_type", "Choose a task type.");
    }
    let description = errors.text("description", &cmd.description, MAX_DESCRIPTION);
    let owner = cmd.owner.trim();
    if owner.is_empty() {
        errors.add("owner", "Choose an owner.");
        return Err(DomainError::Invalid(errors));
    }
    let owner = lock_owner(tx, p, owner, cmd.owner_kind)?;
    let (Some(task_type), true) = (cmd.task_type, errors.is_empty()) else {
        return Err(DomainError::Invalid(errors));
    };
    if datasets::name_taken(tx, owner.id, &name)? {
        return Err(DomainError::Conflict(Conflict::DatasetNameTaken));
    }
    let new = NewDataset {
        owner_id: owner.id,
        name: &name,
        description: &description,
        task_type,
        is_public: cmd.is_public,
        created_by: p.user_id,
        cloned_from,
    };
    let id = datasets::insert(tx, &new, owner.is_org.then_some(owner.id))
        .map_err(unique_means(Conflict::DatasetNameTaken))?;
    let joined = if owner.is_org {
        datasets::joined_by_role(tx, id, p.user_id)?
    } else {
        Vec::new()
    };
    let visibility = if cmd.is_public { "public" } else { "private" };
    record(
        tx,
        owner.id,
        p,
        Action::DatasetCreated,
        &name,
        visibility.into(),
    )?;
    Ok(Created {
        owner: owner.username,
        name,
        joined,
    })
}

/// The dataset's settings; `None` keeps a value as it is (a partial update).
pub struct UpdateDataset {
    pub owner: String,
    pub name: String,
    pub description: Option<String>,
    pub task_type: Option<TaskType>,
    pub is_public: Option<bool>,
}

/// Saves description, task type and visibility (dataset administrators); records what
/// changed. Returns the dataset as it is now.
pub fn update_settings(tx: &mut WriteTx<'_>, p: &Principal, cmd: UpdateDataset) -> Result<Dataset> {
    let mut errors = FieldErrors::default();
    let description = cmd
        .description
        .map(|d| errors.text("description", &d, MAX_DESCRIPTION));
    let (mut ds, _) = lock_for(tx, p, &cmd.owner, &cmd.name, DatasetAction::ManageSettings)?;
    errors.into_result(())?;
    let description = description.unwrap_or_else(|| ds.description.clone());
    let task_type = cmd.task_type.unwrap_or(ds.task_type);
    let is_public = cmd.is_public.unwrap_or(ds.is_public);
    let mut changed = Vec::new();
    if ds.description != description {
        changed.push("description".to_string());
    }
    if ds.task_type != task_type {
        changed.push(format!("task type to {}", task_type.label()));
    }
    if ds.is_public != is_public {
        changed.push(
            if is_public {
                "made public"
            } else {
                "made private"
            }
            .to_string(),
        );
    }
    if !changed.is_empty() {
        datasets::update_settings(tx, ds.id, &description, task_type, is_public)?;
        record(
            tx,
            ds.owner_id,
            p,
            Action::DatasetSettingsChanged,
            &ds.name,
            changed.join(", "),
        )?;
        (ds.description, ds.task_type, ds.is_public) = (description, task_type, is_public);
    }
    Ok(ds)
}

/// "Delete this dataset", confirmed by typing its name (`Some`), or by a surface whose
/// request is itself the confirmation (`None`: the API's `DELETE`).
pub struct DeleteDataset {
    pub owner: String,
    pub name: String,
    pub confirm: Option<String>,
}

/// Deletes the dataset and its collaborators (dataset administrators). Returns it.
pub fn delete(tx: &mut WriteTx<'_>, p: &Principal, cmd: DeleteDataset) -> Result<Dataset> {
    let (ds, _) = lock_for(tx, p, &cmd.owner, &cmd.name, DatasetAction::ManageSettings)?;
    if cmd.confirm.is_some_and(|typed| typed.trim() != ds.name) {
        let mut errors = FieldErrors::default();
        errors.add("confirm", format!("Type {} to confirm.", ds.name));
        return Err(DomainError::Invalid(errors));
    }
    datasets::delete(tx, ds.id)?;
    record(
        tx,
        ds.owner_id,
        p,
        Action::DatasetDeleted,
        &ds.name,
        String::new(),
    )?;
    Ok(ds)
}

/// "Add collaborator": a user by name, with a role.
pub struct AddCollaborator {
    pub owner: String,
    pub name: String,
    pub username: String,
    pub role: DatasetRole,
}

/// A collaborator entry that was made, changed or removed (with its role as it is now, or
/// as it was for a removal).
#[derive(Debug, Clone)]
pub struct CollaboratorChange {
    pub dataset_path: String,
    pub entry: Entry,
}

fn collab_details(ds: &Dataset, details: &str) -> String {
    format!("on {}: {details}", ds.name)
}

/// Adds a collaborator (managers and administrators; only administrators may give the
/// administrator role).
pub fn add_collaborator(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: AddCollaborator,
) -> Result<CollaboratorChange> {
    let (ds, access) = lock_for(
        tx,
        p,
        &cmd.owner,
        &cmd.name,
        DatasetAction::ManageCollaborators,
    )?;
    let wanted = cmd.username.trim();
    if wanted.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add("username", "Type the username of the user to add.");
        return Err(DomainError::Invalid(errors));
    }
    authz::assign(access, cmd.role)?;
    let account = accounts::find_account(tx, wanted)?.ok_or(DomainError::UnknownUser)?;
    if account.is_org() {
        return Err(DomainError::IsOrganization(Joining::Dataset));
    }
    if datasets::collaborator(tx, ds.id, account.id)?.is_some() {
        return Err(DomainError::Conflict(Conflict::AlreadyCollaborator));
    }
    datasets::insert_collaborator(tx, ds.id, account.id, cmd.role)
        .map_err(unique_means(Conflict::AlreadyCollaborator))?;
    let details = collab_details(&ds, &format!("as {}", cmd.role.label()));
    record_with(
        tx,
        ds.owner_id,
        p,
        Action::CollaboratorAdded,
        &account.username,
        details,
        collab_hook(&ds, None, Some(cmd.role)),
    )?;
    Ok(CollaboratorChange {
        dataset_path: ds.path(),
        entry: Entry {
            username: account.username,
            created_at: account.created_at,
            role: cmd.role,
        },
    })
}

/// A collaborator's new role.
pub struct ChangeCollaborator {
    pub owner: String,
    pub name: String,
    pub user: String,
    pub role: DatasetRole,
}

/// The collaborator entry of `user` on the dataset: "not a collaborator" for a user without
/// an entry, or without an account (the owner and organization administrators have none).
fn entry(conn: &mut DbConn, ds: &Dataset, user: &str) -> Result<(i32, Entry)> {
    let account = accounts::find_account(conn, user)?.ok_or(DomainError::NotCollaborator)?;
    let (role, username) =
        datasets::collaborator(conn, ds.id, account.id)?.ok_or(DomainError::NotCollaborator)?;
    let entry = Entry {
        username,
        created_at: account.created_at,
        role,
    };
    Ok((account.id, entry))
}

pub fn change_collaborator(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: ChangeCollaborator,
) -> Result<CollaboratorChange> {
    let (ds, access) = lock_for(
        tx,
        p,
        &cmd.owner,
        &cmd.name,
        DatasetAction::ManageCollaborators,
    )?;
    let (user_id, mut entry) = entry(tx, &ds, &cmd.user)?;
    let old = entry.role;
    authz::assign(access, old)?;
    authz::assign(access, cmd.role)?;
    if old != cmd.role {
        datasets::set_collaborator_role(tx, ds.id, user_id, cmd.role)?;
        let details = collab_details(
            &ds,
            &format!("from {} to {}", old.label(), cmd.role.label()),
        );
        record_with(
            tx,
            ds.owner_id,
            p,
            Action::CollaboratorRoleChanged,
            &entry.username,
            details,
            collab_hook(&ds, Some(old), Some(cmd.role)),
        )?;
        entry.role = cmd.role;
    }
    Ok(CollaboratorChange {
        dataset_path: ds.path(),
        entry,
    })
}

/// "Remove" a collaborator.
pub struct RemoveCollaborator {
    pub owner: String,
    pub name: String,
    pub user: String,
}

pub fn remove_collaborator(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: RemoveCollaborator,
) -> Result<CollaboratorChange> {
    let (ds, access) = lock_for(
        tx,
        p,
        &cmd.owner,
        &cmd.name,
        DatasetAction::ManageCollaborators,
    )?;
    let (user_id, entry) = entry(tx, &ds, &cmd.user)?;
    authz::assign(access, entry.role)?;
    datasets::delete_collaborator(tx, ds.id, user_id)?;
    record_with(
        tx,
        ds.owner_id,
        p,
        Action::CollaboratorRemoved,
        &entry.username,
        collab_details(&ds, ""),
        collab_hook(&ds, Some(entry.role), None),
    )?;
    Ok(CollaboratorChange {
        dataset_path: ds.path(),
        entry,
    })
}

// ---- Reads ----

/// The dataset page for `viewer` (a visitor when `None`): "not found" without access (SPEC
/// 4.8), exactly as for a dataset that does not exist.
pub fn view(
    conn: &mut DbConn,
    viewer: Option<&Principal>,
    owner: &str,
    name: &str,
) -> Result<(Dataset, Access)> {
    find_in(conn, viewer, owner, name, DatasetAction::View)
}

/// The dataset's settings page (dataset administrators).
pub fn settings(
    conn: &mut DbConn,
    p: &Principal,
    owner: &str,
    name: &str,
) -> Result<(Dataset, Access)> {
    find_in(conn, Some(p), owner, name, DatasetAction::ManageSettings)
}

/// What the collaborators page shows: the dataset, the caller's access, a page of entries
/// and the administrators by ownership.
pub struct CollaboratorsView {
    pub ds: Dataset,
    pub access: Access,
    pub collaborators: Page<Collaborator>,
    pub implicit: Vec<String>,
}

pub fn collaborators(
    conn: &mut DbConn,
    p: &Principal,
    owner: &str,
    name: &str,
    page: i64,
) -> Result<CollaboratorsView> {
    let (ds, access) = find_in(
        conn,
        Some(p),
        owner,
        name,
        DatasetAction::ManageCollaborators,
    )?;
    let collaborators = datasets::collaborators(conn, &ds, page)?;
    let implicit = datasets::implicit_admins(conn, &ds)?;
    Ok(CollaboratorsView {
        ds,
        access,
        collaborators,
        implicit,
    })
}

/// The owners the caller may create datasets for, their own account first.
pub fn owners(conn: &mut DbConn, p: &Principal) -> Result<Vec<OwnerChoice>> {
    Ok(datasets::owner_choices(conn, p.user_id)?)
}

/// One page of the datasets the caller works on (the dashboard).
pub fn dashboard(
    conn: &mut DbConn,
    p: &Principal,
    filter: &DatasetFilter,
    page: i64,
) -> Result<Page<DatasetSummary>> {
    Ok(datasets::list_for_dashboard(conn, p.user_id, filter, page)?)
}

/// Which datasets a list of the JSON API holds.
pub enum Whose {
    /// The caller's: their own, their organizations' they administer, their collaborations.
    Mine,
    /// One account's, as its page lists them for the caller ("not found" for an
    /// organization the caller is not a member of).
    Of(String),
}

/// A page of full datasets with the caller's access, ordered by owner, then name.
pub fn list(
    conn: &mut DbConn,
    p: &Principal,
    whose: Whose,
    paging: Paging,
) -> Result<Vec<DatasetDetail>> {
    let listing = match whose {
        Whose::Mine => Listing::Mine,
        Whose::Of(name) => {
            let account = accounts::find_account(conn, &name)?.ok_or(DomainError::NotFound)?;
            let sees_all = if account.is_org() {
                let role = orgs::role_of(conn, account.id, p.user_id)?;
                let role = authz::org(&account.username, role, OrgAction::View)
                    .map_err(|_| DomainError::NotFound)?;
                role.can(OrgAction::AdministerDatasets)
            } else {
                account.id == p.user_id
            };
            Listing::Owner {
                owner_id: account.id,
                sees_all,
            }
        }
    };
    Ok(datasets::list_full(
        conn,
        p.user_id,
        listing,
        paging.page,
        paging.per_page,
    )?)
}

/// The dataset with the caller's access and its number of collaborator entries (View).
pub fn detail(conn: &mut DbConn, p: &Principal, owner: &str, name: &str) -> Result<DatasetDetail> {
    let (mut ds, access) = find_in(conn, Some(p), owner, name, DatasetAction::View)?;
    if let Some(source) = ds.cloned_from_id {
        ds.cloned_from = datasets::visible_name(conn, source, p.user_id)?;
    }
    Ok(DatasetDetail { ds, access })
}

/// "Clone": a new dataset made from one the caller may view, in an account they may create
/// datasets for (their own when `owner` is `None`); the description, task type and
/// visibility are copied unless given, the collaborators are not (the new dataset gets the
/// fan-out of its owner, as any new dataset).
pub struct CloneDataset {
    pub source_owner: String,
    pub source_name: String,
    /// `None`: `{name}-clone`.
    pub name: Option<String>,
    pub owner: Option<String>,
    pub task_type: Option<TaskType>,
    pub is_public: Option<bool>,
}

pub fn clone(tx: &mut WriteTx<'_>, p: &Principal, cmd: CloneDataset) -> Result<Created> {
    let (source, _) = find_in(
        tx,
        Some(p),
        &cmd.source_owner,
        &cmd.source_name,
        DatasetAction::View,
    )?;
    let name = cmd.name.unwrap_or_else(|| format!("{}-clone", source.name));
    let owner = cmd.owner.unwrap_or_else(|| p.username.clone());
    let create = CreateDataset {
        owner,
        owner_kind: None,
        name,
        description: source.description.clone(),
        task_type: Some(cmd.task_type.unwrap_or(source.task_type)),
        is_public: cmd.is_public.unwrap_or(source.is_public),
    };
    create_dataset(tx, p, create, Some(source.id))
}

/// A collaborator entry as the JSON API shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub username: String,
    pub created_at: chrono::NaiveDateTime,
    pub role: DatasetRole,
}

/// One collaborator entry (managers and administrators): "not a collaborator" for a user
/// without an entry (the owner and organization administrators have none).
pub fn collaborator(
    conn: &mut DbConn,
    p: &Principal,
    owner: &str,
    name: &str,
    user: &str,
) -> Result<Entry> {
    let (ds, _) = find_in(
        conn,
        Some(p),
        owner,
        name,
        DatasetAction::ManageCollaborators,
    )?;
    let account = accounts::find_account(conn, user)?.ok_or(DomainError::NotCollaborator)?;
    let (role, username) =
        datasets::collaborator(conn, ds.id, account.id)?.ok_or(DomainError::NotCollaborator)?;
    Ok(Entry {
        username,
        created_at: account.created_at,
        role,
    })
}

/// A page of a dataset's collaborator entries (managers and administrators).
pub fn collaborator_list(
    conn: &mut DbConn,
    p: &Principal,
    owner: &str,
    name: &str,
    paging: Paging,
) -> Result<Vec<Entry>> {
    let (ds, _) = find_in(
        conn,
        Some(p),
        owner,
        name,
        DatasetAction::ManageCollaborators,
    )?;
    let rows = datasets::collaborator_entries(conn, ds.id, paging.page, paging.per_page)?;
    Ok(rows
        .into_iter()
        .map(|(username, created_at, role)| Entry {
            username,
            created_at,
            role,
        })
        .collect())
}
