//! The headers of a production site and the smaller findings of issue 13 (finding 6):
//! `Cache-Control: no-store` on signed-in pages and forms, `HEAD` on every GET route, the
//! CSRF token rotated at login and at a password change, and `/healthz` noticing that the
//! SQLite file it opened is gone.

use reqwest::StatusCode;

use crate::db_test;
use crate::helpers::*;

fn no_store(res: &reqwest::Response) -> bool {
    res.headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|d| d.trim() == "no-store"))
}

/// A user `boss` with organization `acme` and its dataset `cats`.
async fn boss(app: &TestApp) -> Browser {
    let boss = app.user("boss").await;
    assert_eq!(
        boss.post(
            "/organizations",
            &[("username", "acme"), ("display_name", "")]
        )
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    let form = [
        ("owner", "acme"),
        ("name", "cats"),
        ("task_type", "bboxes"),
        ("visibility", "public"),
    ];
    assert_eq!(
        boss.post("/datasets", &form).await.status(),
        StatusCode::SEE_OTHER
    );
    boss
}

/// Every GET route of the route table, with the fixture's names in its parameters.
fn get_paths() -> Vec<String> {
    colabel::routes::ROUTES
        .iter()
        .filter(|(method, _)| *method == "GET")
        .map(|(_, pattern)| {
            pattern
                .replace("{name}", "app.css")
                .replace("{org}", "acme")
                .replace("{owner}", "acme")
                .replace("{dataset}", "cats")
                .replace("{user}", "boss")
        })
        .collect()
}

db_test!(async fn signed_in_pages_and_forms_are_never_stored(app) {
    let boss = boss(&app).await;
    let mut failures = Vec::new();
    for path in get_paths() {
        let res = boss.get(&path).await;
        let html = res.headers().get("content-type").is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        if html && !no_store(&res) {
            failures.push(format!("GET {path} ({}) as boss", res.status()));
        }
    }
    // Error pages of a signed-in user, and a form shown again with its messages.
    if !no_store(&boss.get("/no/such/page").await) {
        failures.push("a 404 page as boss".into());
    }
    let res = boss.post("/organizations", &[("username", "x"), ("display_name", "")]).await;
    if res.status() != StatusCode::UNPROCESSABLE_ENTITY || !no_store(&res) {
        failures.push(format!("POST /organizations answered {} without no-store", res.status()));
    }
    // Forms of visitors.
    let visitor = app.browser();
    for path in ["/login", "/signup"] {
        if !no_store(&visitor.get(path).await) {
            failures.push(format!("GET {path} as a visitor"));
        }
    }
    let res = visitor.login("boss", "wrong password").await;
    if !no_store(&res) {
        failures.push("a failed login".into());
    }
    assert!(failures.is_empty(), "without Cache-Control: no-store:\n{}", failures.join("\n"));
});

db_test!(async fn every_get_route_answers_head(app) {
    let boss = boss(&app).await;
    boss.page("/").await; // shows (and so ends) the message of the last change
    let visitor = app.browser();
    let mut failures = Vec::new();
    for path in get_paths() {
        for (who, b) in [("boss", &boss), ("visitor", &visitor)] {
            // A GET that refuses by a message and a redirect (a bulk page without members)
            // leaves the message for the next page: show it first, so GET and HEAD compare.
            b.page("/").await;
            let get = b.get(&path).await;
            let (get_status, get_length) = (get.status(), get.headers().get("content-length").cloned());
            let head = b.head(&path).await;
            let head_status = head.status();
            let head_length = head.headers().get("content-length").cloned();
            let body = head.bytes().await.unwrap();
            if head_status != get_status || !body.is_empty() || head_length != get_length {
                failures.push(format!(
                    "{who} {path}: GET {get_status} ({get_length:?}), HEAD {head_status} ({head_length:?}, {} body bytes)",
                    body.len()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "HEAD differs from GET:\n{}", failures.join("\n"));
});

db_test!(async fn the_csrf_token_changes_at_login_and_at_a_password_change(app) {
    app.user("tess").await;
    let b = app.browser();
    // Pages mask the token afresh each time (BREACH): compare what is inside.
    let unmask = colabel::html::csrf::unmask;
    let anonymous = b.token().await;
    assert_redirect(&b.login("tess", PASSWORD).await, "/");
    let signed_in = extract_token(&b.page("/settings").await.1).unwrap();
    assert_ne!(unmask(&anonymous), unmask(&signed_in), "a new token at login");
    let res = b.post("/settings", &[("action", "password"), ("current_password", PASSWORD), ("new_password", "a new secret 1")]).await;
    assert_redirect(&res, "/settings");
    let changed = extract_token(&b.page("/settings").await.1).unwrap();
    assert_ne!(unmask(&signed_in), unmask(&changed), "a new token at a password change");
    // The old token is worth nothing now.
    let old = b
        .post_raw("/settings", format!("action=profile&display_name=x&email=tess%40example.com&csrf_token={signed_in}"))
        .await;
    assert_eq!(old.status(), StatusCode::FORBIDDEN);
    let new = b
        .post_raw("/settings", format!("action=profile&display_name=x&email=tess%40example.com&csrf_token={changed}"))
        .await;
    assert_redirect(&new, "/settings");
});

/// SQLite only: a file deleted or replaced under a running Colabel. (PostgreSQL has no file;
/// its outages are `outage.rs`'s.)
#[actix_web::test]
async fn healthz_fails_when_the_sqlite_file_is_gone_or_replaced() {
    for how in ["deleted", "replaced"] {
        let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
        let path = app
            .settings
            .database_url
            .strip_prefix("sqlite://")
            .unwrap()
            .to_string();
        assert_eq!(
            app.browser().page("/healthz").await,
            (StatusCode::OK, "ok".to_string())
        );
        std::fs::remove_file(&path).unwrap();
        if how == "replaced" {
            std::fs::write(&path, b"").unwrap();
        }
        let (status, body) = app.browser().page("/healthz").await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "file {how}: {body}"
        );
    }
}
