//! Builds the application from [`Settings`]: the pool, migrations, middleware and server.
//! Tests call [`Application::build`] with their own settings on port 0.

use std::net::TcpListener;
use std::time::Duration;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::SessionMiddleware;
use actix_web::cookie::{time, Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlers, Logger};
use actix_web::{web, App, HttpServer};

use crate::app::{App as Colabel, DomainError};
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::db::Db;
use crate::html::error::HtmlError;
use crate::html::session::DbSessionStore;

pub const SESSION_COOKIE: &str = "colabel_session";

/// A bound, not yet running server and what tests need to reach it.
pub struct Application {
    server: Server,
    port: u16,
    pub state: Colabel,
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
    Ok((db, ran))
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
        let state = Colabel {
            db: db.clone(),
            hasher,
            settings: settings.clone(),
        };
        let store = DbSessionStore::new(db.clone(), settings.session_idle, settings.session_max);
        let data = web::Data::new(state.clone());
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
                .wrap(from_fn(crate::html::session::unavailable))
                .wrap(
                    ErrorHandlers::new()
                        .default_handler(crate::html::error_pages::render_error_page),
                )
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
                .configure(crate::routes::api_routes)
                .service(html)
                .wrap(security_headers())
                .wrap(Logger::new(r#"%a "%r" %s %b %Dms"#))
        })
        .workers(settings.workers)
        .worker_max_blocking_threads(settings.blocking_threads)
        .listen(listener)
        .map_err(|e| StartError(e.to_string()))?
        .run();
        spawn_session_sweeper(db);
        Ok(Application {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
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

/// Deletes expired sessions every ten minutes.
fn spawn_session_sweeper(db: Db) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let db = db.clone();
            let swept = web::block(move || -> Result<usize, DomainError> {
                let now = chrono::Utc::now().naive_utc();
                Ok(crate::models::sessions::sweep_expired(
                    &mut *db.get()?,
                    now,
                )?)
            })
            .await;
            if let Ok(Err(e)) = swept {
                log::warn!("session sweep: {e}");
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
