//! An invitation by email, clicked through as people would: the administrator invites an
//! address from the Members subtab; the invitee opens the link from the message that a real
//! SMTP server (aiosmtpd) received, signs up, verifies the address from the second message,
//! and lands in the organization with the chosen roles.

use std::time::Duration;

use crate::harness::{browser_installed, Backend, ChromeDriver, TestApp, PASSWORD};
use crate::smtp::SmtpSink;

const ORG: &str = "acme-labs";
const INVITEE: &str = "carol@example.com";

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
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let url = sink.url();
    let Some(app) = TestApp::spawn_with(backend, |s| s.mail.smtp_url = Some(url)).await else {
        return;
    };
    let name = match backend {
        Backend::Sqlite => "invitation::sqlite",
        Backend::Postgres => "invitation::postgres",
    };
    let driver = ChromeDriver::start(name).await;
    let page = driver.session(&app.base, true, None).await;

    // The administrator creates the organization and invites an address.
    page.sign_up("alice").await;
    page.goto("/organizations/new").await;
    page.fill("#f-username", ORG).await;
    page.submit("Create organization", &format!("/{ORG}")).await;
    page.goto(&format!("/{ORG}/settings/members")).await;
    page.check_labels("the Members subtab").await;
    page.fill("#f-invitee", INVITEE).await;
    page.select("#f-invite-role", "member").await;
    page.select("#f-invite-default_role", "reviewer").await;
    page.submit("Send invitation", &format!("/{ORG}/settings/members"))
        .await;
    assert!(
        page.flash()
            .await
            .contains(&format!("{INVITEE} was invited")),
        "{}",
        page.context().await
    );
    assert!(page.has(&format!("tr[data-invitation='{INVITEE}']")).await);
    page.log_out().await;

    // The invitee opens the link from the message.
    let invitation = wait_for_link(&sink, "/invitation").await;
    page.goto(&invitation).await;
    assert_eq!(page.heading().await, format!("Join {ORG}"));
    page.follow("Create an account", "/signup").await;
    assert_eq!(
        page.value("#f-email").await,
        INVITEE,
        "the address is filled in"
    );
    page.fill("#f-username", "carol").await;
    page.fill("#f-password", PASSWORD).await;
    page.submit("Sign up", "/").await;
    assert!(
        page.has(".banner").await,
        "the banner asks to verify the address"
    );

    // ... verifies the address from the second message ...
    let verify = wait_for_link(&sink, "/email/verify").await;
    page.goto(&verify).await;
    page.submit("Verify my email address", "/").await;
    assert!(
        page.flash().await.contains("is verified"),
        "{}",
        page.context().await
    );
    assert!(!page.has(".banner").await);

    // ... and joins from the dashboard.
    page.submit(&format!("Accept {ORG}"), &format!("/{ORG}"))
        .await;
    assert!(
        page.flash().await.contains(&format!("Welcome to {ORG}")),
        "{}",
        page.context().await
    );
    page.goto(&format!("/{ORG}/members")).await;
    let members = page.text("main").await;
    assert!(members.contains("carol"), "{members}");

    page.close().await;
    drop(driver);
}

/// The path and query of the newest link to `path` in a message to the invitee.
async fn wait_for_link(sink: &SmtpSink, path: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(link) = sink.to(INVITEE).iter().rev().find_map(|m| m.path_of(path)) {
            return link;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no message with a link to {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
