//! The authorization matrix of the JSON API: every route of `colabel::routes::API_ROUTES`,
//! for every kind of caller (no key, a revoked key, and with a key each actor of the HTML
//! matrix: stranger, member, organization administrator, a collaborator of each role, an
//! outside collaborator, the owner), on private and public datasets of an organization and
//! of a person, checked against SPEC section 2's permission table (`colabel::domain::roles`).
//! A route the matrix does not know fails it. Refused requests, and every GET, change
//! nothing; allowed requests send a harmless probe (an invalid body, an unchanged role,
//! removing the last administrator), and the few allowed actions that cannot be probed
//! harmlessly (leaving, deleting a dataset, removing a collaborator) run on a fresh copy of
//! the fixture.

use colabel::domain::roles::{DatasetAction, OrgAction};
use serde_json::{json, Value};

use crate::db_test_with;
use crate::helpers::*;
use crate::matrix::{fixture, Actor, Ds, Fixture, ACTORS, DATASETS};

/// Who calls the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    NoKey,
    /// A key its user revoked.
    Revoked,
    /// An actor of the HTML matrix, with a key of their own.
    With(Actor),
}

fn callers() -> Vec<Caller> {
    let mut all = vec![Caller::NoKey, Caller::Revoked];
    all.extend(
        ACTORS
            .iter()
            .filter(|a| **a != Actor::Visitor)
            .map(|a| Caller::With(*a)),
    );
    all
}

struct Case {
    method: &'static str,
    path: String,
    body: Option<Value>,
    expect: u16,
    /// Allowed and not harmless: runs on a fresh fixture.
    mutates: bool,
}

/// An organization route for an actor: 404 for non-members, 403 without the permission.
fn org(actor: Actor, action: OrgAction, allowed: u16) -> u16 {
    match actor.org_role() {
        None => 404,
        Some(role) if !role.can(action) => 403,
        _ => allowed,
    }
}

/// A dataset route: 404 without access, 403 without the permission.
fn dataset(ds: Ds, actor: Actor, action: DatasetAction, allowed: u16) -> u16 {
    match ds.access(actor) {
        None => 404,
        Some(a) if !a.role().can(action) => 403,
        Some(_) => allowed,
    }
}

/// The cases of one route for one caller. Panics for a route the matrix does not know.
fn cases(method: &'static str, pattern: &str, caller: Caller, n: usize) -> Vec<Case> {
    let org_name = format!("acme{n}");
    let person = format!("owner{n}");
    let member = format!("member{n}");
    let last_admin = format!("orgadmin{n}");
    let target = format!("cviewer{n}");
    let one = |path: String, body: Option<Value>, expect: u16| Case {
        method,
        path,
        body,
        expect,
        mutates: false,
    };
    let actor = match caller {
        Caller::With(a) => a,
        // Refused before anything else, whatever the route.
        Caller::NoKey | Caller::Revoked => Actor::Visitor,
    };
    let of_org = |action, allowed| org(actor, action, allowed);
    let list = match (method, pattern) {
        ("GET", "/api_status/") | ("GET", "/user") | ("GET", "/user/datasets/") => {
            vec![one(pattern.into(), None, 200)]
        }
        ("POST", "/user/datasets/") => vec![one(pattern.into(), Some(json!({"name": "x"})), 400)],
        ("DELETE", "/user/organizations/{org}") => {
            // The last administrator's leave is refused (harmless); a member's happens.
            let expect = of_org(
                OrgAction::View,
                if actor == Actor::OrgAdmin { 409 } else { 204 },
            );
            vec![Case {
                method,
                path: format!("/user/organizations/{org_name}"),
                body: None,
                expect,
                mutates: expect == 204,
            }]
        }
        ("GET", "/users/{name}") => vec![
            one(
                format!("/users/{org_name}"),
                None,
                of_org(OrgAction::View, 200),
            ),
            one(format!("/users/{person}"), None, 200),
        ],
        ("GET", "/users/{name}/datasets/") => vec![
            one(
                format!("/users/{org_name}/datasets/"),
                None,
                of_org(OrgAction::View, 200),
            ),
            one(format!("/users/{person}/datasets/"), None, 200),
        ],
        ("POST", "/organizations/{org}/datasets/") => vec![one(
            format!("/organizations/{org_name}/datasets/"),
            Some(json!({"name": "x"})),
            of_org(OrgAction::CreateDataset, 400),
        )],
        // Webhooks: administrators only; the fixture has none, so an id is "not found" for
        // them, after the role check (members 403, others 404).
        ("GET", "/organizations/{org}/webhooks/") => vec![one(
            format!("/organizations/{org_name}/webhooks/"),
            None,
            of_org(OrgAction::Manage, 200),
        )],
        ("POST", "/organizations/{org}/webhooks/") => vec![one(
            format!("/organizations/{org_name}/webhooks/"),
            Some(json!({"url": ""})),
            of_org(OrgAction::Manage, 400),
        )],
        (_, p) if p.starts_with("/organizations/{org}/webhooks/{id}") => {
            let path = p
                .replace("{org}", &org_name)
                .replace("{id}", "999999")
                .replace("{delivery}", "x");
            let body = matches!(method, "POST" | "PATCH").then(|| json!({}));
            vec![one(path, body, of_org(OrgAction::Manage, 404))]
        }
        ("GET", "/organizations/{org}/members/") => vec![one(
            format!("/organizations/{org_name}/members/"),
            None,
            of_org(OrgAction::View, 200),
        )],
        ("POST", "/organizations/{org}/members/") => vec![one(
            format!("/organizations/{org_name}/members/"),
            Some(json!({"username": ""})),
            of_org(OrgAction::Manage, 400),
        )],
        ("GET", "/organizations/{org}/members/{user}") => vec![one(
            format!("/organizations/{org_name}/members/{member}"),
            None,
            of_org(OrgAction::View, 200),
        )],
        ("PATCH", "/organizations/{org}/members/{user}") => vec![one(
            // The member's current roles: allowed, and nothing changes.
            format!("/organizations/{org_name}/members/{member}"),
            Some(json!({"role": "member", "default_dataset_role": null})),
            of_org(OrgAction::Manage, 200),
        )],
        ("DELETE", "/organizations/{org}/members/{user}") => vec![one(
            // Removing the last administrator: allowed to ask, refused by SPEC 4.1.
            format!("/organizations/{org_name}/members/{last_admin}"),
            None,
            of_org(OrgAction::Manage, 409),
        )],
        ("GET", "/organizations/{org}/audit/") => vec![one(
            format!("/organizations/{org_name}/audit/"),
            None,
            of_org(OrgAction::Manage, 200),
        )],
        _ if pattern.starts_with("/datasets/{owner}/{name}/") => DATASETS
            .iter()
            .map(|ds| {
                let path = pattern
                    .replace("{owner}", &ds.owner(n))
                    .replace("{name}", ds.name())
                    .replace("{user}", &target);
                let expect = |action, allowed| dataset(*ds, actor, action, allowed);
                let (body, expect, mutating) = match (method, pattern) {
                    ("GET", "/datasets/{owner}/{name}/") => {
                        (None, expect(DatasetAction::View, 200), false)
                    }
                    ("PATCH", "/datasets/{owner}/{name}/") => (
                        Some(json!({})),
                        expect(DatasetAction::ManageSettings, 200),
                        false,
                    ),
                    ("DELETE", "/datasets/{owner}/{name}/") => {
                        (None, expect(DatasetAction::ManageSettings, 204), true)
                    }
                    ("POST", "/datasets/{owner}/{name}/clone/") => (
                        Some(json!({"name": "x"})),
                        expect(DatasetAction::View, 400),
                        false,
                    ),
                    ("GET", "/datasets/{owner}/{name}/access/") => {
                        (None, expect(DatasetAction::ManageCollaborators, 200), false)
                    }
                    ("GET", "/datasets/{owner}/{name}/collaborators/") => {
                        (None, expect(DatasetAction::ManageCollaborators, 200), false)
                    }
                    ("POST", "/datasets/{owner}/{name}/collaborators/") => (
                        Some(json!({"user": ""})),
                        expect(DatasetAction::ManageCollaborators, 400),
                        false,
                    ),
                    ("GET", "/datasets/{owner}/{name}/collaborators/{user}") => {
                        (None, expect(DatasetAction::ManageCollaborators, 200), false)
                    }
                    ("PATCH", "/datasets/{owner}/{name}/collaborators/{user}") => (
                        Some(json!({"role": "viewer"})),
                        expect(DatasetAction::ManageCollaborators, 200),
                        false,
                    ),
                    ("DELETE", "/datasets/{owner}/{name}/collaborators/{user}") => {
                        (None, expect(DatasetAction::ManageCollaborators, 204), true)
                    }
                    _ => panic!("the API matrix does not cover {method} {pattern}"),
                };
                Case {
                    method,
                    path,
                    body,
                    expect,
                    mutates: mutating && (200..300).contains(&expect),
                }
            })
            .collect(),
        _ => panic!("the API matrix does not cover {method} {pattern}"),
    };
    match caller {
        Caller::With(_) => list,
        _ => list
            .into_iter()
            .map(|c| Case {
                expect: 401,
                mutates: false,
                ..c
            })
            .collect(),
    }
}

/// A copy of the HTML matrix's fixture with an API key for every actor, each used once (so
/// that first uses, which write, happen before the checks), and a revoked key.
struct Keys {
    fixture: Fixture,
    keys: Vec<(Caller, Api)>,
}

impl Keys {
    fn api(&self, caller: Caller) -> &Api {
        &self
            .keys
            .iter()
            .find(|(c, _)| *c == caller)
            .expect("every caller")
            .1
    }
}

async fn keys(app: &TestApp, n: usize) -> Keys {
    let fixture = fixture(app, n).await;
    let mut keys = vec![(Caller::NoKey, Api::new(&app.base, None))];
    for actor in ACTORS.iter().filter(|a| **a != Actor::Visitor) {
        let key = app.api_key(fixture.browser(*actor), "matrix").await;
        let api = Api::new(&app.base, Some(&key));
        assert_eq!(
            api.get("/api_status/").await.status,
            200,
            "fixture: the key of {actor:?}"
        );
        keys.push((Caller::With(*actor), api));
    }
    let stranger = fixture.browser(Actor::Stranger);
    let revoked = app.api_key(stranger, "revoked").await;
    let (_, page) = stranger.page("/settings/api-keys").await;
    let id = page
        .split("action=\"/settings/api-keys/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("the newest key's revoke form");
    let res = stranger
        .post(&format!("/settings/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), 303, "fixture: revoking a key");
    // A revoked key is a failed attempt at every request, counted by the throttle per
    // client address (30 in 15 minutes): spread over addresses, each case sees its 401.
    keys.push((
        Caller::Revoked,
        Api::new(&app.base, Some(&revoked)).with_many_addresses(),
    ));
    Keys { fixture, keys }
}

/// The phrase by which the SDK classifies each refusal (SDK-CONTRACT 5), and the phrases
/// of other classes that would misclassify it.
fn phrase_ok(status: u16, detail: &str) -> bool {
    let d = detail.to_lowercase();
    match status {
        401 => {
            d.contains("authentication credentials were not provided")
                || d.contains("invalid api key")
        }
        403 => d.contains("do not have permission") && !d.contains("not found"),
        404 => d.contains("not found"),
        _ => !d.contains("not found"),
    }
}

fn check(case: &Case, caller: Caller, ans: &ApiAnswer) -> Result<(), String> {
    let status = ans.status.as_u16();
    let body_ok = if (200..300).contains(&status) {
        // 204 has no body; everything else is JSON.
        status == 204 && ans.text.is_empty() || serde_json::from_str::<Value>(&ans.text).is_ok()
    } else {
        serde_json::from_str::<Value>(&ans.text)
            .ok()
            .and_then(|v| v["detail"].as_str().map(|d| phrase_ok(status, d)))
            .unwrap_or(false)
    };
    if status == case.expect && body_ok {
        Ok(())
    } else {
        Err(format!(
            "{caller:?} {} {}: expected {}, got {} {}",
            case.method,
            case.path,
            case.expect,
            ans.status,
            &ans.text[..ans.text.len().min(160)]
        ))
    }
}

db_test_with!(trust_loopback, async fn every_api_route_answers_every_caller_as_the_permission_table_says(app) {
    let main = keys(&app, 0).await;
    let mut fresh = 1;
    let (mut ran, mut failures) = (0usize, Vec::new());
    for (method, pattern) in colabel::routes::API_ROUTES {
        for caller in callers() {
            for (i, case) in cases(method, pattern, caller, main.fixture.n).into_iter().enumerate() {
                ran += 1;
                if case.mutates {
                    let copy = keys(&app, fresh).await;
                    fresh += 1;
                    let case = cases(method, pattern, caller, copy.fixture.n).swap_remove(i);
                    let ans = copy.api(caller).send(case.method, &case.path, case.body.clone()).await;
                    if let Err(e) = check(&case, caller, &ans) {
                        failures.push(e);
                    }
                    continue;
                }
                let before = snapshot(&app);
                let ans = main.api(caller).send(case.method, &case.path, case.body.clone()).await;
                if let Err(e) = check(&case, caller, &ans) {
                    failures.push(e);
                }
                if snapshot(&app) != before {
                    failures.push(format!("{caller:?} {} {} changed the database", case.method, case.path));
                }
            }
        }
    }
    eprintln!(
        "API authorization matrix: {ran} cases over {} routes and {} callers ({} on fresh fixtures), {} failures",
        colabel::routes::API_ROUTES.len(),
        callers().len(),
        fresh - 1,
        failures.len()
    );
    assert!(failures.is_empty(), "{} cases disagree with the permission table:\n{}", failures.len(), failures.join("\n"));
    assert!(ran > 500, "the matrix ran {ran} cases");
});
