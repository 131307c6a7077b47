//! "Who has access, and why" (issue 15, item 5) in the browser, on both databases: an
//! administrator opens a member's Access from the member's row on the Members subtab, and a
//! manager opens the dataset's Access tab; both see each role with its sources.

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
        Backend::Sqlite => "access::sqlite",
        Backend::Postgres => "access::postgres",
    };
    for user in ["anna", "benedict"] {
        sign_up(&app.base, user).await;
    }
    let axe = axe_source();
    let driver = ChromeDriver::start(name).await;
    let shots = (backend == Backend::Sqlite).then_some("access-");
    let page = driver.session(&app.base, true, shots).await;

    // kim administers acme: anna joins its datasets as a labeler, benedict as a manager.
    page.sign_up("kim").await;
    page.goto("/organizations/new").await;
    page.fill("#f-username", "acme").await;
    page.submit("Create organization", "/acme").await;
    // secrets is made before anna joins (a default dataset role applies to datasets made
    // afterwards): she can open reports only.
    page.goto("/acme/settings/members").await;
    page.fill("#f-username", "benedict").await;
    page.select("#f-default_role", "manager").await;
    page.submit("Add member", "/acme/settings/members").await;
    page.goto("/datasets/new?owner=acme").await;
    page.fill("#f-name", "secrets").await;
    page.submit("Create dataset", "/acme/secrets").await;
    page.goto("/acme/settings/members").await;
    page.fill("#f-username", "anna").await;
    page.select("#f-default_role", "labeler").await;
    page.submit("Add member", "/acme/settings/members").await;
    page.goto("/datasets/new?owner=acme").await;
    page.fill("#f-name", "reports").await;
    page.submit("Create dataset", "/acme/reports").await;

    // The administrator: from anna's row on the Members subtab to her Access.
    page.goto("/acme/settings/members").await;
    page.follow("Access of anna", "/acme/settings/members/anna/access")
        .await;
    assert_eq!(page.heading().await, "acme");
    assert_eq!(page.text("main h2").await, "Access of anna");
    assert_eq!(
        page.text("tr[data-dataset='reports'] [data-role]").await,
        "Labeler"
    );
    assert_eq!(
        page.text("tr[data-dataset='reports'] [data-sources]").await,
        "collaborator entry: Labeler"
    );
    assert!(!page.has("tr[data-dataset='secrets']").await);
    assert_eq!(
        page.text("[data-hidden-count]").await,
        "anna cannot open 1 other dataset of acme."
    );
    page.check_labels("a member's Access").await;
    page.shot("member-access").await;
    let mut violations = Vec::new();
    if let Some(axe) = &axe {
        violations.extend(page.axe(axe).await);
    }
    page.log_out().await;

    // The manager: the dataset's Access tab, beside Collaborators.
    page.log_in("benedict").await;
    page.goto("/acme/reports").await;
    page.follow_in(
        "//nav[@aria-label='Dataset']",
        "Access",
        "/acme/reports/settings/access",
    )
    .await;
    assert_eq!(page.text("main h2").await, "Who has access");
    for (who, role, sources) in [
        ("anna", "Labeler", "collaborator entry: Labeler"),
        ("benedict", "Manager", "collaborator entry: Manager"),
        (
            "kim",
            "Administrator",
            "organization administrator; collaborator entry: Administrator",
        ),
    ] {
        let row = format!("tr[data-person='{who}']");
        assert_eq!(
            page.text(&format!("{row} [data-role]")).await,
            role,
            "{who}"
        );
        assert_eq!(
            page.text(&format!("{row} [data-sources]")).await,
            sources,
            "{who}"
        );
    }
    assert!(page.text("main").await.contains("3 people"));
    // Search by a part of a username.
    page.fill("#access-search", "NED").await;
    page.submit("Search", "/acme/reports/settings/access").await;
    assert!(page.has("tr[data-person='benedict']").await);
    assert!(!page.has("tr[data-person='anna']").await);
    page.check_labels("the dataset's Access tab").await;
    page.shot("dataset-access").await;
    if let Some(axe) = &axe {
        violations.extend(page.axe(axe).await);
    }
    assert!(
        violations.is_empty(),
        "axe-core: {}",
        violations.join("\n  ")
    );
    page.close().await;
}
