//! Every page a signed-in administrator can reach, beyond the walkthrough: each labels its
//! fields, and (once the stylesheet is fixed) each fits a phone screen and a laptop window
//! without sideways scrolling or stray scrollbars.

use crate::harness::{browser_installed, Backend, ChromeDriver, Page, TestApp, SIZES};

const ORG: &str = "delta";

/// The pages of an organization with a member and a dataset, seen by its administrator.
const PAGES: [&str; 18] = [
    "/",
    "/pat",
    "/organizations/new",
    "/datasets/new",
    "/delta",
    "/delta/members",
    "/delta/settings",
    "/delta/settings/members",
    "/delta/settings/audit",
    "/delta/reports",
    "/delta/reports/settings",
    "/delta/reports/settings/collaborators",
    "/delta/reports/settings/access",
    "/delta/settings/members/olga/access",
    "/settings",
    "/settings/organizations",
    "/settings/api-keys",
    "/api",
];

#[actix_web::test]
async fn every_page_labels_its_fields() {
    if !browser_installed() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite app");
    let driver = ChromeDriver::start("pages::every_page_labels_its_fields").await;
    let page = driver.session(&app.base, true, None).await;
    set_up(&page).await;
    for path in PAGES {
        page.goto(path).await;
        page.check_labels(path).await;
        page.field_errors().await;
    }
    page.close().await;
}

#[actix_web::test]
async fn every_page_fits_phone_and_laptop_screens() {
    if !browser_installed() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite app");
    let driver = ChromeDriver::start("pages::every_page_fits_phone_and_laptop_screens").await;
    let page = driver.session(&app.base, true, None).await;
    set_up(&page).await;
    let mut problems = Vec::new();
    for (size, width, height) in SIZES {
        page.viewport(width, height).await;
        for path in PAGES {
            page.goto(path).await;
            if let Some(p) = page.sideways_overflow().await {
                problems.push(format!("{path} ({size}): {p}"));
            }
            for p in page.stray_scrollbars().await {
                problems.push(format!("{path} ({size}): {p}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layout problems:\n  {}",
        problems.join("\n  ")
    );
    page.close().await;
}

/// pat administers delta, with olga as a member and the dataset reports.
async fn set_up(page: &Page) {
    page.sign_up("olga").await;
    page.log_out().await;
    page.sign_up("pat").await;
    page.goto("/organizations/new").await;
    page.fill("#f-username", ORG).await;
    page.submit("Create organization", &format!("/{ORG}")).await;
    page.goto(&format!("/{ORG}/settings/members")).await;
    page.fill("#f-username", "olga").await;
    page.submit("Add member", &format!("/{ORG}/settings/members"))
        .await;
    page.goto(&format!("/datasets/new?owner={ORG}")).await;
    page.fill("#f-name", "reports").await;
    page.submit("Create dataset", &format!("/{ORG}/reports"))
        .await;
}
