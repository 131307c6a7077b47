//! Lists of datasets on the dashboard and the organization page (issue 15): search by a part
//! of the name, visibility, name (natural order) or newest first, the count, pages; in SQL and
//! with a fixed number of statements.

use crate::db_test;
use crate::helpers::*;
use crate::orgs::{bulk_datasets, count, create_org, make_dataset};
use diesel::connection::SimpleConnection;
use reqwest::StatusCode;

/// The dataset links of a list, in order (`owner/name`).
fn listed(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(r#"<li class="list-item">"#) {
        rest = &rest[at..];
        let href = rest.find(r#"<a href="/"#).unwrap() + r#"<a href="/"#.len();
        let end = href + rest[href..].find('"').unwrap();
        out.push(rest[href..end].to_string());
        rest = &rest[end..];
    }
    out
}

fn make_public(app: &TestApp, name: &str) {
    app.with_db(|c| {
        c.batch_execute(&format!(
            "UPDATE datasets SET is_public = TRUE WHERE name = '{name}'"
        ))
        .unwrap()
    });
}

db_test!(async fn dataset_lists_search_filter_sort_naturally_and_count(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    for name in ["dataset-10", "dataset-2", "Cars", "dataset-1", "dataset-100", "dataset-02b"] {
        make_dataset(&app, "acme", "alice", name);
    }
    make_public(&app, "dataset-2");
    make_public(&app, "Cars");
    let natural = ["Cars", "dataset-1", "dataset-2", "dataset-02b", "dataset-10", "dataset-100"];

    // The organization page.
    let body = a.page("/acme").await.1;
    assert_eq!(listed(&body), natural.map(|n| format!("acme/{n}")));
    assert!(body.contains("6 datasets"));
    let body = a.page("/acme?q=SET-1").await.1;
    assert_eq!(listed(&body), ["acme/dataset-1", "acme/dataset-10", "acme/dataset-100"]);
    assert!(body.contains("3 datasets matching “SET-1”") && body.contains(r#"value="SET-1""#));
    let body = a.page("/acme?visibility=public").await.1;
    assert_eq!(listed(&body), ["acme/Cars", "acme/dataset-2"]);
    assert!(body.contains("2 public datasets"));
    assert_eq!(listed(&a.page("/acme?visibility=private&q=0").await.1), ["acme/dataset-02b", "acme/dataset-10", "acme/dataset-100"]);
    let body = a.page("/acme?sort=newest").await.1;
    assert_eq!(listed(&body), ["acme/dataset-02b", "acme/dataset-100", "acme/dataset-1", "acme/Cars", "acme/dataset-2", "acme/dataset-10"]);
    assert!(body.contains(r#"<option value="newest" selected>"#));
    // `%` and `_` are letters.
    assert_eq!(listed(&a.page("/acme?q=_").await.1), Vec::<String>::new());
    let body = a.page("/acme?q=%25").await.1;
    assert!(body.contains("0 datasets matching “%”") && body.contains("No datasets match."));

    // The dashboard: the same controls over everything the user works on.
    make_dataset(&app, "alice", "alice", "dataset-3");
    let body = a.page("/").await.1;
    assert_eq!(listed(&body), ["acme/Cars", "acme/dataset-1", "acme/dataset-2", "acme/dataset-02b", "alice/dataset-3", "acme/dataset-10", "acme/dataset-100"]);
    assert!(body.contains("7 datasets"));
    assert_eq!(listed(&a.page("/?q=dataset-1").await.1), ["acme/dataset-1", "acme/dataset-10", "acme/dataset-100"]);
    assert_eq!(listed(&a.page("/?visibility=public&sort=newest").await.1), ["acme/Cars", "acme/dataset-2"]);
    assert_eq!(listed(&a.page("/?sort=newest").await.1)[0], "alice/dataset-3");
    assert!(a.page("/?visibility=private").await.1.contains("5 private datasets"));

    // Unknown orders and visibilities are refused.
    for bad in ["/?sort=size", "/acme?visibility=secret", "/alice?sort=%00"] {
        assert_eq!(a.page(bad).await.0.as_u16() / 100, 4, "{bad}");
    }
});

db_test!(async fn dataset_lists_page_with_the_filter_kept(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    // Inserted by SQL, without their keys, as rows from before the key existed: filled as at
    // start.
    app.with_db(|c| {
        let org = colabel::models::orgs::find_with_role(c, "acme", -1).unwrap().unwrap().0.id;
        let values: Vec<String> = (1..=120)
            .map(|i| format!("({org}, 'set-{i}', 'set-{i}', '', 'bboxes', FALSE, NULL, CURRENT_TIMESTAMP)"))
            .collect();
        c.batch_execute(&format!(
            "INSERT INTO datasets (owner_id, name, name_key, description, task_type, is_public, created_by, created_at) VALUES {}",
            values.join(", ")
        ))
        .unwrap();
        assert_eq!(colabel::models::datasets::fill_sort_keys(c).unwrap(), 120);
        assert_eq!(colabel::models::datasets::fill_sort_keys(c).unwrap(), 0, "once");
    });
    let body = a.page("/acme?page=2").await.1;
    let names = listed(&body);
    assert_eq!(names.len(), 50);
    assert_eq!((names[0].as_str(), names[49].as_str()), ("acme/set-51", "acme/set-100"));
    assert!(body.contains("120 datasets") && body.contains("Page 2 of 3"));
    let body = a.page("/acme?q=set-1&sort=newest&visibility=private&page=2").await.1;
    // set-1, set-10 to set-19, set-100 to set-120: 32, so 50 to a page leaves none for page 2.
    assert!(body.contains("32 private datasets matching “set-1”"));
    assert!(body.contains("Page 2 is past the end: there is 1 page."));
    assert!(["&#38;", "&amp;"].iter().any(|amp| body.contains(&format!(r#"href="/acme?page=1{amp}q=set%2D1{amp}sort=newest{amp}visibility=private""#))), "{}", &body[body.find("past the end").unwrap()..][..300]);
    // The count rides on the rows; a page past the end, which has none, still counts.
    let body = a.page("/acme?page=7").await.1;
    assert!(body.contains("120 datasets") && body.contains("Page 7 is past the end: there are 3 pages."));
    // The dashboard, the same: its count with the page's rows, and without them.
    let body = a.page("/?page=3").await.1;
    assert_eq!(listed(&body).len(), 20);
    assert!(body.contains("120 datasets") && body.contains("Page 3 of 3"), "{body}");
    let body = a.page("/?page=4").await.1;
    assert!(body.contains("120 datasets") && body.contains("Page 4 is past the end: there are 3 pages."));
    let body = a.page("/?q=set-1&page=2").await.1;
    assert_eq!(listed(&body), Vec::<String>::new());
    assert!(body.contains("32 datasets matching “set-1”") && body.contains("Page 2 is past the end: there is 1 page."));
    let body = a.page("/?q=set-119").await.1;
    assert_eq!(listed(&body), ["acme/set-119"]);
    assert!(body.contains("1 dataset matching “set-119”"), "{body}");
});

db_test!(async fn dataset_lists_take_a_fixed_number_of_statements(app) {
    let a = app.user("alice").await;
    create_org(&a, "small").await;
    make_dataset(&app, "small", "alice", "one");
    create_org(&a, "big").await;
    bulk_datasets(&app, "big", 300);
    async fn queries(app: &TestApp, b: &Browser, path: &str) -> u64 {
        assert_eq!(b.page(path).await.0, StatusCode::OK, "{path}");
        let before = app.queries();
        assert_eq!(b.page(path).await.0, StatusCode::OK, "{path}");
        app.queries() - before
    }
    for suffix in ["?q=o", "?q=ds0&sort=newest", "?visibility=private&page=2", "?sort=newest&visibility=public", "?role=admin&q=o", "?role=viewer"] {
        let small = queries(&app, &a, &format!("/small{suffix}")).await;
        let big = queries(&app, &a, &format!("/big{suffix}")).await;
        // The count rides on the page's rows; a page past the end (page 2 of the small
        // organization's one dataset) counts in one statement more.
        let past_end = u64::from(suffix.contains("page=2"));
        assert_eq!(small, big + past_end, "{suffix}");
        assert!(big <= 12, "{suffix}: {big}");
    }
    let few = queries(&app, &a, "/?q=on&sort=newest").await;
    let few_admin = queries(&app, &a, "/?role=admin").await;
    bulk_datasets(&app, "alice", 300);
    assert_eq!(few, queries(&app, &a, "/?q=on&sort=newest").await);
    assert_eq!(few_admin, queries(&app, &a, "/?role=admin").await);
    assert_eq!(count(&a.page("/?q=ds&visibility=private").await.1, r#"class="list-item""#), 50);
});

db_test!(async fn dataset_lists_filter_by_the_viewers_effective_role(app) {
    use crate::orgs::{add_member, id_of};
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    for name in ["d-lab", "d-pub", "d-rev", "d-none", "d-adm"] {
        make_dataset(&app, "acme", "alice", name);
    }
    make_dataset(&app, "bob", "bob", "mine");
    make_public(&app, "d-pub");
    let bob = id_of(&app, "bob");
    app.with_db(|c| {
        c.batch_execute(&format!(
            "DELETE FROM collaborators WHERE user_id = {bob} AND dataset_id IN \
               (SELECT id FROM datasets WHERE name IN ('d-pub', 'd-none'));
             UPDATE collaborators SET role = 'reviewer' WHERE user_id = {bob} AND dataset_id = \
               (SELECT id FROM datasets WHERE name = 'd-rev');
             UPDATE collaborators SET role = 'admin' WHERE user_id = {bob} AND dataset_id = \
               (SELECT id FROM datasets WHERE name = 'd-adm');"
        ))
        .unwrap()
    });

    // On the organization page, bob's effective role: his entry, else viewer where public.
    for (role, want) in [
        ("labeler", vec!["acme/d-lab"]),
        ("viewer", vec!["acme/d-pub"]),
        ("reviewer", vec!["acme/d-rev"]),
        ("admin", vec!["acme/d-adm"]),
        ("manager", vec![]),
        ("", vec!["acme/d-adm", "acme/d-lab", "acme/d-pub", "acme/d-rev"]),
    ] {
        assert_eq!(listed(&b.page(&format!("/acme?role={role}")).await.1), want, "/acme?role={role}");
    }
    let body = b.page("/acme?role=labeler").await.1;
    assert!(body.contains("1 dataset where you are Labeler"), "the count says the filter");
    assert!(body.contains(r#"<option value="labeler" selected>"#));
    // The dashboard: what bob works on, by his role there (his own dataset is his to administer).
    assert_eq!(listed(&b.page("/?role=admin").await.1), ["acme/d-adm", "bob/mine"]);
    assert_eq!(listed(&b.page("/?role=reviewer").await.1), ["acme/d-rev"]);
    assert_eq!(listed(&b.page("/?role=viewer").await.1), Vec::<String>::new());
    // An administrator of the organization administers every dataset of it, whatever entry
    // they hold: no other role applies to them there.
    assert_eq!(listed(&a.page("/acme?role=admin").await.1).len(), 5);
    assert_eq!(listed(&a.page("/acme?role=labeler").await.1), Vec::<String>::new());
    let alice = id_of(&app, "alice");
    app.with_db(|c| {
        c.batch_execute(&format!(
            "DELETE FROM collaborators WHERE user_id = {alice} AND dataset_id = \
               (SELECT id FROM datasets WHERE name = 'd-lab');
             INSERT INTO collaborators (dataset_id, user_id, role, created_at) \
               SELECT id, {alice}, 'labeler', CURRENT_TIMESTAMP FROM datasets WHERE name = 'd-lab'"
        ))
        .unwrap()
    });
    assert_eq!(listed(&a.page("/?role=labeler").await.1), Vec::<String>::new());
    assert!(listed(&a.page("/?role=admin").await.1).contains(&"acme/d-lab".to_string()));
    // The pager keeps the filter; an unknown role is refused.
    assert_eq!(b.page("/acme?role=owner").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(b.page("/?role=%00").await.0, StatusCode::BAD_REQUEST);
});
