//! The walkthrough of "Create an organization", clicking as a person would: two users sign up;
//! A creates an organization, adds B with the default dataset role reviewer, creates datasets
//! from the organization page and from the plus menu; B finds the organization in the profile
//! menu, sees the reviewer role, and leaves; A, the last administrator, cannot leave.

use crate::harness::{browser_installed, screenshot_dir, Backend, ChromeDriver, Page, TestApp};

const ORG: &str = "acme-labs";
const A: &str = "alice";
const B: &str = "bob";

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
        Backend::Sqlite => "walkthrough::sqlite",
        Backend::Postgres => "walkthrough::postgres",
    };
    let driver = ChromeDriver::start(name).await;
    // The screenshots come from the SQLite run; the pages are the same on PostgreSQL.
    let shots = (backend == Backend::Sqlite).then_some("");
    let page = driver.session(&app.base, true, shots).await;

    two_users_sign_up(&page).await;
    a_creates_the_organization(&page).await;
    a_adds_b_as_a_member(&page).await;
    a_creates_datasets(&page).await;
    b_finds_the_organization_and_the_dataset(&page).await;
    b_leaves_the_organization(&page).await;
    a_cannot_leave_as_last_admin(&page).await;

    page.close().await;
    drop(driver);
    if shots.is_some() {
        eprintln!("screenshots written to {}", screenshot_dir().display());
    }
}

async fn two_users_sign_up(page: &Page) {
    page.goto("/").await;
    page.shot("home").await;
    page.follow("Sign up", "/signup").await;
    page.check_labels("the signup page").await;
    page.shot("signup").await;
    page.fill("#f-username", A).await;
    page.fill("#f-email", &format!("{A}@example.com")).await;
    page.fill("#f-password", crate::harness::PASSWORD).await;
    page.submit("Sign up", "/").await;
    assert!(page.flash().await.contains(A), "{}", page.context().await);
    assert_eq!(page.heading().await, "Dashboard");
    page.shot("dashboard-empty").await;
    page.log_out().await;

    page.sign_up(B).await;
    page.log_out().await;
}

async fn a_creates_the_organization(page: &Page) {
    page.goto("/login").await;
    page.check_labels("the login page").await;
    page.shot("login").await;
    page.log_in(A).await;

    // The plus icon in the top bar, then "New organization".
    page.click("Create new…").await;
    page.control("New organization").await;
    page.shot("plus-menu").await;
    page.follow("New organization", "/organizations/new").await;
    page.check_labels("the new organization page").await;
    page.shot("new-organization").await;

    page.fill("#f-username", ORG).await;
    page.submit("Create organization", &format!("/{ORG}")).await;
    assert_eq!(page.heading().await, ORG, "{}", page.context().await);
    assert!(page.flash().await.contains(ORG), "{}", page.context().await);
    page.check_labels("the organization page").await;
    page.shot("organization-new").await;
}

async fn a_adds_b_as_a_member(page: &Page) {
    page.follow_in(
        "//nav[@aria-label='Organization']",
        "Settings",
        &format!("/{ORG}/settings"),
    )
    .await;
    page.check_labels("the organization settings").await;
    page.shot("organization-settings").await;

    page.follow_in(
        "//nav[@aria-label='Organization settings']",
        "Members",
        &format!("/{ORG}/settings/members"),
    )
    .await;
    page.check_labels("the organization members settings").await;
    page.shot("organization-settings-members").await;

    page.fill("#f-username", B).await;
    page.find("#f-default_role")
        .await
        .select_by_label("Reviewer")
        .await
        .expect("choose the default dataset role Reviewer");
    page.submit("Add member", &format!("/{ORG}/settings/members"))
        .await;
    assert!(
        page.flash()
            .await
            .contains(&format!("{B} is now a member of {ORG}")),
        "{}",
        page.context().await
    );
    assert_eq!(page.value(&format!("#default-{B}")).await, "reviewer");
    assert_eq!(page.value(&format!("#role-{B}")).await, "member");
    page.check_labels("the organization members settings with two members")
        .await;
    page.shot("organization-member-added").await;
}

async fn a_creates_datasets(page: &Page) {
    // Back on the organization page, "New dataset" opens the popup with the organization as owner.
    page.follow_in(
        "//nav[@aria-label='Organization']",
        "Datasets",
        &format!("/{ORG}"),
    )
    .await;
    page.shot("organization-no-datasets").await;
    page.click("New dataset").await;
    page.find("#dataset-dialog[open] #f-name").await;
    assert_eq!(
        page.value("#f-owner").await,
        ORG,
        "the organization is the owner"
    );
    assert!(
        page.focus_is("#f-name").await,
        "focus moves into the popup, not {}",
        page.focused().await
    );
    page.check_labels("the new dataset popup").await;
    page.shot("new-dataset-popup").await;
    page.fill("#f-name", "street-scenes").await;
    page.fill("#f-description", "Dashcam frames from three cities")
        .await;
    page.submit("Create dataset", &format!("/{ORG}/street-scenes"))
        .await;
    assert_eq!(
        page.heading().await,
        format!("{ORG} / street-scenes"),
        "{}",
        page.context().await
    );
    assert!(page.flash().await.contains("created"));
    page.check_labels("the dataset page").await;
    page.shot("dataset").await;

    // The plus icon's "New dataset": the personal account is preselected; A picks the organization.
    page.click("Create new…").await;
    page.click("New dataset").await;
    page.find("#dataset-dialog[open] #f-name").await;
    assert_eq!(
        page.value("#f-owner").await,
        A,
        "the personal account is preselected"
    );
    page.shot("new-dataset-popup-personal").await;
    page.select("#f-owner", ORG).await;
    page.fill("#f-name", "parking-lots").await;
    page.submit("Create dataset", &format!("/{ORG}/parking-lots"))
        .await;
    assert_eq!(page.heading().await, format!("{ORG} / parking-lots"));

    // The organization page lists both.
    page.follow_css(&format!("main h1 a[href='/{ORG}']"), &format!("/{ORG}"))
        .await;
    for name in ["street-scenes", "parking-lots"] {
        assert!(
            page.has(&format!("main a[href='/{ORG}/{name}']")).await,
            "{name} is listed, {}",
            page.context().await
        );
    }
    page.shot("organization-datasets").await;
    page.follow_in(
        "//nav[@aria-label='Organization']",
        "Members",
        &format!("/{ORG}/members"),
    )
    .await;
    page.check_labels("the organization members page").await;
    page.shot("organization-members").await;
    page.log_out().await;
}

async fn b_finds_the_organization_and_the_dataset(page: &Page) {
    page.log_in(B).await;
    page.shot("dashboard-member").await;
    page.click("Open the profile menu").await;
    let org_link = page.control(ORG).await;
    assert_eq!(
        org_link.attr("href").await.expect("href").as_deref(),
        Some(&*format!("/{ORG}")),
        "the profile menu lists the organization"
    );
    page.shot("profile-menu").await;
    page.follow(ORG, &format!("/{ORG}")).await;
    assert!(
        !page.has("main a[data-open-dataset-dialog]").await,
        "a member cannot create datasets"
    );
    assert!(
        !page.has(&format!("nav a[href='/{ORG}/settings']")).await,
        "a member has no Settings tab"
    );
    page.shot("organization-as-member").await;
    page.follow("street-scenes", &format!("/{ORG}/street-scenes"))
        .await;
    let role = page.find("[data-role]").await;
    assert_eq!(
        role.attr("data-role").await.expect("data-role").as_deref(),
        Some("reviewer"),
        "{}",
        page.context().await
    );
    assert_eq!(role.text().await.expect("text"), "Reviewer");
    page.shot("dataset-as-reviewer").await;
}

async fn b_leaves_the_organization(page: &Page) {
    page.click("Open the profile menu").await;
    page.follow("Settings", "/settings").await;
    page.check_labels("the settings page").await;
    page.shot("settings-profile").await;
    page.follow_in(
        "//nav[@aria-label='Settings']",
        "Organizations",
        "/settings/organizations",
    )
    .await;
    page.shot("settings-organizations").await;
    page.follow(
        "Leave organization",
        &format!("/settings/organizations/{ORG}/leave"),
    )
    .await;
    assert_eq!(page.heading().await, format!("Leave {ORG}?"));
    page.shot("confirm-leave").await;
    page.submit("Leave organization", "/settings/organizations")
        .await;
    assert_eq!(page.flash().await, format!("You left {ORG}."));
    assert!(
        page.has("main .empty").await,
        "no organizations left, {}",
        page.context().await
    );
    assert!(
        !page.has(&format!("header a[href='/{ORG}']")).await,
        "the profile menu no longer lists the organization"
    );
    page.shot("left-organization").await;

    // A former member sees the public profile only (issue 16): no members, no private data.
    page.goto(&format!("/{ORG}")).await;
    assert!(
        page.has("[data-public-profile]").await,
        "{}",
        page.context().await
    );
    assert!(!page.has(&format!("a[href='/{ORG}/members']")).await);
    page.shot("organization-public-profile").await;
    page.goto(&format!("/{ORG}/street-scenes")).await;
    assert_eq!(page.heading().await, "Page not found");
    page.goto("/").await;
    assert!(
        !page.has(&format!("main a[href^='/{ORG}/']")).await,
        "the dashboard lists no dataset of the organization"
    );
    page.shot("dashboard-after-leaving").await;
    page.log_out().await;
}

async fn a_cannot_leave_as_last_admin(page: &Page) {
    page.log_in(A).await;
    page.click("Open the profile menu").await;
    page.follow("Settings", "/settings").await;
    page.follow_in(
        "//nav[@aria-label='Settings']",
        "Organizations",
        "/settings/organizations",
    )
    .await;
    page.shot("settings-organizations-last-admin").await;
    // Leave is shown disabled, with the reason and the ways out (issue 16).
    let leave = page.control("Leave organization").await;
    assert!(
        !leave.is_enabled().await.expect("enabled"),
        "Leave is disabled"
    );
    let note = page.text(&format!("#last-admin-{ORG}")).await;
    assert!(note.contains("cannot leave it yet"), "{note}");
    assert!(
        page.has(&format!(
            "#last-admin-{ORG} a[href='/{ORG}/settings#delete-organization']"
        ))
        .await
    );
    // Its address (bookmarked, say) already says why, and offers no button that can only fail.
    page.goto(&format!("/settings/organizations/{ORG}/leave"))
        .await;
    assert_eq!(page.heading().await, format!("You cannot leave {ORG} yet"));
    assert!(
        page.text("main")
            .await
            .contains("must keep at least one administrator"),
        "the reason is shown"
    );
    assert!(!page.has("form[action$='/leave']").await, "no leave button");
    page.shot("leave-refused").await;
    page.goto(&format!("/{ORG}")).await;
    assert_eq!(page.heading().await, ORG, "A is still a member");
}
