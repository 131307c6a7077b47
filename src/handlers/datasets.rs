//! Datasets: the new-dataset form (page and popup), creation with the default-role fan-out,
//! the dataset page, its collaborators and its settings.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::SessionUser;
use crate::db::{write_tx, DbConn};
use crate::errors::AppError;
use crate::handlers::orgs::{actor, ListQuery};
use crate::models::accounts;
use crate::models::datasets::{
    self, Access, Collaborator, Dataset, NewDataset, OwnerChoice, TASK_TYPES,
};
use crate::models::{orgs, Page};
use crate::roles::{DatasetAction, DatasetRole};
use crate::web::{
    flash_error, flash_success, invalid, ok, redirect, run_db, text_field, FieldErrors, Layout,
    State,
};

/// The dataset `owner/name` as seen by `viewer`: 404 when it does not exist or the viewer
/// has no access (SPEC 4.8), 403 when the viewer's role does not allow `action`.
fn dataset_for(
    c: &mut DbConn,
    owner: &str,
    name: &str,
    viewer: Option<&SessionUser>,
    action: DatasetAction,
) -> Result<(Dataset, Access), AppError> {
    let (ds, access) = datasets::find_with_access(c, owner, name, viewer.map(|u| u.id))?
        .ok_or(AppError::NotFound)?;
    if !access.role().can(action) {
        return Err(AppError::forbidden(format!(
            "Your role on {} ({}) does not allow this.",
            ds.name,
            access.role().label()
        )));
    }
    Ok((ds, access))
}

// ---- New dataset ----

/// The fields of the new-dataset form.
pub struct DatasetForm {
    pub owners: Vec<OwnerChoice>,
    pub owner: String,
    pub name: String,
    pub description: String,
    pub task_type: String,
    pub is_public: bool,
    pub errors: FieldErrors,
}

impl DatasetForm {
    fn blank(owners: Vec<OwnerChoice>, wanted: Option<&str>) -> Self {
        let owner = wanted
            .and_then(|w| owners.iter().find(|o| o.username.eq_ignore_ascii_case(w)))
            .or(owners.first())
            .map(|o| o.username.clone())
            .unwrap_or_default();
        DatasetForm {
            owners,
            owner,
            name: String::new(),
            description: String::new(),
            task_type: TASK_TYPES[0].0.to_string(),
            is_public: false,
            errors: FieldErrors::default(),
        }
    }

    pub fn task_types(&self) -> &'static [(&'static str, &'static str)] {
        TASK_TYPES
    }
}

#[derive(Template)]
#[template(path = "datasets/new.html")]
struct NewDatasetPage {
    ctx: Layout,
    form: DatasetForm,
}

#[derive(Template)]
#[template(path = "datasets/new_fragment.html")]
struct NewDatasetFragment {
    ctx: Layout,
    form: DatasetForm,
}

#[derive(Deserialize)]
pub struct NewQuery {
    owner: Option<String>,
    /// `1` when the popup asks for the bare form.
    fragment: Option<String>,
}

pub async fn new_form(
    state: State,
    session: Session,
    user: SessionUser,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    let uid = user.id;
    let (owners, nav) = run_db(&state, move |c| {
        Ok((datasets::owner_choices(c, uid)?, orgs::nav_orgs(c, uid)?))
    })
    .await?;
    let form = DatasetForm::blank(owners, query.owner.as_deref());
    let ctx = Layout::new(&session, Some(&user), nav, "New dataset");
    if query.fragment.as_deref() == Some("1") {
        ok(&NewDatasetFragment { ctx, form })
    } else {
        ok(&NewDatasetPage { ctx, form })
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    task_type: String,
    #[serde(default)]
    visibility: String,
}

/// Checks that `user` may create datasets for `owner`: their own account, or an
/// organization they administer. A stranger to the organization gets 404, a member 403.
fn owner_for(c: &mut DbConn, owner: &str, user: &SessionUser) -> Result<OwnerChoice, AppError> {
    let account = accounts::find_account(c, owner)?.ok_or(AppError::NotFound)?;
    if !account.is_org() {
        if account.id != user.id {
            return Err(AppError::forbidden("You can only create datasets for your own account or for organizations you administer."));
        }
    } else {
        let (_, role) =
            orgs::find_with_role(c, &account.username, user.id)?.ok_or(AppError::NotFound)?;
        match role {
            None => return Err(AppError::NotFound),
            Some(r) if !r.can(crate::roles::OrgAction::CreateDataset) => {
                return Err(AppError::forbidden(format!(
                    "Only administrators of {} can create its datasets.",
                    account.username
                )))
            }
            Some(_) => {}
        }
    }
    Ok(OwnerChoice {
        id: account.id,
        is_org: account.is_org(),
        username: account.username,
    })
}

pub async fn create(
    state: State,
    session: Session,
    user: SessionUser,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let is_public = match f.visibility.as_str() {
        "public" => true,
        "private" | "" => false,
        _ => {
            return Err(AppError::bad_request(
                "Visibility must be public or private.",
            ))
        }
    };
    if !f.task_type.is_empty() && !TASK_TYPES.iter().any(|(v, _)| *v == f.task_type) {
        return Err(AppError::bad_request("Unknown task type."));
    }
    let mut errors = FieldErrors::default();
    let name = f.name.trim().to_string();
    errors.check("name", datasets::check_dataset_name(&name));
    if f.task_type.is_empty() {
        errors.add("task_type", "Choose a task type.");
    }
    let description = text_field(&mut errors, "description", &f.description, 1000);
    let owner_name = f.owner.trim().to_string();
    if owner_name.is_empty() {
        errors.add("owner", "Choose an owner.");
    }
    let (u, n, d, t, o) = (
        user.clone(),
        name.clone(),
        description.clone(),
        f.task_type.clone(),
        owner_name.clone(),
    );
    let outcome = run_db(&state, move |c| {
        if errors.is_empty() {
            let created = write_tx(c, |c| {
                let owner = owner_for(c, &o, &u)?;
                let new = NewDataset {
                    owner: &owner,
                    name: &n,
                    description: &d,
                    task_type: &t,
                    is_public,
                };
                Ok::<_, AppError>(datasets::create(c, &actor(&u), &new)?.map(|_| owner.username))
            });
            match created {
                Ok(Some(owner)) => return Ok(Ok(format!("/{owner}/{n}"))),
                Ok(None) | Err(AppError::Conflict(_)) => {
                    errors.add("name", "The owner already has a dataset with this name.")
                }
                Err(e) => return Err(e),
            }
        } else if !o.is_empty() {
            // Even an invalid form must not reveal or accept a forged owner.
            owner_for(c, &o, &u)?;
        }
        let owners = datasets::owner_choices(c, u.id)?;
        let nav = orgs::nav_orgs(c, u.id)?;
        Ok(Err((owners, nav, errors)))
    })
    .await?;
    match outcome {
        Ok(path) => {
            flash_success(&session, "Your dataset was created.");
            Ok(redirect(&path))
        }
        Err((owners, nav, errors)) => invalid(&NewDatasetPage {
            ctx: Layout::new(&session, Some(&user), nav, "New dataset"),
            form: DatasetForm {
                owners,
                owner: owner_name,
                name,
                description,
                task_type: f.task_type,
                is_public,
                errors,
            },
        }),
    }
}

// ---- The dataset page ----

#[derive(Template)]
#[template(path = "datasets/show.html")]
struct DatasetPage {
    ctx: Layout,
    ds: Dataset,
    access: Access,
    tab: &'static str,
}

pub async fn show(
    state: State,
    session: Session,
    user: Option<SessionUser>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (owner, name) = path.into_inner();
    let u = user.clone();
    let (ds, access, nav) = run_db(&state, move |c| {
        let (ds, access) = dataset_for(c, &owner, &name, u.as_ref(), DatasetAction::View)?;
        let nav = match &u {
            Some(u) => orgs::nav_orgs(c, u.id)?,
            None => Vec::new(),
        };
        Ok((ds, access, nav))
    })
    .await?;
    ok(&DatasetPage {
        ctx: Layout::new(
            &session,
            user.as_ref(),
            nav,
            format!("{}/{}", ds.owner_name, ds.name),
        ),
        ds,
        access,
        tab: "overview",
    })
}

// ---- Collaborators (managers and administrators) ----

#[derive(Template)]
#[template(path = "datasets/collaborators.html")]
struct CollaboratorsPage {
    ctx: Layout,
    ds: Dataset,
    access: Access,
    tab: &'static str,
    collaborators: Page<Collaborator>,
    implicit: Vec<String>,
    add_username: String,
    add_role: DatasetRole,
    errors: FieldErrors,
    roles: Vec<DatasetRole>,
}

impl CollaboratorsPage {
    /// Whether the viewer may change or remove a collaborator with `role`.
    fn can_touch(&self, role: &DatasetRole) -> bool {
        self.access.role().can_assign(*role)
    }
}

#[allow(clippy::type_complexity)]
fn collaborators_data(
    c: &mut DbConn,
    owner: &str,
    name: &str,
    u: &SessionUser,
    page: i64,
) -> Result<
    (
        Dataset,
        Access,
        Page<Collaborator>,
        Vec<String>,
        Vec<String>,
    ),
    AppError,
> {
    let (ds, access) = dataset_for(c, owner, name, Some(u), DatasetAction::ManageCollaborators)?;
    let list = datasets::collaborators(c, &ds, page)?;
    let implicit = datasets::implicit_admins(c, &ds)?;
    let nav = orgs::nav_orgs(c, u.id)?;
    Ok((ds, access, list, implicit, nav))
}

fn assignable(access: Access) -> Vec<DatasetRole> {
    DatasetRole::ALL
        .into_iter()
        .filter(|r| access.role().can_assign(*r))
        .collect()
}

pub async fn collaborators(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (owner, name) = path.into_inner();
    let (u, page) = (user.clone(), query.page_number());
    let (ds, access, list, implicit, nav) = run_db(&state, move |c| {
        collaborators_data(c, &owner, &name, &u, page)
    })
    .await?;
    ok(&CollaboratorsPage {
        ctx: Layout::new(
            &session,
            Some(&user),
            nav,
            format!("Collaborators · {}", ds.name),
        ),
        roles: assignable(access),
        ds,
        access,
        tab: "collaborators",
        collaborators: list,
        implicit,
        add_username: String::new(),
        add_role: DatasetRole::Labeler,
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct CollaboratorForm {
    #[serde(default)]
    username: String,
    role: String,
}

fn parse_role(role: &str) -> Result<DatasetRole, AppError> {
    DatasetRole::parse(role).ok_or_else(|| AppError::bad_request("Unknown dataset role."))
}

pub async fn add_collaborator(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String)>,
    form: web::Form<CollaboratorForm>,
) -> Result<HttpResponse, AppError> {
    let role = parse_role(&form.role)?;
    let username = form.username.trim().to_string();
    let (owner, name) = path.into_inner();
    let (u, wanted) = (user.clone(), username.clone());
    let outcome = run_db(&state, move |c| {
        let result = write_tx(c, |c| {
            let (ds, access) = dataset_for(
                c,
                &owner,
                &name,
                Some(&u),
                DatasetAction::ManageCollaborators,
            )?;
            if wanted.is_empty() {
                return Ok::<_, AppError>((
                    ds,
                    Err("Type the username of the user to add.".to_string()),
                ));
            }
            let r = datasets::add_collaborator(c, &ds, &actor(&u), access.role(), &wanted, role)?;
            if r == Err(datasets::CollaboratorError::AdminOnly) {
                // A permission refusal, like changing a role to administrator: 403.
                return Err(AppError::forbidden(
                    datasets::CollaboratorError::AdminOnly.message(),
                ));
            }
            Ok((ds, r.map_err(|e| e.message().to_string())))
        });
        let result = match result {
            Err(AppError::Conflict(_)) => {
                let (ds, _) = dataset_for(
                    c,
                    &owner,
                    &name,
                    Some(&u),
                    DatasetAction::ManageCollaborators,
                )?;
                (
                    ds,
                    Err(datasets::CollaboratorError::AlreadyCollaborator
                        .message()
                        .to_string()),
                )
            }
            other => other?,
        };
        match result {
            (ds, Ok(added)) => Ok(Ok((ds.path(), added))),
            (_, Err(message)) => Ok(Err((collaborators_data(c, &owner, &name, &u, 1)?, message))),
        }
    })
    .await?;
    match outcome {
        Ok((path, added)) => {
            flash_success(&session, format!("{added} is now a collaborator."));
            Ok(redirect(&format!("{path}/settings/collaborators")))
        }
        Err(((ds, access, list, implicit, nav), message)) => {
            let mut errors = FieldErrors::default();
            errors.add("username", message);
            invalid(&CollaboratorsPage {
                ctx: Layout::new(
                    &session,
                    Some(&user),
                    nav,
                    format!("Collaborators · {}", ds.name),
                ),
                roles: assignable(access),
                ds,
                access,
                tab: "collaborators",
                collaborators: list,
                implicit,
                add_username: username,
                add_role: role,
                errors,
            })
        }
    }
}

/// The user id of a collaborator by name; 404 when there is no such user.
fn collaborator_id(c: &mut DbConn, username: &str) -> Result<i32, AppError> {
    let account = accounts::find_account(c, username)?.ok_or(AppError::NotFound)?;
    Ok(account.id)
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn change_collaborator(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String, String)>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let role = parse_role(&form.role)?;
    let (owner, name, member) = path.into_inner();
    let u = user.clone();
    let (path, result) = run_db(&state, move |c| {
        write_tx(c, |c| {
            let (ds, access) = dataset_for(
                c,
                &owner,
                &name,
                Some(&u),
                DatasetAction::ManageCollaborators,
            )?;
            let target = collaborator_id(c, &member)?;
            let r = datasets::change_collaborator(c, &ds, &actor(&u), access.role(), target, role)?;
            Ok::<_, AppError>((ds.path(), r))
        })
    })
    .await?;
    let done = result.map(|()| "The collaborator's role was changed.".to_string());
    collaborator_answer(&session, &path, done)
}

/// The answer to a change or removal of a collaborator: back to the list with a message,
/// 404 for someone who is not a collaborator, 403 for a manager touching an administrator.
fn collaborator_answer(
    session: &Session,
    dataset_path: &str,
    result: Result<String, datasets::CollaboratorError>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(message) => flash_success(session, message),
        Err(datasets::CollaboratorError::NotCollaborator) => return Err(AppError::NotFound),
        Err(e @ datasets::CollaboratorError::AdminOnly) => {
            return Err(AppError::forbidden(e.message()))
        }
        Err(e) => flash_error(session, e.message()),
    }
    Ok(redirect(&format!("{dataset_path}/settings/collaborators")))
}

pub async fn remove_collaborator(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (owner, name, member) = path.into_inner();
    let u = user.clone();
    let (path, result) = run_db(&state, move |c| {
        write_tx(c, |c| {
            let (ds, access) = dataset_for(
                c,
                &owner,
                &name,
                Some(&u),
                DatasetAction::ManageCollaborators,
            )?;
            let target = collaborator_id(c, &member)?;
            let r = datasets::remove_collaborator(c, &ds, &actor(&u), access.role(), target)?;
            Ok::<_, AppError>((ds.path(), r))
        })
    })
    .await?;
    let done = result.map(|name| format!("{name} is no longer a collaborator."));
    collaborator_answer(&session, &path, done)
}

// ---- Dataset settings (administrators) ----

#[derive(Template)]
#[template(path = "datasets/settings.html")]
struct DatasetSettingsPage {
    ctx: Layout,
    ds: Dataset,
    access: Access,
    tab: &'static str,
    description: String,
    task_type: String,
    is_public: bool,
    errors: FieldErrors,
    confirm_label: String,
}

impl DatasetSettingsPage {
    fn new(ctx: Layout, ds: Dataset, access: Access) -> Self {
        DatasetSettingsPage {
            ctx,
            description: ds.description.clone(),
            task_type: ds.task_type.clone(),
            is_public: ds.is_public,
            confirm_label: format!("Type {} to confirm", ds.name),
            ds,
            access,
            tab: "settings",
            errors: FieldErrors::default(),
        }
    }

    fn task_types(&self) -> &'static [(&'static str, &'static str)] {
        TASK_TYPES
    }
}

pub async fn settings(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (owner, name) = path.into_inner();
    let u = user.clone();
    let (ds, access, nav) = run_db(&state, move |c| {
        let (ds, access) = dataset_for(c, &owner, &name, Some(&u), DatasetAction::ManageSettings)?;
        Ok((ds, access, orgs::nav_orgs(c, u.id)?))
    })
    .await?;
    let ctx = Layout::new(
        &session,
        Some(&user),
        nav,
        format!("Settings · {}", ds.name),
    );
    ok(&DatasetSettingsPage::new(ctx, ds, access))
}

#[derive(Deserialize)]
pub struct DatasetSettingsForm {
    action: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    task_type: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    confirm: String,
}

pub async fn update_settings(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String)>,
    form: web::Form<DatasetSettingsForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.into_inner();
    let mut errors = FieldErrors::default();
    let description = text_field(&mut errors, "description", &f.description, 1000);
    let is_public = match (f.action.as_str(), f.visibility.as_str()) {
        ("update", "public") => true,
        ("update", "private") | ("delete", _) => false,
        ("update", _) => {
            return Err(AppError::bad_request(
                "Visibility must be public or private.",
            ))
        }
        _ => return Err(AppError::bad_request("Unknown settings action.")),
    };
    if f.action == "update" && !TASK_TYPES.iter().any(|(v, _)| *v == f.task_type) {
        return Err(AppError::bad_request("Unknown task type."));
    }
    let (owner, name) = path.into_inner();
    let u = user.clone();
    let (action, task_type, confirm) = (
        f.action.clone(),
        f.task_type.clone(),
        f.confirm.trim().to_string(),
    );
    let outcome = run_db(&state, move |c| {
        write_tx(c, |c| {
            let (ds, access) =
                dataset_for(c, &owner, &name, Some(&u), DatasetAction::ManageSettings)?;
            if action == "delete" {
                if confirm == ds.name {
                    datasets::delete(c, &ds, &actor(&u))?;
                    return Ok(Ok(format!("/{}", ds.owner_name)));
                }
                errors.add("confirm", format!("Type {} to confirm.", ds.name));
            } else if errors.is_empty() {
                datasets::update_settings(c, &ds, &actor(&u), &description, &task_type, is_public)?;
                return Ok(Ok(format!("{}/settings", ds.path())));
            }
            let nav = orgs::nav_orgs(c, u.id)?;
            Ok::<_, AppError>(Err((ds, access, nav, errors, description, task_type)))
        })
    })
    .await?;
    match outcome {
        Ok(to) => {
            if f.action == "delete" {
                flash_success(&session, "The dataset was deleted.");
            } else {
                flash_success(&session, "The dataset's settings were saved.");
            }
            Ok(redirect(&to))
        }
        Err((ds, access, nav, errors, description, task_type)) => {
            let ctx = Layout::new(
                &session,
                Some(&user),
                nav,
                format!("Settings · {}", ds.name),
            );
            let mut page = DatasetSettingsPage::new(ctx, ds, access);
            page.errors = errors;
            if f.action == "update" {
                page.description = description;
                page.task_type = task_type;
                page.is_public = is_public;
            }
            invalid(&page)
        }
    }
}
