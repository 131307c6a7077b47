//! Colabel's own endpoints for organizations (the SDK has none): members listed with paging,
//! added, changed and removed; leaving; the audit log.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::api::wire::{self, AuditEvent, Member, MemberPatch, NewMember};
use crate::api::{created, no_content, ok, run, ApiError, Body, Key, PageQuery, State};
use crate::app::orgs::{self as uc, AddMember, ChangeMember, Leave, Paging, RemoveMember};
use crate::app::DomainError;
use crate::db::write_tx;
use crate::domain::roles::{DatasetRole, OrgRole, DEFAULT_FOR_NEW_MEMBERS};
use crate::models::Page;

const DEFAULT_PER_PAGE: i64 = 50;

fn org_role(value: &str) -> Result<OrgRole, DomainError> {
    wire::parse("role", value, OrgRole::ALL, OrgRole::parse, OrgRole::as_str)
}

/// A default dataset role: a role, or `null` for none.
fn default_role(value: Option<&str>) -> Result<Option<DatasetRole>, DomainError> {
    value
        .map(|v| {
            wire::parse(
                "default_dataset_role",
                v,
                DatasetRole::ALL,
                DatasetRole::parse,
                DatasetRole::as_str,
            )
        })
        .transpose()
}

/// A page as a bare JSON array (as the SDK's lists), with the total in `X-Total-Count` and
/// the neighbouring pages in `Link` (as GitHub's API).
fn paged<T, W: serde::Serialize>(
    page: &Page<T>,
    paging: Paging,
    path: &str,
    wire: impl Fn(&T) -> W,
) -> HttpResponse {
    let items: Vec<W> = page.items.iter().map(wire).collect();
    let last = page.pages();
    let link = |n: i64, rel: &str| {
        format!(
            "<{path}?page={n}&per_page={}>; rel=\"{rel}\"",
            paging.per_page
        )
    };
    let mut links = Vec::new();
    if paging.page > 1 {
        links.push(link(paging.page - 1, "prev"));
    }
    if paging.page < last {
        links.push(link(paging.page + 1, "next"));
    }
    links.push(link(last, "last"));
    let mut res = ok(&items);
    let headers = res.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(&page.total.to_string()) {
        headers.insert(header::HeaderName::from_static("x-total-count"), v);
    }
    if let Ok(v) = header::HeaderValue::from_str(&links.join(", ")) {
        headers.insert(header::LINK, v);
    }
    res
}

/// `?page=&per_page=&q=`: a page of members, optionally those whose name starts with `q`.
#[derive(serde::Deserialize)]
pub struct MembersQuery {
    page: Option<i64>,
    per_page: Option<i64>,
    q: Option<String>,
}

/// The members of an organization, by name, with their roles (members of the organization;
/// anyone else gets 404). The total is in `X-Total-Count`.
#[utoipa::path(get, path = "/organizations/{org}/members/", tag = "Organizations",
    params(("org" = String, Path), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "1 to 1000, default 50"),
        ("q" = Option<String>, Query, description = "Only members whose username or display name (or, for administrators, email) contains this, in any case")),
    responses((status = 200, body = [Member]), (status = 400), (status = 401), (status = 404)),
    security(("api_key" = [])))]
pub async fn members(
    state: State,
    key: Key,
    path: web::Path<String>,
    query: web::Query<MembersQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .paging(DEFAULT_PER_PAGE)?;
    let org = path.into_inner();
    let wanted = uc::FindMembers {
        text: query.q.clone().unwrap_or_default(),
        ..Default::default()
    };
    let view = run(&state, key, move |c, p| {
        uc::members(c, p, &org, wanted, paging)
    })
    .await?;
    let path = format!("/organizations/{}/members/", view.org.username);
    let shows = view.shows_default_roles;
    Ok(paged(&view.members, paging, &path, |m| {
        Member::of(m, shows)
    }))
}

/// One member.
#[utoipa::path(get, path = "/organizations/{org}/members/{user}", tag = "Organizations",
    params(("org" = String, Path), ("user" = String, Path)),
    responses((status = 200, body = Member), (status = 401), (status = 404)),
    security(("api_key" = [])))]
pub async fn member(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, user) = path.into_inner();
    let (m, shows) = run(&state, key, move |c, p| uc::member(c, p, &org, &user)).await?;
    Ok(ok(&Member::of(&m, shows)))
}

/// Adds a user as a member (administrators), with an organization role (default `member`)
/// and a default dataset role (default `labeler`; `null` for none).
#[utoipa::path(post, path = "/organizations/{org}/members/", tag = "Organizations", request_body = NewMember,
    params(("org" = String, Path)),
    responses((status = 201, body = Member), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("api_key" = [])))]
pub async fn add_member(
    state: State,
    key: Key,
    path: web::Path<String>,
    body: Body<NewMember>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let org = path.into_inner();
    let (m, shows) = run(&state, key, move |c, p| {
        let role = match body.role.as_deref() {
            Some(value) => org_role(value)?,
            None => OrgRole::Member,
        };
        let default_role = match &body.default_dataset_role {
            None => DEFAULT_FOR_NEW_MEMBERS,
            Some(value) => default_role(value.as_deref())?,
        };
        let cmd = AddMember {
            org,
            username: body.username,
            role,
            default_role,
        };
        write_tx(c, |tx| {
            let added = uc::add_member(tx, p, cmd)?;
            uc::member(tx, p, &added.org, &added.username)
        })
    })
    .await?;
    Ok(created(&Member::of(&m, shows)))
}

/// Changes a member's organization role or default dataset role (administrators); fields
/// not given keep their value. The last administrator cannot be demoted (409).
#[utoipa::path(patch, path = "/organizations/{org}/members/{user}", tag = "Organizations", request_body = MemberPatch,
    params(("org" = String, Path), ("user" = String, Path)),
    responses((status = 200, body = Member), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("api_key" = [])))]
pub async fn change_member(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
    body: Body<MemberPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let (org, member) = path.into_inner();
    let (m, shows) = run(&state, key, move |c, p| {
        let default_role = match &body.default_dataset_role {
            None => None,
            Some(value) => Some(default_role(value.as_deref())?),
        };
        let cmd = ChangeMember {
            org,
            member,
            role: body.role.as_deref().map(org_role).transpose()?,
            default_role,
        };
        write_tx(c, |tx| {
            let changed = uc::change_member(tx, p, cmd)?;
            uc::member(tx, p, &changed.org, &changed.now.username)
        })
    })
    .await?;
    Ok(ok(&Member::of(&m, shows)))
}

/// Removes a member (administrators); their collaborator entries on the organization's
/// datasets go with the membership. The last administrator cannot be removed (409).
#[utoipa::path(delete, path = "/organizations/{org}/members/{user}", tag = "Organizations",
    params(("org" = String, Path), ("user" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("api_key" = [])))]
pub async fn remove_member(
    state: State,
    key: Key,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, member) = path.into_inner();
    run(&state, key, move |c, p| {
        write_tx(c, |tx| {
            uc::remove_member(tx, p, RemoveMember { org, member })
        })
        .map(drop)
    })
    .await?;
    Ok(no_content())
}

/// Leaves an organization: your collaborator entries on its datasets go with the membership.
/// Its last administrator cannot leave (409).
#[utoipa::path(delete, path = "/user/organizations/{org}", tag = "Organizations",
    params(("org" = String, Path)),
    responses((status = 204), (status = 401), (status = 404), (status = 409)),
    security(("api_key" = [])))]
pub async fn leave(
    state: State,
    key: Key,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org = path.into_inner();
    run(&state, key, move |c, p| {
        write_tx(c, |tx| uc::leave(tx, p, Leave { org })).map(drop)
    })
    .await?;
    Ok(no_content())
}

/// The organization's audit log, newest first (administrators). The total is in
/// `X-Total-Count`.
#[utoipa::path(get, path = "/organizations/{org}/audit/", tag = "Organizations",
    params(("org" = String, Path), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "1 to 1000, default 50")),
    responses((status = 200, body = [AuditEvent]), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("api_key" = [])))]
pub async fn audit(
    state: State,
    key: Key,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = query.paging(DEFAULT_PER_PAGE)?;
    let org = path.into_inner();
    let (org, _, page) = run(&state, key, move |c, p| uc::audit_log(c, p, &org, paging)).await?;
    let path = format!("/organizations/{}/audit/", org.username);
    Ok(paged(&page, paging, &path, AuditEvent::of))
}
