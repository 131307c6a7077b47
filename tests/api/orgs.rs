//! Organizations (issue 3; SPEC 2 to 5 and the seed guide): creating one, the account page,
//! the Members tab and subtab, organization roles and default dataset roles, leaving,
//! settings, deletion, the audit log, and the last-administrator rule under concurrency.

use crate::db_test;
use crate::helpers::*;
use colabel::schema::{
    accounts, audit_events, collaborators, datasets, memberships, organizations,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::StatusCode;

const LAST_ADMIN: &str = "must keep at least one administrator. Make another member an administrator first, or delete the organization in its settings.";

// ---- Helpers ----

/// `b` creates the organization `name` and lands on its page.
pub(crate) async fn create_org(b: &Browser, name: &str) {
    let res = b
        .post(
            "/organizations",
            &[("username", name), ("display_name", "")],
        )
        .await;
    assert_redirect(&res, &format!("/{name}"));
}

/// An administrator adds `user` through the Members subtab.
pub(crate) async fn add_member(b: &Browser, org: &str, user: &str, role: &str, default_role: &str) {
    let res = b
        .post(
            &format!("/{org}/settings/members"),
            &[
                ("username", user),
                ("role", role),
                ("default_role", default_role),
            ],
        )
        .await;
    assert_redirect(&res, &format!("/{org}/settings/members"));
}

/// An administrator sets a member's roles.
pub(crate) async fn set_roles(
    b: &Browser,
    org: &str,
    user: &str,
    role: &str,
    default_role: &str,
) -> reqwest::Response {
    b.post(
        &format!("/{org}/settings/members/{user}"),
        &[("role", role), ("default_role", default_role)],
    )
    .await
}

/// A second, separately signed-in browser of an existing user (its token fetched).
pub(crate) async fn login(app: &TestApp, name: &str) -> Browser {
    let b = app.browser();
    assert_redirect(&b.login(name, PASSWORD).await, "/");
    b.token().await;
    b
}

pub(crate) fn id_of(app: &TestApp, name: &str) -> i32 {
    app.with_db(|c| find_account_id(c, name))
        .unwrap_or_else(|| panic!("no account {name}"))
}

/// `user`'s (role, default dataset role) in `org`, or `None` when not a member.
pub(crate) fn membership(app: &TestApp, org: &str, user: &str) -> Option<(String, Option<String>)> {
    let (o, u) = (id_of(app, org), id_of(app, user));
    app.with_db(|c| {
        memberships::table
            .filter(memberships::org_id.eq(o))
            .filter(memberships::user_id.eq(u))
            .select((memberships::role, memberships::default_dataset_role))
            .first(c)
            .optional()
            .unwrap()
    })
}

pub(crate) fn roles(role: &str, default: Option<&str>) -> Option<(String, Option<String>)> {
    Some((role.to_string(), default.map(str::to_string)))
}

pub(crate) fn admin_count(app: &TestApp, org_id: i32) -> i64 {
    app.with_db(|c| {
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::role.eq("admin"))
            .count()
            .get_result(c)
            .unwrap()
    })
}

fn member_count(app: &TestApp, org_id: i32) -> i64 {
    app.with_db(|c| {
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .count()
            .get_result(c)
            .unwrap()
    })
}

/// Creates the dataset `owner/name` as `creator`, the way the app does (its use case:
/// members join with their default dataset role), and returns its id.
pub(crate) fn make_dataset(app: &TestApp, owner: &str, creator: &str, name: &str) -> i32 {
    use colabel::app::datasets::{create, CreateDataset};
    use colabel::app::Principal;
    use colabel::domain::kinds::TaskType;
    use colabel::models::accounts::find_account;
    app.with_db(|c| {
        let u = find_account(c, creator).unwrap().unwrap();
        let cmd = CreateDataset {
            owner: owner.to_string(),
            owner_kind: None,
            name: name.to_string(),
            description: String::new(),
            task_type: Some(TaskType::Bboxes),
            is_public: false,
        };
        colabel::db::write_tx(c, |tx| {
            create(tx, &Principal::session(u.id, u.username), cmd)
        })
        .expect("dataset name is free");
        let o = find_account(c, owner).unwrap().unwrap();
        id_of_dataset(c, o.id, name)
    })
}

fn id_of_dataset(c: &mut colabel::db::DbConn, owner_id: i32, name: &str) -> i32 {
    datasets::table
        .filter(datasets::owner_id.eq(owner_id))
        .filter(datasets::name_key.eq(name.to_ascii_lowercase()))
        .select(datasets::id)
        .first(c)
        .unwrap()
}

pub(crate) fn add_collaborator(app: &TestApp, dataset: i32, user: &str, role: &str) {
    let u = id_of(app, user);
    app.with_db(|c| {
        diesel::insert_into(collaborators::table)
            .values((
                collaborators::dataset_id.eq(dataset),
                collaborators::user_id.eq(u),
                collaborators::role.eq(role),
                collaborators::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(c)
            .unwrap();
    });
}

pub(crate) fn collaborator_role(app: &TestApp, dataset: i32, user: &str) -> Option<String> {
    let u = id_of(app, user);
    app.with_db(|c| {
        collaborators::table
            .filter(collaborators::dataset_id.eq(dataset))
            .filter(collaborators::user_id.eq(u))
            .select(collaborators::role)
            .first(c)
            .optional()
            .unwrap()
    })
}

/// The audit log of `org_id`, newest first: (actor, action, subject, details).
pub(crate) type AuditTuple = (String, String, Option<String>, String);

pub(crate) fn audit(app: &TestApp, org_id: i32) -> Vec<AuditTuple> {
    app.with_db(|c| {
        audit_events::table
            .filter(audit_events::account_id.eq(org_id))
            .order(audit_events::id.desc())
            .select((
                audit_events::actor_name,
                audit_events::action,
                audit_events::subject_name,
                audit_events::details,
            ))
            .load(c)
            .unwrap()
    })
}

/// Inserts `n` users named `{prefix}000`, `{prefix}001`, ... straight into the database
/// (no usable password) and makes them members of `org` with `role` (default labeler).
pub(crate) fn bulk_members(app: &TestApp, org: &str, prefix: &str, n: usize, role: &str) {
    let org_id = id_of(app, org);
    app.with_db(|c| {
        let max: Option<i32> = accounts::table
            .select(diesel::dsl::max(accounts::id))
            .first(c)
            .unwrap();
        let max = max.unwrap_or(0);
        let values: Vec<String> = (0..n)
            .map(|i| format!("('{prefix}{i:03}', '{prefix}{i:03}', 'user', '', CURRENT_TIMESTAMP)"))
            .collect();
        c.batch_execute(&format!(
            "INSERT INTO accounts (username, username_key, kind, display_name, created_at) VALUES {};
             INSERT INTO users (id, email, email_key, password_hash, password_changed_at)
               SELECT id, username_key || '@bulk.example', username_key || '@bulk.example', 'x', CURRENT_TIMESTAMP
               FROM accounts WHERE kind = 'user' AND id > {max};
             INSERT INTO memberships (org_id, user_id, username_key, role, default_dataset_role, created_at)
               SELECT {org_id}, id, username_key, '{role}', 'labeler', CURRENT_TIMESTAMP
               FROM accounts WHERE kind = 'user' AND id > {max};",
            values.join(", ")
        ))
        .unwrap();
    });
}

/// `n` datasets owned by `owner`, inserted directly.
pub(crate) fn bulk_datasets(app: &TestApp, owner: &str, n: usize) {
    let owner_id = id_of(app, owner);
    let values: Vec<String> = (0..n)
        .map(|i| format!("({owner_id}, 'ds{i:03}', 'ds{i:03}', '', 'bboxes', FALSE, NULL, CURRENT_TIMESTAMP)"))
        .collect();
    app.with_db(|c| {
        c.batch_execute(&format!(
            "INSERT INTO datasets (owner_id, name, name_key, description, task_type, is_public, created_by, created_at) VALUES {}",
            values.join(", ")
        ))
        .unwrap()
    });
}

/// One audit event per member of `org`, inserted directly.
fn bulk_audit(app: &TestApp, org: &str) {
    let org_id = id_of(app, org);
    app.with_db(|c| {
        c.batch_execute(&format!(
            "INSERT INTO audit_events (account_id, actor_id, actor_name, action, subject_name, details, created_at)
             SELECT {org_id}, NULL, 'bulk', 'member.added', username_key, 'as Member, default dataset role Labeler', CURRENT_TIMESTAMP
             FROM memberships WHERE org_id = {org_id}"
        ))
        .unwrap()
    });
}

/// `n` organizations named `{prefix}00`, ... with `user` as their administrator.
fn bulk_orgs(app: &TestApp, user: &str, prefix: &str, n: usize) {
    let uid = id_of(app, user);
    let key = user.to_ascii_lowercase();
    app.with_db(|c| {
        let max: Option<i32> = accounts::table
            .select(diesel::dsl::max(accounts::id))
            .first(c)
            .unwrap();
        let max = max.unwrap_or(0);
        let values: Vec<String> = (0..n)
            .map(|i| format!("('{prefix}{i:02}', '{prefix}{i:02}', 'org', '', CURRENT_TIMESTAMP)"))
            .collect();
        c.batch_execute(&format!(
            "INSERT INTO accounts (username, username_key, kind, display_name, created_at) VALUES {};
             INSERT INTO organizations (id, description, contact_email)
               SELECT id, '', '' FROM accounts WHERE kind = 'org' AND id > {max};
             INSERT INTO memberships (org_id, user_id, username_key, role, default_dataset_role, created_at)
               SELECT id, {uid}, '{key}', 'admin', NULL, CURRENT_TIMESTAMP
               FROM accounts WHERE kind = 'org' AND id > {max};",
            values.join(", ")
        ))
        .unwrap();
    });
}

/// Whether `body` holds `text` HTML-escaped (named or numeric entities).
fn has_escaped(body: &str, text: &str) -> bool {
    let escape = |named: bool| -> String {
        text.chars()
            .map(|c| match (c, named) {
                ('<', true) => "&lt;".to_string(),
                ('>', true) => "&gt;".to_string(),
                ('&', true) => "&amp;".to_string(),
                ('"', true) => "&quot;".to_string(),
                ('<', false) => "&#60;".to_string(),
                ('>', false) => "&#62;".to_string(),
                ('&', false) => "&#38;".to_string(),
                ('"', false) => "&#34;".to_string(),
                _ => c.to_string(),
            })
            .collect()
    };
    body.contains(&escape(true)) || body.contains(&escape(false))
}

pub(crate) fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The login page's `next` parameter as the app encodes it (every non-alphanumeric byte).
fn encoded(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The row form of `user` on the Members subtab.
/// The table row of `user` on the Members subtab (its selects belong to the row's form).
pub(crate) fn member_form<'a>(body: &'a str, user: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"role-{user}\""))
        .unwrap_or_else(|| panic!("a row for {user}"));
    let end = start + body[start..].find("</tr>").unwrap();
    &body[start..end]
}

// ---- The seed's walkthrough ----

db_test!(async fn the_seed_walkthrough(app) {
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    // The plus-icon menu offers "New organization".
    let body = a.page("/").await.1;
    assert!(body.contains(r#"href="/organizations/new">New organization</a>"#));
    let (status, body) = a.page("/organizations/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Create organization") && body.contains(r#"name="username""#));

    // A creates the organization and lands on its account page.
    let res = a.post("/organizations", &[("username", "Acme"), ("display_name", "Acme Corp")]).await;
    assert_redirect(&res, "/Acme");
    let (status, body) = a.follow(res).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Welcome to Acme, your new organization."), "flash shown");
    assert!(body.contains("<h1>Acme Corp</h1>") && body.contains("<p>Acme"), "name shown");
    assert!(body.contains(r#"<a href="/Acme" aria-current="page">Datasets</a>"#));
    assert!(body.contains(r#"href="/Acme/members""#) && body.contains(r#"href="/Acme/settings""#));
    assert!(body.contains(r#"href="/datasets/new?owner=Acme""#) && body.contains("New dataset"));
    assert!(body.contains("Acme has no datasets yet"), "empty state");
    assert_eq!(membership(&app, "acme", "alice"), roles("admin", None));
    assert!(a.page("/Acme").await.1.contains(r#"class="menu-org" href="/Acme""#));

    // Settings → Members: add B with the default dataset role "reviewer".
    let (status, body) = a.page("/Acme/settings/members").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Add member"));
    let res = a.post("/Acme/settings/members", &[("username", "bob"), ("role", "member"), ("default_role", "reviewer")]).await;
    assert_redirect(&res, "/Acme/settings/members");
    let body = a.follow(res).await.1;
    assert!(body.contains("bob is now a member of Acme."));
    assert_eq!(membership(&app, "acme", "bob"), roles("member", Some("reviewer")));
    // The default role matters: a dataset created now has B as a reviewer.
    let ds = make_dataset(&app, "Acme", "alice", "cats");
    assert_eq!(collaborator_role(&app, ds, "bob").as_deref(), Some("reviewer"));

    // B finds the organization in the profile menu and on the Members tab.
    let body = b.page("/").await.1;
    assert!(body.contains(r#"class="menu-org" href="/Acme""#), "quick access");
    let (status, body) = b.page("/Acme").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>Acme Corp</h1>"));
    assert!(body.contains(r#"href="/Acme/cats""#), "B sees the dataset B collaborates on");
    assert!(!body.contains(r#"href="/Acme/settings"#), "no Settings tab for members");
    assert!(!body.contains("/datasets/new?owner=Acme"), "no New dataset for members");
    let (status, body) = b.page("/Acme/members").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("2 members"));
    assert!(body.contains(r#"href="/alice""#) && body.contains(r#"href="/bob""#));
    assert!(body.contains("Administrator") && body.contains(">Member</span>"));

    // B leaves from the Organizations tab: a confirmation, then the POST.
    let body = b.page("/settings/organizations").await.1;
    assert!(body.contains(r#"href="/Acme""#) && body.contains(">Member</span>"));
    assert!(body.contains(r#"href="/settings/organizations/Acme/leave">Leave organization</a>"#));
    let (status, body) = b.page("/settings/organizations/Acme/leave").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Leave Acme?") && body.contains(r#"action="/settings/organizations/Acme/leave""#));
    assert!(membership(&app, "acme", "bob").is_some(), "a GET changes nothing");
    let res = b.post("/settings/organizations/Acme/leave", &[]).await;
    assert_redirect(&res, "/settings/organizations");
    let body = b.follow(res).await.1;
    assert!(body.contains("You left Acme."));
    assert!(body.contains("You are not a member of any organization"));
    assert!(!body.contains("menu-org"), "gone from the profile menu");
    assert_eq!(membership(&app, "acme", "bob"), None);
    assert_eq!(collaborator_role(&app, ds, "bob"), None, "leaving revokes dataset access");
    assert!(b.page("/Acme").await.1.contains("data-public-profile"), "the public profile only");
    assert_eq!(b.page("/Acme/members").await.0, StatusCode::NOT_FOUND);

    // A, the last administrator, cannot leave; the page says why and what to do.
    let body = a.page("/settings/organizations").await.1;
    assert!(body.contains("You are the last administrator"));
    let res = a.post("/settings/organizations/Acme/leave", &[]).await;
    assert_redirect(&res, "/settings/organizations");
    let body = a.follow(res).await.1;
    assert!(body.contains("You cannot leave Acme: you are its last administrator. Make another member an administrator first, or delete the organization in its settings."), "{body}");
    assert_eq!(membership(&app, "acme", "alice"), roles("admin", None));
    assert_eq!(a.page("/Acme").await.0, StatusCode::OK);
});

// ---- Names ----

db_test!(async fn org_names_share_the_user_namespace_in_any_case(app) {
    let a = app.user("alice").await;
    app.user("Bob").await;
    create_org(&a, "Acme").await;
    for name in ["bob", "BOB", "Bob", "acme", "ACME", "aCmE", "alice", "ALICE"] {
        let res = a.post("/organizations", &[("username", name), ("display_name", "Kept")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let body = res.text().await.unwrap();
        assert!(body.contains("That name is taken by a user or an organization."), "{name}");
        assert!(body.contains(&format!("value=\"{name}\"")) && body.contains("value=\"Kept\""), "input kept");
    }
    // Nor can a user sign up with an organization's name.
    for name in ["acme", "ACME"] {
        let res = app.browser().post("/signup", &[("username", name), ("email", &format!("{name}1@example.com")), ("password", PASSWORD)]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(res.text().await.unwrap().contains("That username is taken"));
    }
    let (accounts_n, orgs_n): (i64, i64) = app.with_db(|c| {
        (accounts::table.count().get_result(c).unwrap(), organizations::table.count().get_result(c).unwrap())
    });
    assert_eq!((accounts_n, orgs_n), (3, 1));
    // The name keeps its case for display; look-ups ignore case.
    let (status, body) = a.page("/ACME").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>Acme</h1>"));
    assert_eq!(a.page("/acme/members").await.0, StatusCode::OK);
});

db_test!(async fn org_names_follow_the_username_rules(app) {
    let a = app.user("alice").await;
    let long = "a".repeat(40);
    let cases: &[(&str, &str)] = &[
        ("settings", "That name is reserved."),
        ("New", "That name is reserved."),
        ("organizations", "That name is reserved."),
        ("API", "That name is reserved."),
        ("static", "That name is reserved."),
        ("healthz", "That name is reserved."),
        ("login", "That name is reserved."),
        ("datasets", "That name is reserved."),
        ("a", "2 to 39"),
        (&long, "2 to 39"),
        ("", "This field is required."),
        ("-acme", "Start with a letter"),
        ("_acme", "Start with a letter"),
        ("ac me", "Use only letters"),
        ("acmé", "Use only letters"),
        ("ac/me", "Use only letters"),
    ];
    for (name, message) in cases {
        let res = a.post("/organizations", &[("username", name), ("display_name", "")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(res.text().await.unwrap().contains(message), "{name:?}: expected {message:?}");
    }
    // Display names: at most 100 characters, no control characters.
    let res = a.post("/organizations", &[("username", "okname"), ("display_name", &"x".repeat(101))]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Use at most 100 characters."));
    let res = a.post("/organizations", &[("username", "okname"), ("display_name", "bell\u{7}")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Remove the control characters."));
    let orgs_n: i64 = app.with_db(|c| organizations::table.count().get_result(c).unwrap());
    assert_eq!(orgs_n, 0, "nothing stored");
    // The longest name and every allowed character work.
    let max = format!("a{}", "b".repeat(38));
    create_org(&a, &max).await;
    create_org(&a, "9a-b_C").await;
    // Visitors are sent to log in, and cannot create one.
    let v = app.browser();
    assert_redirect(&v.get("/organizations/new").await, "/login?next=%2Forganizations%2Fnew");
    assert_redirect(&v.post("/organizations", &[("username", "sneaky"), ("display_name", "")]).await, "/login");
    assert_eq!(app.with_db(|c| find_account_id(c, "sneaky")), None);
});

// ---- Permissions ----

db_test!(async fn members_get_403_on_every_administrator_page_and_action(app) {
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    app.user("carol").await;
    app.user("dave").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    add_member(&a, "acme", "carol", "member", "viewer").await;
    let ds = make_dataset(&app, "acme", "alice", "cats");
    assert_eq!(collaborator_role(&app, ds, "carol").as_deref(), Some("viewer"));
    let before = snapshot(&app);

    // What a member may do: the account page and the Members tab, without admin controls.
    let (status, body) = b.page("/acme").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains(r#"href="/acme/settings"#) && !body.contains("/datasets/new?owner=acme"));
    assert_eq!(b.page("/acme/members").await.0, StatusCode::OK);

    for path in [
        "/acme/settings",
        "/acme/settings/members",
        "/acme/settings/members?q=c&page=1",
        "/acme/settings/audit",
        "/acme/settings/members/carol/remove",
        "/acme/settings/members/alice/remove",
        "/acme/settings/members/bob/remove",
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "GET {path}");
        let body = res.text().await.unwrap();
        assert!(body.contains("Only administrators of acme can do this."), "GET {path}: says why");
        assert!(body.contains("<nav"), "in the layout");
    }
    let posts: &[(&str, &[(&str, &str)])] = &[
        ("/acme/settings", &[("action", "update"), ("display_name", "Hacked"), ("description", ""), ("contact_email", "")]),
        ("/acme/settings", &[("action", "delete"), ("confirm", "acme")]),
        ("/acme/settings/members", &[("username", "dave"), ("role", "admin"), ("default_role", "admin")]),
        ("/acme/settings/members/bob", &[("role", "admin"), ("default_role", "admin")]),
        ("/acme/settings/members/alice", &[("role", "member"), ("default_role", "none")]),
        ("/acme/settings/members/carol", &[("role", "admin"), ("default_role", "viewer")]),
        ("/acme/settings/members/carol/remove", &[]),
        ("/acme/settings/members/alice/remove", &[]),
    ];
    for (path, form) in posts {
        let res = b.post(path, form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {path} {form:?}");
    }
    assert_eq!(snapshot(&app), before, "nothing changed");
});

db_test!(async fn non_members_and_visitors_get_404_as_if_nothing_were_there(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    let eve = app.user("eve").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "admin", "labeler").await;
    make_dataset(&app, "acme", "alice", "cats");
    let visitor = app.browser();
    visitor.token().await;
    let before = snapshot(&app);
    let gets = |o: &str| {
        vec![
            format!("/{o}"),
            format!("/{o}?page=2"),
            format!("/{o}/members"),
            format!("/{o}/members?q=a&page=2"),
            format!("/{o}/settings"),
            format!("/{o}/settings/members"),
            format!("/{o}/settings/audit"),
            format!("/{o}/settings/members/bob/remove"),
            format!("/settings/organizations/{o}/leave"),
        ]
    };
    for o in ["acme", "ACME", "nosuchorg", "alice"] {
        for path in gets(o) {
            if o == "alice" && (path == "/alice" || path == "/alice?page=2") {
                continue; // a user's own page, public
            }
            if o != "nosuchorg" && (path == format!("/{o}") || path == format!("/{o}?page=2")) {
                // The public profile (SPEC 3, issue 16): never the members.
                for b in [&eve, &visitor] {
                    let (status, body) = b.page(&path).await;
                    assert_eq!(status, StatusCode::OK, "GET {path}");
                    assert!(body.contains("data-public-profile") && !body.contains("href=\"/bob\""), "GET {path}");
                }
                continue;
            }
            let res = eve.get(&path).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "eve GET {path}");
            assert!(res.text().await.unwrap().contains("Page not found"), "eve GET {path}");
            // A visitor: 404 for the account page, the login page for the rest (the same
            // whether the organization exists or not).
            let res = visitor.get(&path).await;
            if path == format!("/{o}") || path == format!("/{o}?page=2") {
                assert_eq!(res.status(), StatusCode::NOT_FOUND, "visitor GET {path}");
            } else {
                assert_redirect(&res, &format!("/login?next={}", encoded(&path)));
            }
        }
    }
    // The visitor's login leads back to the page, which then answers 404 to a non-member.
    let res = visitor.post(&format!("/login?next={}", encoded("/acme/members")), &[("login", "eve"), ("password", PASSWORD)]).await;
    assert_redirect(&res, "/acme/members");
    assert_eq!(visitor.page("/acme/members").await.0, StatusCode::NOT_FOUND);

    let visitor = app.browser();
    visitor.token().await;
    for o in ["acme", "nosuchorg"] {
        let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
            (format!("/{o}/settings"), vec![("action", "update"), ("display_name", "Hacked"), ("description", ""), ("contact_email", "")]),
            (format!("/{o}/settings"), vec![("action", "delete"), ("confirm", o)]),
            (format!("/{o}/settings/members"), vec![("username", "eve"), ("role", "admin"), ("default_role", "admin")]),
            (format!("/{o}/settings/members/bob"), vec![("role", "member"), ("default_role", "none")]),
            (format!("/{o}/settings/members/alice"), vec![("role", "member"), ("default_role", "none")]),
            (format!("/{o}/settings/members/bob/remove"), vec![]),
            (format!("/settings/organizations/{o}/leave"), vec![]),
        ];
        for (path, form) in &posts {
            let res = eve.post(path, form).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "eve POST {path} {form:?}");
            assert_redirect(&visitor.post(path, form).await, "/login");
        }
    }
    assert_eq!(snapshot(&app), before, "nothing changed");
    assert!(!eve.page("/").await.1.contains("menu-org"));
});

// ---- The Members subtab ----

db_test!(async fn adding_members_stores_their_roles(app) {
    let a = app.user("alice").await;
    let cases = [
        ("u0", "member", "viewer"),
        ("u1", "admin", "labeler"),
        ("u2", "member", "reviewer"),
        ("u3", "admin", "manager"),
        ("u4", "member", "admin"),
        ("u5", "admin", "none"),
    ];
    for (user, _, _) in cases {
        app.user(user).await;
    }
    create_org(&a, "acme").await;
    // The form offers both organization roles and the five roles plus "None (do not add)".
    let body = a.page("/acme/settings/members").await.1;
    for option in [
        r#"<option value="member" selected>Member</option>"#,
        r#"<option value="admin">Administrator</option>"#,
        r#"<option value="viewer">Viewer</option>"#,
        r#"<option value="labeler" selected>Labeler</option>"#,
        r#"<option value="reviewer">Reviewer</option>"#,
        r#"<option value="manager">Manager</option>"#,
        r#"<option value="admin">Administrator</option>"#,
        r#"<option value="none">None (do not add)</option>"#,
    ] {
        assert!(body.contains(option), "{option}");
    }
    for (user, role, default) in cases {
        // Names are looked up in any case; the stored name keeps its own.
        let res = a.post("/acme/settings/members", &[("username", &user.to_uppercase()), ("role", role), ("default_role", default)]).await;
        assert_redirect(&res, "/acme/settings/members");
        let body = a.follow(res).await.1;
        assert!(body.contains(&format!("{user} is now a member of acme.")), "{user}");
        let stored_default = (default != "none").then_some(default);
        assert_eq!(membership(&app, "acme", user), roles(role, stored_default), "{user}");
        let row = member_form(&body, user);
        assert!(row.contains(&format!(r#"<option value="{role}" selected>"#)), "{user}: {row}");
        assert!(row.contains(&format!(r#"<option value="{default}" selected>"#)), "{user}: {row}");
    }
    // Members with a default role join new datasets with it; "None" do not.
    let ds = make_dataset(&app, "acme", "alice", "cats");
    for (user, _, default) in cases {
        let expected = (default != "none").then(|| default.to_string());
        assert_eq!(collaborator_role(&app, ds, user), expected, "{user}");
    }
    assert_eq!(collaborator_role(&app, ds, "alice").as_deref(), Some("admin"), "the creator");
    // Administrators added here can administer.
    let u1 = login(&app, "u1").await;
    assert_eq!(u1.page("/acme/settings/members").await.0, StatusCode::OK);
    let u0 = login(&app, "u0").await;
    assert_eq!(u0.page("/acme/settings/members").await.0, StatusCode::FORBIDDEN);
});

db_test!(async fn adding_a_member_refuses_bad_input_and_changes_nothing(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    create_org(&a, "acme").await;
    create_org(&a, "other").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    let before = snapshot(&app);
    let cases: &[(&str, &str)] = &[
        ("bob", "That user is already a member of acme."),
        ("BOB", "That user is already a member of acme."),
        ("alice", "That user is already a member of acme."),
        ("ghost", "There is no user with that username."),
        ("other", "That is an organization; only users can be members."),
        ("ACME", "That is an organization; only users can be members."),
        ("", "Type the username of the user to add."),
        ("   ", "Type the username of the user to add."),
        ("not a name!", "There is no user with that username."),
    ];
    for (username, message) in cases {
        let res = a.post("/acme/settings/members", &[("username", username), ("role", "admin"), ("default_role", "manager")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{username:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains(message), "{username:?}: expected {message:?}");
        assert!(body.contains(&format!(r#"value="{}""#, username.trim())), "{username:?}: input kept");
        assert!(body.contains(r#"<option value="admin" selected>Administrator</option>"#), "role kept");
        assert!(body.contains(r#"<option value="manager" selected>Manager</option>"#), "default role kept");
        assert!(body.contains(r#"id="member-bob""#), "the member list is still shown");
    }
    // Unknown role values and missing fields: 400, nothing stored.
    let bad: &[&[(&str, &str)]] = &[
        &[("username", "ghost"), ("role", "owner"), ("default_role", "viewer")],
        &[("username", "ghost"), ("role", "Admin"), ("default_role", "viewer")],
        &[("username", "ghost"), ("role", ""), ("default_role", "viewer")],
        &[("username", "ghost"), ("role", "member"), ("default_role", "owner")],
        &[("username", "ghost"), ("role", "member"), ("default_role", "None")],
        &[("username", "ghost"), ("role", "member"), ("default_role", "")],
        &[("username", "ghost"), ("default_role", "viewer")],
        &[("username", "ghost"), ("role", "member")],
    ];
    for form in bad {
        let res = a.post("/acme/settings/members", form).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{form:?}");
        assert!(res.text().await.unwrap().contains("<nav"), "a page in the layout");
    }
    let res = a.post("/acme/settings/members", &[("username", "bob"), ("role", "superuser"), ("default_role", "viewer")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("Unknown organization role."));
    let res = a.post("/acme/settings/members", &[("username", "bob"), ("role", "member"), ("default_role", "owner")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("Unknown default dataset role."));
    assert_eq!(snapshot(&app), before, "nothing changed");
});

db_test!(async fn simultaneous_adds_of_one_user_make_one_membership(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "admin", "labeler").await;
    let mut browsers = vec![a];
    for name in ["alice", "alice", "bob", "bob", "bob"] {
        browsers.push(login(&app, name).await);
    }
    for round in 0..5 {
        let user = format!("new{round}");
        app.user(&user).await;
        let tasks = browsers.iter().map(|b| {
            let user = user.clone();
            async move {
                b.post("/acme/settings/members", &[("username", &user), ("role", "member"), ("default_role", "viewer")])
                    .await
                    .status()
            }
        });
        let statuses = futures_util::future::join_all(tasks).await;
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::UNPROCESSABLE_ENTITY), "{statuses:?}");
        assert_eq!(membership(&app, "acme", &user), roles("member", Some("viewer")));
        let added = audit(&app, id_of(&app, "acme"))
            .into_iter()
            .filter(|e| e.1 == "member.added" && e.2.as_deref() == Some(user.as_str()))
            .count();
        assert_eq!(added, 1, "one audit event");
    }
    assert_eq!(member_count(&app, id_of(&app, "acme")), 7);
});

db_test!(async fn administrators_change_roles_and_default_roles(app) {
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    app.user("carol").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;

    let res = set_roles(&a, "acme", "bob", "admin", "manager").await;
    assert_redirect(&res, "/acme/settings/members");
    let body = a.follow(res).await.1;
    assert!(body.contains("bob: Member → Administrator, Labeler → Manager"), "the message names the member and the change");
    assert_eq!(membership(&app, "acme", "bob"), roles("admin", Some("manager")));
    let row = member_form(&body, "bob");
    assert!(row.contains(r#"<option value="admin" selected>"#) && row.contains(r#"<option value="manager" selected>"#));
    // B is an administrator now: the Settings tab, the admin pages, "New dataset".
    let body = b.page("/acme").await.1;
    assert!(body.contains(r#"href="/acme/settings""#) && body.contains("/datasets/new?owner=acme"));
    assert_eq!(b.page("/acme/settings").await.0, StatusCode::OK);
    assert_eq!(b.page("/acme/settings/audit").await.0, StatusCode::OK);

    // The member's name in the address is looked up in any case.
    assert_redirect(&set_roles(&a, "acme", "BOB", "member", "none").await, "/acme/settings/members");
    assert_eq!(membership(&app, "acme", "bob"), roles("member", None));
    assert_eq!(b.page("/acme/settings").await.0, StatusCode::FORBIDDEN);

    // A default role applies to datasets created after it is set (SPEC 4.4).
    let ds1 = make_dataset(&app, "acme", "alice", "first");
    assert_eq!(collaborator_role(&app, ds1, "bob"), None);
    assert_redirect(&set_roles(&a, "acme", "bob", "member", "viewer").await, "/acme/settings/members");
    assert_eq!(collaborator_role(&app, ds1, "bob"), None, "existing datasets keep their collaborators");
    let ds2 = make_dataset(&app, "acme", "alice", "second");
    assert_eq!(collaborator_role(&app, ds2, "bob").as_deref(), Some("viewer"));

    // Not a member, no such user, bad values: nothing changes.
    let before = snapshot(&app);
    assert_eq!(set_roles(&a, "acme", "carol", "admin", "admin").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(set_roles(&a, "acme", "ghost", "admin", "admin").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(set_roles(&a, "acme", "bob", "owner", "viewer").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(set_roles(&a, "acme", "bob", "admin", "owner").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(a.post("/acme/settings/members/bob", &[("role", "admin")]).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(snapshot(&app), before);
    assert_eq!(membership(&app, "acme", "carol"), None);
    // Saving unchanged values is fine and writes nothing to the audit log.
    let events = audit(&app, id_of(&app, "acme")).len();
    assert_redirect(&set_roles(&a, "acme", "bob", "member", "viewer").await, "/acme/settings/members");
    assert_eq!(audit(&app, id_of(&app, "acme")).len(), events);
});

db_test!(async fn removing_a_member_revokes_their_dataset_access_and_keeps_history(app) {
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    app.user("carol").await;
    app.user("zed").await;
    create_org(&a, "acme").await;
    create_org(&a, "beta").await;
    add_member(&a, "acme", "bob", "member", "reviewer").await;
    add_member(&a, "acme", "carol", "member", "viewer").await;
    add_member(&a, "beta", "bob", "member", "labeler").await;
    let a1 = make_dataset(&app, "acme", "alice", "a1");
    let a2 = make_dataset(&app, "acme", "alice", "a2");
    let b1 = make_dataset(&app, "beta", "alice", "b1");
    let z1 = make_dataset(&app, "zed", "zed", "personal");
    add_collaborator(&app, z1, "bob", "manager");
    for ds in [a1, a2] {
        assert_eq!(collaborator_role(&app, ds, "bob").as_deref(), Some("reviewer"));
    }

    // The confirmation page, which changes nothing.
    let (status, body) = a.page("/acme/settings/members/bob/remove").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Remove bob from acme?"));
    assert!(body.contains(r#"action="/acme/settings/members/bob/remove""#) && body.contains("Remove member"));
    assert!(membership(&app, "acme", "bob").is_some());
    assert_eq!(a.page("/acme/settings/members/carol/remove").await.0, StatusCode::OK);
    assert_eq!(a.page("/acme/settings/members/zed/remove").await.0, StatusCode::NOT_FOUND, "not a member");
    assert_eq!(a.page("/acme/settings/members/ghost/remove").await.0, StatusCode::NOT_FOUND);

    let res = a.post("/acme/settings/members/bob/remove", &[]).await;
    assert_redirect(&res, "/acme/settings/members");
    let body = a.follow(res).await.1;
    assert!(body.contains("bob was removed from acme."));
    assert!(!body.contains(r#"id="member-bob""#));
    assert_eq!(membership(&app, "acme", "bob"), None);
    // Access to acme's datasets went with the membership; nothing else did.
    assert_eq!(collaborator_role(&app, a1, "bob"), None);
    assert_eq!(collaborator_role(&app, a2, "bob"), None);
    assert_eq!(collaborator_role(&app, a1, "carol").as_deref(), Some("viewer"));
    assert_eq!(collaborator_role(&app, a2, "alice").as_deref(), Some("admin"));
    assert_eq!(collaborator_role(&app, b1, "bob").as_deref(), Some("labeler"), "another organization's dataset");
    assert_eq!(collaborator_role(&app, z1, "bob").as_deref(), Some("manager"), "a personal dataset");
    assert_eq!(membership(&app, "beta", "bob"), roles("member", Some("labeler")));
    // B notices.
    assert!(b.page("/acme").await.1.contains("data-public-profile"), "the public profile only");
    let body = b.page("/").await.1;
    assert!(!body.contains(r#"href="/acme""#) && body.contains(r#"class="menu-org" href="/beta""#));
    // History keeps the name, on the page and in the database.
    let body = a.page("/acme/settings/audit").await.1;
    assert!(body.contains("<strong>alice</strong> removed member <strong>bob</strong>"), "{body}");
    let last = audit(&app, id_of(&app, "acme")).remove(0);
    assert_eq!(last, ("alice".into(), "member.removed".into(), Some("bob".into()), String::new()));
    // Removing again: not a member any more.
    assert_eq!(a.post("/acme/settings/members/bob/remove", &[]).await.status(), StatusCode::NOT_FOUND);
    // The member's name in the address is looked up in any case.
    assert_redirect(&a.post("/acme/settings/members/CAROL/remove", &[]).await, "/acme/settings/members");
    assert_eq!(membership(&app, "acme", "carol"), None);
    assert_eq!(collaborator_role(&app, a1, "carol"), None);
});

// ---- The last administrator ----

db_test!(async fn the_last_administrator_cannot_be_demoted_removed_or_leave(app) {
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    let org = id_of(&app, "acme");
    let before = snapshot(&app);

    // Demoting oneself as the only administrator: said instead of asked (issue 16), and
    // refused when sent anyway.
    let res = set_roles(&a, "acme", "alice", "member", "viewer").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains(&format!("acme {LAST_ADMIN}")));
    let res = a
        .post("/acme/settings/members/alice", &[("role", "member"), ("default_role", "viewer"), ("confirm", "yes")])
        .await;
    assert_redirect(&res, "/acme/settings/members");
    let body = a.follow(res).await.1;
    assert!(body.contains(&format!("acme {LAST_ADMIN}")), "{body}");
    // Removing the only administrator, after the confirmation page.
    assert_eq!(a.page("/acme/settings/members/alice/remove").await.0, StatusCode::OK);
    let res = a.post("/acme/settings/members/alice/remove", &[]).await;
    assert_redirect(&res, "/acme/settings/members");
    assert!(a.follow(res).await.1.contains(&format!("acme {LAST_ADMIN}")));
    // Leaving.
    assert_eq!(a.page("/settings/organizations/acme/leave").await.0, StatusCode::OK);
    let res = a.post("/settings/organizations/acme/leave", &[]).await;
    assert_redirect(&res, "/settings/organizations");
    assert!(a.follow(res).await.1.contains("You cannot leave acme: you are its last administrator. Make another member an administrator first, or delete the organization in its settings."));
    assert_eq!(snapshot(&app), before, "nothing changed, not even the default role");
    // The sole administrator may still change their own default dataset role.
    assert_redirect(&set_roles(&a, "acme", "alice", "admin", "viewer").await, "/acme/settings/members");
    assert_eq!(membership(&app, "acme", "alice"), roles("admin", Some("viewer")));

    // With two administrators, either may be demoted.
    assert_redirect(&set_roles(&a, "acme", "bob", "admin", "labeler").await, "/acme/settings/members");
    assert_eq!(admin_count(&app, org), 2);
    let res = set_roles(&a, "acme", "bob", "member", "labeler").await;
    assert!(a.follow(res).await.1.contains("bob: Administrator → Member"));
    assert_eq!(membership(&app, "acme", "bob"), roles("member", Some("labeler")));
    assert_redirect(&set_roles(&a, "acme", "bob", "admin", "labeler").await, "/acme/settings/members");
    let res = set_roles(&b, "acme", "alice", "member", "viewer").await;
    assert!(b.follow(res).await.1.contains("alice: Administrator → Member"));
    assert_eq!(membership(&app, "acme", "alice"), roles("member", Some("viewer")));
    // Now B is the last one; B cannot step down, and A may no longer act.
    let res = set_roles(&b, "acme", "bob", "member", "labeler").await;
    assert!(res.text().await.unwrap().contains(&format!("acme {LAST_ADMIN}")), "said before asking");
    assert_eq!(set_roles(&a, "acme", "bob", "member", "labeler").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(admin_count(&app, org), 1);

    // With two administrators, one may leave, and one may remove themselves.
    assert_redirect(&set_roles(&b, "acme", "alice", "admin", "viewer").await, "/acme/settings/members");
    let res = a.post("/settings/organizations/acme/leave", &[]).await;
    assert!(a.follow(res).await.1.contains("You left acme."));
    add_member(&b, "acme", "alice", "admin", "none").await;
    let res = a.post("/acme/settings/members/alice/remove", &[]).await;
    assert_redirect(&res, "/");
    assert!(a.follow(res).await.1.contains("You removed yourself from acme."));
    assert_eq!(membership(&app, "acme", "alice"), None);
    assert_eq!(admin_count(&app, org), 1);
    // The Organizations tab tells the last administrator in advance.
    let body = b.page("/settings/organizations").await.1;
    assert!(body.contains("You are the last administrator of acme, so you cannot leave it yet."));
    assert!(body.contains("href=\"/acme/settings#delete-organization\""), "with the ways out");
});

/// A POST to fire: path and form.
type Request = (String, Vec<(&'static str, &'static str)>);

db_test!(async fn the_last_administrator_rule_holds_under_concurrency(app) {
    let a0 = app.user("alice").await;
    let b0 = app.user("bob").await;
    let c0 = app.user("carol").await;
    a0.token().await;
    b0.token().await;
    c0.token().await;
    // Separate sessions, so that no two concurrent requests share one.
    let a = [a0, login(&app, "alice").await, login(&app, "alice").await];
    let b = [b0, login(&app, "bob").await, login(&app, "bob").await];
    let rounds = 40;
    for round in 0..rounds {
        let org = format!("race{round}");
        create_org(&a[0], &org).await;
        add_member(&a[0], &org, "bob", "admin", "labeler").await;
        add_member(&a[0], &org, "carol", "member", "viewer").await;
        let org_id = id_of(&app, &org);
        assert_eq!(admin_count(&app, org_id), 2);
        let demote = |who: &str| (format!("/{org}/settings/members/{who}"), vec![("role", "member"), ("default_role", "viewer")]);
        let remove = |who: &str| (format!("/{org}/settings/members/{who}/remove"), vec![]);
        let leave = || (format!("/settings/organizations/{org}/leave"), vec![]);
        let mut requests: Vec<(&Browser, Request)> = match round % 3 {
            // Two administrators demoting each other at the same moment.
            0 => vec![(&a[0], demote("bob")), (&b[0], demote("alice")), (&c0, demote("alice"))],
            // Removals and leaves.
            1 => vec![
                (&a[0], remove("bob")),
                (&b[0], remove("alice")),
                (&a[1], leave()),
                (&b[1], leave()),
                (&c0, remove("alice")),
            ],
            // Everything at once.
            _ => vec![
                (&a[0], demote("bob")),
                (&b[0], demote("alice")),
                (&a[1], remove("bob")),
                (&b[1], remove("alice")),
                (&a[2], leave()),
                (&b[2], leave()),
                (&c0, demote("alice")),
            ],
        };
        let n = requests.len();
        requests.rotate_left(round % n);
        let tasks = requests.iter().map(|(br, (path, form))| async move {
            let res = br.post(path, form).await;
            (path.clone(), res.status())
        });
        let results = futures_util::future::join_all(tasks).await;
        for (path, status) in &results {
            assert!(!status.is_server_error(), "round {round}: POST {path} gave {status}; all: {results:?}");
            assert!(
                [StatusCode::SEE_OTHER, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(status),
                "round {round}: POST {path} gave {status}"
            );
        }
        // The first change to run always succeeds and leaves one administrator, after which
        // nothing may take that one away.
        assert_eq!(admin_count(&app, org_id), 1, "round {round}: {results:?}");
        let alice = membership(&app, &org, "alice").map(|m| m.0);
        let bob = membership(&app, &org, "bob").map(|m| m.0);
        assert!(alice.as_deref() == Some("admin") || bob.as_deref() == Some("admin"), "round {round}");
        assert_eq!(membership(&app, &org, "carol"), roles("member", Some("viewer")), "round {round}");
        // The member count kept by the triggers agrees with the rows.
        let (kept, actual): (i32, i64) = app.with_db(|c| {
            let kept = organizations::table.find(org_id).select(organizations::member_count).first(c).unwrap();
            let actual = memberships::table.filter(memberships::org_id.eq(org_id)).count().get_result(c).unwrap();
            (kept, actual)
        });
        assert_eq!(i64::from(kept), actual, "round {round}: member_count");
        // So does the administrator count (issue 18: the Members subtab reads it).
        let kept: i32 = app.with_db(|c| {
            organizations::table.find(org_id).select(organizations::admin_count).first(c).unwrap()
        });
        assert_eq!(i64::from(kept), admin_count(&app, org_id), "round {round}: admin_count");
        // Every change that happened is in the audit log, once.
        let events = audit(&app, org_id);
        let demotions = events.iter().filter(|e| e.1 == "member.role_changed").count();
        let removals = events.iter().filter(|e| e.1 == "member.removed" || e.1 == "member.left").count();
        let members = member_count(&app, org_id) as usize;
        assert_eq!(members + removals, 3, "round {round}: {events:?}");
        assert!(demotions <= 1, "round {round}: {events:?}");
    }
    // Every organization still has an administrator.
    let orphans = app.with_db(orgs_without_admin);
    assert_eq!(orphans, 0);
});

// ---- Members tab: search and pages; a fixed number of queries ----

db_test!(async fn the_members_tabs_page_and_search(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    bulk_members(&app, "acme", "m", 119, "member");
    let rows = |body: &str| count(body, r#"class="user-cell""#);

    let (status, body) = a.page("/acme/members").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("120 members"));
    assert_eq!(rows(&body), 50);
    // The link to page 2 says where page 1 ended (keyset under the numbered pages).
    assert!(body.contains("Page 1 of 3") && body.contains(r#"href="/acme/members?page=2&#38;from=1&#38;after=m048""#));
    assert!(body.contains(r#"href="/alice""#) && body.contains(r#"href="/m048""#) && !body.contains(r#"href="/m049""#), "ordered by name");
    let body = a.page("/acme/members?page=2").await.1;
    assert_eq!(rows(&body), 50);
    assert!(body.contains(r#"href="/m049""#) && body.contains(r#"href="/m098""#));
    let body = a.page("/acme/members?page=3").await.1;
    assert_eq!(rows(&body), 20);
    assert!(body.contains(r#"href="/m099""#) && body.contains(r#"href="/m118""#) && body.contains("Page 3 of 3"));
    let body = a.page("/acme/members?page=4").await.1;
    assert_eq!(rows(&body), 0);
    assert!(body.contains("Page 4 is past the end: there are 3 pages.") && body.contains(r#"<a href="/acme/members?page=3">Go to the last page</a>"#));
    // Out-of-range and malformed page numbers.
    assert_eq!(rows(&a.page("/acme/members?page=0").await.1), 50);
    assert_eq!(rows(&a.page("/acme/members?page=-3").await.1), 50);
    assert_eq!(a.page("/acme/members?page=abc").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(a.page("/acme/members?page=99999999999").await.0, StatusCode::OK);

    // Search by username prefix, in any case.
    let body = a.page("/acme/members?q=m01").await.1;
    assert_eq!(rows(&body), 10);
    assert!(body.contains("10 members matching “m01”") && body.contains(r#"value="m01""#));
    assert_eq!(rows(&a.page("/acme/members?q=M01").await.1), 10);
    assert_eq!(rows(&a.page("/acme/members?q=%20m11%20").await.1), 9);
    assert_eq!(rows(&a.page("/acme/members?q=alice").await.1), 1);
    assert_eq!(rows(&a.page("/acme/members?q=ali").await.1), 1);
    // An administrator's search also reads emails: every address here has the "m" of "example".
    let body = a.page("/acme/members?q=m").await.1;
    assert!(body.contains("120 members") && has_escaped(&body, "/acme/members?page=2&q=m"), "the pager keeps the search");
    assert_eq!(rows(&a.page("/acme/members?q=m&page=3").await.1), 20);
    for q in ["zzz", "%25", "_", "m%25", "%27%20OR%201%3D1", "%C3%A9", "~"] {
        let (status, body) = a.page(&format!("/acme/members?q={q}")).await;
        assert_eq!(status, StatusCode::OK, "q={q}");
        assert_eq!(rows(&body), 0, "q={q}");
    }

    // The same on the Members subtab.
    let forms = |body: &str| count(body, r#"class="row-form""#);
    let body = a.page("/acme/settings/members").await.1;
    assert_eq!(forms(&body), 50);
    assert!(body.contains("120 members") && body.contains(r#"href="/acme/settings/members?page=2&#38;from=1&#38;after=m048""#));
    assert_eq!(forms(&a.page("/acme/settings/members?page=3").await.1), 20);
    assert_eq!(forms(&a.page("/acme/settings/members?q=m10").await.1), 10);
    assert_eq!(forms(&a.page("/acme/settings/members?q=M1&page=2").await.1), 0, "m100..m118 fit on one page");
    assert_eq!(forms(&a.page("/acme/settings/members?q=m1").await.1), 19);
    // A member found by search can be managed from there.
    let body = a.page("/acme/settings/members?q=m117").await.1;
    assert!(body.contains(r#"action="/acme/settings/members/m117" id="member-m117""#));
    assert_redirect(&set_roles(&a, "acme", "m117", "admin", "none").await, "/acme/settings/members");
    assert_eq!(membership(&app, "acme", "m117"), roles("admin", None));
});

db_test!(async fn pages_run_a_fixed_number_of_queries_whatever_the_size(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    app.user("carol").await;
    let c = login(&app, "carol").await;
    create_org(&a, "small").await;
    add_member(&a, "small", "bob", "member", "labeler").await;
    add_member(&a, "small", "carol", "member", "none").await;
    make_dataset(&app, "small", "alice", "only");
    create_org(&a, "big").await;
    // Issue 7's budget: the same statements for 3 members as for 3,000.
    bulk_members(&app, "big", "p", 2999, "member");
    bulk_datasets(&app, "big", 120);
    bulk_audit(&app, "big");
    bulk_orgs(&app, "alice", "many", 40);
    assert_eq!(member_count(&app, id_of(&app, "big")), 3000);

    /// Statements the app runs for one GET (after a warm-up GET that may make a token).
    async fn queries(app: &TestApp, b: &Browser, path: &str) -> u64 {
        assert_eq!(b.page(path).await.0, StatusCode::OK, "{path}");
        let before = app.queries();
        assert_eq!(b.page(path).await.0, StatusCode::OK, "{path}");
        app.queries() - before
    }
    for suffix in ["", "?page=2", "/members", "/members?q=p1", "/members?page=3", "/members?page=30", "/settings", "/settings/members", "/settings/members?page=2", "/settings/audit", "/settings/audit?page=2"] {
        let small = queries(&app, &a, &format!("/small{suffix}")).await;
        let big = queries(&app, &a, &format!("/big{suffix}")).await;
        // The datasets' count rides on the page's rows; the small organization's page 2 of
        // datasets is past the end and counts in one statement more.
        let past_end = u64::from(suffix == "?page=2");
        assert_eq!(small, big + past_end, "/{{org}}{suffix}: {small} statements for 3 members, {big} for 3,000");
        assert!(big <= 12, "/{{org}}{suffix}: {big} statements");
    }
    // A dataset page of either organization.
    make_dataset(&app, "big", "alice", "one");
    assert_eq!(queries(&app, &a, "/small/only").await, queries(&app, &a, "/big/one").await);
    // The Organizations tab and the dashboard: one organization against 42.
    for path in ["/settings/organizations", "/", "/settings"] {
        let one = queries(&app, &c, path).await;
        let many = queries(&app, &a, path).await;
        assert_eq!(one, many, "{path}: {one} statements for 1 organization, {many} for 42");
    }
    let body = a.page("/settings/organizations").await.1;
    assert_eq!(count(&body, "Leave organization</"), 42);
    assert_eq!(count(&a.page("/").await.1, r#"class="menu-org""#), 42, "every organization in the profile menu");
});

db_test!(async fn every_statement_of_a_page_is_prepared_once_and_reused(app) {
    // Issue 7: a statement diesel cannot keep (`sql_query`, an `IN` list of values) is parsed
    // and planned again on every view; on SQLite a `LIMIT ?` was re-compiled on every bind
    // unless the build has ENABLE_QPSG. Every statement a page runs must have been prepared
    // into the statement cache on some connection.
    app.db.queries.record(true);
    app.with_db(|c| {
        assert_eq!(colabel::db::sqlite_build_problems(c), Vec::<String>::new());
    });
    let a = app.user("alice").await;
    app.user("bob").await;
    let b = login(&app, "bob").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    bulk_members(&app, "acme", "p", 120, "member");
    make_dataset(&app, "acme", "alice", "one");
    bulk_datasets(&app, "acme", 60);
    let pages = [
        "/", "/acme", "/acme?page=2", "/acme/members", "/acme/members?page=2", "/acme/members?q=p1",
        "/acme/settings", "/acme/settings/members", "/acme/settings/members?q=p1&page=2",
        "/acme/settings/audit", "/acme/one", "/acme/one/settings", "/acme/one/settings/collaborators",
        "/settings", "/settings/organizations", "/alice", "/datasets/new?owner=acme",
        "/acme/members?q=p12", "/acme/members?q=p1x&role=admin", "/acme/settings/members?q=p1&role=member",
        "/acme/settings/members?role=default-none&page=2", "/acme/settings/members?q=example",
        "/?q=ds&sort=newest", "/?visibility=public", "/acme?q=ds0&visibility=private&sort=newest",
        // Past the end, the count is a statement of its own (it rides on the rows otherwise).
        "/?page=9", "/?q=ds&page=9", "/acme?page=9",
    ];
    async fn visit(b: &Browser, pages: &[&str]) {
        for path in pages {
            let (status, _) = b.page(path).await;
            // bob may not see every page: a refusal runs statements too.
            assert!([200, 403, 404].contains(&status.as_u16()), "{path}: {status}");
        }
    }
    // Views on every connection of the pool, so each has prepared what it runs.
    for _ in 0..4 {
        visit(&a, &pages).await;
        visit(&b, &pages).await;
    }
    let mut cached = std::collections::HashSet::new();
    for s in app.db.queries.take_log() {
        if let colabel::db::Statement::Cached(sql) = s {
            cached.insert(sql);
        }
    }
    visit(&a, &pages).await;
    visit(&b, &pages).await;
    let log = app.db.queries.take_log();
    let ran: Vec<&String> = log
        .iter()
        .filter_map(|s| match s {
            colabel::db::Statement::Ran(sql) => Some(sql),
            colabel::db::Statement::Cached(_) => None,
        })
        .collect();
    assert!(ran.len() > 2 * pages.len(), "statements were recorded: {}", ran.len());
    let not_kept: std::collections::BTreeSet<&String> =
        ran.into_iter().filter(|sql| !cached.contains(*sql)).collect();
    assert!(not_kept.is_empty(), "statements prepared anew on every view: {not_kept:#?}");
});

// ---- The audit log ----

db_test!(async fn the_audit_log_records_every_change_newest_first(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    let c = app.user("carol").await;
    create_org(&a, "acme").await;
    let org = id_of(&app, "acme");
    add_member(&a, "acme", "bob", "member", "reviewer").await;
    for (role, default) in [("admin", "reviewer"), ("admin", "none"), ("member", "viewer")] {
        assert_redirect(&set_roles(&a, "acme", "bob", role, default).await, "/acme/settings/members");
    }
    let res = a.post("/acme/settings", &[("action", "update"), ("display_name", "Acme Inc"), ("description", ""), ("contact_email", "team@acme.example")]).await;
    assert_redirect(&res, "/acme/settings");
    add_member(&a, "acme", "carol", "admin", "none").await;
    assert_redirect(&c.post("/settings/organizations/acme/leave", &[]).await, "/settings/organizations");
    assert_redirect(&a.post("/acme/settings/members/bob/remove", &[]).await, "/acme/settings/members");

    let e = |actor: &str, action: &str, subject: Option<&str>, details: &str| -> AuditTuple {
        (actor.into(), action.into(), subject.map(Into::into), details.into())
    };
    let expected = vec![
        e("alice", "member.removed", Some("bob"), ""),
        e("carol", "member.left", None, ""),
        e("alice", "member.added", Some("carol"), "as Administrator, default dataset role None (do not add)"),
        e("alice", "org.settings_changed", None, "display name, contact email"),
        e("alice", "member.default_role_changed", Some("bob"), "from None (do not add) to Viewer"),
        e("alice", "member.role_changed", Some("bob"), "from Administrator to Member"),
        e("alice", "member.default_role_changed", Some("bob"), "from Reviewer to None (do not add)"),
        e("alice", "member.role_changed", Some("bob"), "from Member to Administrator"),
        e("alice", "member.added", Some("bob"), "as Member, default dataset role Reviewer"),
        e("alice", "org.created", Some("acme"), ""),
    ];
    assert_eq!(audit(&app, org), expected);

    // The page shows them newest first, with actor, subject, details and time.
    let (status, body) = a.page("/acme/settings/audit").await;
    assert_eq!(status, StatusCode::OK);
    let lines = [
        "<strong>alice</strong> removed member <strong>bob</strong>",
        "<strong>carol</strong> left the organization",
        "<strong>alice</strong> added member <strong>carol</strong> <span class=\"muted\">(as Administrator, default dataset role None (do not add))</span>",
        "<strong>alice</strong> changed the settings <span class=\"muted\">(display name, contact email)</span>",
        "<strong>alice</strong> changed the default dataset role of <strong>bob</strong> <span class=\"muted\">(from None (do not add) to Viewer)</span>",
        "<strong>alice</strong> changed the organization role of <strong>bob</strong> <span class=\"muted\">(from Administrator to Member)</span>",
        "<strong>alice</strong> changed the default dataset role of <strong>bob</strong> <span class=\"muted\">(from Reviewer to None (do not add))</span>",
        "<strong>alice</strong> changed the organization role of <strong>bob</strong> <span class=\"muted\">(from Member to Administrator)</span>",
        "<strong>alice</strong> added member <strong>bob</strong> <span class=\"muted\">(as Member, default dataset role Reviewer)</span>",
        "<strong>alice</strong> created the organization",
    ];
    let mut at = 0;
    for line in lines {
        let found = body[at..].find(line).unwrap_or_else(|| panic!("{line:?} after position {at} in {body}"));
        at += found + line.len();
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(body.contains(&today), "the time is shown");

    // 50 to a page.
    bulk_members(&app, "acme", "x", 55, "member");
    bulk_audit(&app, "acme");
    let total = audit(&app, org).len();
    assert_eq!(total, 10 + 56);
    let rows = |body: &str| count(body, r#"<td class="muted nowrap""#);
    let body = a.page("/acme/settings/audit").await.1;
    assert_eq!(rows(&body), 50);
    assert!(body.contains("Page 1 of 2") && body.contains(r#"href="/acme/settings/audit?page=2""#));
    let body = a.page("/acme/settings/audit?page=2").await.1;
    assert_eq!(rows(&body), total - 50);
    assert!(body.contains("<strong>alice</strong> created the organization"));
});

// ---- Settings and deletion ----

db_test!(async fn organization_settings_are_saved_and_validated(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    let (status, body) = a.page("/acme/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"name="display_name""#) && body.contains(r#"name="description""#) && body.contains(r#"name="contact_email""#));
    assert!(body.contains("Type acme to confirm"));

    let res = a.post("/acme/settings", &[("action", "update"), ("display_name", " Acme Inc "), ("description", "We label cats."), ("contact_email", "team@acme.example")]).await;
    assert_redirect(&res, "/acme/settings");
    let body = a.follow(res).await.1;
    assert!(body.contains("settings were saved."));
    assert!(body.contains(r#"value="Acme Inc""#) && body.contains(">We label cats.</textarea>") && body.contains(r#"value="team@acme.example""#));
    let body = a.page("/acme").await.1;
    assert!(body.contains("<h1>Acme Inc</h1>") && body.contains("acme · We label cats."));

    // A bad email: the form again with the input kept; nothing saved.
    let before = snapshot(&app);
    let res = a.post("/acme/settings", &[("action", "update"), ("display_name", "Kept Name"), ("description", "Kept text"), ("contact_email", "not-an-email")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("Enter an email address such as name@example.com."));
    assert!(body.contains(r#"value="not-an-email""#) && body.contains(r#"value="Kept Name""#) && body.contains(">Kept text</textarea>"));
    let res = a.post("/acme/settings", &[("action", "update"), ("display_name", &"n".repeat(101)), ("description", ""), ("contact_email", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Use at most 100 characters."));
    let res = a.post("/acme/settings", &[("action", "update"), ("display_name", ""), ("description", &"d".repeat(1001)), ("contact_email", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Use at most 1000 characters."));
    let res = a.post("/acme/settings", &[("action", "update"), ("display_name", "x\u{1}y"), ("description", ""), ("contact_email", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Remove the control characters."));
    // NUL never reaches a handler (PostgreSQL cannot store it): a 400 page says why.
    let res = a.post("/acme/settings", &[("action", "update"), ("display_name", "x\u{0}y"), ("description", ""), ("contact_email", "")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("NUL character"));
    assert_eq!(a.post("/acme/settings", &[("action", "rename")]).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(a.post("/acme/settings", &[("display_name", "x")]).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(snapshot(&app), before, "nothing saved");

    // Everything may be emptied.
    let res = a.post("/acme/settings", &[("action", "update"), ("display_name", ""), ("description", ""), ("contact_email", "")]).await;
    assert_redirect(&res, "/acme/settings");
    let (desc, email): (String, String) = app.with_db(|c| {
        organizations::table.select((organizations::description, organizations::contact_email)).first(c).unwrap()
    });
    assert_eq!((desc.as_str(), email.as_str()), ("", ""));
    assert!(a.page("/acme").await.1.contains("<h1>acme</h1>"), "the name stands in for an empty display name");
});

db_test!(async fn deleting_an_organization_requires_its_name_and_frees_it(app) {
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    create_org(&a, "Acme").await;
    create_org(&a, "beta").await;
    add_member(&a, "Acme", "bob", "member", "reviewer").await;
    add_member(&a, "beta", "bob", "member", "viewer").await;
    let ds = make_dataset(&app, "Acme", "alice", "cats");
    let keep = make_dataset(&app, "beta", "alice", "dogs");
    let org = id_of(&app, "acme");
    let before = snapshot(&app);
    for confirm in ["", "acm", "Acme Inc", "beta"] {
        let res = a.post("/Acme/settings", &[("action", "delete"), ("confirm", confirm)]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{confirm:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains("Type Acme to confirm."), "{confirm:?}");
    }
    assert_eq!(b.post("/Acme/settings", &[("action", "delete"), ("confirm", "Acme")]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(snapshot(&app), before, "nothing deleted");

    let res = a.post("/Acme/settings", &[("action", "delete"), ("confirm", "Acme")]).await;
    assert_redirect(&res, "/");
    let body = a.follow(res).await.1;
    assert!(body.contains("The organization Acme was deleted."));
    assert!(!body.contains(r#"href="/Acme""#) && body.contains(r#"class="menu-org" href="/beta""#));
    // No rows of it remain.
    let left: (i64, i64, i64, i64, i64, i64) = app.with_db(|c| {
        (
            accounts::table.filter(accounts::id.eq(org)).count().get_result(c).unwrap(),
            organizations::table.filter(organizations::id.eq(org)).count().get_result(c).unwrap(),
            memberships::table.filter(memberships::org_id.eq(org)).count().get_result(c).unwrap(),
            datasets::table.filter(datasets::owner_id.eq(org)).count().get_result(c).unwrap(),
            collaborators::table.filter(collaborators::dataset_id.eq(ds)).count().get_result(c).unwrap(),
            audit_events::table.filter(audit_events::account_id.eq(org)).count().get_result(c).unwrap(),
        )
    });
    assert_eq!(left, (0, 0, 0, 0, 0, 0));
    // Other organizations, the users and their other memberships stay.
    assert_eq!(membership(&app, "beta", "bob"), roles("member", Some("viewer")));
    assert_eq!(collaborator_role(&app, keep, "bob").as_deref(), Some("viewer"));
    assert_eq!(b.page("/Acme").await.0, StatusCode::NOT_FOUND);
    assert_eq!(a.page("/Acme/settings").await.0, StatusCode::NOT_FOUND);
    // The name is free: a new user can take it.
    let res = app.browser().post("/signup", &[("username", "acme"), ("email", "acme@example.com"), ("password", PASSWORD)]).await;
    assert_redirect(&res, "/");
    let (status, body) = a.page("/acme").await;
    assert_eq!(status, StatusCode::OK, "now a user's page");
    assert!(!body.contains("cats"));
});

// ---- Escaping and hostile input ----

db_test!(async fn organization_text_is_escaped(app) {
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    let script = "<script>alert(1)</script>";
    let img = "\"><img src=x onerror=alert(2)>";
    let res = a.post("/organizations", &[("username", "xss"), ("display_name", script)]).await;
    assert_redirect(&res, "/xss");
    let res = a.post("/xss/settings", &[("action", "update"), ("display_name", script), ("description", img), ("contact_email", "")]).await;
    assert_redirect(&res, "/xss/settings");
    assert_redirect(&b.post("/settings", &[("action", "profile"), ("display_name", "<b>bold</b>"), ("email", "bob@example.com")]).await, "/settings");
    add_member(&a, "xss", "bob", "member", "labeler").await;
    for path in ["/xss", "/xss/members", "/xss/settings", "/xss/settings/members", "/xss/settings/audit", "/settings/organizations", "/"] {
        let (status, body) = a.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.contains("<script>alert"), "{path}");
        assert!(!body.contains("<img src=x"), "{path}");
        assert!(!body.contains("<b>bold</b>"), "{path}");
    }
    let body = a.page("/xss").await.1;
    assert!(has_escaped(&body, script) && has_escaped(&body, img), "shown, escaped");
    let body = a.page("/xss/settings").await.1;
    assert!(has_escaped(&body, script) && has_escaped(&body, img));
    assert!(has_escaped(&a.page("/xss/members").await.1, "<b>bold</b>"));
    // A form shown again escapes what it keeps.
    let res = a.post("/organizations", &[("username", "x"), ("display_name", script)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(!body.contains("<script>alert") && has_escaped(&body, script));
    let res = a.post("/xss/settings/members", &[("username", "\"><script>"), ("role", "member"), ("default_role", "none")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(!body.contains("\"><script>") && has_escaped(&body, "\"><script>"));
    // Searches are echoed escaped too.
    let body = a.page("/xss/members?q=%22%3E%3Cscript%3E").await.1;
    assert!(!body.contains("\"><script>") && has_escaped(&body, "\"><script>"));
});

db_test!(async fn hostile_input_on_organization_pages_gives_4xx(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    create_org(&a, "acme").await;
    let mut failures = Vec::new();
    // NUL bytes and odd characters in searches, names and fields: never a 500.
    for path in [
        "/acme/members?q=%00",
        "/acme/members?q=a%00b",
        "/acme/settings/members?q=%00",
        "/acme/members?q=%FF",
        "/acme%00",
        "/acme%00/members",
        "/ac%00me/settings",
        "/acme/settings/members/bo%00b/remove",
        "/settings/organizations/acme%00/leave",
    ] {
        let status = a.page(path).await.0;
        if !(status.is_success() || status.is_client_error()) {
            failures.push(format!("GET {path}: {status}"));
        }
    }
    let long = format!("/acme/members?q={}", "m".repeat(5000));
    assert_eq!(a.page(&long).await.0, StatusCode::OK);
    let long_name = "b".repeat(5000);
    let forms: &[(&str, &[(&str, &str)])] = &[
        ("/organizations", &[("username", "a\u{0}b"), ("display_name", "")]),
        ("/organizations", &[("username", "okname"), ("display_name", "a\u{0}b")]),
        ("/acme/settings/members", &[("username", "bo\u{0}b"), ("role", "member"), ("default_role", "none")]),
        ("/acme/settings/members", &[("username", long_name.as_str()), ("role", "member"), ("default_role", "none")]),
        ("/acme/settings/members/bo%00b", &[("role", "member"), ("default_role", "none")]),
        ("/acme/settings/members/bo%00b/remove", &[]),
        ("/settings/organizations/acme%00/leave", &[]),
        ("/acme/settings", &[("action", "update"), ("display_name", ""), ("description", "a\u{0}b"), ("contact_email", "")]),
        ("/acme/settings", &[("action", "update"), ("display_name", ""), ("description", ""), ("contact_email", "a\u{0}@b.co")]),
        ("/acme/settings", &[("action", "delete"), ("confirm", "ac\u{0}me")]),
    ];
    for (path, form) in forms {
        let status = a.post(path, form).await.status();
        if !status.is_client_error() {
            failures.push(format!("POST {path} {form:?}: {status}"));
        }
    }
    // A body that repeats a field is refused.
    let token = a.token().await;
    let res = a.post_raw("/acme/settings/members", format!("username=bob&username=y&role=member&default_role=none&csrf_token={token}")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(member_count(&app, id_of(&app, "acme")), 1);
    assert!(app.with_db(|c| find_account_id(c, "okname")).is_none());
});

db_test!(async fn the_benchmarks_pages_run_the_fewest_statements_their_rules_allow(app) {
    // Issue 18: the statements of each page of bench/run.sh, printed (run with --nocapture)
    // and held. Signed in, a page runs: one statement for the session, its user and the
    // profile menu (`sessions::signed_in`), then what the page itself needs. See
    // docs/performance.md for what each one is.
    app.db.queries.record(true);
    let a = app.user("alice").await;
    create_org(&a, "bigorg").await;
    bulk_members(&app, "bigorg", "user", 199, "member");
    make_dataset(&app, "bigorg", "alice", "dataset-1");
    bulk_datasets(&app, "bigorg", 59);
    // (path, statements): before issue 18 every signed-in page ran one more (the session
    // and the profile menu were two statements, in a hand-off of their own).
    let pages: [(&str, u64); 8] = [
        // session+menu, 50 datasets with their count (a scalar subquery), invitations
        // received
        ("/", 3),
        // session+menu, organization+viewer's role, 50 datasets with their count
        ("/bigorg", 3),
        // session+menu, organization+role (with its member count), 50 members
        ("/bigorg/members", 3),
        ("/bigorg/members?page=3", 3),
        // the members found carry their count (a window): no count of its own
        ("/bigorg/members?q=user12", 3),
        // session+menu, organization+role (with its member and administrator counts), 50
        // members, pending invitations
        ("/bigorg/settings/members", 4),
        // session+menu, dataset+owner+viewer's role and entry
        ("/bigorg/dataset-1", 2),
        // key+user, dataset+role (its collaborator count kept on its row)
        ("/datasets/bigorg/dataset-1/", 2),
    ];
    let key = app.api_key(&a, "bench").await;
    let mut report = Vec::new();
    let mut over = Vec::new();
    for (path, want) in pages {
        // Once to warm up (a first view may make the CSRF token), then counted.
        let api = path.starts_with("/datasets/");
        let get = || async {
            if api {
                let res = a.client.get(format!("{}{path}", a.base)).header("Authorization", format!("APIKey {key}")).send().await.unwrap();
                res.status()
            } else {
                a.page(path).await.0
            }
        };
        assert_eq!(get().await, StatusCode::OK, "{path}");
        app.db.queries.take_log();
        let before = app.queries();
        assert_eq!(get().await, StatusCode::OK, "{path}");
        let ran = app.queries() - before;
        let sql: Vec<String> = app
            .db
            .queries
            .take_log()
            .into_iter()
            .map(|s| match s {
                colabel::db::Statement::Ran(sql) | colabel::db::Statement::Cached(sql) => sql.chars().take(100).collect(),
            })
            .collect();
        report.push(format!("{path}: {ran} statements\n    {}", sql.join("\n    ")));
        if ran > want {
            over.push(format!("{path}: {ran} statements, the fewest is {want}"));
        }
    }
    println!("statements per page ({:?}):\n{}", app.backend, report.join("\n"));
    assert!(over.is_empty(), "{over:#?}");
});
