//! Datasets: the new-dataset form (page and popup), creation with the default-role fan-out,
//! the dataset page, its collaborators and its settings.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::app::datasets::{
    self as uc, AddCollaborator, ChangeCollaborator, CollaboratorsView, CreateDataset,
    DeleteDataset, RemoveCollaborator, UpdateDataset,
};
use crate::app::{Conflict, DomainError, FieldErrors, Principal};
use crate::db::write_tx;
use crate::domain::access::Access;
use crate::domain::kinds::TaskType;
use crate::domain::roles::DatasetRole;
use crate::html::error::HtmlError;
use crate::html::layout::{flash_success, form_errors, invalid, ok, redirect, Layout};
use crate::html::{ListQuery, State};
use crate::models::datasets::{Collaborator, Dataset, OwnerChoice};
use crate::models::Page;

// ---- New dataset ----

/// The fields of the new-dataset form.
pub struct DatasetForm {
    pub owners: Vec<OwnerChoice>,
    pub owner: String,
    pub name: String,
    pub description: String,
    pub task_type: Option<TaskType>,
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
            task_type: Some(TaskType::DEFAULT),
            is_public: false,
            errors: FieldErrors::default(),
        }
    }

    pub fn task_types(&self) -> &'static [TaskType] {
        TaskType::ALL
    }

    pub fn is_task_type(&self, t: &TaskType) -> bool {
        self.task_type == Some(*t)
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
    user: Principal,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let owners = state.run(move |c| uc::owners(c, &p)).await?;
    let form = DatasetForm::blank(owners, query.owner.as_deref());
    let ctx = Layout::new(&session, Some(&user), state.nav(), "New dataset");
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
    /// `1` when the popup sends the form: errors come back as the form alone (422), and
    /// success as 204 with the address to go to, so the popup can stay open or leave.
    #[serde(default)]
    fragment: String,
}

/// What the flash says after creating: for an organization's dataset, who joined it.
fn created_text(created: &uc::Created) -> String {
    if created.joined.is_empty() {
        return format!(
            "Your dataset {}/{} was created.",
            created.owner, created.name
        );
    }
    let total: i64 = created.joined.iter().map(|(_, n)| n).sum();
    let roles: Vec<String> = created
        .joined
        .iter()
        .map(|(role, n)| format!("{n} as {}", role.label()))
        .collect();
    format!(
        "Your dataset {}/{} was created. {total} member{} of {} joined it by their default dataset role: {}.",
        created.owner,
        created.name,
        if total == 1 { "" } else { "s" },
        created.owner,
        roles.join(", ")
    )
}

/// A task type sent by a form: `None` when none was chosen, 400 for a value no form offers.
fn parse_task_type(value: &str) -> Result<Option<TaskType>, HtmlError> {
    if value.is_empty() {
        return Ok(None);
    }
    TaskType::parse(value)
        .map(Some)
        .ok_or_else(|| HtmlError::bad_request("Unknown task type."))
}

fn parse_visibility(value: &str, empty_is_private: bool) -> Result<bool, HtmlError> {
    match value {
        "public" => Ok(true),
        "private" => Ok(false),
        "" if empty_is_private => Ok(false),
        _ => Err(HtmlError::bad_request(
            "Visibility must be public or private.",
        )),
    }
}

pub async fn create(
    state: State,
    session: Session,
    user: Principal,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, HtmlError> {
    let f = form.into_inner();
    let is_public = parse_visibility(&f.visibility, true)?;
    let task_type = parse_task_type(&f.task_type)?;
    let cmd = CreateDataset {
        owner: f.owner.clone(),
        owner_kind: None,
        name: f.name.clone(),
        description: f.description.clone(),
        task_type,
        is_public,
    };
    let p = user.clone();
    let outcome = state
        .run(move |c| match write_tx(c, |tx| uc::create(tx, &p, cmd)) {
            Ok(created) => Ok(Ok(created)),
            Err(e) => {
                let errors = form_errors(e, |e| {
                    matches!(e, DomainError::Conflict(Conflict::DatasetNameTaken))
                        .then(|| ("name", e.message()))
                })?;
                Ok(Err((uc::owners(c, &p)?, errors)))
            }
        })
        .await?;
    match outcome {
        Ok(created) => {
            flash_success(&session, created_text(&created));
            if f.fragment == "1" {
                return Ok(HttpResponse::NoContent()
                    .insert_header(("X-Location", created.path()))
                    .finish());
            }
            Ok(redirect(&created.path()))
        }
        Err((owners, errors)) => {
            let ctx = Layout::new(&session, Some(&user), state.nav(), "New dataset");
            let form = DatasetForm {
                owners,
                owner: f.owner.trim().to_string(),
                name: f.name.trim().to_string(),
                description: f.description.trim().to_string(),
                task_type,
                is_public,
                errors,
            };
            if f.fragment == "1" {
                invalid(&NewDatasetFragment { ctx, form })
            } else {
                invalid(&NewDatasetPage { ctx, form })
            }
        }
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
    user: Option<Principal>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HtmlError> {
    let (owner, name) = path.into_inner();
    let p = user.clone();
    let (ds, access) = state
        .run(move |c| uc::view(c, p.as_ref(), &owner, &name))
        .await
        .map_err(|e| state.visitor_may_sign_in(e))?;
    ok(&DatasetPage {
        ctx: Layout::new(
            &session,
            user.as_ref(),
            state.nav(),
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
    fn new(
        ctx: Layout,
        view: CollaboratorsView,
        add: (String, DatasetRole),
        errors: FieldErrors,
    ) -> Self {
        CollaboratorsPage {
            ctx,
            roles: view.access.role().assignable(),
            ds: view.ds,
            access: view.access,
            tab: "collaborators",
            collaborators: view.collaborators,
            implicit: view.implicit,
            add_username: add.0,
            add_role: add.1,
            errors,
        }
    }

    /// Whether the viewer may change or remove a collaborator with `role` (the table the
    /// use case asks).
    fn can_touch(&self, role: &DatasetRole) -> bool {
        self.access.role().can_assign(*role)
    }
}

pub async fn collaborators(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, HtmlError> {
    let (owner, name) = path.into_inner();
    let (p, page) = (user.clone(), query.page());
    let view = state
        .run(move |c| uc::collaborators(c, &p, &owner, &name, page))
        .await?;
    let ctx = Layout::new(
        &session,
        Some(&user),
        state.nav(),
        format!("Collaborators · {}", view.ds.name),
    );
    ok(&CollaboratorsPage::new(
        ctx,
        view,
        (String::new(), DatasetRole::Labeler),
        FieldErrors::default(),
    ))
}

#[derive(Deserialize)]
pub struct CollaboratorForm {
    #[serde(default)]
    username: String,
    role: String,
}

fn parse_role(role: &str) -> Result<DatasetRole, HtmlError> {
    DatasetRole::parse(role).ok_or_else(|| HtmlError::bad_request("Unknown dataset role."))
}

pub async fn add_collaborator(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
    form: web::Form<CollaboratorForm>,
) -> Result<HttpResponse, HtmlError> {
    let role = parse_role(&form.role)?;
    let username = form.username.trim().to_string();
    let (owner, name) = path.into_inner();
    let p = user.clone();
    let cmd = AddCollaborator {
        owner: owner.clone(),
        name: name.clone(),
        username: username.clone(),
        role,
    };
    let outcome = state
        .run(
            move |c| match write_tx(c, |tx| uc::add_collaborator(tx, &p, cmd)) {
                Ok(added) => Ok(Ok(added)),
                Err(e) => {
                    let errors = form_errors(e, |e| {
                        matches!(
                            e,
                            DomainError::UnknownUser
                                | DomainError::IsOrganization(_)
                                | DomainError::Conflict(Conflict::AlreadyCollaborator)
                        )
                        .then(|| ("username", e.message()))
                    })?;
                    let view = uc::collaborators(c, &p, &owner, &name, 1)?;
                    Ok(Err((view, errors)))
                }
            },
        )
        .await?;
    match outcome {
        Ok(added) => {
            flash_success(
                &session,
                format!("{} is now a collaborator.", added.entry.username),
            );
            Ok(redirect(&format!(
                "{}/settings/collaborators",
                added.dataset_path
            )))
        }
        Err((view, errors)) => {
            let ctx = Layout::new(
                &session,
                Some(&user),
                state.nav(),
                format!("Collaborators · {}", view.ds.name),
            );
            invalid(&CollaboratorsPage::new(ctx, view, (username, role), errors))
        }
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn change_collaborator(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String, String)>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, HtmlError> {
    let role = parse_role(&form.role)?;
    let (owner, name, member) = path.into_inner();
    let p = user.clone();
    let cmd = ChangeCollaborator {
        owner,
        name,
        user: member,
        role,
    };
    let changed = state
        .run(move |c| Ok(write_tx(c, |tx| uc::change_collaborator(tx, &p, cmd))))
        .await?;
    collaborator_answer(&session, changed, |_| {
        "The collaborator's role was changed.".to_string()
    })
}

pub async fn remove_collaborator(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, HtmlError> {
    let (owner, name, member) = path.into_inner();
    let p = user.clone();
    let cmd = RemoveCollaborator {
        owner,
        name,
        user: member,
    };
    let removed = state
        .run(move |c| Ok(write_tx(c, |tx| uc::remove_collaborator(tx, &p, cmd))))
        .await?;
    collaborator_answer(&session, removed, |r| {
        format!("{} is no longer a collaborator.", r.entry.username)
    })
}

/// The answer to a change or removal of a collaborator: back to the list with a message;
/// 404 for someone who is not a collaborator, 403 for a manager touching an administrator.
fn collaborator_answer(
    session: &Session,
    result: Result<uc::CollaboratorChange, DomainError>,
    message: impl FnOnce(&uc::CollaboratorChange) -> String,
) -> Result<HttpResponse, HtmlError> {
    let done = result?;
    flash_success(session, message(&done));
    Ok(redirect(&format!(
        "{}/settings/collaborators",
        done.dataset_path
    )))
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
    task_type: TaskType,
    is_public: bool,
    errors: FieldErrors,
    confirm_label: String,
}

impl DatasetSettingsPage {
    fn new(ctx: Layout, ds: Dataset, access: Access) -> Self {
        DatasetSettingsPage {
            ctx,
            description: ds.description.clone(),
            task_type: ds.task_type,
            is_public: ds.is_public,
            confirm_label: format!("Type {} to confirm", ds.name),
            ds,
            access,
            tab: "settings",
            errors: FieldErrors::default(),
        }
    }

    fn task_types(&self) -> &'static [TaskType] {
        TaskType::ALL
    }

    fn is_task_type(&self, t: &TaskType) -> bool {
        self.task_type == *t
    }
}

pub async fn settings(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HtmlError> {
    let (owner, name) = path.into_inner();
    let p = user.clone();
    let (ds, access) = state
        .run(move |c| uc::settings(c, &p, &owner, &name))
        .await?;
    let ctx = Layout::new(
        &session,
        Some(&user),
        state.nav(),
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
    user: Principal,
    path: web::Path<(String, String)>,
    form: web::Form<DatasetSettingsForm>,
) -> Result<HttpResponse, HtmlError> {
    let f = form.into_inner();
    // `None` deletes; `Some((task type, visibility))` saves.
    let update = match f.action.as_str() {
        "update" => {
            let is_public = parse_visibility(&f.visibility, false)?;
            let task_type = TaskType::parse(&f.task_type)
                .ok_or_else(|| HtmlError::bad_request("Unknown task type."))?;
            Some((task_type, is_public))
        }
        "delete" => None,
        _ => return Err(HtmlError::bad_request("Unknown settings action.")),
    };
    let (owner, name) = path.into_inner();
    let p = user.clone();
    let (description, confirm) = (f.description.clone(), f.confirm.clone());
    let outcome = state
        .run(move |c| {
            let done = write_tx(c, |tx| match update {
                Some((task_type, is_public)) => {
                    let cmd = UpdateDataset {
                        owner: owner.clone(),
                        name: name.clone(),
                        description: Some(description),
                        task_type: Some(task_type),
                        is_public: Some(is_public),
                    };
                    uc::update_settings(tx, &p, cmd).map(|ds| format!("{}/settings", ds.path()))
                }
                None => {
                    let cmd = DeleteDataset {
                        owner: owner.clone(),
                        name: name.clone(),
                        confirm: Some(confirm),
                    };
                    uc::delete(tx, &p, cmd).map(|ds| format!("/{}", ds.owner_name))
                }
            });
            match done {
                Ok(to) => Ok(Ok(to)),
                Err(e) => {
                    let errors = form_errors(e, |_| None)?;
                    let (ds, access) = uc::settings(c, &p, &owner, &name)?;
                    Ok(Err((ds, access, errors)))
                }
            }
        })
        .await?;
    match outcome {
        Ok(to) => {
            if update.is_some() {
                flash_success(&session, "The dataset's settings were saved.");
            } else {
                flash_success(&session, "The dataset was deleted.");
            }
            Ok(redirect(&to))
        }
        Err((ds, access, errors)) => {
            let ctx = Layout::new(
                &session,
                Some(&user),
                state.nav(),
                format!("Settings · {}", ds.name),
            );
            let mut page = DatasetSettingsPage::new(ctx, ds, access);
            page.errors = errors;
            if let Some((task_type, is_public)) = update {
                page.description = f.description.trim().to_string();
                page.task_type = task_type;
                page.is_public = is_public;
            }
            invalid(&page)
        }
    }
}
