//! "Who has access, and why" (issue 15, item 5): the dataset's Access tab
//! (`/{owner}/{dataset}/settings/access`) and a member's Access page
//! (`/{org}/settings/members/{user}/access`): every source of each role, the effective role
//! (the highest), who may see the pages, pagination, and a fixed number of statements.

use crate::db_test;
use crate::helpers::*;
use crate::orgs::{add_member, bulk_datasets, bulk_members, create_org, make_dataset};
use reqwest::StatusCode;

/// `b` creates `owner/name` through the form.
async fn new_dataset(b: &Browser, owner: &str, name: &str, visibility: &str) {
    let res = b
        .post(
            "/datasets",
            &[
                ("owner", owner),
                ("name", name),
                ("description", ""),
                ("task_type", "bboxes"),
                ("visibility", visibility),
            ],
        )
        .await;
    assert_redirect(&res, &format!("/{owner}/{name}"));
}

async fn add_collaborator(b: &Browser, ds: &str, user: &str, role: &str) {
    let res = b
        .post(
            &format!("/{ds}/settings/collaborators"),
            &[("username", user), ("role", role)],
        )
        .await;
    assert_redirect(&res, &format!("/{ds}/settings/collaborators"));
}

async fn make_public(b: &Browser, ds: &str) {
    let res = b
        .post(
            &format!("/{ds}/settings"),
            &[
                ("action", "update"),
                ("description", ""),
                ("task_type", "bboxes"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_redirect(&res, &format!("/{ds}/settings"));
}

/// The text between `start` (after it) and `end` in `s`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let at = s.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let len = s[at..].find(end).unwrap_or_else(|| panic!("no {end:?}"));
    &s[at..at + len]
}

/// The rows of an access table: (name, role, sources), in page order. `key` is the row's
/// attribute (`data-person`, `data-dataset`).
fn rows(html: &str, key: &str) -> Vec<(String, String, String)> {
    let marker = format!("<tr {key}=\"");
    html.split(&marker)
        .skip(1)
        .map(|row| {
            let name = between(row, "", "\"").to_string();
            let role_cell = between(row, "data-role>", "</td>");
            let role = between(role_cell, "\">", "</span>").to_string();
            let sources = between(row, "data-sources>", "</td>").to_string();
            (name, role, sources)
        })
        .collect()
}

fn row(name: &str, role: &str, sources: &str) -> (String, String, String) {
    (name.to_string(), role.to_string(), sources.to_string())
}

fn access_page(ds: &str) -> String {
    format!("/{ds}/settings/access")
}

const PUBLIC_LINE: &str = "Everyone (public): Viewer";

// ---- The dataset's Access tab ----

db_test!(async fn an_org_dataset_lists_everyone_with_access_once_with_every_source(app) {
    let boss = app.user("boss").await;
    let ada = app.user("ada").await;
    let ben = app.user("ben").await;
    let cy = app.user("cy").await;
    let dee = app.user("dee").await;
    let stranger = app.user("stranger").await;
    create_org(&boss, "acme").await;
    add_member(&boss, "acme", "ada", "admin", "none").await;
    add_member(&boss, "acme", "ben", "member", "none").await;
    add_member(&boss, "acme", "cy", "member", "none").await;
    // The creator (boss) gets an Administrator entry as well.
    new_dataset(&boss, "acme", "cats", "private").await;
    add_collaborator(&boss, "acme/cats", "ada", "labeler").await;
    add_collaborator(&boss, "acme/cats", "ben", "reviewer").await;
    // An outside collaborator (not a member of acme).
    add_collaborator(&boss, "acme/cats", "dee", "manager").await;

    let page = access_page("acme/cats");
    let (status, body) = boss.page(&page).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        rows(&body, "data-person"),
        vec![
            // An organization administrator who is also a collaborator: one row, both sources,
            // the highest role.
            row("ada", "Administrator", "organization administrator; collaborator entry: Labeler"),
            row("ben", "Reviewer", "collaborator entry: Reviewer"),
            row("boss", "Administrator", "organization administrator; collaborator entry: Administrator"),
            row("dee", "Manager", "collaborator entry: Manager"),
        ],
        "by username, cy (a member without an entry) not listed"
    );
    assert!(body.contains("4 people"), "the total");
    assert!(!body.contains(PUBLIC_LINE), "private: no public line");
    assert!(body.contains(r#"href="/acme/cats/settings/access" aria-current="page">Access</a>"#), "the tab");

    // The Access tab shows beside Collaborators for whoever may see it.
    let (_, collab) = boss.page("/acme/cats/settings/collaborators").await;
    assert!(collab.contains(r#"href="/acme/cats/settings/access">Access</a>"#));

    // Who may see it: managers and administrators; a reviewer is refused as on the
    // collaborators page (403); without access to the dataset, 404 as for a missing one.
    assert_eq!(dee.page(&page).await.0, StatusCode::OK, "a manager (outside collaborator)");
    assert_eq!(ada.page(&page).await.0, StatusCode::OK, "an organization administrator");
    assert_eq!(ben.page(&page).await.0, StatusCode::FORBIDDEN, "a reviewer");
    assert_eq!(
        ben.page("/acme/cats/settings/collaborators").await.0,
        StatusCode::FORBIDDEN,
        "the same answer as the collaborators page"
    );
    assert!(!ben.page("/acme/cats").await.1.contains("/settings/access"), "no tab for a reviewer");
    assert_eq!(cy.page(&page).await.0, StatusCode::NOT_FOUND, "a member without access");
    assert_eq!(stranger.page(&page).await.0, StatusCode::NOT_FOUND, "a stranger");
    assert_eq!(
        without_tokens(&stranger.page(&page).await.1),
        without_tokens(&stranger.page("/acme/nothing/settings/access").await.1),
        "the same page as for a missing dataset"
    );
    assert!(location(&app.browser().get(&page).await).starts_with("/login?next="), "a visitor signs in first");

    // Public: one line for everyone, not a row per person; the rows keep their sources.
    make_public(&boss, "acme/cats").await;
    let (_, body) = dee.page(&page).await;
    assert!(body.contains(PUBLIC_LINE));
    let names: Vec<String> = rows(&body, "data-person").into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["ada", "ben", "boss", "dee"], "no row for cy, who may view it as anyone may");
    assert_eq!(cy.page(&page).await.0, StatusCode::FORBIDDEN, "a viewer by visibility");
    assert_eq!(stranger.page(&page).await.0, StatusCode::FORBIDDEN);

    // Search by a part of the username, in any case.
    let (status, body) = boss.page(&format!("{page}?q=AD")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&body, "data-person"), vec![row("ada", "Administrator", "organization administrator; collaborator entry: Labeler")]);
    assert!(body.contains("1 matching “AD”"), "the count of the search");
    let (_, body) = boss.page(&format!("{page}?q=%25")).await;
    assert!(rows(&body, "data-person").is_empty(), "% is a character, not a wildcard");

    // Demoting ada: her entry is all that is left, and the page says so.
    let res = crate::orgs::set_roles(&boss, "acme", "ada", "member", "none").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, body) = boss.page(&page).await;
    assert_eq!(rows(&body, "data-person")[0], row("ada", "Labeler", "collaborator entry: Labeler"));
});

db_test!(async fn a_personal_dataset_names_its_owner(app) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.user("carl").await;
    new_dataset(&alice, "alice", "notes", "private").await;
    add_collaborator(&alice, "alice/notes", "bob", "admin").await;
    add_collaborator(&alice, "alice/notes", "carl", "viewer").await;
    let (status, body) = bob.page(&access_page("alice/notes")).await;
    assert_eq!(status, StatusCode::OK, "an administrator collaborator");
    assert_eq!(
        rows(&body, "data-person"),
        vec![
            row("alice", "Administrator", "personal owner; collaborator entry: Administrator"),
            row("bob", "Administrator", "collaborator entry: Administrator"),
            row("carl", "Viewer", "collaborator entry: Viewer"),
        ]
    );
    assert!(body.contains("3 people"));
});

// ---- A member's Access page ----

db_test!(async fn a_members_access_lists_the_datasets_they_can_open_and_why(app) {
    let boss = app.user("boss").await;
    let ada = app.user("ada").await;
    let ben = app.user("ben").await;
    let stranger = app.user("stranger").await;
    app.user("dee").await;
    create_org(&boss, "acme").await;
    add_member(&boss, "acme", "ada", "admin", "none").await;
    add_member(&boss, "acme", "ben", "member", "none").await;
    new_dataset(&boss, "acme", "birds", "private").await;
    new_dataset(&boss, "acme", "cats", "private").await;
    new_dataset(&boss, "acme", "dogs", "public").await;
    new_dataset(&boss, "acme", "fish", "public").await;
    add_collaborator(&boss, "acme/cats", "ben", "reviewer").await;
    add_collaborator(&boss, "acme/fish", "ben", "labeler").await;
    add_collaborator(&boss, "acme/cats", "ada", "viewer").await;
    // Another organization's dataset is not listed.
    create_org(&boss, "other").await;
    new_dataset(&boss, "other", "zebras", "public").await;

    // The Access link on each row of the Members subtab, named for its row.
    let (_, members) = boss.page("/acme/settings/members").await;
    for who in ["ada", "ben", "boss"] {
        assert!(
            members.contains(&format!(r#"href="/acme/settings/members/{who}/access">Access<span class="visually-hidden"> of {who}</span></a>"#)),
            "the Access link of {who}"
        );
    }

    let (status, body) = boss.page("/acme/settings/members/ben/access").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        rows(&body, "data-dataset"),
        vec![
            row("cats", "Reviewer", "collaborator entry: Reviewer"),
            row("dogs", "Viewer", "public"),
            // The highest applies: the entry beats "public".
            row("fish", "Labeler", "collaborator entry: Labeler; public"),
        ],
        "birds (private, no entry) is not listed"
    );
    assert!(body.contains("ben can open 3 datasets of acme"));
    assert!(body.contains("ben cannot open 1 other dataset of acme."));

    // BEN in any case; an administrator opens every dataset.
    let (status, body) = boss.page("/acme/settings/members/ADA/access").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        rows(&body, "data-dataset"),
        vec![
            row("birds", "Administrator", "organization administrator"),
            row("cats", "Administrator", "organization administrator; collaborator entry: Viewer"),
            row("dogs", "Administrator", "organization administrator; public"),
            row("fish", "Administrator", "organization administrator; public"),
        ]
    );
    assert!(body.contains("There is no dataset of acme that ada cannot open."));

    // Who may see it: administrators of the organization. A member is refused as on the
    // Members subtab (403); a non-member 404; someone who is not a member, or nobody, 404.
    assert_eq!(ada.page("/acme/settings/members/ben/access").await.0, StatusCode::OK);
    assert_eq!(ben.page("/acme/settings/members/ben/access").await.0, StatusCode::FORBIDDEN, "a member, of themselves");
    assert_eq!(ben.page("/acme/settings/members/ada/access").await.0, StatusCode::FORBIDDEN, "a member");
    assert_eq!(ben.page("/acme/settings/members").await.0, StatusCode::FORBIDDEN, "the same answer as the subtab");
    assert_eq!(stranger.page("/acme/settings/members/ben/access").await.0, StatusCode::NOT_FOUND, "a non-member");
    assert_eq!(boss.page("/acme/settings/members/dee/access").await.0, StatusCode::NOT_FOUND, "not a member");
    assert_eq!(boss.page("/acme/settings/members/nobody/access").await.0, StatusCode::NOT_FOUND, "no such user");
    assert_eq!(boss.page("/nothing/settings/members/ben/access").await.0, StatusCode::NOT_FOUND, "no such organization");
    assert!(location(&app.browser().get("/acme/settings/members/ben/access").await).starts_with("/login?next="), "a visitor signs in first");

    // Removing ben revokes his entries (SPEC 4.5): only what is public is left.
    let res = ben.post("/settings/organizations/acme/leave", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(boss.page("/acme/settings/members/ben/access").await.0, StatusCode::NOT_FOUND, "no longer a member");
});

// ---- Pages and statements ----

/// The statements a GET of `path` runs once warmed up.
async fn statements(app: &TestApp, b: &Browser, path: &str) -> (u64, String) {
    assert_eq!(b.page(path).await.0, StatusCode::OK, "{path}");
    let before = app.queries();
    let (status, body) = b.page(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    (app.queries() - before, body)
}

db_test!(async fn both_pages_are_paginated_and_run_a_fixed_number_of_statements(app) {
    let boss = app.user("boss").await;
    create_org(&boss, "big").await;
    // A small dataset first: the statements of its pages are the yardstick.
    new_dataset(&boss, "big", "tiny", "private").await;
    let (tiny_ds, _) = statements(&app, &boss, &access_page("big/tiny")).await;
    let (tiny_member, _) = statements(&app, &boss, "/big/settings/members/boss/access").await;

    // 60 administrators and 70 members (default role Labeler): a dataset made now has all
    // of them as collaborators, and the administrators twice over (one row each).
    bulk_members(&app, "big", "adm", 60, "admin");
    bulk_members(&app, "big", "mem", 70, "member");
    make_dataset(&app, "big", "boss", "large");
    bulk_datasets(&app, "big", 70);
    let page = access_page("big/large");
    let (ran, body) = statements(&app, &boss, &page).await;
    let first = rows(&body, "data-person");
    assert_eq!(first.len(), 50, "50 to a page");
    assert!(body.contains("131 people"), "60 + 70 + boss");
    assert_eq!(first[0], row("adm000", "Administrator", "organization administrator; collaborator entry: Labeler"));
    assert_eq!(first[49], row("adm049", "Administrator", "organization administrator; collaborator entry: Labeler"));
    assert!(body.contains(r#"href="/big/large/settings/access?page=3""#), "numbered pages");
    let (ran3, body) = statements(&app, &boss, &format!("{page}?page=3")).await;
    let third = rows(&body, "data-person");
    assert_eq!(third.len(), 31);
    assert_eq!(third[0], row("mem039", "Labeler", "collaborator entry: Labeler"));
    assert_eq!(third[30].0, "mem069");
    let second = rows(&boss.page(&format!("{page}?page=2")).await.1, "data-person");
    assert_eq!(second[10], row("boss", "Administrator", "organization administrator; collaborator entry: Administrator"));
    assert_eq!(second[11], row("mem000", "Labeler", "collaborator entry: Labeler"));
    let all: Vec<String> = [first, second, third]
        .concat()
        .into_iter()
        .map(|r| r.0)
        .collect();
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(all.len(), 131, "every person once across the pages");
    assert_eq!(unique, all, "in order, no one twice");
    let (_, body) = boss.page(&format!("{page}?page=9")).await;
    assert!(body.contains("Page 9 is past the end"));
    let (ran_q, body) = statements(&app, &boss, &format!("{page}?q=mem06")).await;
    assert_eq!(rows(&body, "data-person").len(), 10);
    assert!(body.contains("10 matching “mem06”"));

    // The member's page: an administrator opens 72 datasets (tiny, large, 70 more).
    let member_page = "/big/settings/members/adm007/access";
    let (ran_m, body) = statements(&app, &boss, member_page).await;
    assert_eq!(rows(&body, "data-dataset").len(), 50);
    assert!(body.contains("adm007 can open 72 datasets of big"));
    let (ran_m2, body) = statements(&app, &boss, &format!("{member_page}?page=2")).await;
    assert_eq!(rows(&body, "data-dataset").len(), 22);
    // A member opens only the dataset made after they joined.
    let (ran_mem, body) = statements(&app, &boss, "/big/settings/members/mem001/access").await;
    assert_eq!(rows(&body, "data-dataset"), vec![row("large", "Labeler", "collaborator entry: Labeler")]);
    assert!(body.contains("mem001 cannot open 71 other datasets of big."));

    // As many statements for 131 people as for 1, for 72 datasets as for 1: session and
    // menu, the dataset (or the organization and the member), the count, the page.
    println!("statements: dataset access {tiny_ds} / {ran} / {ran3} / {ran_q}, member access {tiny_member} / {ran_m} / {ran_m2} / {ran_mem}");
    assert_eq!(tiny_ds, 4, "session+menu, dataset+caller's access, count, page");
    for n in [ran, ran3, ran_q] {
        assert_eq!(n, tiny_ds, "the dataset's Access tab");
    }
    assert_eq!(tiny_member, 5, "session+menu, organization+caller's role, member, counts, page");
    for n in [ran_m, ran_m2, ran_mem] {
        assert_eq!(n, tiny_member, "the member's Access page");
    }
});

db_test!(async fn ten_thousand_administrators_and_collaborators_take_the_same_statements(app) {
    // The brief's size: an organization of 10,000 administrators and collaborators.
    let boss = app.user("boss").await;
    create_org(&boss, "huge").await;
    bulk_members(&app, "huge", "a", 5_000, "admin");
    bulk_members(&app, "huge", "m", 5_000, "member");
    make_dataset(&app, "huge", "boss", "all");
    let page = access_page("huge/all");
    let started = std::time::Instant::now();
    let (ran, body) = statements(&app, &boss, &format!("{page}?page=150")).await;
    let took = started.elapsed() / 2;
    assert!(body.contains("10,001 people"), "the total");
    let rows = rows(&body, "data-person");
    assert_eq!(rows.len(), 50);
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "by username: {names:?}");
    let (ran_q, _) = statements(&app, &boss, &format!("{page}?q=m49")).await;
    let (ran_m, body) = statements(&app, &boss, "/huge/settings/members/m042/access").await;
    assert_eq!(rows_of(&body).len(), 1);
    println!("10,000: {ran} / {ran_q} / {ran_m} statements, a page of the Access tab in {took:?} ({:?})", app.backend);
    assert_eq!((ran, ran_q, ran_m), (4, 4, 5));
});

fn rows_of(html: &str) -> Vec<(String, String, String)> {
    rows(html, "data-dataset")
}

// ---- The JSON API ----

db_test!(async fn the_api_lists_everyone_with_access_and_why(app) {
    let (boss, api) = app.api_user("boss").await;
    let (ben, ben_api) = app.api_user("ben").await;
    let (_, stranger_api) = app.api_user("stranger").await;
    app.user("ada").await;
    drop(ben);
    create_org(&boss, "acme").await;
    add_member(&boss, "acme", "ada", "admin", "none").await;
    add_member(&boss, "acme", "ben", "member", "none").await;
    new_dataset(&boss, "acme", "cats", "private").await;
    add_collaborator(&boss, "acme/cats", "ben", "reviewer").await;
    let ans = api.get("/datasets/acme/cats/access/").await;
    assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
    assert_eq!(
        ans.json(),
        serde_json::json!([
            {"username": "ada", "role": "admin", "sources": ["organization_administrator"], "collaborator_role": null},
            {"username": "ben", "role": "reviewer", "sources": ["collaborator"], "collaborator_role": "reviewer"},
            {"username": "boss", "role": "admin", "sources": ["organization_administrator", "collaborator"], "collaborator_role": "admin"},
        ])
    );
    let ans = api.get("/datasets/acme/cats/access?q=BO&per_page=1").await;
    assert_eq!(ans.json().as_array().unwrap().len(), 1);
    assert_eq!(ans.json()[0]["username"], "boss");
    assert_eq!(api.get("/datasets/acme/cats/access/?per_page=0").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(ben_api.get("/datasets/acme/cats/access/").await.status, StatusCode::FORBIDDEN, "a reviewer");
    assert_eq!(stranger_api.get("/datasets/acme/cats/access/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(Api::new(&app.base, None).get("/datasets/acme/cats/access/").await.status, StatusCode::UNAUTHORIZED);
});
