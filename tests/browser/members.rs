//! The Members subtab of a larger organization (issue 15): finding a member by a part of the
//! name, changing a row's role in place (with JavaScript: the row says what changed, the page
//! stays; a changed row is marked and leaving warns), and the same without JavaScript (back to
//! the same search and filter, the change said in the message).

use crate::harness::{browser_installed, Backend, ChromeDriver, TestApp, PASSWORD};

#[actix_web::test]
async fn sqlite() {
    run(Backend::Sqlite).await;
}

#[actix_web::test]
async fn postgres() {
    run(Backend::Postgres).await;
}

/// Signs `name` up over plain HTTP (the browser stays signed in as the administrator).
pub(crate) async fn sign_up(base: &str, name: &str) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = c
        .get(format!("{base}/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = r#"name="csrf_token" value=""#;
    let at = html.find(marker).expect("a token") + marker.len();
    let token = &html[at..at + html[at..].find('"').unwrap()];
    let email = format!("{name}@example.com");
    let body = serde_urlencoded::to_string([
        ("username", name),
        ("email", email.as_str()),
        ("password", PASSWORD),
        ("csrf_token", token),
    ])
    .unwrap();
    let res = c
        .post(format!("{base}/signup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "sign-up of {name}");
}

async fn run(backend: Backend) {
    if !browser_installed() {
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let name = match backend {
        Backend::Sqlite => "members::sqlite",
        Backend::Postgres => "members::postgres",
    };
    for user in ["anna", "benedict", "carla"] {
        sign_up(&app.base, user).await;
    }
    let driver = ChromeDriver::start(name).await;
    let shots = (backend == Backend::Sqlite).then_some("members-");
    let page = driver.session(&app.base, true, shots).await;
    page.sign_up("kim").await;
    page.goto("/organizations/new").await;
    page.fill("#f-username", "acme").await;
    page.submit("Create organization", "/acme").await;
    page.goto("/acme/settings/members").await;
    for user in ["anna", "benedict", "carla"] {
        page.fill("#f-username", user).await;
        page.submit("Add member", "/acme/settings/members").await;
    }

    // Find by a part of the name, with a filter.
    page.fill("#member-search", "nedi").await;
    page.select("#member-filter", "member").await;
    page.submit("Search", "/acme/settings/members").await;
    assert_eq!(
        page.path().await,
        "/acme/settings/members?q=nedi&role=member"
    );
    assert!(page.text("main").await.contains("1 member matching “nedi”"));
    assert!(page.has("tr[data-member='benedict']").await);
    assert!(!page.has("tr[data-member='anna']").await);
    page.check_labels("the Members subtab").await;

    // A change not yet saved is marked, and leaving would warn.
    let leaving_warns = "var e = new Event('beforeunload', {cancelable: true}); \
                         window.dispatchEvent(e); return e.defaultPrevented;";
    assert_eq!(
        page.js(leaving_warns, vec![]).await,
        serde_json::json!(false)
    );
    page.select("#default-benedict", "reviewer").await;
    assert!(page.has("tr[data-member='benedict'].is-dirty").await);
    assert_eq!(
        page.text("tr[data-member='benedict'] [data-row-status]")
            .await,
        "Unsaved changes"
    );
    assert_eq!(
        page.js(leaving_warns, vec![]).await,
        serde_json::json!(true)
    );
    page.shot("unsaved").await;

    // Save, in place: the row confirms, the page (search, filter) stays.
    page.js("window.__samePage = true;", vec![]).await;
    page.click("Save benedict").await;
    page.wait_until(
        "the row confirms the change",
        "var s = document.querySelector(\"tr[data-member='benedict'] [data-row-status]\"); \
         return s && s.textContent === 'benedict: Labeler → Reviewer';",
    )
    .await;
    assert_eq!(
        page.js("return window.__samePage === true;", vec![]).await,
        serde_json::json!(true),
        "no reload"
    );
    assert_eq!(
        page.path().await,
        "/acme/settings/members?q=nedi&role=member"
    );
    assert!(!page.has("tr[data-member='benedict'].is-dirty").await);
    assert_eq!(
        page.js(leaving_warns, vec![]).await,
        serde_json::json!(false)
    );
    page.shot("saved-in-place").await;
    page.goto("/acme/settings/members?q=nedi&role=member").await;
    assert_eq!(page.value("#default-benedict").await, "reviewer", "saved");
    page.close().await;

    // Without JavaScript: back to the same search and filter, the change in the message.
    let page = driver.session(&app.base, false, None).await;
    page.log_in("kim").await;
    page.goto("/acme/settings/members?q=NEDI&role=member").await;
    page.select("#default-benedict", "manager").await;
    page.submit("Save benedict", "/acme/settings/members").await;
    assert_eq!(
        page.path().await,
        "/acme/settings/members?q=NEDI&role=member"
    );
    assert_eq!(page.flash().await, "benedict: Reviewer → Manager");
    assert_eq!(page.value("#default-benedict").await, "manager");
    page.close().await;
}
