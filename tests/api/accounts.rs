//! Sign up, log in, log out, profile and password (SPEC 1).

use crate::db_test;
use crate::helpers::*;
use reqwest::StatusCode;

db_test!(async fn signup_logs_in_and_shows_the_dashboard(app) {
    let b = app.browser();
    let res = b.post("/signup", &[("username", "Alice"), ("email", "alice@example.com"), ("password", PASSWORD)]).await;
    assert_redirect(&res, "/");
    let (status, body) = b.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Dashboard"));
    assert!(body.contains("Signed in as <strong>Alice</strong>"), "username keeps its case");
});

db_test!(async fn signup_rules_give_422_with_input_kept(app) {
    let b = app.browser();
    let long = "a".repeat(40);
    let cases: &[(&str, &str, &str, &str)] = &[
        ("a", "a@example.com", PASSWORD, "2 to 39"),
        (&long, "a@example.com", PASSWORD, "2 to 39"),
        ("-abc", "a@example.com", PASSWORD, "Start with a letter"),
        ("ab c", "a@example.com", PASSWORD, "Use only letters"),
        ("é-name", "a@example.com", PASSWORD, "Use only letters"),
        ("settings", "a@example.com", PASSWORD, "reserved"),
        ("Login", "a@example.com", PASSWORD, "reserved"),
        ("okname", "not-an-email", PASSWORD, "email address"),
        ("okname", "a@example.com", "short", "at least 8"),
        ("", "", "", "This field is required."),
    ];
    for (username, email, password, message) in cases {
        let res = b.post("/signup", &[("username", username), ("email", email), ("password", password)]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{username:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains(message), "{username:?}: expected {message:?}");
        assert!(body.contains(&format!("value=\"{}\"", email)), "email kept");
    }
    let users: i64 = app.with_db(|c| {
        use diesel::prelude::*;
        colabel::schema::users::table.count().get_result(c).unwrap()
    });
    assert_eq!(users, 0, "nothing was stored");
});

db_test!(async fn passwords_are_8_to_72_bytes_never_truncated(app) {
    let b = app.browser();
    let p72 = "x".repeat(72);
    let p73 = "x".repeat(73);
    let res = b.post("/signup", &[("username", "long"), ("email", "l@example.com"), ("password", &p73)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("at most 72 bytes"));
    // 72 bytes are fine, and a 73-byte variant of it does not log in (no silent truncation).
    let res = b.post("/signup", &[("username", "long"), ("email", "l@example.com"), ("password", &p72)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let other = app.browser();
    assert_eq!(other.login("long", &p73).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.login("long", &p72).await.status(), StatusCode::SEE_OTHER);
    // Multi-byte characters count in bytes: 8 characters of 3 bytes are 24 bytes, fine.
    let res = app.browser().post("/signup", &[("username", "uni"), ("email", "u@example.com"), ("password", &"€".repeat(25))]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "75 bytes are too many");
});

db_test!(async fn usernames_are_unique_ignoring_case(app) {
    app.user("Acme").await;
    for name in ["acme", "ACME", "aCmE"] {
        let res = app.browser().post("/signup", &[("username", name), ("email", &format!("{name}x@example.com")), ("password", PASSWORD)]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("That username is taken"));
    }
    let res = app.browser().post("/signup", &[("username", "other"), ("email", "ACME@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("email already exists"));
});

db_test!(async fn the_database_enforces_the_namespace(app) {
    use colabel::domain::kinds::AccountKind;
    use colabel::models::accounts::insert_account;
    let r = app.with_db(|c| {
        insert_account(c, "Taken", AccountKind::User, "").unwrap();
        insert_account(c, "tAKEN", AccountKind::Org, "")
    });
    assert!(colabel::db::is_unique_violation(&r.unwrap_err()), "the unique index refuses it");
});

db_test!(async fn simultaneous_signups_of_one_name_make_one_account(app) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let b = app.browser();
        b.token().await;
        tasks.push(async move {
            let name = if i % 2 == 0 { "racer" } else { "RACER" };
            b.post("/signup", &[("username", name), ("email", &format!("r{i}@example.com")), ("password", PASSWORD)]).await.status()
        });
    }
    let statuses = futures_util::future::join_all(tasks).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::UNPROCESSABLE_ENTITY), "{statuses:?}");
});

db_test!(async fn login_by_username_or_email_in_any_case(app) {
    app.user("bob").await;
    for login in ["bob", "BOB", "bob@example.com", "Bob@Example.com"] {
        let b = app.browser();
        assert_redirect(&b.login(login, PASSWORD).await, "/");
        assert!(b.page("/").await.1.contains("Signed in as <strong>bob</strong>"));
    }
});

db_test!(async fn wrong_password_and_unknown_user_look_the_same(app) {
    app.user("carol").await;
    let b = app.browser();
    let wrong = b.login("carol", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = wrong.text().await.unwrap();
    let unknown = b.login("nobody", "not the password").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Incorrect username, email or password."));
    assert!(unknown.contains("Incorrect username, email or password."));
    assert!(!b.page("/").await.1.contains("Signed in as"));
});

db_test!(async fn login_returns_to_local_paths_only(app) {
    app.user("dave").await;
    let b = app.browser();
    let res = b.get("/settings").await;
    assert_redirect(&res, "/login?next=%2Fsettings");
    let res = b.post("/login?next=%2Fsettings", &[("login", "dave"), ("password", PASSWORD)]).await;
    assert_redirect(&res, "/settings");
    let b = app.browser();
    let res = b.post("/login?next=%2F%2Fevil.example", &[("login", "dave"), ("password", PASSWORD)]).await;
    assert_redirect(&res, "/");
    let b = app.browser();
    let res = b.post("/login?next=https%3A%2F%2Fevil.example", &[("login", "dave"), ("password", PASSWORD)]).await;
    assert_redirect(&res, "/");
});

db_test!(async fn failed_logins_are_throttled_per_account(app) {
    app.user("erin").await;
    for _ in 0..colabel::auth::throttle::ACCOUNT_LIMIT {
        // A fresh client each time: the limit is per account, not per cookie.
        assert_eq!(app.browser().login("erin", "wrong password").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Even the right password is refused now, by email as well as by name.
    for login in ["erin", "erin@example.com"] {
        let res = app.browser().login(login, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(res.text().await.unwrap().contains("Too many failed sign-in attempts. Try again in 15 minutes."));
    }
    // The window passes (state lives in the database, so move it there).
    app.with_db(|c| {
        use diesel::prelude::*;
        use colabel::schema::login_throttle::dsl::*;
        diesel::update(login_throttle)
            .set(window_started_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::minutes(16)))
            .execute(c)
            .unwrap();
    });
    assert_redirect(&app.browser().login("erin", PASSWORD).await, "/");
});

db_test!(async fn failed_logins_are_throttled_per_address(app) {
    for i in 0..colabel::auth::throttle::ADDRESS_LIMIT {
        let res = app.browser().login(&format!("ghost{i}"), "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    app.user("frank").await;
    let res = app.browser().login("frank", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "this address is throttled");
});

db_test!(async fn profile_and_password_change(app) {
    let b = app.user("gina").await;
    let res = b.post("/settings", &[("action", "profile"), ("display_name", "Gina G"), ("email", "gina@new.example")]).await;
    assert_redirect(&res, "/settings");
    let body = b.page("/settings").await.1;
    assert!(body.contains("Your profile was saved."));
    assert!(body.contains("value=\"Gina G\""));
    // Taken email and bad email.
    app.user("hank").await;
    let res = b.post("/settings", &[("action", "profile"), ("display_name", "x"), ("email", "HANK@example.com")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Another account uses this email."));
    // Password: the current one is required, the new one follows the rules.
    let res = b.post("/settings", &[("action", "password"), ("current_password", "nope nope"), ("new_password", "new password 1")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("not your current password"));
    let res = b.post("/settings", &[("action", "password"), ("current_password", PASSWORD), ("new_password", "short")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = b.post("/settings", &[("action", "password"), ("current_password", PASSWORD), ("new_password", "new password 1")]).await;
    assert_redirect(&res, "/settings");
    assert!(b.page("/settings").await.1.contains("Other sessions were signed out"), "still signed in here");
    assert_eq!(app.browser().login("gina", PASSWORD).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_redirect(&app.browser().login("gina", "new password 1").await, "/");
});
