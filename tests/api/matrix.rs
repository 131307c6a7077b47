//! The authorization matrix (issue 5): every route of `colabel::routes::ROUTES`, for every
//! kind of actor, on private and public datasets of an organization and of a person, is
//! checked against what SPEC section 2's permission table (`colabel::domain::roles`) says. A route
//! the matrix does not know fails the test. Refused POSTs, and every GET, change nothing.
//! HEAD (beside every GET) must answer exactly as GET does.
//!
//! Allowed POSTs send a harmless probe (an invalid form, an unchanged role, removing the
//! last administrator), so the permission check is what the answer shows; the few allowed
//! actions that cannot be probed harmlessly (leaving, removing a collaborator) run against a
//! fresh copy of the fixture.

use colabel::domain::access::Access;
use colabel::domain::roles::{DatasetAction, DatasetRole, OrgAction, OrgRole};
use reqwest::StatusCode;

use crate::db_test;
use crate::helpers::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Actor {
    Visitor,
    Stranger,
    Member,
    OrgAdmin,
    /// An organization member who is a collaborator with this role on every dataset.
    Collaborator(DatasetRole),
    /// Not an organization member; a labeler on every dataset.
    Outside,
    /// The owner of the personal datasets.
    Owner,
}

pub(crate) const ACTORS: [Actor; 11] = [
    Actor::Visitor,
    Actor::Stranger,
    Actor::Member,
    Actor::OrgAdmin,
    Actor::Collaborator(DatasetRole::Viewer),
    Actor::Collaborator(DatasetRole::Labeler),
    Actor::Collaborator(DatasetRole::Reviewer),
    Actor::Collaborator(DatasetRole::Manager),
    Actor::Collaborator(DatasetRole::Admin),
    Actor::Outside,
    Actor::Owner,
];

impl Actor {
    pub(crate) fn name(self, n: usize) -> Option<String> {
        let base = match self {
            Actor::Visitor => return None,
            Actor::Stranger => "stranger".to_string(),
            Actor::Member => "member".to_string(),
            Actor::OrgAdmin => "orgadmin".to_string(),
            Actor::Collaborator(r) => format!("c{}", r.as_str()),
            Actor::Outside => "outside".to_string(),
            Actor::Owner => "owner".to_string(),
        };
        Some(format!("{base}{n}"))
    }

    pub(crate) fn org_role(self) -> Option<OrgRole> {
        match self {
            Actor::Member | Actor::Collaborator(_) => Some(OrgRole::Member),
            Actor::OrgAdmin => Some(OrgRole::Admin),
            _ => None,
        }
    }
}

/// One dataset of the fixture.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ds {
    pub(crate) org_owned: bool,
    pub(crate) public: bool,
}

pub(crate) const DATASETS: [Ds; 4] = [
    Ds {
        org_owned: true,
        public: false,
    },
    Ds {
        org_owned: true,
        public: true,
    },
    Ds {
        org_owned: false,
        public: false,
    },
    Ds {
        org_owned: false,
        public: true,
    },
];

impl Ds {
    pub(crate) fn owner(self, n: usize) -> String {
        if self.org_owned {
            format!("acme{n}")
        } else {
            format!("owner{n}")
        }
    }

    pub(crate) fn name(self) -> &'static str {
        if self.public {
            "open"
        } else {
            "secret"
        }
    }

    /// The actor's effective access, by the rules of SPEC 2 (`Access::effective`).
    pub(crate) fn access(self, actor: Actor) -> Option<Access> {
        let owner_id = 1;
        let viewer = match actor {
            Actor::Visitor => None,
            Actor::Owner if !self.org_owned => Some(owner_id),
            _ => Some(2),
        };
        let org_role = if self.org_owned {
            actor.org_role()
        } else {
            None
        };
        let collaborator = match actor {
            Actor::Collaborator(r) => Some(r),
            Actor::Outside => Some(DatasetRole::Labeler),
            _ => None,
        };
        Access::effective(owner_id, viewer, org_role, collaborator, self.public)
    }
}

/// The answer a case must get.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    Status(u16),
    /// A 303 whose Location starts with this.
    Redirect(String),
}

const OK: Expect = Expect::Status(200);
const NOT_FOUND: Expect = Expect::Status(404);
const FORBIDDEN: Expect = Expect::Status(403);
const INVALID: Expect = Expect::Status(422);
const GONE: Expect = Expect::Status(410);
const TO_LOGIN: Expect = Expect::Redirect(String::new());

fn redirect(to: impl Into<String>) -> Expect {
    Expect::Redirect(to.into())
}

/// One request of the matrix.
struct Case {
    method: &'static str,
    path: String,
    form: Vec<(String, String)>,
    expect: Expect,
    /// Allowed and not harmless: runs on a fresh fixture.
    mutates: bool,
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Org pages: visitors sign in first (404 for the account page itself), non-members get
/// 404, members without the permission 403.
fn org_expect(actor: Actor, action: OrgAction, allowed: Expect, visitor: Expect) -> Expect {
    match (actor, actor.org_role()) {
        (Actor::Visitor, _) => visitor,
        (_, None) => NOT_FOUND,
        (_, Some(role)) if !role.can(action) => FORBIDDEN,
        _ => allowed,
    }
}

/// Dataset pages: 404 without access (for visitors too on `GET /{owner}/{dataset}`; other
/// dataset pages ask visitors to sign in first), 403 without the permission.
fn dataset_expect(
    ds: Ds,
    actor: Actor,
    action: DatasetAction,
    allowed: Expect,
    signin_first: bool,
) -> Expect {
    if signin_first && actor == Actor::Visitor {
        return TO_LOGIN;
    }
    match ds.access(actor) {
        // A visitor signs in first, whether the dataset is private or missing (issue 16).
        None if actor == Actor::Visitor => TO_LOGIN,
        None => NOT_FOUND,
        Some(a) if !a.role().can(action) => FORBIDDEN,
        Some(_) => allowed,
    }
}

/// The cases of one route for one actor (several when the route has dataset or owner
/// contexts). Panics for a route the matrix does not know.
fn cases(method: &'static str, pattern: &str, actor: Actor, n: usize) -> Vec<Case> {
    let signed_in = actor != Actor::Visitor;
    let me = actor.name(n).unwrap_or_default();
    let org = format!("acme{n}");
    let member = format!("member{n}");
    let last_admin = format!("orgadmin{n}");
    let one = |path: String, form: Vec<(String, String)>, expect: Expect| Case {
        method,
        path,
        form,
        expect,
        mutates: false,
    };
    let login_or = |e: Expect| if signed_in { e } else { TO_LOGIN };
    match (method, pattern) {
        // HEAD is GET without the body: the same answer to everyone.
        ("HEAD", _) => cases("GET", pattern, actor, n)
            .into_iter()
            .map(|case| Case {
                method: "HEAD",
                ..case
            })
            .collect(),
        ("GET", "/") | ("GET", "/healthz") | ("GET", "/api") | ("GET", "/api/openapi.json") => {
            vec![one(pattern.into(), vec![], OK)]
        }
        ("GET", "/settings/api-keys") => vec![one(pattern.into(), vec![], login_or(OK))],
        ("POST", "/settings/api-keys") => vec![one(
            pattern.into(),
            form(&[("name", "")]),
            login_or(INVALID),
        )],
        // Nobody has a key with this id: revoking it is "not found" for everyone signed in
        // (a key of another user answers the same).
        ("POST", "/settings/api-keys/{id}/revoke") => vec![one(
            "/settings/api-keys/999999/revoke".into(),
            vec![],
            login_or(NOT_FOUND),
        )],
        ("GET", "/static/{name}") => vec![one("/static/app.css".into(), vec![], OK)],
        ("GET", "/signup") | ("GET", "/login") => {
            vec![one(
                pattern.into(),
                vec![],
                if signed_in { redirect("/") } else { OK },
            )]
        }
        ("POST", "/signup") => vec![one(
            pattern.into(),
            form(&[("username", "x"), ("email", "x"), ("password", "x")]),
            INVALID,
        )],
        ("POST", "/login") => {
            let who = format!("nobody-{n}-{me}");
            vec![one(
                pattern.into(),
                form(&[("login", &who), ("password", "wrong password")]),
                INVALID,
            )]
        }
        ("POST", "/logout") => vec![one(pattern.into(), vec![], redirect("/"))],
        ("GET", "/settings")
        | ("GET", "/settings/organizations")
        | ("GET", "/organizations/new")
        | ("GET", "/datasets/new") => {
            vec![one(pattern.into(), vec![], login_or(OK))]
        }
        ("POST", "/settings") => vec![one(
            pattern.into(),
            form(&[
                ("action", "profile"),
                ("display_name", ""),
                ("email", "not-an-email"),
            ]),
            login_or(INVALID),
        )],
        ("POST", "/organizations") => vec![one(
            pattern.into(),
            form(&[("username", "x"), ("display_name", "")]),
            login_or(INVALID),
        )],
        ("POST", "/datasets") => [DATASETS[0], DATASETS[2]]
            .iter()
            .map(|ds| {
                let owner = ds.owner(n);
                let expect = match actor {
                    Actor::Visitor => TO_LOGIN,
                    _ if ds.org_owned => {
                        org_expect(actor, OrgAction::CreateDataset, INVALID, TO_LOGIN)
                    }
                    Actor::Owner => INVALID,
                    // Someone else's personal account.
                    _ => FORBIDDEN,
                };
                one(
                    "/datasets".into(),
                    form(&[
                        ("owner", &owner),
                        ("name", "x"),
                        ("task_type", "bboxes"),
                        ("visibility", "private"),
                    ]),
                    expect,
                )
            })
            .collect(),
        ("GET", "/settings/organizations/{org}/leave") => {
            vec![one(
                format!("/settings/organizations/{org}/leave"),
                vec![],
                org_expect(actor, OrgAction::View, OK, TO_LOGIN),
            )]
        }
        ("POST", "/settings/organizations/{org}/leave") => {
            let expect = org_expect(
                actor,
                OrgAction::View,
                redirect("/settings/organizations"),
                TO_LOGIN,
            );
            // The last administrator's leave is refused (harmless); anyone else's happens.
            let mutates = actor.org_role() == Some(OrgRole::Member);
            vec![Case {
                method,
                path: format!("/settings/organizations/{org}/leave"),
                form: vec![],
                expect,
                mutates,
            }]
        }
        ("GET", "/{owner}") => {
            let person = format!("owner{n}");
            vec![
                // Everyone: members the whole page, the others its public profile (SPEC 3).
                one(format!("/{org}"), vec![], OK),
                one(format!("/{person}"), vec![], OK),
            ]
        }
        ("GET", "/{org}/members") => vec![one(
            format!("/{org}/members"),
            vec![],
            org_expect(actor, OrgAction::View, OK, TO_LOGIN),
        )],
        ("GET", "/{org}/settings")
        | ("GET", "/{org}/settings/members")
        | ("GET", "/{org}/settings/members.csv")
        | ("GET", "/{org}/settings/audit")
        | ("GET", "/{org}/settings/webhooks") => {
            vec![one(
                pattern.replace("{org}", &org),
                vec![],
                org_expect(actor, OrgAction::Manage, OK, TO_LOGIN),
            )]
        }
        ("POST", "/{org}/settings/webhooks") => vec![one(
            format!("/{org}/settings/webhooks"),
            form(&[("url", ""), ("all", "on"), ("active", "on")]),
            org_expect(actor, OrgAction::Manage, INVALID, TO_LOGIN),
        )],
        // The fixture has no webhook: administrators find none, after the role check.
        ("GET", "/{org}/settings/webhooks/{id}") => vec![one(
            format!("/{org}/settings/webhooks/999999"),
            vec![],
            org_expect(actor, OrgAction::Manage, NOT_FOUND, TO_LOGIN),
        )],
        ("POST", "/{org}/settings/webhooks/{id}") => vec![one(
            format!("/{org}/settings/webhooks/999999"),
            form(&[("action", "ping")]),
            org_expect(actor, OrgAction::Manage, NOT_FOUND, TO_LOGIN),
        )],
        ("GET", "/{org}/settings/members/{user}/access") => {
            vec![one(
                format!("/{org}/settings/members/{member}/access"),
                vec![],
                org_expect(actor, OrgAction::Manage, OK, TO_LOGIN),
            )]
        }
        ("GET", "/{org}/settings/members/{user}/remove") => {
            vec![one(
                format!("/{org}/settings/members/{member}/remove"),
                vec![],
                org_expect(actor, OrgAction::Manage, OK, TO_LOGIN),
            )]
        }
        ("POST", "/{org}/settings") => vec![one(
            format!("/{org}/settings"),
            form(&[
                ("action", "update"),
                ("display_name", ""),
                ("description", ""),
                ("contact_email", "not-an-email"),
            ]),
            org_expect(actor, OrgAction::Manage, INVALID, TO_LOGIN),
        )],
        ("POST", "/{org}/settings/members") => vec![one(
            format!("/{org}/settings/members"),
            form(&[
                ("username", ""),
                ("role", "member"),
                ("default_role", "none"),
            ]),
            org_expect(actor, OrgAction::Manage, INVALID, TO_LOGIN),
        )],
        ("GET", "/{org}/settings/bulk-members") => vec![one(
            format!("/{org}/settings/bulk-members?change=default-none&m={member}"),
            vec![],
            org_expect(actor, OrgAction::Manage, OK, TO_LOGIN),
        )],
        ("POST", "/{org}/settings/bulk-members") => vec![one(
            format!("/{org}/settings/bulk-members"),
            // The member's current default role: allowed, and nothing changes.
            form(&[("change", "default-none"), ("m", member.as_str())]),
            org_expect(
                actor,
                OrgAction::Manage,
                redirect(format!("/{org}/settings/members")),
                TO_LOGIN,
            ),
        )],
        ("GET", "/{org}/settings/apply-defaults") => vec![one(
            format!("/{org}/settings/apply-defaults?m={member}"),
            vec![],
            org_expect(actor, OrgAction::Manage, OK, TO_LOGIN),
        )],
        ("POST", "/{org}/settings/apply-defaults") => vec![one(
            format!("/{org}/settings/apply-defaults"),
            form(&[("m", member.as_str())]),
            org_expect(
                actor,
                OrgAction::Manage,
                redirect(format!("/{org}/settings/members")),
                TO_LOGIN,
            ),
        )],
        ("POST", "/{org}/settings/import-members/preview") => vec![one(
            format!("/{org}/settings/import-members/preview"),
            // Nobody of that name: a preview with nothing to add.
            form(&[
                ("lines", "nobody"),
                ("role", "member"),
                ("default_role", "none"),
            ]),
            org_expect(actor, OrgAction::Manage, OK, TO_LOGIN),
        )],
        ("POST", "/{org}/settings/import-members") => vec![one(
            format!("/{org}/settings/import-members"),
            form(&[
                ("lines", "nobody"),
                ("role", "member"),
                ("default_role", "none"),
            ]),
            org_expect(
                actor,
                OrgAction::Manage,
                redirect(format!("/{org}/settings/members")),
                TO_LOGIN,
            ),
        )],
        ("POST", "/{org}/settings/members/{user}") => vec![one(
            format!("/{org}/settings/members/{member}"),
            // The member's current roles: allowed, and nothing changes.
            form(&[("role", "member"), ("default_role", "none")]),
            org_expect(
                actor,
                OrgAction::Manage,
                redirect(format!("/{org}/settings/members")),
                TO_LOGIN,
            ),
        )],
        ("POST", "/{org}/settings/members/{user}/remove") => vec![one(
            // Removing the last administrator: allowed to ask, refused by SPEC 4.1.
            format!("/{org}/settings/members/{last_admin}/remove"),
            vec![],
            org_expect(
                actor,
                OrgAction::Manage,
                redirect(format!("/{org}/settings/members")),
                TO_LOGIN,
            ),
        )],
        // Links sent by email: usable by anyone who has one; a bad token is "gone".
        ("GET", "/password/forgot") => vec![one(pattern.into(), vec![], OK)],
        ("POST", "/password/forgot") => {
            vec![one(pattern.into(), form(&[("email", "")]), INVALID)]
        }
        ("GET", "/password/reset") | ("GET", "/email/verify") => {
            vec![one(format!("{pattern}?token=nothing"), vec![], GONE)]
        }
        ("POST", "/password/reset") => vec![one(
            pattern.into(),
            form(&[("token", "nothing"), ("password", "x")]),
            GONE,
        )],
        ("POST", "/email/verify") => {
            vec![one(pattern.into(), form(&[("token", "nothing")]), GONE)]
        }
        ("GET", "/invitation") => {
            vec![one("/invitation?token=nothing".into(), vec![], NOT_FOUND)]
        }
        ("POST", "/invitation") => vec![one(
            pattern.into(),
            form(&[("token", "nothing"), ("action", "accept")]),
            login_or(NOT_FOUND),
        )],
        ("POST", "/settings/email/verify") => {
            vec![one(pattern.into(), vec![], login_or(redirect("/")))]
        }
        ("POST", "/settings/organizations/invitations/{id}") => vec![one(
            "/settings/organizations/invitations/999999".into(),
            form(&[("action", "accept")]),
            login_or(NOT_FOUND),
        )],
        ("POST", "/{org}/settings/members/invitations") => vec![one(
            format!("/{org}/settings/members/invitations"),
            form(&[
                ("invitee", ""),
                ("role", "member"),
                ("default_role", "none"),
            ]),
            org_expect(actor, OrgAction::Manage, INVALID, TO_LOGIN),
        )],
        ("POST", "/{org}/settings/members/invitations/{id}") => vec![one(
            // No such invitation: administrators are told so, members are refused first.
            format!("/{org}/settings/members/invitations/999999"),
            form(&[("action", "resend")]),
            org_expect(actor, OrgAction::Manage, NOT_FOUND, TO_LOGIN),
        )],
        _ if pattern.starts_with("/{owner}/{dataset}") => DATASETS
            .iter()
            .map(|ds| {
                let path = pattern
                    .replace("{owner}", &ds.owner(n))
                    .replace("{dataset}", ds.name());
                let collaborators =
                    format!("/{}/{}/settings/collaborators", ds.owner(n), ds.name());
                let target = format!("cviewer{n}");
                match (method, pattern) {
                    ("GET", "/{owner}/{dataset}") => one(
                        path,
                        vec![],
                        dataset_expect(*ds, actor, DatasetAction::View, OK, false),
                    ),
                    ("GET", "/{owner}/{dataset}/settings") => one(
                        path,
                        vec![],
                        dataset_expect(*ds, actor, DatasetAction::ManageSettings, OK, true),
                    ),
                    ("POST", "/{owner}/{dataset}/settings") => one(
                        path,
                        form(&[("action", "delete"), ("confirm", "wrong name")]),
                        dataset_expect(*ds, actor, DatasetAction::ManageSettings, INVALID, true),
                    ),
                    ("GET", "/{owner}/{dataset}/settings/access") => one(
                        path,
                        vec![],
                        dataset_expect(*ds, actor, DatasetAction::ManageCollaborators, OK, true),
                    ),
                    ("GET", "/{owner}/{dataset}/settings/collaborators") => one(
                        path,
                        vec![],
                        dataset_expect(*ds, actor, DatasetAction::ManageCollaborators, OK, true),
                    ),
                    ("POST", "/{owner}/{dataset}/settings/collaborators") => one(
                        path,
                        form(&[("username", ""), ("role", "viewer")]),
                        dataset_expect(
                            *ds,
                            actor,
                            DatasetAction::ManageCollaborators,
                            INVALID,
                            true,
                        ),
                    ),
                    ("POST", "/{owner}/{dataset}/settings/collaborators/{user}") => one(
                        path.replace("{user}", &target),
                        form(&[("role", "viewer")]),
                        dataset_expect(
                            *ds,
                            actor,
                            DatasetAction::ManageCollaborators,
                            redirect(collaborators),
                            true,
                        ),
                    ),
                    ("POST", "/{owner}/{dataset}/settings/collaborators/{user}/remove") => {
                        let expect = dataset_expect(
                            *ds,
                            actor,
                            DatasetAction::ManageCollaborators,
                            redirect(&collaborators),
                            true,
                        );
                        let mutates = expect == redirect(&collaborators);
                        Case {
                            method,
                            path: path.replace("{user}", &target),
                            form: vec![],
                            expect,
                            mutates,
                        }
                    }
                    _ => panic!("the matrix does not cover {method} {pattern}"),
                }
            })
            .collect(),
        _ => panic!("the matrix does not cover {method} {pattern}"),
    }
}

/// The signed-in (or not) browsers of one copy of the fixture, numbered `n`.
pub(crate) struct Fixture {
    pub(crate) n: usize,
    browsers: Vec<(Actor, Browser)>,
}

impl Fixture {
    pub(crate) fn browser(&self, actor: Actor) -> &Browser {
        &self
            .browsers
            .iter()
            .find(|(a, _)| *a == actor)
            .expect("every actor")
            .1
    }
}

async fn created(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "fixture: {what}");
}

/// Builds a copy of the fixture: organization `acme{n}` (administrator `orgadmin{n}`,
/// members `member{n}` and `c<role>{n}`, all with default role None), its datasets `secret`
/// and `open`, and `owner{n}`'s personal `secret` and `open`; on all four, `c<role>{n}` has
/// that role and `outside{n}` is a labeler.
pub(crate) async fn fixture(app: &TestApp, n: usize) -> Fixture {
    let mut browsers = Vec::new();
    for actor in ACTORS {
        let b = match actor.name(n) {
            Some(name) => app.user(&name).await,
            None => app.browser(),
        };
        browsers.push((actor, b));
    }
    let f = Fixture { n, browsers };
    let admin = f.browser(Actor::OrgAdmin);
    let org = format!("acme{n}");
    created(
        admin
            .post(
                "/organizations",
                &[("username", &org), ("display_name", "")],
            )
            .await,
        "org",
    )
    .await;
    for actor in ACTORS
        .iter()
        .filter(|a| a.org_role() == Some(OrgRole::Member))
    {
        let name = actor.name(n).unwrap();
        let form = [
            ("username", name.as_str()),
            ("role", "member"),
            ("default_role", "none"),
        ];
        created(
            admin.post(&format!("/{org}/settings/members"), &form).await,
            "member",
        )
        .await;
    }
    for ds in DATASETS {
        let creator = if ds.org_owned {
            admin
        } else {
            f.browser(Actor::Owner)
        };
        let owner = ds.owner(n);
        let visibility = if ds.public { "public" } else { "private" };
        let form = [
            ("owner", owner.as_str()),
            ("name", ds.name()),
            ("task_type", "bboxes"),
            ("visibility", visibility),
        ];
        created(creator.post("/datasets", &form).await, "dataset").await;
        let path = format!("/{owner}/{}/settings/collaborators", ds.name());
        for actor in ACTORS {
            let role = match actor {
                Actor::Collaborator(r) => r,
                Actor::Outside => DatasetRole::Labeler,
                _ => continue,
            };
            let name = actor.name(n).unwrap();
            created(
                creator
                    .post(&path, &[("username", &name), ("role", role.as_str())])
                    .await,
                "collaborator",
            )
            .await;
        }
    }
    // The visitor gets an anonymous session, so its POSTs carry a valid token.
    f.browser(Actor::Visitor).token().await;
    f
}

async fn send(b: &Browser, case: &Case) -> reqwest::Response {
    if case.method == "GET" {
        b.get(&case.path).await
    } else if case.method == "HEAD" {
        b.head(&case.path).await
    } else {
        let pairs: Vec<(&str, &str)> = case
            .form
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        b.post(&case.path, &pairs).await
    }
}

fn check(case: &Case, actor: Actor, res: &reqwest::Response) -> Result<(), String> {
    let status = res.status().as_u16();
    let ok = match &case.expect {
        Expect::Status(s) => status == *s,
        Expect::Redirect(to) if to.is_empty() => {
            status == 303 && location(res).starts_with("/login")
        }
        Expect::Redirect(to) => status == 303 && location(res).starts_with(to.as_str()),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{actor:?} {} {}: expected {:?}, got {status} {}",
            case.method,
            case.path,
            case.expect,
            location(res)
        ))
    }
}

db_test!(async fn every_route_answers_every_actor_as_the_permission_table_says(app) {
    let main = fixture(&app, 0).await;
    let mut fresh = 1;
    let (mut ran, mut failures) = (0usize, Vec::new());
    // Logging out ends the actors' sessions: those cases go last.
    let mut routes: Vec<(&str, &str)> = colabel::routes::ROUTES.to_vec();
    routes.sort_by_key(|(m, p)| (*m, *p) == ("POST", "/logout"));
    for (method, pattern) in routes {
        for actor in ACTORS {
            for (i, case) in cases(method, pattern, actor, main.n).into_iter().enumerate() {
                ran += 1;
                if case.mutates {
                    // An allowed change: on a copy of the fixture, checking only the answer.
                    let copy = fixture(&app, fresh).await;
                    fresh += 1;
                    let case = cases(method, pattern, actor, copy.n).swap_remove(i);
                    let res = send(copy.browser(actor), &case).await;
                    if let Err(e) = check(&case, actor, &res) {
                        failures.push(e);
                    }
                    continue;
                }
                let before = snapshot(&app);
                let res = send(main.browser(actor), &case).await;
                if let Err(e) = check(&case, actor, &res) {
                    failures.push(e);
                }
                if snapshot(&app) != before {
                    failures.push(format!("{actor:?} {} {} changed the database", case.method, case.path));
                }
            }
        }
    }
    eprintln!(
        "authorization matrix: {ran} cases over {} routes and {} actors ({} on fresh fixtures), {} failures",
        colabel::routes::ROUTES.len(),
        ACTORS.len(),
        fresh - 1,
        failures.len()
    );
    assert!(failures.is_empty(), "{} cases disagree with the permission table:\n{}", failures.len(), failures.join("\n"));
    assert!(ran > 500, "the matrix ran {ran} cases");
});
