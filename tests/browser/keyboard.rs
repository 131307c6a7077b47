//! Keyboard and accessibility: the menus and the new-dataset popup work with the keyboard
//! alone, and error messages are tied to their fields. (Every field of the walkthrough's
//! pages having a label is checked on each page of the walkthrough.)

use fantoccini::key::Key;

use crate::harness::{browser_installed, Backend, ChromeDriver, Page, TestApp};

const PLUS: &str = "summary[aria-label='Create new…']";
const FOCUS_ON_PLUS: &str = "var a = document.activeElement; \
     return !!a && a.matches(\"summary[aria-label='Create new…']\");";
const PROFILE: &str = "summary[aria-label='Open the profile menu']";

#[actix_web::test]
async fn menus_and_popup_work_with_the_keyboard_alone() {
    if !browser_installed() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite app");
    let driver =
        ChromeDriver::start("keyboard::menus_and_popup_work_with_the_keyboard_alone").await;
    let page = driver.session(&app.base, true, Some("keyboard-")).await;
    page.sign_up("kim").await;
    page.goto("/").await;

    // The plus menu: Tab to its button, Enter opens it, Escape closes it and keeps the focus.
    page.tab_to(PLUS, 5).await;
    page.press(Key::Enter).await;
    assert!(menu_open(&page, PLUS).await, "Enter opens the plus menu");
    page.shot("plus-menu").await;
    page.press(Key::Tab).await;
    assert!(
        page.focus_is("details[open] a[data-open-dataset-dialog]")
            .await,
        "Tab moves to the first menu item, not {}",
        page.focused().await
    );
    page.press(Key::Escape).await;
    assert!(!menu_open(&page, PLUS).await, "Escape closes the menu");
    assert!(
        page.focus_is(PLUS).await,
        "the focus is back on the plus button, not {}",
        page.focused().await
    );

    // The popup from the menu: focus moves into it, stays in it, and Escape returns it.
    open_popup_from_plus_menu(&page).await;
    page.shot("popup").await;
    let mut inside = 0;
    for _ in 0..14 {
        page.press(Key::Tab).await;
        let place = page
            .js(
                "var a = document.activeElement, d = document.getElementById('dataset-dialog');
                 return d.contains(a) ? 'inside' : (a === document.body || !a ? 'browser' : 'outside');",
                vec![],
            )
            .await;
        assert_ne!(
            place.as_str(),
            Some("outside"),
            "Tab left the modal popup for {}",
            page.focused().await
        );
        inside += usize::from(place.as_str() == Some("inside"));
    }
    assert!(inside >= 10, "Tab moves through the popup's fields");
    page.press(Key::Escape).await;
    page.wait_until(
        "Escape closes the popup",
        "return !document.getElementById('dataset-dialog').open;",
    )
    .await;
    // The dialog's close event, which moves the focus back, comes a task after `open` clears.
    page.wait_until("the focus returns to the plus button", FOCUS_ON_PLUS)
        .await;

    // The close button, by keyboard.
    open_popup_from_plus_menu(&page).await;
    page.tab_to("#dataset-dialog [data-close-dialog]", 20).await;
    page.press(Key::Enter).await;
    page.wait_until(
        "the Close button closes the popup",
        "return !document.getElementById('dataset-dialog').open;",
    )
    .await;
    page.wait_until("the focus returns to the plus button", FOCUS_ON_PLUS)
        .await;

    // The dashboard's "New dataset" button: type a name and press Enter to create the dataset.
    page.goto("/").await;
    page.tab_to("main a[data-open-dataset-dialog]", 10).await;
    page.press(Key::Enter).await;
    wait_popup_focused(&page).await;
    page.c
        .active_element()
        .await
        .expect("focused field")
        .send_keys("typed-by-keyboard")
        .await
        .expect("type the name");
    page.press_and_wait(Key::Enter, "/kim/typed-by-keyboard")
        .await;
    assert_eq!(page.heading().await, "kim / typed-by-keyboard");

    // The profile menu: Tab to it, Enter, Tab to Settings, Enter.
    page.tab_to(PROFILE, 5).await;
    page.press(Key::Enter).await;
    assert!(
        menu_open(&page, PROFILE).await,
        "Enter opens the profile menu"
    );
    page.shot("profile-menu").await;
    page.tab_to("details[open] a[href='/settings']", 6).await;
    page.press_and_wait(Key::Enter, "/settings").await;
    assert_eq!(page.heading().await, "Settings");

    page.close().await;
}

#[actix_web::test]
async fn error_messages_are_tied_to_their_fields() {
    if !browser_installed() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite app");
    let driver = ChromeDriver::start("keyboard::error_messages_are_tied_to_their_fields").await;
    let page = driver.session(&app.base, true, Some("errors-")).await;

    // Signup with every field wrong.
    page.goto("/signup").await;
    page.fill("#f-username", "no spaces allowed").await;
    page.fill("#f-email", "not-an-email").await;
    page.fill("#f-password", "short").await;
    page.submit("Sign up", "/signup").await;
    let errors = page.field_errors().await;
    for field in ["f-username", "f-email", "f-password"] {
        assert!(
            errors.iter().any(|(id, _)| id == field),
            "#{field} has an error message tied to it: {errors:?}"
        );
    }
    page.check_labels("the signup page with errors").await;
    page.shot("signup").await;

    // A failed login.
    page.sign_up("lee").await;
    page.log_out().await;
    page.goto("/login").await;
    page.fill("#f-login", "lee").await;
    page.fill("#f-password", "wrong password").await;
    page.submit("Log in", "/login").await;
    page.field_errors().await;
    assert!(
        page.has("[role=alert]").await,
        "the failure is announced, {}",
        page.context().await
    );
    page.shot("login").await;
    page.log_in("lee").await;

    // An organization name that is taken (by the user's own name).
    page.goto("/organizations/new").await;
    page.fill("#f-username", "lee").await;
    page.submit("Create organization", "/organizations").await;
    let errors = page.field_errors().await;
    assert!(
        errors.iter().any(|(id, _)| id == "f-username"),
        "the taken name is explained at its field: {errors:?}"
    );
    page.shot("new-organization").await;

    // A dataset without a name, from the popup: the form comes back with the error in the
    // popup (issue 16), the name field focused.
    page.goto("/").await;
    page.click_css("main a[data-open-dataset-dialog]").await;
    wait_popup_focused(&page).await;
    page.click_css("dialog[open] button[type=submit]").await;
    page.wait_until(
        "the errors shown in the popup",
        "return !!document.querySelector('dialog[open] [data-error-summary]');",
    )
    .await;
    assert!(
        page.focus_is("dialog[open] #f-name").await,
        "focus: {}",
        page.focused().await
    );
    let errors = page.field_errors().await;
    assert!(
        errors.iter().any(|(id, _)| id == "f-name"),
        "the missing name is explained at its field: {errors:?}"
    );
    page.check_labels("the new dataset popup with errors").await;
    page.shot("new-dataset").await;

    page.close().await;
}

async fn menu_open(page: &Page, summary: &str) -> bool {
    page.js(
        "var s = document.querySelector(arguments[0]); return !!s && s.parentElement.open;",
        vec![serde_json::json!(summary)],
    )
    .await
        == serde_json::json!(true)
}

/// From anywhere on a page: Tab to the plus button, Enter, Tab to "New dataset", Enter.
async fn open_popup_from_plus_menu(page: &Page) {
    if !page.focus_is(PLUS).await {
        page.tab_to(PLUS, 5).await;
    }
    page.press(Key::Enter).await;
    page.tab_to("details[open] a[data-open-dataset-dialog]", 3)
        .await;
    page.press(Key::Enter).await;
    wait_popup_focused(page).await;
}

async fn wait_popup_focused(page: &Page) {
    page.wait_until(
        "the popup opens with the focus on the name field",
        "var d = document.getElementById('dataset-dialog');
         return d.open && document.activeElement && document.activeElement.id === 'f-name';",
    )
    .await;
}
