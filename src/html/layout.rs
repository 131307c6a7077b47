//! What every page shares: the layout context (`base.html`), flash messages, rendering,
//! redirects and the small helpers of addresses.

use actix_session::{Session, SessionExt};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::app::{DomainError, FieldErrors, Principal};
use crate::html::error::HtmlError;
use crate::models::orgs::Nav;

/// A one-time message shown on the next page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    pub kind: String,
    pub text: String,
    /// The row the message is about (a username), marked on the next page's list.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mark: String,
}

const FLASH_KEY: &str = "flash";

/// The longest flash message, in bytes of UTF-8: the message travels in the signed session
/// cookie (hex-encoded JSON, so each byte takes two or four), which browsers keep only up
/// to 4 KB. A message naming many members is cut, with an ellipsis, rather than losing the
/// session.
pub const FLASH_MAX_BYTES: usize = 600;

fn fit(text: String) -> String {
    if text.len() <= FLASH_MAX_BYTES {
        return text;
    }
    let mut at = FLASH_MAX_BYTES;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    format!("{}…", &text[..at])
}

fn set_flash(session: &Session, kind: &str, mark: &str, text: String) {
    // A username is at most 39 characters; anything longer is not a row's name.
    let mark = if mark.len() <= 64 { mark } else { "" };
    let _ = session.insert(
        FLASH_KEY,
        Flash {
            kind: kind.into(),
            text: fit(text),
            mark: mark.to_string(),
        },
    );
}

pub fn flash_success(session: &Session, text: impl Into<String>) {
    set_flash(session, "success", "", text.into());
}

/// A success message about one row of the next page's list (`mark`, a username): the row
/// is marked there.
pub fn flash_marking(session: &Session, mark: &str, text: impl Into<String>) {
    set_flash(session, "success", mark, text.into());
}

pub fn flash_error(session: &Session, text: impl Into<String>) {
    set_flash(session, "error", "", text.into());
}

/// The part of every page that the layout (`base.html`) reads.
pub struct Layout {
    pub user: Option<Principal>,
    session: Session,
    pub flash: Option<Flash>,
    /// The user's organizations, for the profile menu.
    pub orgs: Vec<String>,
    /// The user's address while it is not verified (the banner asks to verify it).
    pub unverified_email: Option<String>,
    pub title: String,
    /// The masked CSRF token of this page, made once: every form of a response carries the
    /// same one (a page of 50 member rows has over 100 forms; masking each was 9 % of the
    /// page's time). Masking defeats BREACH across responses, which is where it needs to
    /// differ: each page gets a new mask.
    csrf: std::cell::OnceCell<String>,
}

impl Layout {
    pub fn new(
        session: &Session,
        user: Option<&Principal>,
        nav: impl Into<Nav>,
        title: impl Into<String>,
    ) -> Self {
        let nav = nav.into();
        // Only touch the session when there is a message: an untouched session of a visitor
        // is never written, so pages without forms cost no database work.
        let flash = if session.contains_key(FLASH_KEY) {
            session.remove_as::<Flash>(FLASH_KEY).and_then(Result::ok)
        } else {
            None
        };
        Layout {
            user: user.cloned(),
            session: session.clone(),
            flash,
            orgs: nav.orgs,
            unverified_email: nav.unverified_email,
            title: title.into(),
            csrf: std::cell::OnceCell::new(),
        }
    }

    /// For error pages: no database access, no new token.
    pub fn bare(session: &Session, title: &str) -> Self {
        Layout {
            user: crate::html::session::principal(session),
            session: session.clone(),
            flash: None,
            orgs: Vec::new(),
            unverified_email: None,
            title: title.into(),
            csrf: std::cell::OnceCell::new(),
        }
    }

    /// The session's CSRF token (made when a page first shows a form), masked for this page.
    pub fn csrf(&self) -> &str {
        self.csrf
            .get_or_init(|| crate::html::csrf::masked(&crate::html::csrf::token(&self.session)))
    }

    pub fn asset(&self, name: &str) -> String {
        crate::html::assets::url(name)
    }

    /// The letter shown in an account's round avatar.
    pub fn initial(&self, name: &str) -> char {
        name.chars()
            .next()
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or('?')
    }
}

/// Renders a page with a status (200 for pages, 422 for forms shown again with errors).
pub fn render<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, HtmlError> {
    let html = render_html(page)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

thread_local! {
    /// How long each template's page last came out on this thread, by the template's size
    /// hint (askama's sum of its literal text, distinct enough per template; two templates
    /// that happen to share one size each other's buffers, which costs a regrowth, no more).
    static PAGE_SIZES: std::cell::RefCell<std::collections::HashMap<usize, usize>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Renders a page into a buffer as long as the same template's last page, so that a page of
/// 120 KB is written once rather than copied through every doubling of a buffer that starts
/// at the template's few kilobytes of literal text (4-5 % of the members subtab's CPU).
/// The guess is capped, so that one unusually long page does not make the next one of its
/// template hold a buffer that size.
pub fn render_html<T: Template>(page: &T) -> askama::Result<String> {
    const MOST: usize = 512 * 1024;
    let guess = PAGE_SIZES.with(|s| s.borrow().get(&T::SIZE_HINT).copied());
    let mut html = String::new();
    let _ = html.try_reserve(guess.map_or(T::SIZE_HINT, |n| (n + n / 8).min(MOST)));
    page.render_into(&mut html)?;
    PAGE_SIZES.with(|s| s.borrow_mut().insert(T::SIZE_HINT, html.len()));
    Ok(html)
}

pub fn ok(page: &impl Template) -> Result<HttpResponse, HtmlError> {
    render(StatusCode::OK, page)
}

pub fn invalid(page: &impl Template) -> Result<HttpResponse, HtmlError> {
    render(StatusCode::UNPROCESSABLE_ENTITY, page)
}

/// A 303 to `to`, the answer to a successful form.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to))
        .finish()
}

/// Percent-encodes a query-string value.
pub fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A path that is safe to return to after login: local, never `//host` or `/\host`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.chars().any(|c| c.is_control() || c == '\\') =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The messages a form shows again for a refused command: its own field errors, or the one
/// message `field_for` assigns to a field for this refusal. Any other refusal is not the
/// form's to show, and is returned as it is (an error page, a 403, a 404).
pub fn form_errors(
    e: DomainError,
    field_for: impl FnOnce(&DomainError) -> Option<(&'static str, String)>,
) -> Result<FieldErrors, DomainError> {
    match e {
        DomainError::Invalid(errors) => Ok(errors),
        e => match field_for(&e) {
            Some((field, message)) => {
                let mut errors = FieldErrors::default();
                errors.add(field, message);
                Ok(errors)
            }
            None => Err(e),
        },
    }
}

/// Marks every page of a session `Cache-Control: no-store`: a signed-in user's pages, and
/// every page of a visitor whose session holds a CSRF token (the forms). A visitor's pages
/// without a form (the landing page, public datasets) may be cached. Runs inside the session
/// middleware and outside the error pages, so it sees the final page.
pub async fn no_store(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let session = req.get_session();
    let mut res = next.call(req).await?;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !session.entries().is_empty() {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_flash_is_cut_to_fit_the_cookie() {
        assert_eq!(fit("short".into()), "short");
        let long: String = "a😀".repeat(2000);
        let cut = fit(long);
        assert!(
            cut.len() <= FLASH_MAX_BYTES + '…'.len_utf8(),
            "{}",
            cut.len()
        );
        assert!(cut.ends_with('…'));
        let exact: String = "x".repeat(FLASH_MAX_BYTES);
        assert_eq!(fit(exact.clone()), exact);
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/acme/members")), "/acme/members");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}

/// `n` with a comma between thousands: `10,000`.
pub fn thousands(n: &i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if *n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The page numbers a pager links to around `page` of `pages`: the first, the last and two
/// on each side of the current one; `None` stands for a gap ("…").
/// The links of a numbered pager: first, previous, the neighbours of the current page, next
/// and last. A list read by keyset ([`Pager::with_ends`]) makes its links to nearby pages say
/// where this page began or ended (`from=N&after=KEY` or `from=N&before=KEY`), so the page
/// they open is read from there in the index instead of after skipping every row before it.
pub struct Pager {
    base: String,
    pub page: i64,
    pub pages: i64,
    query: String,
    /// The keys of this page's first and last rows.
    ends: Option<(String, String)>,
}

impl Pager {
    pub fn new(
        base: impl std::fmt::Display,
        page: impl std::borrow::Borrow<i64>,
        pages: impl std::borrow::Borrow<i64>,
        query: impl std::fmt::Display,
    ) -> Self {
        Pager {
            base: base.to_string(),
            page: *page.borrow(),
            pages: *pages.borrow(),
            query: query.to_string(),
            ends: None,
        }
    }

    /// The keys of this page's first and last rows, for the links to read from.
    pub fn with_ends(mut self, ends: Option<(String, String)>) -> Self {
        self.ends = ends;
        self
    }

    /// The page before this one (the last one, from a page past the end).
    pub fn previous(&self) -> i64 {
        if self.page > self.pages {
            self.pages
        } else {
            self.page - 1
        }
    }

    pub fn numbers(&self) -> Vec<Option<i64>> {
        page_numbers(&self.page, &self.pages)
    }

    /// The link to page `n`.
    pub fn href(&self, n: impl std::borrow::Borrow<i64>) -> String {
        let n = *n.borrow();
        let mut s = format!("{}?page={n}{}", self.base, self.query);
        if let Some((first, last)) = &self.ends {
            if self.page <= self.pages {
                if n > self.page {
                    s.push_str(&format!("&from={}&after={}", self.page, url_encode(last)));
                } else if n < self.page && n > 1 {
                    s.push_str(&format!("&from={}&before={}", self.page, url_encode(first)));
                }
            }
        }
        s
    }
}

pub fn page_numbers(page: &i64, pages: &i64) -> Vec<Option<i64>> {
    let (page, pages) = (*page, *pages);
    let mut out = Vec::new();
    let mut last = 0;
    for n in 1..=pages {
        if n == 1 || n == pages || (n - page).abs() <= 2 {
            if n > last + 1 {
                out.push(None);
            }
            out.push(Some(n));
            last = n;
        }
    }
    out
}

#[cfg(test)]
mod pager_tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(&0), "0");
        assert_eq!(thousands(&999), "999");
        assert_eq!(thousands(&1000), "1,000");
        assert_eq!(thousands(&10000), "10,000");
        assert_eq!(thousands(&1234567), "1,234,567");
        assert_eq!(thousands(&-1200), "-1,200");
    }

    #[test]
    fn pagers_show_the_ends_and_the_neighbours() {
        assert_eq!(page_numbers(&1, &1), vec![Some(1)]);
        assert_eq!(page_numbers(&1, &3), vec![Some(1), Some(2), Some(3)]);
        assert_eq!(
            page_numbers(&100, &200),
            vec![
                Some(1),
                None,
                Some(98),
                Some(99),
                Some(100),
                Some(101),
                Some(102),
                None,
                Some(200)
            ]
        );
        assert_eq!(
            page_numbers(&4, &5),
            vec![Some(1), Some(2), Some(3), Some(4), Some(5)]
        );
        // Past the end: the ends only.
        assert_eq!(page_numbers(&999, &200), vec![Some(1), None, Some(200)]);
    }
}

/// An account name as a page writes it, many times a row (ids, labels, links): a name made
/// by the forms has only letters, digits, `-` and `_`
/// ([`crate::domain::names::has_name_characters`]), which need no escaping, so it is checked
/// once here and written as it is; any other text (a row from elsewhere) is escaped once.
/// Askama writes an [`askama::filters::HtmlSafe`] value without escaping it again.
pub enum Name<'a> {
    Plain(&'a str),
    Escaped(String),
}

impl<'a> Name<'a> {
    pub fn of(name: &'a str) -> Self {
        if crate::domain::names::has_name_characters(name) {
            Name::Plain(name)
        } else {
            Name::Escaped(
                askama::filters::escape(name, askama::filters::Html)
                    .expect("escaping cannot fail")
                    .to_string(),
            )
        }
    }
}

impl Name<'_> {
    fn as_str(&self) -> &str {
        match self {
            Name::Plain(s) => s,
            Name::Escaped(s) => s,
        }
    }
}

impl std::fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Askama's direct path: the text is copied into the page without `core::fmt`'s machinery
/// (a subtab row writes a name fifteen times).
impl askama::FastWritable for Name<'_> {
    fn write_into(
        &self,
        dest: &mut dyn std::fmt::Write,
        _: &dyn askama::Values,
    ) -> askama::Result<()> {
        Ok(dest.write_str(self.as_str())?)
    }
}

impl askama::filters::HtmlSafe for Name<'_> {}

#[cfg(test)]
mod name_tests {
    use super::Name;

    #[test]
    fn a_name_is_written_as_it_is_and_anything_else_escaped() {
        assert!(matches!(
            Name::of("user-15_000"),
            Name::Plain("user-15_000")
        ));
        assert_eq!(
            Name::of(r#"a"><script>&'"#).to_string(),
            "a&#34;&#62;&#60;script&#62;&#38;&#39;"
        );
    }

    #[derive(askama::Template)]
    #[template(
        source = "{% for n in names %}<a href=\"/{{ n }}\">{{ n }}</a>{% endfor %}",
        ext = "html"
    )]
    struct Links<'a> {
        names: Vec<Name<'a>>,
    }

    #[test]
    fn names_write_the_same_through_askama_and_a_page_gets_the_room_its_last_one_took() {
        let names = || vec![Name::of("user1"), Name::of("a<b")];
        let first = super::render_html(&Links { names: names() }).unwrap();
        assert_eq!(
            first,
            r#"<a href="/user1">user1</a><a href="/a&#60;b">a&#60;b</a>"#
        );
        let many = Links {
            names: (0..500).map(|_| Name::of("user15000")).collect(),
        };
        let long = super::render_html(&many).unwrap();
        // The next page of the same template starts with the room the last one needed.
        let next = super::render_html(&Links { names: names() }).unwrap();
        assert_eq!(next, first);
        assert!(
            next.capacity() >= long.len(),
            "{} < {}",
            next.capacity(),
            long.len()
        );
    }
}
