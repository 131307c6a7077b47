//! Managing thousands of members (issue 15): search by any part of a name (and, for
//! administrators, of an email), the role filter, numbered pages, saving a row without losing
//! one's place, and compression of the pages.

use crate::db_test;
use crate::helpers::*;
use crate::orgs::{
    add_member, bulk_members, count, create_org, id_of, login, member_form, membership, roles,
    set_roles,
};
use diesel::connection::SimpleConnection;
use reqwest::StatusCode;

/// The rows of a member list (both the tab and the subtab link each member's page).
fn rows(body: &str) -> usize {
    count(body, r#"class="user-cell""#)
}

fn set_display_name(app: &TestApp, user: &str, name: &str) {
    let id = id_of(app, user);
    app.with_db(|c| {
        c.batch_execute(&format!(
            "UPDATE accounts SET display_name = '{}' WHERE id = {id}",
            name.replace('\'', "''")
        ))
        .unwrap()
    });
}

db_test!(async fn members_are_found_by_any_part_of_their_name_and_administrators_by_email(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    let b = login(&app, "bob").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    bulk_members(&app, "acme", "m", 30, "member");
    set_display_name(&app, "m005", "Anna Smith-Jones");
    set_display_name(&app, "m012", "100%_done");

    for list in ["/acme/members", "/acme/settings/members"] {
        // A part of the username, in any case; two characters too (no trigram on PostgreSQL).
        assert_eq!(rows(&a.page(&format!("{list}?q=029")).await.1), 1, "{list}");
        assert_eq!(rows(&a.page(&format!("{list}?q=M01")).await.1), 10, "{list}");
        assert_eq!(rows(&a.page(&format!("{list}?q=29")).await.1), 1, "{list}");
        let body = a.page(&format!("{list}?q=ob")).await.1;
        assert_eq!(rows(&body), 1, "{list}: bob");
        assert!(body.contains(r#"href="/bob""#));
        // A part of the display name, in any case.
        let body = a.page(&format!("{list}?q=SMITH-j")).await.1;
        assert_eq!(rows(&body), 1, "{list}");
        assert!(body.contains(r#"href="/m005""#) && body.contains("1 member matching “SMITH-j”"));
        // `%`, `_` and `\` are letters, not wildcards.
        for q in ["%25", "_", "%25_", "0%25_d"] {
            let body = a.page(&format!("{list}?q={q}")).await.1;
            assert_eq!(rows(&body), 1, "{list}?q={q}");
            assert!(body.contains(r#"href="/m012""#), "{list}?q={q}");
        }
        assert_eq!(rows(&a.page(&format!("{list}?q=%5C")).await.1), 0, "{list}");
        let body = a.page(&format!("{list}?q=nobody-here")).await.1;
        assert_eq!(rows(&body), 0);
        assert!(body.contains("0 members matching “nobody-here”") && body.contains("No members match."));
        // Administrators find people by a part of their email.
        assert_eq!(rows(&a.page(&format!("{list}?q=%40BULK.exam")).await.1), 30, "{list}");
        assert_eq!(rows(&a.page(&format!("{list}?q=bob%40example")).await.1), 1, "{list}");
    }
    // Members do not search emails (and never see them).
    let body = b.page("/acme/members?q=%40bulk.example").await.1;
    assert_eq!(rows(&body), 0);
    assert!(body.contains("0 members matching “@bulk.example”"));
    assert_eq!(rows(&b.page("/acme/members?q=smith").await.1), 1);
    assert!(!b.page("/acme/members").await.1.contains("bulk.example"));
    // A long or odd search is cut and cleaned, never an error.
    let long = "x".repeat(500);
    assert_eq!(a.page(&format!("/acme/members?q={long}")).await.0, StatusCode::OK);
    assert_eq!(a.page("/acme/members?q=%0A%09m029%0D").await.1.matches(r#"href="/m029""#).count(), 1);
});

db_test!(async fn the_role_filter_finds_administrators_members_and_default_roles(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    let b = login(&app, "bob").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    bulk_members(&app, "acme", "m", 120, "member");
    set_roles(&a, "acme", "m007", "admin", "labeler").await;
    set_roles(&a, "acme", "m010", "member", "reviewer").await;
    set_roles(&a, "acme", "m011", "member", "none").await;

    let body = a.page("/acme/settings/members?role=admin").await.1;
    assert_eq!(rows(&body), 2);
    assert!(body.contains("2 administrators") && body.contains(r#"href="/alice""#) && body.contains(r#"href="/m007""#));
    assert!(body.contains(r#"<option value="admin" selected>Administrators</option>"#), "the filter is kept");
    let body = a.page("/acme/settings/members?role=member").await.1;
    assert!(body.contains("120 members"), "bob and 119 of the bulk");
    assert!(has_pager_link(&body, "/acme/settings/members?page=2&role=member"), "the pager keeps the filter");
    assert_eq!(rows(&a.page("/acme/settings/members?role=default-reviewer").await.1), 1);
    let body = a.page("/acme/settings/members?role=default-none").await.1;
    assert_eq!(rows(&body), 2, "the creator (None) and m011");
    assert!(body.contains("2 members with default dataset role None (do not add)"));
    assert!(a.page("/acme/settings/members?role=default-labeler").await.1.contains("119 members"));
    // With a search.
    assert_eq!(rows(&a.page("/acme/settings/members?q=m00&role=admin").await.1), 1);
    assert_eq!(rows(&a.page("/acme/settings/members?q=m00&role=member").await.1), 9);
    // Unknown filters are refused.
    for bad in ["bogus", "default-owner", "ADMIN%00"] {
        assert_eq!(a.page(&format!("/acme/settings/members?role={bad}")).await.0.as_u16() / 100, 4, "{bad}");
    }
    // Members filter by organization role; default dataset roles are not theirs to see.
    assert_eq!(rows(&b.page("/acme/members?role=admin").await.1), 2);
    let body = b.page("/acme/members").await.1;
    assert!(body.contains(r#"value="admin""#) && !body.contains("default-reviewer"));
    assert_eq!(b.page("/acme/members?role=default-reviewer").await.0, StatusCode::FORBIDDEN);
});

/// Whether `body` links to `href` (its `&` escaped as askama does).
/// Whether the page links to `href`, alone or followed by a cursor (`&from=...`).
fn has_pager_link(body: &str, href: &str) -> bool {
    let body = unescape_amp(body);
    body.contains(&format!(r#"href="{href}""#)) || body.contains(&format!(r#"href="{href}&from="#))
}

fn unescape_amp(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&")
}

db_test!(async fn pages_are_numbered_with_first_last_and_a_total_with_separators(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    bulk_members(&app, "acme", "m", 1199, "member");
    for list in ["/acme/members", "/acme/settings/members"] {
        let body = a.page(&format!("{list}?page=10")).await.1;
        assert!(body.contains("1,200 members"), "{list}");
        assert_eq!(rows(&body), 50);
        assert!(body.contains("Page 10 of 24"));
        for n in [1, 8, 9, 11, 12, 24] {
            assert!(has_pager_link(&body, &format!("{list}?page={n}")), "{list}: a link to page {n}");
        }
        for n in [2, 7, 13, 23] {
            assert!(!has_pager_link(&body, &format!("{list}?page={n}")), "{list}: no link to page {n}");
        }
        assert!(unescape_amp(&body).contains(&format!(r#"<a class="pager-number" aria-current="page" href="{list}?page=10">10</a>"#)));
        assert!(body.contains("« First") && body.contains("Last »"));
        // Past the end: said, with a link to the last page (the search kept).
        let body = a.page(&format!("{list}?page=99&q=m1")).await.1;
        assert_eq!(rows(&body), 0);
        // m100 to m199 and m1000 to m1198: 299 members, 6 pages.
        assert!(body.contains("Page 99 is past the end: there are 6 pages."), "{list}");
        assert!(has_pager_link(&body, &format!("{list}?page=6&q=m1")), "{list}");
        assert!(!body.contains("No members match."));
    }
});

db_test!(async fn filtered_pages_take_a_fixed_number_of_statements_whatever_the_size(app) {
    let a = app.user("alice").await;
    create_org(&a, "small").await;
    bulk_members(&app, "small", "s", 3, "member");
    create_org(&a, "big").await;
    bulk_members(&app, "big", "p", 3000, "member");
    async fn queries(app: &TestApp, b: &Browser, path: &str) -> u64 {
        assert_eq!(b.page(path).await.0, StatusCode::OK, "{path}");
        let before = app.queries();
        assert_eq!(b.page(path).await.0, StatusCode::OK, "{path}");
        app.queries() - before
    }
    for suffix in [
        "/members?q=1", "/members?q=001", "/members?q=ali&role=admin", "/members?role=member&page=3",
        "/settings/members?q=00", "/settings/members?q=example", "/settings/members?role=default-none",
        "/settings/members?q=x&role=default-labeler&page=2",
    ] {
        let small = queries(&app, &a, &format!("/small{suffix}")).await;
        let big = queries(&app, &a, &format!("/big{suffix}")).await;
        // The found members carry their count; a page past the end (the small organization's
        // pages 2 and 3) has no row to carry it, and counts once more.
        let past_end = u64::from(suffix.contains("page="));
        assert_eq!(small, big + past_end, "{suffix}: {small} statements for 4 members, {big} for 3,001");
        assert!(big <= 12, "{suffix}: {big} statements");
    }
});

/// POSTs a row's Save as the page's script does, asking for JSON.
async fn save_row_js(
    b: &Browser,
    org: &str,
    user: &str,
    role: &str,
    default_role: &str,
) -> (StatusCode, serde_json::Value) {
    let token = b.token().await;
    let body = serde_urlencoded::to_string([
        ("role", role),
        ("default_role", default_role),
        ("csrf_token", token.as_str()),
    ])
    .unwrap();
    let res = b
        .client
        .post(format!("{}/{org}/settings/members/{user}", b.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}")),
    )
}

db_test!(async fn saving_a_row_keeps_the_page_the_search_and_the_filter(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    bulk_members(&app, "acme", "m", 150, "member");

    // The row's form carries where it was; its buttons are named for the row.
    let body = a.page("/acme/settings/members?page=2&q=m&role=member").await.1;
    let row = member_form(&body, "m060");
    assert!(row.contains(r#"name="back_page" value="2""#) && row.contains(r#"name="back_q" value="m""#) && row.contains(r#"name="back_role" value="member""#));
    assert!(row.contains(r#"Save<span class="visually-hidden"> m060</span>"#));
    assert!(row.contains(r#"Remove<span class="visually-hidden"> m060</span>"#));

    // Without JavaScript: back to the same page, search and filter, the change said.
    let res = a
        .post(
            "/acme/settings/members/m060",
            &[("role", "member"), ("default_role", "reviewer"), ("back_page", "2"), ("back_q", "m"), ("back_role", "member")],
        )
        .await;
    assert_redirect(&res, "/acme/settings/members?page=2&q=m&role=member");
    let body = a.follow(res).await.1;
    assert_eq!(flash_of(&body).trim(), "m060: Labeler → Reviewer");
    assert!(member_form(&body, "m060").contains(r#"<option value="reviewer" selected>"#));
    assert_eq!(membership(&app, "acme", "m060"), roles("member", Some("reviewer")));
    // Both roles, and nothing.
    let res = a.post("/acme/settings/members/m061", &[("role", "admin"), ("default_role", "none")]).await;
    assert_redirect(&res, "/acme/settings/members");
    assert_eq!(flash_of(&a.follow(res).await.1).trim(), "m061: Member → Administrator, Labeler → None (do not add)");
    let res = a.post("/acme/settings/members/m061", &[("role", "admin"), ("default_role", "none")]).await;
    assert_eq!(flash_of(&a.follow(res).await.1).trim(), "m061: nothing changed");
    // What goes back is rebuilt, never copied: odd values fall back to the first page.
    let res = a
        .post(
            "/acme/settings/members/m062",
            &[("role", "member"), ("default_role", "viewer"), ("back_page", "-4"), ("back_q", "a b&c=d\r\n"), ("back_role", "evil")],
        )
        .await;
    assert_redirect(&res, "/acme/settings/members?q=a%20b%26c%3Dd");

    // With JavaScript: JSON with the same line, the row's new values.
    let (status, json) = save_row_js(&a, "acme", "m060", "member", "manager").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["ok"], true);
    assert_eq!(json["message"], "m060: Reviewer → Manager");
    assert_eq!(json["role"], "member");
    assert_eq!(json["default_role"], "manager");
    assert_eq!(membership(&app, "acme", "m060"), roles("member", Some("manager")));
    // The last administrator's row answers why not, and nothing changes.
    let (status, json) = save_row_js(&a, "acme", "m061", "member", "none").await;
    assert_eq!((status, &json["ok"]), (StatusCode::OK, &serde_json::json!(true)), "m061 is not the last administrator");
    let (status, json2) = save_row_js(&a, "acme", "alice", "member", "none").await;
    assert_eq!(status, StatusCode::OK, "{json2}");
    assert_eq!(json2["ok"], false);
    assert!(json2["message"].as_str().unwrap().contains("must keep at least one administrator"));
    assert_eq!(membership(&app, "acme", "alice"), roles("admin", None));
    // Bad input is still a 4xx page, not JSON that pretends.
    let res = a.post("/acme/settings/members/m060", &[("role", "owner"), ("default_role", "none")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
});

db_test!(async fn pages_are_compressed_with_gzip_or_brotli_when_asked(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    bulk_members(&app, "acme", "m", 60, "member");
    let get = |encoding: Option<&'static str>| {
        let mut req = a.client.get(format!("{}/acme/settings/members", a.base));
        if let Some(e) = encoding {
            req = req.header("accept-encoding", e);
        }
        req.send()
    };
    let plain = get(None).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    for (asked, got) in [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br"), ("br;q=0.5, gzip", "gzip")] {
        let res = get(Some(asked)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some(got), "{asked}");
        assert!(res.headers().get("vary").is_some_and(|v| v.to_str().unwrap().to_ascii_lowercase().contains("accept-encoding")));
        let len = res.bytes().await.unwrap().len();
        assert!(len * 5 < plain_len, "{asked}: {len} bytes against {plain_len}");
    }
    // Styles and scripts too.
    let css = a.page("/").await.1;
    let at = css.find("/static/app.").expect("an asset link");
    let href: String = css[at..].chars().take_while(|c| *c != '"').collect();
    let res = a.client.get(format!("{}{href}", a.base)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{href}");
    assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"), "{href}");
});

db_test!(async fn administrators_export_the_members_as_csv(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    let b = login(&app, "bob").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "reviewer").await;
    bulk_members(&app, "acme", "m", 120, "member");
    set_display_name(&app, "m003", "=HYPERLINK(\"x\"), Inc.");
    let res = a.get("/acme/settings/members.csv").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"acme-members.csv\"");
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "username,display_name,organization_role,default_dataset_role,joined");
    assert_eq!(lines.len(), 1 + 122 + 1, "every member, not a page, and a final line end");
    assert!(lines[1].starts_with("alice,,admin,none,20"), "{}", lines[1]);
    assert!(lines[2].starts_with("bob,,member,reviewer,20"), "{}", lines[2]);
    // A formula is defused and a comma or quote quoted.
    assert!(lines.iter().any(|l| l.starts_with("m003,\"'=HYPERLINK(\"\"x\"\"), Inc.\",member,labeler,")), "{csv}");
    // Administrators only.
    assert_eq!(b.get("/acme/settings/members.csv").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.browser().get("/acme/settings/members.csv").await.status(), StatusCode::SEE_OTHER);
    assert!(a.page("/acme/settings/members").await.1.contains(r#"href="/acme/settings/members.csv""#));
});

fn bulk_form<'a>(change: &'a str, members: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![("change", change)];
    f.extend(members.iter().map(|m| ("m", *m)));
    f
}

fn bulk_query(change: &str, members: &[&str]) -> String {
    let mut q = format!("/acme/settings/bulk-members?change={change}");
    for m in members {
        q.push_str(&format!("&m={m}"));
    }
    q
}

db_test!(async fn bulk_changes_are_confirmed_then_applied_in_one_transaction(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    let b = login(&app, "bob").await;
    create_org(&a, "acme").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    bulk_members(&app, "acme", "m", 30, "member");
    let ten = ["m000", "m001", "m002", "m003", "m004", "m005", "m006", "m007", "m008", "m009"];

    // The subtab selects rows for a bulk change.
    let body = a.page("/acme/settings/members").await.1;
    assert!(body.contains(r#"name="m" value="m000" form="bulk""#) && body.contains("Select m000"));
    // The confirmation says how many and which, and changes nothing.
    let before = snapshot(&app);
    let mut picked: Vec<&str> = ten.to_vec();
    picked.extend(["M001", "ghost", "bob"]);
    let (status, body) = a.page(&bulk_query("default-reviewer", &picked)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Set default dataset role to Reviewer: <strong>11 members</strong>"), "{body}");
    assert!(body.contains("Not members of acme: ghost") && body.contains("Apply to 11 members"));
    assert_eq!(snapshot(&app), before);
    // Applied: every one of them, one audit event each.
    let mut form = bulk_form("default-reviewer", &ten);
    form.push(("m", "bob"));
    let res = a.post("/acme/settings/bulk-members", &form).await;
    assert_redirect(&res, "/acme/settings/members");
    let flash = flash_of(&a.follow(res).await.1);
    assert!(flash.contains("Set default dataset role to Reviewer: 11 members (bob, m000, m001"), "{flash}");
    assert!(flash.contains("and 1 more"));
    for m in ten.iter().chain(["bob"].iter()) {
        assert_eq!(membership(&app, "acme", m), roles("member", Some("reviewer")), "{m}");
    }
    assert_eq!(membership(&app, "acme", "m010"), roles("member", Some("labeler")));
    let org = id_of(&app, "acme");
    let events = crate::orgs::audit(&app, org);
    assert_eq!(events.iter().filter(|e| e.3 == "from Labeler to Reviewer").count(), 11, "{events:?}");

    // Roles: make two administrators, then demote every administrator: refused, all or nothing.
    assert_redirect(&a.post("/acme/settings/bulk-members", &bulk_form("role-admin", &["m000", "m001"])).await, "/acme/settings/members");
    assert_eq!(crate::orgs::admin_count(&app, org), 3);
    let before = snapshot(&app);
    let body = a.page(&bulk_query("role-member", &["alice", "m000", "m001", "m002"])).await.1;
    assert!(body.contains("must keep at least one administrator") && !body.contains("Apply to"));
    let res = a.post("/acme/settings/bulk-members", &bulk_form("role-member", &["alice", "m000", "m001", "m002"])).await;
    assert_redirect(&res, "/acme/settings/members");
    assert!(flash_of(&a.follow(res).await.1).contains("must keep at least one administrator"));
    assert_eq!(snapshot(&app), before, "nothing changed");
    // Removing: their collaborator entries go too.
    crate::orgs::make_dataset(&app, "acme", "alice", "cats");
    let res = a.post("/acme/settings/bulk-members", &bulk_form("remove", &["m003", "m004", "m001"])).await;
    assert_redirect(&res, "/acme/settings/members");
    assert_eq!(membership(&app, "acme", "m003"), None);
    assert_eq!(membership(&app, "acme", "m001"), None);
    assert_eq!(crate::orgs::admin_count(&app, org), 2);
    let left: i64 = app.with_db(|c| {
        use diesel::prelude::*;
        colabel::schema::collaborators::table
            .filter(colabel::schema::collaborators::user_id.eq_any([id_of(&app, "m003"), id_of(&app, "m004")]))
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(left, 0, "their access went with them");

    // Bad input and other callers.
    assert_redirect(&a.post("/acme/settings/bulk-members", &[("change", "remove")]).await, "/acme/settings/members");
    assert_eq!(a.post("/acme/settings/bulk-members", &[("change", "owner"), ("m", "bob")]).await.status(), StatusCode::BAD_REQUEST);
    let many: Vec<String> = (0..101).map(|i| format!("x{i}")).collect();
    let mut big = vec![("change", "remove")];
    big.extend(many.iter().map(|m| ("m", m.as_str())));
    let res = a.post("/acme/settings/bulk-members", &big).await;
    assert!(flash_of(&a.follow(res).await.1).contains("at most 100"));
    assert_eq!(b.page(&bulk_query("remove", &["alice"])).await.0, StatusCode::FORBIDDEN);
    assert_eq!(b.post("/acme/settings/bulk-members", &bulk_form("remove", &["alice"])).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(membership(&app, "acme", "alice"), roles("admin", None));
});

db_test!(async fn pages_mask_the_csrf_token_afresh_so_compression_cannot_reveal_it(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    let one = extract_token(&a.page("/acme/settings/members?q=x").await.1).unwrap();
    let two = extract_token(&a.page("/acme/settings/members?q=x").await.1).unwrap();
    assert_ne!(one, two, "a different mask on every page");
    let unmask = colabel::html::csrf::unmask;
    assert_eq!(unmask(&one), unmask(&two), "the same token inside");
    assert!(!one.contains(&unmask(&one)), "the secret itself is not on the page");
    // Both are accepted; a tampered one is not.
    for t in [&one, &two] {
        let res = a.post_raw("/organizations", format!("username=org{}&display_name=&csrf_token={t}", &t[..4])).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let mut bad = one.clone().into_bytes();
    let last = bad.len() - 1;
    bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
    let bad = String::from_utf8(bad).unwrap();
    let res = a.post_raw("/organizations", format!("username=orgbad&display_name=&csrf_token={bad}")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
});

/// The usernames of a member list's rows, in order.
fn names(body: &str) -> Vec<String> {
    body.split(r#"class="user-cell" href="/"#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

/// The target of the pager link with `marker` (`rel="next"`, `aria-label="Page 3"`).
fn pager_link(body: &str, marker: &str) -> Option<String> {
    let body = unescape_amp(body);
    let link = body.split("<a ").find(|a| a.contains(marker))?;
    let rest = &link[link.find(r#"href=""#)? + 6..];
    Some(rest.split('"').next()?.to_string())
}

db_test!(async fn a_deep_member_page_reached_through_the_pager_is_read_from_where_the_last_one_ended(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    bulk_members(&app, "acme", "m", 230, "member");
    for list in ["/acme/members", "/acme/settings/members"] {
        // The pages by their number alone (read by offset from the start, or from the end).
        let mut typed = Vec::new();
        for n in 1..=5 {
            let body = a.page(&format!("{list}?page={n}")).await.1;
            typed.push(names(&body));
        }
        assert_eq!(typed.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 50, 50, 31]);
        let all: Vec<String> = typed.concat();
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, all, "{list}: every member once, in name order");

        // Forward through Next: each link says where its page ended, and opens the same rows.
        let mut body = a.page(&format!("{list}?page=1")).await.1;
        let numbered = pager_link(&body, r#"aria-label="Page 3""#).unwrap();
        let ended = typed[0].last().unwrap();
        assert!(numbered.ends_with(&format!("page=3&from=1&after={ended}")), "{numbered}");
        for n in 2..=5 {
            let next = pager_link(&body, r#"rel="next""#).expect("a Next link");
            let last = typed[n - 2].last().unwrap();
            assert!(next.ends_with(&format!("page={n}&from={}&after={last}", n - 1)), "{next}");
            let (status, b) = a.page(&next).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(names(&b), typed[n - 1], "{list} page {n} through Next");
            body = b;
        }
        assert!(pager_link(&body, r#"rel="next""#).is_none(), "the last page has no Next");
        // And back through Previous (page 1's link needs no cursor).
        for n in (1..=4).rev() {
            let prev = pager_link(&body, r#"rel="prev""#).expect("a Previous link");
            if n > 1 {
                let first = &typed[n][0];
                assert!(prev.ends_with(&format!("page={n}&from={}&before={first}", n + 1)), "{prev}");
            } else {
                assert!(!prev.contains("from="), "{prev}");
            }
            let b = a.page(&prev).await.1;
            assert_eq!(names(&b), typed[n - 1], "{list} page {n} through Previous");
            body = b;
        }
        // A jump of two pages from a cursor skips one page after it.
        let b = a.page(&format!("{list}?page=4&from=2&after={}", typed[1][49])).await.1;
        assert_eq!(names(&b), typed[3]);
        // A cursor is a position, not a permission or a promise: a member added since, or a
        // cursor made up, still gives a page of real members in order, never an error.
        for q in ["page=3&from=2&after=%27%3B--", "page=2&from=9&before=zzz", "page=2&from=1&after="] {
            let (status, b) = a.page(&format!("{list}?{q}")).await;
            assert_eq!(status, StatusCode::OK, "{q}");
            let rows = names(&b);
            assert!(rows.windows(2).all(|w| w[0] < w[1]), "{q}: in order");
        }
    }
    // A filtered list pages by number: its links carry no cursor.
    let body = a.page("/acme/settings/members?role=member").await.1;
    let next = pager_link(&body, r#"rel="next""#).unwrap();
    assert!(!next.contains("after="), "{next}");
});

db_test!(async fn a_bulk_change_reaches_every_member_matching_the_filter(app) {
    let a = app.user("alice").await;
    create_org(&a, "acme").await;
    bulk_members(&app, "acme", "m", 230, "member");
    let org = id_of(&app, "acme");
    // The subtab offers it beside the ticked rows, with the list's search and filter.
    let body = a.page("/acme/settings/members?q=m1").await.1;
    assert!(body.contains(r#"name="all" value="1""#) && body.contains("or every member matching (100)"), "{body}");
    assert!(body.contains(r#"<input type="hidden" name="q" value="m1">"#));
    // The confirmation counts all of them (not the 50 of the page) and changes nothing.
    let before = snapshot(&app);
    let (status, body) = a.page("/acme/settings/bulk-members?change=default-reviewer&all=1&q=m1&role=").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Set default dataset role to Reviewer: <strong>100 members</strong>"), "{body}");
    assert!(body.contains(r#"<input type="hidden" name="all" value="1">"#) && !body.contains(r#"name="m" value="#));
    assert_eq!(snapshot(&app), before);
    // Applied: the filter read again, each member changed, one event each.
    let form = [("change", "default-reviewer"), ("all", "1"), ("q", "m1"), ("role", "")];
    assert_redirect(&a.post("/acme/settings/bulk-members", &form).await, "/acme/settings/members");
    assert_eq!(membership(&app, "acme", "m150"), roles("member", Some("reviewer")));
    assert_eq!(membership(&app, "acme", "m199"), roles("member", Some("reviewer")));
    assert_eq!(membership(&app, "acme", "m050"), roles("member", Some("labeler")), "not matching");
    let events = crate::orgs::audit(&app, org);
    assert_eq!(events.iter().filter(|e| e.3 == "from Labeler to Reviewer").count(), 100);
    // The role filter too: every member with the default role Reviewer back to Viewer.
    let form = [("change", "default-viewer"), ("all", "1"), ("q", ""), ("role", "default-reviewer")];
    assert_redirect(&a.post("/acme/settings/bulk-members", &form).await, "/acme/settings/members");
    assert_eq!(membership(&app, "acme", "m150"), roles("member", Some("viewer")));
    // The rules hold over the whole set: demoting every administrator is refused, nothing
    // changes.
    let before = snapshot(&app);
    let form = [("change", "role-member"), ("all", "1"), ("q", ""), ("role", "admin")];
    let res = a.post("/acme/settings/bulk-members", &form).await;
    assert_redirect(&res, "/acme/settings/members");
    assert!(flash_of(&a.follow(res).await.1).contains("must keep at least one administrator"));
    assert_eq!(snapshot(&app), before);
    // A filter that finds nobody, an unknown filter, and default roles (ticked rows only).
    let res = a.post("/acme/settings/bulk-members", &[("change", "role-admin"), ("all", "1"), ("q", "nobody"), ("role", "")]).await;
    assert_redirect(&res, "/acme/settings/members");
    assert!(flash_of(&a.follow(res).await.1).contains("No members match"));
    assert_eq!(a.post("/acme/settings/bulk-members", &[("change", "role-admin"), ("all", "1"), ("role", "owner")]).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(a.page("/acme/settings/bulk-members?change=apply-defaults&all=1").await.0, StatusCode::BAD_REQUEST);
    // A member of the organization may not: the same 403 as the ticked rows.
    app.user("bob").await;
    add_member(&a, "acme", "bob", "member", "labeler").await;
    let b = login(&app, "bob").await;
    let res = b.post("/acme/settings/bulk-members", &[("change", "role-admin"), ("all", "1"), ("q", ""), ("role", "")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(membership(&app, "acme", "bob"), roles("member", Some("labeler")));
});

db_test!(async fn a_memberships_copy_of_its_members_text_follows_every_change(app) {
    let a = app.user("alice").await;
    app.user("bob").await;
    create_org(&a, "acme").await;
    // A display name set before joining is found once joined (the insert fills the copy).
    set_display_name(&app, "bob", "Roberta Quux");
    add_member(&a, "acme", "bob", "member", "labeler").await;
    assert_eq!(rows(&a.page("/acme/settings/members?q=ta%20qu").await.1), 1);
    // A new display name, and a new email (administrators search emails), found at once;
    // the old ones no longer.
    set_display_name(&app, "bob", "Zed");
    let bob = id_of(&app, "bob");
    app.with_db(|c| {
        c.batch_execute(&format!(
            "UPDATE users SET email_key = 'bz@corp.example', email = 'bz@corp.example' WHERE id = {bob}"
        ))
        .unwrap()
    });
    for (q, n) in [("ta%20qu", 0), ("zed", 1), ("ZE", 1), ("bz", 1), ("bz@c", 1), ("corp.ex", 1)] {
        assert_eq!(rows(&a.page(&format!("/acme/settings/members?q={q}")).await.1), n, "{q}");
    }
    // A member's search never reads emails.
    let b = login(&app, "bob").await;
    assert_eq!(rows(&b.page("/acme/members?q=bz@c").await.1), 0);
    assert_eq!(rows(&b.page("/acme/members?q=ze").await.1), 1);
});
