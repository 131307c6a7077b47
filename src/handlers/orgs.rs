//! Organizations: create, the account page's tabs, settings, the Members subtab, the audit
//! log, and leaving from the user's own settings.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::SessionUser;
use crate::db::{write_tx, DbConn};
use crate::errors::AppError;
use crate::models::audit::{self, AuditRow};
use crate::models::datasets::{self, DatasetSummary};
use crate::models::orgs::{self, Actor, Member, MemberError, Org, UserOrg};
use crate::models::{accounts, Page};
use crate::roles::{default_role_label, parse_default_role, DatasetRole, OrgAction, OrgRole};
use crate::web::{
    flash_error, flash_success, invalid, ok, redirect, run_db, text_field, url_encode, FieldErrors,
    Layout, State,
};

/// `?page=N&q=prefix` on list pages.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    page: Option<i64>,
    q: Option<String>,
}

impl ListQuery {
    pub fn page_number(&self) -> i64 {
        self.page()
    }

    fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    fn search(&self) -> String {
        self.q
            .as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(39)
            .collect()
    }

    /// The query string the pager appends after `page=N`.
    fn pager_suffix(&self) -> String {
        let q = self.search();
        if q.is_empty() {
            String::new()
        } else {
            format!("&q={}", url_encode(&q))
        }
    }
}

pub(crate) fn actor(user: &SessionUser) -> Actor {
    Actor {
        id: user.id,
        name: user.username.clone(),
    }
}

/// The organization `name` as seen by `user`: 404 unless a member, 403 when the member's
/// role does not allow `action` (SPEC 2, 4.6, 4.8).
pub(crate) fn org_for(
    c: &mut DbConn,
    name: &str,
    user: &SessionUser,
    action: OrgAction,
) -> Result<(Org, OrgRole), AppError> {
    let (org, role) = orgs::find_with_role(c, name, user.id)?.ok_or(AppError::NotFound)?;
    let role = role.ok_or(AppError::NotFound)?;
    if !role.can(action) {
        return Err(AppError::forbidden(format!(
            "Only administrators of {} can do this. Ask one of them if you need a change.",
            org.username
        )));
    }
    Ok((org, role))
}

// ---- New organization ----

#[derive(Template)]
#[template(path = "orgs/new.html")]
struct NewOrgPage {
    ctx: Layout,
    username: String,
    display_name: String,
    errors: FieldErrors,
}

pub async fn new_form(
    state: State,
    session: Session,
    user: SessionUser,
) -> Result<HttpResponse, AppError> {
    let uid = user.id;
    let nav = run_db(&state, move |c| Ok(orgs::nav_orgs(c, uid)?)).await?;
    ok(&NewOrgPage {
        ctx: Layout::new(&session, Some(&user), nav, "New organization"),
        username: String::new(),
        display_name: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct NewOrgForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
}

pub async fn create(
    state: State,
    session: Session,
    user: SessionUser,
    form: web::Form<NewOrgForm>,
) -> Result<HttpResponse, AppError> {
    let username = form.username.trim().to_string();
    let mut errors = FieldErrors::default();
    errors.check("username", accounts::check_username(&username));
    let display_name = text_field(&mut errors, "display_name", &form.display_name, 100);
    if errors.is_empty() {
        let (a, u, d) = (actor(&user), username.clone(), display_name.clone());
        let created = run_db(&state, move |c| {
            write_tx(c, |c| Ok::<_, AppError>(orgs::create(c, &a, &u, &d)?))
        })
        .await;
        match created {
            Ok(Some(_)) => {
                flash_success(&session, format!("Welcome to {username}, your new organization. Add members from Settings → Members."));
                return Ok(redirect(&format!("/{username}")));
            }
            Ok(None) | Err(AppError::Conflict(_)) => errors.add(
                "username",
                "That name is taken by a user or an organization.",
            ),
            Err(e) => return Err(e),
        }
    }
    let uid = user.id;
    let nav = run_db(&state, move |c| Ok(orgs::nav_orgs(c, uid)?)).await?;
    invalid(&NewOrgPage {
        ctx: Layout::new(&session, Some(&user), nav, "New organization"),
        username,
        display_name,
        errors,
    })
}

// ---- The organization account page and its Members tab ----

#[derive(Template)]
#[template(path = "orgs/show.html")]
pub(crate) struct OrgPage {
    pub ctx: Layout,
    pub org: Org,
    pub role: OrgRole,
    pub tab: &'static str,
    pub datasets: Page<DatasetSummary>,
}

/// `GET /{org}` for a member (called by the account-page dispatcher, which already found
/// the organization and the viewer's role).
pub(crate) fn org_page_data(
    c: &mut DbConn,
    org: &Org,
    role: OrgRole,
    user_id: i32,
    page: i64,
) -> Result<Page<DatasetSummary>, AppError> {
    Ok(datasets::list_for_owner(
        c,
        (org.id, &org.username),
        Some(user_id),
        role.can(OrgAction::Manage),
        page,
    )?)
}

#[derive(Template)]
#[template(path = "orgs/members.html")]
struct MembersPage {
    ctx: Layout,
    org: Org,
    role: OrgRole,
    tab: &'static str,
    members: Page<Member>,
    q: String,
    pager_suffix: String,
}

/// A page of an organization's members, with what every page needs: the Members tab asks
/// for `View`, the Members subtab for `Manage`.
async fn members_data(
    state: &State,
    user: &SessionUser,
    name: String,
    query: &ListQuery,
    action: OrgAction,
) -> Result<(Org, OrgRole, Page<Member>, Vec<String>), AppError> {
    let (u, page, q) = (user.clone(), query.page(), query.search());
    run_db(state, move |c| {
        let (org, role) = org_for(c, &name, &u, action)?;
        let members = orgs::members(c, &org, &q, page)?;
        Ok((org, role, members, orgs::nav_orgs(c, u.id)?))
    })
    .await
}

pub async fn members(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (org, role, members, nav) =
        members_data(&state, &user, path.into_inner(), &query, OrgAction::View).await?;
    ok(&MembersPage {
        ctx: Layout::new(
            &session,
            Some(&user),
            nav,
            format!("Members · {}", org.username),
        ),
        org,
        role,
        tab: "members",
        members,
        q: query.search(),
        pager_suffix: query.pager_suffix(),
    })
}

// ---- Settings (administrators) ----

#[derive(Template)]
#[template(path = "orgs/settings.html")]
struct SettingsPage {
    ctx: Layout,
    org: Org,
    role: OrgRole,
    tab: &'static str,
    subtab: &'static str,
    display_name: String,
    description: String,
    contact_email: String,
    errors: FieldErrors,
    confirm_label: String,
}

impl SettingsPage {
    fn new(ctx: Layout, org: Org, role: OrgRole) -> Self {
        SettingsPage {
            confirm_label: format!("Type {} to confirm", org.username),
            display_name: org.display_name.clone(),
            description: org.description.clone(),
            contact_email: org.contact_email.clone(),
            ctx,
            org,
            role,
            tab: "settings",
            subtab: "general",
            errors: FieldErrors::default(),
        }
    }
}

pub async fn settings(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let u = user.clone();
    let (org, role, nav) = run_db(&state, move |c| {
        let (org, role) = org_for(c, &path, &u, OrgAction::Manage)?;
        Ok((org, role, orgs::nav_orgs(c, u.id)?))
    })
    .await?;
    let ctx = Layout::new(
        &session,
        Some(&user),
        nav,
        format!("Settings · {}", org.username),
    );
    ok(&SettingsPage::new(ctx, org, role))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    action: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    contact_email: String,
    #[serde(default)]
    confirm: String,
}

pub async fn update_settings(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<String>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::default();
    let display_name = text_field(&mut errors, "display_name", &form.display_name, 100);
    let description = text_field(&mut errors, "description", &form.description, 1000);
    let contact_email = form.contact_email.trim().to_string();
    let action = form.action.clone();
    match action.as_str() {
        "update" => {
            if !contact_email.is_empty() {
                errors.check("contact_email", accounts::check_email(&contact_email));
            }
        }
        "delete" => {}
        _ => return Err(AppError::bad_request("Unknown settings action.")),
    }
    let (u, name) = (user.clone(), path.into_inner());
    let confirm = form.confirm.trim().to_string();
    let outcome = run_db(&state, move |c| {
        write_tx(c, |c| {
            let (org, role) = org_for(c, &name, &u, OrgAction::Manage)?;
            if action == "delete" {
                if confirm != org.username {
                    errors.add("confirm", format!("Type {} to confirm.", org.username));
                } else {
                    orgs::delete(c, org.id)?;
                    return Ok(Ok(org.username));
                }
            } else if errors.is_empty() {
                orgs::update_settings(
                    c,
                    &org,
                    &actor(&u),
                    &display_name,
                    &description,
                    &contact_email,
                )?;
                return Ok(Ok(org.username));
            }
            let nav = orgs::nav_orgs(c, u.id)?;
            Ok::<_, AppError>(Err((
                org,
                role,
                nav,
                errors,
                display_name,
                description,
                contact_email,
            )))
        })
    })
    .await?;
    match outcome {
        Ok(name) if form.action == "delete" => {
            flash_success(&session, format!("The organization {name} was deleted."));
            Ok(redirect("/"))
        }
        Ok(name) => {
            flash_success(&session, "The organization's settings were saved.");
            Ok(redirect(&format!("/{name}/settings")))
        }
        Err((org, role, nav, errors, display_name, description, contact_email)) => {
            let ctx = Layout::new(
                &session,
                Some(&user),
                nav,
                format!("Settings · {}", org.username),
            );
            let mut page = SettingsPage::new(ctx, org, role);
            page.errors = errors;
            if form.action == "update" {
                page.display_name = display_name;
                page.description = description;
                page.contact_email = contact_email;
            }
            invalid(&page)
        }
    }
}

// ---- The Members subtab (administrators) ----

#[derive(Template)]
#[template(path = "orgs/settings_members.html")]
struct ManageMembersPage {
    ctx: Layout,
    org: Org,
    role: OrgRole,
    tab: &'static str,
    subtab: &'static str,
    members: Page<Member>,
    q: String,
    pager_suffix: String,
    add_username: String,
    add_role: OrgRole,
    add_default: Option<DatasetRole>,
    errors: FieldErrors,
    org_roles: [OrgRole; 2],
    default_roles: Vec<Option<DatasetRole>>,
    me: i32,
}

impl ManageMembersPage {
    fn default_value(&self, r: &Option<DatasetRole>) -> &'static str {
        crate::roles::default_role_value(*r)
    }

    fn default_label(&self, r: &Option<DatasetRole>) -> &'static str {
        default_role_label(*r)
    }
}

fn default_roles() -> Vec<Option<DatasetRole>> {
    let mut v: Vec<Option<DatasetRole>> = DatasetRole::ALL.into_iter().map(Some).collect();
    v.push(None);
    v
}

#[allow(clippy::too_many_arguments)]
fn manage_members_page(
    ctx: Layout,
    org: Org,
    role: OrgRole,
    members: Page<Member>,
    query: &ListQuery,
    add: (String, OrgRole, Option<DatasetRole>),
    errors: FieldErrors,
    me: i32,
) -> ManageMembersPage {
    ManageMembersPage {
        ctx,
        org,
        role,
        tab: "settings",
        subtab: "members",
        members,
        q: query.search(),
        pager_suffix: query.pager_suffix(),
        add_username: add.0,
        add_role: add.1,
        add_default: add.2,
        errors,
        org_roles: OrgRole::ALL,
        default_roles: default_roles(),
        me,
    }
}

pub async fn manage_members(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (org, role, members, nav) =
        members_data(&state, &user, path.into_inner(), &query, OrgAction::Manage).await?;
    let ctx = Layout::new(
        &session,
        Some(&user),
        nav,
        format!("Members · {}", org.username),
    );
    ok(&manage_members_page(
        ctx,
        org,
        role,
        members,
        &query,
        (String::new(), OrgRole::Member, Some(DatasetRole::Labeler)),
        FieldErrors::default(),
        user.id,
    ))
}

#[derive(Deserialize)]
pub struct AddMemberForm {
    #[serde(default)]
    username: String,
    role: String,
    default_role: String,
}

fn parse_roles(role: &str, default_role: &str) -> Result<(OrgRole, Option<DatasetRole>), AppError> {
    let role =
        OrgRole::parse(role).ok_or_else(|| AppError::bad_request("Unknown organization role."))?;
    let default = parse_default_role(default_role)
        .ok_or_else(|| AppError::bad_request("Unknown default dataset role."))?;
    Ok((role, default))
}

pub async fn add_member(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<String>,
    form: web::Form<AddMemberForm>,
) -> Result<HttpResponse, AppError> {
    let (role, default) = parse_roles(&form.role, &form.default_role)?;
    let username = form.username.trim().to_string();
    let (u, name, wanted) = (user.clone(), path.into_inner(), username.clone());
    let outcome = run_db(&state, move |c| {
        let added = write_tx(c, |c| {
            let (org, my_role) = org_for(c, &name, &u, OrgAction::Manage)?;
            if wanted.is_empty() {
                return Ok::<_, AppError>((org, my_role, Err(None)));
            }
            let r = orgs::add_member(c, org.id, &actor(&u), &wanted, role, default)?;
            Ok((org, my_role, r.map_err(Some)))
        });
        let (org, my_role, result) = match added {
            // Two administrators adding the same user at once: the unique index decides.
            Err(AppError::Conflict(_)) => {
                let (org, my_role) = org_for(c, &name, &u, OrgAction::Manage)?;
                (org, my_role, Err(Some(MemberError::AlreadyMember)))
            }
            other => other?,
        };
        match result {
            Ok(added) => Ok(Ok((org.username, added))),
            Err(e) => {
                let members = orgs::members(c, &org, "", 1)?;
                let nav = orgs::nav_orgs(c, u.id)?;
                Ok(Err((org, my_role, members, nav, e)))
            }
        }
    })
    .await?;
    match outcome {
        Ok((org, added)) => {
            flash_success(&session, format!("{added} is now a member of {org}."));
            Ok(redirect(&format!("/{org}/settings/members")))
        }
        Err((org, my_role, members, nav, e)) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "username",
                e.map_or_else(
                    || "Type the username of the user to add.".to_string(),
                    |e| e.message(&org.username),
                ),
            );
            let ctx = Layout::new(
                &session,
                Some(&user),
                nav,
                format!("Members · {}", org.username),
            );
            invalid(&manage_members_page(
                ctx,
                org,
                my_role,
                members,
                &ListQuery::default(),
                (username, role, default),
                errors,
                user.id,
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct UpdateMemberForm {
    role: String,
    default_role: String,
}

/// `POST /{org}/settings/members/{user}`: change the organization role and the default role.
pub async fn update_member(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String)>,
    form: web::Form<UpdateMemberForm>,
) -> Result<HttpResponse, AppError> {
    let (role, default) = parse_roles(&form.role, &form.default_role)?;
    let (org_name, member) = path.into_inner();
    let u = user.clone();
    let (org, result) = run_db(&state, move |c| {
        write_tx(c, |c| {
            let (org, _) = org_for(c, &org_name, &u, OrgAction::Manage)?;
            let target = member_id(c, org.id, &member)?;
            let r = orgs::update_member(c, org.id, &actor(&u), target, role, default)?;
            Ok::<_, AppError>((org.username, r))
        })
    })
    .await?;
    match result {
        Ok(()) => flash_success(&session, "The member was updated."),
        Err(e) => flash_error(&session, e.message(&org)),
    }
    Ok(redirect(&format!("/{org}/settings/members")))
}

/// The user id of a member by name; 404 when there is no such member.
fn member_id(c: &mut DbConn, org_id: i32, username: &str) -> Result<i32, AppError> {
    use crate::schema::memberships;
    use diesel::prelude::*;
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::username_key.eq(accounts::name_key(username)))
        .select(memberships::user_id)
        .first(c)
        .optional()?
        .ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    ctx: Layout,
    heading: String,
    message: String,
    action: String,
    button: String,
    cancel: String,
}

/// `GET /{org}/settings/members/{user}/remove`: the confirmation.
pub async fn confirm_remove(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (org_name, member) = path.into_inner();
    let u = user.clone();
    let (org, member, nav) = run_db(&state, move |c| {
        let (org, _) = org_for(c, &org_name, &u, OrgAction::Manage)?;
        let id = member_id(c, org.id, &member)?;
        let name = accounts::profile(c, id)?.username;
        Ok((org.username, name, orgs::nav_orgs(c, u.id)?))
    })
    .await?;
    ok(&ConfirmPage {
        ctx: Layout::new(&session, Some(&user), nav, "Remove member"),
        heading: format!("Remove {member} from {org}?"),
        message: format!("{member} will lose access to {org} and to every dataset of {org} they collaborate on. The audit log keeps a record."),
        action: format!("/{org}/settings/members/{member}/remove"),
        button: "Remove member".into(),
        cancel: format!("/{org}/settings/members"),
    })
}

pub async fn remove_member(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (org_name, member) = path.into_inner();
    let u = user.clone();
    let (org, result) = run_db(&state, move |c| {
        write_tx(c, |c| {
            let (org, _) = org_for(c, &org_name, &u, OrgAction::Manage)?;
            let target = member_id(c, org.id, &member)?;
            let r = orgs::remove_member(c, org.id, &actor(&u), target)?;
            Ok::<_, AppError>((org.username, r))
        })
    })
    .await?;
    match result {
        Ok(name) if name.eq_ignore_ascii_case(&user.username) => {
            flash_success(&session, format!("You removed yourself from {org}."));
            Ok(redirect("/"))
        }
        Ok(name) => {
            flash_success(&session, format!("{name} was removed from {org}."));
            Ok(redirect(&format!("/{org}/settings/members")))
        }
        Err(e) => {
            flash_error(&session, e.message(&org));
            Ok(redirect(&format!("/{org}/settings/members")))
        }
    }
}

// ---- Audit log (administrators) ----

#[derive(Template)]
#[template(path = "orgs/audit.html")]
struct AuditPage {
    ctx: Layout,
    org: Org,
    role: OrgRole,
    tab: &'static str,
    subtab: &'static str,
    events: Page<AuditRow>,
    pager_suffix: String,
}

pub async fn audit_log(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (u, page) = (user.clone(), query.page());
    let (org, role, events, nav) = run_db(&state, move |c| {
        let (org, role) = org_for(c, &path, &u, OrgAction::Manage)?;
        let events = audit::list(c, org.id, page)?;
        Ok((org, role, events, orgs::nav_orgs(c, u.id)?))
    })
    .await?;
    ok(&AuditPage {
        ctx: Layout::new(
            &session,
            Some(&user),
            nav,
            format!("Audit log · {}", org.username),
        ),
        org,
        role,
        tab: "settings",
        subtab: "audit",
        events,
        pager_suffix: String::new(),
    })
}

// ---- The user's Organizations tab ----

#[derive(Template)]
#[template(path = "settings/organizations.html")]
struct MyOrgsPage {
    ctx: Layout,
    tab: &'static str,
    orgs: Vec<UserOrg>,
}

pub async fn my_orgs(
    state: State,
    session: Session,
    user: SessionUser,
) -> Result<HttpResponse, AppError> {
    let uid = user.id;
    let (list, nav) = run_db(&state, move |c| {
        Ok((orgs::user_orgs(c, uid)?, orgs::nav_orgs(c, uid)?))
    })
    .await?;
    ok(&MyOrgsPage {
        ctx: Layout::new(&session, Some(&user), nav, "Organizations"),
        tab: "organizations",
        orgs: list,
    })
}

pub async fn confirm_leave(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let u = user.clone();
    let (org, last, nav) = run_db(&state, move |c| {
        let (org, role) = org_for(c, &path, &u, OrgAction::View)?;
        let last = orgs::is_last_admin(c, org.id, role)?;
        Ok((org.username, last, orgs::nav_orgs(c, u.id)?))
    })
    .await?;
    let ctx = Layout::new(&session, Some(&user), nav, "Leave organization");
    if last {
        // Say it before the click: the last administrator cannot leave (SPEC 4.1).
        return ok(&ConfirmPage {
            ctx,
            heading: format!("You cannot leave {org} yet"),
            message: MemberError::LastAdmin.message(&org),
            action: String::new(),
            button: String::new(),
            cancel: "/settings/organizations".into(),
        });
    }
    ok(&ConfirmPage {
        ctx,
        heading: format!("Leave {org}?"),
        message: format!("You will lose access to {org} and to its datasets. An administrator can add you again."),
        action: format!("/settings/organizations/{org}/leave"),
        button: "Leave organization".into(),
        cancel: "/settings/organizations".into(),
    })
}

pub async fn leave(
    state: State,
    session: Session,
    user: SessionUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let u = user.clone();
    let (org, result) = run_db(&state, move |c| {
        write_tx(c, |c| {
            let (org, _) = org_for(c, &path, &u, OrgAction::View)?;
            let r = orgs::remove_member(c, org.id, &actor(&u), u.id)?;
            Ok::<_, AppError>((org.username, r))
        })
    })
    .await?;
    match result {
        Ok(_) => flash_success(&session, format!("You left {org}.")),
        Err(MemberError::LastAdmin) => flash_error(
            &session,
            format!("You cannot leave {org}: you are its last administrator. Make another member an administrator first, or delete the organization in its settings."),
        ),
        Err(e) => flash_error(&session, e.message(&org)),
    }
    Ok(redirect("/settings/organizations"))
}
