//! Organization webhooks (issue 17) on both databases, against a real HTTP receiver on
//! loopback (`support/receiver.rs`): every event once, signed, with the right roles before
//! and after; nothing for a change that rolled back; retries with the same delivery id on
//! 5xx, none on 4xx; disabling after consecutive failures; private addresses refused at
//! save time and, after DNS resolution, at connection time unless the switch is on; two
//! instances delivering each event once; the binary killed with SIGKILL mid-delivery, then
//! restarted, sending it again with the same delivery id.

use std::collections::HashSet;
use std::time::Duration;

use colabel::schema::{invitations, jobs, webhook_deliveries};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::*;
use crate::process::{Colabel, PgDatabase};
use crate::receiver::{Received, Receiver};
use crate::{db_test, db_test_with};

const WAIT: Duration = Duration::from_secs(15);

fn allow_private(s: &mut colabel::config::Settings) {
    s.webhooks.allow_private = true;
}

fn allow_private_fail_fast(s: &mut colabel::config::Settings) {
    s.webhooks.allow_private = true;
    s.webhooks.max_failures = 3;
}

/// Whether `r` carries a valid signature of its body under `secret`, and its headers agree
/// with the body.
fn check_signed(r: &Received, secret: &str) -> Value {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(r.body.as_bytes());
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        r.header("x-colabel-signature-256"),
        want,
        "signature of {}",
        r.body
    );
    assert_eq!(r.header("content-type"), "application/json");
    let body = r.json();
    assert_eq!(
        body["delivery"],
        r.header("x-colabel-delivery"),
        "{}",
        r.body
    );
    assert_eq!(body["event"], r.header("x-colabel-event"), "{}", r.body);
    body
}

/// `alice`, administrator of `acme`, with an API client.
async fn acme(app: &TestApp) -> (Browser, Api) {
    let (alice, api) = app.api_user("alice").await;
    let res = alice
        .post(
            "/organizations",
            &[("username", "acme"), ("display_name", "")],
        )
        .await;
    assert_redirect(&res, "/acme");
    (alice, api)
}

/// A webhook of acme to `url` hearing `events`; returns its id and secret.
async fn hook(api: &Api, url: &str, events: Value) -> (i64, String) {
    let res = api
        .post(
            "/organizations/acme/webhooks/",
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let body = res.json();
    (
        body["id"].as_i64().unwrap(),
        body["secret"].as_str().unwrap().to_string(),
    )
}

fn deliveries(app: &TestApp) -> i64 {
    app.with_db(|c| webhook_deliveries::table.count().get_result(c).unwrap())
}

db_test_with!(allow_private, async fn every_event_arrives_once_signed_with_the_roles_before_and_after(app) {
    let rx = Receiver::start();
    let (alice, api) = acme(&app).await;
    app.user("bob").await;
    let carol_b = app.user("carol").await;
    let dan = app.user("dan").await;
    let erin = app.user("erin").await;
    let (_, secret) = hook(&api, &rx.url(), json!(["*"])).await;
    let ping = rx.wait_for(1, WAIT).await;
    assert_eq!(check_signed(&ping[0], &secret)["event"], "ping");

    let ok = |res: ApiAnswer| assert!(res.status.is_success(), "{} {}", res.status, res.text);
    ok(api.post("/organizations/acme/members/", json!({"username": "bob", "role": "member", "default_dataset_role": "labeler"})).await);
    ok(api.patch("/organizations/acme/members/bob", json!({"role": "admin", "default_dataset_role": "viewer"})).await);
    ok(api.post("/organizations/acme/members/", json!({"username": "carol", "default_dataset_role": null})).await);
    ok(api.post("/organizations/acme/datasets/", json!({"name": "cars"})).await);
    ok(api.patch("/datasets/acme/cars/", json!({"description": "all the cars"})).await);
    ok(api.post("/datasets/acme/cars/collaborators/", json!({"user": "carol", "role": "labeler"})).await);
    ok(api.patch("/datasets/acme/cars/collaborators/carol", json!({"role": "reviewer"})).await);
    ok(api.delete("/datasets/acme/cars/collaborators/carol").await);
    ok(api.delete("/datasets/acme/cars/").await);
    ok(api.delete("/organizations/acme/members/bob").await);
    let carol = Api::new(&app.base, Some(&app.api_key(&carol_b, "k").await));
    ok(carol.delete("/user/organizations/acme").await);
    // Invitations: dan accepts, erin declines.
    for who in ["dan", "erin"] {
        let res = alice
            .post("/acme/settings/members/invitations", &[("invitee", who), ("role", "member"), ("default_role", "viewer")])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "inviting {who}");
    }
    let invitation = |who: &str| -> i32 {
        app.with_db(|c| {
            let id = find_account_id(c, who).unwrap();
            invitations::table
                .filter(invitations::invitee_id.eq(id))
                .select(invitations::id)
                .first(c)
                .unwrap()
        })
    };
    for (b, who, action) in [(&dan, "dan", "accept"), (&erin, "erin", "decline")] {
        let res = b
            .post(&format!("/settings/organizations/invitations/{}", invitation(who)), &[("action", action)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{who} {action}s");
    }

    let expected = [
        "ping", "member.added", "member.changed", "member.added", "dataset.created",
        "dataset.settings_changed", "collaborator.added", "collaborator.changed",
        "collaborator.removed", "dataset.deleted", "member.removed", "member.removed",
        "invitation.sent", "invitation.sent", "invitation.accepted", "member.added",
        "invitation.declined",
    ];
    let got = rx.wait_for(expected.len(), WAIT).await;
    // A moment more: nothing else may arrive.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got = if rx.got().len() > got.len() { rx.got() } else { got };
    let bodies: Vec<Value> = got.iter().map(|r| check_signed(r, &secret)).collect();
    let names: Vec<&str> = bodies.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(names, expected, "each event once, in order");
    let ids: HashSet<&str> = bodies.iter().map(|b| b["delivery"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), bodies.len(), "a delivery id per event");
    for b in &bodies {
        assert_eq!(b["organization"]["name"], "acme");
        assert!(b["time"].as_str().unwrap().ends_with('Z'), "{b}");
    }
    let roles = |role: &str, default: Option<&str>| json!({"role": role, "default_dataset_role": default});
    let b = &bodies[1];
    assert_eq!((b["actor"]["name"].as_str(), b["subject"]["name"].as_str()), (Some("alice"), Some("bob")));
    assert_eq!((&b["before"], &b["after"]), (&Value::Null, &roles("member", Some("labeler"))));
    let b = &bodies[2];
    assert_eq!(b["before"], roles("member", Some("labeler")), "{b}");
    assert_eq!(b["after"], roles("admin", Some("viewer")), "both roles in one event: {b}");
    assert_eq!(bodies[4]["subject"], json!({"type": "dataset", "name": "cars"}));
    let b = &bodies[7];
    assert_eq!((b["dataset"].as_str(), b["subject"]["name"].as_str()), (Some("cars"), Some("carol")));
    assert_eq!((&b["before"], &b["after"]), (&roles("labeler", None), &roles("reviewer", None)));
    assert_eq!((&bodies[8]["before"], &bodies[8]["after"]), (&roles("reviewer", None), &Value::Null));
    let b = &bodies[10];
    assert_eq!((b["subject"]["name"].as_str(), &b["before"]), (Some("bob"), &roles("admin", Some("viewer"))));
    let b = &bodies[11];
    assert_eq!((b["actor"]["name"].as_str(), b["subject"]["name"].as_str()), (Some("carol"), Some("carol")), "carol left: {b}");
    assert_eq!(bodies[12]["after"], roles("member", Some("viewer")));
    assert_eq!(bodies[14]["subject"]["name"], "dan");
    assert_eq!(bodies[15]["after"], roles("member", Some("viewer")), "joining by invitation is a member added");
    assert_eq!(bodies[16]["subject"]["name"], "erin");
});

db_test_with!(allow_private, async fn a_webhook_hears_only_its_events(app) {
    let rx = Receiver::start();
    let (_, api) = acme(&app).await;
    app.user("bob").await;
    hook(&api, &rx.url(), json!(["dataset.created"])).await;
    rx.wait_for(1, WAIT).await;
    api.post("/organizations/acme/members/", json!({"username": "bob"})).await;
    api.post("/organizations/acme/datasets/", json!({"name": "cars"})).await;
    let got = rx.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let names: Vec<String> = rx.got().iter().map(|r| r.json()["event"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["ping", "dataset.created"], "{got:?}");
    let bad = api.post("/organizations/acme/webhooks/", json!({"url": rx.url(), "events": ["member.added", "nope"]})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("nope"), "{}", bad.text);
});

db_test_with!(allow_private, async fn a_change_that_rolled_back_sends_nothing(app) {
    let rx = Receiver::start();
    let (_, api) = acme(&app).await;
    let (_, bob_api) = app.api_user("bob").await;
    hook(&api, &rx.url(), json!(["*"])).await;
    rx.wait_for(1, WAIT).await;
    let before = deliveries(&app);
    // Refused: the last administrator leaves; a member is added twice; a member manages.
    assert_eq!(api.delete("/user/organizations/acme").await.status, StatusCode::CONFLICT);
    api.post("/organizations/acme/members/", json!({"username": "bob"})).await;
    rx.wait_for(2, WAIT).await;
    assert_eq!(api.post("/organizations/acme/members/", json!({"username": "bob"})).await.status, StatusCode::CONFLICT);
    assert_eq!(bob_api.delete("/organizations/acme/members/alice").await.status, StatusCode::FORBIDDEN);
    // A change made and audited inside a transaction that then rolls back.
    let alice_id = app.with_db(|c| find_account_id(c, "alice").unwrap());
    app.user("carol").await;
    let rolled_back = app.with_db(|c| {
        colabel::db::write_tx(c, |tx| -> Result<(), colabel::app::DomainError> {
            let p = colabel::app::Principal {
                user_id: alice_id,
                username: "alice".into(),
                via: colabel::app::Via::Session,
            };
            colabel::app::orgs::add_member(tx, &p, colabel::app::orgs::AddMember {
                org: "acme".into(),
                username: "carol".into(),
                role: colabel::domain::roles::OrgRole::Member,
                default_role: None,
            })?;
            Err(colabel::app::DomainError::Internal("roll back".into()))
        })
    });
    assert!(rolled_back.is_err());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let names: Vec<String> = rx.got().iter().map(|r| r.json()["event"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["ping", "member.added"], "only the committed change");
    assert_eq!(deliveries(&app), before + 1);
    let queued: i64 = app.with_db(|c| jobs::table.filter(jobs::kind.eq("webhook")).count().get_result(c).unwrap());
    assert_eq!(queued, 2, "no job for what rolled back");
});

db_test_with!(allow_private, async fn a_5xx_is_retried_with_the_same_delivery_id_and_can_be_redelivered(app) {
    let rx = Receiver::start();
    rx.answer(&[500, 503]);
    let (_, api) = acme(&app).await;
    let (id, secret) = hook(&api, &rx.url(), json!(["*"])).await;
    let got = rx.wait_for(3, WAIT).await;
    assert_eq!(got.len(), 3, "two failures, then a success");
    let first = check_signed(&got[0], &secret);
    for r in &got[1..] {
        assert_eq!(check_signed(r, &secret), first, "the same body and delivery id on every attempt");
    }
    let log = api.get(&format!("/organizations/acme/webhooks/{id}/deliveries/")).await.json();
    let d = &log[0];
    assert_eq!((d["status"].as_str(), d["attempts"].as_i64(), d["status_code"].as_i64()), (Some("ok"), Some(3), Some(200)), "{d}");
    let codes: Vec<i64> = d["attempt_log"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 503, 200]);
    let a = &d["attempt_log"][2];
    assert!(a["response_headers"].as_str().unwrap().contains("x-receiver: test"), "{a}");
    assert_eq!(a["response_body"], "answered");
    assert!(a["request_headers"].as_str().unwrap().contains("X-Colabel-Signature-256: sha256="), "{a}");
    assert!(!a.to_string().contains(&secret), "the secret is in no log");
    let hookv = api.get(&format!("/organizations/acme/webhooks/{id}")).await.json();
    assert_eq!(hookv["consecutive_failures"], 0, "a success resets the count");
    assert!(hookv.get("secret").is_none(), "the secret is shown once only");
    // Redeliver: the same delivery id again.
    let guid = d["delivery"].as_str().unwrap();
    let res = api.post(&format!("/organizations/acme/webhooks/{id}/deliveries/{guid}/redeliver"), json!({})).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text);
    let got = rx.wait_for(4, WAIT).await;
    assert_eq!(check_signed(&got[3], &secret), first);
    let res = api.post(&format!("/organizations/acme/webhooks/{id}/deliveries/nope/redeliver"), json!({})).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
});

db_test_with!(allow_private, async fn a_4xx_is_not_retried(app) {
    let rx = Receiver::start();
    rx.answer(&[410]);
    let (_, api) = acme(&app).await;
    let (id, _) = hook(&api, &rx.url(), json!(["*"])).await;
    rx.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.got().len(), 1, "no retry after a 4xx");
    let log = api.get(&format!("/organizations/acme/webhooks/{id}/deliveries/")).await.json();
    assert_eq!((log[0]["status"].as_str(), log[0]["status_code"].as_i64()), (Some("failed"), Some(410)));
});

db_test_with!(allow_private_fail_fast, async fn a_webhook_that_keeps_failing_is_disabled_with_the_reason(app) {
    let rx = Receiver::start();
    rx.otherwise(500);
    let (alice, api) = acme(&app).await;
    app.user("bob").await;
    let (id, _) = hook(&api, &rx.url(), json!(["*"])).await;
    rx.wait_for(3, WAIT).await;
    let mut hookv = Value::Null;
    for _ in 0..100 {
        hookv = api.get(&format!("/organizations/acme/webhooks/{id}")).await.json();
        if hookv["active"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hookv["active"], false, "{hookv}");
    assert_eq!(hookv["consecutive_failures"], 3);
    let reason = hookv["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("3 consecutive failed deliveries") && reason.contains("HTTP 500"), "{reason}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(rx.got().len(), 3, "no attempt after it was disabled");
    // No delivery for an inactive webhook; the page says why.
    let before = deliveries(&app);
    api.post("/organizations/acme/members/", json!({"username": "bob"})).await;
    assert_eq!(deliveries(&app), before);
    let res = api.post(&format!("/organizations/acme/webhooks/{id}/pings/"), json!({})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    let page = alice.page(&format!("/acme/settings/webhooks/{id}")).await.1;
    assert!(page.contains("consecutive failed deliveries"), "the reason is shown");
    // Made active again: the count starts over and a ping goes out.
    rx.otherwise(200);
    let res = api.patch(&format!("/organizations/acme/webhooks/{id}"), json!({"active": true})).await;
    assert_eq!(res.json()["consecutive_failures"], 0, "{}", res.text);
    let res = api.post(&format!("/organizations/acme/webhooks/{id}/pings/"), json!({})).await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(rx.wait_for(4, WAIT).await.len(), 4);
});

/// A name other than `localhost` that resolves to loopback here (from /etc/hosts):
/// `.ci/run` adds `colabel-rebind.test`; Debian's own `ip6-localhost` and this machine's
/// `vm` or `runsc` serve too.
fn loopback_name() -> Option<&'static str> {
    use std::net::ToSocketAddrs;
    ["colabel-rebind.test", "vm", "runsc", "ip6-localhost"]
        .into_iter()
        .find(|n| {
            (*n, 80)
                .to_socket_addrs()
                .map(|a| {
                    let a: Vec<_> = a.collect();
                    !a.is_empty() && a.iter().all(|x| x.ip().is_loopback())
                })
                .unwrap_or(false)
        })
}

db_test!(async fn private_addresses_are_refused_without_the_switch(app) {
    let rx = Receiver::start();
    let (_, api) = acme(&app).await;
    for url in [
        rx.url(),
        format!("http://localhost:{}/", rx.port),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://[fd00:ec2::254]/".into(),
        "http://10.0.0.1/".into(),
        "ftp://example.com/".into(),
    ] {
        let res = api.post("/organizations/acme/webhooks/", json!({"url": url})).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{url}: {}", res.text);
    }
    assert_eq!(api.get("/organizations/acme/webhooks/").await.json(), json!([]));
    // A name that resolves to loopback passes the save-time check; the connection is refused
    // after resolution.
    let Some(name) = loopback_name() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "under CI no test may be skipped: no name resolves to loopback (.ci/run adds colabel-rebind.test to /etc/hosts)"
        );
        eprintln!("note: no name resolves to loopback here; the connection-time half was skipped");
        return;
    };
    let (id, _) = hook(&api, &format!("http://{name}:{}/hook", rx.port), json!(["*"])).await;
    let mut log = Value::Null;
    for _ in 0..100 {
        log = api.get(&format!("/organizations/acme/webhooks/{id}/deliveries/")).await.json();
        if log[0]["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log[0]["status"], "failed", "{log}");
    let error = log[0]["attempt_log"][0]["error"].as_str().unwrap();
    assert!(error.contains("resolves only to loopback"), "{error}");
    assert_eq!(log[0]["attempts"], 1, "a refused address is not retried");
    assert!(rx.got().is_empty(), "nothing reached the receiver");
});

db_test_with!(allow_private, async fn only_administrators_manage_webhooks(app) {
    let rx = Receiver::start();
    let (admin, api) = acme(&app).await;
    let (_, bob) = app.api_user("bob").await;
    let (_, eve) = app.api_user("eve").await;
    api.post("/organizations/acme/members/", json!({"username": "bob"})).await;
    let (id, _) = hook(&api, &rx.url(), json!(["*"])).await;
    let paths = [
        ("GET", "/organizations/acme/webhooks/".to_string()),
        ("POST", "/organizations/acme/webhooks/".to_string()),
        ("GET", format!("/organizations/acme/webhooks/{id}")),
        ("PATCH", format!("/organizations/acme/webhooks/{id}")),
        ("DELETE", format!("/organizations/acme/webhooks/{id}")),
        ("POST", format!("/organizations/acme/webhooks/{id}/pings/")),
        ("GET", format!("/organizations/acme/webhooks/{id}/deliveries/")),
    ];
    for (method, path) in &paths {
        let body = (*method != "GET" && *method != "DELETE").then(|| json!({"url": rx.url()}));
        assert_eq!(bob.send(method, path, body.clone()).await.status, StatusCode::FORBIDDEN, "member: {method} {path}");
        assert_eq!(eve.send(method, path, body).await.status, StatusCode::NOT_FOUND, "outsider: {method} {path}");
    }
    assert_eq!(api.get("/organizations/acme/webhooks/9999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/organizations/acme/webhooks/x").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.delete(&format!("/organizations/acme/webhooks/{id}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get("/organizations/acme/webhooks/").await.json(), json!([]));
    // Deleting the organization takes its webhooks and their deliveries with it.
    hook(&api, &rx.url(), json!(["*"])).await;
    rx.wait_for(2, WAIT).await;
    let res = admin
        .post("/acme/settings", &[("action", "delete"), ("confirm", "acme")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(deliveries(&app), 0);
    let left: i64 = app.with_db(|c| colabel::schema::webhooks::table.count().get_result(c).unwrap());
    assert_eq!(left, 0);
});

db_test_with!(allow_private, async fn two_instances_deliver_each_event_once(app) {
    let rx = Receiver::start();
    let second = app.spawn_second_instance();
    let (_, api) = acme(&app).await;
    let (id, secret) = hook(&api, &rx.url(), json!(["member.added"])).await;
    let api2 = Api::new(&second.base, api.key.as_deref());
    let n = 12;
    for i in 0..n {
        let name = format!("user{i}");
        app.user(&name).await;
        let on = if i % 2 == 0 { &api } else { &api2 };
        let res = on.post("/organizations/acme/members/", json!({"username": name})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    }
    let got = rx.wait_for(n + 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got = if rx.got().len() > got.len() { rx.got() } else { got };
    assert_eq!(got.len(), n + 1, "the ping and each member once");
    let ids: HashSet<String> = got.iter().map(|r| check_signed(r, &secret)["delivery"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), n + 1, "no delivery twice");
    let attempts: Vec<i32> = app.with_db(|c| {
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(id as i32))
            .select(webhook_deliveries::attempts)
            .load(c)
            .unwrap()
    });
    assert!(attempts.iter().all(|a| *a == 1), "each attempted once: {attempts:?}");
});

/// SIGKILL of the instance while the receiver holds its delivery, then a restart: the job's
/// lease ends, the new instance sends it again with the same delivery id.
async fn killed_during_delivery(database_url: &str) {
    let rx = Receiver::start();
    rx.hold_next(Duration::from_secs(20));
    let env = [
        ("DATABASE_URL", database_url),
        ("COLABEL_JOB_POLL_MS", "100"),
        ("COLABEL_JOB_LEASE_SECS", "3"),
        ("COLABEL_WEBHOOK_TIMEOUT_SECS", "30"),
        ("COLABEL_WEBHOOK_ALLOW_PRIVATE", "true"),
    ];
    let mut first = Colabel::start(&env);
    let b = Browser::new(first.base());
    let res = b
        .post(
            "/signup",
            &[
                ("username", "zoe"),
                ("email", "zoe@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = b
        .post(
            "/organizations",
            &[("username", "acme"), ("display_name", "")],
        )
        .await;
    assert_redirect(&res, "/acme");
    let url = rx.url();
    let res = b
        .post(
            "/acme/settings/webhooks",
            &[("url", url.as_str()), ("all", "on"), ("active", "on")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the webhook is added");
    let page = res.text().await.unwrap();
    let at = page
        .find("<code id=\"new-secret\">")
        .expect("the secret is shown")
        + 22;
    let secret = page[at..at + page[at..].find('<').unwrap()].to_string();
    // The ping is being delivered, and held: kill the instance.
    let held = rx.wait_for(1, WAIT).await;
    assert_eq!(held.len(), 1);
    first.kill();
    let second = Colabel::start(&env);
    let got = rx.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 2, "sent again after the restart");
    let (a, b2) = (
        check_signed(&got[0], &secret),
        check_signed(&got[1], &secret),
    );
    assert_eq!(a, b2, "the same delivery id and body");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.got().len(), 2, "delivered once after the restart");
    for line in first.lines().iter().chain(second.lines().iter()) {
        assert!(!line.contains(&secret), "the secret in the log: {line}");
    }
}

mod killed_during_delivery {
    #[actix_web::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("colabel.db").display());
        super::killed_during_delivery(&url).await;
    }

    #[actix_web::test]
    async fn postgres() {
        let Some(admin) = crate::helpers::postgres_url() else {
            return;
        };
        let db = super::PgDatabase::create(&admin, "hookkill");
        super::killed_during_delivery(&db.url).await;
    }
}

db_test!(async fn the_settings_form_says_what_is_wrong_beside_the_field(app) {
    let (alice, _) = acme(&app).await;
    let (status, page) = alice.page("/acme/settings/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<title>Webhooks · acme") && page.contains("No webhooks yet."), "{page}");
    let res = alice
        .post("/acme/settings/webhooks", &[("url", "http://169.254.169.254/latest"), ("active", "on")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("metadata service"), "the URL's error");
    assert!(page.contains("Choose at least one event"), "the events' error");
    assert!(page.contains("value=\"http://169.254.169.254/latest\""), "the input is kept");
    assert_eq!(deliveries(&app), 0);
    let res = alice.post("/acme/settings/webhooks", &[("url", "https://example.com/hook"), ("events", "member.added"), ("events", "dataset.deleted"), ("secret", "short")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("16 to 200 characters"));
    // Accepted: listed with its events; its secret is shown on this answer only.
    let res = alice.post("/acme/settings/webhooks", &[("url", "https://example.com/hook"), ("events", "member.added"), ("events", "dataset.deleted"), ("secret", "a-secret-of-twenty-chars")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("a-secret-of-twenty-chars") && page.contains("Member added, Dataset deleted"), "{page}");
    let (_, again) = alice.page("/acme/settings/webhooks").await;
    assert!(!again.contains("a-secret-of-twenty-chars"), "shown once");
    // The webhook's page and its forms.
    let id: i32 = app.with_db(|c| colabel::schema::webhooks::table.select(colabel::schema::webhooks::id).first(c).unwrap());
    let (status, page) = alice.page(&format!("/acme/settings/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Recent deliveries") && !page.contains("a-secret-of-twenty-chars"));
    let res = alice.post(&format!("/acme/settings/webhooks/{id}"), &[("action", "update"), ("url", "gopher://x"), ("all", "on")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = alice.post(&format!("/acme/settings/webhooks/{id}"), &[("action", "update"), ("url", "https://example.org/h"), ("all", "on")]).await;
    assert_redirect(&res, &format!("/acme/settings/webhooks/{id}"));
    let (_, page) = alice.page("/acme/settings/webhooks").await;
    assert!(page.contains("https://example.org/h") && page.contains("All events") && page.contains("Inactive"), "saved unchecked: inactive");
    let res = alice.post(&format!("/acme/settings/webhooks/{id}"), &[("action", "delete")]).await;
    assert_redirect(&res, "/acme/settings/webhooks");
    assert!(alice.page("/acme/settings/webhooks").await.1.contains("No webhooks yet."));
});

fn allow_private_sweep_often(s: &mut colabel::config::Settings) {
    s.webhooks.allow_private = true;
    s.sweep_every = Duration::from_secs(1);
}

db_test_with!(allow_private_sweep_often, async fn deliveries_older_than_14_days_are_swept(app) {
    let rx = Receiver::start();
    let (_, api) = acme(&app).await;
    let (id, _) = hook(&api, &rx.url(), json!(["*"])).await;
    rx.wait_for(1, WAIT).await;
    api.post(&format!("/organizations/acme/webhooks/{id}/pings/"), json!({})).await;
    rx.wait_for(2, WAIT).await;
    assert_eq!(deliveries(&app), 2);
    // The first becomes 15 days old; the sweeper deletes it (and its attempts), not the other.
    let old = chrono::Utc::now().naive_utc() - chrono::Duration::days(15);
    app.with_db(|c| {
        let first: i32 = webhook_deliveries::table.select(webhook_deliveries::id).order(webhook_deliveries::id).first(c).unwrap();
        diesel::update(webhook_deliveries::table.find(first)).set(webhook_deliveries::created_at.eq(old)).execute(c).unwrap();
    });
    for _ in 0..60 {
        if deliveries(&app) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(deliveries(&app), 1, "the old delivery was swept");
    let attempts: i64 = app.with_db(|c| colabel::schema::webhook_attempts::table.count().get_result(c).unwrap());
    assert_eq!(attempts, 1, "with its attempts");
});
