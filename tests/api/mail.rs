//! Email verification and password reset against a real SMTP server (aiosmtpd), on both
//! databases: each message arrives with a plain-text and an HTML part, its link is followed,
//! and the rules hold (one use, expiry, the same answer for unknown addresses, throttling,
//! every session ended by a new password).

use std::time::Duration;

use colabel::schema::{email_tokens, users};
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::mail_test;

fn verified(app: &TestApp, username: &str) -> bool {
    app.with_db(|c| {
        let id = find_account_id(c, username).unwrap();
        users::table
            .find(id)
            .select(users::email_verified_at)
            .first::<Option<chrono::NaiveDateTime>>(c)
            .unwrap()
            .is_some()
    })
}

mail_test!(
    async fn signup_sends_a_link_that_verifies_the_address_once(app, sink) {
        let alice = app.user("alice").await;
        let (_, home) = alice.page("/").await;
        assert!(home.contains("Please verify your email address"), "the banner: {home}");
        let mails = sink.wait_for(1, MAIL_WAIT).await;
        let m = &mails[0];
        assert_eq!(m.to, ["alice@example.com"]);
        assert_eq!(m.subject, "Verify your email address for Colabel");
        assert!(m.html.contains("Verify my email address"), "an HTML part: {}", m.html);
        let link = m.link(&format!("{}/email/verify?token=", app.base)).expect("a link to this instance");
        let path = m.path_of("/email/verify").unwrap();
        assert!(link.ends_with(&path));
        let token = m.token_of("/email/verify").unwrap();
        assert!(token.len() >= 22, "at least 128 random bits: {token}");
        // Only the token's hash is stored.
        let stored: Vec<String> = app.with_db(|c| {
            email_tokens::table.select(email_tokens::token_hash).load(c).unwrap()
        });
        assert!(!stored.iter().any(|h| h.contains(&token)));

        // Opening the link changes nothing; the button verifies.
        let (status, page) = alice.page(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("alice@example.com") && page.contains("Verify my email address"));
        assert!(!verified(&app, "alice"));
        // Anyone holding the link may use it: a visitor's browser here.
        let visitor = app.browser();
        let res = visitor.post("/email/verify", &[("token", &token)]).await;
        assert_redirect(&res, "/login");
        assert!(verified(&app, "alice"));
        let (_, home) = alice.page("/").await;
        assert!(!home.contains("Please verify your email address"), "the banner is gone");
        // Used once.
        let res = alice.post("/email/verify", &[("token", &token)]).await;
        assert_eq!(res.status(), StatusCode::GONE);
        assert_eq!(alice.page(&path).await.0, StatusCode::GONE);
    }
);

mail_test!(
    async fn a_new_address_is_verified_again_and_the_old_one_is_told(app, sink) {
        let bob = app.user("bob").await;
        verify_email(&bob, &sink, "bob@example.com").await;
        let first_link = sink.to("bob@example.com")[0].token_of("/email/verify").unwrap();
        let res = bob
            .post(
                "/settings",
                &[("action", "profile"), ("display_name", "Bob"), ("email", "bob@new.example")],
            )
            .await;
        assert_redirect(&res, "/settings");
        assert!(!verified(&app, "bob"), "the new address is not verified yet");
        let mails = sink.wait_for(3, MAIL_WAIT).await;
        let notice = sink.to("bob@example.com").into_iter().find(|m| m.subject.contains("changed")).expect("the old address is told");
        assert!(notice.text.contains("bob@new.example"), "{}", notice.text);
        assert!(notice.text.contains("/password/forgot"));
        assert!(!notice.text.contains("token="), "no one-time link to the old address");
        let to_new = sink.to("bob@new.example");
        assert_eq!(to_new.len(), 1, "{mails:#?}");
        let (_, page) = bob.page("/").await;
        assert!(page.contains("bob@new.example") && page.contains("Please verify"));
        // An old link verifies nothing.
        assert_eq!(bob.post("/email/verify", &[("token", &first_link)]).await.status(), StatusCode::GONE);
        verify_email(&bob, &sink, "bob@new.example").await;
        assert!(verified(&app, "bob"));
    }
);

mail_test!(
    async fn the_banner_sends_the_link_again_within_a_limit(app, sink) {
        let carol = app.user("carol").await;
        sink.wait_for(1, MAIL_WAIT).await;
        for _ in 0..4 {
            let res = carol.post("/settings/email/verify", &[]).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        }
        sink.wait_for(5, MAIL_WAIT).await;
        // Only the newest link works.
        let mails = sink.to("carol@example.com");
        let oldest = mails[0].token_of("/email/verify").unwrap();
        assert_eq!(carol.post("/email/verify", &[("token", &oldest)]).await.status(), StatusCode::GONE);
        // Past five a window, the banner says to wait and nothing is sent.
        carol.post("/settings/email/verify", &[]).await;
        let res = carol.post("/settings/email/verify", &[]).await;
        let (_, page) = carol.follow(res).await;
        assert!(flash_of(&page).contains("Try again in"), "{}", flash_of(&page));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sink.to("carol@example.com").len(), 6);
    }
);

mail_test!(
    async fn a_forgotten_password_is_reset_by_a_one_hour_single_use_link(app, sink) {
        let dave = app.user("dave").await;
        sink.wait_for(1, MAIL_WAIT).await;
        let other_session = app.browser();
        assert_eq!(other_session.login("dave", PASSWORD).await.status(), StatusCode::SEE_OTHER);
        let visitor = app.browser();
        let (status, login) = visitor.page("/login").await;
        assert_eq!(status, StatusCode::OK);
        assert!(login.contains("href=\"/password/forgot\""), "Forgot password? on the login page");

        // The same answer whether or not the address has an account.
        let unknown = visitor.post("/password/forgot", &[("email", "nobody@example.com")]).await;
        assert_redirect(&unknown, "/login");
        let unknown_flash = flash_of(&visitor.page("/login").await.1);
        let known = visitor.post("/password/forgot", &[("email", "DAVE@example.com")]).await;
        assert_redirect(&known, "/login");
        let known_flash = flash_of(&visitor.page("/login").await.1);
        assert_eq!(
            unknown_flash.replace("nobody@example.com", "X"),
            known_flash.replace("DAVE@example.com", "X")
        );
        let known2 = visitor.post("/password/forgot", &[("email", "dave@example.com")]).await;
        assert_redirect(&known2, "/login");
        let mails = sink.wait_for(3, MAIL_WAIT).await;
        assert!(sink.to("nobody@example.com").is_empty());
        let resets: Vec<_> = sink.to("dave@example.com").into_iter().filter(|m| m.subject == "Reset your Colabel password").collect();
        assert_eq!(resets.len(), 2, "{mails:#?}");
        assert!(resets[0].text.contains("60 minutes") && !resets[0].html.is_empty());
        let first = resets[0].token_of("/password/reset").unwrap();
        let second = resets[1].path_of("/password/reset").unwrap();
        let second_token = resets[1].token_of("/password/reset").unwrap();

        let (status, form) = visitor.page(&second).await;
        assert_eq!(status, StatusCode::OK);
        assert!(form.contains("dave") && form.contains("name=\"token\""));
        // A too-short password is refused beside the field; the link still works.
        let res = visitor.post("/password/reset", &[("token", &second_token), ("password", "short")]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = visitor.post("/password/reset", &[("token", &second_token), ("password", "a brand new secret")]).await;
        assert_redirect(&res, "/login");
        // Every session ended, and every other reset link.
        assert!(location(&dave.get("/settings").await).starts_with("/login"));
        assert!(location(&other_session.get("/settings").await).starts_with("/login"));
        assert_eq!(visitor.post("/password/reset", &[("token", &second_token), ("password", "another new secret")]).await.status(), StatusCode::GONE);
        assert_eq!(visitor.post("/password/reset", &[("token", &first), ("password", "another new secret")]).await.status(), StatusCode::GONE);
        let b = app.browser();
        assert_eq!(b.login("dave", PASSWORD).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(b.login("dave", "a brand new secret").await.status(), StatusCode::SEE_OTHER);
        // The link proved the address: it counts as verified.
        assert!(verified(&app, "dave"));
    }
);

mail_test!(
    async fn an_expired_reset_link_is_refused(app, sink) {
        app.user("erin").await;
        let visitor = app.browser();
        visitor.post("/password/forgot", &[("email", "erin@example.com")]).await;
        let mails = sink.wait_for(2, MAIL_WAIT).await;
        let token = mails.iter().find_map(|m| m.token_of("/password/reset")).unwrap();
        app.with_db(|c| {
            diesel::update(email_tokens::table)
                .set(email_tokens::expires_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1)))
                .execute(c)
                .unwrap()
        });
        assert_eq!(visitor.page(&format!("/password/reset?token={token}")).await.0, StatusCode::GONE);
        let res = visitor.post("/password/reset", &[("token", &token), ("password", "a brand new secret")]).await;
        assert_eq!(res.status(), StatusCode::GONE);
    }
);

mail_test!(
    async fn reset_requests_are_throttled_per_address_with_the_same_answer(app, sink) {
        app.user("frank").await;
        sink.wait_for(1, MAIL_WAIT).await;
        let visitor = app.browser();
        for _ in 0..7 {
            let res = visitor.post("/password/forgot", &[("email", "frank@example.com")]).await;
            assert_redirect(&res, "/login");
        }
        sink.wait_for(6, MAIL_WAIT).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(sink.to("frank@example.com").len(), 6, "1 verification + 5 resets");
    }
);

crate::db_test!(
    async fn without_a_server_messages_are_written_to_the_mail_folder(app) {
        app.user("gus").await;
        let dir = app.settings.mail.dir.clone().expect("the test's mail folder");
        let deadline = std::time::Instant::now() + MAIL_WAIT;
        let file = loop {
            let found = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"));
            if let Some(f) = found {
                break f;
            }
            assert!(std::time::Instant::now() < deadline, "no .eml file in {}", dir.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(file.file_name().unwrap().to_str().unwrap().ends_with("-verify_email.eml"));
        let raw = std::fs::read_to_string(&file).unwrap();
        assert!(raw.contains("To: gus@example.com"), "{raw}");
        assert!(raw.contains("multipart/alternative") && raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains("/email/verify?token="));
        // The job is done, and its payload no longer holds the link.
        let payloads: Vec<(String, String)> = app.with_db(|c| {
            colabel::schema::jobs::table
                .select((colabel::schema::jobs::status, colabel::schema::jobs::payload))
                .load(c)
                .unwrap()
        });
        let deadline = std::time::Instant::now() + MAIL_WAIT;
        let mut payloads = payloads;
        while payloads.iter().any(|(s, _)| s != "done") {
            assert!(std::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
            payloads = app.with_db(|c| {
                colabel::schema::jobs::table
                    .select((colabel::schema::jobs::status, colabel::schema::jobs::payload))
                    .load(c)
                    .unwrap()
            });
        }
        assert!(payloads.iter().all(|(_, p)| !p.contains("token=")), "{payloads:?}");
    }
);

mail_test!(
    async fn changing_the_password_ends_every_reset_link(app, sink) {
        let ida = app.user("ida").await;
        let visitor = app.browser();
        visitor.post("/password/forgot", &[("email", "ida@example.com")]).await;
        let mails = sink.wait_for(2, MAIL_WAIT).await;
        let token = mails.iter().find_map(|m| m.token_of("/password/reset")).unwrap();
        let res = ida
            .post(
                "/settings",
                &[("action", "password"), ("current_password", PASSWORD), ("new_password", "a changed secret")],
            )
            .await;
        assert_redirect(&res, "/settings");
        let res = visitor.post("/password/reset", &[("token", &token), ("password", "an attacker's choice")]).await;
        assert_eq!(res.status(), StatusCode::GONE);
    }
);
