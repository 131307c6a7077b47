//! The HTML surface: server-rendered pages and form posts over a session cookie.
//!
//! Handlers are adapters: they parse the form or the address into a typed command, call one
//! use case of `app` (or one read), and render a page or redirect. They hold no SQL and no
//! permission logic: the use case decides, and templates ask the same permission table to
//! decide which controls to show. Here too: the session store and the principal it yields,
//! CSRF, the error pages, and the embedded static assets.

pub mod accounts;
pub mod api_docs;
pub mod api_keys;
pub mod assets;
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

/// What every handler receives: the application layer.
pub type State = actix_web::web::Data<crate::app::App>;

/// `?page=N&q=prefix` on list pages.
#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    page: Option<i64>,
    q: Option<String>,
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
