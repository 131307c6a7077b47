//! Nothing grows without bound (issue 13, finding 5): visitors who never sign in leave no
//! session rows, and every instance sweeps expired sessions and spent throttle counters.

use chrono::{Duration, Utc};
use colabel::schema::{login_throttle, sessions};
use diesel::prelude::*;
use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::{db_test, db_test_with};

fn rows(app: &TestApp) -> (i64, i64) {
    app.with_db(|c| {
        (
            sessions::table.count().get_result(c).unwrap(),
            login_throttle::table.count().get_result(c).unwrap(),
        )
    })
}

db_test!(async fn row_counts_stay_flat_under_3000_cookie_less_visits(app) {
    let before = rows(&app);
    // No cookie jar: every request is a new visitor.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let paths = ["/login", "/signup", "/", "/login?next=%2Fsettings"];
    let statuses: Vec<StatusCode> = futures_util::stream::iter(0..3000)
        .map(|i| {
            let client = client.clone();
            let url = format!("{}{}", app.base, paths[i % paths.len()]);
            async move { client.get(url).send().await.unwrap().status() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "every visit is answered");
    // Cookie-less form posts are refused before anything is stored.
    for _ in 0..100 {
        let res = client.post(format!("{}/login", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("login=ghost&password=whatever1")
            .send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(rows(&app), before, "(session rows, throttle rows) after 3,000 visits");
    // A visitor who submits a failed login still gets no session row.
    let b = app.browser();
    assert_eq!(b.login("ghost", "whatever1").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rows(&app).0, before.0);
    // Signing in is what makes one.
    app.user("vera").await;
    assert_eq!(rows(&app).0, before.0 + 1);
});

/// Inserts `n` sessions (of `user_id`) and throttle counters that are over, and two of each
/// that are not.
fn stale_rows(c: &mut colabel::db::DbConn, user_id: i32, n: usize) {
    let now = Utc::now().naive_utc();
    c.transaction::<_, diesel::result::Error, _>(|c| {
        for i in 0..n {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(format!("stale-{i}")),
                    sessions::user_id.eq(user_id),
                    sessions::created_at.eq(now - Duration::days(2)),
                    sessions::last_seen_at.eq(now - Duration::days(2)),
                    sessions::expires_at.eq(now - Duration::days(1)),
                ))
                .execute(c)?;
            diesel::insert_into(login_throttle::table)
                .values((
                    login_throttle::scope_key.eq(format!("ip:192.0.2.{i}-stale")),
                    login_throttle::failures.eq(3),
                    login_throttle::window_started_at.eq(now - Duration::hours(2)),
                ))
                .execute(c)?;
        }
        for i in 0..2 {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(format!("fresh-{i}")),
                    sessions::user_id.eq(user_id),
                    sessions::created_at.eq(now),
                    sessions::last_seen_at.eq(now),
                    sessions::expires_at.eq(now + Duration::days(1)),
                ))
                .execute(c)?;
            diesel::insert_into(login_throttle::table)
                .values((
                    login_throttle::scope_key.eq(format!("ip:192.0.2.{i}-fresh")),
                    login_throttle::failures.eq(3),
                    login_throttle::window_started_at.eq(now),
                ))
                .execute(c)?;
        }
        Ok(())
    })
    .unwrap();
}

db_test_with!(
    |s: &mut colabel::config::Settings| s.sweep_every = std::time::Duration::from_secs(1),
    async fn every_instance_sweeps_expired_sessions_and_spent_throttles(app) {
        // Two instances on one database, both sweeping; neither waits for the other.
        let second = app.spawn_second_instance();
        app.user("owner").await;
        let owner = app.with_db(|c| find_account_id(c, "owner")).expect("the owner");
        app.with_db(|c| stale_rows(c, owner, 1500));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let left = rows(&app);
            // owner's own session is current too.
            if left == (3, 2) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "(sessions, throttles) still {left:?}; (3, 2) are current");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // Both instances still serve.
        for base in [&app.base, &second.base] {
            assert_eq!(Browser::new(base).page("/healthz").await.0, StatusCode::OK);
        }
    }
);
