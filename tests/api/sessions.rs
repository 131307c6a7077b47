//! Sessions: logout ends them, ids rotate at login, password changes end the others, idle
//! and absolute expiry, a signed cookie, an ended session's forms, cookie attributes.

use crate::db_test;
use crate::helpers::*;
use diesel::prelude::*;
use reqwest::StatusCode;

fn signed_in(body: &str) -> bool {
    body.contains("Signed in as")
}

db_test!(async fn logout_ends_the_session_for_good(app) {
    let b = app.user("ivy").await;
    let cookie = b.cookie();
    assert!(signed_in(&b.page("/").await.1));
    let token = b.token().await;
    let res = b.post("/logout", &[]).await;
    assert_redirect(&res, "/");
    assert!(!signed_in(&b.page("/").await.1));
    // The cookie copied before logout is worth nothing now.
    let replay = Browser::with_cookie(&app.base, &cookie);
    assert!(!signed_in(&replay.page("/").await.1));
    assert_redirect(&replay.get("/settings").await, "/login?next=%2Fsettings");
    // Nor can it post with the old token.
    let res = replay.post_raw("/settings", format!("action=profile&display_name=x&email=x%40example.com&csrf_token={token}")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let rows: i64 = app.with_db(|c| colabel::schema::sessions::table.filter(colabel::schema::sessions::user_id.is_not_null()).count().get_result(c).unwrap());
    assert_eq!(rows, 0);
});

db_test!(async fn the_session_id_changes_at_login(app) {
    app.user("jack").await;
    let b = app.browser();
    b.token().await; // an anonymous session exists now
    let before = b.cookie();
    assert!(before.contains("colabel_session="));
    assert_redirect(&b.login("jack", PASSWORD).await, "/");
    let after = b.cookie();
    assert_ne!(before, after);
    // The anonymous session before login is gone: a fixated id gains nothing.
    let fixated = Browser::with_cookie(&app.base, &before);
    assert!(!signed_in(&fixated.page("/").await.1));
});

db_test!(async fn a_password_change_ends_the_other_sessions(app) {
    let laptop = app.user("kate").await;
    let phone = app.browser();
    assert_redirect(&phone.login("kate", PASSWORD).await, "/");
    assert!(signed_in(&phone.page("/").await.1));
    let old_laptop_cookie = laptop.cookie();
    let res = laptop.post("/settings", &[("action", "password"), ("current_password", PASSWORD), ("new_password", "brand new secret")]).await;
    assert_redirect(&res, "/settings");
    assert!(signed_in(&laptop.page("/").await.1), "the browser that changed it stays signed in");
    assert_ne!(laptop.cookie(), old_laptop_cookie, "with a new session id");
    assert!(!signed_in(&phone.page("/").await.1), "the other session ended");
    assert!(!signed_in(&Browser::with_cookie(&app.base, &old_laptop_cookie).page("/").await.1));
});

db_test!(async fn sessions_expire_when_idle(app) {
    let b = app.user("liam").await;
    app.with_db(|c| {
        use colabel::schema::sessions::dsl::*;
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
        diesel::update(sessions).set(expires_at.eq(past)).execute(c).unwrap();
    });
    assert!(!signed_in(&b.page("/").await.1));
});

db_test!(async fn sessions_expire_after_their_absolute_lifetime(app) {
    let b = app.user("mia").await;
    app.with_db(|c| {
        use colabel::schema::sessions::dsl::*;
        let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(15);
        // Still fresh by idle time, but created 15 days ago (the limit is 14).
        diesel::update(sessions).set(created_at.eq(long_ago)).execute(c).unwrap();
    });
    assert!(!signed_in(&b.page("/").await.1));
});

db_test!(async fn the_table_holds_only_the_hash_of_the_cookies_key_and_the_cookie_is_signed(app) {
    let b = app.user("nora").await;
    let cookie = b.cookie();
    let ids: Vec<String> = app.with_db(|c| colabel::schema::sessions::table.select(colabel::schema::sessions::id).load(c).unwrap());
    assert_eq!(ids.len(), 1);
    for id in &ids {
        assert_eq!(id.len(), 64, "a SHA-256 in hex");
        assert!(!cookie.contains(id.as_str()));
    }
    // The cookie carries the session's state (its user, its CSRF token) signed: changing a
    // byte of it makes it worth nothing.
    let value = cookie.split_once('=').unwrap().1.to_string();
    let at = value.len() - 3;
    let flipped = if &value[at..at + 1] == "0" { "1" } else { "0" };
    let forged = format!("colabel_session={}{}{}", &value[..at], flipped, &value[at + 1..]);
    assert_ne!(forged, cookie);
    let forger = Browser::with_cookie(&app.base, &forged);
    assert!(!signed_in(&forger.page("/").await.1));
    assert_redirect(&forger.get("/settings").await, "/login?next=%2Fsettings");
});

db_test!(async fn a_form_sent_with_an_ended_session_does_nothing(app) {
    let b = app.user("otto").await;
    let token = b.token().await;
    let copy = b.cookie();
    assert_redirect(&b.post("/logout", &[]).await, "/");
    // The copy still holds the token its forms carried, signed; the session it names is over.
    let replay = Browser::with_cookie(&app.base, &copy);
    let res = replay.post_raw("/organizations", format!("username=ghostorg&display_name=&csrf_token={token}")).await;
    assert_redirect(&res, "/login");
    let orgs: i64 = app.with_db(|c| colabel::schema::accounts::table.filter(colabel::schema::accounts::username_key.eq("ghostorg")).count().get_result(c).unwrap());
    assert_eq!(orgs, 0, "nothing was done for it");
    // And the browser was told to forget it.
    assert!(!replay.cookie().contains("colabel_session="), "the cookie is removed: {}", replay.cookie());
    // A page asked with an ended session is asked again after signing in.
    let replay = Browser::with_cookie(&app.base, &copy);
    assert_redirect(&replay.get("/settings/organizations").await, "/login?next=%2Fsettings%2Forganizations");
});

db_test!(async fn visitors_without_forms_create_no_session(app) {
    let b = app.browser();
    let res = b.get("/").await;
    assert!(res.headers().get("set-cookie").is_none());
    let rows: i64 = app.with_db(|c| colabel::schema::sessions::table.count().get_result(c).unwrap());
    assert_eq!(rows, 0);
});

#[actix_web::test]
async fn cookies_are_secure_httponly_and_lax_by_default() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.secure_cookies = true)
        .await
        .unwrap();
    let res = app.browser().get("/login").await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("colabel_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Secure"));
    let plain = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let res = plain.browser().get("/login").await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        !cookie.contains("Secure"),
        "COLABEL_SECURE_COOKIES=false turns it off"
    );
    assert!(
        colabel::config::Settings::from_lookup(|_| None)
            .unwrap()
            .secure_cookies
    );
}
