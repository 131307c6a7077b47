//! "Who has access, and why" (issue 15, item 5): the dataset's Access tab and a member's
//! Access page. Adapters: parse the address, call one read of `app::access`, render.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::app::access::{self as uc, DatasetAccessView, MemberAccessView};
use crate::app::orgs::Paging;
use crate::app::Principal;
use crate::domain::access::Access;
use crate::domain::roles::{DatasetRole, OrgRole};
use crate::html::error::HtmlError;
use crate::html::layout::{ok, Layout};
use crate::html::{ListQuery, State};
use crate::models::access::{Grantee, MemberDataset};
use crate::models::datasets::Dataset;
use crate::models::orgs::{Member, Org};
use crate::models::Page;

#[derive(Template)]
#[template(path = "datasets/access.html")]
struct DatasetAccessPage {
    ctx: Layout,
    ds: Dataset,
    access: Access,
    tab: &'static str,
    people: Page<Grantee>,
    q: String,
    pager_suffix: String,
}

impl DatasetAccessPage {
    fn role_of(&self, g: &Grantee) -> &'static str {
        g.sources.role().map_or("", DatasetRole::label)
    }
}

/// `GET /{owner}/{dataset}/settings/access`: everyone with access and the source of their
/// role (managers and administrators of the dataset).
pub async fn dataset_access(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, HtmlError> {
    let (owner, name) = path.into_inner();
    let (p, page, q) = (user.clone(), query.page(), query.search());
    let view: DatasetAccessView = state
        .run(move |c| uc::dataset_access(c, &p, &owner, &name, &q, Paging::html(page)))
        .await?;
    let ctx = Layout::new(
        &session,
        Some(&user),
        state.nav(),
        format!("Access · {}", view.ds.name),
    );
    ok(&DatasetAccessPage {
        ctx,
        ds: view.ds,
        access: view.access,
        tab: "access",
        people: view.people,
        pager_suffix: query.pager_suffix(),
        q: view.search,
    })
}

#[derive(Template)]
#[template(path = "orgs/member_access.html")]
struct MemberAccessPage {
    ctx: Layout,
    org: Org,
    role: OrgRole,
    tab: &'static str,
    subtab: &'static str,
    member: Member,
    datasets: Page<MemberDataset>,
    hidden: i64,
}

impl MemberAccessPage {
    fn base(&self) -> String {
        self.org.path(&format!(
            "/settings/members/{}/access",
            self.member.username
        ))
    }

    fn role_of(&self, d: &MemberDataset) -> &'static str {
        d.sources.role().map_or("", DatasetRole::label)
    }
}

/// `GET /{org}/settings/members/{user}/access`: each dataset of the organization that the
/// member can open, with the role and its sources (administrators of the organization).
pub async fn member_access(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, HtmlError> {
    let (org, member) = path.into_inner();
    let (p, page) = (user.clone(), query.page());
    let view: MemberAccessView = state
        .run(move |c| uc::member_access(c, &p, &org, &member, page))
        .await?;
    let ctx = Layout::new(
        &session,
        Some(&user),
        state.nav(),
        format!(
            "Access of {} · Settings · {}",
            view.member.username, view.org.username
        ),
    );
    ok(&MemberAccessPage {
        ctx,
        org: view.org,
        role: view.role,
        tab: "settings",
        subtab: "members",
        member: view.member,
        datasets: view.datasets,
        hidden: view.hidden,
    })
}
