//! No dead ends (issue 16): visitors and non-members on an organization's page, signing in
//! and coming back, the last administrator's controls and their ways out, demoting yourself,
//! forms' error summaries and the feedback after creating or adding.

use crate::db_test;
use crate::helpers::*;
use reqwest::StatusCode;

async fn new_org(b: &Browser, org: &str) {
    let res = b
        .post(
            "/organizations",
            &[("username", org), ("display_name", "Acme Labs")],
        )
        .await;
    assert_redirect(&res, &format!("/{org}"));
}

async fn add_member(b: &Browser, org: &str, user: &str, role: &str, default_role: &str) {
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
    assert!(
        location(&res).starts_with(&format!("/{org}/settings/members")),
        "adding {user}: {}",
        location(&res)
    );
}

async fn new_dataset(b: &Browser, owner: &str, name: &str, visibility: &str) -> String {
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
    b.follow(res).await.1
}

fn link(path: &str) -> String {
    format!("href=\"{path}\"")
}

// ---- Visitors (SPEC 3) ----

db_test!(async fn visitors_and_non_members_see_the_public_profile_members_everything(app) {
    let boss = app.user("boss").await;
    let jane = app.user("jane").await;
    let stranger = app.user("stranger").await;
    new_org(&boss, "acme").await;
    let res = boss
        .post(
            "/acme/settings",
            &[
                ("action", "update"),
                ("display_name", "Acme Labs"),
                ("description", "We label street scenes"),
                ("contact_email", ""),
            ],
        )
        .await;
    assert_redirect(&res, "/acme/settings");
    add_member(&boss, "acme", "jane", "member", "none").await;
    new_dataset(&boss, "acme", "open", "public").await;
    new_dataset(&boss, "acme", "secret", "private").await;

    let visitor = app.browser();
    for (who, b) in [("visitor", &visitor), ("stranger", &stranger)] {
        let (status, body) = b.page("/acme").await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert!(body.contains("Acme Labs") && body.contains("We label street scenes"), "{who}: name and description");
        assert!(body.contains(&link("/acme/open")), "{who}: the public dataset");
        assert!(!body.contains(&link("/acme/secret")), "{who}: never a private dataset");
        assert!(!body.contains(&link("/acme/members")), "{who}: no Members tab");
        assert!(!body.contains(&link("/jane")) && !body.contains(&link("/boss")), "{who}: never the members");
        assert!(body.contains("data-public-profile"), "{who}: says it is the public profile");
        // The owner link of the public dataset leads here, not to a 404.
        let ds = b.page("/acme/open").await;
        assert_eq!(ds.0, StatusCode::OK, "{who}");
        assert!(ds.1.contains(&link("/acme")), "{who}: the dataset links to its owner");
    }
    let body = visitor.page("/acme").await.1;
    assert!(body.contains(&link("/login?next=%2Facme")), "a visitor is offered to log in and come back");
    assert!(!stranger.page("/acme").await.1.contains(&link("/login?next=%2Facme")), "a signed-in stranger is not");

    // Members see everything.
    let body = jane.page("/acme").await.1;
    assert!(body.contains(&link("/acme/members")) && !body.contains("data-public-profile"));
    assert!(boss.page("/acme").await.1.contains(&link("/acme/secret")));

    // A missing name is still a 404, for visitors too.
    assert_eq!(visitor.page("/no-such-org").await.0, StatusCode::NOT_FOUND);
});

db_test!(async fn signed_out_people_log_in_and_come_back_and_strangers_get_404_after(app) {
    let boss = app.user("boss").await;
    app.user("jane").await;
    app.user("stranger").await;
    new_org(&boss, "acme").await;
    add_member(&boss, "acme", "jane", "member", "labeler").await;
    new_dataset(&boss, "acme", "secret", "private").await;

    // Every page a member could see after signing in sends a signed-out visitor to log in,
    // with the way back; a missing dataset answers exactly the same.
    let visitor = app.browser();
    for path in [
        "/acme/members",
        "/acme/secret",
        "/acme/no-such-dataset",
        "/acme/settings",
        "/acme/settings/members",
        "/settings/organizations",
    ] {
        let res = visitor.get(path).await;
        let next = path.replace('/', "%2F").replace('-', "%2D");
        assert_redirect(&res, &format!("/login?next={next}"));
    }

    // Jane logs in from there and lands on the page she asked for.
    let jane = app.browser();
    let res = jane.get("/acme/secret").await;
    assert_redirect(&res, "/login?next=%2Facme%2Fsecret");
    let (status, form) = jane.page("/login?next=%2Facme%2Fsecret").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("next=%2Facme%2Fsecret"), "the login form keeps the way back");
    assert!(form.contains("data-resume"), "and says so");
    assert!(!app.browser().page("/login").await.1.contains("data-resume"));
    let res = jane
        .post("/login?next=%2Facme%2Fsecret", &[("login", "jane"), ("password", PASSWORD)])
        .await;
    assert_redirect(&res, "/acme/secret");
    assert_eq!(jane.page("/acme/secret").await.0, StatusCode::OK);
    let res = jane.get("/acme/members").await;
    assert_eq!(res.status(), StatusCode::OK);

    // A stranger who logs in the same way gets the 404: nothing was revealed before.
    let stranger = app.browser();
    let res = stranger
        .post("/login?next=%2Facme%2Fsecret", &[("login", "stranger"), ("password", PASSWORD)])
        .await;
    assert_redirect(&res, "/acme/secret");
    let (status, hidden) = stranger.page("/acme/secret").await;
    let missing = stranger.page("/acme/no-such-dataset").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(without_tokens(&hidden), without_tokens(&missing.1), "a private dataset looks exactly like a missing one");
    assert_eq!(stranger.page("/acme/members").await.0, StatusCode::NOT_FOUND);
});

// ---- The last administrator's controls, and their ways out (SPEC 4.1) ----

/// The `<tr id="member-row-NAME">` row of the Members subtab, and the note after it.
fn member_row<'a>(body: &'a str, user: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"member-row-{user}\""))
        .unwrap_or_else(|| panic!("no row for {user}"));
    let rest = &body[start..];
    let end = rest[1..]
        .find("id=\"member-row-")
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

db_test!(async fn the_last_administrator_sees_disabled_controls_with_the_ways_out(app) {
    let boss = app.user("boss").await;
    app.user("jane").await;
    new_org(&boss, "acme").await;
    add_member(&boss, "acme", "jane", "member", "none").await;

    let body = boss.page("/acme/settings/members").await.1;
    let row = member_row(&body, "boss");
    assert!(row.contains("data-last-admin"), "the reason is said: {row}");
    assert!(row.contains("disabled aria-describedby=\"last-admin-boss\""), "Remove and the role shown disabled");
    assert!(!row.contains("/acme/settings/members/boss/remove"), "no Remove link for the last administrator");
    assert!(row.contains("/acme/settings#delete-organization"), "the way out: delete the organization");
    assert!(row.contains("name=\"role\" value=\"admin\""), "Save still sends the role it keeps");
    let row = member_row(&body, "jane");
    assert!(!row.contains("data-last-admin") && row.contains("/acme/settings/members/jane/remove"));

    // Saving the last administrator's default role still works (the role is kept).
    let res = boss
        .post("/acme/settings/members/boss", &[("role", "admin"), ("default_role", "viewer")])
        .await;
    assert_redirect(&res, "/acme/settings/members");

    // Leave: disabled on the Organizations tab, with both ways out; the confirmation says so.
    let body = boss.page("/settings/organizations").await.1;
    assert!(body.contains("disabled aria-describedby=\"last-admin-acme\""));
    assert!(!body.contains("href=\"/settings/organizations/acme/leave\""));
    assert!(body.contains("href=\"/acme/settings/members\"") && body.contains("href=\"/acme/settings#delete-organization\""));
    for path in ["/settings/organizations/acme/leave", "/acme/settings/members/boss/remove"] {
        let (status, body) = boss.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains("data-ways-out"), "{path}: the ways out");
        assert!(body.contains("href=\"/acme/settings#delete-organization\""), "{path}");
        assert!(!body.contains("button-danger"), "{path}: nothing to confirm");
    }
    // The server still refuses, whatever the page showed.
    let res = boss.post("/acme/settings/members/boss/remove", &[]).await;
    assert_redirect(&res, "/acme/settings/members");
    assert!(boss.follow(res).await.1.contains("must keep at least one administrator"));

    // With a second administrator, the controls come back for both.
    let res = boss
        .post("/acme/settings/members/jane", &[("role", "admin"), ("default_role", "none")])
        .await;
    assert_redirect(&res, "/acme/settings/members");
    assert!(member_row(&boss.follow(res).await.1, "jane").contains("data-highlight"), "the changed row is marked");
    let body = boss.page("/acme/settings/members").await.1;
    assert!(!body.contains("data-last-admin"));
    assert!(body.contains("/acme/settings/members/boss/remove"));
    let body = boss.page("/settings/organizations").await.1;
    assert!(body.contains("href=\"/settings/organizations/acme/leave\""));
});

db_test!(async fn demoting_yourself_asks_first_then_lands_on_the_organization_page(app) {
    let boss = app.user("boss").await;
    app.user("jane").await;
    new_org(&boss, "acme").await;
    add_member(&boss, "acme", "jane", "admin", "none").await;

    // The first post asks, and changes nothing.
    let res = boss
        .post("/acme/settings/members/boss", &[("role", "member"), ("default_role", "labeler")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(body.contains("Stop being an administrator of acme?"), "asks first");
    assert!(body.contains("name=\"confirm\" value=\"yes\"") && body.contains("name=\"default_role\" value=\"labeler\""));
    assert_eq!(boss.page("/acme/settings").await.0, StatusCode::OK, "still an administrator");

    // Confirmed: a Member now, on the organization page, with a message.
    let res = boss
        .post(
            "/acme/settings/members/boss",
            &[("role", "member"), ("default_role", "labeler"), ("confirm", "yes")],
        )
        .await;
    assert_redirect(&res, "/acme");
    let (status, body) = boss.follow(res).await;
    assert_eq!(status, StatusCode::OK);
    assert!(flash_of(&body).contains("You are now a Member of acme, no longer an administrator."), "{}", flash_of(&body));
    assert_eq!(boss.page("/acme/settings").await.0, StatusCode::FORBIDDEN);

    // Another administrator changing someone else is not asked.
    let jane = app.browser();
    assert_redirect(&jane.login("jane", PASSWORD).await, "/");
    jane.token().await;
    let res = jane
        .post("/acme/settings/members/boss", &[("role", "admin"), ("default_role", "none")])
        .await;
    assert_redirect(&res, "/acme/settings/members");
});

// ---- Feedback ----

db_test!(async fn feedback_says_who_joined_and_with_which_roles_and_marks_the_row(app) {
    let boss = app.user("boss").await;
    for u in ["ann", "ben", "cid", "dee", "eve"] {
        app.user(u).await;
    }
    new_org(&boss, "acme").await;
    let res = boss
        .post(
            "/acme/settings/members",
            &[("username", "ann"), ("role", "member"), ("default_role", "labeler")],
        )
        .await;
    assert_redirect(&res, "/acme/settings/members");
    let (_, body) = boss.follow(res).await;
    assert_eq!(flash_of(&body), "ann is now a member of acme. Organization role Member, default dataset role Labeler.");
    assert!(member_row(&body, "ann").contains("data-highlight"), "the new row is marked");
    assert!(!member_row(&body, "boss").contains("data-highlight"), "only that row");
    assert!(!member_row(&boss.page("/acme/settings/members").await.1, "ann").contains("data-highlight"), "once");
    add_member(&boss, "acme", "ben", "member", "labeler").await;
    add_member(&boss, "acme", "cid", "member", "labeler").await;
    add_member(&boss, "acme", "dee", "member", "reviewer").await;
    add_member(&boss, "acme", "eve", "member", "none").await;

    let body = new_dataset(&boss, "acme", "scenes", "private").await;
    assert_eq!(
        flash_of(&body),
        "Your dataset acme/scenes was created. 4 members of acme joined it by their default dataset role: 3 as Labeler, 1 as Reviewer."
    );
    let body = new_dataset(&boss, "boss", "mine", "private").await;
    assert_eq!(flash_of(&body), "Your dataset boss/mine was created.");
});

// ---- Forms after a 422 ----

db_test!(async fn forms_summarize_errors_at_the_top_and_focus_the_first_invalid_field(app) {
    let boss = app.user("boss").await;
    new_org(&boss, "acme").await;
    // The delete confirmation, whose field sits at the bottom of the page.
    let res = boss
        .post("/acme/settings", &[("action", "delete"), ("confirm", "wrong")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    let summary = body.find("data-error-summary").expect("an error summary");
    assert!(summary < body.find("id=\"delete-organization\"").unwrap(), "the summary comes first");
    assert!(body.contains("href=\"#f-confirm\""), "it links to the field");
    assert!(body.contains("aria-describedby=\"f-confirm-error\" autofocus"), "the field is focused");
    assert_eq!(body.matches("autofocus").count(), 1);

    // The popup's form: errors come back as the form alone (no page around it).
    let res = boss
        .post(
            "/datasets",
            &[("owner", "acme"), ("name", "-bad"), ("task_type", "bboxes"), ("visibility", "private"), ("fragment", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(!body.contains("<html") && body.contains("data-dataset-form"), "a fragment");
    assert!(body.contains("data-error-summary") && body.contains("Start with a letter or a digit."));
    assert!(body.contains("aria-describedby=\"f-name-error f-name-hint\" autofocus"));
    // Success from the popup: 204 with the address, the flash kept for that page.
    let res = boss
        .post(
            "/datasets",
            &[("owner", "acme"), ("name", "good"), ("task_type", "bboxes"), ("visibility", "private"), ("fragment", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["x-location"], "/acme/good");
    assert!(flash_of(&boss.page("/acme/good").await.1).contains("acme/good was created"));
});
