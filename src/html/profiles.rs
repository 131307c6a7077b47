//! `GET /{owner}`: the account page of an organization (everything for its members, the
//! public profile for everyone else) or of a user.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::app::accounts::{self as uc, AccountPage};
use crate::app::Principal;
use crate::html::error::HtmlError;
use crate::html::layout::{ok, url_encode, Layout};
use crate::html::orgs::OrgPage;
use crate::html::{DatasetList, DatasetQuery, State};
use crate::models::accounts::Account;
use crate::models::datasets::DatasetSummary;
use crate::models::orgs::Org;
use crate::models::Page;

#[derive(Template)]
#[template(path = "account/user.html")]
struct UserPage {
    ctx: Layout,
    account: Account,
    is_me: bool,
    datasets: Page<DatasetSummary>,
    list: DatasetList,
}

/// An organization's public profile, for visitors and non-members.
#[derive(Template)]
#[template(path = "orgs/public.html")]
struct PublicOrgPage {
    ctx: Layout,
    org: Org,
    datasets: Page<DatasetSummary>,
    /// "Sign in", coming back here.
    login: String,
}

pub async fn show(
    state: State,
    session: Session,
    user: Option<Principal>,
    path: web::Path<String>,
    query: web::Query<DatasetQuery>,
) -> Result<HttpResponse, HtmlError> {
    let (p, page, filter) = (user.clone(), query.page(), query.filter()?);
    let shown = state
        .run(move |c| uc::page(c, p.as_ref(), &path, &filter, page))
        .await?;
    let nav = state.nav();
    match shown {
        AccountPage::Org(b) => {
            let (org, role, datasets) = *b;
            ok(&OrgPage {
                ctx: Layout::new(&session, user.as_ref(), nav, org.username.clone()),
                org,
                role,
                tab: "datasets",
                datasets,
                list: query.list(),
            })
        }
        AccountPage::PublicOrg(b) => {
            let (org, datasets) = *b;
            ok(&PublicOrgPage {
                ctx: Layout::new(&session, user.as_ref(), nav, org.username.clone()),
                login: format!("/login?next={}", url_encode(&org.path(""))),
                org,
                datasets,
            })
        }
        AccountPage::User(account, datasets) => ok(&UserPage {
            ctx: Layout::new(&session, user.as_ref(), nav, account.username.clone()),
            is_me: user.as_ref().is_some_and(|u| u.user_id == account.id),
            account,
            datasets,
            list: query.list(),
        }),
    }
}
