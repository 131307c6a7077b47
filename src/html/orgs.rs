//! Organizations: create, the account page's tabs, settings, the Members subtab, the audit
//! log, and leaving from the user's own settings.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::app::invitations::{self as inv_uc, EmailState, Invite, ManageInvitation, Pending};
use crate::app::orgs::{
    self as uc, AddMember, BulkChange, ChangeMember, CreateOrg, DeleteOrg, FindMembers, Leave,
    Paging, RemoveMember, SetMemberPolicy, UpdateOrgSettings,
};
use crate::app::{Conflict, DomainError, FieldErrors, Principal};
use crate::db::write_tx;
use crate::domain::roles::{
    default_role_choices, default_role_label, parse_default_role, DatasetRole, OrgRole, RoleFilter,
    DEFAULT_FOR_NEW_MEMBERS,
};
use crate::html::error::HtmlError;
use crate::html::layout::{
    flash_error, flash_marking, flash_success, form_errors, invalid, ok, redirect, Layout,
};
use crate::html::{ListQuery, MemberQuery, State};
use crate::models::audit::AuditRow;
use crate::models::datasets::DatasetSummary;
use crate::models::invitations::Received;
use crate::models::orgs::{Member, Nav, Org, UserOrg};
use crate::models::Page;

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
    user: Principal,
) -> Result<HttpResponse, HtmlError> {
    let nav = state.menu().await?;
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
    user: Principal,
    form: web::Form<NewOrgForm>,
) -> Result<HttpResponse, HtmlError> {
    let form = form.into_inner();
    let cmd = CreateOrg {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
    };
    let p = user.clone();
    let outcome = state
        .run(move |c| match write_tx(c, |tx| uc::create(tx, &p, cmd)) {
            Ok(name) => Ok(Ok(name)),
            Err(e) => {
                let errors = form_errors(e, |e| {
                    matches!(e, DomainError::Conflict(Conflict::NameTaken))
                        .then(|| ("username", e.message()))
                })?;
                Ok(Err(errors))
            }
        })
        .await?;
    match outcome {
        Ok(name) => {
            flash_success(
                &session,
                format!("Welcome to {name}, your new organization. Add members from Settings → Members."),
            );
            Ok(redirect(&format!("/{name}")))
        }
        Err(errors) => invalid(&NewOrgPage {
            ctx: Layout::new(&session, Some(&user), state.nav(), "New organization"),
            username: form.username.trim().to_string(),
            display_name: form.display_name.trim().to_string(),
            errors,
        }),
    }
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
    pub list: crate::html::DatasetList,
}

#[derive(Template)]
#[template(path = "orgs/members.html")]
struct MembersPage {
    ctx: Layout,
    org: Org,
    role: OrgRole,
    tab: &'static str,
    members: Page<Member>,
    list: MemberList,
}

/// The search, the role filter and the pager of a member list.
pub(crate) struct MemberList {
    q: String,
    filter: RoleFilter,
    /// The filters the caller may use (by default dataset role: administrators only).
    filters: Vec<RoleFilter>,
    pager_suffix: String,
}

impl MemberList {
    fn new(query: &MemberQuery, filter: RoleFilter, admin: bool) -> Self {
        MemberList {
            q: query.search(),
            filter,
            filters: RoleFilter::choices()
                .into_iter()
                .filter(|f| admin || !f.is_by_default_role())
                .collect(),
            pager_suffix: query.pager_suffix(),
        }
    }

    /// "10,000 members", "1 administrator", "3 members matching “ann”".
    fn summary(&self, total: &i64) -> String {
        let n = crate::html::layout::thousands(total);
        let noun = match (self.filter, *total == 1) {
            (RoleFilter::Org(OrgRole::Admin), true) => "administrator",
            (RoleFilter::Org(OrgRole::Admin), false) => "administrators",
            (_, true) => "member",
            (_, false) => "members",
        };
        let mut s = format!("{n} {noun}");
        if let RoleFilter::Default(d) = self.filter {
            s.push_str(&format!(
                " with default dataset role {}",
                default_role_label(d)
            ));
        }
        if !self.q.is_empty() {
            s.push_str(&format!(" matching “{}”", self.q));
        }
        s
    }

    fn is_filtered(&self) -> bool {
        !self.q.is_empty() || self.filter != RoleFilter::Any
    }

    /// The pager of `members` at `base`: unfiltered, its links say where this page began
    /// and ended, so a nearby page is read from there (keyset under the numbered pages).
    fn pager(&self, base: String, members: &Page<Member>) -> crate::html::layout::Pager {
        let ends = match (
            self.is_filtered(),
            members.items.first(),
            members.items.last(),
        ) {
            (false, Some(first), Some(last)) => Some((
                crate::domain::names::name_key(&first.username),
                crate::domain::names::name_key(&last.username),
            )),
            _ => None,
        };
        crate::html::layout::Pager::new(base, members.page, members.pages(), &self.pager_suffix)
            .with_ends(ends)
    }
}

impl MembersPage {
    fn pager(&self) -> crate::html::layout::Pager {
        self.list.pager(self.org.path("/members"), &self.members)
    }
}

pub async fn members(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    query: web::Query<MemberQuery>,
) -> Result<HttpResponse, HtmlError> {
    let (p, name, page, wanted) = (user.clone(), path.into_inner(), query.page(), query.find()?);
    let filter = wanted.role;
    let view = state
        .run(move |c| uc::members(c, &p, &name, wanted, Paging::html(page)))
        .await?;
    let list = MemberList::new(&query, filter, view.shows_default_roles);
    ok(&MembersPage {
        ctx: Layout::new(
            &session,
            Some(&user),
            state.nav(),
            format!("Members · {}", view.org.username),
        ),
        org: view.org,
        role: view.role,
        tab: "members",
        members: view.members,
        list,
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
    user: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let (org, role) = state.run(move |c| uc::settings(c, &p, &path)).await?;
    let ctx = Layout::new(
        &session,
        Some(&user),
        state.nav(),
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
    #[serde(default)]
    member_policy: String,
}

pub async fn update_settings(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, HtmlError> {
    let form = form.into_inner();
    let deleting = match form.action.as_str() {
        "update" => false,
        "delete" => true,
        "policy" => {
            let invite_only = match form.member_policy.as_str() {
                "invite" => true,
                "direct" => false,
                _ => return Err(HtmlError::bad_request("Unknown member policy.")),
            };
            let p = user.clone();
            let cmd = SetMemberPolicy {
                org: path.into_inner(),
                invite_only,
            };
            let name = state
                .run(move |c| write_tx(c, |tx| uc::set_member_policy(tx, &p, cmd)))
                .await?;
            flash_success(&session, "How members join was saved.");
            return Ok(redirect(&format!("/{name}/settings")));
        }
        _ => return Err(HtmlError::bad_request("Unknown settings action.")),
    };
    let (p, name) = (user.clone(), path.into_inner());
    let (display_name, description, contact_email, confirm) = (
        form.display_name.clone(),
        form.description.clone(),
        form.contact_email.clone(),
        form.confirm.clone(),
    );
    let outcome = state
        .run(move |c| {
            let done = write_tx(c, |tx| {
                if deleting {
                    uc::delete(
                        tx,
                        &p,
                        DeleteOrg {
                            org: name.clone(),
                            confirm,
                        },
                    )
                } else {
                    let cmd = UpdateOrgSettings {
                        org: name.clone(),
                        display_name,
                        description,
                        contact_email,
                    };
                    uc::update_settings(tx, &p, cmd)
                }
            });
            match done {
                Ok(org) => Ok(Ok(org)),
                Err(e) => {
                    let errors = form_errors(e, |_| None)?;
                    let (org, role) = uc::settings(c, &p, &name)?;
                    Ok(Err((org, role, errors)))
                }
            }
        })
        .await?;
    match outcome {
        Ok(name) if deleting => {
            flash_success(&session, format!("The organization {name} was deleted."));
            Ok(redirect("/"))
        }
        Ok(name) => {
            flash_success(&session, "The organization's settings were saved.");
            Ok(redirect(&format!("/{name}/settings")))
        }
        Err((org, role, errors)) => {
            let ctx = Layout::new(
                &session,
                Some(&user),
                state.nav(),
                format!("Settings · {}", org.username),
            );
            let mut page = SettingsPage::new(ctx, org, role);
            page.errors = errors;
            if !deleting {
                page.display_name = form.display_name.trim().to_string();
                page.description = form.description.trim().to_string();
                page.contact_email = form.contact_email.trim().to_string();
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
    invitations: Vec<Pending>,
    list: MemberList,
    forms: MemberForms,
    org_roles: &'static [OrgRole],
    default_roles: Vec<Option<DatasetRole>>,
    me: i32,
    /// The organization's administrators, for [`ManageMembersPage::is_last_admin`].
    admins: i64,
    /// The member added or changed just now, marked in the list (`?highlight=`).
    highlight: String,
    bulk_changes: Vec<BulkChange>,
}

/// What the two forms of the Members subtab hold: "Invite" and "Add member" (their input
/// kept when shown again with errors).
struct MemberForms {
    invitee: String,
    invite_role: OrgRole,
    invite_default: Option<DatasetRole>,
    add_username: String,
    add_role: OrgRole,
    add_default: Option<DatasetRole>,
    errors: FieldErrors,
}

impl Default for MemberForms {
    /// Organization role Member and the domain's default dataset role preselected.
    fn default() -> Self {
        MemberForms {
            invitee: String::new(),
            invite_role: OrgRole::Member,
            invite_default: DEFAULT_FOR_NEW_MEMBERS,
            add_username: String::new(),
            add_role: OrgRole::Member,
            add_default: DEFAULT_FOR_NEW_MEMBERS,
            errors: FieldErrors::default(),
        }
    }
}

/// The `<option>`s of a select, one list per choice with that choice `selected`: for the
/// rows of the Members subtab, which would otherwise write three escaped expressions per
/// option, eight options a row, 50 rows a page (most of the page's rendering). The values
/// and labels are the domain's constants, escaped here all the same.
fn option_lists<K: Copy>(choices: &[(K, &'static str, &'static str)]) -> Vec<(K, String)> {
    let escape = |s: &str| {
        askama::filters::escape(s, askama::filters::Html)
            .expect("escaping cannot fail")
            .to_string()
    };
    choices
        .iter()
        .enumerate()
        .map(|(selected, (key, _, _))| {
            let html = choices
                .iter()
                .enumerate()
                .map(|(i, (_, value, label))| {
                    let sel = if i == selected { " selected" } else { "" };
                    format!(
                        r#"<option value="{}"{sel}>{}</option>"#,
                        escape(value),
                        escape(label)
                    )
                })
                .collect();
            (*key, html)
        })
        .collect()
}

/// The organization roles' options, once per role selected.
static ORG_ROLE_OPTIONS: std::sync::LazyLock<Vec<(OrgRole, String)>> =
    std::sync::LazyLock::new(|| {
        let choices: Vec<_> = OrgRole::ALL
            .iter()
            .map(|r| (*r, r.as_str(), r.label()))
            .collect();
        option_lists(&choices)
    });

/// The default dataset roles' options ("None" last), once per role selected.
static DEFAULT_ROLE_OPTIONS: std::sync::LazyLock<Vec<(Option<DatasetRole>, String)>> =
    std::sync::LazyLock::new(|| {
        let choices: Vec<_> = default_role_choices()
            .into_iter()
            .map(|r| {
                (
                    r,
                    crate::domain::roles::default_role_value(r),
                    default_role_label(r),
                )
            })
            .collect();
        option_lists(&choices)
    });

/// The options of `lists` with `key` selected.
fn options_for<K: PartialEq>(lists: &'static [(K, String)], key: &K) -> &'static str {
    lists
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, html)| html.as_str())
}

impl ManageMembersPage {
    /// The organization role select's options of a row (HTML, see [`option_lists`]).
    fn org_role_options(&self, role: &OrgRole) -> &'static str {
        options_for(&ORG_ROLE_OPTIONS, role)
    }

    /// The default dataset role select's options of a row (HTML, see [`option_lists`]).
    fn default_role_options(&self, role: &Option<DatasetRole>) -> &'static str {
        options_for(&DEFAULT_ROLE_OPTIONS, role)
    }

    fn pager(&self) -> crate::html::layout::Pager {
        self.list
            .pager(self.org.path("/settings/members"), &self.members)
    }

    fn default_value(&self, r: &Option<DatasetRole>) -> &'static str {
        crate::domain::roles::default_role_value(*r)
    }

    fn default_label(&self, r: &Option<DatasetRole>) -> &'static str {
        default_role_label(*r)
    }

    /// The use cases' rule (SPEC 4.1): the last administrator's demotion and removal are
    /// shown disabled, with the ways out.
    fn is_last_admin(&self, m: &Member) -> bool {
        crate::domain::roles::is_last_admin(m.role, self.admins)
    }

    fn highlighted(&self, m: &Member) -> bool {
        m.username.eq_ignore_ascii_case(&self.highlight)
    }
}

/// The Members subtab's data: a page of members and the pending invitations.
type ManageData = (Org, OrgRole, Page<Member>, Vec<Pending>, i64);

fn manage_data(
    c: &mut crate::db::DbConn,
    p: &Principal,
    name: &str,
    wanted: FindMembers,
    page: i64,
) -> Result<ManageData, DomainError> {
    let view = uc::managed_members(c, p, name, wanted, Paging::html(page))?;
    let (org, role, members, admins) = (view.org, view.role, view.members, view.admins);
    let invitations = crate::app::invitations::pending(c, &org)?;
    Ok((org, role, members, invitations, admins))
}

fn manage_members_page(
    session: &Session,
    user: &Principal,
    nav: Nav,
    (org, role, members, invitations, admins): ManageData,
    query: &MemberQuery,
    forms: MemberForms,
) -> ManageMembersPage {
    // Not the Members tab's title: this is the subtab of Settings.
    let ctx = Layout::new(
        session,
        Some(user),
        nav,
        format!("Manage members · Settings · {}", org.username),
    );
    // The member just added or changed: named by the flash, or by `?highlight=`.
    let highlight = match &ctx.flash {
        Some(f) if !f.mark.is_empty() => f.mark.clone(),
        _ => query.highlight(),
    };
    ManageMembersPage {
        ctx,
        org,
        role,
        tab: "settings",
        subtab: "members",
        members,
        invitations,
        list: MemberList::new(query, query.role().unwrap_or_default(), true),
        forms,
        org_roles: OrgRole::ALL,
        default_roles: default_role_choices(),
        me: user.user_id,
        admins,
        highlight,
        bulk_changes: BulkChange::choices(),
    }
}

pub async fn manage_members(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    query: web::Query<MemberQuery>,
) -> Result<HttpResponse, HtmlError> {
    let (p, name, page, wanted) = (user.clone(), path.into_inner(), query.page(), query.find()?);
    let data = state
        .run(move |c| manage_data(c, &p, &name, wanted, page))
        .await?;
    ok(&manage_members_page(
        &session,
        &user,
        state.nav(),
        data,
        &query,
        MemberForms::default(),
    ))
}

#[derive(Deserialize)]
pub struct AddMemberForm {
    #[serde(default)]
    username: String,
    role: String,
    default_role: String,
}

fn parse_roles(
    role: &str,
    default_role: &str,
) -> Result<(OrgRole, Option<DatasetRole>), HtmlError> {
    let role =
        OrgRole::parse(role).ok_or_else(|| HtmlError::bad_request("Unknown organization role."))?;
    let default = parse_default_role(default_role)
        .ok_or_else(|| HtmlError::bad_request("Unknown default dataset role."))?;
    Ok((role, default))
}

pub async fn add_member(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    form: web::Form<AddMemberForm>,
) -> Result<HttpResponse, HtmlError> {
    let (role, default_role) = parse_roles(&form.role, &form.default_role)?;
    let username = form.username.trim().to_string();
    let (p, name) = (user.clone(), path.into_inner());
    let cmd = AddMember {
        org: name.clone(),
        username: username.clone(),
        role,
        default_role,
    };
    let outcome = state
        .run(
            move |c| match write_tx(c, |tx| uc::add_member(tx, &p, cmd)) {
                Ok(added) => Ok(Ok(added)),
                Err(e) => {
                    // The user to add is unknown, an organization or already a member: said
                    // beside the field.
                    let errors = form_errors(e, |e| {
                        matches!(
                            e,
                            DomainError::UnknownUser
                                | DomainError::IsOrganization(_)
                                | DomainError::Conflict(Conflict::AlreadyMember { .. })
                        )
                        .then(|| ("username", e.message()))
                    })?;
                    Ok(Err((
                        manage_data(c, &p, &name, FindMembers::default(), 1)?,
                        errors,
                    )))
                }
            },
        )
        .await?;
    match outcome {
        Ok(added) => {
            flash_marking(
                &session,
                &added.username,
                format!(
                    "{} is now a member of {}. Organization role {}, default dataset role {}.",
                    added.username,
                    added.org,
                    added.role.label(),
                    default_role_label(added.default_role)
                ),
            );
            Ok(redirect(&format!("/{}/settings/members", added.org)))
        }
        Err((data, errors)) => invalid(&manage_members_page(
            &session,
            &user,
            state.nav(),
            data,
            &MemberQuery::default(),
            MemberForms {
                add_username: username,
                add_role: role,
                add_default: default_role,
                errors,
                ..MemberForms::default()
            },
        )),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    invitee: String,
    role: String,
    default_role: String,
}

/// `POST /{org}/settings/members/invitations`: "Invite by email or username".
pub async fn invite(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, HtmlError> {
    let (role, default_role) = parse_roles(&form.role, &form.default_role)?;
    let invitee = form.invitee.trim().to_string();
    let (p, name, m) = (user.clone(), path.into_inner(), state.mailing());
    let cmd = Invite {
        org: name.clone(),
        invitee: invitee.clone(),
        role,
        default_role,
    };
    let outcome = state
        .run(
            move |c| match write_tx(c, |tx| inv_uc::invite(tx, &p, &m, cmd)) {
                Ok(done) => Ok(Ok(done)),
                Err(e) => {
                    // Who cannot be invited, and the daily limit, are said beside the field.
                    let errors = form_errors(e, |e| {
                        matches!(
                            e,
                            DomainError::UnknownUser
                                | DomainError::IsOrganization(_)
                                | DomainError::Conflict(
                                    Conflict::AlreadyMember { .. }
                                        | Conflict::AlreadyInvited { .. }
                                )
                                | DomainError::InvitationLimit { .. }
                        )
                        .then(|| ("invitee", e.message()))
                    })?;
                    Ok(Err((
                        manage_data(c, &p, &name, FindMembers::default(), 1)?,
                        errors,
                    )))
                }
            },
        )
        .await?;
    match outcome {
        Ok(done) => {
            let how = if done.emailed {
                "We are emailing the invitation."
            } else {
                "They have no verified email address, so they will see it on their dashboard."
            };
            flash_success(
                &session,
                format!("{} was invited to {}. {how}", done.addressee, done.org),
            );
            Ok(redirect(&format!("/{}/settings/members", done.org)))
        }
        Err((data, errors)) => invalid(&manage_members_page(
            &session,
            &user,
            state.nav(),
            data,
            &MemberQuery::default(),
            MemberForms {
                invitee,
                invite_role: role,
                invite_default: default_role,
                errors,
                ..MemberForms::default()
            },
        )),
    }
}

#[derive(Deserialize)]
pub struct ManageInvitationForm {
    action: String,
}

/// `POST /{org}/settings/members/invitations/{id}`: `action=resend` or `action=cancel`.
pub async fn manage_invitation(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, i32)>,
    form: web::Form<ManageInvitationForm>,
) -> Result<HttpResponse, HtmlError> {
    let (org, id) = path.into_inner();
    let resend = match form.action.as_str() {
        "resend" => true,
        "cancel" => false,
        _ => return Err(HtmlError::bad_request("Unknown invitation action.")),
    };
    let (p, m) = (user.clone(), state.mailing());
    let cmd = ManageInvitation {
        org: org.clone(),
        id,
    };
    let result = state
        .run(move |c| {
            Ok(write_tx(c, |tx| {
                if resend {
                    inv_uc::resend(tx, &p, &m, cmd).map(|d| (d.org, d.addressee))
                } else {
                    inv_uc::cancel(tx, &p, cmd)
                }
            }))
        })
        .await?;
    match result {
        Ok((org, who)) => {
            let text = if resend {
                format!("The invitation of {who} was sent again, with a new link valid for another {} days.", state.mailing().invitation_ttl.num_days())
            } else {
                format!("The invitation of {who} was cancelled; its link no longer works.")
            };
            flash_success(&session, text);
            Ok(redirect(&format!("/{org}/settings/members")))
        }
        Err(e @ (DomainError::InvitationLimit { .. } | DomainError::InvitationClosed(_))) => {
            flash_error(&session, e.message());
            Ok(redirect(&format!("/{org}/settings/members")))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct UpdateMemberForm {
    role: String,
    default_role: String,
    /// "yes" once an administrator demoting themselves has confirmed it.
    #[serde(default)]
    confirm: String,
    /// The list the row was on (its page, search and filter), to go back to.
    #[serde(default)]
    back_page: Option<i64>,
    #[serde(default)]
    back_q: String,
    #[serde(default)]
    back_role: String,
}

/// What `update_member` answers a script (`Accept: application/json`): the row's new roles
/// and the line that confirms it, or why nothing changed.
#[derive(serde::Serialize)]
struct RowAnswer {
    ok: bool,
    /// Not saved: the change needs a confirmation page (demoting yourself).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    confirm: bool,
    message: String,
    role: Option<&'static str>,
    default_role: Option<&'static str>,
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// `POST /{org}/settings/members/{user}`: change the organization role and the default role.
/// Without JavaScript it goes back to the same page of the list with the change said in a
/// message; a script (asking for JSON) gets the same line to show in the row.
pub async fn update_member(
    state: State,
    session: Session,
    user: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<UpdateMemberForm>,
) -> Result<HttpResponse, HtmlError> {
    let (role, default_role) = parse_roles(&form.role, &form.default_role)?;
    let back_filter = RoleFilter::parse(form.back_role.trim()).unwrap_or_default();
    let back = MemberQuery::new(form.back_page.unwrap_or(1), &form.back_q, back_filter);
    let (org, member) = path.into_inner();
    let p = user.clone();
    let cmd = ChangeMember {
        org: org.clone(),
        member: member.clone(),
        role: Some(role),
        default_role: Some(default_role),
    };
    let demotes_self = cmd.demotes_caller(&user);
    let json = wants_json(&req);
    let confirmed = form.confirm == "yes";
    // Ask first: without the administrator role the Settings are gone. (The last
    // administrator is not asked: the change is refused below and says why.)
    let ask = if demotes_self && !confirmed {
        let (p, org, member) = (p.clone(), org.clone(), member.clone());
        let (org, _, last) = state
            .run(move |c| uc::remove_preview(c, &p, &org, &member))
            .await?;
        Some((org, last))
    } else {
        None
    };
    if let (Some((_, false)), true) = (&ask, json) {
        // A script's in-place save sends the ordinary form instead, which asks.
        return Ok(HttpResponse::Ok().json(RowAnswer {
            ok: false,
            confirm: true,
            message: "Confirm first: you would stop being an administrator.".into(),
            role: None,
            default_role: None,
        }));
    }
    if let (Some((org, last)), false) = (ask, json) {
        let ctx = Layout::new(
            &session,
            Some(&user),
            state.nav(),
            "Stop being an administrator",
        );
        if last {
            return ok(&last_admin_page(
                ctx,
                &org,
                "You cannot stop being an administrator",
            ));
        }
        return ok(&ConfirmPage {
            ctx,
            heading: format!("Stop being an administrator of {org}?"),
            message: format!("You will become a {} of {org}: you will no longer see its settings, manage its members or administer its datasets. Another administrator can make you one again.", role.label()),
            action: format!("/{org}/settings/members/{}", user.username),
            button: format!("Become a {}", role.label()),
            cancel: format!("/{org}/settings/members{}", back.back()),
            fields: vec![
                ("role", role.as_str().to_string()),
                ("default_role", crate::domain::roles::default_role_value(default_role).to_string()),
                ("confirm", "yes".to_string()),
            ],
            ways_out: Vec::new(),
        });
    }
    let result = state
        .run(move |c| Ok(write_tx(c, |tx| uc::change_member(tx, &p, cmd))))
        .await?;
    let (org, answer) = match result {
        Ok(changed) if demotes_self && !json => {
            flash_success(
                &session,
                format!(
                    "You are now a {} of {}, no longer an administrator.",
                    changed.now.role.label(),
                    changed.org
                ),
            );
            return Ok(redirect(&format!("/{}", changed.org)));
        }
        Ok(changed) => {
            let answer = RowAnswer {
                ok: true,
                confirm: false,
                message: changed.summary(),
                role: Some(changed.now.role.as_str()),
                default_role: Some(crate::domain::roles::default_role_value(
                    changed.now.default_role,
                )),
            };
            if !json {
                // The row is marked on the page the redirect goes back to.
                flash_marking(&session, &changed.now.username, answer.message.clone());
            }
            (changed.org, answer)
        }
        Err(DomainError::LastAdmin { org }) => {
            let message = DomainError::LastAdmin { org: org.clone() }.message();
            let answer = RowAnswer {
                ok: false,
                confirm: false,
                message,
                role: None,
                default_role: None,
            };
            (org, answer)
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        // 200 either way: the row shows `message`; `ok` says whether it was saved.
        return Ok(HttpResponse::Ok().json(answer));
    }
    if !answer.ok {
        flash_error(&session, answer.message);
    }
    Ok(redirect(&format!("/{org}/settings/members{}", back.back())))
}

/// `GET /{org}/settings/members.csv`: every member as CSV (administrators).
pub async fn export_members(
    state: State,
    user: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let (org, rows) = state.run(move |c| uc::export_members(c, &p, &path)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{org}-members.csv\""),
        ))
        .body(uc::members_csv(&rows)))
}

// ---- Bulk changes (administrators) ----

/// What a bulk form sends: the ticked members (`m`, repeated), the change, and whether it
/// is for every member matching the list's search and filter (`all=1`, with `q`, `role`).
#[derive(Default)]
struct BulkFields {
    members: Vec<String>,
    change: Option<BulkChange>,
    all: bool,
    q: Option<String>,
    role: Option<String>,
}

/// The fields of a bulk form, from its pairs (a form or a query string as a list of pairs:
/// serde's structs take no repeated fields).
fn bulk_fields(pairs: Vec<(String, String)>) -> Result<BulkFields, HtmlError> {
    if pairs.len() > uc::MAX_BULK * 10 {
        return Err(HtmlError::bad_request("Too many members selected."));
    }
    let mut f = BulkFields::default();
    for (k, v) in pairs {
        let once = |slot: &Option<String>| {
            if slot.is_some() {
                Err(HtmlError::bad_request(format!("duplicate field `{k}`")))
            } else {
                Ok(())
            }
        };
        match k.as_str() {
            "m" => f.members.push(v),
            "change" if f.change.is_some() => {
                return Err(HtmlError::bad_request("duplicate field `change`"));
            }
            "change" => {
                f.change = Some(
                    BulkChange::parse(&v)
                        .ok_or_else(|| HtmlError::bad_request("Unknown change."))?,
                )
            }
            "all" => f.all = v == "1",
            "q" => {
                once(&f.q)?;
                f.q = Some(v);
            }
            "role" => {
                once(&f.role)?;
                f.role = Some(v);
            }
            _ => {}
        }
    }
    Ok(f)
}

/// The members a bulk form or query names (`m`, repeated), for the pages that take only them.
pub(crate) fn selected_members(pairs: Vec<(String, String)>) -> Result<Vec<String>, HtmlError> {
    Ok(bulk_fields(pairs)?.members)
}

/// A selection the use case refused (none, or too many): back to `back` with its reason.
pub(crate) fn selection_refused(
    session: &Session,
    errors: &FieldErrors,
    back: &str,
) -> HttpResponse {
    flash_error(
        session,
        errors.get("members").unwrap_or("Select members first."),
    );
    redirect(back)
}

/// The bulk change a form or a query asks for on `org`.
fn bulk_command(org: &str, pairs: Vec<(String, String)>) -> Result<uc::BulkMembers, HtmlError> {
    let f = bulk_fields(pairs)?;
    // The form's menu always sends one: without it the request was not made by the page.
    let change = f
        .change
        .ok_or_else(|| HtmlError::bad_request("Choose a change."))?;
    let matching = if f.all {
        let role = RoleFilter::parse(f.role.as_deref().unwrap_or("").trim())
            .ok_or_else(|| HtmlError::bad_request("Unknown role filter."))?;
        Some(FindMembers {
            text: f.q.unwrap_or_default(),
            role,
            cursor: None,
        })
    } else {
        None
    };
    Ok(uc::BulkMembers {
        org: org.to_string(),
        members: f.members,
        change,
        matching,
    })
}

#[derive(Template)]
#[template(path = "orgs/bulk_confirm.html")]
struct BulkConfirmPage {
    ctx: Layout,
    heading: String,
    plan: uc::BulkPlan,
    refused: Option<String>,
    cancel: String,
    /// For "every member matching": the search and the role filter (its value), resent by
    /// the Apply form so the change reads them again under the lock.
    matching: Option<(String, String)>,
}

impl BulkConfirmPage {
    /// The changed members the page names one by one (the rest are counted).
    fn shown(&self) -> &[crate::models::orgs::Membership] {
        &self.plan.changes[..self.plan.changes.len().min(200)]
    }
}

/// `GET /{org}/settings/bulk-members?change=...&m=...`: what the change would do, to confirm.
pub async fn bulk_confirm(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    let org = path.into_inner();
    let cmd = bulk_command(&org, query.into_inner())?;
    if cmd.change == BulkChange::ApplyDefaults && cmd.matching.is_some() {
        return Err(HtmlError::bad_request(
            "Default roles are applied to the members ticked on the page, at most 100 at once.",
        ));
    }
    if cmd.change == BulkChange::ApplyDefaults {
        // Its preview lists collaborator entries, not members: a page of its own.
        let mut q = form_urlencoded::Serializer::new(String::new());
        for m in &cmd.members {
            q.append_pair("m", m);
        }
        return Ok(redirect(&format!(
            "/{org}/settings/apply-defaults?{}",
            q.finish()
        )));
    }
    let change = cmd.change;
    let matching = cmd
        .matching
        .as_ref()
        .map(|f| (uc::search_text(&f.text), f.role.value()));
    let p = user.clone();
    let cancel = format!("/{org}/settings/members");
    let result = state
        .run(move |c| Ok(uc::bulk_preview(c, &p, &cmd)))
        .await?;
    let ctx = |title: &str| Layout::new(&session, Some(&user), state.nav(), title.to_string());
    match result {
        Ok(plan) => ok(&BulkConfirmPage {
            ctx: ctx("Change members"),
            heading: format!("{}?", plan.change.label()),
            plan,
            refused: None,
            cancel,
            matching,
        }),
        Err(e @ DomainError::LastAdmin { .. }) => ok(&BulkConfirmPage {
            ctx: ctx("Change members"),
            heading: format!("{}?", change.label()),
            plan: uc::BulkPlan {
                org,
                change,
                changes: Vec::new(),
                unchanged: Vec::new(),
                unknown: Vec::new(),
            },
            refused: Some(e.message()),
            cancel,
            matching: None,
        }),
        Err(DomainError::Invalid(errors)) => Ok(selection_refused(&session, &errors, &cancel)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /{org}/settings/bulk-members`: applies the confirmed change in one transaction.
pub async fn bulk_apply(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    let org = path.into_inner();
    let cmd = bulk_command(&org, form.into_inner())?;
    let p = user.clone();
    let result = state
        .run(move |c| Ok(write_tx(c, |tx| uc::bulk_apply(tx, &p, cmd))))
        .await?;
    match result {
        Ok(plan) => {
            let names: Vec<&str> = plan.changes.iter().map(|m| m.username.as_str()).collect();
            let shown = names
                .iter()
                .take(10)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            let more = if names.len() > 10 {
                format!(" and {} more", names.len() - 10)
            } else {
                String::new()
            };
            let n = names.len();
            let text = if n == 0 {
                "Nothing changed.".to_string()
            } else {
                format!(
                    "{}: {n} member{} ({shown}{more}).",
                    plan.change.label(),
                    if n == 1 { "" } else { "s" }
                )
            };
            flash_success(&session, text);
            let left = plan.change == BulkChange::Remove
                && plan.changes.iter().any(|m| m.user_id == user.user_id);
            if left {
                return Ok(redirect("/"));
            }
            Ok(redirect(&format!("/{}/settings/members", plan.org)))
        }
        Err(e @ DomainError::LastAdmin { .. }) => {
            flash_error(&session, e.message());
            Ok(redirect(&format!("/{org}/settings/members")))
        }
        Err(DomainError::Invalid(errors)) => Ok(selection_refused(
            &session,
            &errors,
            &format!("/{org}/settings/members"),
        )),
        Err(e) => Err(e.into()),
    }
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
    /// Hidden fields the confirmed form sends again.
    fields: Vec<(&'static str, String)>,
    /// When the action cannot be done: the links (address, text) to what can.
    ways_out: Vec<(String, String)>,
}

/// What the last administrator cannot do (SPEC 4.1), said with the ways out: make someone
/// else an administrator, or delete the organization.
fn last_admin_page(ctx: Layout, org: &str, heading: &str) -> ConfirmPage {
    ConfirmPage {
        ctx,
        heading: heading.to_string(),
        message: DomainError::LastAdmin {
            org: org.to_string(),
        }
        .message(),
        action: String::new(),
        button: String::new(),
        cancel: format!("/{org}/settings/members"),
        fields: Vec::new(),
        ways_out: last_admin_ways_out(org),
    }
}

fn last_admin_ways_out(org: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("/{org}/settings/members"),
            "Make another member an administrator".to_string(),
        ),
        (
            format!("/{org}/settings#delete-organization"),
            format!("Delete {org}"),
        ),
    ]
}

/// `GET /{org}/settings/members/{user}/remove`: the confirmation.
pub async fn confirm_remove(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HtmlError> {
    let (org, member) = path.into_inner();
    let p = user.clone();
    let (org, member, last) = state
        .run(move |c| uc::remove_preview(c, &p, &org, &member))
        .await?;
    let ctx = Layout::new(&session, Some(&user), state.nav(), "Remove member");
    if last {
        return ok(&last_admin_page(
            ctx,
            &org,
            &format!("{member} cannot be removed yet"),
        ));
    }
    ok(&ConfirmPage {
        ctx,
        heading: format!("Remove {member} from {org}?"),
        message: format!("{member} will lose access to {org} and to every dataset of {org} they collaborate on. The audit log keeps a record."),
        action: format!("/{org}/settings/members/{member}/remove"),
        button: "Remove member".into(),
        cancel: format!("/{org}/settings/members"),
        fields: Vec::new(),
        ways_out: Vec::new(),
    })
}

pub async fn remove_member(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HtmlError> {
    let (org, member) = path.into_inner();
    let p = user.clone();
    let cmd = RemoveMember { org, member };
    let result = state
        .run(move |c| Ok(write_tx(c, |tx| uc::remove_member(tx, &p, cmd))))
        .await?;
    match result {
        Ok(removed) if removed.was_self => {
            flash_success(
                &session,
                format!("You removed yourself from {}.", removed.org),
            );
            Ok(redirect("/"))
        }
        Ok(removed) => {
            flash_success(
                &session,
                format!("{} was removed from {}.", removed.username, removed.org),
            );
            Ok(redirect(&format!("/{}/settings/members", removed.org)))
        }
        Err(DomainError::LastAdmin { org }) => {
            flash_error(
                &session,
                DomainError::LastAdmin { org: org.clone() }.message(),
            );
            Ok(redirect(&format!("/{org}/settings/members")))
        }
        Err(e) => Err(e.into()),
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
    user: Principal,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, HtmlError> {
    let (p, page) = (user.clone(), query.page());
    let (org, role, events) = state
        .run(move |c| uc::audit_log(c, &p, &path, Paging::html(page)))
        .await?;
    ok(&AuditPage {
        ctx: Layout::new(
            &session,
            Some(&user),
            state.nav(),
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
    invitations: Vec<Received>,
    back: &'static str,
}

pub async fn my_orgs(
    state: State,
    session: Session,
    user: Principal,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let (list, invitations) = state
        .run(move |c| Ok((uc::mine(c, &p)?, inv_uc::received(c, &p)?)))
        .await?;
    ok(&MyOrgsPage {
        ctx: Layout::new(&session, Some(&user), state.nav(), "Organizations"),
        tab: "organizations",
        orgs: list,
        invitations,
        back: "/settings/organizations",
    })
}

pub async fn confirm_leave(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let (org, last) = state.run(move |c| uc::leave_preview(c, &p, &path)).await?;
    let ctx = Layout::new(&session, Some(&user), state.nav(), "Leave organization");
    if last {
        // Say it before the click: the last administrator cannot leave (SPEC 4.1).
        let mut page = last_admin_page(ctx, &org, &format!("You cannot leave {org} yet"));
        page.cancel = "/settings/organizations".into();
        return ok(&page);
    }
    ok(&ConfirmPage {
        ctx,
        heading: format!("Leave {org}?"),
        message: format!("You will lose access to {org} and to its datasets. An administrator can add you again."),
        action: format!("/settings/organizations/{org}/leave"),
        button: "Leave organization".into(),
        cancel: "/settings/organizations".into(),
        fields: Vec::new(),
        ways_out: Vec::new(),
    })
}

pub async fn leave(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    let p = user.clone();
    let cmd = Leave {
        org: path.into_inner(),
    };
    let result = state
        .run(move |c| Ok(write_tx(c, |tx| uc::leave(tx, &p, cmd))))
        .await?;
    match result {
        Ok(left) => flash_success(&session, format!("You left {}.", left.org)),
        Err(DomainError::LastAdmin { org }) => flash_error(
            &session,
            format!("You cannot leave {org}: you are its last administrator. Make another member an administrator first, or delete the organization in its settings."),
        ),
        Err(e) => return Err(e.into()),
    }
    Ok(redirect("/settings/organizations"))
}
