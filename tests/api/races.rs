//! Races between two requests on two instances of one database (`spawn_second_instance`):
//! each test fires a pair of conflicting requests at the same instant, one per instance (the
//! instances swap every round), for 30 rounds (see `rounds`), and checks after every round that the
//! outcome is one that running the two requests one after the other, in either order, could
//! give:
//!
//! 1. a member removed while a private dataset of the organization is created keeps no
//!    access to it (no collaborator row without a membership, and the dataset answers 404);
//! 2. an administrator demoted while he adds an administrator, or promotes himself back, does
//!    nothing after the demotion (no audit event of his after it; his request answers 403);
//! 3. deleting an organization while a dataset is created in it or a member is added to it,
//!    and deleting a dataset while a collaborator is added to it, answer 303 or 404, never
//!    5xx, and leave no orphan rows;
//! 4. settings saved on a dataset being deleted answer 303 only if they were saved before
//!    (no audit event about the dataset after its deletion);
//! 5. two sign-ups with one email: one succeeds, the other says the email is taken.
//!
//! Every violation of every round is collected, so a failure reports how many rounds broke
//! the rule (`race N on Backend: X of 30 rounds violated`), not only the first. Set
//! `RACE_ROUNDS` to run more (or fewer) than 30 rounds.

use std::collections::{BTreeMap, BTreeSet};

use colabel::schema::{
    accounts, audit_events, collaborators, datasets, memberships, organizations,
};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::db_test;
use crate::helpers::*;

/// Rounds of each race: 30, or `RACE_ROUNDS` (to hunt for a rare interleaving).
fn rounds() -> usize {
    std::env::var("RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

/// The violations of one race, round by round, and the statuses every request answered.
struct Tally {
    race: String,
    violated: BTreeSet<usize>,
    notes: Vec<String>,
    statuses: BTreeMap<&'static str, BTreeMap<u16, usize>>,
}

impl Tally {
    fn new(race: &str, app: &TestApp) -> Self {
        Tally {
            race: format!("{race} on {:?}", app.backend),
            violated: BTreeSet::new(),
            notes: Vec::new(),
            statuses: BTreeMap::new(),
        }
    }

    /// Records that `request` answered `status`; a 5xx is a violation.
    fn saw(&mut self, round: usize, request: &'static str, status: StatusCode) {
        *self
            .statuses
            .entry(request)
            .or_default()
            .entry(status.as_u16())
            .or_insert(0) += 1;
        self.check(round, !status.is_server_error(), || {
            format!("{request} answered {status}")
        });
    }

    fn check(&mut self, round: usize, holds: bool, what: impl FnOnce() -> String) {
        if !holds {
            self.violated.insert(round);
            self.notes.push(format!("round {round}: {}", what()));
        }
    }

    /// Prints the summary and fails if any round broke a rule.
    fn finish(self) {
        let summary = format!(
            "{}: {} of {} rounds violated; statuses {:?}",
            self.race,
            self.violated.len(),
            rounds(),
            self.statuses
        );
        eprintln!("{summary}");
        assert!(
            self.violated.is_empty(),
            "{summary}\n{}",
            self.notes.join("\n")
        );
    }
}

/// `name` signed up on `one` and signed in on `two` (a session on each), tokens fetched.
async fn on_both(one: &TestApp, two: &TestApp, name: &str) -> [Browser; 2] {
    let first = one.user(name).await;
    first.token().await;
    let second = two.browser();
    assert_redirect(&second.login(name, PASSWORD).await, "/");
    second.token().await;
    [first, second]
}

async fn send(b: &Browser, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let res = b.post(path, form).await;
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

/// A set-up step, which must succeed.
async fn ok(b: &Browser, path: &str, form: &[(&str, &str)]) {
    let (status, body) = send(b, path, form).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "set-up: POST {path} {form:?}: {body}"
    );
}

fn id_of(app: &TestApp, name: &str) -> Option<i32> {
    app.with_db(|c| find_account_id(c, name))
}

/// An audit event, as the invariants read it.
#[derive(Debug)]
struct Event {
    id: i32,
    actor: String,
    action: String,
    subject: Option<String>,
    details: String,
}

fn last_event_id(app: &TestApp) -> i32 {
    app.with_db(|c| {
        audit_events::table
            .select(diesel::dsl::max(audit_events::id))
            .first::<Option<i32>>(c)
            .unwrap()
            .unwrap_or(0)
    })
}

/// Every audit event after `after`, by id.
fn events_after(app: &TestApp, after: i32) -> Vec<Event> {
    app.with_db(|c| {
        audit_events::table
            .filter(audit_events::id.gt(after))
            .order(audit_events::id)
            .select((
                audit_events::id,
                audit_events::actor_name,
                audit_events::action,
                audit_events::subject_name,
                audit_events::details,
            ))
            .load::<(i32, String, String, Option<String>, String)>(c)
            .unwrap()
            .into_iter()
            .map(|(id, actor, action, subject, details)| Event {
                id,
                actor,
                action,
                subject,
                details,
            })
            .collect()
    })
}

/// Collaborator rows (dataset, user) on an organization's dataset whose user is not a member
/// of that organization. The app may add outsiders as collaborators, but these tests never
/// do: every such row is access a removal should have revoked.
fn collaborators_without_membership(app: &TestApp) -> Vec<(String, i32)> {
    app.with_db(|c| {
        collaborators::table
            .inner_join(datasets::table.on(datasets::id.eq(collaborators::dataset_id)))
            .inner_join(organizations::table.on(organizations::id.eq(datasets::owner_id)))
            .filter(not(exists(
                memberships::table
                    .filter(memberships::org_id.eq(organizations::id))
                    .filter(memberships::user_id.eq(collaborators::user_id)),
            )))
            .select((datasets::name, collaborators::user_id))
            .load(c)
            .unwrap()
    })
}

/// (collaborators of a missing dataset, datasets of a missing owner, memberships of a
/// missing organization).
fn orphans(app: &TestApp) -> (i64, i64, i64) {
    app.with_db(|c| {
        let collabs = collaborators::table
            .filter(not(exists(
                datasets::table.filter(datasets::id.eq(collaborators::dataset_id)),
            )))
            .count()
            .get_result(c)
            .unwrap();
        let datasets = datasets::table
            .filter(not(exists(
                accounts::table.filter(accounts::id.eq(datasets::owner_id)),
            )))
            .count()
            .get_result(c)
            .unwrap();
        let members = memberships::table
            .filter(not(exists(
                organizations::table.filter(organizations::id.eq(memberships::org_id)),
            )))
            .count()
            .get_result(c)
            .unwrap();
        (collabs, datasets, members)
    })
}

fn org_role(app: &TestApp, org: i32, user: i32) -> Option<String> {
    app.with_db(|c| {
        memberships::table
            .filter(memberships::org_id.eq(org))
            .filter(memberships::user_id.eq(user))
            .select(memberships::role)
            .first(c)
            .optional()
            .unwrap()
    })
}

fn new_dataset(name: &str) -> [(&'static str, &str); 5] {
    [
        ("owner", "acme"),
        ("name", name),
        ("description", ""),
        ("task_type", "bboxes"),
        ("visibility", "private"),
    ]
}

// ---- 1. A removed member keeps access ----

db_test!(async fn a_removed_member_keeps_no_access_to_a_dataset_created_meanwhile(app) {
    let two = app.spawn_second_instance();
    let alice = on_both(&app, &two, "alice").await;
    let bob = on_both(&app, &two, "bob").await;
    let mallory = on_both(&app, &two, "mallory").await;
    ok(&alice[0], "/organizations", &[("username", "acme"), ("display_name", "")]).await;
    ok(&alice[0], "/acme/settings/members", &[("username", "bob"), ("role", "admin"), ("default_role", "none")]).await;
    let acme = id_of(&app, "acme").unwrap();
    let mallory_id = id_of(&app, "mallory").unwrap();
    let mut tally = Tally::new("race 1 (removed member keeps access)", &app);
    for round in 0..rounds() {
        let s = round % 2;
        // Mallory's default role would add her to every new dataset.
        ok(&alice[1 - s], "/acme/settings/members", &[("username", "mallory"), ("role", "member"), ("default_role", "labeler")]).await;
        let ds = format!("ds{round}");
        let form = new_dataset(&ds);
        let ((created, _), (removed, _)) = tokio::join!(
            send(&alice[s], "/datasets", &form),
            send(&bob[1 - s], "/acme/settings/members/mallory/remove", &[]),
        );
        tally.saw(round, "create dataset", created);
        tally.saw(round, "remove member", removed);
        // Both are allowed whatever the order.
        tally.check(round, created == StatusCode::SEE_OTHER, || format!("create dataset answered {created}"));
        tally.check(round, removed == StatusCode::SEE_OTHER, || format!("remove member answered {removed}"));
        tally.check(round, org_role(&app, acme, mallory_id).is_none(), || "mallory is still a member".into());
        // Checked every round: the next round's removal would clean up this one's leftovers.
        let outside = collaborators_without_membership(&app);
        tally.check(round, outside.is_empty(), || format!("collaborator rows without a membership (dataset, user id): {outside:?}"));
        let (status, _) = mallory[round % 2].page(&format!("/acme/{ds}")).await;
        tally.check(round, status == StatusCode::NOT_FOUND, || format!("mallory, removed, opens the private acme/{ds}: {status}"));
    }
    tally.finish();
    let outside = collaborators_without_membership(&app);
    assert!(outside.is_empty(), "at the end: {outside:?}");
    for round in 0..rounds() {
        let (status, _) = mallory[round % 2].page(&format!("/acme/ds{round}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "at the end, mallory opens acme/ds{round}");
    }
});

// ---- 2. A demoted administrator still acts as one ----

/// What the administrator being demoted does at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comeback {
    /// Adds a new administrator `c{round}`.
    AddsAdmin,
    /// Makes himself an administrator again.
    PromotesHimself,
}

async fn demoted_admin_race(app: TestApp, variant: Comeback) {
    let two = app.spawn_second_instance();
    let instances = [&app, &two];
    let alice = on_both(&app, &two, "alice").await;
    let bob = on_both(&app, &two, "bob").await;
    ok(
        &alice[0],
        "/organizations",
        &[("username", "acme"), ("display_name", "")],
    )
    .await;
    ok(
        &alice[0],
        "/acme/settings/members",
        &[
            ("username", "bob"),
            ("role", "admin"),
            ("default_role", "none"),
        ],
    )
    .await;
    if variant == Comeback::AddsAdmin {
        for round in 0..rounds() {
            instances[round % 2].user(&format!("c{round}")).await;
        }
    }
    let acme = id_of(&app, "acme").unwrap();
    let bob_id = id_of(&app, "bob").unwrap();
    let mut tally = Tally::new(&format!("race 2 (demoted admin {variant:?})"), &app);
    let promote = [("role", "admin"), ("default_role", "none")];
    for round in 0..rounds() {
        let s = round % 2;
        let mark = last_event_id(&app);
        let new_admin = format!("c{round}");
        let add = [
            ("username", new_admin.as_str()),
            ("role", "admin"),
            ("default_role", "none"),
        ];
        let comeback = match variant {
            Comeback::AddsAdmin => ("/acme/settings/members", &add[..]),
            Comeback::PromotesHimself => ("/acme/settings/members/bob", &promote[..]),
        };
        let ((demoted, _), (came_back, _)) = tokio::join!(
            send(
                &alice[s],
                "/acme/settings/members/bob",
                &[("role", "member"), ("default_role", "none")]
            ),
            send(&bob[1 - s], comeback.0, comeback.1),
        );
        tally.saw(round, "demote", demoted);
        tally.saw(round, "comeback", came_back);
        tally.check(round, demoted == StatusCode::SEE_OTHER, || {
            format!("alice's demotion answered {demoted}")
        });
        tally.check(
            round,
            [StatusCode::SEE_OTHER, StatusCode::FORBIDDEN].contains(&came_back),
            || format!("bob's request answered {came_back}"),
        );
        let events = events_after(&app, mark);
        let demotion = events.iter().find(|e| {
            e.actor == "alice"
                && e.action == "member.role_changed"
                && e.subject.as_deref() == Some("bob")
                && e.details.ends_with("to Member")
        });
        let Some(demotion) = demotion else {
            tally.check(round, false, || {
                format!("no event of alice demoting bob: {events:?}")
            });
            continue;
        };
        let late: Vec<&Event> = events
            .iter()
            .filter(|e| e.actor == "bob" && e.id > demotion.id)
            .collect();
        tally.check(round, late.is_empty(), || {
            format!(
                "bob acted after his demotion (event {}): {late:?}",
                demotion.id
            )
        });
        let bobs: Vec<&Event> = events.iter().filter(|e| e.actor == "bob").collect();
        if came_back == StatusCode::FORBIDDEN {
            tally.check(round, bobs.is_empty(), || {
                format!("bob's request answered 403 but left events: {bobs:?}")
            });
        }
        let bob_role = org_role(&app, acme, bob_id);
        tally.check(round, bob_role.as_deref() == Some("member"), || {
            format!("bob is {bob_role:?} after the round, not member")
        });
        if variant == Comeback::AddsAdmin {
            let c = id_of(&app, &new_admin).unwrap();
            let added = org_role(&app, acme, c);
            let expected = (came_back == StatusCode::SEE_OTHER).then(|| "admin".to_string());
            tally.check(round, added == expected, || {
                format!("bob's add answered {came_back}, {new_admin} is {added:?}")
            });
        }
        ok(&alice[1 - s], "/acme/settings/members/bob", &promote).await;
    }
    tally.finish();
}

db_test!(async fn a_demoted_admin_cannot_add_an_admin_at_the_same_instant(app) {
    demoted_admin_race(app, Comeback::AddsAdmin).await;
});

db_test!(async fn a_demoted_admin_cannot_promote_himself_at_the_same_instant(app) {
    demoted_admin_race(app, Comeback::PromotesHimself).await;
});

// ---- 3. Deletion races answer 500 ----

/// What races the deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Against {
    /// The organization is deleted while a dataset is created in it.
    CreateDataset,
    /// The organization is deleted while a member is added.
    AddMember,
    /// A dataset is deleted while a collaborator is added.
    AddCollaborator,
}

async fn deletion_race(app: TestApp, against: Against) {
    let two = app.spawn_second_instance();
    let alice = on_both(&app, &two, "alice").await;
    let bob = on_both(&app, &two, "bob").await;
    app.user("carol").await;
    let bob_admin = [
        ("username", "bob"),
        ("role", "admin"),
        ("default_role", "none"),
    ];
    if against == Against::AddCollaborator {
        ok(
            &alice[0],
            "/organizations",
            &[("username", "acme"), ("display_name", "")],
        )
        .await;
        ok(&alice[0], "/acme/settings/members", &bob_admin).await;
    }
    let mut tally = Tally::new(&format!("race 3 (deletion vs {against:?})"), &app);
    let answer = [StatusCode::SEE_OTHER, StatusCode::NOT_FOUND];
    for round in 0..rounds() {
        let s = round % 2;
        let org = format!("o{round}");
        let ds = format!("d{round}");
        let (deleted, other) = if against == Against::AddCollaborator {
            let mut form = new_dataset(&ds);
            form[0].1 = "acme";
            ok(&alice[1 - s], "/datasets", &form).await;
            let settings = format!("/acme/{ds}/settings");
            let add = format!("/acme/{ds}/settings/collaborators");
            let delete = [("action", "delete"), ("confirm", ds.as_str())];
            let carol = [("username", "carol"), ("role", "viewer")];
            let ((deleted, _), (added, _)) = tokio::join!(
                send(&alice[s], &settings, &delete),
                send(&bob[1 - s], &add, &carol),
            );
            (deleted, added)
        } else {
            ok(
                &alice[1 - s],
                "/organizations",
                &[("username", org.as_str()), ("display_name", "")],
            )
            .await;
            ok(&alice[s], &format!("/{org}/settings/members"), &bob_admin).await;
            let settings = format!("/{org}/settings");
            let delete = [("action", "delete"), ("confirm", org.as_str())];
            let ((deleted, _), (other, _)) = if against == Against::CreateDataset {
                let mut form = new_dataset(&ds);
                form[0].1 = &org;
                tokio::join!(
                    send(&alice[s], &settings, &delete),
                    send(&bob[1 - s], "/datasets", &form),
                )
            } else {
                let members = format!("/{org}/settings/members");
                let carol = [
                    ("username", "carol"),
                    ("role", "member"),
                    ("default_role", "viewer"),
                ];
                tokio::join!(
                    send(&alice[s], &settings, &delete),
                    send(&bob[1 - s], &members, &carol),
                )
            };
            (deleted, other)
        };
        let label = match against {
            Against::CreateDataset => "create dataset",
            Against::AddMember => "add member",
            Against::AddCollaborator => "add collaborator",
        };
        tally.saw(round, "delete", deleted);
        tally.saw(round, label, other);
        tally.check(round, answer.contains(&deleted), || {
            format!("the deletion answered {deleted}")
        });
        tally.check(round, answer.contains(&other), || {
            format!("the {against:?} answered {other}")
        });
        let gone = if against == Against::AddCollaborator {
            let acme = id_of(&app, "acme").unwrap();
            app.with_db(|c| {
                datasets::table
                    .filter(datasets::owner_id.eq(acme))
                    .filter(datasets::name_key.eq(&ds))
                    .count()
                    .get_result::<i64>(c)
                    .unwrap()
                    == 0
            })
        } else {
            id_of(&app, &org).is_none()
        };
        tally.check(round, gone, || "the deleted row is still there".into());
    }
    tally.finish();
    let left = orphans(&app);
    assert_eq!(
        left,
        (0, 0, 0),
        "orphans: (collaborators, datasets, memberships)"
    );
}

db_test!(async fn deleting_an_org_while_a_dataset_is_created_in_it(app) {
    deletion_race(app, Against::CreateDataset).await;
});

db_test!(async fn deleting_an_org_while_a_member_is_added(app) {
    deletion_race(app, Against::AddMember).await;
});

db_test!(async fn deleting_a_dataset_while_a_collaborator_is_added(app) {
    deletion_race(app, Against::AddCollaborator).await;
});

// ---- 4. Settings saved on a deleted dataset ----

db_test!(async fn settings_saved_on_a_dataset_being_deleted(app) {
    let two = app.spawn_second_instance();
    let alice = on_both(&app, &two, "alice").await;
    let bob = on_both(&app, &two, "bob").await;
    ok(&alice[0], "/organizations", &[("username", "acme"), ("display_name", "")]).await;
    ok(&alice[0], "/acme/settings/members", &[("username", "bob"), ("role", "admin"), ("default_role", "none")]).await;
    let mut tally = Tally::new("race 4 (settings saved on a deleted dataset)", &app);
    for round in 0..rounds() {
        let s = round % 2;
        let ds = format!("d{round}");
        ok(&alice[1 - s], "/datasets", &new_dataset(&ds)).await;
        let mark = last_event_id(&app);
        let settings = format!("/acme/{ds}/settings");
        let description = format!("round {round}");
        let delete = [("action", "delete"), ("confirm", ds.as_str())];
        let update = [("action", "update"), ("description", description.as_str()), ("task_type", "bboxes"), ("visibility", "private")];
        let ((deleted, _), (saved, _)) = tokio::join!(
            send(&alice[s], &settings, &delete),
            send(&bob[1 - s], &settings, &update),
        );
        tally.saw(round, "delete", deleted);
        tally.saw(round, "save settings", saved);
        tally.check(round, deleted == StatusCode::SEE_OTHER, || format!("the deletion answered {deleted}"));
        tally.check(round, [StatusCode::SEE_OTHER, StatusCode::NOT_FOUND].contains(&saved), || format!("saving answered {saved}"));
        let prefix = format!("on {ds}:");
        let about: Vec<Event> = events_after(&app, mark)
            .into_iter()
            .filter(|e| e.subject.as_deref() == Some(ds.as_str()) || e.details.starts_with(&prefix))
            .collect();
        let Some(deletion) = about.iter().find(|e| e.action == "dataset.deleted") else {
            tally.check(round, false, || format!("no dataset.deleted event: {about:?}"));
            continue;
        };
        let late: Vec<&Event> = about.iter().filter(|e| e.id > deletion.id).collect();
        tally.check(round, late.is_empty(), || format!("events about {ds} after its deletion (event {}): {late:?}", deletion.id));
        let changed: Vec<&Event> = about.iter().filter(|e| e.action == "dataset.settings_changed").collect();
        if saved == StatusCode::SEE_OTHER {
            tally.check(round, changed.len() == 1 && changed[0].id < deletion.id, || format!("saving answered 303; its events: {changed:?}, deletion {}", deletion.id));
        } else {
            tally.check(round, changed.is_empty(), || format!("saving answered {saved} but left {changed:?}"));
        }
    }
    tally.finish();
});

// ---- 5. Wrong message ----

db_test!(async fn two_signups_with_one_email_say_the_email_is_taken(app) {
    let two = app.spawn_second_instance();
    let mut tally = Tally::new("race 5 (one email, two sign-ups)", &app);
    let email_taken = "An account with this email already exists.";
    let name_taken = "That username is taken.";
    for round in 0..rounds() {
        let email = format!("shared{round}@example.com");
        let (first, second) = (format!("u{round}a"), format!("u{round}b"));
        // Fresh visitors; their sign-up forms' tokens fetched beforehand.
        let browsers = [app.browser(), two.browser()];
        for b in &browsers {
            b.token().await;
        }
        let one = [("username", first.as_str()), ("email", email.as_str()), ("password", PASSWORD)];
        let other = [("username", second.as_str()), ("email", email.as_str()), ("password", PASSWORD)];
        let (x, y) = tokio::join!(
            send(&browsers[round % 2], "/signup", &one),
            send(&browsers[1 - round % 2], "/signup", &other),
        );
        tally.saw(round, "signup", x.0);
        tally.saw(round, "signup", y.0);
        let answers = [&x, &y];
        let winners = answers.iter().filter(|a| a.0 == StatusCode::SEE_OTHER).count();
        tally.check(round, winners == 1, || format!("{winners} sign-ups succeeded: {} and {}", x.0, y.0));
        for (status, body) in answers {
            if *status != StatusCode::SEE_OTHER {
                tally.check(round, *status == StatusCode::UNPROCESSABLE_ENTITY, || format!("the loser answered {status}"));
                tally.check(round, body.contains(email_taken), || format!("the loser's form does not say {email_taken:?}"));
                tally.check(round, !body.contains(name_taken), || format!("the loser's form says {name_taken:?}, but the usernames differ"));
            }
        }
        let users: i64 = app.with_db(|c| {
            colabel::schema::users::table
                .filter(colabel::schema::users::email_key.eq(&email))
                .count()
                .get_result(c)
                .unwrap()
        });
        tally.check(round, users == 1, || format!("{users} users with {email}"));
    }
    tally.finish();
});
