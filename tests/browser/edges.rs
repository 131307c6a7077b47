//! No dead ends (issue 16), in Chromium at laptop and phone sizes (390 and 320 px wide):
//! axe-core on every page of SPEC section 3 signed out, as a member and as an administrator;
//! visitors signing in and coming back; the last administrator's disabled controls and their
//! ways out; demoting yourself; the popup keeping its errors; error summaries and focus; the
//! admin tables on a 320 px phone. Screenshots: `screenshots/edges-*.png`.

use crate::harness::{
    axe_source, browser_installed, Backend, ChromeDriver, Page, TestApp, SIZES, SMALL,
};
use fantoccini::key::Key;
use serde_json::json;

const ORG: &str = "delta";

/// pat administers delta ("Delta Labs"), with olga as a member (default role Labeler), the
/// private dataset reports and the public dataset open. Ends signed out.
async fn set_up(page: &Page) {
    page.sign_up("olga").await;
    page.log_out().await;
    page.sign_up("pat").await;
    page.goto("/organizations/new").await;
    page.fill("#f-username", ORG).await;
    page.fill("#f-display_name", "Delta Labs").await;
    page.submit("Create organization", &format!("/{ORG}")).await;
    page.goto(&format!("/{ORG}/settings")).await;
    page.fill("#f-description", "Street scenes, labelled with care")
        .await;
    page.submit("Save settings", &format!("/{ORG}/settings"))
        .await;
    page.goto(&format!("/{ORG}/settings/members")).await;
    page.fill("#f-username", "olga").await;
    page.select("#f-default_role", "labeler").await;
    page.submit("Add member", &format!("/{ORG}/settings/members"))
        .await;
    for (name, visibility) in [("reports", "private"), ("open", "public")] {
        page.goto(&format!("/datasets/new?owner={ORG}")).await;
        page.fill("#f-name", name).await;
        page.click_css(&format!("input[name=visibility][value={visibility}]"))
            .await;
        page.submit("Create dataset", &format!("/{ORG}/{name}"))
            .await;
    }
    page.log_out().await;
}

/// The pages of SPEC section 3 for each kind of reader, with the 404 and 403 pages.
const VISITOR_PAGES: [&str; 7] = [
    "/",
    "/login",
    "/signup",
    "/delta",
    "/delta/open",
    "/pat",
    "/no-such-page-here",
];
const MEMBER_PAGES: [&str; 13] = [
    "/",
    "/delta",
    "/delta/members",
    "/delta/open",
    "/delta/reports",
    "/olga",
    "/datasets/new",
    "/organizations/new",
    "/settings",
    "/settings/organizations",
    "/settings/api-keys",
    "/delta/settings",
    "/api",
];
const ADMIN_PAGES: [&str; 16] = [
    "/",
    "/delta",
    "/delta/members",
    "/delta/settings",
    "/delta/settings/members",
    "/delta/settings/audit",
    "/delta/settings/members/olga/remove",
    "/delta/reports",
    "/delta/reports/settings",
    "/delta/reports/settings/collaborators",
    "/delta/reports/settings/access",
    "/delta/settings/members/olga/access",
    "/datasets/new?owner=delta",
    "/settings/organizations",
    "/settings/organizations/delta/leave",
    "/pat",
];

#[actix_web::test]
async fn axe_finds_no_violations_signed_out_as_a_member_and_as_an_administrator() {
    if !browser_installed() {
        return;
    }
    let Some(axe) = axe_source() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite app");
    let driver = ChromeDriver::start("edges::axe_finds_no_violations").await;
    let page = driver.session(&app.base, true, None).await;
    set_up(&page).await;
    let mut found = Vec::new();
    let mut checked = 0;
    for who in ["visitor", "olga", "pat"] {
        let pages: &[&str] = match who {
            "visitor" => &VISITOR_PAGES,
            "olga" => &MEMBER_PAGES,
            _ => &ADMIN_PAGES,
        };
        if who != "visitor" {
            page.log_in(who).await;
        }
        // Each page its own title (the Members tab and subtab were one).
        let mut titles: std::collections::BTreeMap<String, &str> = Default::default();
        for (size, w, h) in SIZES {
            page.viewport(w, h).await;
            for path in pages {
                page.goto(path).await;
                let title = page.js("return document.title;", vec![]).await;
                let title = title.as_str().unwrap_or("").to_string();
                if let Some(other) = titles.insert(title.clone(), path) {
                    if other != *path {
                        found.push(format!(
                            "{who}: {path} and {other} share the title “{title}”"
                        ));
                    }
                }
                for v in page.axe(&axe).await {
                    found.push(format!("{who} {path} ({size}): {v}"));
                }
                checked += 1;
            }
        }
        // A form shown again with its errors (the summary, the invalid fields).
        page.viewport(1280, 800).await;
        let (form, button, sent) = if who == "visitor" {
            ("/signup", "Sign up", "/signup")
        } else {
            (
                "/organizations/new",
                "Create organization",
                "/organizations",
            )
        };
        page.goto(form).await;
        page.fill("#f-username", "-no").await;
        page.submit(button, sent).await;
        page.find("[data-error-summary]").await;
        for v in page.axe(&axe).await {
            found.push(format!("{who} {sent} (422): {v}"));
        }
        if who != "visitor" {
            page.log_out().await;
        }
    }
    assert!(checked >= 60, "only {checked} pages checked");
    assert!(
        found.is_empty(),
        "axe-core found {} violations:\n  {}",
        found.len(),
        found.join("\n  ")
    );
    page.close().await;
}

/// On both databases: the rules behind these pages are the database's.
mod visitors_see_the_public_profile_and_come_back_after_logging_in {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        visitors(Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn postgres() {
        visitors(Backend::Postgres).await;
    }
}

async fn visitors(backend: Backend) {
    if !browser_installed() {
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let driver = ChromeDriver::start(match backend {
        Backend::Sqlite => "edges::visitors::sqlite",
        Backend::Postgres => "edges::visitors::postgres",
    })
    .await;
    let page = driver
        .session(
            &app.base,
            true,
            (backend == Backend::Sqlite).then_some("edges-visitor-"),
        )
        .await;
    set_up(&page).await;

    // The owner link of a public dataset leads to the organization's public profile.
    page.goto("/delta/open").await;
    page.follow_css("main h1 a[href='/delta']", "/delta").await;
    assert!(
        page.has("[data-public-profile]").await,
        "{}",
        page.context().await
    );
    assert_eq!(page.heading().await, "Delta Labs");
    assert!(page
        .text("main")
        .await
        .contains("Street scenes, labelled with care"));
    assert!(page.has("a[href='/delta/open']").await && !page.has("a[href='/delta/reports']").await);
    assert!(!page.has("a[href='/delta/members']").await && !page.has("a[href='/olga']").await);
    page.shot_at("public-profile", &[SIZES[0], SIZES[1], SMALL])
        .await;

    // The top bar's "Log in" comes back here too.
    assert!(
        page.has(".topbar a[href='/login?next=%2Fdelta']").await,
        "{}",
        page.context().await
    );
    page.goto("/login").await;
    assert!(
        page.has(".topbar a[href='/login']").await,
        "not on the login page itself"
    );

    // A private page: log in, and back to it.
    page.goto("/delta/reports").await;
    page.wait_path("/login").await;
    assert_eq!(page.path().await, "/login?next=%2Fdelta%2Freports");
    page.fill("#f-login", "olga").await;
    page.fill("#f-password", crate::harness::PASSWORD).await;
    page.submit("Log in", "/delta/reports").await;
    assert!(page.heading().await.contains("reports"));
    page.log_out().await;

    // The profile's own "Log in to see more" comes back to the organization's page.
    page.goto("/delta").await;
    page.follow("Log in to see more", "/login").await;
    page.fill("#f-login", "olga").await;
    page.fill("#f-password", crate::harness::PASSWORD).await;
    page.submit("Log in", "/delta").await;
    assert!(
        page.has("a[href='/delta/members']").await,
        "a member sees everything"
    );
    assert!(!page.has("[data-public-profile]").await);
    page.close().await;
}

/// Whether every element matching `css` lies inside the viewport's width.
async fn inside_the_screen(page: &Page, css: &str) -> bool {
    page.js(
        "var w = document.documentElement.clientWidth; var all = document.querySelectorAll(arguments[0]);
         return all.length > 0 && Array.prototype.every.call(all, function (e) {
           var r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= w + 0.5; });",
        vec![json!(css)],
    )
    .await
        == json!(true)
}

/// On both databases: the rules behind these pages are the database's.
mod guidance_at_the_edges_for_the_last_administrator_and_in_forms {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        guidance(Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn postgres() {
        guidance(Backend::Postgres).await;
    }
}

async fn guidance(backend: Backend) {
    if !browser_installed() {
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let driver = ChromeDriver::start(match backend {
        Backend::Sqlite => "edges::guidance::sqlite",
        Backend::Postgres => "edges::guidance::postgres",
    })
    .await;
    let page = driver
        .session(
            &app.base,
            true,
            (backend == Backend::Sqlite).then_some("edges-"),
        )
        .await;
    set_up(&page).await;
    page.log_in("pat").await;

    // The skip link is the first stop of the keyboard and moves to the content.
    page.goto("/delta").await;
    page.press(Key::Tab).await;
    assert!(
        page.focus_is(".skip-link").await,
        "first Tab: {}",
        page.focused().await
    );
    page.press(Key::Enter).await;
    page.wait_until(
        "focus on the content",
        "return document.activeElement && document.activeElement.id === 'main';",
    )
    .await;

    // The last administrator: Remove and the role shown disabled, the reason and the ways out.
    page.goto("/delta/settings/members").await;
    let remove = page.find("#member-row-pat button[disabled]").await;
    // "Remove", named for its row to screen readers (issue 15).
    assert_eq!(
        remove
            .text()
            .await
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["Remove", "pat"]
    );
    assert!(page.has("#role-pat[disabled]").await);
    let note = page.text("#last-admin-pat").await;
    assert!(
        note.contains("You are the last administrator of delta"),
        "{note}"
    );
    assert!(
        page.has("#last-admin-pat a[href='/delta/settings#delete-organization']")
            .await
    );
    page.shot_at("last-admin-members", &[SIZES[0], SIZES[1], SMALL])
        .await;
    page.goto("/settings/organizations").await;
    assert!(
        page.has("button[disabled][aria-describedby='last-admin-delta']")
            .await
    );
    assert!(page
        .text("#last-admin-delta")
        .await
        .contains("cannot leave it yet"));
    page.shot("last-admin-leave").await;

    // The delete button waits for the typed name (the server checks it again).
    page.goto("/delta/settings").await;
    let delete = "button[data-confirm-name]";
    assert!(
        page.has(&format!("{delete}[disabled]")).await,
        "disabled until the name is typed"
    );
    page.fill("#f-confirm", "delt").await;
    assert!(page.has(&format!("{delete}[disabled]")).await);
    page.fill("#f-confirm", "delta").await;
    assert!(
        !page.has(&format!("{delete}[disabled]")).await,
        "enabled once it matches"
    );
    page.fill("#f-confirm", "").await;

    // After a 422: the summary at the top, the first invalid field focused.
    page.goto("/organizations/new").await;
    page.fill("#f-username", "_x").await;
    page.fill("#f-display_name", &"x".repeat(101)).await;
    page.submit("Create organization", "/organizations").await;
    let summary = page.text("[data-error-summary]").await;
    assert!(
        summary.contains("2 things need fixing")
            && summary.contains("Start with a letter or a digit."),
        "{summary}"
    );
    assert!(
        page.focus_is("#f-username").await,
        "focus: {}",
        page.focused().await
    );
    page.shot("error-summary").await;

    // The popup: the name rules as you type, its errors kept in it, then success.
    page.goto("/delta").await;
    page.click_css("main a[data-open-dataset-dialog]").await;
    page.find("dialog[open] #f-name").await;
    let hint = "dialog[open] #f-name-hint";
    assert!(
        page.text(hint).await.contains("2 to 39 characters"),
        "the rules are shown before typing"
    );
    page.fill("dialog[open] #f-name", "-scenes").await;
    assert_eq!(page.text(hint).await, "Start with a letter or a digit.");
    page.click_css("dialog[open] button[type=submit]").await;
    page.wait_until(
        "the errors shown in the popup",
        "return !!document.querySelector('dialog[open] [data-error-summary]');",
    )
    .await;
    assert_eq!(
        page.path().await,
        "/delta",
        "still on the page under the popup"
    );
    assert!(
        page.focus_is("dialog[open] #f-name").await,
        "focus: {}",
        page.focused().await
    );
    page.shot("popup-error").await;
    page.fill("dialog[open] #f-name", "scenes").await;
    assert!(page.text(hint).await.contains("follows the rules"));
    page.follow_css("dialog[open] button[type=submit]", "/delta/scenes")
        .await;
    assert_eq!(
        page.flash().await,
        "Your dataset delta/scenes was created. 1 member of delta joined it by their default dataset role: 1 as Labeler."
    );

    // Making olga an administrator: the message repeats her roles and her row is marked.
    // (With JavaScript the row is saved in place and says so: issue 15.)
    page.goto("/delta/settings/members").await;
    page.select("#role-olga", "admin").await;
    page.click("Save olga").await;
    page.wait_until(
        "olga's row confirms the change",
        "var s = document.querySelector(\"tr[data-member='olga'] [data-row-status]\"); \
         return s && s.textContent === 'olga: Member → Administrator';",
    )
    .await;
    // Without the script's in-place save, the redirect marks the row.
    page.goto("/delta/settings/members").await;
    page.select("#default-olga", "reviewer").await;
    page.js("document.querySelector('#member-olga').submit();", vec![])
        .await;
    page.wait_until(
        "the list comes back with the change named",
        "var f = document.querySelector('.flash'); \
         return !!f && f.textContent.indexOf('olga: Labeler → Reviewer') >= 0;",
    )
    .await;
    assert!(page.has("#member-row-olga[data-highlight]").await);
    page.shot_at("member-changed", &[SIZES[0], SIZES[1], SMALL])
        .await;

    // Demoting yourself asks first, then lands on the organization page with a message.
    page.select("#role-pat", "member").await;
    page.follow_css(
        "#member-pat button[type=submit]",
        "/delta/settings/members/pat",
    )
    .await;
    assert_eq!(
        page.heading().await,
        "Stop being an administrator of delta?"
    );
    page.shot("demote-yourself").await;
    page.submit("Become a Member", "/delta").await;
    assert_eq!(
        page.flash().await,
        "You are now a Member of delta, no longer an administrator."
    );
    page.close().await;
}

#[actix_web::test]
async fn admin_tables_and_tabs_work_on_a_320_px_phone() {
    if !browser_installed() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite app");
    let driver = ChromeDriver::start("edges::phones").await;
    let page = driver.session(&app.base, true, Some("edges-phone-")).await;
    set_up(&page).await;
    page.log_in("pat").await;
    page.goto("/delta/reports/settings/collaborators").await;
    page.fill("#f-username", "olga").await;
    page.submit("Add collaborator", "/delta/reports/settings/collaborators")
        .await;

    let mut problems = Vec::new();
    for (size, w, h) in [SIZES[1], SMALL] {
        page.viewport(w, h).await;
        for path in [
            "/delta/settings/members",
            "/delta/members",
            "/delta/settings/audit",
            "/delta/reports/settings/collaborators",
            "/delta/reports/settings",
            "/delta/open",
        ] {
            page.goto(path).await;
            if let Some(p) = page.sideways_overflow().await {
                problems.push(format!("{path} ({size}): {p}"));
            }
            // The tabs wrap instead of being cut.
            if page.has("nav.tabs a").await && !inside_the_screen(&page, "nav.tabs a").await {
                problems.push(format!("{path} ({size}): a tab is cut"));
            }
        }
        // Each member row keeps its column labels; the actions stay on the screen.
        page.goto("/delta/settings/members").await;
        let label = page
            .js(
                "var td = document.querySelector('#member-row-olga td[data-label=\"Default dataset role\"]');
                 return getComputedStyle(td, '::before').content;",
                vec![],
            )
            .await;
        if label != json!("\"Default dataset role\"") {
            problems.push(format!(
                "members subtab ({size}): the column label shows as {label}"
            ));
        }
        if !inside_the_screen(&page, "#default-olga, #member-row-olga .row-actions a").await {
            problems.push(format!(
                "members subtab ({size}): a control is off the screen"
            ));
        }
        let option = page
            .js(
                "var s = document.getElementById('default-olga'); return s.scrollWidth <= s.clientWidth + 1;",
                vec![],
            )
            .await;
        if option != json!(true) {
            problems.push(format!("members subtab ({size}): the default role is cut"));
        }
        page.goto("/delta/reports/settings/collaborators").await;
        if !inside_the_screen(&page, "td.row-actions button").await {
            problems.push(format!("collaborators ({size}): Remove is off the screen"));
        }
    }
    page.viewport(1280, 800).await;
    for path in [
        "/delta/settings/members",
        "/delta/reports/settings/collaborators",
        "/delta/reports",
    ] {
        page.goto(path).await;
        page.shot_at(
            path.trim_start_matches('/').replace('/', "-").as_str(),
            &[SIZES[0], SIZES[1], SMALL],
        )
        .await;
    }
    assert!(
        problems.is_empty(),
        "on phones:\n  {}",
        problems.join("\n  ")
    );
    page.close().await;

    // Without JavaScript, on a phone: a wrong name for the deletion (the button cannot wait
    // for it) comes back with the summary at the top and the focus on the field.
    let plain = driver.session(&app.base, false, Some("edges-nojs-")).await;
    plain.log_in("pat").await;
    plain.viewport(SIZES[1].1, SIZES[1].2).await;
    plain.goto("/delta/settings").await;
    plain.fill("#f-confirm", "delt").await;
    plain.submit("Delete organization", "/delta/settings").await;
    assert!(
        plain.focus_is("#f-confirm").await,
        "focus: {}",
        plain.focused().await
    );
    let above = plain
        .js(
            "var s = document.querySelector('[data-error-summary]').getBoundingClientRect();
             var f = document.getElementById('f-confirm').getBoundingClientRect();
             return s.top < f.top && f.top >= 0 && f.bottom <= window.innerHeight;",
            vec![],
        )
        .await;
    assert_eq!(
        above,
        json!(true),
        "the summary on top, the focused field in view"
    );
    assert!(plain
        .text("[data-error-summary]")
        .await
        .contains("Type delta to confirm."));
    plain.shot("delete-error").await;
    plain.close().await;
}
