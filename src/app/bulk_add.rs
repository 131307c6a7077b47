//! Bulk add (a pasted list or a CSV of usernames, previewed line by line, then applied) and
//! "Apply default dataset roles to existing datasets" (previewed entry by entry, then
//! applied). Both follow the single changes' order: the organization's lock, the caller's
//! role under it, the permission table, the change, the audit events, in one transaction;
//! and both re-validate at apply what their preview showed, as the state may have changed.
//! Each runs a fixed number of statements per chunk of rows, never one per line or entry.

use std::collections::{HashMap, HashSet};

use crate::app::error::{unique_means, Conflict, Denied, DomainError, FieldErrors};
use crate::app::orgs::{find, lock_for, MAX_BULK};
use crate::app::principal::Principal;
use crate::db::{DbConn, WriteTx};
use crate::domain::audit::Action;
use crate::domain::names::name_key;
use crate::domain::roles::{
    default_role_label, default_role_value, parse_default_role, DatasetRole, OrgAction, OrgRole,
};
use crate::domain::webhooks::Roles;
use crate::models::audit::{self, Event, Hook};
use crate::models::orgs::{self, Membership, NewMember, Org};
use crate::models::{accounts, datasets};

type Result<T> = std::result::Result<T, DomainError>;

// ---- Bulk add ----

/// The most lines one import takes.
pub const MAX_IMPORT_LINES: usize = 1000;

/// "Add many members": lines of `username` or `username,role,default_role` (a first line
/// `username,...` is a header and skipped), and the roles of lines that name none.
#[derive(Clone, Debug)]
pub struct ImportMembers {
    pub org: String,
    pub text: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

/// What an import does with one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineOutcome {
    /// Will be (or was) added with the line's roles.
    Add,
    AlreadyMember,
    /// No user has that name (organizations included: only users can be members).
    UnknownUser,
    /// A role that does not parse, or more fields than three; says which.
    InvalidRole(String),
    /// The same username as an earlier line.
    Duplicate,
}

/// One line of an import and its outcome.
#[derive(Clone, Debug)]
pub struct ImportLine {
    /// Its line number in the text (header and blank lines count).
    pub number: usize,
    /// As typed, or the account's own spelling when found.
    pub username: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
    pub outcome: LineOutcome,
    user_id: i32,
}

impl ImportLine {
    /// "will be added", "already a member", ...
    pub fn outcome_label(&self) -> String {
        match &self.outcome {
            LineOutcome::Add => "will be added".into(),
            LineOutcome::AlreadyMember => "already a member".into(),
            LineOutcome::UnknownUser => "unknown username".into(),
            LineOutcome::InvalidRole(why) => format!("invalid role: {why}"),
            LineOutcome::Duplicate => "duplicate line".into(),
        }
    }

    pub fn is_added(&self) -> bool {
        self.outcome == LineOutcome::Add
    }

    pub fn role_label(&self) -> &'static str {
        self.role.label()
    }

    pub fn default_role_label(&self) -> &'static str {
        default_role_label(self.default_role)
    }
}

/// What an import does (the preview) or did (after apply): every line with its outcome.
#[derive(Clone, Debug)]
pub struct ImportPlan {
    pub org: String,
    pub lines: Vec<ImportLine>,
}

impl ImportPlan {
    fn count(&self, f: impl Fn(&LineOutcome) -> bool) -> usize {
        self.lines.iter().filter(|l| f(&l.outcome)).count()
    }

    pub fn added(&self) -> usize {
        self.count(|o| *o == LineOutcome::Add)
    }

    pub fn already(&self) -> usize {
        self.count(|o| *o == LineOutcome::AlreadyMember)
    }

    pub fn unknown(&self) -> usize {
        self.count(|o| *o == LineOutcome::UnknownUser)
    }

    pub fn invalid(&self) -> usize {
        self.count(|o| matches!(o, LineOutcome::InvalidRole(_)))
    }

    pub fn duplicates(&self) -> usize {
        self.count(|o| *o == LineOutcome::Duplicate)
    }

    /// The lines to add, as the apply form sends them again: `username,role,default_role`.
    pub fn to_add_text(&self) -> String {
        self.lines
            .iter()
            .filter(|l| l.is_added())
            .map(|l| {
                format!(
                    "{},{},{}",
                    l.username,
                    l.role.as_str(),
                    default_role_value(l.default_role)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The names of the members added, for a message.
    pub fn added_names(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.is_added())
            .map(|l| l.username.as_str())
            .collect()
    }
}

/// A line read, before the database is asked about its name.
struct Parsed {
    number: usize,
    username: String,
    roles: std::result::Result<(OrgRole, Option<DatasetRole>), String>,
}

/// The fields of a CSV line: split at commas, each trimmed and unquoted (`"bob"`); quoted
/// commas are not needed, as no name or role has one.
fn fields(line: &str) -> Vec<String> {
    line.split(',')
        .map(|f| {
            let f = f.trim();
            let f = f
                .strip_prefix('"')
                .and_then(|f| f.strip_suffix('"'))
                .unwrap_or(f);
            f.trim().to_string()
        })
        .collect()
}

fn parse_lines(cmd: &ImportMembers) -> Result<Vec<Parsed>> {
    let mut out = Vec::new();
    let mut first = true;
    let mut errors = FieldErrors::default();
    for (i, raw) in cmd.text.lines().enumerate() {
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let f = fields(line);
        let header = first && f[0].eq_ignore_ascii_case("username");
        first = false;
        if header {
            continue;
        }
        if out.len() == MAX_IMPORT_LINES {
            errors.add(
                "lines",
                format!(
                    "An import takes at most {MAX_IMPORT_LINES} lines: split the list and add the rest in a second import."
                ),
            );
            return Err(DomainError::Invalid(errors));
        }
        let pick = |n: usize| f.get(n).map(String::as_str).filter(|v| !v.is_empty());
        let roles = if f.len() > 3 {
            Err(format!(
                "{} fields; a line is username,role,default_role",
                f.len()
            ))
        } else {
            let role = match pick(1) {
                None => Ok(cmd.role),
                Some(v) => OrgRole::parse(&v.to_ascii_lowercase())
                    .ok_or_else(|| format!("“{v}” is no organization role (member or admin)")),
            };
            let default = match pick(2) {
                None => Ok(cmd.default_role),
                Some(v) => parse_default_role(&v.to_ascii_lowercase()).ok_or_else(|| {
                    format!(
                        "“{v}” is no default dataset role (viewer, labeler, reviewer, manager, admin or none)"
                    )
                }),
            };
            role.and_then(|r| default.map(|d| (r, d)))
        };
        out.push(Parsed {
            number: i + 1,
            username: f[0].clone(),
            roles,
        });
    }
    if out.is_empty() {
        errors.add(
            "lines",
            "Paste at least one username, one a line, or choose a CSV file.",
        );
        return Err(DomainError::Invalid(errors));
    }
    Ok(out)
}

/// Every line's outcome against the organization as it is now: four statements whatever
/// the number of lines (the accounts named, and which of them are members).
fn import_plan(conn: &mut DbConn, org: &Org, cmd: &ImportMembers) -> Result<ImportPlan> {
    let parsed = parse_lines(cmd)?;
    let names: Vec<String> = parsed.iter().map(|p| p.username.clone()).collect();
    let found: HashMap<String, accounts::Account> = accounts::find_accounts(conn, &names)?
        .into_iter()
        .filter(|a| !a.is_org())
        .map(|a| (name_key(&a.username), a))
        .collect();
    let ids: Vec<i32> = found.values().map(|a| a.id).collect();
    let members: HashSet<i32> = orgs::members_among(conn, org.id, &ids)?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    let lines = parsed
        .into_iter()
        .map(|p| {
            let key = name_key(&p.username);
            let account = found.get(&key);
            let (role, default_role) = p.roles.clone().unwrap_or((cmd.role, cmd.default_role));
            let outcome = if !seen.insert(key) {
                LineOutcome::Duplicate
            } else if let Err(why) = &p.roles {
                LineOutcome::InvalidRole(why.clone())
            } else {
                match account {
                    None => LineOutcome::UnknownUser,
                    Some(a) if members.contains(&a.id) => LineOutcome::AlreadyMember,
                    Some(_) => LineOutcome::Add,
                }
            };
            ImportLine {
                number: p.number,
                username: account.map_or(p.username, |a| a.username.clone()),
                role,
                default_role,
                outcome,
                user_id: account.map_or(0, |a| a.id),
            }
        })
        .collect();
    Ok(ImportPlan {
        org: org.username.clone(),
        lines,
    })
}

fn refuse_invite_only(org: &Org) -> Result<()> {
    if org.invite_only {
        return Err(DomainError::Forbidden(Denied::InviteOnly {
            org: org.username.clone(),
        }));
    }
    Ok(())
}

/// The preview of an import (administrators; refused, as "Add member" is, when the
/// organization adds members only by invitation).
pub fn import_preview(conn: &mut DbConn, p: &Principal, cmd: &ImportMembers) -> Result<ImportPlan> {
    let (org, _) = find(conn, p, &cmd.org, OrgAction::Manage)?;
    refuse_invite_only(&org)?;
    import_plan(conn, &org, cmd)
}

/// Applies an import in the caller's one transaction under the organization's lock: every
/// line judged again, the "will be added" ones added (multi-row inserts) with a
/// `member.added` audit event each (and its webhook deliveries), as "Add member" does.
/// Returns what it did: the lines' outcomes now.
pub fn import_apply(tx: &mut WriteTx<'_>, p: &Principal, cmd: ImportMembers) -> Result<ImportPlan> {
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    refuse_invite_only(&org)?;
    let plan = import_plan(tx, &org, &cmd)?;
    let rows: Vec<NewMember> = plan
        .lines
        .iter()
        .filter(|l| l.is_added())
        .map(|l| NewMember {
            user_id: l.user_id,
            username: l.username.clone(),
            role: l.role,
            default_role: l.default_role,
        })
        .collect();
    if rows.is_empty() {
        return Ok(plan);
    }
    orgs::insert_memberships(tx, org.id, &rows).map_err(unique_means(Conflict::AlreadyMember {
        org: org.username.clone(),
    }))?;
    let events: Vec<Event<'_>> = rows
        .iter()
        .map(|m| Event {
            account_id: org.id,
            actor_id: Some(p.user_id),
            actor_name: &p.username,
            action: Action::MemberAdded,
            subject: Some(&m.username),
            details: format!(
                "as {}, default dataset role {}",
                m.role.label(),
                default_role_label(m.default_role)
            ),
            hook: Hook {
                after: Some(Roles::member(m.role, m.default_role)),
                ..Hook::default()
            },
        })
        .collect();
    audit::record_many(tx, &events)?;
    Ok(plan)
}

// ---- Default dataset roles on existing datasets ----

/// "Apply default dataset roles to existing datasets" for the members named.
#[derive(Clone, Debug)]
pub struct ApplyDefaults {
    pub org: String,
    pub members: Vec<String>,
}

/// One collaborator entry the change adds (`from` is `None`) or raises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub dataset_id: i32,
    pub dataset: String,
    pub user_id: i32,
    pub username: String,
    pub from: Option<DatasetRole>,
    pub to: DatasetRole,
}

impl Grant {
    pub fn from_label(&self) -> &'static str {
        self.from.map_or("", DatasetRole::label)
    }

    pub fn to_label(&self) -> &'static str {
        self.to.label()
    }
}

/// What the change does (the preview) or did: the entries added or raised, the members
/// whose default is "None (do not add)" (nothing changes for them), the names that are no
/// members, and how many datasets the organization has.
#[derive(Clone, Debug)]
pub struct DefaultsPlan {
    pub org: String,
    pub members: Vec<Membership>,
    pub grants: Vec<Grant>,
    pub without_default: Vec<String>,
    pub unknown: Vec<String>,
    pub datasets: usize,
}

impl DefaultsPlan {
    pub fn added(&self) -> usize {
        self.grants.iter().filter(|g| g.from.is_none()).count()
    }

    pub fn raised(&self) -> usize {
        self.grants.len() - self.added()
    }

    pub fn member_names(&self) -> Vec<&str> {
        self.members.iter().map(|m| m.username.as_str()).collect()
    }
}

/// The names of a bulk selection: trimmed, without repeats, 1 to [`MAX_BULK`].
pub(crate) fn selected_names(members: &[String]) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for n in members {
        let n = n.trim();
        if !n.is_empty() && !names.iter().any(|m| m.eq_ignore_ascii_case(n)) {
            names.push(n.to_string());
        }
    }
    let mut errors = FieldErrors::default();
    if names.is_empty() {
        errors.add("members", "Select at least one member.");
    } else if names.len() > MAX_BULK {
        errors.add(
            "members",
            format!("Select at most {MAX_BULK} members at once."),
        );
    }
    errors.into_result(names)
}

/// The most collaborator entries one "apply default roles" judges (members times datasets).
pub const MAX_GRANTS: usize = 20_000;

/// Three statements whatever the numbers: the members, the organization's datasets, and
/// the members' entries on them.
fn defaults_plan(conn: &mut DbConn, org: &Org, cmd: &ApplyDefaults) -> Result<DefaultsPlan> {
    let names = selected_names(&cmd.members)?;
    let plausible: Vec<String> = names
        .iter()
        .filter(|n| crate::models::plausible_name(n))
        .cloned()
        .collect();
    let found = orgs::members_by_names(conn, org.id, &plausible)?;
    let unknown = names
        .iter()
        .filter(|n| !found.iter().any(|m| m.username.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    let without_default = found
        .iter()
        .filter(|m| m.default_role.is_none())
        .map(|m| m.username.clone())
        .collect();
    let with_default: Vec<&Membership> =
        found.iter().filter(|m| m.default_role.is_some()).collect();
    let all = datasets::names_of_owner(conn, org.id)?;
    // Bounded work under the organization's lock: at most MAX_GRANTS entries considered
    // (members with a default role times datasets), before any row is built.
    let considered = with_default.len().saturating_mul(all.len());
    if considered > MAX_GRANTS {
        return Err(DomainError::BadInput(format!(
            "{} members on {} datasets is {considered} entries to judge: select fewer members (at most {MAX_GRANTS} entries at once).",
            with_default.len(),
            all.len()
        )));
    }
    let ids: Vec<i32> = with_default.iter().map(|m| m.user_id).collect();
    let entries: HashMap<(i32, i32), DatasetRole> = datasets::entries_on_owner(conn, org.id, &ids)?
        .into_iter()
        .map(|(d, u, r)| ((d, u), r))
        .collect();
    let mut grants = Vec::new();
    for m in &with_default {
        let Some(to) = m.default_role else { continue };
        for (dataset_id, dataset) in &all {
            let from = entries.get(&(*dataset_id, m.user_id)).copied();
            // Never lowered: equal or higher entries are left as they are.
            if from.is_some_and(|r| r >= to) {
                continue;
            }
            grants.push(Grant {
                dataset_id: *dataset_id,
                dataset: dataset.clone(),
                user_id: m.user_id,
                username: m.username.clone(),
                from,
                to,
            });
        }
    }
    Ok(DefaultsPlan {
        org: org.username.clone(),
        members: found,
        grants,
        without_default,
        unknown,
        datasets: all.len(),
    })
}

/// The preview: exactly which entries the change adds or raises (administrators).
pub fn defaults_preview(
    conn: &mut DbConn,
    p: &Principal,
    cmd: &ApplyDefaults,
) -> Result<DefaultsPlan> {
    let (org, _) = find(conn, p, &cmd.org, OrgAction::Manage)?;
    defaults_plan(conn, &org, cmd)
}

/// Applies it in the caller's one transaction under the organization's lock, judged again:
/// the missing entries inserted (multi-row), the lower ones raised (one `UPDATE` per target
/// role, at most five), one audit event per entry (`collaborator.added` or
/// `collaborator.role_changed`, as the collaborators page writes them, with their webhook
/// events). Returns what it did.
pub fn defaults_apply(
    tx: &mut WriteTx<'_>,
    p: &Principal,
    cmd: ApplyDefaults,
) -> Result<DefaultsPlan> {
    let (org, _) = lock_for(tx, p, &cmd.org, OrgAction::Manage)?;
    let plan = defaults_plan(tx, &org, &cmd)?;
    if plan.grants.is_empty() {
        return Ok(plan);
    }
    for to in DatasetRole::ALL {
        let mut ids: Vec<i32> = plan
            .grants
            .iter()
            .filter(|g| g.from.is_some() && g.to == *to)
            .map(|g| g.user_id)
            .collect();
        ids.dedup();
        datasets::raise_collaborators(tx, org.id, &ids, *to)?;
    }
    let new: Vec<(i32, i32, DatasetRole)> = plan
        .grants
        .iter()
        .filter(|g| g.from.is_none())
        .map(|g| (g.dataset_id, g.user_id, g.to))
        .collect();
    datasets::insert_collaborators(tx, &new)
        .map_err(unique_means(Conflict::AlreadyCollaborator))?;
    let events: Vec<Event<'_>> = plan
        .grants
        .iter()
        .map(|g| {
            let (action, what) = match g.from {
                None => (Action::CollaboratorAdded, format!("as {}", g.to.label())),
                Some(from) => (
                    Action::CollaboratorRoleChanged,
                    format!("from {} to {}", from.label(), g.to.label()),
                ),
            };
            Event {
                account_id: org.id,
                actor_id: Some(p.user_id),
                actor_name: &p.username,
                action,
                subject: Some(&g.username),
                details: format!("on {}: {what}", g.dataset),
                hook: Hook {
                    dataset: Some(g.dataset.clone()),
                    before: g.from.map(Roles::collaborator),
                    after: Some(Roles::collaborator(g.to)),
                    ..Hook::default()
                },
            }
        })
        .collect();
    audit::record_many(tx, &events)?;
    Ok(plan)
}
