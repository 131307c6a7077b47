//! `GET /{owner}`: the account page of an organization (members only) or of a user.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::SessionUser;
use crate::errors::AppError;
use crate::handlers::orgs::{org_page_data, ListQuery, OrgPage};
use crate::models::accounts::{self, Account};
use crate::models::datasets::{self, DatasetSummary};
use crate::models::{orgs, Page};
use crate::roles::OrgAction;
use crate::web::{ok, run_db, Layout, State};

#[derive(Template)]
#[template(path = "account/user.html")]
struct UserPage {
    ctx: Layout,
    account: Account,
    is_me: bool,
    datasets: Page<DatasetSummary>,
}

enum Shown {
    Org(
        Box<(
            crate::models::orgs::Org,
            crate::roles::OrgRole,
            Page<DatasetSummary>,
        )>,
    ),
    User(Account, Page<DatasetSummary>),
}

pub async fn show(
    state: State,
    session: Session,
    user: Option<SessionUser>,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.page_number();
    let u = user.clone();
    let (shown, nav) = run_db(&state, move |c| {
        let viewer = u.as_ref().map(|u| u.id);
        let shown = match orgs::find_with_role(c, &path, viewer.unwrap_or(-1))? {
            // Visitors and non-members: 404, as if it did not exist.
            Some((org, role)) => {
                let (u, role) = u.as_ref().zip(role).ok_or(AppError::NotFound)?;
                if !role.can(OrgAction::View) {
                    return Err(AppError::NotFound);
                }
                let list = org_page_data(c, &org, role, u.id, page)?;
                Shown::Org(Box::new((org, role, list)))
            }
            None => {
                let account = accounts::find_account(c, &path)?.ok_or(AppError::NotFound)?;
                let is_me = viewer == Some(account.id);
                let list = datasets::list_for_owner(
                    c,
                    (account.id, &account.username),
                    viewer,
                    is_me,
                    page,
                )?;
                Shown::User(account, list)
            }
        };
        let nav = match viewer {
            Some(id) => orgs::nav_orgs(c, id)?,
            None => Vec::new(),
        };
        Ok((shown, nav))
    })
    .await?;
    match shown {
        Shown::Org(b) => {
            let (org, role, datasets) = *b;
            ok(&OrgPage {
                ctx: Layout::new(&session, user.as_ref(), nav, org.username.clone()),
                org,
                role,
                tab: "datasets",
                datasets,
            })
        }
        Shown::User(account, datasets) => ok(&UserPage {
            ctx: Layout::new(&session, user.as_ref(), nav, account.username.clone()),
            is_me: user.as_ref().is_some_and(|u| u.id == account.id),
            account,
            datasets,
        }),
    }
}
