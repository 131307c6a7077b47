//! Test harness: the real application on port 0 with a fresh database per test, on SQLite
//! (a temporary file) or PostgreSQL (a schema of its own in `TEST_DATABASE_URL`), and a
//! browser-like client that keeps cookies, does not follow redirects, and sends CSRF tokens.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use colabel::config::Settings;
use colabel::db::{Db, DbConn};
use colabel::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, Response, StatusCode};

pub const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running application and its database.
#[allow(dead_code)]
pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub backend: Backend,
    /// The settings it was built with (database URL, session key, ...).
    pub settings: Settings,
    /// The application layer it runs (its password hasher's counters, ...).
    pub state: colabel::app::App,
    _cleanup: Cleanup,
    /// The folder of `.eml` files when no SMTP server is configured.
    _mail_dir: Option<tempfile::TempDir>,
}

#[allow(dead_code)]
enum Cleanup {
    File(tempfile::TempDir),
    Schema {
        admin_url: String,
        schema: String,
    },
    /// A second instance on another one's database, which that one cleans up.
    Shared,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Schema { admin_url, schema } = self {
            if let Ok(mut c) = PgConnection::establish(admin_url) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Tests reach PostgreSQL on loopback and ask for no TLS unless the URL chooses. libpq's
/// OpenSSL is not safe at process exit: its atexit cleanup runs while the pool threads of
/// applications still alive open connections, which crashed a test binary with SIGSEGV after
/// every test had passed (diesel-rs/diesel#3441, rust-openssl#1133).
fn without_tls(url: String) -> String {
    if url.contains("sslmode=") {
        return url;
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}sslmode=disable")
}
/// The PostgreSQL server for tests, or `None` (with a note) when a local run has none.
/// Under `CI=true` a missing `TEST_DATABASE_URL` fails the test.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(without_tls(url)),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL half cannot be skipped in CI");
            }
            eprintln!(
                "note: TEST_DATABASE_URL is not set; the PostgreSQL half of this test was skipped"
            );
            None
        }
    }
}

pub fn test_settings(database_url: String) -> Settings {
    let mut s = Settings::from_lookup(|_| None).expect("default settings");
    s.database_url = database_url;
    s.addr = "127.0.0.1:0".into();
    s.secure_cookies = false;
    s.bcrypt_cost = 4;
    s.hash_concurrency = 2;
    s.pool_size = 6;
    s.workers = 2;
    s.session_key = Some(vec![7u8; 64]);
    // The job worker: quick polls and retries, a short lease.
    s.jobs.poll = std::time::Duration::from_millis(100);
    s.jobs.retry_base = std::time::Duration::from_millis(200);
    s.jobs.retry_max = std::time::Duration::from_secs(2);
    s.jobs.max_attempts = 3;
    s.jobs.lease = std::time::Duration::from_secs(5);
    s.mail.smtp_timeout = std::time::Duration::from_secs(2);
    s
}

impl TestApp {
    /// Starts the application on `backend`; `None` when PostgreSQL is not configured locally.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(
        backend: Backend,
        tweak: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("colabel.db").display());
                (url, Cleanup::File(dir))
            }
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let schema = format!("t_{}_{}_{}", std::process::id(), n, rand_suffix());
                let mut c =
                    PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
                c.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
                (url, Cleanup::Schema { admin_url, schema })
            }
        };
        let mut settings = test_settings(url);
        tweak(&mut settings);
        // Messages go to a folder of the test's own unless it configured a server.
        let mail_dir = (settings.mail.smtp_url.is_none() && settings.mail.dir.is_none())
            .then(|| tempfile::tempdir().expect("a mail folder"));
        if let Some(dir) = &mail_dir {
            settings.mail.dir = Some(dir.path().to_path_buf());
        }
        let app = Application::build(settings.clone()).expect("application starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.state.db.clone();
        let state = app.state.clone();
        actix_web::rt::spawn(app.run_until_stopped());
        Some(TestApp {
            base,
            db,
            backend,
            settings,
            state,
            _cleanup: cleanup,
            _mail_dir: mail_dir,
        })
    }

    /// Starts a second application with this one's settings (the same database and session
    /// key) on another port, as a second Colabel process would run. The database stays this
    /// one's to clean up.
    #[allow(dead_code)]
    pub fn spawn_second_instance(&self) -> TestApp {
        let app = Application::build(self.settings.clone()).expect("second instance starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.state.db.clone();
        let state = app.state.clone();
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            base,
            db,
            backend: self.backend,
            settings: self.settings.clone(),
            state,
            _cleanup: Cleanup::Shared,
            _mail_dir: None,
        }
    }

    /// A new browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// A new browser whose connections come from `ip` (any of 127.0.0.0/8 on loopback), as
    /// a client at another address would.
    #[allow(dead_code)]
    pub fn browser_from(&self, ip: &str) -> Browser {
        let ip: std::net::IpAddr = ip.parse().expect("an address");
        Browser::configured(&self.base, |c| c.local_address(ip))
    }

    /// A new browser that sends `headers` with every request (a proxy's `X-Forwarded-For`).
    #[allow(dead_code)]
    pub fn browser_with(&self, headers: &[(&str, &str)]) -> Browser {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.append(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                reqwest::header::HeaderValue::from_str(v).unwrap(),
            );
        }
        Browser::configured(&self.base, |c| c.default_headers(map))
    }

    /// How many passwords the application has checked so far (bcrypt verifications).
    #[allow(dead_code)]
    pub fn passwords_checked(&self) -> u64 {
        self.state.hasher.verifications()
    }

    /// Signs up `username` (email `username@example.com`, password [`PASSWORD`]) and returns
    /// the signed-in browser.
    pub async fn user(&self, username: &str) -> Browser {
        let b = self.browser();
        let res = b
            .post(
                "/signup",
                &[
                    ("username", username),
                    ("email", &format!("{username}@example.com")),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "signup of {username} failed"
        );
        b
    }

    pub fn conn(&self) -> r2d2::PooledConnection<colabel::db::Manager> {
        self.db.get().expect("connection")
    }

    /// Runs `f` on a connection of the application's database (for checks and set-up).
    pub fn with_db<T>(&self, f: impl FnOnce(&mut DbConn) -> T) -> T {
        let mut c = self.conn();
        f(&mut c)
    }

    /// How many SQL statements the application has run so far.
    #[allow(dead_code)]
    pub fn queries(&self) -> u64 {
        self.db.queries.get()
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:x}")
}

/// A cookie-keeping client that does not follow redirects.
pub struct Browser {
    pub base: String,
    pub client: Client,
    pub jar: Arc<Jar>,
    token: std::sync::Mutex<Option<String>>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self::configured(base, |c| c)
    }

    /// A browser whose client `configure` adjusts (its source address, default headers).
    pub fn configured(
        base: &str,
        configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Self {
        let jar = Arc::new(Jar::default());
        let client = configure(Client::builder())
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            // The server closes connections idle for 5 s; never reuse one that old, or a
            // request can race the close (hyper's IncompleteMessage).
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        Browser {
            base: base.to_string(),
            client,
            jar,
            token: std::sync::Mutex::new(None),
        }
    }

    /// A browser that sends `cookie` and keeps no jar (to replay an old cookie).
    pub fn with_cookie(base: &str, cookie: &str) -> Self {
        let b = Browser::new(base);
        b.jar.add_cookie_str(cookie, &base.parse().unwrap());
        b
    }

    /// The `Cookie` header this browser would send.
    pub fn cookie(&self) -> String {
        self.jar
            .cookies(&self.base.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .expect("GET")
    }

    #[allow(dead_code)]
    pub async fn head(&self, path: &str) -> Response {
        self.client
            .head(format!("{}{}", self.base, path))
            .send()
            .await
            .expect("HEAD")
    }

    /// GET and return the status and body.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    /// The CSRF token of this browser's session, read from a page with a form.
    pub async fn token(&self) -> String {
        if let Some(t) = self.token.lock().unwrap().clone() {
            return t;
        }
        let (_, body) = self.page("/login").await;
        let body = if body.contains("csrf_token") {
            body
        } else {
            self.page("/settings").await.1
        };
        let t = extract_token(&body).expect("a csrf token on /login or /settings");
        *self.token.lock().unwrap() = Some(t.clone());
        t
    }

    pub fn forget_token(&self) {
        *self.token.lock().unwrap() = None;
    }

    /// POSTs a form with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        let cookie = self.cookie();
        let res = self
            .post_raw(path, serde_urlencoded::to_string(&all).unwrap())
            .await;
        // Logins, signups and logouts start a new session with a new token; so does a
        // password change (a new session cookie).
        if ["/login", "/signup", "/logout"]
            .iter()
            .any(|p| path.starts_with(p))
            || self.cookie() != cookie
        {
            self.forget_token();
        }
        res
    }

    /// POSTs a raw form body (no token added).
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(format!("{}{}", self.base, path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// Follows a 303 with a GET, as a browser does, and returns the page it leads to.
    #[allow(dead_code)]
    pub async fn follow(&self, res: Response) -> (StatusCode, String) {
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "expected a redirect to follow"
        );
        self.page(&location(&res)).await
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post("/login", &[("login", login), ("password", password)])
            .await
    }
}

pub fn extract_token(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_string())
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Asserts a 303 to `to`.
pub fn assert_redirect(res: &Response, to: &str) {
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "expected a redirect to {to}"
    );
    assert_eq!(location(res), to);
}

/// Runs one test body on SQLite and on PostgreSQL: `db_test!(async fn name(app) { ... })`
/// makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: $crate::helpers::TestApp) $body

            $(#[$meta])*
            #[actix_web::test]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                body(app).await;
            }

            $(#[$meta])*
            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                    body(app).await;
                }
            }
        }
    };
}

/// Like [`db_test!`], on an application whose settings `$tweak` (a `fn(&mut Settings)`)
/// adjusts first: `db_test_with!(tweak, async fn name(app) { ... })`.
#[macro_export]
macro_rules! db_test_with {
    ($tweak:expr, $(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: $crate::helpers::TestApp) $body

            $(#[$meta])*
            #[actix_web::test]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Sqlite, $tweak).await.unwrap();
                body(app).await;
            }

            $(#[$meta])*
            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Postgres, $tweak).await {
                    body(app).await;
                }
            }
        }
    };
}

/// Everything a refused request must leave unchanged: accounts, organizations,
/// memberships, datasets, collaborators, credentials and the number of audit events
/// (sessions and login throttles are not part of it).
pub fn snapshot(app: &TestApp) -> String {
    use colabel::schema::{
        accounts, audit_events, collaborators, datasets, memberships, organizations, users,
    };
    use diesel::prelude::*;
    app.with_db(|c| {
        let a: Vec<(i32, String, String, String)> = accounts::table
            .order(accounts::id)
            .select((
                accounts::id,
                accounts::username,
                accounts::kind,
                accounts::display_name,
            ))
            .load(c)
            .unwrap();
        let o: Vec<(i32, String, String, i32)> = organizations::table
            .order(organizations::id)
            .select((
                organizations::id,
                organizations::description,
                organizations::contact_email,
                organizations::member_count,
            ))
            .load(c)
            .unwrap();
        let m: Vec<(i32, i32, String, Option<String>)> = memberships::table
            .order(memberships::id)
            .select((
                memberships::org_id,
                memberships::user_id,
                memberships::role,
                memberships::default_dataset_role,
            ))
            .load(c)
            .unwrap();
        let d: Vec<(i32, i32, String, String, String, bool)> = datasets::table
            .order(datasets::id)
            .select((
                datasets::id,
                datasets::owner_id,
                datasets::name,
                datasets::description,
                datasets::task_type,
                datasets::is_public,
            ))
            .load(c)
            .unwrap();
        let u: Vec<(i32, String, String)> = users::table
            .order(users::id)
            .select((users::id, users::email, users::password_hash))
            .load(c)
            .unwrap();
        let k: Vec<(i32, i32, String)> = collaborators::table
            .order(collaborators::id)
            .select((
                collaborators::dataset_id,
                collaborators::user_id,
                collaborators::role,
            ))
            .load(c)
            .unwrap();
        let e: i64 = audit_events::table.count().get_result(c).unwrap();
        format!("{a:?}\n{o:?}\n{m:?}\n{d:?}\n{k:?}\n{u:?}\n{e}")
    })
}

/// The id of the account named `name` (in any case), if there is one.
pub fn find_account_id(c: &mut DbConn, name: &str) -> Option<i32> {
    use colabel::schema::accounts;
    use diesel::prelude::*;
    accounts::table
        .filter(accounts::username_key.eq(name.to_ascii_lowercase()))
        .select(accounts::id)
        .first(c)
        .optional()
        .unwrap()
}

/// How many organizations have no administrator (SPEC 4: there must be none).
pub fn orgs_without_admin(c: &mut DbConn) -> i64 {
    use colabel::schema::{memberships, organizations};
    use diesel::prelude::*;
    organizations::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            memberships::table
                .filter(memberships::org_id.eq(organizations::id))
                .filter(memberships::role.eq("admin")),
        )))
        .count()
        .get_result(c)
        .unwrap()
}

/// The application on `backend` with its mail going to a real SMTP server of its own (see
/// `smtp.rs`); `None` when PostgreSQL or `TEST_PYTHON` is not configured locally.
#[allow(dead_code)]
pub async fn spawn_with_sink(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> Option<(TestApp, crate::smtp::SmtpSink)> {
    if backend == Backend::Postgres {
        postgres_url()?;
    }
    let sink = crate::smtp::SmtpSink::start()?;
    let url = sink.url();
    let app = TestApp::spawn_with(backend, |s| {
        s.mail.smtp_url = Some(url);
        tweak(s)
    })
    .await?;
    Some((app, sink))
}

/// Like `db_test!`, with a real SMTP server: `mail_test!(async fn name(app, sink) { ... })`,
/// or `mail_test!(async fn name(app, sink) with |s| { ...settings... } { ... })`.
#[macro_export]
macro_rules! mail_test {
    ($(#[$meta:meta])* async fn $name:ident($app:ident, $sink:ident) $body:block) => {
        $crate::mail_test!($(#[$meta])* async fn $name($app, $sink) with |_s| {} $body);
    };
    ($(#[$meta:meta])* async fn $name:ident($app:ident, $sink:ident) with |$s:ident| $tweak:block $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: $crate::helpers::TestApp, $sink: $crate::smtp::SmtpSink) $body

            #[allow(unused_variables)]
            fn tweak($s: &mut colabel::config::Settings) $tweak

            $(#[$meta])*
            #[actix_web::test]
            async fn sqlite() {
                if let Some((app, sink)) = $crate::helpers::spawn_with_sink($crate::helpers::Backend::Sqlite, tweak).await {
                    body(app, sink).await;
                }
            }

            $(#[$meta])*
            #[actix_web::test]
            async fn postgres() {
                if let Some((app, sink)) = $crate::helpers::spawn_with_sink($crate::helpers::Backend::Postgres, tweak).await {
                    body(app, sink).await;
                }
            }
        }
    };
}

/// How long a test waits for a message.
#[allow(dead_code)]
pub const MAIL_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Follows the newest verification link sent to `email` with `b` (the user's browser).
#[allow(dead_code)]
pub async fn verify_email(b: &Browser, sink: &crate::smtp::SmtpSink, email: &str) {
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    let token = loop {
        let found = sink
            .to(email)
            .into_iter()
            .rev()
            .find_map(|m| m.token_of("/email/verify"));
        if let Some(t) = found {
            break t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no verification link reached {email}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let res = b.post("/email/verify", &[("token", &token)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "verifying {email}");
}

/// The flash message (or the first alert) of a page.
#[allow(dead_code)]
pub fn flash_of(html: &str) -> String {
    let Some(at) = html.find("class=\"flash") else {
        return String::new();
    };
    let rest = &html[at..];
    let start = rest.find('>').map_or(0, |i| i + 1);
    let end = rest.find("</div>").unwrap_or(rest.len());
    rest[start..end].to_string()
}

/// The Python interpreter of the test tools (`tests/requirements.txt`, installed by `.ci/run`
/// into a virtual environment), or `None` (with a note) when a local run has none. Under
/// `CI=true` a missing `TEST_PYTHON` fails the test.
#[allow(dead_code)]
pub fn test_python() -> Option<String> {
    match std::env::var("TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but TEST_PYTHON is not set: the Python test tools cannot be skipped in CI");
            }
            eprintln!(
                "note: TEST_PYTHON is not set (see tests/requirements.txt); this test was skipped"
            );
            None
        }
    }
}

/// A JSON API client with (or without) an API key, as the SDK sends requests.
#[allow(dead_code)]
pub struct Api {
    pub base: String,
    pub client: Client,
    pub key: Option<String>,
    /// When set, each request comes from a new client address (`X-Forwarded-For`, for an
    /// app that trusts loopback as its proxy): a caller whose every request is a failed
    /// attempt is then never throttled, the throttle counting per address.
    spread: Option<std::sync::Arc<std::sync::atomic::AtomicU32>>,
}

/// What an API request answered.
#[allow(dead_code)]
pub struct ApiAnswer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

#[allow(dead_code)]
impl ApiAnswer {
    /// The body as JSON (panics when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    /// `detail` of an error body.
    pub fn detail(&self) -> String {
        self.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// For `db_test_with!`: the app believes `X-Forwarded-*` from loopback, as behind a proxy.
#[allow(dead_code)]
pub fn trust_loopback(s: &mut colabel::config::Settings) {
    s.trusted_proxies = colabel::client::TrustedProxies::parse("127.0.0.1, ::1").unwrap();
}

#[allow(dead_code)]
impl Api {
    pub fn new(base: &str, key: Option<&str>) -> Self {
        Api {
            base: base.to_string(),
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .unwrap(),
            key: key.map(str::to_string),
            spread: None,
        }
    }

    /// Sends every request from a new client address (see `spread`).
    pub fn with_many_addresses(mut self) -> Self {
        self.spread = Some(Default::default());
        self
    }

    /// Sends `method path` with the key, and `body` as JSON when given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> ApiAnswer {
        let mut req = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{}", self.base, path),
        );
        if let Some(k) = &self.key {
            req = req.header("Authorization", format!("APIKey {k}"));
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.answer(req).await
    }

    /// Sends a raw body with a content type.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> ApiAnswer {
        let mut req = self
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{}", self.base, path),
            )
            .header("content-type", content_type)
            .body(body);
        if let Some(k) = &self.key {
            req = req.header("Authorization", format!("APIKey {k}"));
        }
        self.answer(req).await
    }

    async fn answer(&self, mut req: reqwest::RequestBuilder) -> ApiAnswer {
        if let Some(n) = &self.spread {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let address = std::net::Ipv4Addr::from(0x0a00_0000 + n);
            req = req.header("x-forwarded-for", address.to_string());
        }
        let res = req.send().await.expect("API request");
        let status = res.status();
        let headers = res.headers().clone();
        ApiAnswer {
            status,
            headers,
            text: res.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> ApiAnswer {
        self.send("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> ApiAnswer {
        self.send("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> ApiAnswer {
        self.send("PATCH", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> ApiAnswer {
        self.send("DELETE", path, None).await
    }
}

#[allow(dead_code)]
impl TestApp {
    /// Creates an API key named `name` on `browser`'s settings page and returns its text.
    pub async fn api_key(&self, browser: &Browser, name: &str) -> String {
        let res = browser.post("/settings/api-keys", &[("name", name)]).await;
        assert_eq!(res.status(), StatusCode::OK, "creating the API key {name}");
        let body = res.text().await.unwrap();
        let at = body
            .find("<code id=\"new-key\">")
            .expect("the new key is shown")
            + 19;
        body[at..at + body[at..].find('<').unwrap()].to_string()
    }

    /// A signed-up user and an API client with a key of theirs.
    pub async fn api_user(&self, username: &str) -> (Browser, Api) {
        let b = self.user(username).await;
        let key = self.api_key(&b, "tests").await;
        (b, Api::new(&self.base, Some(&key)))
    }
}

/// `html` with its CSRF tokens blanked: pages mask the token afresh every time, so two
/// answers that should be the same page differ only there.
#[allow(dead_code)]
pub fn without_tokens(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at + marker.len()]);
        rest = &rest[at + marker.len()..];
        rest = &rest[rest.find('"').unwrap_or(0)..];
    }
    out.push_str(rest);
    out
}
