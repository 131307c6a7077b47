//! The database becoming unavailable, with the real binary ([`Colabel`]): every request that
//! needs it answers 503 with the normal error page (HTML, the security headers) within the
//! configured `COLABEL_DB_TIMEOUT_SECS`, the process logs the request and a warning naming
//! the problem, and once the database is back the same session works again.
//!
//! On PostgreSQL the test's own database stops accepting connections (the server keeps
//! running); on SQLite the test holds the write lock for longer than the timeout.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use reqwest::{Response, StatusCode};

use crate::helpers::*;
use crate::process::{Colabel, PgDatabase};

/// Signs up `name` on the process and returns the browser, its token fetched.
async fn signed_up(app: &Colabel, name: &str) -> Browser {
    let b = Browser::new(app.base());
    let email = format!("{name}@example.com");
    let res = b
        .post(
            "/signup",
            &[
                ("username", name),
                ("email", &email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signup of {name}");
    b.token().await;
    b
}

/// What one request answered, and how long it took.
struct Answer {
    what: String,
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
    took: Duration,
}

async fn answer(what: &str, started: Instant, res: Response) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap_or_default();
    Answer {
        what: what.to_string(),
        status,
        headers,
        body,
        took: started.elapsed(),
    }
}

/// A request must not hang, even on today's code (whose pool waits 10 s).
const REQUEST_LIMIT: Duration = Duration::from_secs(40);

async fn get(b: &Browser, path: &str) -> Answer {
    let started = Instant::now();
    let res = tokio::time::timeout(REQUEST_LIMIT, b.get(path))
        .await
        .unwrap_or_else(|_| panic!("GET {path} did not answer within {REQUEST_LIMIT:?}"));
    answer(&format!("GET {path}"), started, res).await
}

async fn post(b: &Browser, path: &str, form: &[(&str, &str)]) -> Answer {
    let started = Instant::now();
    let res = tokio::time::timeout(REQUEST_LIMIT, b.post(path, form))
        .await
        .unwrap_or_else(|_| panic!("POST {path} did not answer within {REQUEST_LIMIT:?}"));
    answer(&format!("POST {path}"), started, res).await
}

/// The page's `<title>` (or the start of a body without one), for messages.
fn excerpt(body: &str) -> String {
    match (body.find("<title>"), body.find("</title>")) {
        (Some(start), Some(end)) if start < end => body[start + 7..end].to_string(),
        _ => body.chars().take(200).collect(),
    }
}

/// The answer is the error page of a 503, sent within `within`.
fn assert_unavailable_page(a: &Answer, within: Duration) {
    let what = &a.what;
    assert_eq!(
        a.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: 503 while the database is unavailable; the page: {:?}",
        excerpt(&a.body)
    );
    let content_type = a
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("text/html"),
        "{what}: the error page is HTML, not {content_type:?}"
    );
    assert!(
        a.body.contains("Service unavailable"),
        "{what}: the page says what happened: {:?}",
        excerpt(&a.body)
    );
    for header in ["content-security-policy", "x-content-type-options"] {
        assert!(
            a.headers.contains_key(header),
            "{what}: the error page has the {header} header"
        );
    }
    assert!(
        a.took <= within,
        "{what}: answered after {:?}; COLABEL_DB_TIMEOUT_SECS allows {within:?}",
        a.took
    );
}

/// Creates an API key on the settings page of `b`'s user.
async fn api_key_of(b: &Browser) -> String {
    let res = b.post("/settings/api-keys", &[("name", "outage")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    let at = body.find("<code id=\"new-key\">").expect("the new key") + 19;
    body[at..at + body[at..].find('<').unwrap()].to_string()
}

/// The process logged the request (actix's request line, with its 503).
fn assert_logged_503(app: &Colabel, mark: usize, method: &str, path: &str) {
    let request = format!("\"{method} {path} HTTP/");
    let found = app.wait_for_line_after(
        mark,
        |l| l.contains(&request) && l.contains("\" 503 "),
        Duration::from_secs(5),
    );
    assert!(
        found.is_some(),
        "a log line for the 503 of {method} {path}; the log since the outage:\n{}",
        app.lines_after(mark).join("\n")
    );
}

#[actix_web::test]
async fn postgres_outage_answers_503_is_logged_and_recovers() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let db = PgDatabase::create(&admin_url, "outage");
    // Declared after `db`, so dropped first: the process dies before its database goes.
    let app = Colabel::start(&[
        ("DATABASE_URL", db.url.as_str()),
        ("COLABEL_DB_TIMEOUT_SECS", "2"),
    ]);
    let ada = signed_up(&app, "ada").await;
    let token = ada.token().await;
    assert_eq!(get(&ada, "/settings").await.status, StatusCode::OK);
    let visitor = Browser::new(app.base());
    assert_eq!(get(&visitor, "/healthz").await.status, StatusCode::OK);
    let key = api_key_of(&ada).await;
    let api = Api::new(app.base(), Some(&key));
    assert_eq!(api.get("/user").await.status, StatusCode::OK);

    let mark = app.mark();
    db.refuse_connections();
    // A timeout of 2 s per wait: for the session and for the handler, with room to spare.
    let within = Duration::from_secs(8);
    let home = get(&ada, "/").await;
    let settings = get(&ada, "/settings").await;
    let form = post(
        &ada,
        "/organizations",
        &[("username", "acme"), ("display_name", "")],
    )
    .await;
    // Then eight at once: whether a request gets one of the pool's dead connections or waits
    // for a new one (which the database refuses), it answers the same, in time.
    let more = futures_util::future::join_all(
        (0..8).map(|i| get(&ada, if i % 2 == 0 { "/settings" } else { "/" })),
    )
    .await;
    let answers: Vec<&Answer> = [&home, &settings, &form].into_iter().chain(&more).collect();
    eprintln!(
        "outage (PostgreSQL), the answers: {}",
        answers
            .iter()
            .map(|a| format!("{} {} in {:?}", a.what, a.status, a.took))
            .collect::<Vec<_>>()
            .join("; ")
    );
    for a in answers {
        assert_unavailable_page(a, within);
    }
    assert_logged_503(&app, mark, "GET", "/");
    assert_logged_503(&app, mark, "GET", "/settings");
    assert_logged_503(&app, mark, "POST", "/organizations");
    // The API answers the same outage in JSON.
    let started = Instant::now();
    let ans = api.get("/user").await;
    assert_eq!(ans.status, StatusCode::SERVICE_UNAVAILABLE, "{}", ans.text);
    assert_eq!(ans.json()["code"], "unavailable");
    assert!(ans.detail().contains("database"), "{}", ans.text);
    assert!(
        started.elapsed() < within,
        "the API's 503 took {:?}",
        started.elapsed()
    );
    assert_logged_503(&app, mark, "GET", "/user");
    // Looked for before /healthz, whose own warning must not count for the pages above.
    let warning = app.wait_for_line_after(
        mark,
        |l| l.contains(" WARN ") && l.to_ascii_lowercase().contains("database"),
        Duration::from_secs(5),
    );
    assert!(
        warning.is_some(),
        "a warning that names the database problem; the log since the outage:\n{}",
        app.lines_after(mark).join("\n")
    );
    let health = get(&visitor, "/healthz").await;
    assert_eq!(
        health.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "/healthz while the database refuses connections"
    );

    db.allow_connections();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = None;
    while Instant::now() < deadline {
        let a = get(&ada, "/settings").await;
        if a.status == StatusCode::OK {
            last = Some(a);
            break;
        }
        last = Some(a);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let last = last.expect("at least one try");
    assert_eq!(
        last.status,
        StatusCode::OK,
        "recovery: /settings with the same cookie once the database is back"
    );
    assert!(last.body.contains("Signed in as"), "still signed in");
    // The form's token of before the outage still works.
    let res = ada
        .post_raw(
            "/organizations",
            format!("username=acme&display_name=&csrf_token={token}"),
        )
        .await;
    assert_redirect(&res, "/acme");
}

#[actix_web::test]
async fn sqlite_write_lock_answers_503_is_logged_and_recovers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("colabel.db");
    let url = format!("sqlite://{}", path.display());
    let app = Colabel::start(&[
        ("DATABASE_URL", url.as_str()),
        ("COLABEL_DB_TIMEOUT_SECS", "1"),
    ]);
    let ada = signed_up(&app, "ada").await;
    let form = [("username", "acme"), ("display_name", "")];

    // The test's own connection takes the write lock and writes.
    let mut holder = SqliteConnection::establish(path.to_str().unwrap()).expect("open the file");
    holder
        .batch_execute(
            "PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE; \
             INSERT INTO login_throttle (scope_key, failures, window_started_at) \
             VALUES ('test:holding the lock', 0, '2000-01-01 00:00:00');",
        )
        .expect("hold the write lock");
    let mark = app.mark();
    let locked = post(&ada, "/organizations", &form).await;
    eprintln!(
        "outage (SQLite), the answer: {} {} in {:?}",
        locked.what, locked.status, locked.took
    );
    // A timeout of 1 s, with room to spare; today's busy timeout is 10 s.
    assert_unavailable_page(&locked, Duration::from_secs(5));
    assert_logged_503(&app, mark, "POST", "/organizations");
    holder.batch_execute("ROLLBACK").expect("release the lock");

    let res = ada.post("/organizations", &form).await;
    assert_redirect(&res, "/acme");
}
