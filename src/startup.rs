//! Builds the application from [`Settings`]: the pool, migrations, middleware and server.
//! Tests call [`Application::build`] with their own settings on port 0.

use std::net::TcpListener;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::{time, Key, SameSite};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlers, Logger, Next};
use actix_web::{web, App, HttpServer};

use crate::app::App as Colabel;
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
    Ok((db, ran))
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
        let trusted = web::Data::new(settings.trusted_proxies.clone());
        let max_age = time::Duration::seconds(settings.session_max.as_secs() as i64);
        let secure = settings.secure_cookies;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(trusted.clone())
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
                )
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

/// One line per request, naming the client as `crate::client` derived it (behind a trusted
/// proxy, the address it forwarded for).
fn request_log() -> Logger {
    Logger::new(r#"%{client}xi "%r" %s %b %Dms"#).custom_request_replace("client", |req| {
        crate::client::of(req.request()).ip.to_string()
    })
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
