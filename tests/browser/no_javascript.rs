//! With JavaScript disabled, the same creation flows work through full-page forms: the plus
//! menu (a native `<details>`), a new organization, a member, and datasets whose "New dataset"
//! links open `/datasets/new?owner=...` as a page.

use crate::harness::{browser_installed, Backend, ChromeDriver, TestApp};

const ORG: &str = "northwind";

#[actix_web::test]
async fn creation_flows_work_without_javascript() {
    if !browser_installed() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite app");
    let driver = ChromeDriver::start("no_javascript::creation_flows_work_without_javascript").await;
    let page = driver.session(&app.base, false, Some("nojs-")).await;

    page.sign_up("omar").await;
    page.log_out().await;
    page.sign_up("nora").await;

    // The plus menu opens without a script, and "New organization" is a page.
    page.click("Create new…").await;
    page.shot("plus-menu").await;
    page.follow("New organization", "/organizations/new").await;
    page.fill("#f-username", ORG).await;
    page.fill("#f-display_name", "Northwind Traders").await;
    page.submit("Create organization", &format!("/{ORG}")).await;
    assert_eq!(page.heading().await, "Northwind Traders");
    page.shot("organization").await;

    // Settings → Members → Add member.
    page.follow_in(
        "//nav[@aria-label='Organization']",
        "Settings",
        &format!("/{ORG}/settings"),
    )
    .await;
    page.follow_in(
        "//nav[@aria-label='Organization settings']",
        "Members",
        &format!("/{ORG}/settings/members"),
    )
    .await;
    page.fill("#f-username", "omar").await;
    page.find("#f-default_role")
        .await
        .select_by_label("Labeler")
        .await
        .expect("choose Labeler");
    page.submit("Add member", &format!("/{ORG}/settings/members"))
        .await;
    assert!(page.flash().await.contains("omar is now a member"));
    assert_eq!(page.value("#default-omar").await, "labeler");

    // "New dataset" on the organization page opens the full-page form with the organization.
    page.follow_in(
        "//nav[@aria-label='Organization']",
        "Datasets",
        &format!("/{ORG}"),
    )
    .await;
    page.follow("New dataset", "/datasets/new").await;
    assert_eq!(page.path().await, format!("/datasets/new?owner={ORG}"));
    assert!(
        !page.has("#dataset-dialog[open]").await,
        "no popup without JavaScript"
    );
    assert_eq!(page.value("#f-owner").await, ORG);
    page.check_labels("the new dataset page").await;
    page.shot("new-dataset-organization").await;
    page.fill("#f-name", "invoices").await;
    page.submit("Create dataset", &format!("/{ORG}/invoices"))
        .await;
    assert_eq!(page.heading().await, format!("{ORG} / invoices"));
    page.shot("dataset").await;

    // "New dataset" in the plus menu: the personal account first, then the organization.
    page.click("Create new…").await;
    page.follow("New dataset", "/datasets/new").await;
    assert_eq!(page.path().await, "/datasets/new?owner=nora");
    assert_eq!(page.value("#f-owner").await, "nora");
    page.shot("new-dataset-personal").await;
    page.select("#f-owner", ORG).await;
    page.fill("#f-name", "receipts").await;
    page.submit("Create dataset", &format!("/{ORG}/receipts"))
        .await;

    // A form error comes back as a page, keeping what was typed.
    page.goto(&format!("/datasets/new?owner={ORG}")).await;
    page.fill("#f-name", "receipts").await;
    page.fill("#f-description", "A second one").await;
    page.submit("Create dataset", "/datasets").await;
    let errors = page.field_errors().await;
    assert!(
        errors.iter().any(|(id, _)| id == "f-name"),
        "the duplicate name is explained: {errors:?}"
    );
    assert_eq!(page.value("#f-description").await, "A second one");
    assert_eq!(page.value("#f-owner").await, ORG);
    page.shot("new-dataset-error").await;

    // The organization lists both datasets; omar, the labeler, sees them too.
    page.goto(&format!("/{ORG}")).await;
    for name in ["invoices", "receipts"] {
        assert!(page.has(&format!("main a[href='/{ORG}/{name}']")).await);
    }
    page.log_out().await;
    page.log_in("omar").await;
    page.goto(&format!("/{ORG}/invoices")).await;
    assert_eq!(page.text("[data-role]").await, "Labeler");

    page.close().await;
}
