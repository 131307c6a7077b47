//! Datasets and their collaborators: the SDK's `/user/datasets/`, `/users/{name}/datasets/`,
//! `/organizations/{org}/datasets/`, `/datasets/{owner}/{name}/` (with `clone/` and
//! `collaborators/`).

use actix_web::{web, HttpResponse};

use crate::api::wire::{
    self, CloneRequest, Collaborator, CollaboratorPatch, Dataset, DatasetPatch, Grantee,
    NewCollaborator, NewDataset,
};
use crate::api::{created, no_content, ok, run, ApiError, Body, Key, PageQuery, State};
use crate::app::datasets::{
    self as uc, AddCollaborator, ChangeCollaborator, CloneDataset, CreateDataset, DeleteDataset,
    RemoveCollaborator, UpdateDataset, Whose,
};
use crate::app::DomainError;
use crate::db::write_tx;
use crate::domain::kinds::{AccountKind, TaskType};
use crate::domain::roles::DatasetRole;

/// Rows on a page of datasets when `per_page` is not given.
const DEFAULT_PER_PAGE: i64 = 100;

fn task_type(value: &str) -> Result<TaskType, DomainError> {
    wire::parse(
        "task_type",
        value,
        TaskType::ALL,
        TaskType::parse,
        TaskType::as_str,
    )
}

fn dataset_role(value: &str) -> Result<DatasetRole, DomainError> {
    wire::parse(
        "role",
        value,
        DatasetRole::ALL,
        DatasetRole::parse,
        DatasetRole::as_str,
    )
}

/// The datasets you work on: your own, those of organizations you administer, and those you
/// collaborate on; ordered by owner, then name.
#[utoipa::path(get, path = "/user/datasets/", tag = "Datasets",
    params(("page" = Option<i64>, Query, description = "1-based"), ("per_page" = Option<i64>, Query, description = "1 to 1000, default 100")),
    responses((status = 200, body = [Dataset]), (status = 400), (status = 401)),
    security(("api_key" = [])))]
pub async fn mine(
    state: State,
    key: Key,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = query.paging(DEFAULT_PER_PAGE)?;
    let list = run(&state, key, move |c, p| uc::list(c, p, Whose::Mine, paging)).await?;
    Ok(ok(&list.iter().map(Dataset::of).collect::<Vec<_>>()))
}

/// The datasets of a user or an organization that you may see (an organization you are not
/// a member of answers 404).
#[utoipa::path(get, path = "/users/{name}/datasets/", tag = "Datasets",
    params(("name" = String, Path), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, body = [Dataset]), (status = 400), (status = 401), (status = 404)),
    security(("api_key" = [])))]
pub async fn of_account(
    state: State,
    key: Key,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = query.paging(DEFAULT_PER_PAGE)?;
    let name = path.into_inner();
    let list = run(&state, key, move |c, p| {
        uc::list(c, p, Whose::Of(name), paging)
    })
    .await?;
    Ok(ok(&list.iter().map(Dataset::of).collect::<Vec<_>>()))
}

/// Creates a dataset; for an organization, its members join with their default dataset role
/// in the same transaction, and you as administrator.
async fn create(
    state: State,
    key: Key,
    owner: Option<String>,
    body: NewDataset,
) -> Result<HttpResponse, ApiError> {
    let task_type = task_type(body.task_type.as_deref().unwrap_or("segmentation-bitmap"))?;
    let detail = run(&state, key, move |c, p| {
        let (owner, owner_kind) = match owner {
            Some(org) => (org, Some(AccountKind::Org)),
            None => (p.username.clone(), None),
        };
        let cmd = CreateDataset {
            owner,
            owner_kind,
            name: body.name,
            description: body.description.unwrap_or_default(),
            task_type: Some(task_type),
            is_public: body.public.unwrap_or(false),
        };
        write_tx(c, |tx| {
            let made = uc::create(tx, p, cmd)?;
            uc::detail(tx, p, &made.owner, &made.name)
        })
    })
    .await?;
    Ok(created(&Dataset::of(&detail)))
}

/// Creates one of your own datasets.
#[utoipa::path(post, path = "/user/datasets/", tag = "Datasets", request_body = NewDataset,
    responses((status = 201, body = Dataset), (status = 400), (status = 401), (status = 409, description = "A dataset with this name already exists")),
    security(("api_key" = [])))]
pub async fn create_mine(
    state: State,
    key: Key,
    body: Body<NewDataset>,
) -> Result<HttpResponse, ApiError> {
    create(state, key, None, body.0).await
}

/// Creates a dataset of an organization you administer (its members join with their default
/// dataset role; a member who is not an administrator gets 403, anyone else 404).
#[utoipa::path(post, path = "/organizations/{org}/datasets/", tag = "Datasets", request_body = NewDataset,
    params(("org" = String, Path)),
    responses((status = 201, body = Dataset), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("api_key" = [])))]
pub async fn create_in_org(
    state: State,
    key: Key,
    path: web::Path<String>,
    body: Body<NewDataset>,
) -> Result<HttpResponse, ApiError> {
    create(state, key, Some(path.into_inner()), body.0).await
}

/// A dataset you may see (public, or with a role on it); anything else answers 404.
#[utoipa::path(get, path = "/datasets/{owner}/{name}/", tag = "Datasets",
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Dataset), (status = 401), (status = 404)),
    security(("api_key" = [])))]
pub async fn get(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name) = path.into_inner();
    let detail = run(&state, key, move |c, p| uc::detail(c, p, &owner, &name)).await?;
    Ok(ok(&Dataset::of(&detail)))
}

/// Changes the description, task type or visibility (dataset administrators); fields not
/// given keep their value, other fields are ignored.
#[utoipa::path(patch, path = "/datasets/{owner}/{name}/", tag = "Datasets", request_body = DatasetPatch,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Dataset), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn update(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
    body: Body<DatasetPatch>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name) = path.into_inner();
    let body = body.0;
    let detail = run(&state, key, move |c, p| {
        let task_type = body.task_type.as_deref().map(task_type).transpose()?;
        let cmd = UpdateDataset {
            owner: owner.clone(),
            name: name.clone(),
            description: body.description,
            task_type,
            is_public: body.public,
        };
        write_tx(c, |tx| {
            let ds = uc::update_settings(tx, p, cmd)?;
            uc::detail(tx, p, &ds.owner_name, &ds.name)
        })
    })
    .await?;
    Ok(ok(&Dataset::of(&detail)))
}

/// Deletes the dataset and its collaborators (dataset administrators).
#[utoipa::path(delete, path = "/datasets/{owner}/{name}/", tag = "Datasets",
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn delete(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name) = path.into_inner();
    run(&state, key, move |c, p| {
        let cmd = DeleteDataset {
            owner,
            name,
            confirm: None,
        };
        write_tx(c, |tx| uc::delete(tx, p, cmd)).map(drop)
    })
    .await?;
    Ok(no_content())
}

/// A copy of a dataset you may see, in your account or an organization you administer:
/// description, task type and visibility (unless given); not its collaborators.
#[utoipa::path(post, path = "/datasets/{owner}/{name}/clone/", tag = "Datasets", request_body = CloneRequest,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 201, body = Dataset), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("api_key" = [])))]
pub async fn clone(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
    body: Body<CloneRequest>,
) -> Result<HttpResponse, ApiError> {
    let (source_owner, source_name) = path.into_inner();
    let body = body.0;
    let detail = run(&state, key, move |c, p| {
        let task_type = body.task_type.as_deref().map(task_type).transpose()?;
        let cmd = CloneDataset {
            source_owner,
            source_name,
            name: body.name,
            owner: body.owner,
            task_type,
            is_public: body.public,
        };
        write_tx(c, |tx| {
            let made = uc::clone(tx, p, cmd)?;
            uc::detail(tx, p, &made.owner, &made.name)
        })
    })
    .await?;
    Ok(created(&Dataset::of(&detail)))
}

/// The collaborator entries of a dataset, by name (managers and administrators).
#[utoipa::path(get, path = "/datasets/{owner}/{name}/collaborators/", tag = "Collaborators",
    params(("owner" = String, Path), ("name" = String, Path), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, body = [Collaborator]), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn collaborators(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name) = path.into_inner();
    let paging = query.paging(DEFAULT_PER_PAGE)?;
    let list = run(&state, key, move |c, p| {
        uc::collaborator_list(c, p, &owner, &name, paging)
    })
    .await?;
    Ok(ok(&list.iter().map(Collaborator::of).collect::<Vec<_>>()))
}

/// `?page=N&per_page=M&q=TEXT` of the access list.
#[derive(serde::Deserialize, Debug, Clone)]
pub struct AccessQuery {
    page: Option<i64>,
    per_page: Option<i64>,
    /// A part of the username, in any case.
    q: Option<String>,
}

/// Everyone with access to a dataset and why, by username (managers and administrators):
/// the effective role and every source of it. An organization administrator who is also a
/// collaborator is one entry.
#[utoipa::path(get, path = "/datasets/{owner}/{name}/access/", tag = "Collaborators",
    params(("owner" = String, Path), ("name" = String, Path), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query), ("q" = Option<String>, Query, description = "a part of the username")),
    responses((status = 200, body = [Grantee]), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn access(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
    query: web::Query<AccessQuery>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name) = path.into_inner();
    let query = query.into_inner();
    let paging = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .paging(DEFAULT_PER_PAGE)?;
    let q = query.q.unwrap_or_default();
    let view = run(&state, key, move |c, p| {
        crate::app::access::dataset_access(c, p, &owner, &name, &q, paging)
    })
    .await?;
    Ok(ok(&view
        .people
        .items
        .iter()
        .map(Grantee::of)
        .collect::<Vec<_>>()))
}

/// One collaborator entry (managers and administrators); the owner and organization
/// administrators have none.
#[utoipa::path(get, path = "/datasets/{owner}/{name}/collaborators/{user}", tag = "Collaborators",
    params(("owner" = String, Path), ("name" = String, Path), ("user" = String, Path)),
    responses((status = 200, body = Collaborator), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn collaborator(
    state: State,
    key: Key,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name, user) = path.into_inner();
    let entry = run(&state, key, move |c, p| {
        uc::collaborator(c, p, &owner, &name, &user)
    })
    .await?;
    Ok(ok(&Collaborator::of(&entry)))
}

/// Adds a collaborator (managers and administrators; only administrators give `admin`).
#[utoipa::path(post, path = "/datasets/{owner}/{name}/collaborators/", tag = "Collaborators", request_body = NewCollaborator,
    params(("owner" = String, Path), ("name" = String, Path)),
    responses((status = 201, body = Collaborator), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("api_key" = [])))]
pub async fn add_collaborator(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
    body: Body<NewCollaborator>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name) = path.into_inner();
    let body = body.0;
    let added = run(&state, key, move |c, p| {
        let cmd = AddCollaborator {
            owner,
            name,
            username: body.user,
            role: dataset_role(&body.role)?,
        };
        write_tx(c, |tx| uc::add_collaborator(tx, p, cmd))
    })
    .await?;
    Ok(created(&Collaborator::of(&added.entry)))
}

/// Changes a collaborator's role (managers and administrators; only administrators touch
/// `admin`).
#[utoipa::path(patch, path = "/datasets/{owner}/{name}/collaborators/{user}", tag = "Collaborators", request_body = CollaboratorPatch,
    params(("owner" = String, Path), ("name" = String, Path), ("user" = String, Path)),
    responses((status = 200, body = Collaborator), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn change_collaborator(
    state: State,
    key: Key,
    path: web::Path<(String, String, String)>,
    body: Body<CollaboratorPatch>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name, user) = path.into_inner();
    let body = body.0;
    let changed = run(&state, key, move |c, p| {
        let cmd = ChangeCollaborator {
            owner,
            name,
            user,
            role: dataset_role(&body.role)?,
        };
        write_tx(c, |tx| uc::change_collaborator(tx, p, cmd))
    })
    .await?;
    Ok(ok(&Collaborator::of(&changed.entry)))
}

/// Removes a collaborator (managers and administrators; only administrators remove an
/// `admin`).
#[utoipa::path(delete, path = "/datasets/{owner}/{name}/collaborators/{user}", tag = "Collaborators",
    params(("owner" = String, Path), ("name" = String, Path), ("user" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn remove_collaborator(
    state: State,
    key: Key,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (owner, name, user) = path.into_inner();
    run(&state, key, move |c, p| {
        let cmd = RemoveCollaborator { owner, name, user };
        write_tx(c, |tx| uc::remove_collaborator(tx, p, cmd)).map(drop)
    })
    .await?;
    Ok(no_content())
}
