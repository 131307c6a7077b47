//! Concurrency (issue 5, item 5). Double submits — 2 to 8 identical requests at the same
//! moment, from one browser (one session) and from two — of "Create organization", "Add
//! member" and "Create dataset" make exactly one row each, with one audit event and (for a
//! dataset) exactly the collaborators of the fan-out. And parallel writers of every kind never
//! surface "database is locked" (or a busy database) to a user: on SQLite the writes queue.
//!
//! orgs.rs already races adds of one user from several sessions and the last-administrator
//! rule; datasets.rs races creations of one name in mixed case from several sessions of one
//! user; accounts.rs races sign-ups. This file adds the same-session double submit, the
//! organization creation, the audit and fan-out counts, and the mixed writers.

use std::collections::BTreeMap;

use colabel::schema::{accounts, audit_events, collaborators, datasets, memberships};
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::db_test;
use crate::helpers::*;

async fn ok_post(b: &Browser, path: &str, form: &[(&str, &str)]) {
    let res = b.post(path, form).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "set-up: POST {path} {form:?}"
    );
}

async fn login(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    assert_redirect(&b.login(name, PASSWORD).await, "/");
    b.token().await;
    b
}

fn account_id(app: &TestApp, name: &str) -> Option<i32> {
    app.with_db(|c| find_account_id(c, name))
}

/// (accounts named `name`, and the (username, role) of every membership of that account).
fn org_rows(app: &TestApp, name: &str) -> (i64, Vec<(String, String)>) {
    app.with_db(|c| {
        let ids: Vec<i32> = accounts::table
            .filter(accounts::username_key.eq(name.to_ascii_lowercase()))
            .select(accounts::id)
            .load(c)
            .unwrap();
        let members = memberships::table
            .inner_join(accounts::table.on(accounts::id.eq(memberships::user_id)))
            .filter(memberships::org_id.eq_any(&ids))
            .select((accounts::username, memberships::role))
            .load(c)
            .unwrap();
        (ids.len() as i64, members)
    })
}

/// How many audit events of `action` about `subject` (or, with `None`, on `account`) exist.
fn events(app: &TestApp, account: i32, action: &str, subject: Option<&str>) -> i64 {
    app.with_db(|c| {
        let mut q = audit_events::table
            .filter(audit_events::account_id.eq(account))
            .filter(audit_events::action.eq(action))
            .into_boxed();
        if let Some(s) = subject {
            q = q.filter(audit_events::subject_name.eq(s.to_string()));
        }
        q.count().get_result(c).unwrap()
    })
}

fn memberships_of(app: &TestApp, org: i32, user: &str) -> i64 {
    let user = account_id(app, user).unwrap();
    app.with_db(|c| {
        memberships::table
            .filter(memberships::org_id.eq(org))
            .filter(memberships::user_id.eq(user))
            .count()
            .get_result(c)
            .unwrap()
    })
}

/// The ids of `owner`'s datasets named `name` (any case), and the collaborators (username
/// to role, and the number of rows) of the first.
fn dataset_rows(app: &TestApp, owner: i32, name: &str) -> (usize, BTreeMap<String, String>, usize) {
    app.with_db(|c| {
        let ids: Vec<i32> = datasets::table
            .filter(datasets::owner_id.eq(owner))
            .filter(datasets::name_key.eq(name.to_ascii_lowercase()))
            .select(datasets::id)
            .load(c)
            .unwrap();
        let Some(id) = ids.first() else {
            return (0, BTreeMap::new(), 0);
        };
        let rows: Vec<(String, String)> = collaborators::table
            .inner_join(accounts::table.on(accounts::id.eq(collaborators::user_id)))
            .filter(collaborators::dataset_id.eq(id))
            .select((accounts::username, collaborators::role))
            .load(c)
            .unwrap();
        let n = rows.len();
        (ids.len(), rows.into_iter().collect(), n)
    })
}

/// Sends `n` identical POSTs at once, spread over `browsers` in turn; returns for each its
/// browser's index, status and body.
async fn at_once(
    browsers: &[&Browser],
    n: usize,
    path: &str,
    form: &[(&str, &str)],
) -> Vec<(usize, StatusCode, String)> {
    // Tokens first, so that every request goes out at the same moment.
    for b in browsers {
        b.token().await;
    }
    let tasks = (0..n).map(|i| {
        let b = browsers[i % browsers.len()];
        async move {
            let res = b.post(path, form).await;
            let status = res.status();
            (i % browsers.len(), status, res.text().await.unwrap())
        }
    });
    futures_util::future::join_all(tasks).await
}

/// Exactly one 303; every other answer a 422 form that says `taken`; returns the winner.
fn one_winner(what: &str, results: &[(usize, StatusCode, String)], taken: &str) -> usize {
    let winners: Vec<usize> = results
        .iter()
        .filter(|r| r.1 == StatusCode::SEE_OTHER)
        .map(|r| r.0)
        .collect();
    let statuses: Vec<StatusCode> = results.iter().map(|r| r.1).collect();
    assert_eq!(winners.len(), 1, "{what}: {statuses:?}");
    for (_, status, body) in results {
        assert!(!status.is_server_error(), "{what}: {statuses:?}");
        if *status != StatusCode::SEE_OTHER {
            assert_eq!(
                *status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{what}: {statuses:?}"
            );
            assert!(body.contains(taken), "{what}: a 422 that says {taken:?}");
        }
    }
    winners[0]
}

db_test!(async fn double_submits_make_exactly_one_row(app) {
    let boss = app.user("boss").await;
    let ada = app.user("ada").await;
    ok_post(&boss, "/organizations", &[("username", "acme"), ("display_name", "")]).await;
    ok_post(&boss, "/acme/settings/members", &[("username", "ada"), ("role", "admin"), ("default_role", "none")]).await;
    // Members whose default roles make the fan-out of every new dataset.
    let fan_out = [("m1", "viewer"), ("m2", "labeler"), ("m3", "none"), ("m4", "admin")];
    for (name, default) in fan_out {
        app.user(name).await;
        ok_post(&boss, "/acme/settings/members", &[("username", name), ("role", "member"), ("default_role", default)]).await;
    }
    let acme = account_id(&app, "acme").unwrap();
    let names = ["boss", "ada"];
    let mut submits = 0;
    for n in [2, 3, 5, 8] {
        for (mode, browsers) in [("one browser", vec![&boss]), ("two browsers", vec![&boss, &ada])] {
            let tag = format!("{n}{}", if browsers.len() == 1 { "s" } else { "t" });

            // Create organization.
            let org = format!("org{tag}");
            let what = format!("{n} x create organization {org}, {mode}");
            let results = at_once(&browsers, n, "/organizations", &[("username", &org), ("display_name", "")]).await;
            let winner = one_winner(&what, &results, "That name is taken");
            let (accounts_n, members) = org_rows(&app, &org);
            assert_eq!(accounts_n, 1, "{what}");
            assert_eq!(members, vec![(names[winner].to_string(), "admin".to_string())], "{what}: the winner alone administers it");
            let org_id = account_id(&app, &org).unwrap();
            assert_eq!(events(&app, org_id, "org.created", None), 1, "{what}");

            // Add member.
            let user = format!("user{tag}");
            app.user(&user).await;
            let what = format!("{n} x add member {user}, {mode}");
            let results = at_once(&browsers, n, "/acme/settings/members", &[("username", &user), ("role", "member"), ("default_role", "reviewer")]).await;
            one_winner(&what, &results, "already a member of acme");
            assert_eq!(memberships_of(&app, acme, &user), 1, "{what}");
            assert_eq!(events(&app, acme, "member.added", Some(&user)), 1, "{what}");

            // Create dataset, with the fan-out of default roles.
            let ds = format!("ds{tag}");
            let what = format!("{n} x create dataset acme/{ds}, {mode}");
            let form = [("owner", "acme"), ("name", ds.as_str()), ("description", ""), ("task_type", "bboxes"), ("visibility", "private")];
            let before = dataset_rows(&app, acme, &ds).0;
            assert_eq!(before, 0);
            let results = at_once(&browsers, n, "/datasets", &form).await;
            let winner = one_winner(&what, &results, "already has a dataset with this name");
            let (count, collabs, rows) = dataset_rows(&app, acme, &ds);
            assert_eq!(count, 1, "{what}");
            // Members with a default role, the users added in earlier rounds (reviewer), and
            // the creator as administrator; one row each.
            let mut expected: BTreeMap<String, String> = fan_out
                .iter()
                .filter(|(_, d)| *d != "none")
                .map(|(u, d)| (u.to_string(), d.to_string()))
                .collect();
            let added: Vec<String> = app.with_db(|c| {
                memberships::table
                    .inner_join(accounts::table.on(accounts::id.eq(memberships::user_id)))
                    .filter(memberships::org_id.eq(acme))
                    .filter(accounts::username.like("user%"))
                    .select(accounts::username)
                    .load(c)
                    .unwrap()
            });
            for u in added {
                expected.insert(u, "reviewer".into());
            }
            expected.insert(names[winner].to_string(), "admin".into());
            assert_eq!(collabs, expected, "{what}");
            assert_eq!(rows, expected.len(), "{what}: no duplicate collaborator rows");
            assert_eq!(events(&app, acme, "dataset.created", Some(&ds)), 1, "{what}");
            submits += 3 * n;
        }
    }
    let created: i64 = events(&app, acme, "dataset.created", None);
    assert_eq!(created, 8, "one audit event per dataset created");
    eprintln!("double submits: {submits} requests on {:?}", app.backend);
});

/// One write of the mixed workload.
enum Write {
    CreateDataset(String),
    AddMember(String),
    SetRoles(String, &'static str, &'static str),
    OrgSettings(String),
    Profile(String),
    Collaborator(String, &'static str),
    Signup(String),
}

db_test!(async fn parallel_writers_never_surface_a_lock(app) {
    let boss = app.user("boss").await;
    app.user("ada").await;
    ok_post(&boss, "/organizations", &[("username", "acme"), ("display_name", "")]).await;
    ok_post(&boss, "/acme/settings/members", &[("username", "ada"), ("role", "admin"), ("default_role", "none")]).await;
    let defaults = ["viewer", "labeler", "reviewer", "manager", "admin", "none"];
    let mut workers = Vec::new();
    for i in 0..8 {
        let name = format!("w{i}");
        workers.push(app.user(&name).await);
        ok_post(&boss, "/acme/settings/members", &[("username", &name), ("role", "member"), ("default_role", defaults[i % 6])]).await;
    }
    for w in &workers {
        w.token().await;
    }
    ok_post(&boss, "/datasets", &[("owner", "acme"), ("name", "base"), ("description", ""), ("task_type", "bboxes"), ("visibility", "private")]).await;
    // Separate sessions for the administrators' concurrent requests.
    let mut admins = Vec::new();
    for i in 0..6 {
        admins.push(login(&app, if i % 2 == 0 { "boss" } else { "ada" }).await);
    }
    let rounds = 5;
    let mut statuses = BTreeMap::new();
    let mut sent = 0;
    for round in 0..rounds {
        // Users to add this round exist beforehand.
        for i in 0..3 {
            app.user(&format!("new{round}x{i}")).await;
        }
        let mut writes = Vec::new();
        for i in 0..4 {
            writes.push(Write::CreateDataset(format!("r{round}d{i}")));
        }
        for i in 0..3 {
            writes.push(Write::AddMember(format!("new{round}x{i}")));
        }
        for i in 0..3 {
            let (role, default) = [("admin", "manager"), ("member", "viewer"), ("member", "none")][(round + i) % 3];
            writes.push(Write::SetRoles(format!("w{}", (round + i) % 8), role, default));
        }
        writes.push(Write::OrgSettings(format!("round {round}")));
        writes.push(Write::OrgSettings(format!("round {round}, again")));
        writes.push(Write::Profile(format!("Worker {round}")));
        writes.push(Write::Profile(format!("Worker {round}!")));
        // w6 and w7 (defaults viewer, labeler) are collaborators on "base".
        writes.push(Write::Collaborator(format!("w{}", 6 + round % 2), ["viewer", "reviewer"][round % 2]));
        writes.push(Write::Signup(format!("s{round}")));
        assert_eq!(writes.len(), 16);
        let tasks = writes.into_iter().enumerate().map(|(i, w)| {
            let admin = &admins[i % admins.len()];
            let worker = &workers[i % workers.len()];
            send_write(admin, worker, i % workers.len(), w)
        });
        let mut reads = Vec::new();
        for w in workers.iter().take(4) {
            reads.push(async move { w.page("/").await });
        }
        // Meanwhile another connection holds the write lock for a while (SQLite: the whole
        // database; PostgreSQL: the tables these writes touch), so every writer has to wait.
        let holder = hold_write_lock(&app, std::time::Duration::from_millis(300));
        let (results, pages) = futures_util::future::join(futures_util::future::join_all(tasks), futures_util::future::join_all(reads)).await;
        holder.join().expect("the lock holder finished");
        for (what, status, body) in &results {
            sent += 1;
            *statuses.entry(status.as_u16()).or_insert(0) += 1;
            let lower = body.to_ascii_lowercase();
            assert!(!lower.contains("locked") && !lower.contains("busy"), "round {round}, {what}: {status} {body}");
            assert_eq!(*status, StatusCode::SEE_OTHER, "round {round}, {what}: every write succeeds");
        }
        for (status, body) in pages {
            assert_eq!(status, StatusCode::OK, "round {round}: a page read during the writes: {body}");
        }
    }
    let created: i64 = app.with_db(|c| datasets::table.count().get_result(c).unwrap());
    assert_eq!(created, 1 + 4 * rounds as i64);
    eprintln!("parallel writers: {sent} writes in {rounds} rounds of 16 on {:?}: {statuses:?}", app.backend);
});

/// Sends one write as `admin` (or, for a profile, as `worker`, who is `w{index}`); returns
/// what it was, the status and the body.
async fn send_write(
    admin: &Browser,
    worker: &Browser,
    index: usize,
    w: Write,
) -> (String, StatusCode, String) {
    let (what, res) = match &w {
        Write::CreateDataset(name) => {
            let form = [
                ("owner", "acme"),
                ("name", name.as_str()),
                ("description", "x"),
                ("task_type", "vector"),
                ("visibility", "public"),
            ];
            (
                format!("create {name}"),
                admin.post("/datasets", &form).await,
            )
        }
        Write::AddMember(user) => {
            let form = [
                ("username", user.as_str()),
                ("role", "member"),
                ("default_role", "labeler"),
            ];
            let res = admin.post("/acme/settings/members", &form).await;
            (format!("add {user}"), res)
        }
        Write::SetRoles(user, role, default) => {
            let path = format!("/acme/settings/members/{user}");
            let res = admin
                .post(&path, &[("role", role), ("default_role", default)])
                .await;
            (format!("roles of {user}"), res)
        }
        Write::OrgSettings(text) => {
            let form = [
                ("action", "update"),
                ("display_name", "Acme"),
                ("description", text.as_str()),
                ("contact_email", ""),
            ];
            (
                format!("settings {text}"),
                admin.post("/acme/settings", &form).await,
            )
        }
        Write::Profile(name) => {
            let email = format!("w{index}@example.com");
            let form = [
                ("action", "profile"),
                ("display_name", name.as_str()),
                ("email", email.as_str()),
            ];
            (
                format!("profile {name}"),
                worker.post("/settings", &form).await,
            )
        }
        Write::Collaborator(user, role) => {
            let path = format!("/acme/base/settings/collaborators/{user}");
            let res = admin.post(&path, &[("role", role)]).await;
            (format!("collaborator {user}"), res)
        }
        Write::Signup(user) => {
            let email = format!("{user}@example.com");
            let form = [
                ("username", user.as_str()),
                ("email", email.as_str()),
                ("password", PASSWORD),
            ];
            let b = Browser::new(&admin.base);
            (format!("signup {user}"), b.post("/signup", &form).await)
        }
    };
    let status = res.status();
    (what, status, res.text().await.unwrap())
}

/// Takes the write lock on a connection of its own and keeps it for `hold`; returns once the
/// lock is held.
fn hold_write_lock(app: &TestApp, hold: std::time::Duration) -> std::thread::JoinHandle<()> {
    use diesel::connection::SimpleConnection;
    let db = colabel::db::Db::connect(&app.settings.database_url, 1).expect("a connection");
    let (locked, is_locked) = std::sync::mpsc::channel();
    let sqlite = app.backend == Backend::Sqlite;
    let handle = std::thread::spawn(move || {
        let mut c = db.get().unwrap();
        if sqlite {
            c.batch_execute("BEGIN IMMEDIATE").unwrap();
        } else {
            c.batch_execute(
                "BEGIN; LOCK TABLE memberships, datasets, collaborators, organizations, \
                 accounts, audit_events IN SHARE ROW EXCLUSIVE MODE",
            )
            .unwrap();
        }
        locked.send(()).unwrap();
        std::thread::sleep(hold);
        c.batch_execute("COMMIT").unwrap();
    });
    is_locked.recv().expect("the lock was taken");
    handle
}
