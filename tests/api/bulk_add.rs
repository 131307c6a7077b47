//! Issue 15, items 3 (bulk add) and 4 (default roles for existing datasets): "Add many
//! members" from a pasted list or a CSV upload, previewed line by line and applied in one
//! transaction; "Apply default dataset roles to existing datasets", previewed entry by entry,
//! adding and raising, never lowering.

use crate::db_test;
use crate::helpers::*;
use crate::orgs::{
    add_collaborator, add_member, audit, collaborator_role, count, create_org, id_of, login,
    make_dataset, membership, roles,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::StatusCode;

const PREVIEW: &str = "/acme/settings/import-members/preview";
const APPLY: &str = "/acme/settings/import-members";

fn paste(lines: &str) -> Vec<(&str, &str)> {
    vec![
        ("lines", lines),
        ("role", "member"),
        ("default_role", "labeler"),
    ]
}

/// The number shown for one outcome on the preview (`data-count="add"`, ...).
fn shown_count(body: &str, outcome: &str) -> usize {
    let key = format!(r#"data-count="{outcome}">"#);
    let at = body
        .find(&key)
        .unwrap_or_else(|| panic!("no count {outcome}: {body}"))
        + key.len();
    body[at..].split('<').next().unwrap().parse().unwrap()
}

/// The outcome cell of a line of the preview.
fn line_outcome(body: &str, number: usize) -> String {
    let key = format!(r#"data-line="{number}""#);
    let at = body
        .find(&key)
        .unwrap_or_else(|| panic!("no line {number}: {body}"));
    let row = &body[at..at + body[at..].find("</tr>").unwrap()];
    let cell = &row[row.find(r#"data-label="Outcome">"#).unwrap()..];
    let text: String = cell
        .split('>')
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    text.trim().to_string()
}

/// Users only (no membership), inserted straight into the database: `{prefix}000`, ...
fn bulk_users(app: &TestApp, prefix: &str, n: usize) {
    app.with_db(|c| {
        let values: Vec<String> = (0..n)
            .map(|i| format!("('{prefix}{i:03}', '{prefix}{i:03}', 'user', '', CURRENT_TIMESTAMP)"))
            .collect();
        c.batch_execute(&format!(
            "INSERT INTO accounts (username, username_key, kind, display_name, created_at) VALUES {};
             INSERT INTO users (id, email, email_key, password_hash, password_changed_at)
               SELECT id, username_key || '@bulk.example', username_key || '@bulk.example', 'x', CURRENT_TIMESTAMP
               FROM accounts WHERE kind = 'user' AND username_key LIKE '{prefix}%' AND id NOT IN (SELECT id FROM users);",
            values.join(", ")
        ))
        .unwrap();
    });
}

fn count_rows(app: &TestApp, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    app.with_db(|c| diesel::sql_query(sql).get_result::<N>(c).unwrap().n)
}

fn members_of(app: &TestApp, org: &str) -> i64 {
    count_rows(
        app,
        &format!(
            "SELECT COUNT(*) AS n FROM memberships WHERE org_id = {}",
            id_of(app, org)
        ),
    )
}

/// A multipart/form-data body with the session's token, text fields and one file.
async fn upload(
    b: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    file: &[u8],
) -> reqwest::Response {
    let boundary = "----colabelTestBoundary7MA4YWxk";
    let token = b.token().await;
    let mut body = String::new();
    let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    for (k, v) in all {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"members.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    ));
    let mut body = body.into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    b.client
        .post(format!("{}{}", b.base, path))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

db_test!(async fn the_preview_says_what_happens_to_each_line_and_changes_nothing(app) {
    let a = app.user("alice").await;
    for u in ["bob", "carol", "dave", "erin"] {
        app.user(u).await;
    }
    create_org(&a, "acme").await;
    create_org(&a, "other").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;

    // The card on the Members subtab: a textarea, a file input, the default roles.
    let body = a.page("/acme/settings/members").await.1;
    assert!(body.contains("Add many members") && body.contains(r#"enctype="multipart/form-data""#));
    assert!(body.contains(r#"name="lines""#) && body.contains(r#"type="file" name="file""#));
    assert!(body.contains(r#"<label for="f-import-lines">"#) && body.contains(r#"<label for="f-import-file">"#));

    let before = snapshot(&app);
    let text = "username,role,default_role\n\
                carol\n\
                bob\n\
                ghost\n\
                dave,boss,labeler\n\
                CAROL,admin\n\
                Erin,ADMIN,viewer\n\
                other\n\
                \n\
                zed,member,sometimes\n\
                a,b,c,d";
    let res = a.post(PREVIEW, &paste(text)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert_eq!(snapshot(&app), before, "a preview changes nothing");
    assert_eq!(line_outcome(&body, 2), "will be added");
    assert_eq!(line_outcome(&body, 3), "already a member");
    assert_eq!(line_outcome(&body, 4), "unknown username");
    assert!(line_outcome(&body, 5).starts_with("invalid role: “boss” is no organization role"), "{body}");
    assert_eq!(line_outcome(&body, 6), "duplicate line");
    assert_eq!(line_outcome(&body, 7), "will be added");
    assert_eq!(line_outcome(&body, 8), "unknown username", "an organization is no user");
    assert!(line_outcome(&body, 10).starts_with("invalid role: “sometimes” is no default dataset role"));
    assert!(line_outcome(&body, 11).starts_with("invalid role: 4 fields"));
    assert!(!body.contains(r#"data-line="1""#) && !body.contains(r#"data-line="9""#), "header and blank lines");
    assert_eq!(shown_count(&body, "add"), 2);
    assert_eq!(shown_count(&body, "already"), 1);
    assert_eq!(shown_count(&body, "unknown"), 2);
    assert_eq!(shown_count(&body, "invalid"), 3);
    assert_eq!(shown_count(&body, "duplicate"), 1);
    // The roles of a line, or the form's defaults; the account's own spelling.
    let erin = &body[body.find(r#"data-line="7""#).unwrap()..];
    assert!(erin.contains(">erin<") && erin.contains("Administrator") && erin.contains("Viewer"));
    let carol = &body[body.find(r#"data-line="2""#).unwrap()..];
    assert!(carol.contains("<td data-label=\"Organization role\">Member</td>") && carol.contains("Labeler"));
    // The button adds exactly the valid lines, sent again with their roles.
    assert!(body.contains("Add 2 members"));
    assert!(body.contains(r#"name="lines" value="carol,member,labeler
erin,admin,viewer""#), "{body}");
    assert!(body.contains(r#"name="csrf_token""#));
});

db_test!(async fn applying_adds_exactly_the_valid_lines_as_add_member_does(app) {
    let a = app.user("alice").await;
    for u in ["bob", "carol", "dave"] {
        app.user(u).await;
    }
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    let org = id_of(&app, "acme");
    // A webhook that hears members being added: one delivery (and job) per member.
    app.with_db(|c| {
        c.batch_execute(&format!(
            "INSERT INTO webhooks (org_id, url, secret, events, active, consecutive_failures, disabled_reason, created_by, created_at, updated_at)
             VALUES ({org}, 'https://hooks.example/x', 's', ',member.added,', TRUE, 0, '', 'alice', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ))
        .unwrap()
    });
    let deliveries_before = count_rows(&app, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event = 'member.added'");

    let res = a.post(APPLY, &paste("carol,admin,viewer\nbob\nghost\ndave,member,none\ndave")).await;
    assert_redirect(&res, "/acme/settings/members");
    let flash = flash_of(&a.follow(res).await.1);
    assert!(flash.contains("Added 2 members to acme: carol, dave."), "{flash}");
    assert_eq!(membership(&app, "acme", "carol"), roles("admin", Some("viewer")));
    assert_eq!(membership(&app, "acme", "dave"), roles("member", None));
    assert_eq!(membership(&app, "acme", "bob"), roles("member", Some("labeler")), "untouched");
    assert_eq!(members_of(&app, "acme"), 4);
    // One audit event each, as "Add member" writes it, and the webhook's deliveries.
    let events = audit(&app, org);
    let added: Vec<_> = events.iter().filter(|e| e.1 == "member.added").collect();
    assert_eq!(added.len(), 3, "bob's and the two: {events:?}");
    assert!(added.iter().any(|e| e.2.as_deref() == Some("carol") && e.3 == "as Administrator, default dataset role Viewer"));
    assert!(added.iter().any(|e| e.2.as_deref() == Some("dave") && e.3 == "as Member, default dataset role None (do not add)"));
    let deliveries = count_rows(&app, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event = 'member.added'");
    assert_eq!(deliveries - deliveries_before, 2);
    let payload: String = app.with_db(|c| {
        colabel::schema::webhook_deliveries::table
            .filter(colabel::schema::webhook_deliveries::payload.like("%\"carol\"%"))
            .select(colabel::schema::webhook_deliveries::payload)
            .first(c)
            .unwrap()
    });
    assert!(payload.contains(r#""organization":{"name":"acme"}"#) && payload.contains(r#""role":"admin""#), "{payload}");
    let jobs = count_rows(&app, "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'webhook'");
    assert!(jobs >= 2, "a job per delivery: {jobs}");
    // The new members show on the subtab.
    let body = a.page("/acme/settings/members").await.1;
    assert!(body.contains(r#"data-member="carol""#) && body.contains(r#"data-member="dave""#));
});

db_test!(async fn apply_judges_every_line_again(app) {
    let a = app.user("alice").await;
    for u in ["carol", "dave"] {
        app.user(u).await;
    }
    create_org(&a, "acme").await;
    let body = a.post(PREVIEW, &paste("carol\ndave")).await.text().await.unwrap();
    assert!(body.contains("Add 2 members"));
    // Meanwhile carol was added by someone else.
    add_member(&a, "acme", "carol", "admin", "manager").await;
    let res = a.post(APPLY, &paste("carol,member,labeler\ndave,member,labeler")).await;
    assert_redirect(&res, "/acme/settings/members");
    let flash = flash_of(&a.follow(res).await.1);
    assert!(flash.contains("Added 1 member to acme: dave.") && flash.contains("1 line changed since the preview"), "{flash}");
    assert_eq!(membership(&app, "acme", "carol"), roles("admin", Some("manager")), "left as she is");
    assert_eq!(membership(&app, "acme", "dave"), roles("member", Some("labeler")));
    // Nobody left to add: nothing happens, and it says so.
    let before = snapshot(&app);
    let res = a.post(APPLY, &paste("carol\ndave")).await;
    assert!(flash_of(&a.follow(res).await.1).contains("Nobody was added."));
    assert_eq!(snapshot(&app), before);
});

db_test!(async fn only_administrators_add_in_bulk_and_not_in_invite_only_organizations(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    app.user("carol").await;
    app.user("eve").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    let (b, e) = (login(&app, "bob").await, login(&app, "eve").await);
    let before = snapshot(&app);
    for path in [PREVIEW, APPLY] {
        assert_eq!(b.post(path, &paste("carol")).await.status(), StatusCode::FORBIDDEN, "a member: {path}");
        assert_eq!(e.post(path, &paste("carol")).await.status(), StatusCode::NOT_FOUND, "an outsider: {path}");
        assert_eq!(a.post(&path.replace("acme", "nowhere"), &paste("carol")).await.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(snapshot(&app), before);
    // Without the CSRF token: refused, also for an upload.
    let visitor = app.browser();
    assert_eq!(visitor.post_raw(PREVIEW, "lines=carol&role=member&default_role=none").await.status(), StatusCode::FORBIDDEN);
    // Bad roles of the form itself: 400.
    assert_eq!(a.post(PREVIEW, &[("lines", "carol"), ("role", "boss"), ("default_role", "none")]).await.status(), StatusCode::BAD_REQUEST);

    // Invite-only: refused like the single "Add member", and the card is gone.
    let res = a.post("/acme/settings", &[("action", "policy"), ("member_policy", "invite")]).await;
    assert_redirect(&res, "/acme/settings");
    assert!(!a.page("/acme/settings/members").await.1.contains("Add many members"));
    let before = snapshot(&app);
    for path in [PREVIEW, APPLY] {
        let res = a.post(path, &paste("carol")).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("adds members only by invitation"));
    }
    assert_eq!(snapshot(&app), before);
    assert_eq!(membership(&app, "acme", "carol"), None);
});

db_test!(async fn five_hundred_people_from_a_csv_upload_in_a_fixed_number_of_statements(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    bulk_users(&app, "u", 500);
    let mut csv = String::from("username,role,default_role\r\n");
    for i in 0..500 {
        let default = if i % 2 == 0 { "labeler" } else { "none" };
        csv.push_str(&format!("u{i:03},member,{default}\r\n"));
    }
    let res = upload(&a, PREVIEW, &[("lines", ""), ("role", "member"), ("default_role", "viewer")], csv.as_bytes()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert_eq!(shown_count(&body, "add"), 500, "{}", &body[..body.len().min(3000)]);
    assert!(body.contains("Add 500 members"));
    assert_eq!(count(&body, r#"data-outcome="add""#), 500);
    // The apply form carries the 500 lines back (within the form limit).
    let at = body.find(r#"name="lines" value=""#).unwrap() + r#"name="lines" value=""#.len();
    let lines = body[at..at + body[at..].find('"').unwrap()].to_string();
    assert_eq!(lines.lines().count(), 500);
    let statements = app.queries();
    let res = a.post(APPLY, &[("lines", &lines), ("role", "member"), ("default_role", "viewer")]).await;
    let used = app.queries() - statements;
    eprintln!("import: {used} statements for 500 members");
    assert_redirect(&res, "/acme/settings/members");
    assert_eq!(members_of(&app, "acme"), 501);
    assert_eq!(membership(&app, "acme", "u000"), roles("member", Some("labeler")));
    assert_eq!(membership(&app, "acme", "u499"), roles("member", None));
    let added = audit(&app, id_of(&app, "acme")).into_iter().filter(|e| e.1 == "member.added").count();
    assert_eq!(added, 500);
    // Not a statement per member: the session, the lock, the role, the accounts, the
    // memberships, the inserts (in chunks) and the audit rows.
    assert!(used < 30, "{used} statements for 500 members");
    // The member count the pages show follows.
    assert!(a.page("/acme/settings/members").await.1.contains("501 members"));
});

db_test!(async fn an_import_takes_at_most_a_thousand_lines(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    let names = |n: usize| (0..n).map(|i| format!("x{i:04}")).collect::<Vec<_>>().join("\n");
    let thousand = format!("username\n{}", names(1000));
    let res = a.post(PREVIEW, &paste(&thousand)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(shown_count(&res.text().await.unwrap(), "unknown"), 1000);
    let before = snapshot(&app);
    for path in [PREVIEW, APPLY] {
        let res = a.post(path, &paste(&names(1001))).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("An import takes at most 1000 lines"));
    }
    // Nothing at all to import.
    let res = a.post(PREVIEW, &paste(" \n\nusername,role\n")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Paste at least one username"));
    // A file that is not text.
    let res = upload(&a, PREVIEW, &[("role", "member"), ("default_role", "none")], b"bob\xff\xfe").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("The file is not UTF-8 text"));
    assert_eq!(snapshot(&app), before);
});

// ---- Default dataset roles on existing datasets ----

/// acme with three datasets made before bob, carol and dave joined (so none of them is a
/// collaborator yet), then entries that the change must add, raise or leave.
async fn acme_with_entries(app: &TestApp) -> (Browser, [i32; 3]) {
    let a = app.user("alice").await;
    for u in ["bob", "carol", "dave"] {
        app.user(u).await;
    }
    create_org(&a, "acme").await;
    let d = [
        make_dataset(app, "acme", "alice", "d1"),
        make_dataset(app, "acme", "alice", "d2"),
        make_dataset(app, "acme", "alice", "d3"),
    ];
    add_member(&a, "acme", "bob", "member", "reviewer").await;
    add_member(&a, "acme", "carol", "member", "none").await;
    add_member(&a, "acme", "dave", "member", "labeler").await;
    // bob: no entry on d1 (added), viewer on d2 (raised), manager on d3 (never lowered).
    add_collaborator(app, d[1], "bob", "viewer");
    add_collaborator(app, d[2], "bob", "manager");
    // carol (default None): a viewer on d1 stays so.
    add_collaborator(app, d[0], "carol", "viewer");
    // dave: labeler on d1 already (equal: untouched), none on d2 and d3 (added).
    add_collaborator(app, d[0], "dave", "labeler");
    (a, d)
}

db_test!(async fn default_roles_preview_lists_exactly_the_entries_added_or_raised(app) {
    let (a, _) = acme_with_entries(&app).await;
    // The row's link, for members with a default role.
    let body = a.page("/acme/settings/members").await.1;
    assert!(body.contains(r#"href="/acme/settings/apply-defaults?m=bob""#));
    assert!(!body.contains(r#"href="/acme/settings/apply-defaults?m=carol""#), "None changes nothing");
    assert!(body.contains(r#"<option value="apply-defaults">Apply default dataset roles to existing datasets</option>"#));
    // The bulk choice leads to the same preview.
    let res = a.get("/acme/settings/bulk-members?change=apply-defaults&m=bob&m=carol&m=dave").await;
    assert_redirect(&res, "/acme/settings/apply-defaults?m=bob&m=carol&m=dave");

    let before = snapshot(&app);
    let (status, body) = a.page("/acme/settings/apply-defaults?m=bob&m=carol&m=dave&m=ghost").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snapshot(&app), before, "a preview changes nothing");
    assert_eq!(shown_count(&body, "added"), 3, "{body}");
    assert_eq!(shown_count(&body, "raised"), 1);
    let mut grants: Vec<&str> = body
        .split(r#"data-grant=""#)
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    grants.sort();
    assert_eq!(grants, ["bob/d1", "bob/d2", "dave/d2", "dave/d3"]);
    let bob_d2 = &body[body.find(r#"data-grant="bob/d2""#).unwrap()..];
    assert!(bob_d2[..bob_d2.find("</tr>").unwrap()].contains("Viewer") && bob_d2.contains("<strong>Reviewer</strong>"));
    assert!(body.contains("nothing changes: carol"), "{body}");
    assert!(body.contains("Not members of acme: ghost"));
    assert!(body.contains("Apply to 4 entries"));
});

db_test!(async fn default_roles_apply_adds_and_raises_never_lowers_with_an_event_each(app) {
    let (a, d) = acme_with_entries(&app).await;
    let org = id_of(&app, "acme");
    let events_before = audit(&app, org).len();
    let res = a.post("/acme/settings/apply-defaults", &[("m", "bob"), ("m", "carol"), ("m", "dave")]).await;
    assert_redirect(&res, "/acme/settings/members");
    let flash = flash_of(&a.follow(res).await.1);
    assert!(flash.contains("3 collaborator entries added, 1 raised"), "{flash}");
    assert_eq!(collaborator_role(&app, d[0], "bob").as_deref(), Some("reviewer"));
    assert_eq!(collaborator_role(&app, d[1], "bob").as_deref(), Some("reviewer"));
    assert_eq!(collaborator_role(&app, d[2], "bob").as_deref(), Some("manager"), "never lowered");
    assert_eq!(collaborator_role(&app, d[0], "carol").as_deref(), Some("viewer"));
    assert_eq!(collaborator_role(&app, d[1], "carol"), None, "None adds nothing");
    assert_eq!(collaborator_role(&app, d[0], "dave").as_deref(), Some("labeler"));
    assert_eq!(collaborator_role(&app, d[1], "dave").as_deref(), Some("labeler"));
    assert_eq!(collaborator_role(&app, d[2], "dave").as_deref(), Some("labeler"));
    // One event per change, as the collaborators page writes them.
    let events = audit(&app, org);
    let new: Vec<_> = events[..events.len() - events_before].to_vec();
    assert_eq!(new.len(), 4, "{new:?}");
    let has = |action: &str, who: &str, details: &str| {
        new.iter().any(|e| e.1 == action && e.2.as_deref() == Some(who) && e.3 == details)
    };
    assert!(has("collaborator.added", "bob", "on d1: as Reviewer"), "{new:?}");
    assert!(has("collaborator.role_changed", "bob", "on d2: from Viewer to Reviewer"));
    assert!(has("collaborator.added", "dave", "on d2: as Labeler"));
    assert!(has("collaborator.added", "dave", "on d3: as Labeler"));
    // Again: nothing left to do.
    let before = snapshot(&app);
    let body = a.page("/acme/settings/apply-defaults?m=bob&m=carol&m=dave").await.1;
    assert!(body.contains("Nothing to change") && !body.contains("Apply to"));
    let res = a.post("/acme/settings/apply-defaults", &[("m", "bob"), ("m", "dave")]).await;
    assert!(flash_of(&a.follow(res).await.1).contains("Nothing changed"));
    assert_eq!(snapshot(&app), before);
});

db_test!(async fn default_roles_apply_is_for_administrators_and_judged_again(app) {
    let (a, d) = acme_with_entries(&app).await;
    app.user("eve").await;
    let (b, e) = (login(&app, "bob").await, login(&app, "eve").await);
    let before = snapshot(&app);
    assert_eq!(b.page("/acme/settings/apply-defaults?m=bob").await.0, StatusCode::FORBIDDEN);
    assert_eq!(e.page("/acme/settings/apply-defaults?m=bob").await.0, StatusCode::NOT_FOUND);
    assert_eq!(b.post("/acme/settings/apply-defaults", &[("m", "bob")]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(e.post("/acme/settings/apply-defaults", &[("m", "bob")]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(snapshot(&app), before);
    // Nobody selected: said, nothing done.
    let res = a.post("/acme/settings/apply-defaults", &[]).await;
    assert_redirect(&res, "/acme/settings/members");
    assert!(flash_of(&a.follow(res).await.1).contains("Select at least one member."));
    // After the preview, bob was made manager of d1 elsewhere: apply leaves it.
    add_collaborator(&app, d[0], "bob", "manager");
    let res = a.post("/acme/settings/apply-defaults", &[("m", "bob")]).await;
    assert!(flash_of(&a.follow(res).await.1).contains("0 collaborator entries added, 1 raised"));
    assert_eq!(collaborator_role(&app, d[0], "bob").as_deref(), Some("manager"));
    assert_eq!(collaborator_role(&app, d[1], "bob").as_deref(), Some("reviewer"));
});

db_test!(async fn default_roles_apply_takes_a_fixed_number_of_statements(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    crate::orgs::bulk_datasets(&app, "acme", 20);
    crate::orgs::bulk_members(&app, "acme", "m", 30, "member");
    let names: Vec<String> = (0..30).map(|i| format!("m{i:03}")).collect();
    let form: Vec<(&str, &str)> = names.iter().map(|n| ("m", n.as_str())).collect();
    let query: String = names.iter().map(|n| format!("m={n}")).collect::<Vec<_>>().join("&");
    let body = a.page(&format!("/acme/settings/apply-defaults?{query}")).await.1;
    assert_eq!(shown_count(&body, "added"), 600);
    assert_eq!(count(&body, "data-grant="), 600);
    let statements = app.queries();
    let res = a.post("/acme/settings/apply-defaults", &form).await;
    let used = app.queries() - statements;
    eprintln!("apply-defaults: {used} statements for 600 entries");
    assert_redirect(&res, "/acme/settings/members");
    let entries = count_rows(&app, &format!(
        "SELECT COUNT(*) AS n FROM collaborators c JOIN datasets d ON d.id = c.dataset_id WHERE d.owner_id = {} AND c.role = 'labeler'",
        id_of(&app, "acme")
    ));
    assert_eq!(entries, 600);
    let events = audit(&app, id_of(&app, "acme")).into_iter().filter(|e| e.1 == "collaborator.added").count();
    assert_eq!(events, 600);
    assert!(used < 30, "{used} statements for 600 entries");
});

db_test!(async fn default_roles_judge_at_most_twenty_thousand_entries_at_once(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    crate::orgs::bulk_members(&app, "acme", "m", 100, "member");
    crate::orgs::bulk_datasets(&app, "acme", 201);
    let names: Vec<String> = (0..100).map(|i| format!("m{i:03}")).collect();
    let query: String = names.iter().map(|n| format!("m={n}")).collect::<Vec<_>>().join("&");
    // 100 members on 201 datasets: 20,100 entries, refused before any is built.
    let (status, body) = a.page(&format!("/acme/settings/apply-defaults?{query}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("select fewer members"), "{body}");
    let before = snapshot(&app);
    let mut form: Vec<(&str, &str)> = names.iter().map(|n| ("m", n.as_str())).collect();
    form.push(("confirm", "1"));
    let res = a.post("/acme/settings/apply-defaults", &form).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(snapshot(&app), before, "nothing applied");
    // Fewer members fit.
    let (status, _) = a.page(&format!("/acme/settings/apply-defaults?{}", names[..99].iter().map(|n| format!("m={n}")).collect::<Vec<_>>().join("&"))).await;
    assert_eq!(status, StatusCode::OK);
});
