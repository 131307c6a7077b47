//! The JSON API (issue 12), black-box on both databases: API keys made, listed and revoked
//! on the settings page; authentication by the header alone; every endpoint of the SDK's
//! contract and of Colabel's own members and audit endpoints, with the rules and the error
//! texts the SDK classifies by; bodies and headers that must be refused without a 5xx and
//! without storing anything.

use colabel::schema::{api_keys, audit_events};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::*;

async fn ok_post(b: &Browser, path: &str, form: &[(&str, &str)]) {
    let res = b.post(path, form).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "set-up: POST {path} {form:?}"
    );
}

/// An organization `org` made by `admin`, with `members` as (name, org role, default role).
async fn org_with(admin: &Browser, org: &str, members: &[(&str, &str, &str)]) {
    ok_post(
        admin,
        "/organizations",
        &[("username", org), ("display_name", "")],
    )
    .await;
    for (name, role, default) in members {
        let form = [
            ("username", *name),
            ("role", *role),
            ("default_role", *default),
        ];
        ok_post(admin, &format!("/{org}/settings/members"), &form).await;
    }
}

fn key_rows(app: &TestApp) -> Vec<(String, Option<chrono::NaiveDateTime>)> {
    app.with_db(|c| {
        api_keys::table
            .order(api_keys::id)
            .select((api_keys::key_hash, api_keys::last_used_at))
            .load(c)
            .unwrap()
    })
}

fn events_of(app: &TestApp, user: &str) -> Vec<String> {
    let id = app.with_db(|c| find_account_id(c, user)).unwrap();
    app.with_db(|c| {
        audit_events::table
            .filter(audit_events::account_id.eq(id))
            .order(audit_events::id)
            .select(audit_events::action)
            .load(c)
            .unwrap()
    })
}

db_test!(async fn keys_are_shown_once_listed_and_revoked_at_once_on_every_instance(app) {
    let alice = app.user("alice").await;
    let (status, page) = alice.page("/settings/api-keys").await;
    assert_eq!(status, 200);
    assert!(page.contains("<label for=\"f-name\">Name</label>") && page.contains("Create API key"));
    assert!(page.contains("You have no API keys."));

    let key = app.api_key(&alice, "nightly import").await;
    assert!(key.len() >= 32 && key.starts_with("clb_"), "{key}");
    assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    // Only its SHA-256 is stored.
    let rows = key_rows(&app);
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].0, key);
    assert_eq!(rows[0].0.len(), 64, "a hex SHA-256");
    assert!(rows[0].1.is_none(), "not used yet");

    // Listed by name with its dates, never shown again.
    let (_, page) = alice.page("/settings/api-keys").await;
    assert!(page.contains("nightly import") && page.contains("Never used"));
    assert!(!page.contains(&key) && page.contains(&key[..8]));

    // It works, on both instances.
    let two = app.spawn_second_instance();
    for base in [&app.base, &two.base] {
        let ans = Api::new(base, Some(&key)).get("/api_status/?lib_version=1.33.0").await;
        assert_eq!(ans.status, 200, "{}", ans.text);
    }
    assert!(key_rows(&app)[0].1.is_some(), "the first use is written");
    let (_, page) = alice.page("/settings/api-keys").await;
    assert!(!page.contains("Never used"));
    assert!(page.contains("first used the API key"), "the history says so");

    // A second key keeps working when the first is revoked.
    let other = app.api_key(&alice, "laptop").await;
    let (_, page) = alice.page("/settings/api-keys").await;
    let id = page
        .split("action=\"/settings/api-keys/")
        .nth(2)
        .and_then(|s| s.split('/').next())
        .expect("the first key's revoke form (the list is newest first)");
    let res = alice.post(&format!("/settings/api-keys/{id}/revoke"), &[]).await;
    assert_redirect(&res, "/settings/api-keys");
    let (_, page) = alice.follow(res).await;
    assert!(page.contains("The API key nightly import was revoked."));
    for base in [&app.base, &two.base] {
        let ans = Api::new(base, Some(&key)).get("/user").await;
        assert_eq!(ans.status, 401, "revoked at once on every instance");
        assert_eq!(ans.detail(), "Invalid API key.");
        assert_eq!(Api::new(base, Some(&other)).get("/user").await.status, 200);
    }
    assert_eq!(
        events_of(&app, "alice"),
        ["api_key.created", "api_key.first_used", "api_key.created", "api_key.revoked", "api_key.first_used"]
    );

    // Someone else's key cannot be revoked: the same 404 as a key that does not exist.
    let bob = app.user("bob").await;
    let (_, page) = alice.page("/settings/api-keys").await;
    let other_id = page.split("action=\"/settings/api-keys/").nth(1).unwrap().split('/').next().unwrap();
    let res = bob.post(&format!("/settings/api-keys/{other_id}/revoke"), &[]).await;
    assert_eq!(res.status(), 404);
    assert_eq!(Api::new(&app.base, Some(&other)).get("/user").await.status, 200);

    // A name is required.
    let res = alice.post("/settings/api-keys", &[("name", "  ")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Give the key a name"));
});

db_test!(async fn a_password_change_can_revoke_every_key(app) {
    let alice = app.user("alice").await;
    let keep = app.api_key(&alice, "one").await;
    let res = alice
        .post("/settings", &[("action", "password"), ("current_password", PASSWORD), ("new_password", "another good password")])
        .await;
    assert_redirect(&res, "/settings");
    assert_eq!(Api::new(&app.base, Some(&keep)).get("/user").await.status, 200, "keys survive unless asked");
    let (_, page) = alice.page("/settings").await;
    assert!(page.contains("Also revoke all my API keys"));
    let res = alice
        .post(
            "/settings",
            &[
                ("action", "password"),
                ("current_password", "another good password"),
                ("new_password", PASSWORD),
                ("revoke_keys", "yes"),
            ],
        )
        .await;
    assert_redirect(&res, "/settings");
    assert_eq!(Api::new(&app.base, Some(&keep)).get("/user").await.status, 401);
    assert!(key_rows(&app).is_empty());
});

db_test!(async fn the_api_is_authenticated_by_the_header_alone_and_answers_json(app) {
    let (alice, api) = app.api_user("alice").await;
    let anonymous = Api::new(&app.base, None);
    let ans = anonymous.get("/user").await;
    assert_eq!(ans.status, 401);
    assert_eq!(ans.detail(), "Authentication credentials were not provided.");
    assert!(ans.headers["content-type"].to_str().unwrap().starts_with("application/json"));
    for key in ["12345", "clb_short", &format!("clb_{}", "a".repeat(43))] {
        let ans = Api::new(&app.base, Some(key)).get("/api_status/").await;
        assert_eq!((ans.status, ans.detail().as_str()), (StatusCode::UNAUTHORIZED, "Invalid API key."));
    }
    // A session cookie alone is not a credential here: 401 JSON, never a redirect to /login.
    let cookie = alice.cookie();
    for (method, path) in [("GET", "/user"), ("POST", "/user/datasets/"), ("DELETE", "/datasets/alice/x/")] {
        let res = alice
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", app.base))
            .header("cookie", &cookie)
            .header("content-type", "application/json")
            .body(r#"{"name": "sneaky"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{method} {path} with a cookie only");
        assert!(res.text().await.unwrap().contains("Authentication credentials were not provided."));
    }
    // No CSRF token is asked of a header-authenticated call.
    let ans = api.post("/user/datasets/", json!({"name": "cars", "task_type": "bboxes"})).await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    // ... and the HTML forms still ask for one, whatever header comes with them.
    let res = alice
        .client
        .post(format!("{}/organizations", app.base))
        .header("Authorization", format!("APIKey {}", api.key.as_ref().unwrap()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=sneaky&display_name=")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a form without its token is refused");

    // Both forms of every path, never a redirect; HEAD and OPTIONS; 405 in JSON.
    for path in ["/user", "/user/", "/api_status", "/api_status/", "/datasets/alice/cars", "/datasets/alice/cars/"] {
        let ans = api.get(path).await;
        assert_eq!(ans.status, 200, "GET {path}: {}", ans.text);
    }
    let head = api.send("HEAD", "/user", None).await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
    let options = api.send("OPTIONS", "/datasets/alice/cars/", None).await;
    assert_eq!(options.status, 204);
    assert_eq!(options.headers["allow"], "GET, PATCH, DELETE, HEAD, OPTIONS");
    let put = api.send("PUT", "/datasets/alice/cars/", None).await;
    assert_eq!(put.status, 405);
    assert!(put.detail().contains("not allowed"));
    // Names without an owner, unknown names, unknown endpoints under the API's paths: JSON
    // 404 with a key, JSON 401 without.
    for path in ["/datasets/abcde/", "/datasets/alice/nothing/", "/users/nobody", "/users/nobody/datasets/",
                 "/datasets/alice/cars/unknown/", "/user/unknown", "/organizations/alice/unknown/", "/api_status/x"] {
        let ans = api.get(path).await;
        assert_eq!((ans.status, ans.detail().as_str()), (StatusCode::NOT_FOUND, "Not found."), "{path}");
        assert_eq!(ans.json()["code"], "not_found");
        let ans = anonymous.get(path).await;
        assert_eq!(ans.status, 401, "{path} without a key");
    }
});

db_test!(async fn user_and_account_endpoints_show_what_the_caller_may_see(app) {
    let (boss, boss_api) = app.api_user("boss").await;
    let (_, ann_api) = app.api_user("ann").await;
    let (_, stranger) = app.api_user("stranger").await;
    org_with(&boss, "acme", &[("ann", "member", "reviewer")]).await;

    let me = ann_api.get("/user").await.json();
    assert_eq!(me["username"], "ann");
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["is_organization"], false);
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
    let orgs = me["organizations"].as_array().unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["username"], "acme");
    assert_eq!(orgs[0]["is_organization"], true);
    assert_eq!(orgs[0]["organization_role"], serde_json::Value::Null, "members are null for the SDK");
    assert_eq!(orgs[0]["role"], "member");
    assert_eq!(orgs[0]["default_dataset_role"], "reviewer");
    assert_eq!(boss_api.get("/user").await.json()["organizations"][0]["organization_role"], "admin");

    // Another user: no email, no organizations.
    let other = ann_api.get("/users/STRANGER").await.json();
    assert_eq!(other["username"], "stranger", "the canonical spelling");
    assert!(other.get("email").is_none() && other.get("organizations").is_none());

    // An organization: to its members only, with every member; default dataset roles only
    // for its administrators (as the Members subtab).
    assert_eq!(boss_api.get("/users/acme").await.json()["members"][0]["default_dataset_role"], "reviewer");
    let org = ann_api.get("/users/acme").await.json();
    assert!(org["members"][0].get("default_dataset_role").is_none(), "hidden from a plain member");
    assert_eq!(org["is_organization"], true);
    assert_eq!(org["organization_created_by"], "boss");
    let members: Vec<(String, serde_json::Value)> = org["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap().to_string(), m["organization_role"].clone()))
        .collect();
    assert_eq!(members, [("ann".into(), serde_json::Value::Null), ("boss".into(), json!("admin"))]);
    let hidden = stranger.get("/users/acme").await;
    let missing = stranger.get("/users/nothing-here").await;
    assert_eq!((hidden.status, hidden.text.clone()), (missing.status, missing.text.clone()), "identical to a missing name");
});

db_test!(async fn datasets_through_the_api_follow_the_rules(app) {
    let (boss, boss_api) = app.api_user("boss").await;
    let (_, ann) = app.api_user("ann").await;
    let (_, carl) = app.api_user("carl").await;
    let (_, stranger) = app.api_user("stranger").await;
    org_with(&boss, "acme", &[("ann", "member", "reviewer"), ("carl", "member", "none")]).await;

    // Create in the organization: the fan-out, in the same transaction, exactly as the popup.
    let sdk_body = json!({
        "name": "pets", "description": "Pets", "task_type": "keypoints", "public": false,
        "readme": "", "category": "other", "metadata": {}, "task_attributes": null,
        "labeling_inactivity_timeout_seconds": 300, "enable_skip_labeling": true,
        "enable_ratings": false, "data_type": "IMAGE", "archived": false,
    });
    let ans = boss_api.post("/organizations/acme/datasets/", sdk_body.clone()).await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let ds = ans.json();
    assert_eq!(ds["full_name"], "acme/pets");
    assert_eq!(ds["role"], "admin");
    assert_eq!(ds["collaborators_count"], 2, "the creator and ann (carl's default is none)");
    for field in ["category", "archived", "label_stats", "metadata", "enable_skip_labeling", "enable_interpolation", "samples_count", "readme"] {
        assert!(ds.get(field).is_some(), "{field}");
    }
    assert_eq!(ann.get("/datasets/acme/pets/").await.json()["role"], "reviewer");
    assert_eq!(carl.get("/datasets/acme/pets/").await.status, 404);

    // Who may create where.
    let ans = ann.post("/organizations/acme/datasets/", json!({"name": "mine"})).await;
    assert_eq!(ans.status, 403);
    assert!(ans.detail().contains("do not have permission") && ans.detail().contains("administrator of acme"), "{}", ans.detail());
    for (who, path) in [(&stranger, "/organizations/acme/datasets/"), (&ann, "/organizations/nothing/datasets/"), (&ann, "/organizations/ann/datasets/")] {
        let ans = who.post(path, json!({"name": "mine"})).await;
        assert_eq!((ans.status, ans.detail().as_str()), (StatusCode::NOT_FOUND, "Not found."), "{path}");
    }
    let ans = boss_api.post("/organizations/acme/datasets/", json!({"name": "PETS"})).await;
    assert_eq!((ans.status, ans.detail().as_str()), (StatusCode::CONFLICT, "A dataset with this name already exists."));
    let ans = boss_api.post("/user/datasets/", json!({"name": "x", "task_type": "segmentation-bitmap-highres"})).await;
    assert_eq!(ans.status, 400);
    assert!(ans.detail().contains("Invalid task_type"), "{}", ans.detail());
    let ans = boss_api.post("/user/datasets/", json!({"name": "settings"})).await;
    assert_eq!(ans.status, 400);
    assert_eq!(ans.json()["errors"]["name"][0], "That name is reserved.");

    // Lists: bare arrays of full datasets, by owner then name, paged.
    assert_eq!(boss_api.post("/user/datasets/", json!({"name": "b-own", "public": true})).await.status, 201);
    assert_eq!(boss_api.post("/user/datasets/", json!({"name": "a-own"})).await.status, 201);
    let names = |v: serde_json::Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|d| d["full_name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(boss_api.get("/user/datasets/?per_page=1000&page=1").await.json()), ["acme/pets", "boss/a-own", "boss/b-own"]);
    assert_eq!(names(boss_api.get("/user/datasets/?per_page=2&page=2").await.json()), ["boss/b-own"]);
    assert_eq!(names(boss_api.get("/user/datasets/?per_page=2&page=9").await.json()), Vec::<String>::new());
    assert_eq!(names(ann.get("/user/datasets/").await.json()), ["acme/pets"]);
    assert_eq!(names(stranger.get("/users/boss/datasets/").await.json()), ["boss/b-own"], "only the public one");
    assert_eq!(names(ann.get("/users/acme/datasets/").await.json()), ["acme/pets"]);
    assert_eq!(stranger.get("/users/acme/datasets/").await.status, 404);
    for bad in ["?page=0", "?per_page=0", "?per_page=1001", "?page=x", "?per_page=-5"] {
        assert_eq!(boss_api.get(&format!("/user/datasets/{bad}")).await.status, 400, "{bad}");
    }

    // Get, update, delete: 404 without access (identical to missing), 403 without the role.
    let hidden = stranger.get("/datasets/acme/pets/").await;
    let missing = stranger.get("/datasets/acme/nothing/").await;
    assert_eq!((hidden.status, hidden.text), (missing.status, missing.text));
    assert_eq!(stranger.get("/datasets/boss/b-own/").await.json()["role"], "viewer");
    let ans = ann.patch("/datasets/acme/pets/", json!({"description": "mine"})).await;
    assert_eq!(ans.status, 403);
    assert!(ans.detail().contains("do not have permission"));
    let ans = boss_api.patch("/datasets/acme/pets/", json!({"public": true, "readme": "ignored"})).await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let patched = ans.json();
    assert_eq!((patched["public"].clone(), patched["description"].clone()), (json!(true), json!("Pets")), "only what was given changes");
    assert_eq!(boss_api.patch("/datasets/acme/pets/", json!({"task_type": "bboxes", "description": "Dogs"})).await.json()["task_type"], "bboxes");
    assert_eq!(ann.delete("/datasets/acme/pets/").await.status, 403);
    assert_eq!(boss_api.delete("/datasets/acme/pets/").await.status, 204);
    assert_eq!(boss_api.get("/datasets/acme/pets/").await.status, 404);
    assert_eq!(boss_api.delete("/datasets/acme/pets/").await.status, 404);

    // Clone: into your account or an organization you administer.
    let ans = ann.post("/datasets/boss/b-own/clone/", json!({"name": null, "clone_labels": false})).await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let copy = ans.json();
    assert_eq!((copy["full_name"].clone(), copy["cloned_from"].clone()), (json!("ann/b-own-clone"), json!("boss/b-own")));
    assert_eq!(ann.post("/datasets/boss/b-own/clone/", json!({"owner": "acme"})).await.status, 403);
    // Once the source is private, the clone no longer names it to who may not see it.
    assert_eq!(boss_api.patch("/datasets/boss/b-own/", json!({"public": false})).await.status, 200);
    assert_eq!(ann.get("/datasets/ann/b-own-clone/").await.json()["cloned_from"], serde_json::Value::Null);
    let clone_in_list = |list: serde_json::Value| {
        list.as_array().unwrap().iter().find(|d| d["full_name"] == "ann/b-own-clone").expect("the clone is listed")["cloned_from"].clone()
    };
    assert_eq!(clone_in_list(ann.get("/user/datasets/").await.json()), serde_json::Value::Null);
    assert_eq!(boss_api.patch("/datasets/boss/b-own/", json!({"public": true})).await.status, 200);
    assert_eq!(clone_in_list(ann.get("/user/datasets/").await.json()), json!("boss/b-own"));
    assert_eq!(ann.post("/datasets/boss/a-own/clone/", json!({})).await.status, 404, "a private source");
    let _ = boss;
});

db_test!(async fn collaborators_through_the_api(app) {
    let (owner_b, owner) = app.api_user("owner").await;
    let (_, mia) = app.api_user("mia").await;
    let (_, leo) = app.api_user("leo").await;
    app.user("zoe").await;
    org_with(&owner_b, "acme", &[]).await;
    assert_eq!(owner.post("/user/datasets/", json!({"name": "faces"})).await.status, 201);
    let base = "/datasets/owner/faces/collaborators";

    let ans = owner.post(&format!("{base}/"), json!({"user": "MIA", "role": "manager"})).await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let c = ans.json();
    assert_eq!((c["user"]["username"].clone(), c["role"].clone()), (json!("mia"), json!("manager")));
    assert_eq!(c["user"]["is_organization"], false);
    assert_eq!(owner.get(&format!("{base}/mia")).await.json()["role"], "manager");
    assert_eq!(owner.post(&format!("{base}/"), json!({"user": "leo"})).await.json()["role"], "labeler", "labeler by default");

    let checks: Vec<(&Api, &str, String, serde_json::Value, StatusCode, &str)> = vec![
        (&owner, "POST", format!("{base}/"), json!({"user": "nobody"}), StatusCode::NOT_FOUND, "User not found."),
        (&owner, "POST", format!("{base}/"), json!({"user": "acme"}), StatusCode::BAD_REQUEST, "cannot be added as collaborator"),
        (&owner, "POST", format!("{base}/"), json!({"user": "mia"}), StatusCode::CONFLICT, "is already a collaborator"),
        (&owner, "POST", format!("{base}/"), json!({"user": "zoe", "role": "owner"}), StatusCode::BAD_REQUEST, "Invalid role"),
        (&mia, "POST", format!("{base}/"), json!({"user": "zoe", "role": "admin"}), StatusCode::FORBIDDEN, "only dataset administrators"),
        (&leo, "GET", format!("{base}/mia"), json!(null), StatusCode::FORBIDDEN, "do not have permission"),
        (&owner, "GET", format!("{base}/zoe"), json!(null), StatusCode::NOT_FOUND, "Collaborator not found."),
        (&owner, "GET", format!("{base}/nobody"), json!(null), StatusCode::NOT_FOUND, "Collaborator not found."),
    ];
    for (who, method, path, body, status, text) in checks {
        let ans = who.send(method, &path, (!body.is_null()).then_some(body.clone())).await;
        assert_eq!(ans.status, status, "{method} {path} {body}: {}", ans.text);
        assert!(ans.detail().contains(text), "{method} {path}: {:?} should say {text:?}", ans.detail());
    }
    // The owner is implicit; the creator's own entry is a row.
    assert_eq!(owner.get(&format!("{base}/")).await.json().as_array().unwrap().len(), 3);

    assert_eq!(owner.patch(&format!("{base}/leo"), json!({"role": "admin"})).await.json()["role"], "admin");
    // The answer comes from the change itself: an administrator who demotes themselves gets it,
    // not a refusal from a second look after the commit.
    let ans = leo.patch(&format!("{base}/leo"), json!({"role": "labeler"})).await;
    assert_eq!((ans.status, ans.json()["role"].clone()), (StatusCode::OK, json!("labeler")), "{}", ans.text);
    assert_eq!(owner.patch(&format!("{base}/leo"), json!({"role": "admin"})).await.status, 200);
    assert_eq!(mia.patch(&format!("{base}/leo"), json!({"role": "viewer"})).await.status, 403, "a manager cannot change an administrator");
    assert_eq!(mia.delete(&format!("{base}/leo")).await.status, 403, "nor remove one");
    assert_eq!(mia.post(&format!("{base}/"), json!({"user": "zoe", "role": "viewer"})).await.json()["role"], "viewer");
    assert_eq!(mia.delete(&format!("{base}/zoe")).await.status, 204);
    assert_eq!(owner.get(&format!("{base}/zoe")).await.status, 404);
    assert_eq!(owner.delete(&format!("{base}/zoe")).await.status, 404);
});

db_test!(async fn members_leaving_and_the_audit_log_through_the_api(app) {
    let (_, boss) = app.api_user("boss").await;
    let (_, ann) = app.api_user("ann").await;
    app.user("bob").await;
    app.user("cat").await;
    let (_, stranger) = app.api_user("stranger").await;
    let boss_b = Browser::new(&app.base);
    assert_redirect(&boss_b.login("boss", PASSWORD).await, "/");
    org_with(&boss_b, "acme", &[("ann", "member", "labeler")]).await;
    let members = "/organizations/acme/members";

    let ans = boss.post(&format!("{members}/"), json!({"username": "bob", "role": "admin", "default_dataset_role": null})).await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_eq!(ans.json(), json!({"username": "bob", "display_name": "", "role": "admin", "default_dataset_role": null}));
    assert_eq!(boss.post(&format!("{members}/"), json!({"username": "cat"})).await.json()["default_dataset_role"], "labeler");
    let ans = boss.post(&format!("{members}/"), json!({"username": "cat"})).await;
    assert_eq!(ans.status, 409);
    assert!(ans.detail().contains("already exists"));
    assert_eq!(boss.post(&format!("{members}/"), json!({"username": "nobody"})).await.detail(), "User not found.");
    assert_eq!(boss.post(&format!("{members}/"), json!({"username": "cat", "role": "owner"})).await.status, 400);
    assert_eq!(ann.post(&format!("{members}/"), json!({"username": "stranger"})).await.status, 403);
    assert_eq!(stranger.post(&format!("{members}/"), json!({"username": "stranger"})).await.status, 404);

    // A page of members, the total and the next page in the headers.
    let ans = ann.get(&format!("{members}/?per_page=2")).await;
    assert_eq!(ans.status, 200);
    let names: Vec<String> = ans.json().as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["ann", "bob"]);
    assert_eq!(ans.headers["x-total-count"], "4");
    assert!(ans.headers["link"].to_str().unwrap().contains("page=2&per_page=2>; rel=\"next\""));
    assert_eq!(ann.get(&format!("{members}/?q=c")).await.json()[0]["username"], "cat");
    assert!(ans.json()[0].get("default_dataset_role").is_none(), "a plain member does not see default roles");
    assert_eq!(boss.get(&format!("{members}/ann")).await.json()["default_dataset_role"], "labeler");
    assert_eq!(stranger.get(&format!("{members}/")).await.status, 404);

    // Change and remove; the last administrator stays.
    let ans = boss.patch(&format!("{members}/cat"), json!({"default_dataset_role": "manager"})).await;
    assert_eq!(ans.json()["default_dataset_role"], "manager");
    assert_eq!(ans.json()["role"], "member", "what is not given keeps its value");
    assert_eq!(boss.patch(&format!("{members}/bob"), json!({"role": "member"})).await.status, 200);
    let ans = boss.patch(&format!("{members}/boss"), json!({"role": "member"})).await;
    assert_eq!(ans.status, 409);
    assert!(ans.detail().contains("must keep at least one administrator"));
    assert_eq!(ann.delete(&format!("{members}/cat")).await.status, 403);
    assert_eq!(boss.delete(&format!("{members}/cat")).await.status, 204);
    assert_eq!(boss.get(&format!("{members}/cat")).await.detail(), "Member not found.");

    // Leaving.
    assert_eq!(ann.delete("/user/organizations/acme").await.status, 204);
    assert_eq!(ann.get("/users/acme").await.status, 404, "gone with the membership");
    let ans = boss.delete("/user/organizations/acme").await;
    assert_eq!(ans.status, 409);
    assert!(ans.detail().contains("cannot leave the organization"), "the SDK's AuthorizationError phrase");
    assert_eq!(stranger.delete("/user/organizations/acme").await.status, 404);

    // The audit log, newest first (administrators).
    let ans = boss.get("/organizations/acme/audit/?per_page=3").await;
    assert_eq!(ans.status, 200);
    let actions: Vec<String> = ans.json().as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, ["member.left", "member.removed", "member.role_changed"]);
    assert_eq!(ans.json()[0]["actor"], "ann");
    assert_eq!(ann.get("/organizations/acme/audit/").await.status, 404, "ann left");
    assert_eq!(Api::new(&app.base, None).get("/organizations/acme/audit/").await.status, 401);
});

db_test!(async fn hostile_bodies_and_headers_get_a_clear_4xx_and_store_nothing(app) {
    let (boss_b, boss) = app.api_user("boss").await;
    app.user("ann").await;
    org_with(&boss_b, "acme", &[("ann", "member", "labeler")]).await;
    assert_eq!(boss.post("/organizations/acme/datasets/", json!({"name": "pets"})).await.status, 201);
    assert_eq!(boss.post("/datasets/acme/pets/collaborators/", json!({"user": "ann"})).await.status, 409, "set-up: the fan-out made ann one");
    let before = snapshot(&app);
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let deep_object = format!(r#"{{"name": "x", "metadata": {}}}"#, deep);
    let big = format!(r#"{{"name": "x", "description": "{}"}}"#, "a".repeat(70 * 1024));
    let bodies: Vec<(&str, String)> = vec![
        ("malformed", "{\"name\": ".into()),
        ("not an object", "[1, 2]".into()),
        ("wrong type", r#"{"name": 12, "user": true, "role": 5, "username": [], "public": "yes", "description": {}}"#.into()),
        ("unknown enum value", r#"{"name": "x", "user": "ann", "username": "ann", "task_type": "tachyons", "role": "overlord", "default_dataset_role": "god"}"#.into()),
        ("too deep", deep.clone()),
        ("too deep inside", deep_object),
        ("too large", big.clone()),
        ("NUL", "{\"name\": \"a\\u0000b\", \"user\": \"a\\u0000\", \"username\": \"a\\u0000\", \"role\": \"labeler\"}".into()),
        ("invalid UTF-8", "{\"name\": \"\u{FFFD}\"}".into()),
        ("empty", String::new()),
    ];
    let mut failures = Vec::new();
    let mut tried = 0;
    for (method, pattern) in colabel::routes::API_ROUTES {
        if !matches!(*method, "POST" | "PATCH") {
            continue;
        }
        let path = pattern
            .replace("{owner}", "acme")
            .replace("{name}", "pets")
            .replace("{org}", "acme")
            .replace("{user}", "ann");
        for (label, body) in &bodies {
            tried += 1;
            let raw: Vec<u8> = if *label == "invalid UTF-8" { b"{\"name\": \"\xff\xfe\"}".to_vec() } else { body.clone().into_bytes() };
            let ans = boss.send_raw(method, &path, "application/json", raw).await;
            let json_ok = serde_json::from_str::<serde_json::Value>(&ans.text).is_ok_and(|v| v["detail"].is_string());
            if !ans.status.is_client_error() || !json_ok {
                failures.push(format!("{method} {path} ({label}): {} {}", ans.status, &ans.text[..ans.text.len().min(200)]));
            }
        }
        // Another content type, and a form body.
        tried += 1;
        let ans = boss.send_raw(method, &path, "application/x-www-form-urlencoded", "name=x&user=ann").await;
        if ans.status != 400 || !ans.detail().contains("JSON") {
            failures.push(format!("{method} {path} as a form: {} {}", ans.status, ans.text));
        }
    }
    // Addresses and headers.
    for path in ["/datasets/acme/pe%00ts/", "/users/a%00b", "/user/datasets/?page=1%00"] {
        tried += 1;
        let ans = boss.get(path).await;
        if !ans.status.is_client_error() || ans.json()["detail"].as_str().is_none() {
            failures.push(format!("GET {path}: {} {}", ans.status, ans.text));
        }
    }
    let headers: [&[u8]; 6] = [b"APIKey", b"APIKey ", b"apikey clb_x", b"Bearer abc", "APIKey clb_\u{202E}".as_bytes(), b"APIKey clb_\xff\xfe"];
    for auth in headers {
        tried += 1;
        let res = reqwest::Client::new()
            .get(format!("{}/user", app.base))
            .header("Authorization", reqwest::header::HeaderValue::from_bytes(auth).expect("a sendable header"))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        let json_ok = serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v["detail"].is_string());
        if status != 401 || !json_ok {
            failures.push(format!("Authorization {:?}: {status} {body}", String::from_utf8_lossy(auth)));
        }
    }
    let ans = boss.send_raw("POST", "/user/datasets/", "application/json", big).await;
    assert_eq!(ans.status, 400, "a body over the limit is a 400 too (issue 12)");
    assert!(ans.detail().contains("larger than"), "{}", ans.text);
    assert_eq!(snapshot(&app), before, "a refused request stored nothing");
    eprintln!("hostile API inputs: {tried} tried, {} failures", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
});

db_test!(async fn a_key_acts_with_its_users_rights_at_each_request(app) {
    let (boss_b, boss) = app.api_user("boss").await;
    let (ann_b, ann) = app.api_user("ann").await;
    org_with(&boss_b, "acme", &[("ann", "member", "labeler")]).await;
    assert_eq!(boss.post("/organizations/acme/datasets/", json!({"name": "secret"})).await.status, 201);
    assert_eq!(ann.get("/datasets/acme/secret/").await.json()["role"], "labeler");
    // Promoted: an administrator of every dataset of acme at once.
    ok_post(&boss_b, "/acme/settings/members/ann", &[("role", "admin"), ("default_role", "labeler")]).await;
    assert_eq!(ann.get("/datasets/acme/secret/").await.json()["role"], "admin");
    ok_post(&boss_b, "/acme/settings/members/ann", &[("role", "member"), ("default_role", "labeler")]).await;
    assert_eq!(ann.get("/datasets/acme/secret/").await.json()["role"], "labeler");
    // Leaving on the HTML page takes the rights from the key at once.
    ok_post(&ann_b, "/settings/organizations/acme/leave", &[]).await;
    assert_eq!(ann.get("/datasets/acme/secret/").await.status, 404);
    assert_eq!(ann.get("/users/acme").await.status, 404);
});

db_test!(async fn a_key_check_is_one_read_and_the_last_use_is_written_hourly(app) {
    let (_, api) = app.api_user("alice").await;
    assert_eq!(api.get("/user").await.status, 200);
    let first = key_rows(&app)[0].1.expect("the first use is written");
    let before = app.queries();
    assert_eq!(api.get("/api_status/").await.status, 200);
    assert_eq!(app.queries() - before, 1, "a key check within the hour is one statement");
    assert_eq!(key_rows(&app)[0].1, Some(first), "and writes nothing");
    // An hour later, the next use is written once.
    let earlier = first - chrono::Duration::minutes(61);
    app.with_db(|c| diesel::update(api_keys::table).set(api_keys::last_used_at.eq(earlier)).execute(c).unwrap());
    assert_eq!(api.get("/user").await.status, 200);
    let now = key_rows(&app)[0].1.unwrap();
    assert!(now > earlier + chrono::Duration::minutes(30));
    assert_eq!(events_of(&app, "alice"), ["api_key.created", "api_key.first_used"], "first use recorded once");
});

db_test!(async fn responses_take_a_fixed_number_of_statements_whatever_the_size(app) {
    let (boss_b, boss) = app.api_user("boss").await;
    org_with(&boss_b, "small", &[]).await;
    org_with(&boss_b, "big", &[]).await;
    for i in 0..60 {
        let name = format!("m{i}");
        app.user(&name).await;
        let form = [("username", name.as_str()), ("role", "member"), ("default_role", "labeler")];
        ok_post(&boss_b, "/big/settings/members", &form).await;
    }
    for (org, n) in [("small", 3), ("big", 60)] {
        for i in 0..n {
            let ans = boss.post(&format!("/organizations/{org}/datasets/"), json!({"name": format!("d{i}")})).await;
            assert_eq!(ans.status, 201);
        }
    }
    async fn count(app: &TestApp, api: &Api, path: &str) -> u64 {
        let before = app.queries();
        let ans = api.get(path).await;
        assert_eq!(ans.status, 200, "{path}");
        app.queries() - before
    }
    let (_, fresh) = app.api_user("fresh").await;
    assert_eq!(fresh.get("/api_status/").await.status, 200, "its first use, which writes, done");
    let users = (count(&app, &boss, "/users/small").await, count(&app, &boss, "/users/big").await);
    let lists = (count(&app, &boss, "/users/small/datasets/").await, count(&app, &boss, "/users/big/datasets/").await);
    let mine = (count(&app, &fresh, "/user/datasets/").await, count(&app, &boss, "/user/datasets/?per_page=1000").await);
    assert_eq!(users.0, users.1, "/users/{{org}} with 1 and 61 members");
    assert_eq!(lists.0, lists.1, "3 and 60 datasets");
    assert_eq!(mine.0, mine.1, "/user/datasets/ with none and 63 datasets");
    assert!([users.0, lists.0, mine.0].iter().all(|n| *n <= 5), "{users:?} {lists:?} {mine:?}");
    assert_eq!(boss.get("/users/big").await.json()["members"].as_array().unwrap().len(), 61);
    assert_eq!(boss.get("/user/datasets/?per_page=1000").await.json().as_array().unwrap().len(), 63);
});

#[actix_web::test]
async fn an_account_holding_a_newly_reserved_name_stops_the_start() {
    use colabel::domain::kinds::AccountKind;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("colabel.db").display());
    let settings = test_settings(url.clone());
    let (db, _) = colabel::startup::open_database(&settings).expect("a fresh database opens");
    db.get().unwrap();
    {
        let mut c = db.get().unwrap();
        colabel::models::accounts::insert_account(&mut c, "User", AccountKind::User, "").unwrap();
    }
    let err = colabel::startup::Application::build(settings)
        .err()
        .expect("refused");
    assert!(
        err.0.contains("User") && err.0.contains("reserves"),
        "{}",
        err.0
    );
}

db_test!(async fn wrong_keys_are_counted_by_the_throttle_of_every_secret(app) {
    let (_, good) = app.api_user("alice").await;
    let limit = colabel::auth::throttle::ADDRESS_LIMIT;
    let mut statuses = Vec::new();
    for i in 0..limit + 3 {
        let wrong = format!("clb_{:0>43}", i);
        statuses.push(Api::new(&app.base, Some(&wrong)).get("/user").await.status.as_u16());
    }
    assert!(statuses[..limit as usize].iter().all(|s| *s == 401), "{statuses:?}");
    let ans = Api::new(&app.base, Some("clb_not_even_well_formed")).get("/user").await;
    assert_eq!(ans.status, 429, "past the address's limit: {}", ans.text);
    assert!(ans.detail().contains("throttled"), "the SDK's APILimitError phrase: {}", ans.text);
    assert_eq!(good.get("/user").await.status, 200, "a valid key still works");
});
