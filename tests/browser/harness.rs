//! The browser harness: Colabel on a loopback port with a fresh database, a chromedriver of
//! our own on a free loopback port, headless Chromium sessions driven by fantoccini, and
//! screenshots written to `screenshots/` at the repository root.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use colabel::config::Settings;
use colabel::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a wait for an element, a page or a condition may take before the test fails.
const WAIT: Duration = Duration::from_secs(15);
/// The viewport the tests click in, and the one restored after each screenshot.
const WORK_SIZE: (u32, u32) = (1280, 800);
/// The viewports of every screenshot: (file name suffix, width, height).
pub const SIZES: [(&str, u32, u32); 2] = [("laptop", 1280, 800), ("phone", 390, 844)];
/// The narrowest phone the pages must work on (issue 16): used by the tests that check it.
pub const SMALL: (&str, u32, u32) = ("small", 320, 640);

/// One browser test at a time: Chromium is heavy for a 2-core machine shared with builds.
static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether Chromium and chromedriver are installed. A local run without them prints that the
/// browser tests were skipped; under `CI=true` a missing browser fails the test.
pub fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if ci() {
        panic!(
            "CI=true but {} is missing: the browser tests cannot be skipped in CI \
             (apt-get install chromium chromium-driver)",
            missing.join(" and ")
        );
    }
    eprintln!("browser tests skipped: chromium/chromedriver not installed");
    false
}

// ---------------------------------------------------------------------------------------------
// The application

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Colabel running on a loopback port with a database of its own.
pub struct TestApp {
    pub base: String,
    _cleanup: Cleanup,
    /// The folder of `.eml` files when no SMTP server is configured.
    _mail_dir: Option<tempfile::TempDir>,
}

#[allow(dead_code)]
enum Cleanup {
    File(tempfile::TempDir),
    Schema { admin_url: String, schema: String },
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
fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(without_tls(url)),
        _ => {
            if ci() {
                panic!("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL half cannot be skipped in CI");
            }
            eprintln!(
                "note: TEST_DATABASE_URL is not set; the PostgreSQL half of this test was skipped"
            );
            None
        }
    }
}

fn test_settings(database_url: String) -> Settings {
    let mut s = Settings::from_lookup(|_| None).expect("default settings");
    s.database_url = database_url;
    s.addr = "127.0.0.1:0".into();
    s.secure_cookies = false;
    s.bcrypt_cost = 4;
    s.hash_concurrency = 2;
    s.pool_size = 6;
    s.workers = 2;
    s.session_key = Some(vec![7u8; 64]);
    s
}

impl TestApp {
    /// Starts Colabel on `backend`; `None` when PostgreSQL is not configured locally.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with the settings changed by `tweak` (an SMTP server).
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
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos();
                let schema = format!("b_{}_{}_{:x}", std::process::id(), n, nanos);
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
        let mail_dir = (settings.mail.smtp_url.is_none() && settings.mail.dir.is_none())
            .then(|| tempfile::tempdir().expect("a mail folder"));
        if let Some(dir) = &mail_dir {
            settings.mail.dir = Some(dir.path().to_path_buf());
        }
        settings.jobs.poll = Duration::from_millis(100);
        let app = Application::build(settings).expect("application starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        Some(TestApp {
            base,
            _cleanup: cleanup,
            _mail_dir: mail_dir,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// chromedriver

/// A chromedriver of our own on a free loopback port; dropping it ends its Chromium sessions
/// and the process.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    test: String,
    started: Instant,
    // Dropped last: the next browser test starts once this one's processes are gone.
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl ChromeDriver {
    /// Starts chromedriver for `test` (named in the timing line printed when it ends), once no
    /// other browser test runs.
    pub async fn start(test: &str) -> ChromeDriver {
        let turn = BROWSER_LOCK.lock().await;
        let started = Instant::now();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let mut driver = ChromeDriver {
            child,
            port,
            test: test.to_string(),
            started,
            _turn: turn,
        };
        driver.wait_ready().await;
        driver
    }

    /// Polls `/status` until chromedriver says it is ready (it ignores `Connection: close`,
    /// so each poll is a plain request and the body decides).
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/status", self.port);
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited at start with {status}");
            }
            if let Ok(res) = http.get(&url).send().await {
                let body = res.text().await.unwrap_or_default();
                if let Ok(body) = serde_json::from_str::<Value>(&body) {
                    if body["value"]["ready"] == json!(true) {
                        return;
                    }
                }
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!(
                    "chromedriver on port {} was not ready within 30 s",
                    self.port
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless Chromium with a fresh profile, on Colabel at `base`; `javascript: false`
    /// turns scripts off for every page, as a person with JavaScript disabled would browse;
    /// `shots` is the file name prefix of its screenshots (`None`: no screenshots).
    pub async fn session(&self, base: &str, javascript: bool, shots: Option<&str>) -> Page {
        let profile = tempfile::tempdir().expect("temp dir for the Chromium profile");
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.path().display()),
                "--window-size=1280,900",
            ],
        });
        if !javascript {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"));
        let page = Page {
            c: client,
            base: base.to_string(),
            shots: shots.map(Shots::new),
            delta: Cell::new(None),
            _profile: profile,
        };
        page.viewport(WORK_SIZE.0, WORK_SIZE.1).await;
        page
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // `/shutdown` quits every session (and its Chromium) and then chromedriver itself.
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            let _ = s.read(&mut [0u8; 512]);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        eprintln!(
            "browser test {} took {:.1} s (with Chromium start and stop)",
            self.test,
            self.started.elapsed().as_secs_f64()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Screenshots

/// The folder of the screenshots: `screenshots/` at the repository root (git-ignored).
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots")
}

/// Numbered screenshots of one session, named `{prefix}{NN}-{name}-{size}.png`.
struct Shots {
    prefix: String,
    n: Cell<u32>,
}

impl Shots {
    fn new(prefix: &str) -> Shots {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create screenshots/");
        // Remove this session's files from earlier runs (steps may have been renamed).
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let rest = name.strip_prefix(prefix).unwrap_or("");
                let numbered =
                    rest.len() > 3 && rest.as_bytes()[..2].iter().all(u8::is_ascii_digit);
                if numbered && rest.as_bytes()[2] == b'-' && name.ends_with(".png") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Shots {
            prefix: prefix.to_string(),
            n: Cell::new(0),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A browser window

/// One Chromium session on Colabel, with the helpers a test needs to act like a person.
pub struct Page {
    pub c: Client,
    base: String,
    shots: Option<Shots>,
    /// Window size minus viewport size, measured once.
    delta: Cell<Option<(i64, i64)>>,
    _profile: tempfile::TempDir,
}

impl Page {
    pub async fn close(self) {
        let _ = self.c.clone().close().await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.c
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{}", self.base, path))
            .await
            .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    }

    /// The path (and query) of the current page.
    pub async fn path(&self) -> String {
        let url = self.c.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Where we are and what the page says, for failure messages.
    pub async fn context(&self) -> String {
        let path = self.path().await;
        let text = self
            .c
            .execute(
                "return document.body ? document.body.innerText.slice(0, 600) : ''",
                vec![],
            )
            .await
            .unwrap_or(Value::Null);
        format!("at {path}; the page says:\n{}", text.as_str().unwrap_or(""))
    }

    /// Waits until the current path (without the query) is `expected` and the page has loaded.
    pub async fn wait_path(&self, expected: &str) {
        let start = Instant::now();
        loop {
            let url = self.c.current_url().await.expect("current url");
            if url.path() == expected {
                let ready = self
                    .c
                    .execute("return document.readyState", vec![])
                    .await
                    .unwrap_or(Value::Null);
                if ready == json!("complete") {
                    return;
                }
            }
            if start.elapsed() > WAIT {
                panic!("expected to be at {expected}, {}", self.context().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for an element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no element {css} ({e}), {}", self.context().await),
        }
    }

    /// Whether an element matching `css` is on the page now.
    pub async fn has(&self, css: &str) -> bool {
        !self
            .c
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .is_empty()
    }

    /// The visible link, button or menu summary whose text is `text` (ignoring decorations
    /// hidden from assistive technology, such as avatars), as a person would see it.
    pub async fn control(&self, text: &str) -> Element {
        self.control_in("", text).await
    }

    /// Like [`Page::control`], inside the elements that the XPath `scope` selects.
    async fn control_in(&self, scope: &str, text: &str) -> Element {
        let xpath = format!(
            "{scope}//*[self::a or self::button or self::summary][normalize-space()='{text}' or @aria-label='{text}' \
             or .//text()[not(ancestor::*[@aria-hidden='true'])][normalize-space()='{text}']]"
        );
        let start = Instant::now();
        loop {
            for e in self
                .c
                .find_all(Locator::XPath(&xpath))
                .await
                .expect("find_all")
            {
                if e.is_displayed().await.unwrap_or(false) {
                    return e;
                }
            }
            if start.elapsed() > WAIT {
                panic!("no visible control “{text}”, {}", self.context().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the visible link, button or summary whose text (or aria-label) is `text`.
    pub async fn click(&self, text: &str) {
        self.control(text)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click “{text}”: {e}"));
    }

    /// Clicks the control `text` and waits for the new page at `path` to load.
    pub async fn follow(&self, text: &str, path: &str) {
        let control = self.control(text).await;
        self.navigate(path, control.click()).await;
    }

    /// Clicks the control `text` inside the elements the XPath `scope` selects (a tab bar, a
    /// menu) and waits for the new page at `path` to load.
    pub async fn follow_in(&self, scope: &str, text: &str, path: &str) {
        let control = self.control_in(scope, text).await;
        self.navigate(path, control.click()).await;
    }

    /// Clicks the submit button `text` of a form in the page or in the open dialog (not the
    /// header's links of the same name) and waits for the new page at `path` to load.
    pub async fn submit(&self, text: &str, path: &str) {
        let button = self
            .control_in("(//main | //dialog[@open])//form", text)
            .await;
        self.navigate(path, button.click()).await;
    }

    /// Clicks the element matching `css` and waits for the new page at `path` to load.
    pub async fn follow_css(&self, css: &str, path: &str) {
        let element = self.find(css).await;
        self.navigate(path, element.click()).await;
    }

    /// Runs `action`, then waits until a new document (not the current one) has loaded at `path`.
    async fn navigate(
        &self,
        path: &str,
        action: impl std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    ) {
        self.js("window.__colabelOldPage = true;", vec![]).await;
        action
            .await
            .unwrap_or_else(|e| panic!("cannot go to {path}: {e}"));
        self.wait_until(
            &format!("a new page has loaded (expecting {path})"),
            "return !window.__colabelOldPage && document.readyState === 'complete';",
        )
        .await;
        self.wait_path(path).await;
    }

    /// Clicks the element matching `css`.
    pub async fn click_css(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Types `value` into the field matching `css`, replacing what it held.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear field");
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// Chooses the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("cannot select {value} in {css}: {e}"));
    }

    /// The value of the form control matching `css`.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// The text of the flash message.
    pub async fn flash(&self) -> String {
        self.text(".flash").await
    }

    /// The `<h1>` of the page.
    pub async fn heading(&self) -> String {
        self.text("main h1").await
    }

    /// Presses and releases `key` wherever the focus is.
    pub async fn press(&self, key: Key) {
        let k: char = key.into();
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k });
        self.c
            .perform_actions(actions)
            .await
            .unwrap_or_else(|e| panic!("cannot press {key:?}: {e}"));
    }

    /// Presses `key` and waits for the new page at `path` to load.
    pub async fn press_and_wait(&self, key: Key, path: &str) {
        self.navigate(path, async {
            self.press(key).await;
            Ok(())
        })
        .await;
    }

    /// Whether the focused element matches `css`.
    pub async fn focus_is(&self, css: &str) -> bool {
        self.js(
            "var a = document.activeElement; return !!a && a.matches(arguments[0]);",
            vec![json!(css)],
        )
        .await
            == json!(true)
    }

    /// A short description of the focused element, for failure messages.
    pub async fn focused(&self) -> String {
        self.js(
            "var a = document.activeElement; if (!a) return 'nothing';
             return a.tagName.toLowerCase() + (a.id ? '#' + a.id : '') + ' “' +
               (a.getAttribute('aria-label') || a.textContent || a.value || '').trim().slice(0, 40) + '”';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// Presses Tab until the focus is on an element matching `css` (at most `max` times).
    pub async fn tab_to(&self, css: &str, max: usize) {
        for _ in 0..max {
            self.press(Key::Tab).await;
            if self.focus_is(css).await {
                return;
            }
        }
        panic!(
            "{max} Tab presses never reached {css}; the focus is on {}",
            self.focused().await
        );
    }

    /// Waits until the script (a function body) returns true.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let start = Instant::now();
        while self.js(script, vec![]).await != json!(true) {
            if start.elapsed() > WAIT {
                panic!("timed out waiting until {what}, {}", self.context().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sets the viewport (not the window) to `width` × `height` CSS pixels.
    pub async fn viewport(&self, width: u32, height: u32) {
        let (dw, dh) = match self.delta.get() {
            Some(d) => d,
            None => {
                self.c
                    .set_window_size(width, height)
                    .await
                    .expect("set window size");
                let inner = self
                    .js("return [window.innerWidth, window.innerHeight]", vec![])
                    .await;
                let d = (
                    width as i64 - inner[0].as_i64().unwrap_or(width as i64),
                    height as i64 - inner[1].as_i64().unwrap_or(height as i64),
                );
                self.delta.set(Some(d));
                if d == (0, 0) {
                    return;
                }
                d
            }
        };
        self.c
            .set_window_size((width as i64 + dw) as u32, (height as i64 + dh) as u32)
            .await
            .expect("set window size");
    }

    /// Writes `{NN}-{name}-laptop.png` and `{NN}-{name}-phone.png`: the whole page at each size
    /// (only the viewport while a dialog is open).
    pub async fn shot(&self, name: &str) {
        self.shot_at(name, &SIZES).await;
    }

    /// Like [`Page::shot`], at the sizes given.
    pub async fn shot_at(&self, name: &str, sizes: &[(&str, u32, u32)]) {
        let Some(shots) = &self.shots else { return };
        shots.n.set(shots.n.get() + 1);
        let dir = screenshot_dir();
        for &(size, w, h) in sizes {
            self.viewport(w, h).await;
            let full = self
                .js(
                    "if (document.querySelector('dialog[open], details[open]')) return 0;
                     return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);",
                    vec![],
                )
                .await
                .as_u64()
                .unwrap_or(0) as u32;
            if full > h {
                self.viewport(w, full).await;
            }
            let png = self.c.screenshot().await.expect("screenshot");
            let file_name = format!("{}{:02}-{name}-{size}.png", shots.prefix, shots.n.get());
            if let Some(warning) = self.sideways_overflow().await {
                eprintln!("layout: {file_name}: {warning}");
            }
            let file = dir.join(&file_name);
            std::fs::write(&file, png).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        }
        self.viewport(WORK_SIZE.0, WORK_SIZE.1).await;
    }

    /// When the page is wider than the viewport (it scrolls sideways), which elements stick out:
    /// the outermost ones that are not inside a container that scrolls or clips them.
    pub async fn sideways_overflow(&self) -> Option<String> {
        let v = self
            .js(
                r#"
                var vw = document.documentElement.clientWidth;
                var sw = document.documentElement.scrollWidth;
                if (sw <= vw) return null;
                // Inside a container that scrolls or clips it? An absolutely positioned element
                // escapes every such container below its containing block (its positioned ancestor).
                function clipped(el) {
                  var pos = getComputedStyle(el).position;
                  if (pos === 'fixed') return false;
                  var escapes = pos === 'absolute';
                  for (var p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                    var st = getComputedStyle(p);
                    if (escapes && st.position === 'static') continue;
                    escapes = false;
                    if (st.overflowX !== 'visible') return true;
                  }
                  return false;
                }
                function sticksOut(el) {
                  var r = el.getBoundingClientRect();
                  return r.width > 0 && r.right > vw + 0.5 && !clipped(el);
                }
                function describe(el) {
                  var d = el.tagName.toLowerCase();
                  if (el.id) d += '#' + el.id;
                  if (el.classList.length) d += '.' + Array.prototype.join.call(el.classList, '.');
                  return d + ' (to ' + Math.round(el.getBoundingClientRect().right) + 'px)';
                }
                var out = [];
                document.querySelectorAll('body *').forEach(function (el) {
                  if (sticksOut(el) && !(el.parentElement && el.parentElement !== document.body && sticksOut(el.parentElement)))
                    out.push(describe(el));
                });
                return 'the page is ' + sw + 'px wide in a ' + vw + 'px viewport; sticking out: ' +
                  (out.slice(0, 6).join(', ') || 'nothing measurable');
                "#,
                vec![],
            )
            .await;
        v.as_str().map(str::to_string)
    }

    /// Scroll boxes that scroll by a pixel or two: a tab bar whose underline overflows it shows
    /// a tiny scrollbar.
    pub async fn stray_scrollbars(&self) -> Vec<String> {
        let v = self
            .js(
                r#"
                var out = [];
                document.querySelectorAll('body *').forEach(function (el) {
                  var st = getComputedStyle(el);
                  var dy = el.scrollHeight - el.clientHeight, dx = el.scrollWidth - el.clientWidth;
                  if ((st.overflowY === 'auto' || st.overflowY === 'scroll') && dy > 0 && dy <= 4)
                    out.push(el.tagName.toLowerCase() + '.' + Array.prototype.join.call(el.classList, '.') +
                      ' scrolls vertically by ' + dy + 'px');
                  if ((st.overflowX === 'auto' || st.overflowX === 'scroll') && dx > 0 && dx <= 4)
                    out.push(el.tagName.toLowerCase() + '.' + Array.prototype.join.call(el.classList, '.') +
                      ' scrolls sideways by ' + dx + 'px');
                });
                return out;
                "#,
                vec![],
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every visible form control has an accessible name from a label or aria-label, every
    /// `label[for]` points at a control, and no two controls share an id.
    pub async fn check_labels(&self, page: &str) {
        let problems = self
            .js(
                r#"
                var problems = [];
                var seen = {};
                document.querySelectorAll('input, select, textarea').forEach(function (el) {
                  var t = (el.getAttribute('type') || '').toLowerCase();
                  if (['hidden', 'submit', 'button', 'reset', 'image'].indexOf(t) >= 0) return;
                  var aria = (el.getAttribute('aria-label') || '').trim();
                  var by = (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
                    .map(function (id) { var l = document.getElementById(id); return l ? l.textContent.trim() : ''; })
                    .join('');
                  var labels = Array.prototype.map.call(el.labels || [], function (l) { return l.textContent.trim(); }).join('');
                  if (!aria && !by && !labels) problems.push('no label: ' + el.outerHTML.slice(0, 140));
                  if (el.id) {
                    if (seen[el.id]) problems.push('two controls with id ' + el.id);
                    seen[el.id] = true;
                  }
                });
                document.querySelectorAll('label[for]').forEach(function (l) {
                  var target = document.getElementById(l.htmlFor);
                  if (!target || !target.matches('input, select, textarea, button, meter, output, progress'))
                    problems.push('label “' + l.textContent.trim() + '” points at a missing control #' + l.htmlFor);
                });
                document.querySelectorAll('[aria-describedby]').forEach(function (el) {
                  el.getAttribute('aria-describedby').split(/\s+/).filter(Boolean).forEach(function (id) {
                    if (!document.getElementById(id)) problems.push((el.id || el.tagName) + ' is described by a missing #' + id);
                  });
                });
                return problems;
                "#,
                vec![],
            )
            .await;
        let problems = problems.as_array().cloned().unwrap_or_default();
        assert!(
            problems.is_empty(),
            "accessibility problems on {page} ({}):\n{}",
            self.path().await,
            problems
                .iter()
                .map(|p| format!("  - {}", p.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// The error messages on the page and the fields they are tied to, as (field id, message);
    /// fails if a field is marked invalid without a message or a message is tied to no field.
    pub async fn field_errors(&self) -> Vec<(String, String)> {
        let v = self
            .js(
                r#"
                var tied = [], problems = [];
                document.querySelectorAll('[aria-invalid="true"]').forEach(function (el) {
                  var texts = (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)
                    .map(function (id) { var d = document.getElementById(id); return d ? d.textContent.trim() : ''; })
                    .filter(Boolean);
                  if (!texts.length) problems.push('#' + el.id + ' is invalid but no message describes it');
                  else tied.push([el.id, texts.join(' ')]);
                });
                document.querySelectorAll('.field-error').forEach(function (m) {
                  if (!m.id || !document.querySelector('[aria-describedby~="' + m.id + '"]'))
                    problems.push('the message “' + m.textContent.trim() + '” is tied to no field');
                });
                return { tied: tied, problems: problems };
                "#,
                vec![],
            )
            .await;
        let problems = v["problems"].as_array().cloned().unwrap_or_default();
        assert!(
            problems.is_empty(),
            "error messages not tied to their fields at {}: {problems:?}",
            self.path().await
        );
        v["tied"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap_or("").to_string(),
                    p[1].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// axe-core

/// axe-core's script from `tests/axe` (`npm ci --prefix tests/axe`, as `.ci/run` does), or
/// `None` with a note when a local run has not installed it; under `CI=true` it must be there.
pub fn axe_source() -> Option<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/axe/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(e) => {
            if ci() {
                panic!(
                    "CI=true but {} cannot be read ({e}): run npm ci --prefix tests/axe",
                    path.display()
                );
            }
            eprintln!(
                "axe checks skipped: {} is missing (npm ci --prefix tests/axe)",
                path.display()
            );
            None
        }
    }
}

impl Page {
    /// axe-core's violations on the current page (WCAG 2.1 A and AA, and axe's best
    /// practices), one line each: rule, impact, the elements and how to fix them.
    pub async fn axe(&self, source: &str) -> Vec<String> {
        if self
            .js("return typeof window.axe === 'undefined';", vec![])
            .await
            == json!(true)
        {
            self.js(source, vec![]).await;
        }
        let v = self
            .c
            .execute_async(
                r#"
                var done = arguments[arguments.length - 1];
                window.axe.run(document, {
                  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
                  resultTypes: ['violations']
                }).then(function (r) {
                  done(r.violations.map(function (v) {
                    return v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.slice(0, 4).map(function (n) {
                      return n.target.join(' ') + (n.failureSummary ? ' [' + n.failureSummary.replace(/\s+/g, ' ').slice(0, 200) + ']' : '');
                    }).join('; ');
                  }));
                }, function (e) { done(['axe failed: ' + e]); });
                "#,
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("axe could not run: {e}"));
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Steps shared by the tests

impl Page {
    /// Signs up through the form and lands on the dashboard.
    pub async fn sign_up(&self, username: &str) {
        self.goto("/signup").await;
        self.fill("#f-username", username).await;
        self.fill("#f-email", &format!("{username}@example.com"))
            .await;
        self.fill("#f-password", PASSWORD).await;
        self.submit("Sign up", "/").await;
        assert!(
            self.flash().await.contains(username),
            "no welcome for {username}, {}",
            self.context().await
        );
    }

    /// Logs in through the form and lands on the dashboard.
    pub async fn log_in(&self, username: &str) {
        self.goto("/login").await;
        self.fill("#f-login", username).await;
        self.fill("#f-password", PASSWORD).await;
        self.submit("Log in", "/").await;
        assert_eq!(
            self.heading().await,
            "Dashboard",
            "{}",
            self.context().await
        );
    }

    /// Logs out through the profile menu.
    pub async fn log_out(&self) {
        self.click("Open the profile menu").await;
        self.follow("Log out", "/").await;
        assert!(
            self.has("a[href='/login']").await,
            "{}",
            self.context().await
        );
    }
}
