//! The pages of `app::bulk_add`: "Add many members" (a pasted list or an uploaded CSV,
//! previewed line by line, then applied) and "Apply default dataset roles to existing
//! datasets" (previewed entry by entry, then applied), on the Members subtab.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;

use crate::app::bulk_add::{self as uc, ApplyDefaults, DefaultsPlan, ImportMembers, ImportPlan};
use crate::app::{DomainError, Principal};
use crate::db::write_tx;
use crate::domain::roles::{default_role_value, parse_default_role, OrgRole};
use crate::html::csrf::MAX_FORM_BYTES;
use crate::html::error::HtmlError;
use crate::html::layout::{flash_success, invalid, ok, redirect, Layout};
use crate::html::orgs::{selected_members, selection_refused};
use crate::html::State;

/// The fields of the "Add many members" form, from either encoding.
#[derive(Default)]
struct ImportForm {
    lines: String,
    file: String,
    role: String,
    default_role: String,
    seen: std::collections::HashSet<String>,
}

impl ImportForm {
    /// Takes one field; a field sent twice is a forged form, as serde's forms say.
    fn set(&mut self, name: &str, value: String) -> Result<(), HtmlError> {
        let slot = match name {
            "lines" => &mut self.lines,
            "file" => &mut self.file,
            "role" => &mut self.role,
            "default_role" => &mut self.default_role,
            _ => return Ok(()),
        };
        if !self.seen.insert(name.to_string()) {
            return Err(HtmlError::bad_request(format!("duplicate field `{name}`")));
        }
        *slot = value;
        Ok(())
    }

    /// The command: the pasted lines, then the file's; the roles parsed by the parsers of
    /// "Add member".
    fn command(self, org: String) -> Result<ImportMembers, HtmlError> {
        let role = OrgRole::parse(&self.role)
            .ok_or_else(|| HtmlError::bad_request("Unknown organization role."))?;
        let default_role = parse_default_role(&self.default_role)
            .ok_or_else(|| HtmlError::bad_request("Unknown default dataset role."))?;
        let text = match (self.lines.trim().is_empty(), self.file.trim().is_empty()) {
            (_, true) => self.lines,
            (true, false) => self.file,
            (false, false) => format!("{}\n{}", self.lines, self.file),
        };
        Ok(ImportMembers {
            org,
            text,
            role,
            default_role,
        })
    }
}

fn utf8(bytes: Vec<u8>) -> Result<String, HtmlError> {
    String::from_utf8(bytes).map_err(|_| {
        HtmlError::bad_request(
            "The file is not UTF-8 text: save it as “CSV UTF-8” (or paste the lines) and try again.",
        )
    })
}

/// Reads the form as `multipart/form-data` (the CSV upload; at most [`MAX_FORM_BYTES`] in
/// all, as every form: the CSRF guard has read the body within that bound already, and so
/// does this) or as ordinary form data (the paste, which needs no JavaScript either way).
async fn read_import(req: &HttpRequest, payload: web::Payload) -> Result<ImportForm, HtmlError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let mut form = ImportForm::default();
    let mut total = 0usize;
    if multipart {
        let mut parts = actix_multipart::Multipart::new(req.headers(), payload);
        while let Some(field) = parts.next().await {
            let mut field =
                field.map_err(|_| HtmlError::bad_request("The upload could not be read."))?;
            let name = field.name().unwrap_or_default().to_string();
            let mut value = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk =
                    chunk.map_err(|_| HtmlError::bad_request("The upload could not be read."))?;
                total += chunk.len();
                if total > MAX_FORM_BYTES {
                    return Err(HtmlError::TooLarge);
                }
                value.extend_from_slice(&chunk);
            }
            form.set(&name, utf8(value)?)?;
        }
        return Ok(form);
    }
    let mut payload = payload;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| HtmlError::bad_request("The request body could not be read."))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(HtmlError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| HtmlError::bad_request("The form could not be read."))?;
    for (k, v) in pairs {
        form.set(&k, v)?;
    }
    Ok(form)
}

#[derive(Template)]
#[template(path = "orgs/import_preview.html")]
struct ImportPreviewPage {
    ctx: Layout,
    org: String,
    plan: Option<ImportPlan>,
    /// Why nothing can be previewed (too many lines, none at all).
    error: Option<String>,
    role: OrgRole,
    default_role: &'static str,
}

fn import_error(e: DomainError) -> Result<String, HtmlError> {
    match e {
        DomainError::Invalid(errors) => Ok(errors
            .get("lines")
            .unwrap_or("Some lines need attention.")
            .to_string()),
        e => Err(e.into()),
    }
}

/// `POST /{org}/settings/import-members/preview`: every line with what would happen to it.
pub async fn import_preview(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HtmlError> {
    let org = path.into_inner();
    let cmd = read_import(&req, payload).await?.command(org.clone())?;
    let (role, default_role) = (cmd.role, default_role_value(cmd.default_role));
    let p = user.clone();
    let result = state
        .run(move |c| Ok(uc::import_preview(c, &p, &cmd)))
        .await?;
    let ctx = Layout::new(&session, Some(&user), state.nav(), "Add many members");
    match result {
        Ok(plan) => ok(&ImportPreviewPage {
            ctx,
            org: plan.org.clone(),
            plan: Some(plan),
            error: None,
            role,
            default_role,
        }),
        Err(e) => invalid(&ImportPreviewPage {
            ctx,
            org,
            plan: None,
            error: Some(import_error(e)?),
            role,
            default_role,
        }),
    }
}

/// `POST /{org}/settings/import-members`: adds the lines the preview showed as "will be
/// added", judged again in one transaction.
pub async fn import_apply(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HtmlError> {
    let org = path.into_inner();
    let cmd = read_import(&req, payload).await?.command(org.clone())?;
    let (role, default_role) = (cmd.role, default_role_value(cmd.default_role));
    let p = user.clone();
    let result = state
        .run(move |c| Ok(write_tx(c, |tx| uc::import_apply(tx, &p, cmd))))
        .await?;
    match result {
        Ok(plan) => {
            let names = plan.added_names();
            let n = names.len();
            let mut text = if n == 0 {
                "Nobody was added.".to_string()
            } else {
                let shown = names
                    .iter()
                    .take(10)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = if n > 10 {
                    format!(" and {} more", n - 10)
                } else {
                    String::new()
                };
                format!(
                    "Added {n} member{} to {}: {shown}{more}.",
                    if n == 1 { "" } else { "s" },
                    plan.org
                )
            };
            let skipped = plan.lines.len() - n;
            if skipped > 0 {
                text.push_str(&format!(
                    " {skipped} line{} changed since the preview and {} not added (already a member, or no such user now).",
                    if skipped == 1 { "" } else { "s" },
                    if skipped == 1 { "was" } else { "were" }
                ));
            }
            flash_success(&session, text);
            Ok(redirect(&format!("/{}/settings/members", plan.org)))
        }
        Err(e) => {
            let ctx = Layout::new(&session, Some(&user), state.nav(), "Add many members");
            invalid(&ImportPreviewPage {
                ctx,
                org,
                plan: None,
                error: Some(import_error(e)?),
                role,
                default_role,
            })
        }
    }
}

// ---- Default dataset roles on existing datasets ----

/// The most entries the preview lists one by one (its counts are always exact).
const SHOWN_GRANTS: usize = 1000;

#[derive(Template)]
#[template(path = "orgs/apply_defaults.html")]
struct DefaultsPage {
    ctx: Layout,
    plan: DefaultsPlan,
    shown: usize,
    cancel: String,
}

impl DefaultsPage {
    fn shown_grants(&self) -> &[uc::Grant] {
        &self.plan.grants[..self.shown]
    }

    fn more(&self) -> usize {
        self.plan.grants.len() - self.shown
    }
}

/// `GET /{org}/settings/apply-defaults?m=...`: exactly which collaborator entries applying
/// the members' default dataset roles would add or raise.
pub async fn defaults_confirm(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    let org = path.into_inner();
    let cmd = ApplyDefaults {
        org: org.clone(),
        members: selected_members(query.into_inner())?,
    };
    let p = user.clone();
    let cancel = format!("/{org}/settings/members");
    let result = state
        .run(move |c| Ok(uc::defaults_preview(c, &p, &cmd)))
        .await?;
    match result {
        Ok(plan) => ok(&DefaultsPage {
            ctx: Layout::new(
                &session,
                Some(&user),
                state.nav(),
                "Apply default dataset roles",
            ),
            shown: plan.grants.len().min(SHOWN_GRANTS),
            plan,
            cancel,
        }),
        Err(DomainError::Invalid(errors)) => Ok(selection_refused(&session, &errors, &cancel)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /{org}/settings/apply-defaults`: applies it in one transaction.
pub async fn defaults_apply(
    state: State,
    session: Session,
    user: Principal,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    let org = path.into_inner();
    let cmd = ApplyDefaults {
        org: org.clone(),
        members: selected_members(form.into_inner())?,
    };
    let p = user.clone();
    let result = state
        .run(move |c| Ok(write_tx(c, |tx| uc::defaults_apply(tx, &p, cmd))))
        .await?;
    match result {
        Ok(plan) => {
            let (added, raised) = (plan.added(), plan.raised());
            let text = if added + raised == 0 {
                "Nothing changed: every entry already has the default dataset role or a higher one."
                    .to_string()
            } else {
                format!(
                    "Default dataset roles applied to the existing datasets of {}: {added} collaborator entr{} added, {raised} raised.",
                    plan.org,
                    if added == 1 { "y" } else { "ies" }
                )
            };
            flash_success(&session, text);
            Ok(redirect(&format!("/{}/settings/members", plan.org)))
        }
        Err(DomainError::Invalid(errors)) => Ok(selection_refused(
            &session,
            &errors,
            &format!("/{org}/settings/members"),
        )),
        Err(e) => Err(e.into()),
    }
}
