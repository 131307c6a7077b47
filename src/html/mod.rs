//! The HTML surface: server-rendered pages and form posts over a session cookie.
//!
//! Handlers are adapters: they parse the form or the address into a typed command, call one
//! use case of `app` (or one read), and render a page or redirect. They hold no SQL and no
//! permission logic: the use case decides, and templates ask the same permission table to
//! decide which controls to show. Here too: the session store and the principal it yields,
//! CSRF, the error pages, and the embedded static assets.

pub mod access;
pub mod accounts;
pub mod api_docs;
pub mod api_keys;
pub mod assets;
pub mod bulk_add;
pub mod csrf;
pub mod datasets;
pub mod error;
pub mod error_pages;
pub mod home;
pub mod input;
pub mod invitations;
pub mod layout;
pub mod orgs;
pub mod profiles;
pub mod session;
pub mod settings;
pub mod webhooks;

use std::cell::RefCell;
use std::future::{ready, Ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::app::sessions::{self, Claim, SessionPolicy};
use crate::app::{App, DomainError};
use crate::db::DbConn;
use crate::html::error::HtmlError;
use crate::models::orgs::Nav;

/// What every handler receives: the application layer, reached through this request's
/// session. Its [`State::run`] is the only way a handler reaches the database, and it first
/// checks that a signed-in session still stands, in the same call on the database threads
/// as the page's work (one hand-off per request), in the statement that also reads the
/// profile menu ([`State::nav`]). A handler that extracts `web::Data<App>` itself bypasses
/// that check and must not act for a principal.
pub struct State {
    app: web::Data<App>,
    session: Session,
    claim: Option<Claim>,
    /// Where to come back after signing in, should the session have ended.
    resume: String,
    /// The menu of a checked session (set by the first `run`).
    nav: RefCell<Option<Nav>>,
}

impl FromRequest for State {
    type Error = HtmlError;
    type Future = Ready<Result<Self, HtmlError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let app = req
            .app_data::<web::Data<App>>()
            .cloned()
            .ok_or_else(|| HtmlError::internal("the application is not configured"));
        let session = req.get_session();
        ready(app.map(|app| State {
            app,
            claim: session::claim(&session),
            session,
            resume: session::resume_path(req),
            nav: RefCell::new(None),
        }))
    }
}

impl State {
    /// Runs `f` with a pooled connection on the database threads, after checking the
    /// request's signed-in session if it claims one (once per request). A session that has
    /// ended is ended in the browser too, and answers [`DomainError::SessionEnded`] (the
    /// login page, then back here) before `f` runs.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DomainError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let check = match (&self.claim, self.nav.borrow().is_some()) {
            (Some(claim), false) => Some((claim.clone(), self.policy())),
            _ => None,
        };
        let now = chrono::Utc::now().naive_utc();
        let ran = self
            .app
            .run(move |c| {
                let nav = match check {
                    Some((claim, policy)) => Some(sessions::check(c, &claim, policy, now)?),
                    None => None,
                };
                Ok((nav, f(c)))
            })
            .await;
        match ran {
            Ok((nav, out)) => {
                if nav.is_some() {
                    *self.nav.borrow_mut() = nav;
                }
                out
            }
            Err(DomainError::SessionEnded(_)) => {
                session::end(&self.session);
                Err(DomainError::SessionEnded(self.resume.clone()))
            }
            Err(e) => Err(e),
        }
    }

    /// A visitor who is not signed in and asks for what is "not found" to them (a private
    /// dataset, or a missing one: the two stay alike) is sent to log in and brought back;
    /// once signed in, a caller without access gets the 404.
    pub fn visitor_may_sign_in(&self, e: DomainError) -> DomainError {
        match e {
            DomainError::NotFound if self.claim.is_none() => {
                DomainError::SessionEnded(self.resume.clone())
            }
            e => e,
        }
    }

    /// The application layer, for a use case that runs its own database calls (a password
    /// change hashes first): the session is checked first, in a call of its own.
    pub async fn app(&self) -> Result<&App, DomainError> {
        if self.claim.is_some() && self.nav.borrow().is_none() {
            self.run(|_| Ok(())).await?;
        }
        Ok(&self.app)
    }

    /// The application layer for a use case that acts for no principal (signing up,
    /// logging in, resetting a forgotten password): nothing to check.
    pub fn for_anyone(&self) -> &App {
        &self.app
    }

    /// The profile menu of the signed-in user, read by the first [`State::run`] (empty for
    /// a visitor, or before).
    pub fn nav(&self) -> Nav {
        self.nav.borrow().clone().unwrap_or_default()
    }

    /// The profile menu, checking the session first if no [`State::run`] has yet.
    pub async fn menu(&self) -> Result<Nav, DomainError> {
        self.app().await?;
        Ok(self.nav())
    }

    /// Where links in emails point and the invitation rules (no database).
    pub fn mailing(&self) -> std::sync::Arc<crate::app::Mailing> {
        self.app.mailing.clone()
    }

    pub fn settings(&self) -> &crate::config::Settings {
        &self.app.settings
    }

    fn policy(&self) -> SessionPolicy {
        let s = &self.app.settings;
        SessionPolicy::new(s.session_idle, s.session_max)
    }
}

/// `?page=N&q=prefix` on list pages.
#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    page: Option<i64>,
    q: Option<String>,
    /// The row added or changed just now, marked in the list.
    highlight: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    pub fn search(&self) -> String {
        self.q
            .as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(39)
            .collect()
    }

    /// The name of the row to mark (a username; anything else marks nothing).
    pub fn highlight(&self) -> String {
        self.highlight
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(39)
            .collect()
    }

    /// The query string the pager appends after `page=N`.
    pub fn pager_suffix(&self) -> String {
        let q = self.search();
        if q.is_empty() {
            String::new()
        } else {
            format!("&q={}", layout::url_encode(&q))
        }
    }
}

/// `?page=N&q=TEXT&role=FILTER` of the member lists.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct MemberQuery {
    page: Option<i64>,
    q: Option<String>,
    role: Option<String>,
    /// A row to mark (issue 16's `?highlight=`).
    highlight: Option<String>,
    /// The page the pager's link was followed from, and where that page ended (`after`) or
    /// began (`before`): see [`crate::models::orgs::Cursor`].
    from: Option<i64>,
    after: Option<String>,
    before: Option<String>,
}

impl MemberQuery {
    pub fn new(page: i64, q: &str, role: crate::domain::roles::RoleFilter) -> Self {
        MemberQuery {
            page: Some(page),
            q: Some(q.to_string()),
            role: Some(role.value()),
            ..Default::default()
        }
    }

    /// The name of the row to mark (a username; anything else marks nothing).
    pub fn highlight(&self) -> String {
        self.highlight
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(39)
            .collect()
    }

    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    pub fn search(&self) -> String {
        crate::app::orgs::search_text(self.q.as_deref().unwrap_or(""))
    }

    /// The role filter; an unknown one is a bad request.
    pub fn role(&self) -> Result<crate::domain::roles::RoleFilter, error::HtmlError> {
        crate::domain::roles::RoleFilter::parse(self.role.as_deref().unwrap_or("").trim())
            .ok_or_else(|| error::HtmlError::bad_request("Unknown role filter."))
    }

    pub fn find(&self) -> Result<crate::app::orgs::FindMembers, error::HtmlError> {
        Ok(crate::app::orgs::FindMembers {
            text: self.search(),
            role: self.role()?,
            cursor: self.cursor(),
        })
    }

    /// Where the page the link came from ended or began; a cursor that is not a name key
    /// is ignored (the page is then read by its number alone).
    fn cursor(&self) -> Option<crate::models::orgs::Cursor> {
        use crate::models::orgs::Cursor;
        let from = self.from?.clamp(1, 1_000_000);
        let key = |k: &Option<String>| {
            k.as_deref()
                .filter(|k| k.len() <= 64 && !k.is_empty())
                .map(crate::domain::names::name_key)
        };
        match (key(&self.after), key(&self.before)) {
            (Some(key), None) => Some(Cursor::After { from, key }),
            (None, Some(key)) => Some(Cursor::Before { from, key }),
            _ => None,
        }
    }

    /// What the pager appends after `page=N`: the search and the filter.
    pub fn pager_suffix(&self) -> String {
        let mut s = String::new();
        let q = self.search();
        if !q.is_empty() {
            s.push_str("&q=");
            s.push_str(&layout::url_encode(&q));
        }
        if let Ok(role) = self.role() {
            let v = role.value();
            if !v.is_empty() {
                s.push_str("&role=");
                s.push_str(&v);
            }
        }
        s
    }

    /// The query string of this very page (`?page=N&...`), to come back to after a change.
    pub fn back(&self) -> String {
        let suffix = self.pager_suffix();
        let query = if self.page() > 1 {
            format!("page={}{suffix}", self.page())
        } else {
            suffix.trim_start_matches('&').to_string()
        };
        if query.is_empty() {
            query
        } else {
            format!("?{query}")
        }
    }
}

/// `?page=N&q=TEXT&sort=name|newest&visibility=public|private` of the lists of datasets.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DatasetQuery {
    page: Option<i64>,
    q: Option<String>,
    sort: Option<String>,
    visibility: Option<String>,
    /// The viewer's effective role on the datasets listed (`role=labeler`).
    role: Option<String>,
}

/// What a list of datasets shows above and below itself: the search, the order, the
/// visibility filter, the count and the pager's query.
#[derive(Debug, Clone)]
pub struct DatasetList {
    pub q: String,
    pub sort: &'static str,
    pub visibility: &'static str,
    /// The role filter: "" for any, else a dataset role's value.
    pub my_role: &'static str,
    pub pager_suffix: String,
}

impl DatasetList {
    /// "1,234 datasets", "1 public dataset matching “cars”".
    pub fn summary(&self, total: &i64) -> String {
        let n = layout::thousands(total);
        let kind = match self.visibility {
            "public" => "public ",
            "private" => "private ",
            _ => "",
        };
        let noun = if *total == 1 { "dataset" } else { "datasets" };
        let mut s = format!("{n} {kind}{noun}");
        if !self.q.is_empty() {
            s.push_str(&format!(" matching “{}”", self.q));
        }
        if let Some(role) = crate::domain::roles::DatasetRole::parse(self.my_role) {
            s.push_str(&format!(" where you are {}", role.label()));
        }
        s
    }

    pub fn is_filtered(&self) -> bool {
        !self.q.is_empty()
            || !self.visibility.is_empty()
            || self.sort != "name"
            || !self.my_role.is_empty()
    }

    /// The choices of the role filter: (value, label).
    pub fn role_choices(&self) -> Vec<(&'static str, &'static str)> {
        use crate::domain::roles::DatasetRole;
        let mut v = vec![("", "Any")];
        for r in DatasetRole::ALL.iter().rev() {
            v.push((r.as_str(), r.label()));
        }
        v
    }
}

impl DatasetQuery {
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    /// The filter; an unknown order or visibility is a bad request.
    pub fn filter(&self) -> Result<crate::models::datasets::DatasetFilter, error::HtmlError> {
        use crate::models::datasets::{DatasetFilter, DatasetSort, Visibility};
        let sort = match self.sort.as_deref().unwrap_or("").trim() {
            "" | "name" => DatasetSort::Name,
            "newest" => DatasetSort::Newest,
            _ => return Err(error::HtmlError::bad_request("Unknown order.")),
        };
        let visibility = match self.visibility.as_deref().unwrap_or("").trim() {
            "" | "any" => Visibility::Any,
            "public" => Visibility::Public,
            "private" => Visibility::Private,
            _ => return Err(error::HtmlError::bad_request("Unknown visibility.")),
        };
        let my_role = match self.role.as_deref().unwrap_or("").trim() {
            "" | "any" => None,
            r => Some(
                crate::domain::roles::DatasetRole::parse(r)
                    .ok_or_else(|| error::HtmlError::bad_request("Unknown role."))?,
            ),
        };
        Ok(DatasetFilter {
            text: crate::app::orgs::search_text(self.q.as_deref().unwrap_or("")),
            visibility,
            sort,
            my_role,
        })
    }

    /// What the page shows of its filter (after [`DatasetQuery::filter`] accepted it).
    pub fn list(&self) -> DatasetList {
        use crate::models::datasets::{DatasetSort, Visibility};
        let filter = self.filter().unwrap_or_default();
        let sort = match filter.sort {
            DatasetSort::Name => "name",
            DatasetSort::Newest => "newest",
        };
        let visibility = match filter.visibility {
            Visibility::Any => "",
            Visibility::Public => "public",
            Visibility::Private => "private",
        };
        let mut suffix = String::new();
        if !filter.text.is_empty() {
            suffix.push_str("&q=");
            suffix.push_str(&layout::url_encode(&filter.text));
        }
        if sort != "name" {
            suffix.push_str("&sort=");
            suffix.push_str(sort);
        }
        if !visibility.is_empty() {
            suffix.push_str("&visibility=");
            suffix.push_str(visibility);
        }
        let my_role = filter.my_role.map_or("", |r| r.as_str());
        if !my_role.is_empty() {
            suffix.push_str("&role=");
            suffix.push_str(my_role);
        }
        DatasetList {
            q: filter.text,
            sort,
            visibility,
            my_role,
            pager_suffix: suffix,
        }
    }
}
