//! Account use cases: sign up, log in, the profile and the password; and the account page
//! (`/{name}`), which shows an organization or a person.

use std::net::IpAddr;

use crate::app::attempts::{self, Target};
use crate::app::error::{unique_means, Conflict, DomainError, FieldErrors};
use crate::app::principal::Principal;
use crate::app::{App, Mailing};
use crate::db::{write_tx, DbConn, WriteTx};
use crate::domain::names::{
    check_email, check_new_password, check_username, email_key, MAX_DISPLAY_NAME,
};
use crate::domain::roles::OrgAction;
use crate::domain::roles::OrgRole;
use crate::models::accounts::{self, Account, Profile};
use crate::models::datasets::{self, DatasetFilter, DatasetSummary};
use crate::models::orgs::{self, Org};
use crate::models::{sessions, Page};

type Result<T> = std::result::Result<T, DomainError>;

/// "Sign up".
pub struct Signup {
    pub username: String,
    pub email: String,
    pub password: String,
}

/// Creates a user and returns them as a principal. The password is hashed before the
/// transaction (off the database threads); the unique indexes decide races, each refusal
/// named for the field it concerns.
pub async fn signup(app: &App, cmd: Signup) -> Result<Principal> {
    let username = cmd.username.trim().to_string();
    let email = cmd.email.trim().to_string();
    let mut errors = FieldErrors::default();
    errors.check("username", check_username(&username));
    errors.check("email", check_email(&email));
    errors.check("password", check_new_password(&cmd.password));
    errors.into_result(())?;
    let hash = app.hasher.hash(cmd.password).await?;
    let mailing = app.mailing.clone();
    app.run(move |c| {
        write_tx(c, |tx| {
            if accounts::name_taken(tx, &username)? {
                return Err(DomainError::Conflict(Conflict::NameTaken));
            }
            if accounts::email_taken(tx, &email, None)? {
                return Err(DomainError::Conflict(Conflict::EmailTaken));
            }
            let id = accounts::insert_account(
                tx,
                &username,
                crate::domain::kinds::AccountKind::User,
                "",
            )
            .map_err(unique_means(Conflict::NameTaken))?;
            accounts::insert_user(tx, id, &email, &hash)
                .map_err(unique_means(Conflict::EmailTaken))?;
            crate::app::email::queue_verification(tx, &mailing, id, &username, &email)?;
            Ok(Principal::session(id, username))
        })
    })
    .await
}

/// "Log in" with a username or an email, from a client address.
pub struct Login {
    pub login: String,
    pub password: String,
    pub client: IpAddr,
}

/// Checks a login. The attempt is counted first (`attempts`): past a limit the answer is
/// "throttled" whatever the password, and the password is not checked.
pub async fn login(app: &App, cmd: Login) -> Result<Principal> {
    let login = cmd.login.trim().to_string();
    let client = cmd.client;
    let (creds, attempt) = app
        .run(move |c| {
            let creds = if login.is_empty() {
                None
            } else {
                accounts::find_credentials(c, &login)?
            };
            let target = match &creds {
                Some(user) => Target::Account(user.id),
                None => Target::UnknownLogin(&login),
            };
            let attempt = attempts::begin(c, target, client)?;
            Ok((creds, attempt))
        })
        .await?;
    // An unknown account's login is checked against a dummy hash: it takes as long.
    let hash = creds.as_ref().map(|u| u.password_hash.clone());
    let verified = attempts::check_password(app, attempt, cmd.password, hash).await?;
    match creds {
        Some(user) if verified => Ok(Principal::session(user.id, user.username)),
        _ => Err(DomainError::BadCredentials),
    }
}

/// The profile's display name and email.
pub struct UpdateProfile {
    pub display_name: String,
    pub email: String,
}

/// Saves the profile. A new address is unverified until its link is followed: a link goes
/// to it, and the old address is told of the change. Returns whether the address changed.
pub fn update_profile(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    m: &Mailing,
    cmd: UpdateProfile,
) -> Result<bool> {
    let mut errors = FieldErrors::default();
    let display_name = errors.text("display_name", &cmd.display_name, MAX_DISPLAY_NAME);
    let email = cmd.email.trim().to_string();
    errors.check("email", check_email(&email));
    errors.into_result(())?;
    if accounts::email_taken(tx, &email, Some(p.user_id))? {
        return Err(DomainError::Conflict(Conflict::EmailTaken));
    }
    let before = accounts::mailbox_of(tx, p.user_id)?.ok_or(DomainError::NotFound)?;
    accounts::update_profile(tx, p.user_id, &display_name, &email)
        .map_err(unique_means(Conflict::EmailTaken))?;
    let changed = email_key(&before.email) != email_key(&email);
    if changed {
        accounts::set_email_unverified(tx, p.user_id)?;
        crate::app::email::queue_verification(tx, m, p.user_id, &before.username, &email)?;
        let notice = crate::mail::EmailChanged {
            username: before.username.clone(),
            new_email: email.clone(),
            reset_link: format!("{}/password/forgot", m.public_url),
        }
        .to(&before.email)?;
        m.queue(tx, notice, chrono::Utc::now().naive_utc())?;
    }
    // A change of case only keeps the address, verified or not.
    Ok(changed)
}

/// "Change password": the current one, the new one, whether to revoke every API key, and
/// the client address the request came from.
pub struct ChangePassword {
    pub current: String,
    pub new: String,
    pub revoke_keys: bool,
    pub client: IpAddr,
}

/// Checks the current password (counted by the same throttle as logins, so a stolen session
/// cannot guess it freely), stores the new one and ends every session of the user (the
/// caller's surface starts a new one for itself), revokes their API keys if asked, and ends
/// every password-reset link.
pub async fn change_password(app: &App, p: &Principal, cmd: ChangePassword) -> Result<()> {
    let mut errors = FieldErrors::default();
    errors.check("new_password", check_new_password(&cmd.new));
    let (uid, client) = (p.user_id, cmd.client);
    let (current, attempt) = app
        .run(move |c| {
            let hash = accounts::password_hash(c, uid)?;
            Ok((hash, attempts::begin(c, Target::Account(uid), client)?))
        })
        .await?;
    if !attempts::check_password(app, attempt, cmd.current, Some(current)).await? {
        errors.add("current_password", "This is not your current password.");
    }
    errors.into_result(())?;
    let hash = app.hasher.hash(cmd.new).await?;
    let (p, revoke_keys) = (p.clone(), cmd.revoke_keys);
    app.run(move |c| {
        write_tx(c, |tx| {
            accounts::set_password(tx, uid, &hash)?;
            sessions::end_user_sessions(tx, uid)?;
            // A reset link sent before the change would undo it.
            crate::models::email_tokens::end_all(
                tx,
                uid,
                crate::domain::status::TokenPurpose::ResetPassword,
                chrono::Utc::now().naive_utc(),
            )?;
            if revoke_keys {
                crate::app::api_keys::revoke_all(tx, &p)?;
            }
            Ok(())
        })
    })
    .await
}

// ---- Reads ----

pub fn profile(conn: &mut DbConn, p: &Principal) -> Result<Profile> {
    Ok(accounts::profile(conn, p.user_id)?)
}

/// What `/{name}` shows.
pub enum AccountPage {
    /// An organization, to one of its members.
    Org(Box<(Org, OrgRole, Page<DatasetSummary>)>),
    /// An organization's public profile, to a visitor or a non-member (SPEC 3): its name,
    /// description and the datasets they may see; never its members.
    PublicOrg(Box<(Org, Page<DatasetSummary>)>),
    /// A person, with the datasets the viewer may see.
    User(Account, Page<DatasetSummary>),
}

/// The account page of `name` for `viewer`: an organization's whole page for its members,
/// its public profile for everyone else (SPEC 3); a person's for everyone.
pub fn page(
    conn: &mut DbConn,
    viewer: Option<&Principal>,
    name: &str,
    filter: &DatasetFilter,
    page: i64,
) -> Result<AccountPage> {
    let viewer_id = viewer.map(|p| p.user_id);
    match orgs::find_with_role(conn, name, viewer_id.unwrap_or(-1))? {
        Some((org, role)) => {
            let role = role.filter(|r| r.can(OrgAction::View));
            let list = datasets::list_for_owner(
                conn,
                (org.id, &org.username),
                viewer_id,
                role.is_some_and(|r| r.can(OrgAction::AdministerDatasets)),
                filter,
                page,
            )?;
            Ok(match role {
                Some(role) => AccountPage::Org(Box::new((org, role, list))),
                None => AccountPage::PublicOrg(Box::new((org, list))),
            })
        }
        None => {
            let account = accounts::find_account(conn, name)?.ok_or(DomainError::NotFound)?;
            let is_me = viewer_id == Some(account.id);
            let list = datasets::list_for_owner(
                conn,
                (account.id, &account.username),
                viewer_id,
                is_me,
                filter,
                page,
            )?;
            Ok(AccountPage::User(account, list))
        }
    }
}

/// The caller as the JSON API's `/user` shows them: their account, email and organizations.
pub struct Me {
    pub account: Account,
    pub email: String,
    pub orgs: Vec<orgs::MemberOf>,
}

pub fn me(conn: &mut DbConn, p: &Principal) -> Result<Me> {
    let account = accounts::find_account(conn, &p.username)?.ok_or(DomainError::NotFound)?;
    let email = accounts::profile(conn, p.user_id)?.email;
    let orgs = orgs::orgs_of_user(conn, p.user_id)?;
    Ok(Me {
        account,
        email,
        orgs,
    })
}

/// An account as the JSON API's `/users/{name}` shows it to the caller.
pub enum AccountView {
    User(Account),
    /// An organization, to one of its members: who created it and every member.
    Org {
        account: Account,
        created_by: Option<String>,
        members: Vec<orgs::MemberOf>,
        /// Whether the caller may see default dataset roles (administrators).
        shows_default_roles: bool,
    },
}

/// A person is visible to every caller; an organization only to its members, "not found"
/// for everyone else (as its page, SPEC 4.8).
pub fn account(conn: &mut DbConn, p: &Principal, name: &str) -> Result<AccountView> {
    let account = accounts::find_account(conn, name)?.ok_or(DomainError::NotFound)?;
    if !account.is_org() {
        return Ok(AccountView::User(account));
    }
    let role = orgs::role_of(conn, account.id, p.user_id)?;
    let role = crate::app::authz::org(&account.username, role, OrgAction::View)
        .map_err(|_| DomainError::NotFound)?;
    let created_by = orgs::creator(conn, account.id)?;
    let members = orgs::all_members(conn, account.id)?;
    Ok(AccountView::Org {
        account,
        created_by,
        members,
        shows_default_roles: role.can(OrgAction::Manage),
    })
}
