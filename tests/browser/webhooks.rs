//! Webhooks in a browser: an administrator adds one on Settings → Webhooks (its secret shown
//! once), the receiver (a real HTTP server on loopback) answers the ping with a 500 and then
//! with a 200, the webhook's page shows both attempts in the deliveries log, and Redeliver
//! sends the same delivery again.

use std::time::Duration;

use crate::harness::{browser_installed, Backend, ChromeDriver, TestApp};
use crate::receiver::Receiver;

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
    let rx = Receiver::start();
    rx.answer(&[500]);
    let tweak = |s: &mut colabel::config::Settings| {
        s.webhooks.allow_private = true;
        s.jobs.retry_base = Duration::from_millis(200);
    };
    let Some(app) = TestApp::spawn_with(backend, tweak).await else {
        return;
    };
    let name = match backend {
        Backend::Sqlite => "webhooks::sqlite",
        Backend::Postgres => "webhooks::postgres",
    };
    let driver = ChromeDriver::start(name).await;
    let shots = (backend == Backend::Sqlite).then_some("webhooks-");
    let page = driver.session(&app.base, true, shots).await;
    page.sign_up("alice").await;
    page.goto("/organizations/new").await;
    page.fill("#f-username", "acme").await;
    page.submit("Create organization", "/acme").await;

    page.goto("/acme/settings").await;
    page.follow_in(
        "//nav[@aria-label='Organization settings']",
        "Webhooks",
        "/acme/settings/webhooks",
    )
    .await;
    page.check_labels("the Webhooks subtab").await;
    assert!(page.text("main").await.contains("No webhooks yet."));
    page.fill("#f-url", &rx.url()).await;
    page.submit("Add webhook", "/acme/settings/webhooks").await;
    let secret = page.text("#new-secret").await;
    assert_eq!(secret.len(), 40, "{secret}");
    page.shot("created").await;

    // The ping fails once, then arrives.
    let got = rx.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].header("x-colabel-delivery"),
        got[1].header("x-colabel-delivery")
    );
    let guid = got[0].header("x-colabel-delivery").to_string();
    page.follow_css(
        ".new-key a[href='/acme/settings/webhooks/1']",
        "/acme/settings/webhooks/1",
    )
    .await;
    page.check_labels("a webhook's page").await;
    let selector = format!("li.delivery[data-delivery='{guid}'][data-status='ok']");
    for _ in 0..50 {
        if page.has(&selector).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        page.goto("/acme/settings/webhooks/1").await;
    }
    let summary = page.text(&format!("{selector} summary")).await;
    assert!(
        summary.contains("ping")
            && summary.contains("HTTP 200")
            && summary.contains("2 attempt(s)"),
        "{summary}"
    );
    page.click_css(&format!("{selector} summary")).await;
    let log = page.text(&selector).await;
    assert!(
        log.contains("Attempt 1") && log.contains("HTTP 500") && log.contains("Attempt 2"),
        "{log}"
    );
    assert!(
        log.contains("X-Colabel-Signature-256: sha256="),
        "the request headers are shown"
    );
    assert!(!log.contains(&secret), "never the secret");
    page.shot("log").await;

    page.submit("Redeliver", "/acme/settings/webhooks/1").await;
    assert!(
        page.flash().await.contains("will be sent again"),
        "{}",
        page.context().await
    );
    let got = rx.wait_for(3, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 3, "redelivered");
    assert_eq!(
        got[2].header("x-colabel-delivery"),
        guid,
        "with the same delivery id"
    );
    assert_eq!(got[2].body, got[1].body, "and the same body");
    page.close().await;
}
