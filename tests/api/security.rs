//! CSRF, cross-site requests, security headers, error pages and hostile bodies.

use crate::db_test;
use crate::helpers::*;
use diesel::prelude::*;
use reqwest::StatusCode;

fn user_count(app: &TestApp) -> i64 {
    app.with_db(|c| colabel::schema::users::table.count().get_result(c).unwrap())
}

db_test!(async fn a_post_without_a_valid_token_is_refused(app) {
    let b = app.browser();
    b.token().await;
    let form = "username=sneaky&email=s%40example.com&password=password123";
    let res = b.post_raw("/signup", form).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(body.contains("security token"), "a 403 page that says why");
    assert!(body.contains("<nav"), "in the layout");
    let res = b.post_raw("/signup", format!("{form}&csrf_token=forged")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A token from another session does not work either.
    let other = app.browser().token().await;
    let res = b.post_raw("/signup", format!("{form}&csrf_token={other}")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_count(&app), 0, "nothing changed");
    // Logout needs it too.
    let signed = app.user("olga").await;
    assert_eq!(signed.post_raw("/logout", "").await.status(), StatusCode::FORBIDDEN);
    assert!(signed.page("/").await.1.contains("Signed in as"));
});

db_test!(async fn cross_site_posts_are_refused(app) {
    let b = app.browser();
    let token = b.token().await;
    let form = format!("username=victim&email=v%40example.com&password=password123&csrf_token={token}");
    for (name, value) in [("origin", "https://evil.example"), ("origin", "null"), ("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site")] {
        let res = b.client.post(format!("{}/signup", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(name, value)
            .body(form.clone())
            .send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(res.text().await.unwrap().contains("another site"));
    }
    assert_eq!(user_count(&app), 0);
    // The same form from our own origin goes through.
    let res = b.client.post(format!("{}/signup", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .body(form)
        .send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
});

db_test!(async fn every_page_sends_the_security_headers(app) {
    let b = app.user("pia").await;
    for path in ["/", "/login", "/settings", "/no-such-page/x/y", "/healthz"] {
        let res = b.get(path).await;
        let h = res.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert!(h.get("referrer-policy").is_some());
    }
    // Pages carry no inline script.
    let body = b.page("/").await.1;
    assert!(!body.contains("<script>"));
});

db_test!(async fn error_pages_share_the_layout(app) {
    let b = app.user("quinn").await;
    let (status, body) = b.page("/no/such/page/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found") && body.contains("Signed in as <strong>quinn</strong>"));
    let res = b.get("/logout").await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.text().await.unwrap().contains("<nav"));
    // 500: break the database under the application; the page still looks like Colabel
    // and shows nothing of the cause.
    app.with_db(|c| {
        use diesel::connection::SimpleConnection;
        c.batch_execute("DROP TABLE login_throttle").unwrap();
    });
    let res = app.browser().login("quinn", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = res.text().await.unwrap();
    assert!(body.contains("Something went wrong") && body.contains("<nav"));
    assert!(!body.contains("login_throttle"), "no internals shown");
});

db_test!(async fn hostile_bodies_get_4xx_pages(app) {
    let b = app.browser();
    let token = b.token().await;
    // Not UTF-8.
    let res = b.post_raw("/signup", format!("username=%FF%FE&email=a%40b.co&password=password123&csrf_token={token}")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("not valid UTF-8"));
    // Too large.
    let big = "a".repeat(200 * 1024);
    let res = b.post_raw("/signup", format!("username={big}&csrf_token={token}")).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Duplicated field.
    let res = b.post_raw("/signup", format!("username=a1&username=a2&email=a%40b.co&password=password123&csrf_token={token}")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Missing fields: the form comes back with messages.
    let res = b.post_raw("/signup", format!("csrf_token={token}")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Wrong content type.
    let res = b.client.post(format!("{}/signup", app.base)).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert!(res.status().is_client_error());
    // Unknown settings action.
    let signed = app.user("rosa").await;
    let res = signed.post("/settings", &[("action", "drop-tables")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(user_count(&app), 1);
});

db_test!(async fn healthz_answers_when_the_database_does(app) {
    let (status, body) = app.browser().page("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
});

#[actix_web::test]
async fn static_assets_are_versioned_and_cached() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let body = app.browser().page("/login").await.1;
    let at = body.find("/static/app.css?v=").unwrap();
    let url = &body[at..at + body[at..].find('"').unwrap()];
    let res = app.browser().get(url).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(
        app.browser().get("/static/nope.css").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn an_unreachable_postgres_is_one_clear_error() {
    let mut s = test_settings("postgres://nobody@127.0.0.1:1/none".into());
    s.addr = "127.0.0.1:0".into();
    let err = colabel::startup::Application::build(s)
        .err()
        .expect("fails");
    let msg = err.to_string();
    assert!(
        msg.contains("cannot open the database") && msg.contains("PostgreSQL"),
        "{msg}"
    );
    let mut s = test_settings("mysql://x".into());
    s.addr = "127.0.0.1:0".into();
    assert!(colabel::startup::Application::build(s)
        .err()
        .unwrap()
        .to_string()
        .contains("sqlite:// or postgres://"));
}
