//! Several instances (issue 5, item 6): two Colabel applications, built from the same
//! settings (one PostgreSQL schema, one session key) and listening on different ports, as two
//! processes behind a load balancer would be. A session made on one is valid on the other; a
//! logout (or a password change) on one ends it on both; and the last-administrator rule holds
//! when concurrent demotions, removals and leaves are spread over both.
//!
//! PostgreSQL only (SQLite is one file for one process), so this test has no `::sqlite` /
//! `::postgres` pair; without `TEST_DATABASE_URL` it prints a note and passes, and under
//! `CI=true` it fails instead.

use colabel::schema::{accounts, memberships};
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;

const SIGNED_IN: &str = "Signed in as <strong>";

fn signed_in_as(body: &str, name: &str) -> bool {
    body.contains(&format!("{SIGNED_IN}{name}</strong>"))
}

/// A browser on `app` signed in as `name`, its token fetched.
async fn login(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    assert_redirect(&b.login(name, PASSWORD).await, "/");
    b.token().await;
    b
}

/// A browser on `app` that sends `from`'s session cookie.
fn same_session(app: &TestApp, from: &Browser) -> Browser {
    Browser::with_cookie(&app.base, &from.cookie())
}

fn org_id(app: &TestApp, name: &str) -> i32 {
    app.with_db(|c| {
        accounts::table
            .filter(accounts::username_key.eq(name))
            .select(accounts::id)
            .first(c)
            .unwrap()
    })
}

fn role(app: &TestApp, org: i32, user: &str) -> Option<String> {
    app.with_db(|c| {
        memberships::table
            .inner_join(accounts::table.on(accounts::id.eq(memberships::user_id)))
            .filter(memberships::org_id.eq(org))
            .filter(accounts::username_key.eq(user))
            .select(memberships::role)
            .first(c)
            .optional()
            .unwrap()
    })
}

fn admins(app: &TestApp, org: i32) -> i64 {
    app.with_db(|c| {
        memberships::table
            .filter(memberships::org_id.eq(org))
            .filter(memberships::role.eq("admin"))
            .count()
            .get_result(c)
            .unwrap()
    })
}

#[actix_web::test]
async fn two_processes_share_sessions_and_rules() {
    let Some(one) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let two = one.spawn_second_instance();
    assert_ne!(one.base, two.base);

    // ---- A session made on one is valid on the other ----
    let alice = one.user("alice").await;
    let alice_two = same_session(&two, &alice);
    let (status, body) = alice_two.page("/settings").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the cookie from instance 1 opens /settings on 2"
    );
    assert!(signed_in_as(&body, "alice"));
    // Its CSRF token is the same on both: a form from one page may be posted to the other.
    // (Pages mask it afresh each time, against BREACH: compare what is inside.)
    let unmask = colabel::html::csrf::unmask;
    assert_eq!(
        unmask(&alice.token().await),
        unmask(&alice_two.token().await)
    );
    let res = alice_two
        .post(
            "/organizations",
            &[("username", "shared"), ("display_name", "")],
        )
        .await;
    assert_redirect(&res, "/shared");
    // The same browser's next request reaches instance 1: the message set on 2 travels in
    // its (signed) cookie.
    let back_on_one = same_session(&one, &alice_two);
    let (status, body) = back_on_one.follow(res).await;
    assert_eq!(status, StatusCode::OK, "made on 2, seen on 1");
    assert!(
        body.contains("Welcome to shared"),
        "the flash set on 2 is shown on 1"
    );

    // ---- A logout on one ends the session on both ----
    let bob = two.user("bob").await;
    let bob_one = same_session(&one, &bob);
    assert!(signed_in_as(&bob_one.page("/").await.1, "bob"));
    let stale_token = bob.token().await;
    assert_redirect(&bob_one.post("/logout", &[]).await, "/");
    for (i, app) in [&one, &two].iter().enumerate() {
        let old = Browser::with_cookie(&app.base, &bob.cookie());
        let body = old.page("/").await.1;
        assert!(
            !body.contains(SIGNED_IN),
            "instance {}: the old cookie is worth nothing",
            i + 1
        );
        assert_redirect(&old.get("/settings").await, "/login?next=%2Fsettings");
        let res = old
            .post_raw(
                "/organizations",
                format!("username=ghost&display_name=&csrf_token={stale_token}"),
            )
            .await;
        // The first page found the session over and removed the cookie: its token went
        // with it.
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "instance {}: the old token is gone too",
            i + 1
        );
    }
    // And the other way round: a logout on 1 ends a session made on 2 ... on 2.
    let carol = two.user("carol").await;
    let carol_one = same_session(&one, &carol);
    assert_redirect(&carol_one.post("/logout", &[]).await, "/");
    assert!(!carol.page("/").await.1.contains(SIGNED_IN));
    // A password change on one ends the user's other sessions on both.
    let a1 = login(&one, "alice").await;
    let a2 = login(&two, "alice").await;
    assert_redirect(
        &a1.post(
            "/settings",
            &[
                ("action", "password"),
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
            ],
        )
        .await,
        "/settings",
    );
    assert!(
        !a2.page("/").await.1.contains(SIGNED_IN),
        "the session on 2 ended"
    );
    assert!(
        !alice.page("/").await.1.contains(SIGNED_IN),
        "and the first one on 1"
    );
    assert!(
        signed_in_as(&a1.page("/").await.1, "alice"),
        "the changing session lives on"
    );
    assert_redirect(
        &a1.post(
            "/settings",
            &[
                ("action", "password"),
                ("current_password", "a brand new password"),
                ("new_password", PASSWORD),
            ],
        )
        .await,
        "/settings",
    );

    // ---- The last-administrator rule, with requests spread over both ----
    // Each user has separate sessions on each instance: [on 1, on 2, on 1, on 2].
    let mut a = Vec::new();
    let mut b = Vec::new();
    for i in 0..4 {
        let app = if i % 2 == 0 { &one } else { &two };
        a.push(login(app, "alice").await);
        b.push(login(app, "bob").await);
    }
    let c = [login(&one, "carol").await, login(&two, "carol").await];
    let rounds = 12;
    let mut sent = 0;
    for round in 0..rounds {
        let org = format!("race{round}");
        // Set up through both instances.
        let res = a[round % 2]
            .post(
                "/organizations",
                &[("username", &org), ("display_name", "")],
            )
            .await;
        assert_redirect(&res, &format!("/{org}"));
        for (user, r, d) in [("bob", "admin", "labeler"), ("carol", "member", "viewer")] {
            let res = a[(round + 1) % 2]
                .post(
                    &format!("/{org}/settings/members"),
                    &[("username", user), ("role", r), ("default_role", d)],
                )
                .await;
            assert_redirect(&res, &format!("/{org}/settings/members"));
        }
        let id = org_id(&one, &org);
        assert_eq!(admins(&two, id), 2);
        let demote = |who: &str| {
            (
                format!("/{org}/settings/members/{who}"),
                vec![("role", "member"), ("default_role", "viewer")],
            )
        };
        let remove = |who: &str| (format!("/{org}/settings/members/{who}/remove"), vec![]);
        let leave = || (format!("/settings/organizations/{org}/leave"), vec![]);
        // Sessions on alternating instances; which instance each request goes to turns with
        // the round.
        let s = round % 2;
        #[allow(clippy::type_complexity)]
        let requests: Vec<(&Browser, (String, Vec<(&str, &str)>))> = match round % 3 {
            0 => vec![
                (&a[s], demote("bob")),
                (&b[1 - s], demote("alice")),
                (&c[s], demote("alice")),
            ],
            1 => vec![
                (&a[s], remove("bob")),
                (&b[1 - s], remove("alice")),
                (&a[1 - s], leave()),
                (&b[s], leave()),
                (&c[1 - s], remove("alice")),
            ],
            _ => vec![
                (&a[s], demote("bob")),
                (&b[1 - s], demote("alice")),
                (&a[1 - s], remove("bob")),
                (&b[s], remove("alice")),
                (&a[2 + s], leave()),
                (&b[3 - s], leave()),
                (&c[s], demote("alice")),
            ],
        };
        sent += requests.len();
        let tasks = requests.iter().map(|(br, (path, form))| async move {
            let res = br.post(path, form).await;
            (br.base.clone(), path.clone(), res.status())
        });
        let results = futures_util::future::join_all(tasks).await;
        for (base, path, status) in &results {
            assert!(
                [
                    StatusCode::SEE_OTHER,
                    StatusCode::FORBIDDEN,
                    StatusCode::NOT_FOUND
                ]
                .contains(status),
                "round {round}: POST {path} on {base} gave {status}; all: {results:?}"
            );
        }
        assert_eq!(
            admins(&one, id),
            1,
            "round {round}: exactly one administrator is left: {results:?}"
        );
        assert!(
            role(&one, id, "alice").as_deref() == Some("admin")
                || role(&one, id, "bob").as_deref() == Some("admin"),
            "round {round}"
        );
        assert_eq!(
            role(&two, id, "carol").as_deref(),
            Some("member"),
            "round {round}"
        );
    }
    let orphans = one.with_db(orgs_without_admin);
    assert_eq!(orphans, 0, "every organization still has an administrator");
    eprintln!(
        "instances: {sent} concurrent membership changes over 2 instances in {rounds} rounds"
    );
}
