//! Builds the application from [`Settings`]: the pool, migrations, middleware and server.
//! Tests call [`Application::build`] with their own settings on port 0.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::{time, Key, SameSite};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlers, Logger, Next};
use actix_web::{web, App, HttpServer};

use crate::app::{App as Colabel, Mailing};
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::db::Db;
use crate::html::error::HtmlError;
use crate::html::session::DbSessionStore;
use crate::jobs::worker::Worker;
use crate::mail::Transport;

pub const SESSION_COOKIE: &str = "colabel_session";

/// A bound, not yet running server and what tests need to reach it.
pub struct Application {
    server: Server,
    port: u16,
    pub state: Colabel,
    /// The job worker, started here; it stops with the server (or when this is dropped).
    worker: Option<Worker>,
}

/// Why the application could not start; one line for the operator.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// Opens the database and runs the migrations; used by `serve` and `migrate`.
pub fn open_database(settings: &Settings) -> Result<(Db, usize), StartError> {
    let db = Db::connect_with_timeout(
        &settings.database_url,
        settings.pool_size,
        settings.db_timeout,
    )
    .map_err(|e| StartError(format!("cannot open the database: {e}")))?;
    let ran = db.migrate().map_err(StartError)?;
    check_reserved_names(&db)?;
    fill_sort_keys(&db)?;
    Ok((db, ran))
}

/// Gives the datasets that have no natural-order key yet (those from before the key existed,
/// or inserted by hand) theirs; nothing to do on later starts.
fn fill_sort_keys(db: &Db) -> Result<(), StartError> {
    let mut conn = db
        .get()
        .map_err(|e| StartError(format!("cannot open the database: {e}")))?;
    let filled = crate::models::datasets::fill_sort_keys(&mut conn)
        .map_err(|e| StartError(format!("cannot fill the datasets' sort keys: {e}")))?;
    if filled > 0 {
        log::info!("gave {filled} datasets their natural-order key");
    }
    Ok(())
}

/// Refuses to start when an account holds a name that Colabel now reserves (the API took
/// `user` and `api_status`): nothing is renamed behind the operator's back.
fn check_reserved_names(db: &Db) -> Result<(), StartError> {
    let mut conn = db
        .get()
        .map_err(|e| StartError(format!("cannot open the database: {e}")))?;
    let taken = crate::models::accounts::holding_reserved_names(&mut conn)
        .map_err(|e| StartError(format!("cannot check reserved names: {e}")))?;
    if taken.is_empty() {
        return Ok(());
    }
    Err(StartError(format!(
        "the account(s) {} hold a name Colabel reserves for its own paths (reserved: {}); rename them in the database (accounts.username and accounts.username_key, and memberships.username_key) before starting this version",
        taken.join(", "),
        crate::domain::names::RESERVED_USERNAMES.join(", ")
    )))
}

impl Application {
    pub fn build(settings: Settings) -> Result<Self, StartError> {
        let (db, ran) = open_database(&settings)?;
        if ran > 0 {
            log::info!("applied {ran} migration(s)");
        }
        let hasher = Hasher::new(settings.bcrypt_cost, settings.hash_concurrency)
            .map_err(|e| StartError(format!("bcrypt: {e}")))?;
        let key = match &settings.session_key {
            Some(bytes) => Key::try_from(bytes.as_slice())
                .map_err(|e| StartError(format!("COLABEL_SESSION_KEY: {e}")))?,
            None => {
                log::warn!("COLABEL_SESSION_KEY is not set: using a random key, so sessions end when Colabel restarts");
                Key::generate()
            }
        };
        let listener = TcpListener::bind(&settings.addr)
            .map_err(|e| StartError(format!("cannot listen on {}: {e}", settings.addr)))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartError(e.to_string()))?
            .port();
        let public_url = settings
            .mail
            .public_url
            .clone()
            .unwrap_or_else(|| default_public_url(&settings.addr, port));
        let worker = start_worker(&settings)?;
        let state = Colabel {
            db: db.clone(),
            hasher,
            settings: settings.clone(),
            mailing: Arc::new(Mailing::from_settings(&settings, public_url)),
        };
        let store = DbSessionStore::new(
            db.clone(),
            crate::app::sessions::SessionPolicy::new(settings.session_idle, settings.session_max),
        );
        let data = web::Data::new(state.clone());
        let trusted = web::Data::new(settings.trusted_proxies.clone());
        let max_age = time::Duration::seconds(settings.session_max.as_secs() as i64);
        let secure = settings.secure_cookies;
        let server = HttpServer::new(move || {
            // Two surfaces: the JSON API (its resources carry their own middleware: key
            // authentication in the handlers, JSON errors, no sessions, no CSRF), then the
            // HTML pages in a scope of their own with sessions, CSRF and error pages.
            let html = web::scope("")
                .app_data(form_config())
                .app_data(query_config())
                .app_data(path_config())
                .configure(crate::routes::routes)
                .default_service(web::to(crate::html::home::not_found))
                .wrap(from_fn(crate::html::csrf::guard))
                .wrap(from_fn(crate::html::input::reject_nul))
                .wrap(
                    ErrorHandlers::new()
                        .default_handler(crate::html::error_pages::render_error_page),
                )
                .wrap(from_fn(crate::html::layout::no_store))
                .wrap(
                    SessionMiddleware::builder(store.clone(), key.clone())
                        .cookie_name(SESSION_COOKIE.into())
                        .cookie_secure(secure)
                        .cookie_http_only(true)
                        .cookie_same_site(SameSite::Lax)
                        .cookie_content_security(CookieContentSecurity::Signed)
                        .session_lifecycle(
                            PersistentSession::default()
                                .session_ttl(max_age)
                                .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
                        )
                        .build(),
                );
            App::new()
                .app_data(data.clone())
                .app_data(trusted.clone())
                .configure(crate::routes::api_routes)
                .service(html)
                // gzip and brotli (no zstd: its C build), as the client's Accept-Encoding asks.
                .wrap(actix_web::middleware::Compress::default())
                .wrap(security_headers())
                .wrap(from_fn(strict_transport_security))
                .wrap(request_log())
                // Wrapped last, so it runs first: who the client is, for every middleware
                // above (the request log included).
                .wrap(from_fn(crate::client::derive))
        })
        .workers(settings.workers)
        .worker_max_blocking_threads(settings.blocking_threads)
        .listen(listener)
        .map_err(|e| StartError(e.to_string()))?
        .run();
        spawn_sweeper(state.clone());
        Ok(Application {
            server,
            port,
            state,
            worker: Some(worker),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (a signal), then stops the job worker after the job
    /// it is running and waits for it.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let worker = self.worker.take();
        // Dropped with this future too (a test's runtime ending): the worker is asked to stop.
        let stop_on_drop = StopOnDrop(worker);
        let result = self.server.await;
        if let Some(worker) = stop_on_drop.take() {
            let _ = tokio::task::spawn_blocking(move || worker.stop_and_join()).await;
        }
        result
    }
}

struct StopOnDrop(Option<Worker>);

impl StopOnDrop {
    fn take(mut self) -> Option<Worker> {
        self.0.take()
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(w) = &self.0 {
            w.stop();
        }
    }
}

/// The origin of links when `COLABEL_PUBLIC_URL` is not set: the address listened on, with
/// `localhost` for an address of every interface.
fn default_public_url(addr: &str, port: u16) -> String {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = match host {
        "" | "0.0.0.0" | "[::]" | "::" => "localhost",
        h => h,
    };
    format!("http://{host}:{port}")
}

/// Where `.eml` files go without an SMTP server: `COLABEL_MAIL_DIR`, else `mail/` beside
/// the SQLite database, else `./mail`.
pub fn mail_dir(settings: &Settings) -> PathBuf {
    if let Some(dir) = &settings.mail.dir {
        return dir.clone();
    }
    match crate::db::Backend::from_url(&settings.database_url) {
        Ok(crate::db::Backend::Sqlite(path)) => Path::new(&path)
            .parent()
            .map_or_else(|| PathBuf::from("mail"), |p| p.join("mail")),
        _ => PathBuf::from("mail"),
    }
}

/// The job worker, with a small pool of its own (its polls are not counted as the pages'
/// statements, and never wait for a page's connection).
fn start_worker(settings: &Settings) -> Result<Worker, StartError> {
    let transport = match &settings.mail.smtp_url {
        Some(url) => Transport::smtp(url, &settings.mail.from, settings.mail.smtp_timeout),
        None => Transport::files(&mail_dir(settings), &settings.mail.from),
    }
    .map_err(StartError)?;
    log::info!("mail: {}", transport.describe());
    let jobs_db = Db::connect_with_timeout(&settings.database_url, 2, settings.db_timeout)
        .map_err(|e| StartError(format!("cannot open the database for the job worker: {e}")))?;
    Worker::start(crate::jobs::worker::Context {
        db: jobs_db,
        transport,
        settings: settings.jobs.clone(),
        webhooks: settings.webhooks.clone(),
    })
    .map_err(|e| StartError(format!("cannot start the job worker: {e}")))
}

/// The request line for the access log, with the value of every `token` parameter hidden:
/// links sent by email carry one-time tokens, which must never reach a log.
fn redacted_request_line(req: &actix_web::dev::ServiceRequest) -> String {
    let path = req.path();
    let query = req.query_string();
    let query = if query.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("token") => format!("{k}=[hidden]"),
                _ => pair.to_string(),
            })
            .collect();
        format!("?{}", parts.join("&"))
    };
    format!("{} {path}{query} {:?}", req.method(), req.version())
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

/// One line per request, naming the client as `crate::client` derived it (behind a trusted
/// proxy, the address it forwarded for).
/// One line per request: the client (behind trusted proxies), the request line with any
/// token in the query hidden, the status, size and time.
fn request_log() -> Logger {
    Logger::new(r#"%{client}xi "%{request}xi" %s %b %Dms"#)
        .custom_request_replace("client", |req| {
            crate::client::of(req.request()).ip.to_string()
        })
        .custom_request_replace("request", redacted_request_line)
}

/// `Strict-Transport-Security` on every answer over HTTPS (at Colabel or at a trusted proxy)
/// when cookies are secure; never over plain http, where browsers must ignore it (RFC 6797).
async fn strict_transport_security(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let secure = req
        .app_data::<web::Data<Colabel>>()
        .is_some_and(|app| app.settings.secure_cookies);
    let https = crate::client::of(req.request()).is_https();
    let mut res = next.call(req).await?;
    if secure && https {
        res.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            header::HeaderValue::from_static("max-age=31536000"),
        );
    }
    Ok(res)
}

/// Sweeps expired sessions and spent throttle counters every `COLABEL_SWEEP_SECS`, the first
/// time after a random part of that, so that instances started together do not sweep
/// together (they could: each batch takes rows no other sweep holds).
fn spawn_sweeper(app: Colabel) {
    actix_web::rt::spawn(async move {
        let every = app.settings.sweep_every;
        let first = every.mul_f64(rand::random::<f64>());
        actix_web::rt::time::sleep(first).await;
        let mut tick = actix_web::rt::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = crate::app::sweep::run(&app).await {
                log::warn!("sweep: {e}");
            }
        }
    });
}

fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(crate::html::csrf::MAX_FORM_BYTES)
        .error_handler(|err, _| {
            use actix_web::error::UrlencodedError as E;
            match err {
                E::Overflow { .. } | E::UnknownLength => HtmlError::TooLarge.into(),
                E::ContentType => HtmlError::bad_request(
                    "Send the form as ordinary form data (application/x-www-form-urlencoded).",
                )
                .into(),
                E::Parse(e) => HtmlError::bad_request(format!(
                    "The form is malformed: {}.",
                    short(&e.to_string())
                ))
                .into(),
                _ => HtmlError::bad_request("The form could not be read.").into(),
            }
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        HtmlError::bad_request(format!(
            "The address has a malformed query: {}.",
            short(&err.to_string())
        ))
        .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| HtmlError::NotFound.into())
}

/// Keeps parser messages short (they may quote the input).
fn short(s: &str) -> String {
    s.chars().take(120).collect()
}
