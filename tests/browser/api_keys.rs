//! API keys in a browser: a key is created on Settings → API keys and shown once with a Copy
//! button, works with the API, is listed by name afterwards (never shown again), and stops
//! working the moment its Revoke button is clicked.

use crate::harness::{browser_installed, Backend, ChromeDriver, TestApp};

#[actix_web::test]
async fn sqlite() {
    run(Backend::Sqlite).await;
}

#[actix_web::test]
async fn postgres() {
    run(Backend::Postgres).await;
}

async fn status_with(base: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/user"))
        .header("Authorization", format!("APIKey {key}"))
        .send()
        .await
        .expect("API request")
        .status()
        .as_u16()
}

async fn run(backend: Backend) {
    if !browser_installed() {
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let name = match backend {
        Backend::Sqlite => "api_keys::sqlite",
        Backend::Postgres => "api_keys::postgres",
    };
    let driver = ChromeDriver::start(name).await;
    let shots = (backend == Backend::Sqlite).then_some("api-keys-");
    let page = driver.session(&app.base, true, shots).await;
    page.sign_up("kim").await;

    page.goto("/settings").await;
    page.follow_in(
        "//nav[@aria-label='Settings']",
        "API keys",
        "/settings/api-keys",
    )
    .await;
    page.check_labels("the API keys page").await;
    assert!(page.text("main").await.contains("You have no API keys."));
    page.fill("#f-name", "nightly import").await;
    page.submit("Create API key", "/settings/api-keys").await;
    let key = page.text("#new-key").await;
    assert!(key.starts_with("clb_") && key.len() >= 32, "{key}");
    assert!(
        page.has("button[data-copy]:not([hidden])").await,
        "a Copy button with JavaScript"
    );
    page.shot("created").await;
    assert_eq!(status_with(&app.base, &key).await, 200, "the key works");

    // Listed afterwards by name, never shown again.
    page.goto("/settings/api-keys").await;
    let main = page.text("main").await;
    assert!(main.contains("nightly import") && !main.contains(&key));
    assert!(!page.has("#new-key").await);
    page.shot("listed").await;

    // Revoke asks first, then the key stops working at once.
    page.js(
        "window.confirm = function (m) { window.asked = m; return true; };",
        vec![],
    )
    .await;
    page.submit("Revoke", "/settings/api-keys").await;
    assert!(page
        .flash()
        .await
        .contains("The API key nightly import was revoked."));
    assert!(page.text("main").await.contains("You have no API keys."));
    assert_eq!(status_with(&app.base, &key).await, 401, "revoked at once");
    page.close().await;
}
