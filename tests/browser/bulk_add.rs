//! "Add many members" (issue 15, item 3) in a browser without JavaScript: paste three names
//! (one a CSV line with roles), see the preview, add them, find them in the list.

use crate::harness::{axe_source, browser_installed, Backend, ChromeDriver, TestApp};
use crate::members::sign_up;

#[actix_web::test]
async fn sqlite() {
    run(Backend::Sqlite).await;
}

#[actix_web::test]
async fn postgres() {
    run(Backend::Postgres).await;
}

async fn run(backend: Backend) {
    if !browser_installed() {
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let name = match backend {
        Backend::Sqlite => "bulk_add::sqlite",
        Backend::Postgres => "bulk_add::postgres",
    };
    let ten: Vec<String> = (1..=10).map(|i| format!("u{i:02}")).collect();
    for user in ["anna", "benedict", "carla"]
        .into_iter()
        .chain(ten.iter().map(String::as_str))
    {
        sign_up(&app.base, user).await;
    }
    let driver = ChromeDriver::start(name).await;
    let shots = (backend == Backend::Sqlite).then_some("bulk-add-");
    // The paste path needs no JavaScript.
    let page = driver.session(&app.base, false, shots).await;
    page.sign_up("kim").await;
    page.goto("/organizations/new").await;
    page.fill("#f-username", "acme").await;
    page.submit("Create organization", "/acme").await;
    page.goto("/acme/settings/members").await;
    page.check_labels("the Members subtab with Add many members")
        .await;

    page.fill(
        "#f-import-lines",
        "anna\nbenedict,admin,viewer\nCarla\nghost",
    )
    .await;
    page.select("#f-import-default_role", "reviewer").await;
    page.submit("Preview…", "/acme/settings/import-members/preview")
        .await;
    let counts = page.text("[data-import-counts]").await;
    assert!(counts.contains("3 will be added"), "{counts}");
    assert!(counts.contains("1 unknown username"), "{counts}");
    let lines = page.text("[data-import-lines]").await;
    assert!(
        lines.contains("benedict") && lines.contains("Administrator"),
        "{lines}"
    );
    assert!(
        lines.contains("carla"),
        "the account's own spelling: {lines}"
    );
    page.check_labels("the import preview").await;
    page.shot("preview").await;

    page.submit("Add 3 members", "/acme/settings/members").await;
    let flash = page.flash().await;
    assert!(
        flash.contains("Added 3 members to acme: anna, benedict, carla."),
        "{flash}"
    );
    for user in ["anna", "benedict", "carla"] {
        assert!(
            page.has(&format!("tr[data-member='{user}']")).await,
            "{user} listed"
        );
    }
    assert_eq!(page.value("#role-benedict").await, "admin");
    assert_eq!(page.value("#default-benedict").await, "viewer");
    assert_eq!(page.value("#default-anna").await, "reviewer");
    page.shot("added").await;

    // Ten members at once: pasted, then ticked and changed in one step, with a confirmation
    // that says how many and which.
    page.fill("#f-import-lines", &ten.join("\n")).await;
    page.submit("Preview…", "/acme/settings/import-members/preview")
        .await;
    page.submit("Add 10 members", "/acme/settings/members")
        .await;
    for user in &ten {
        page.click_css(&format!("input.pick[value='{user}']")).await;
    }
    page.select("#bulk-change", "role-admin").await;
    page.submit("Review…", "/acme/settings/bulk-members").await;
    let main = page.text("main").await;
    assert!(main.contains("Make Administrator: 10 members"), "{main}");
    for user in &ten {
        assert!(main.contains(user.as_str()), "{user} named: {main}");
    }
    assert!(!main.contains("anna"), "only the ticked: {main}");
    page.shot("bulk-confirm").await;
    page.submit("Apply to 10 members", "/acme/settings/members")
        .await;
    let flash = page.flash().await;
    assert!(
        flash.starts_with("Make Administrator: 10 members (u01, u02,"),
        "{flash}"
    );
    for user in &ten {
        assert_eq!(
            page.value(&format!("#role-{user}")).await,
            "admin",
            "{user}"
        );
    }
    assert_eq!(page.value("#role-anna").await, "member", "untouched");
    page.close().await;

    // axe-core (which needs JavaScript) on the subtab with its new card and on a preview.
    let Some(axe) = axe_source() else { return };
    let page = driver.session(&app.base, true, None).await;
    page.log_in("kim").await;
    page.goto("/acme/settings/members").await;
    let found = page.axe(&axe).await;
    assert!(found.is_empty(), "axe on the Members subtab: {found:?}");
    page.fill("#f-import-lines", "username,role\nanna\ndora,boss\ndora")
        .await;
    page.submit("Preview…", "/acme/settings/import-members/preview")
        .await;
    assert!(page
        .text("[data-import-counts]")
        .await
        .contains("1 already a member"));
    let found = page.axe(&axe).await;
    assert!(found.is_empty(), "axe on the import preview: {found:?}");
    // And on the default roles' preview, reached from a member's row.
    page.goto("/acme/settings/members").await;
    page.follow(
        "Apply default role to datasets… (anna)",
        "/acme/settings/apply-defaults",
    )
    .await;
    assert!(page.context().await.contains("anna"));
    assert!(page.text("main").await.contains("Nothing to change"));
    let found = page.axe(&axe).await;
    assert!(
        found.is_empty(),
        "axe on the default roles' preview: {found:?}"
    );
    page.close().await;
}
