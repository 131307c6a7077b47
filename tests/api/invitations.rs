//! Invitations against a real SMTP server, on both databases: each kind of invitation email
//! and its link followed to acceptance; resend, cancel, decline, expiry; addressing rules;
//! the daily limit; the "only by invitation" setting; every step in the audit log.

use std::time::Duration;

use colabel::schema::{audit_events, invitations, memberships};
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::mail_test;

/// `admin` (signed up) creates organization `org`.
async fn org_of(app: &TestApp, admin: &str, org: &str) -> Browser {
    let b = app.user(admin).await;
    let res = b
        .post("/organizations", &[("username", org), ("display_name", "")])
        .await;
    assert_redirect(&res, &format!("/{org}"));
    b
}

async fn invite(
    b: &Browser,
    org: &str,
    who: &str,
    role: &str,
    default_role: &str,
) -> reqwest::Response {
    b.post(
        &format!("/{org}/settings/members/invitations"),
        &[
            ("invitee", who),
            ("role", role),
            ("default_role", default_role),
        ],
    )
    .await
}

fn membership(app: &TestApp, org: &str, user: &str) -> Option<(String, Option<String>)> {
    app.with_db(|c| {
        let (o, u) = (find_account_id(c, org)?, find_account_id(c, user)?);
        memberships::table
            .filter(memberships::org_id.eq(o))
            .filter(memberships::user_id.eq(u))
            .select((memberships::role, memberships::default_dataset_role))
            .first(c)
            .optional()
            .unwrap()
    })
}

fn audit_actions(app: &TestApp, org: &str) -> Vec<String> {
    app.with_db(|c| {
        let o = find_account_id(c, org).unwrap();
        audit_events::table
            .filter(audit_events::account_id.eq(o))
            .order(audit_events::id)
            .select(audit_events::action)
            .load(c)
            .unwrap()
    })
}

/// The id of the newest invitation.
fn last_invitation(app: &TestApp) -> i32 {
    app.with_db(|c| {
        invitations::table
            .order(invitations::id.desc())
            .select(invitations::id)
            .first(c)
            .unwrap()
    })
}

mail_test!(
    async fn an_email_invitation_leads_through_signup_and_verification_to_membership(app, sink) {
        let alice = org_of(&app, "alice", "acme").await;
        let res = invite(&alice, "acme", "carol@example.com", "admin", "reviewer").await;
        assert_redirect(&res, "/acme/settings/members");
        let (_, page) = alice.follow(res).await;
        assert!(page.contains("carol@example.com was invited to acme"), "{}", flash_of(&page));
        let mail = loop {
            if let Some(m) = sink.to("carol@example.com").into_iter().next() {
                break m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(mail.subject, "alice invited you to join acme on Colabel");
        assert!(mail.text.contains("Organization role: Administrator"), "{}", mail.text);
        assert!(mail.text.contains("Default dataset role: Reviewer"));
        assert!(mail.html.contains("View the invitation"));
        let link = mail.path_of("/invitation").expect("a link");
        let token = mail.token_of("/invitation").unwrap();
        // The pending invitation shows as sent.
        let (_, members) = alice.page("/acme/settings/members").await;
        assert!(members.contains("Pending invitations") && members.contains("sent"), "{members}");

        // A visitor opening the link is offered to sign up with that address.
        let carol = app.browser();
        let (status, page) = carol.page(&link).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Create an account") && page.contains("/signup?email=carol%40example%2Ecom"), "{page}");
        let (status, signup) = carol.page("/signup?email=carol%40example.com").await;
        assert_eq!(status, StatusCode::OK);
        assert!(signup.contains("value=\"carol@example.com\""));
        let res = carol
            .post("/signup", &[("username", "carol"), ("email", "carol@example.com"), ("password", PASSWORD)])
            .await;
        assert_redirect(&res, "/");
        // Not before the address is verified.
        let res = carol.post("/invitation", &[("token", &token), ("action", "accept")]).await;
        let (_, page) = carol.follow(res).await;
        assert!(flash_of(&page).contains("Verify that address first"), "{}", flash_of(&page));
        assert_eq!(membership(&app, "acme", "carol"), None);
        let (_, home) = carol.page("/").await;
        assert!(!home.contains("data-invitation-org=\"acme\""), "not offered before verification");

        verify_email(&carol, &sink, "carol@example.com").await;
        let (_, home) = carol.page("/").await;
        assert!(home.contains("data-invitation-org=\"acme\""), "offered on the dashboard: {home}");
        let id = last_invitation(&app);
        let res = carol
            .post(&format!("/settings/organizations/invitations/{id}"), &[("action", "accept"), ("back", "/")])
            .await;
        assert_redirect(&res, "/acme");
        assert_eq!(membership(&app, "acme", "carol"), Some(("admin".into(), Some("reviewer".into()))));
        // Single use: the link now says so.
        let (status, page) = carol.page(&link).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("already accepted"), "{page}");
        let res = carol.post("/invitation", &[("token", &token), ("action", "accept")]).await;
        let (_, page) = carol.follow(res).await;
        assert!(flash_of(&page).contains("already accepted"));
        let actions = audit_actions(&app, "acme");
        assert_eq!(actions, ["org.created", "invitation.sent", "invitation.accepted"]);
    }
);

mail_test!(
    async fn a_username_invitation_is_emailed_to_a_verified_address_and_answered_from_the_link(app, sink) {
        let alice = org_of(&app, "alice", "acme").await;
        let bob = app.user("bob").await;
        verify_email(&bob, &sink, "bob@example.com").await;
        let res = invite(&alice, "acme", "BOB", "member", "labeler").await;
        assert_redirect(&res, "/acme/settings/members");
        let deadline = std::time::Instant::now() + MAIL_WAIT;
        let mail = loop {
            if let Some(m) = sink.to("bob@example.com").into_iter().find(|m| m.subject.contains("invited you")) {
                break m;
            }
            assert!(std::time::Instant::now() < deadline, "no invitation email");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(mail.text.contains("find the invitation on your Colabel dashboard"), "{}", mail.text);
        // On the dashboard and the Organizations tab.
        assert!(bob.page("/").await.1.contains("data-invitation-org=\"acme\""));
        assert!(bob.page("/settings/organizations").await.1.contains("data-invitation-org=\"acme\""));
        // Another account cannot answer it.
        let eve = app.user("eve").await;
        let link = mail.path_of("/invitation").unwrap();
        let (_, page) = eve.page(&link).await;
        assert!(page.contains("for another account"), "{page}");
        let token = mail.token_of("/invitation").unwrap();
        let res = eve.post("/invitation", &[("token", &token), ("action", "accept")]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(membership(&app, "acme", "eve"), None);
        let id = last_invitation(&app);
        let res = eve.post(&format!("/settings/organizations/invitations/{id}"), &[("action", "accept")]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "someone else's invitation is not found");
        // Bob accepts from the link's page.
        let (_, page) = bob.page(&link).await;
        assert!(page.contains("Accept and join acme"), "{page}");
        let res = bob.post("/invitation", &[("token", &token), ("action", "accept")]).await;
        assert_redirect(&res, "/acme");
        assert_eq!(membership(&app, "acme", "bob"), Some(("member".into(), Some("labeler".into()))));
    }
);

mail_test!(
    async fn a_user_without_a_verified_address_finds_the_invitation_on_the_dashboard(app, sink) {
        let alice = org_of(&app, "alice", "acme").await;
        let dan = app.user("dan").await;
        sink.wait_for(2, MAIL_WAIT).await;
        let res = invite(&alice, "acme", "dan", "member", "none").await;
        let (_, page) = alice.follow(res).await;
        assert!(flash_of(&page).contains("dashboard"), "{}", flash_of(&page));
        assert!(page.contains("not emailed"), "the pending list says so");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sink.messages().len(), 2, "no invitation email to an unverified address");
        // Declined, then invited again: a declined invitation never blocks a new one.
        let id = last_invitation(&app);
        let res = dan
            .post(&format!("/settings/organizations/invitations/{id}"), &[("action", "decline")])
            .await;
        assert_redirect(&res, "/settings/organizations");
        assert!(!dan.page("/").await.1.contains("data-invitation-org"));
        let res = invite(&alice, "acme", "dan", "member", "viewer").await;
        assert_redirect(&res, "/acme/settings/members");
        let id = last_invitation(&app);
        let res = dan
            .post(&format!("/settings/organizations/invitations/{id}"), &[("action", "accept")])
            .await;
        assert_redirect(&res, "/acme");
        assert_eq!(membership(&app, "acme", "dan"), Some(("member".into(), Some("viewer".into()))));
        assert_eq!(
            audit_actions(&app, "acme"),
            ["org.created", "invitation.sent", "invitation.declined", "invitation.sent", "invitation.accepted"]
        );
    }
);

mail_test!(
    async fn resend_renews_with_a_new_link_and_cancel_ends_it(app, sink) {
        let alice = org_of(&app, "alice", "acme").await;
        sink.wait_for(1, MAIL_WAIT).await;
        invite(&alice, "acme", "gina@example.com", "member", "labeler").await;
        sink.wait_for(2, MAIL_WAIT).await;
        let id = last_invitation(&app);
        let ends = |app: &TestApp| {
            app.with_db(|c| invitations::table.find(id).select(invitations::expires_at).first::<chrono::NaiveDateTime>(c).unwrap())
        };
        let first_end = ends(&app);
        // Pretend it was sent long ago: a resend gives it 7 days from now.
        app.with_db(|c| {
            diesel::update(invitations::table.find(id))
                .set(invitations::expires_at.eq(first_end - chrono::Duration::days(5)))
                .execute(c)
                .unwrap()
        });
        let res = alice.post(&format!("/acme/settings/members/invitations/{id}"), &[("action", "resend")]).await;
        assert_redirect(&res, "/acme/settings/members");
        let mails = sink.wait_for(3, MAIL_WAIT).await;
        assert!(ends(&app) >= first_end, "renewed");
        let old = mails[1].path_of("/invitation").unwrap();
        let new = mails[2].path_of("/invitation").unwrap();
        assert_ne!(old, new);
        let visitor = app.browser();
        assert_eq!(visitor.page(&old).await.0, StatusCode::NOT_FOUND, "the old link stopped working");
        assert_eq!(visitor.page(&new).await.0, StatusCode::OK);
        // Cancelled: the link says so, and the invitation is off the list.
        let res = alice.post(&format!("/acme/settings/members/invitations/{id}"), &[("action", "cancel")]).await;
        assert_redirect(&res, "/acme/settings/members");
        let (_, page) = visitor.page(&new).await;
        assert!(page.contains("cancelled"), "{page}");
        assert!(!alice.page("/acme/settings/members").await.1.contains("data-invitation=\"gina@example.com\""));
        // Not resent once cancelled.
        let res = alice.post(&format!("/acme/settings/members/invitations/{id}"), &[("action", "resend")]).await;
        let (_, page) = alice.follow(res).await;
        assert!(flash_of(&page).contains("cancelled"), "{}", flash_of(&page));
        // A new invitation is fine.
        assert_redirect(&invite(&alice, "acme", "gina@example.com", "member", "labeler").await, "/acme/settings/members");
        assert_eq!(
            audit_actions(&app, "acme"),
            ["org.created", "invitation.sent", "invitation.resent", "invitation.cancelled", "invitation.sent"]
        );
    }
);

mail_test!(
    async fn an_expired_invitation_is_refused_recorded_and_never_blocks_a_new_one(app, sink) with |s| {
        // Housekeeping runs every 60 polls.
        s.jobs.poll = Duration::from_millis(20);
    } {
        let alice = org_of(&app, "alice", "acme").await;
        let hal = app.user("hal").await;
        sink.wait_for(2, MAIL_WAIT).await;
        invite(&alice, "acme", "hal", "member", "labeler").await;
        let id = last_invitation(&app);
        app.with_db(|c| {
            diesel::update(invitations::table.find(id))
                .set(invitations::expires_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1)))
                .execute(c)
                .unwrap()
        });
        assert!(!hal.page("/").await.1.contains("data-invitation-org"), "an expired one is not offered");
        let res = hal.post(&format!("/settings/organizations/invitations/{id}"), &[("action", "accept")]).await;
        let (_, page) = hal.follow(res).await;
        assert!(flash_of(&page).contains("expired"), "{}", flash_of(&page));
        assert_eq!(membership(&app, "acme", "hal"), None);
        // The worker's housekeeping records the expiry.
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while !audit_actions(&app, "acme").contains(&"invitation.expired".to_string()) {
            assert!(std::time::Instant::now() < deadline, "the expiry was not recorded");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, log) = alice.page("/acme/settings/audit").await;
        assert!(log.contains("Colabel</strong> expired the invitation of <strong>hal"), "{log}");
        assert_redirect(&invite(&alice, "acme", "hal", "member", "labeler").await, "/acme/settings/members");
        let id = last_invitation(&app);
        assert_redirect(&hal.post(&format!("/settings/organizations/invitations/{id}"), &[("action", "accept")]).await, "/acme");
    }
);

mail_test!(
    async fn who_cannot_be_invited_is_said_beside_the_field(app, sink) with |s| {
        s.mail.invitations_per_day = 3;
    } {
        let alice = org_of(&app, "alice", "acme").await;
        app.user("ivan").await;
        let before = snapshot(&app);
        for (who, says) in [
            ("", "Type the username or the email address"),
            ("nobody", "There is no user with that username"),
            ("acme", "That is an organization"),
            ("alice", "already a member"),
            ("alice@example.com", "already a member"),
            ("not@an@address", "email"),
        ] {
            let res = invite(&alice, "acme", who, "member", "labeler").await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{who}");
            let page = res.text().await.unwrap();
            assert!(page.contains(says), "{who}: {says}");
            assert!(page.contains(&format!("value=\"{who}\"")), "the input is kept");
        }
        assert_eq!(snapshot(&app), before);
        assert_redirect(&invite(&alice, "acme", "ivan", "member", "labeler").await, "/acme/settings/members");
        let res = invite(&alice, "acme", "IVAN", "member", "labeler").await;
        assert!(res.text().await.unwrap().contains("already has a pending invitation"));
        // The daily limit (3 here) counts invitations and resends.
        let id = last_invitation(&app);
        alice.post(&format!("/acme/settings/members/invitations/{id}"), &[("action", "resend")]).await;
        assert_redirect(&invite(&alice, "acme", "x1@example.com", "member", "labeler").await, "/acme/settings/members");
        let res = invite(&alice, "acme", "x2@example.com", "member", "labeler").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("has sent 3 invitations in the last 24 hours"));
        drop(sink);
    }
);

mail_test!(
    async fn only_by_invitation_turns_off_direct_adds(app, sink) {
        let alice = org_of(&app, "alice", "acme").await;
        app.user("judy").await;
        let res = alice.post("/acme/settings", &[("action", "policy"), ("member_policy", "invite")]).await;
        assert_redirect(&res, "/acme/settings");
        let (_, page) = alice.page("/acme/settings/members").await;
        assert!(page.contains("adds members only by invitation") && !page.contains(">Add member</button>"));
        let res = alice
            .post("/acme/settings/members", &[("username", "judy"), ("role", "member"), ("default_role", "none")])
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(membership(&app, "acme", "judy"), None);
        assert_redirect(&invite(&alice, "acme", "judy", "member", "none").await, "/acme/settings/members");
        let res = alice.post("/acme/settings", &[("action", "policy"), ("member_policy", "direct")]).await;
        assert_redirect(&res, "/acme/settings");
        let res = alice
            .post("/acme/settings/members", &[("username", "judy"), ("role", "member"), ("default_role", "none")])
            .await;
        assert_redirect(&res, "/acme/settings/members");
        let actions = audit_actions(&app, "acme");
        assert_eq!(actions.iter().filter(|a| *a == "org.settings_changed").count(), 2);
        drop(sink);
    }
);

mail_test!(
    async fn a_refused_invitation_email_shows_as_failed_to_administrators(app, sink) {
        let alice = org_of(&app, "alice", "acme").await;
        sink.wait_for(1, MAIL_WAIT).await;
        sink.set_mode("5xx");
        invite(&alice, "acme", "kim@example.com", "member", "labeler").await;
        let deadline = std::time::Instant::now() + MAIL_WAIT;
        loop {
            let (_, page) = alice.page("/acme/settings/members").await;
            if page.contains("failed:") {
                assert!(page.contains("550"), "the server's answer is shown: {page}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the failure is not shown: {page}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Resent once the server accepts again.
        sink.set_mode("accept");
        let id = last_invitation(&app);
        alice.post(&format!("/acme/settings/members/invitations/{id}"), &[("action", "resend")]).await;
        sink.wait_for(2, MAIL_WAIT).await;
        assert_eq!(sink.to("kim@example.com").len(), 1);
    }
);
