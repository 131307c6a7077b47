//! Hostile input (issue 5, item 4). Every POST route of `colabel::routes::ROUTES` receives
//! malformed bodies from an actor whose rights are not what refuses them (the organization's
//! administrator, the member who may leave, the user on their own settings, a visitor on the
//! sign-up and login forms): invalid UTF-8, fields of 1 MB and of 60 KB, missing and
//! duplicated fields, unknown choice values, SQL and HTML metacharacters, Unicode look-alikes,
//! zero-width and bidirectional characters, control characters and NUL, in every field and in
//! every path parameter.
//!
//! What each field accepts is defined here, per kind of field (see [`Kind`] and [`expect`]):
//! names and choices accept nothing hostile; free text (display names, descriptions), new
//! passwords and loosely checked email addresses accept what their rule allows. A refused
//! request gets a 4xx page in the layout with a clear message and changes nothing (a snapshot
//! of the tables before and after); an accepted one gets a 303, its value is stored verbatim
//! (after trimming) and every page that shows it escapes it.

use colabel::routes::ROUTES;
use colabel::schema::{accounts, datasets, login_throttle, organizations, users};
use diesel::prelude::*;
use futures_util::StreamExt;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::db_test;
use crate::helpers::*;

// ---- Messages the pages must show ----

const NUL: &str = "NUL character";
const UTF8: &str = "not valid UTF-8";
const TOO_LARGE: &str = "larger than Colabel accepts";
const DUPLICATE: &str = "duplicate field";
const MISSING: &str = "missing field";
const TWO_TOKENS: &str = "two security tokens";
const BAD_NAME: &str = "malformed field name";
const NO_TOKEN: &str = "security token is missing";
const NOT_FOUND: &str = "There is nothing here";
const NO_USER: &str = "There is no user with that username.";
const TYPE_USER: &str = "Type the username of the user to add.";
const BAD_LOGIN: &str = "Incorrect username, email or password.";
const BAD_EMAIL: &str = "Enter an email address such as name@example.com.";
const NOT_CURRENT: &str = "This is not your current password.";
const CONTROL: &str = "Remove the control characters.";
const BIDI: &str = "Remove the invisible text-direction characters.";
const AT_MOST: &str = "Use at most";
const SHORT_PASSWORD: &str = "Use at least 8 characters.";
const LONG_PASSWORD: &str = "Use at most 72 bytes";
const UNKNOWN_ACTION: &str = "Unknown settings action.";
const UNKNOWN_TASK: &str = "Unknown task type.";
const BAD_VISIBILITY: &str = "Visibility must be public or private.";
const TYPE_INVITEE: &str = "Type the username or the email address of the person to invite.";
const LINK_GONE: &str = "This link has expired or was already used.";
const UNKNOWN_ANSWER: &str = "Unknown answer to an invitation.";
const UNKNOWN_INVITATION_ACTION: &str = "Unknown invitation action.";
const NO_KEY_NAME: &str = "Give the key a name";

/// Routes whose accepted form answers 200 with a page instead of a 303: a new API key is
/// shown once, on the page that answers its creation, never carried through a redirect.
const ANSWERS_WITH_A_PAGE: &[&str] = &["/settings/api-keys"];

const DATASET_ROLES: &[&str] = &["viewer", "labeler", "reviewer", "manager", "admin"];
const DEFAULT_ROLES: &[&str] = &["viewer", "labeler", "reviewer", "manager", "admin", "none"];
const ORG_ROLES: &[&str] = &["member", "admin"];
const BULK_CHANGES: &[&str] = &[
    "role-admin",
    "role-member",
    "default-viewer",
    "default-labeler",
    "default-reviewer",
    "default-manager",
    "default-admin",
    "default-none",
    "remove",
];
const VISIBILITY: &[&str] = &["public", "private"];
const SETTINGS_ACTIONS: &[&str] = &["profile", "password"];
const UPDATE_DELETE: &[&str] = &["update", "delete"];
const ANSWERS: &[&str] = &["accept", "decline"];
const INVITATION_ACTIONS: &[&str] = &["resend", "cancel"];
const TASK_TYPES: &[&str] = &[
    "segmentation-bitmap",
    "bboxes",
    "vector",
    "keypoints",
    "pointcloud-cuboid",
    "pointcloud-segmentation",
    "text-named-entities",
];

/// A field of 1 MB: over the 64 KB form limit, so 413 before any handler runs.
const ONE_MB: usize = 1024 * 1024;
/// A field of 60 KB: under the form limit, so the handler's own rules must refuse it.
const SIXTY_KB: usize = 60 * 1024;

// ---- What a request should get ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Refused with this status; the page says the message ("" = a form shown again with a
    /// field error, where the message depends on which name rule the value breaks).
    No(u16, &'static str),
    /// Acceptable and harmless: a 303; the value is stored verbatim and shown escaped.
    Yes,
}

/// The kinds of form fields, each with its rule for hostile values (see [`expect`]).
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A new account name (sign-up, organization): ASCII letters, digits, '-', '_' only.
    NewName,
    /// A new dataset name: the same shape.
    DatasetName,
    /// The username of an existing user to add: looked up exactly (ASCII case aside).
    UserRef,
    /// The login field: a username or an email address, looked up exactly.
    Login,
    /// The owner of a new dataset: an account name; an unknown one is a 404.
    Owner,
    /// Free text of at most this many characters: anything but control characters
    /// (other than tab, CR, LF) and NUL.
    Text(usize),
    /// The same, but it may not be empty (after trimming): the message when it is.
    RequiredText(usize, &'static str),
    /// An email address, checked loosely (one '@', something before it, a dot inside the
    /// domain, no whitespace or control characters, at most 254 bytes).
    Email,
    /// One of the options of a `<select>`; anything else is a forged form: 400.
    Choice(&'static [&'static str], &'static str),
    /// The name typed to confirm a deletion; the message names it.
    Confirm(&'static str),
    /// A new password: 8 to 72 bytes of anything.
    NewPassword,
    /// A password compared with the stored one; the message when it does not match.
    Secret(&'static str),
    /// "Email or username" of a person to invite: an address (accepted when it is one), or
    /// the username of an existing user (none of the hostile ones is).
    Invitee,
    /// A field of a form whose one-time link is not valid (the fixture has none): every
    /// value is refused as a link that has expired or was used (410).
    Gone,
}

/// Where an accepted value is stored, and the pages that show it. `{fresh}` is the case's
/// fresh name (a new account or dataset).
#[derive(Clone, Copy, Debug)]
enum Stored {
    DisplayName(&'static str, &'static [&'static str]),
    OrgDescription(&'static str, &'static [&'static str]),
    ContactEmail(&'static str, &'static [&'static str]),
    UserEmail(&'static str, &'static [&'static str]),
    /// `owner/name` of the dataset.
    DatasetDescription(&'static str, &'static [&'static str]),
    /// The user's password: logging in with it works.
    Password(&'static str),
    /// The name of the user's newest API key.
    ApiKeyName(&'static str, &'static [&'static str]),
}

struct Field {
    name: &'static str,
    kind: Kind,
    /// The legitimate value that look-alikes and variants are made from.
    look: &'static str,
    /// The answer when the field is left out of the body.
    missing: Expect,
    stored: Option<Stored>,
}

fn field(name: &'static str, kind: Kind, look: &'static str, missing: Expect) -> Field {
    Field {
        name,
        kind,
        look,
        missing,
        stored: None,
    }
}

impl Field {
    fn stored(mut self, s: Stored) -> Self {
        self.stored = Some(s);
        self
    }
}

/// One form of a route: its valid base values (`{fresh}` is replaced per case) and the
/// fields to attack. Only one field is made hostile at a time.
struct Form {
    base: Vec<(&'static str, &'static str)>,
    fields: Vec<Field>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// Not signed in (sign-up and login).
    Visitor,
    /// Administrator of acme, creator of acme/cats.
    Boss,
    /// Member of acme (default role labeler), labeler on acme/cats.
    Bob,
    /// Attacks their own settings.
    Carol,
    /// Signed in, nothing else: logs out.
    Dave,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Visitor => "",
            Who::Boss => "boss",
            Who::Bob => "bob",
            Who::Carol => "carol",
            Who::Dave => "dave",
        }
    }
}

struct Spec {
    who: Who,
    forms: Vec<Form>,
    /// The answer to a body holding nothing but the token; `None` for routes without fields,
    /// where that is the ordinary request.
    empty: Option<Expect>,
}

/// The hostile-input spec of every POST route; `None` for a route this file does not know,
/// which fails the test (a new route must get its spec).
fn spec(pattern: &str) -> Option<Spec> {
    use Expect::*;
    use Kind::*;
    let spec = match pattern {
        "/signup" => Spec {
            who: Who::Visitor,
            empty: Some(No(422, "")),
            forms: vec![Form {
                base: vec![
                    ("username", "{fresh}"),
                    ("email", "{fresh}@example.com"),
                    ("password", PASSWORD),
                ],
                fields: vec![
                    field("username", NewName, "alice", No(422, "")),
                    field("email", Email, "alice@example.com", No(422, BAD_EMAIL))
                        .stored(Stored::UserEmail("{fresh}", &["/settings"])),
                    field("password", NewPassword, PASSWORD, No(422, SHORT_PASSWORD))
                        .stored(Stored::Password("{fresh}")),
                ],
            }],
        },
        "/login" => Spec {
            who: Who::Visitor,
            empty: Some(No(422, BAD_LOGIN)),
            forms: vec![Form {
                base: vec![("login", "alice"), ("password", PASSWORD)],
                fields: vec![
                    field("login", Login, "alice", No(422, BAD_LOGIN)),
                    field("password", Secret(BAD_LOGIN), PASSWORD, No(422, BAD_LOGIN)),
                ],
            }],
        },
        "/logout" => Spec {
            who: Who::Dave,
            empty: None,
            forms: vec![],
        },
        "/password/forgot" => Spec {
            who: Who::Visitor,
            empty: Some(No(422, BAD_EMAIL)),
            forms: vec![Form {
                base: vec![("email", "alice@example.com")],
                fields: vec![field(
                    "email",
                    Email,
                    "alice@example.com",
                    No(422, BAD_EMAIL),
                )],
            }],
        },
        "/password/reset" => Spec {
            who: Who::Visitor,
            empty: Some(No(410, LINK_GONE)),
            forms: vec![Form {
                base: vec![("token", "nothing"), ("password", PASSWORD)],
                fields: vec![
                    field("token", Gone, "nothing", No(410, LINK_GONE)),
                    field("password", Gone, PASSWORD, No(410, LINK_GONE)),
                ],
            }],
        },
        "/email/verify" => Spec {
            who: Who::Visitor,
            empty: Some(No(410, LINK_GONE)),
            forms: vec![Form {
                base: vec![("token", "nothing")],
                fields: vec![field("token", Gone, "nothing", No(410, LINK_GONE))],
            }],
        },
        "/invitation" => Spec {
            who: Who::Bob,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![("token", "nothing"), ("action", "accept")],
                fields: vec![
                    field("token", Owner, "nothing", No(404, NOT_FOUND)),
                    field(
                        "action",
                        Choice(ANSWERS, UNKNOWN_ANSWER),
                        "accept",
                        No(400, MISSING),
                    ),
                ],
            }],
        },
        "/settings/email/verify" => Spec {
            who: Who::Carol,
            empty: None,
            forms: vec![],
        },
        "/settings/organizations/invitations/{id}" => Spec {
            who: Who::Bob,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![("action", "accept")],
                fields: vec![field(
                    "action",
                    Choice(ANSWERS, UNKNOWN_ANSWER),
                    "accept",
                    No(400, MISSING),
                )],
            }],
        },
        "/{org}/settings/members/invitations" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![
                    ("invitee", "alice"),
                    ("role", "member"),
                    ("default_role", "viewer"),
                ],
                fields: vec![
                    field("invitee", Invitee, "alice", No(422, TYPE_INVITEE)),
                    field(
                        "role",
                        Choice(ORG_ROLES, "Unknown organization role."),
                        "member",
                        No(400, MISSING),
                    ),
                    field(
                        "default_role",
                        Choice(DEFAULT_ROLES, "Unknown default dataset role."),
                        "viewer",
                        No(400, MISSING),
                    ),
                ],
            }],
        },
        "/{org}/settings/members/invitations/{id}" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![("action", "resend")],
                fields: vec![field(
                    "action",
                    Choice(INVITATION_ACTIONS, UNKNOWN_INVITATION_ACTION),
                    "resend",
                    No(400, MISSING),
                )],
            }],
        },
        "/settings" => Spec {
            who: Who::Carol,
            empty: Some(No(400, MISSING)),
            forms: vec![
                Form {
                    base: vec![
                        ("action", "profile"),
                        ("display_name", "Carol"),
                        ("email", "carol@example.com"),
                    ],
                    fields: vec![
                        field(
                            "action",
                            Choice(SETTINGS_ACTIONS, UNKNOWN_ACTION),
                            "profile",
                            No(400, MISSING),
                        ),
                        field("display_name", Text(100), "Carol", Yes)
                            .stored(Stored::DisplayName("carol", &["/settings", "/carol"])),
                        field("email", Email, "carol@example.com", No(422, BAD_EMAIL))
                            .stored(Stored::UserEmail("carol", &["/settings"])),
                    ],
                },
                Form {
                    base: vec![
                        ("action", "password"),
                        ("current_password", PASSWORD),
                        ("new_password", "another good password"),
                    ],
                    fields: vec![
                        field(
                            "current_password",
                            Secret(NOT_CURRENT),
                            PASSWORD,
                            No(422, NOT_CURRENT),
                        ),
                        field(
                            "new_password",
                            NewPassword,
                            PASSWORD,
                            No(422, SHORT_PASSWORD),
                        )
                        .stored(Stored::Password("carol")),
                    ],
                },
            ],
        },
        "/settings/organizations/{org}/leave" => Spec {
            who: Who::Bob,
            empty: None,
            forms: vec![],
        },
        "/settings/api-keys" => Spec {
            who: Who::Carol,
            empty: Some(No(422, NO_KEY_NAME)),
            forms: vec![Form {
                base: vec![("name", "nightly import")],
                fields: vec![field(
                    "name",
                    RequiredText(100, NO_KEY_NAME),
                    "nightly import",
                    No(422, NO_KEY_NAME),
                )
                .stored(Stored::ApiKeyName("carol", &["/settings/api-keys"]))],
            }],
        },
        // Webhooks: an empty form is refused with its message (the URL rules have unit tests
        // in `domain::webhooks` and API tests in `webhooks.rs`).
        "/{org}/settings/webhooks" => Spec {
            who: Who::Boss,
            empty: Some(No(422, "Type the payload URL.")),
            forms: vec![],
        },
        "/{org}/settings/webhooks/{id}" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![("action", "ping")],
                fields: vec![field(
                    "action",
                    Choice(
                        &["update", "ping", "redeliver", "delete"],
                        "Unknown webhook action.",
                    ),
                    "ping",
                    No(400, MISSING),
                )],
            }],
        },
        "/settings/api-keys/{id}/revoke" => Spec {
            who: Who::Carol,
            empty: None,
            forms: vec![],
        },
        "/organizations" => Spec {
            who: Who::Boss,
            empty: Some(No(422, "")),
            forms: vec![Form {
                base: vec![("username", "{fresh}"), ("display_name", "Fresh")],
                fields: vec![
                    field("username", NewName, "acme", No(422, "")),
                    field("display_name", Text(100), "Acme", Yes)
                        .stored(Stored::DisplayName("{fresh}", &["/{fresh}"])),
                ],
            }],
        },
        "/datasets" => Spec {
            who: Who::Boss,
            empty: Some(No(422, "")),
            forms: vec![Form {
                base: vec![
                    ("owner", "acme"),
                    ("name", "{fresh}"),
                    ("description", ""),
                    ("task_type", "bboxes"),
                    ("visibility", "private"),
                ],
                fields: vec![
                    field("owner", Owner, "acme", No(422, "Choose an owner.")),
                    field("name", DatasetName, "cats", No(422, "")),
                    field("description", Text(1000), "Cats", Yes).stored(
                        Stored::DatasetDescription("acme/{fresh}", &["/acme/{fresh}"]),
                    ),
                    field(
                        "task_type",
                        Choice(TASK_TYPES, UNKNOWN_TASK),
                        "bboxes",
                        No(422, "Choose a task type."),
                    ),
                    field(
                        "visibility",
                        Choice(VISIBILITY, BAD_VISIBILITY),
                        "private",
                        Yes,
                    ),
                ],
            }],
        },
        "/{org}/settings" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![
                Form {
                    base: vec![
                        ("action", "update"),
                        ("display_name", "Acme"),
                        ("description", ""),
                        ("contact_email", ""),
                    ],
                    fields: vec![
                        field(
                            "action",
                            Choice(UPDATE_DELETE, UNKNOWN_ACTION),
                            "update",
                            No(400, MISSING),
                        ),
                        field("display_name", Text(100), "Acme", Yes)
                            .stored(Stored::DisplayName("acme", &["/acme", "/acme/settings"])),
                        field("description", Text(1000), "Acme", Yes)
                            .stored(Stored::OrgDescription("acme", &["/acme", "/acme/settings"])),
                        field("contact_email", Email, "team@acme.example", Yes)
                            .stored(Stored::ContactEmail("acme", &["/acme/settings"])),
                    ],
                },
                Form {
                    base: vec![("action", "delete"), ("confirm", "not-acme")],
                    fields: vec![field(
                        "confirm",
                        Confirm("Type acme to confirm."),
                        "acme",
                        No(422, "Type acme to confirm."),
                    )],
                },
            ],
        },
        "/{org}/settings/members" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![
                    ("username", "alice"),
                    ("role", "member"),
                    ("default_role", "viewer"),
                ],
                fields: vec![
                    field("username", UserRef, "alice", No(422, TYPE_USER)),
                    field(
                        "role",
                        Choice(ORG_ROLES, "Unknown organization role."),
                        "member",
                        No(400, MISSING),
                    ),
                    field(
                        "default_role",
                        Choice(DEFAULT_ROLES, "Unknown default dataset role."),
                        "viewer",
                        No(400, MISSING),
                    ),
                ],
            }],
        },
        "/{org}/settings/members/{user}" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![("role", "admin"), ("default_role", "manager")],
                fields: vec![
                    field(
                        "role",
                        Choice(ORG_ROLES, "Unknown organization role."),
                        "admin",
                        No(400, MISSING),
                    ),
                    field(
                        "default_role",
                        Choice(DEFAULT_ROLES, "Unknown default dataset role."),
                        "manager",
                        No(400, MISSING),
                    ),
                ],
            }],
        },
        "/{org}/settings/members/{user}/remove" => Spec {
            who: Who::Boss,
            empty: None,
            forms: vec![],
        },
        "/{org}/settings/bulk-members" => Spec {
            who: Who::Boss,
            empty: Some(No(400, "Choose a change.")),
            forms: vec![Form {
                // Nobody selected is a member: nothing changes.
                base: vec![("change", "default-viewer"), ("m", "nobody")],
                fields: vec![field(
                    "change",
                    Choice(BULK_CHANGES, "Unknown change."),
                    "default-viewer",
                    No(400, "Choose a change."),
                )],
            }],
        },
        "/{org}/settings/import-members/preview" | "/{org}/settings/import-members" => Spec {
            who: Who::Boss,
            empty: Some(No(400, "Unknown organization role.")),
            forms: vec![Form {
                // Nobody of that name: nothing is added (the lines themselves are judged
                // line by line on the preview: tests/api/bulk_add.rs).
                base: vec![
                    ("lines", "nobody"),
                    ("role", "member"),
                    ("default_role", "none"),
                ],
                fields: vec![
                    field(
                        "role",
                        Choice(ORG_ROLES, "Unknown organization role."),
                        "member",
                        No(400, "Unknown organization role."),
                    ),
                    field(
                        "default_role",
                        Choice(DEFAULT_ROLES, "Unknown default dataset role."),
                        "none",
                        No(400, "Unknown default dataset role."),
                    ),
                ],
            }],
        },
        // The selected members (`m`): unknown names are said in a message, nothing changes.
        "/{org}/settings/apply-defaults" => Spec {
            who: Who::Boss,
            empty: None,
            forms: vec![],
        },
        "/{owner}/{dataset}/settings" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![
                Form {
                    base: vec![
                        ("action", "update"),
                        ("description", ""),
                        ("task_type", "bboxes"),
                        ("visibility", "private"),
                    ],
                    fields: vec![
                        field(
                            "action",
                            Choice(UPDATE_DELETE, UNKNOWN_ACTION),
                            "update",
                            No(400, MISSING),
                        ),
                        field("description", Text(1000), "Cats", Yes).stored(
                            Stored::DatasetDescription(
                                "acme/cats",
                                &["/acme/cats", "/acme/cats/settings"],
                            ),
                        ),
                        field(
                            "task_type",
                            Choice(TASK_TYPES, UNKNOWN_TASK),
                            "bboxes",
                            No(400, UNKNOWN_TASK),
                        ),
                        field(
                            "visibility",
                            Choice(VISIBILITY, BAD_VISIBILITY),
                            "private",
                            No(400, BAD_VISIBILITY),
                        ),
                    ],
                },
                Form {
                    base: vec![("action", "delete"), ("confirm", "not-cats")],
                    fields: vec![field(
                        "confirm",
                        Confirm("Type cats to confirm."),
                        "cats",
                        No(422, "Type cats to confirm."),
                    )],
                },
            ],
        },
        "/{owner}/{dataset}/settings/collaborators" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![("username", "alice"), ("role", "viewer")],
                fields: vec![
                    field("username", UserRef, "alice", No(422, TYPE_USER)),
                    field(
                        "role",
                        Choice(DATASET_ROLES, "Unknown dataset role."),
                        "viewer",
                        No(400, MISSING),
                    ),
                ],
            }],
        },
        "/{owner}/{dataset}/settings/collaborators/{user}" => Spec {
            who: Who::Boss,
            empty: Some(No(400, MISSING)),
            forms: vec![Form {
                base: vec![("role", "manager")],
                fields: vec![field(
                    "role",
                    Choice(DATASET_ROLES, "Unknown dataset role."),
                    "manager",
                    No(400, MISSING),
                )],
            }],
        },
        "/{owner}/{dataset}/settings/collaborators/{user}/remove" => Spec {
            who: Who::Boss,
            empty: None,
            forms: vec![],
        },
        _ => return None,
    };
    Some(spec)
}

/// The fixture's value of each path parameter.
fn param_value(name: &str) -> &'static str {
    match name {
        "org" | "owner" => "acme",
        "dataset" => "cats",
        "user" => "bob",
        // No key has this id: every case is refused before it would matter.
        "id" => "999999",
        other => panic!("no fixture value for the path parameter {{{other}}}"),
    }
}

/// The names of the path parameters of `pattern`, in order.
fn params(pattern: &str) -> Vec<&str> {
    pattern
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// `pattern` with every parameter filled from the fixture, except `hostile`, which is given
/// as already-encoded text.
fn fill(pattern: &str, hostile: Option<(&str, &str)>) -> String {
    let mut path = pattern.to_string();
    for p in params(pattern) {
        let value = match hostile {
            Some((name, raw)) if name == p => raw.to_string(),
            _ => param_value(p).to_string(),
        };
        path = path.replace(&format!("{{{p}}}"), &value);
    }
    path
}

// ---- Hostile values ----

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// `s` with `c` inserted after its first character.
fn insert(s: &str, c: char) -> String {
    let mut chars = s.chars();
    let first: String = chars.next().into_iter().collect();
    format!("{first}{c}{}", chars.as_str())
}

/// `s` with its first Latin letter that has a Cyrillic twin replaced by that twin.
fn cyrillic(s: &str) -> String {
    let twins = [
        ('a', 'а'),
        ('c', 'с'),
        ('e', 'е'),
        ('o', 'о'),
        ('p', 'р'),
        ('x', 'х'),
        ('i', 'і'),
    ];
    let mut done = false;
    s.chars()
        .map(|c| match twins.iter().find(|(l, _)| *l == c) {
            Some((_, t)) if !done => {
                done = true;
                *t
            }
            _ => c,
        })
        .collect()
}

/// `s` with its first character replaced by its fullwidth form.
fn fullwidth(s: &str) -> String {
    let mut chars = s.chars();
    let first = chars
        .next()
        .and_then(|c| {
            c.is_ascii_graphic()
                .then(|| char::from_u32(c as u32 + 0xFEE0))
        })
        .flatten()
        .unwrap_or('Ａ');
    format!("{first}{}", chars.as_str())
}

/// Deterministic text that does not compress (so a database index cannot shrink it).
fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// The hostile values tried in a field modelled on `look`: (label, value).
fn hostile_values(look: &str) -> Vec<(&'static str, String)> {
    let long: String = look.chars().cycle().take(5000).collect();
    vec![
        ("sql-or", "' OR 1=1 --".to_string()),
        ("sql-quote", "' OR '1'='1".to_string()),
        ("sql-drop", "\"; DROP TABLE users; --".to_string()),
        (
            "sql-suffix",
            format!("{look}'; DELETE FROM memberships; --"),
        ),
        ("sql-wildcard", "%".to_string()),
        ("sql-underscores", "_____".to_string()),
        ("html-script", "<script>alert(1)</script>".to_string()),
        (
            "html-attribute",
            "\"><img src=x onerror=alert(2)>".to_string(),
        ),
        ("template", "{{7*7}}${7*7}{% raw %}".to_string()),
        ("path", "../../etc/passwd".to_string()),
        ("percent-text", "%00%FF%2e%2e".to_string()),
        ("cyrillic", cyrillic(look)),
        ("fullwidth", fullwidth(look)),
        ("zero-width-joiner", insert(look, '\u{200D}')),
        ("zero-width-space", insert(look, '\u{200B}')),
        ("zero-width-non-joiner", insert(look, '\u{200C}')),
        ("no-break-space", insert(look, '\u{A0}')),
        ("byte-order-mark", format!("\u{FEFF}{look}")),
        ("rtl-override", format!("\u{202E}{look}")),
        ("rtl-override-inside", format!("{look}\u{202E}txt.exe")),
        ("combining-accent", format!("{look}\u{301}")),
        ("emoji", format!("{look}🦀")),
        ("control-bell", insert(look, '\u{7}')),
        ("control-escape", format!("\u{1b}[31m{look}")),
        ("control-delete", insert(look, '\u{7f}')),
        ("control-next-line", insert(look, '\u{85}')),
        ("nul", insert(look, '\0')),
        ("crlf-header", format!("{look}\r\nSet-Cookie: pwned=1")),
        ("5000-characters", long),
        ("60-kb", random_text(SIXTY_KB)),
    ]
}

/// Values a `<select>` never sends: unknown words, and the valid ones in another case, with
/// spaces, or disguised.
fn choice_values(valid: &[&str]) -> Vec<(&'static str, String)> {
    let v = valid[0];
    let mut capital = v.to_string();
    capital[..1].make_ascii_uppercase();
    let candidates = vec![
        ("unknown-owner", "owner".to_string()),
        ("unknown-superuser", "superuser".to_string()),
        ("unknown-root", "root".to_string()),
        ("unknown-star", "*".to_string()),
        ("unknown-null", "null".to_string()),
        ("unknown-true", "true".to_string()),
        ("unknown-zero", "0".to_string()),
        ("unknown-minus-one", "-1".to_string()),
        ("unknown-list", valid.join(",")),
        ("unknown-array", "[]".to_string()),
        ("choice-uppercase", v.to_uppercase()),
        ("choice-capitalized", capital),
        ("choice-leading-space", format!(" {v}")),
        ("choice-trailing-space", format!("{v} ")),
        ("choice-trailing-newline", format!("{v}\n")),
        ("choice-zero-width", format!("{v}\u{200B}")),
    ];
    candidates
        .into_iter()
        .filter(|(_, c)| !valid.contains(&c.as_str()))
        .collect()
}

fn has_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The loose email rule, as documented for the application.
fn loose_email(s: &str) -> bool {
    s.len() <= 254
        && !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || colabel::domain::names::is_invisible_format(c)
        })
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
}

/// What a field of `kind` must answer to `value` (all other fields valid).
fn expect(kind: Kind, value: &str) -> Expect {
    use Expect::*;
    if value.contains('\0') {
        return No(400, NUL);
    }
    let t = value.trim();
    match kind {
        Kind::NewName | Kind::DatasetName => No(422, ""),
        Kind::UserRef if t.is_empty() => No(422, TYPE_USER),
        Kind::UserRef => No(422, NO_USER),
        Kind::Login => No(422, BAD_LOGIN),
        Kind::Owner => No(404, NOT_FOUND),
        Kind::RequiredText(_, message) if t.is_empty() => No(422, message),
        Kind::RequiredText(max, _) => expect(Kind::Text(max), value),
        Kind::Text(max) if t.chars().count() > max => No(422, AT_MOST),
        Kind::Text(_) if has_control(t) => No(422, CONTROL),
        Kind::Text(_) if t.chars().any(colabel::domain::names::is_bidi_control) => No(422, BIDI),
        Kind::Text(_) => Yes,
        Kind::Email if loose_email(t) => Yes,
        Kind::Email => No(422, BAD_EMAIL),
        Kind::Choice(_, message) => No(400, message),
        Kind::Confirm(message) => No(422, message),
        Kind::NewPassword if value.len() < 8 => No(422, SHORT_PASSWORD),
        Kind::NewPassword if value.len() > 72 => No(422, LONG_PASSWORD),
        Kind::NewPassword => Yes,
        Kind::Secret(message) => No(422, message),
        Kind::Invitee if t.is_empty() => No(422, TYPE_INVITEE),
        Kind::Invitee if t.contains('@') && loose_email(t) => Yes,
        Kind::Invitee if t.contains('@') => No(422, BAD_EMAIL),
        Kind::Invitee => No(422, NO_USER),
        Kind::Gone => No(410, LINK_GONE),
    }
}

// ---- Cases ----

struct Case {
    /// What was tried, for failure messages.
    label: String,
    /// Cases of one group run together between two snapshots.
    group: String,
    who: Who,
    path: String,
    /// The encoded body; `@@TOKEN@@` becomes the session's CSRF token.
    body: String,
    expect: Expect,
    /// For an accepted value: where it is stored and the value expected there.
    stored: Option<(Stored, String)>,
    fresh: String,
    /// A value that must never come back as HTML.
    raw_html: Option<String>,
}

const TOKEN: &str = "@@TOKEN@@";

struct Builder {
    cases: Vec<Case>,
    next: usize,
}

impl Builder {
    fn fresh(&mut self) -> String {
        self.next += 1;
        format!("h{}", self.next)
    }

    /// Adds a case whose body is `parts` (already encoded `name=value` pairs) and the token.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        group: &str,
        label: String,
        who: Who,
        path: String,
        parts: Vec<String>,
        expect: Expect,
        stored: Option<(Stored, String)>,
        fresh: String,
        value: Option<&str>,
    ) {
        let mut parts = parts;
        parts.push(format!("csrf_token={TOKEN}"));
        let body = parts.join("&").replace("%7Bfresh%7D", &fresh);
        let raw_html = value
            .filter(|v| v.contains('<') || v.contains('"'))
            .map(str::to_string);
        self.cases.push(Case {
            label,
            group: group.to_string(),
            who,
            path,
            body,
            expect,
            stored,
            fresh,
            raw_html,
        });
    }
}

fn pair(name: &str, value: &str) -> String {
    format!("{}={}", enc(name), enc(value))
}

/// The base form as encoded pairs, with `name`'s pair replaced by `with` (or left out when
/// `with` is `None`).
fn parts(form: &Form, name: &str, with: Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut with = with;
    for (k, v) in &form.base {
        if *k == name {
            if let Some(w) = with.take() {
                out.push(w);
            }
        } else {
            out.push(pair(k, v));
        }
    }
    out
}

fn base_parts(form: Option<&Form>) -> Vec<String> {
    form.map(|f| f.base.iter().map(|(k, v)| pair(k, v)).collect())
        .unwrap_or_default()
}

/// Every hostile case of the POST route `pattern`.
fn cases_for(b: &mut Builder, pattern: &str, spec: &Spec) {
    let path = fill(pattern, None);
    let who = spec.who;
    let first = spec.forms.first();
    let route = format!("POST {pattern}");

    // The body as a whole: bytes that are not UTF-8, control characters in a field name, NUL,
    // two tokens, no token, 1 MB.
    let whole: Vec<(&str, String, Expect)> = vec![
        (
            "invalid UTF-8 in a field name",
            "%FF%FE=1".into(),
            Expect::No(400, UTF8),
        ),
        (
            "a lone surrogate",
            "note=%ED%A0%80".into(),
            Expect::No(400, UTF8),
        ),
        (
            "an overlong encoding of '/'",
            "note=%C0%AF".into(),
            Expect::No(400, UTF8),
        ),
        (
            "a truncated sequence",
            "note=%E2%82".into(),
            Expect::No(400, UTF8),
        ),
        (
            "a control character in a field name",
            "a%01b=1".into(),
            Expect::No(400, BAD_NAME),
        ),
        (
            "NUL in an extra field",
            "note=a%00b".into(),
            Expect::No(400, NUL),
        ),
        (
            "a second token",
            format!("csrf_token={TOKEN}"),
            Expect::No(400, TWO_TOKENS),
        ),
        (
            "an extra field of 1 MB",
            format!("note={}", "a".repeat(ONE_MB)),
            Expect::No(413, TOO_LARGE),
        ),
    ];
    for (label, extra, expect) in whole {
        let mut p = base_parts(first);
        p.push(extra);
        let fresh = b.fresh();
        b.add(
            &route,
            format!("{route}: {label}"),
            who,
            path.clone(),
            p,
            expect,
            None,
            fresh,
            None,
        );
    }
    // No token at all (the body without `csrf_token`).
    {
        let fresh = b.fresh();
        let p = base_parts(first);
        b.add(
            &route,
            format!("{route}: no token"),
            who,
            path.clone(),
            p,
            Expect::No(403, NO_TOKEN),
            None,
            fresh,
            None,
        );
        let last = b.cases.last_mut().unwrap();
        last.body = last
            .body
            .replace(&format!("&csrf_token={TOKEN}"), "")
            .replace(&format!("csrf_token={TOKEN}"), "");
    }
    if let Some(expect) = spec.empty {
        let fresh = b.fresh();
        b.add(
            &route,
            format!("{route}: only the token"),
            who,
            path.clone(),
            vec![],
            expect,
            None,
            fresh,
            None,
        );
    }

    // Each field of each form.
    for form in &spec.forms {
        for f in &form.fields {
            let group = format!("{route} {}", f.name);
            let label = |what: &str| format!("{route} [{}]: {what}", f.name);
            let mut values = hostile_values(f.look);
            if let Kind::Choice(valid, _) = f.kind {
                values.extend(choice_values(valid));
            }
            for (what, value) in values {
                let expect = expect(f.kind, &value);
                let stored = match (expect, f.stored) {
                    (Expect::Yes, Some(s)) => Some((s, value.trim().to_string())),
                    _ => None,
                };
                let fresh = b.fresh();
                let p = parts(form, f.name, Some(pair(f.name, &value)));
                b.add(
                    &group,
                    label(what),
                    who,
                    path.clone(),
                    p,
                    expect,
                    stored,
                    fresh,
                    Some(&value),
                );
            }
            let raw: Vec<(&str, String, Expect)> = vec![
                (
                    "invalid UTF-8",
                    format!("{}=%FF%FE", f.name),
                    Expect::No(400, UTF8),
                ),
                (
                    "1 MB",
                    format!("{}={}", f.name, "x".repeat(ONE_MB)),
                    Expect::No(413, TOO_LARGE),
                ),
            ];
            for (what, raw, expect) in raw {
                let fresh = b.fresh();
                let p = parts(form, f.name, Some(raw));
                b.add(
                    &group,
                    label(what),
                    who,
                    path.clone(),
                    p,
                    expect,
                    None,
                    fresh,
                    None,
                );
            }
            // Left out.
            let fresh = b.fresh();
            let stored = match (f.missing, f.stored) {
                (Expect::Yes, Some(s)) => Some((s, String::new())),
                _ => None,
            };
            let p = parts(form, f.name, None);
            b.add(
                &group,
                label("left out"),
                who,
                path.clone(),
                p,
                f.missing,
                stored,
                fresh,
                None,
            );
            // Sent twice.
            let fresh = b.fresh();
            let mut p = base_parts(Some(form));
            let again = form
                .base
                .iter()
                .find(|(k, _)| *k == f.name)
                .map_or("", |(_, v)| v);
            p.push(pair(f.name, again));
            b.add(
                &group,
                label("sent twice"),
                who,
                path.clone(),
                p,
                Expect::No(400, DUPLICATE),
                None,
                fresh,
                None,
            );
        }
    }

    // Each path parameter: look-alikes and metacharacters of the fixture's name are 404s.
    for param in params(pattern) {
        let group = format!("{route} {{{param}}}");
        let look = param_value(param);
        let mut values: Vec<(&str, String)> = vec![
            ("cyrillic", enc(&cyrillic(look))),
            ("fullwidth", enc(&fullwidth(look))),
            ("zero-width-joiner", enc(&insert(look, '\u{200D}'))),
            ("zero-width-space", enc(&insert(look, '\u{200B}'))),
            ("rtl-override", enc(&format!("\u{202E}{look}"))),
            ("byte-order-mark", enc(&format!("\u{FEFF}{look}"))),
            ("control-bell", enc(&insert(look, '\u{7}'))),
            ("nul", enc(&insert(look, '\0'))),
            ("sql-or", enc("' OR 1=1 --")),
            ("sql-suffix", enc(&format!("{look}'; DROP TABLE users; --"))),
            ("sql-wildcard", enc("%")),
            ("html-script", enc("<script>alert(1)</script>")),
            ("encoded-slash", enc(&format!("{look}/settings"))),
            ("dot-dot", enc("../../etc/passwd")),
            ("500-characters", enc(&look.repeat(500 / look.len()))),
            ("invalid UTF-8", "%FF%FE".to_string()),
            ("crlf", enc(&format!("{look}\r\nX-Injected: 1"))),
        ];
        values.push(("emoji", enc(&format!("{look}🦀"))));
        for (what, raw) in values {
            let fresh = b.fresh();
            let p = base_parts(first);
            let path = fill(pattern, Some((param, &raw)));
            b.add(
                &group,
                format!("{route} {{{param}}}: {what} ({path})"),
                who,
                path.clone(),
                p,
                Expect::No(404, NOT_FOUND),
                None,
                fresh,
                None,
            );
        }
    }
}

// ---- Running them ----

struct Fixture {
    boss: Browser,
    bob: Browser,
    carol: Browser,
    dave: Browser,
    visitor: Browser,
}

impl Fixture {
    fn browser(&self, who: Who) -> &Browser {
        match who {
            Who::Visitor => &self.visitor,
            Who::Boss => &self.boss,
            Who::Bob => &self.bob,
            Who::Carol => &self.carol,
            Who::Dave => &self.dave,
        }
    }
}

async fn ok_post(b: &Browser, path: &str, form: &[(&str, &str)]) {
    let res = b.post(path, form).await;
    assert_eq!(
        res.status(),
        reqwest::StatusCode::SEE_OTHER,
        "set-up: POST {path} {form:?}"
    );
}

/// boss administers acme, which owns cats; bob is a member (default role labeler) and a
/// labeler on cats; alice, carol and dave have no part in acme.
async fn fixture(app: &TestApp) -> Fixture {
    let boss = app.user("boss").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    app.user("alice").await;
    ok_post(
        &boss,
        "/organizations",
        &[("username", "acme"), ("display_name", "Acme")],
    )
    .await;
    ok_post(
        &boss,
        "/acme/settings/members",
        &[
            ("username", "bob"),
            ("role", "member"),
            ("default_role", "labeler"),
        ],
    )
    .await;
    ok_post(
        &boss,
        "/datasets",
        &[
            ("owner", "acme"),
            ("name", "cats"),
            ("description", ""),
            ("task_type", "bboxes"),
            ("visibility", "private"),
        ],
    )
    .await;
    let visitor = app.browser();
    for b in [&boss, &bob, &carol, &dave, &visitor] {
        b.token().await;
    }
    Fixture {
        boss,
        bob,
        carol,
        dave,
        visitor,
    }
}

struct Answer {
    status: u16,
    content_type: String,
    location: String,
    body: String,
}

async fn send(b: &Browser, path: &str, body: String) -> Answer {
    let mut req = b
        .client
        .post(format!("{}{}", b.base, path))
        .header("content-type", "application/x-www-form-urlencoded");
    if body.len() > ONE_MB {
        // The server answers 413 without reading the body: do not reuse the connection.
        req = req.header("connection", "close");
    }
    let cookie = b.cookie();
    let sent = req.body(body).send().await;
    if b.cookie() != cookie {
        // A new session (a password change renews it): a new token, as `Browser::post` knows.
        b.forget_token();
    }
    match sent {
        Ok(res) => {
            let header = |name: &str| {
                res.headers()
                    .get(name)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default()
            };
            let (content_type, location) = (header("content-type"), header("location"));
            let status = res.status().as_u16();
            let body = res
                .text()
                .await
                .unwrap_or_else(|e| format!("(unreadable body: {e})"));
            Answer {
                status,
                content_type,
                location,
                body,
            }
        }
        Err(e) => Answer {
            status: 0,
            content_type: String::new(),
            location: String::new(),
            body: format!("no answer: {e}"),
        },
    }
}

/// `text` as askama escapes it, in named or in numeric entities.
fn escaped(text: &str) -> [String; 2] {
    let with = |named: bool| -> String {
        text.chars()
            .map(|c| match (c, named) {
                ('<', true) => "&lt;".into(),
                ('>', true) => "&gt;".into(),
                ('&', true) => "&amp;".into(),
                ('"', true) => "&quot;".into(),
                ('\'', true) => "&#x27;".into(),
                ('<', false) => "&#60;".into(),
                ('>', false) => "&#62;".into(),
                ('&', false) => "&#38;".into(),
                ('"', false) => "&#34;".into(),
                ('\'', false) => "&#39;".into(),
                _ => c.to_string(),
            })
            .collect()
    };
    [with(true), with(false)]
}

fn shows_escaped(body: &str, text: &str) -> bool {
    escaped(text).iter().any(|e| body.contains(e.as_str()))
}

fn short(s: &str) -> String {
    let s: String = s.chars().take(160).collect();
    format!("{s:?}")
}

/// Checks one answer against its case; `Err` says what is wrong.
fn judge(case: &Case, a: &Answer) -> Result<(), String> {
    if a.status >= 500 || a.status == 0 {
        return Err(format!(
            "{} gave {}: {}",
            case.label,
            a.status,
            short(&a.body)
        ));
    }
    if let Some(html) = &case.raw_html {
        if a.body.contains(html.as_str()) {
            return Err(format!("{}: the value came back unescaped", case.label));
        }
    }
    if a.body.to_ascii_lowercase().contains("locked") {
        return Err(format!("{}: the page mentions a lock", case.label));
    }
    match case.expect {
        Expect::No(status, message) => {
            let mut wrong = Vec::new();
            if a.status != status {
                wrong.push(format!("status {} instead of {status}", a.status));
            }
            if !a.content_type.starts_with("text/html") {
                wrong.push(format!("content type {:?}", a.content_type));
            }
            if !(a.body.contains("<nav") && a.body.contains("</html>")) {
                wrong.push("not a page in the layout".to_string());
            }
            if message.is_empty() {
                if status == 422 && !a.body.contains("class=\"field-error\"") {
                    wrong.push("no field error shown".to_string());
                }
            } else if !shows_escaped(&a.body, message) {
                wrong.push(format!("no message {message:?}"));
            }
            if wrong.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{}: {}; body {}",
                    case.label,
                    wrong.join(", "),
                    short(a.body.split("<main").nth(1).unwrap_or(&a.body))
                ))
            }
        }
        Expect::Yes if ANSWERS_WITH_A_PAGE.contains(&case.path.as_str()) => {
            if a.status != 200 || !a.body.contains("<code id=\"new-key\">") {
                return Err(format!(
                    "{}: accepted input should give 200 with the new key, gave {}",
                    case.label, a.status
                ));
            }
            Ok(())
        }
        Expect::Yes => {
            if a.status != 303 {
                return Err(format!(
                    "{}: accepted input should give 303, gave {}: {}",
                    case.label,
                    a.status,
                    short(a.body.split("<main").nth(1).unwrap_or(&a.body))
                ));
            }
            if !a.location.starts_with('/') || a.location.chars().any(char::is_control) {
                return Err(format!("{}: odd Location {:?}", case.label, a.location));
            }
            Ok(())
        }
    }
}

fn key(name: &str, fresh: &str) -> String {
    name.replace("{fresh}", fresh).to_ascii_lowercase()
}

fn read_stored(app: &TestApp, stored: Stored, fresh: &str) -> Option<String> {
    app.with_db(|c| match stored {
        Stored::DisplayName(account, _) => accounts::table
            .filter(accounts::username_key.eq(key(account, fresh)))
            .select(accounts::display_name)
            .first(c)
            .optional()
            .unwrap(),
        Stored::OrgDescription(account, _) => organizations::table
            .inner_join(accounts::table)
            .filter(accounts::username_key.eq(key(account, fresh)))
            .select(organizations::description)
            .first(c)
            .optional()
            .unwrap(),
        Stored::ContactEmail(account, _) => organizations::table
            .inner_join(accounts::table)
            .filter(accounts::username_key.eq(key(account, fresh)))
            .select(organizations::contact_email)
            .first(c)
            .optional()
            .unwrap(),
        Stored::UserEmail(account, _) => users::table
            .inner_join(accounts::table)
            .filter(accounts::username_key.eq(key(account, fresh)))
            .select(users::email)
            .first(c)
            .optional()
            .unwrap(),
        Stored::DatasetDescription(path, _) => {
            let path = key(path, fresh);
            let (owner, name) = path.split_once('/').unwrap();
            datasets::table
                .inner_join(accounts::table)
                .filter(accounts::username_key.eq(owner))
                .filter(datasets::name_key.eq(name))
                .select(datasets::description)
                .first(c)
                .optional()
                .unwrap()
        }
        Stored::Password(_) => None,
        Stored::ApiKeyName(user, _) => colabel::schema::api_keys::table
            .inner_join(accounts::table.on(accounts::id.eq(colabel::schema::api_keys::user_id)))
            .filter(accounts::username_key.eq(key(user, fresh)))
            .order(colabel::schema::api_keys::id.desc())
            .select(colabel::schema::api_keys::name)
            .first(c)
            .optional()
            .unwrap(),
    })
}

/// After an accepted case: the value is stored verbatim and shown escaped (and a changed
/// password works, then is put back).
async fn verify_accepted(app: &TestApp, b: &Browser, case: &Case) -> Result<(), String> {
    let Some((stored, value)) = &case.stored else {
        return Ok(());
    };
    let fresh = &case.fresh;
    if let Stored::Password(user) = stored {
        let user = user.replace("{fresh}", fresh);
        app.with_db(|c| diesel::delete(login_throttle::table).execute(c).unwrap());
        let res = app.browser().login(&user, value).await;
        if res.status() != reqwest::StatusCode::SEE_OTHER {
            return Err(format!(
                "{}: cannot log in with the new password (status {})",
                case.label,
                res.status()
            ));
        }
        if user == "carol" {
            // Put the password back, from carol's own (renewed) session.
            let res = b
                .post(
                    "/settings",
                    &[
                        ("action", "password"),
                        ("current_password", value.as_str()),
                        ("new_password", PASSWORD),
                    ],
                )
                .await;
            assert_eq!(
                res.status(),
                reqwest::StatusCode::SEE_OTHER,
                "{}: restore",
                case.label
            );
        }
        return Ok(());
    }
    let got = read_stored(app, *stored, fresh);
    if got.as_deref() != Some(value.as_str()) {
        return Err(format!(
            "{}: stored {} instead of {}",
            case.label,
            got.as_deref().map_or("nothing".into(), short),
            short(value)
        ));
    }
    let pages = match stored {
        Stored::DisplayName(_, p)
        | Stored::OrgDescription(_, p)
        | Stored::ContactEmail(_, p)
        | Stored::UserEmail(_, p)
        | Stored::DatasetDescription(_, p)
        | Stored::ApiKeyName(_, p) => *p,
        Stored::Password(_) => &[],
    };
    for page in pages {
        let page = page.replace("{fresh}", fresh);
        let (status, body) = b.page(&page).await;
        if status != reqwest::StatusCode::OK {
            return Err(format!("{}: GET {page} gave {status}", case.label));
        }
        if !shows_escaped(&body, value) {
            return Err(format!(
                "{}: GET {page} does not show {}",
                case.label,
                short(value)
            ));
        }
        if (value.contains('<') || value.contains('"')) && body.contains(value.as_str()) {
            return Err(format!(
                "{}: GET {page} shows the value unescaped",
                case.label
            ));
        }
    }
    Ok(())
}

/// Cases that hit a known application bug, each asserted by its own ignored test below; they
/// are left out here so that this test keeps guarding everything else. Remove an entry when
/// its bug is fixed.
const KNOWN_BUGS: &[(&str, &str)] = &[];

/// Sends every case; returns how many were sent, how many were accepted, and what went wrong.
async fn run(app: &TestApp, fx: &Fixture, cases: Vec<Case>) -> (usize, usize, Vec<String>) {
    let mut failures = Vec::new();
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|c| !KNOWN_BUGS.iter().any(|(label, _)| c.label == *label))
        .collect();
    let total = cases.len();
    let accepted_total = cases.iter().filter(|c| c.expect == Expect::Yes).count();
    // Groups keep their order; inside a group, refused cases run concurrently between two
    // snapshots, accepted ones one at a time with their checks.
    let mut groups: Vec<(String, Vec<Case>)> = Vec::new();
    for case in cases {
        match groups.last_mut() {
            Some((g, list)) if *g == case.group => list.push(case),
            _ => groups.push((case.group.clone(), vec![case])),
        }
    }
    for (group, list) in groups {
        let (accepted, refused): (Vec<Case>, Vec<Case>) =
            list.into_iter().partition(|c| c.expect == Expect::Yes);
        // The login form and the password change count failures per address (one throttle
        // of password checks): each attempt is judged on its own.
        let serial = refused
            .iter()
            .any(|c| c.path.starts_with("/login") || c.path == "/settings");
        let before = snapshot(app);
        let answers: Vec<Result<(), String>> = futures_util::stream::iter(refused.iter())
            .map(|case| async move {
                if serial {
                    app.with_db(|c| diesel::delete(login_throttle::table).execute(c).unwrap());
                }
                let b = fx.browser(case.who);
                let token = b.token().await;
                let a = send(b, &case.path, case.body.replace(TOKEN, &token)).await;
                judge(case, &a)
            })
            .buffer_unordered(if serial { 1 } else { 6 })
            .collect()
            .await;
        failures.extend(answers.into_iter().filter_map(Result::err));
        let after = snapshot(app);
        if after != before {
            failures.push(format!(
                "{group}: refused requests changed the database:\n  before {before}\n  after  {after}"
            ));
        }
        for case in &accepted {
            let fresh_browser;
            let b = if case.who == Who::Visitor {
                fresh_browser = app.browser();
                &fresh_browser
            } else {
                fx.browser(case.who)
            };
            let token = b.token().await;
            let a = send(b, &case.path, case.body.replace(TOKEN, &token)).await;
            if let Err(e) = judge(case, &a) {
                failures.push(e);
                continue;
            }
            if let Err(e) = verify_accepted(app, b, case).await {
                failures.push(e);
            }
        }
    }
    // The actors are still who they were (no hostile logout got through).
    for who in [Who::Boss, Who::Bob, Who::Carol, Who::Dave] {
        let body = fx.browser(who).page("/").await.1;
        if !body.contains(&format!("Signed in as <strong>{}</strong>", who.name())) {
            failures.push(format!("{} is no longer signed in", who.name()));
        }
    }
    (total, accepted_total, failures)
}

db_test!(async fn every_post_route_refuses_hostile_input_and_stores_nothing(app) {
    let started = std::time::Instant::now();
    let fx = fixture(&app).await;
    let mut b = Builder { cases: Vec::new(), next: 0 };
    let mut uncovered = Vec::new();
    let mut routes = 0;
    for (method, pattern) in ROUTES {
        if *method != "POST" {
            continue;
        }
        routes += 1;
        match spec(pattern) {
            Some(s) => cases_for(&mut b, pattern, &s),
            None => uncovered.push(*pattern),
        }
    }
    assert!(uncovered.is_empty(), "POST routes without a hostile-input spec: {uncovered:?}");
    let (tried, accepted, failures) = run(&app, &fx, b.cases).await;
    eprintln!(
        "hostile inputs: {tried} on {} ({routes} POST routes; {} refused with nothing stored, {accepted} accepted, stored verbatim and shown escaped; {} left to ignored tests of known bugs; {:.1}s)",
        if app.backend == Backend::Sqlite { "sqlite" } else { "postgres" },
        tried - accepted,
        KNOWN_BUGS.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{} of {tried} hostile inputs went wrong:\n{}", failures.len(), failures.join("\n"));
    // The fixture survived: acme, its administrator, its member, its dataset.
    let after = snapshot(&app);
    assert!(after.contains("\"acme\"") && after.contains("\"cats\""));
});

db_test!(
    async fn a_long_login_is_refused_not_a_500(app) {
        app.user("alice").await;
        let b = app.browser();
        for login in [random_text(3000), format!("{}@example.com", random_text(3000))] {
            let res = b.login(&login, PASSWORD).await;
            assert_eq!(res.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{} bytes", login.len());
            assert!(res.text().await.unwrap().contains(BAD_LOGIN));
        }
    }
);

// ---- Names and texts holding markup are escaped on every page ----

/// What must never appear raw in a page.
const MARKUP: &[&str] = &[
    "<script>alert",
    "<img src=x",
    "<svg onload",
    "</textarea><script",
];

db_test!(async fn markup_in_names_and_descriptions_is_escaped_on_every_page(app) {
    let fx = fixture(&app).await;
    let boss_name = "<script>alert(\"boss\")</script>";
    let bob_name = "\"><img src=x onerror=alert('bob')>";
    let org_name = "<script>alert(\"acme\")</script>";
    let org_text = "<img src=x onerror=alert(\"desc\")>";
    let contact = "<script>alert(5)</script>@example.com";
    let cats_text = "<script>alert(\"cats\")</script>";
    let pub_text = "</textarea><script>alert(\"pub\")</script>";
    let mine_text = "<svg onload=alert(\"mine\")>";
    // Usernames cannot hold markup; display names, descriptions and contact emails can.
    ok_post(&fx.boss, "/settings", &[("action", "profile"), ("display_name", boss_name), ("email", "boss@example.com")]).await;
    ok_post(&fx.bob, "/settings", &[("action", "profile"), ("display_name", bob_name), ("email", "bob@example.com")]).await;
    ok_post(&fx.boss, "/acme/settings", &[("action", "update"), ("display_name", org_name), ("description", org_text), ("contact_email", contact)]).await;
    ok_post(&fx.boss, "/acme/cats/settings", &[("action", "update"), ("description", cats_text), ("task_type", "bboxes"), ("visibility", "private")]).await;
    for (owner, name, text) in [("acme", "pub", pub_text), ("boss", "mine", mine_text)] {
        ok_post(&fx.boss, "/datasets", &[("owner", owner), ("name", name), ("description", text), ("task_type", "vector"), ("visibility", "public")]).await;
    }
    ok_post(&fx.boss, "/acme/pub/settings/collaborators", &[("username", "carol"), ("role", "viewer")]).await;

    // Every GET route, with every fixture value in its parameters, as every kind of viewer.
    let choices = |param: &str| -> &'static [&'static str] {
        match param {
            "org" => &["acme"],
            "owner" => &["acme", "boss", "bob"],
            "dataset" => &["cats", "pub", "mine"],
            "user" => &["bob", "boss"],
            "name" => &["app.css"],
            "id" => &["1", "x"],
            other => panic!("no values for the path parameter {{{other}}}"),
        }
    };
    let mut paths = Vec::new();
    for (method, pattern) in ROUTES {
        // The CSV export is not HTML: its fields are data for a spreadsheet, quoted per RFC
        // 4180 and defused against formulas (tests/api/members.rs), never markup.
        if *method != "GET" || pattern.ends_with(".csv") {
            continue;
        }
        let mut filled = vec![pattern.to_string()];
        for p in params(pattern) {
            filled = filled
                .iter()
                .flat_map(|f| choices(p).iter().map(move |v| f.replace(&format!("{{{p}}}"), v)))
                .collect();
        }
        for f in filled {
            paths.push(f.clone());
            paths.push(format!("{f}?owner=acme&fragment=1&q=%3Cscript%3Ealert(9)%3C%2Fscript%3E"));
        }
    }
    let viewers = [("boss", &fx.boss), ("bob", &fx.bob), ("carol", &fx.carol), ("visitor", &fx.visitor)];
    let mut failures = Vec::new();
    let mut checked = 0;
    for (who, b) in viewers {
        for path in &paths {
            let (status, body) = b.page(path).await;
            checked += 1;
            if status.is_server_error() {
                failures.push(format!("{who} GET {path}: {status}"));
            }
            for m in MARKUP.iter().chain(&["<script>alert(9)"]) {
                if body.contains(m) {
                    failures.push(format!("{who} GET {path}: raw {m:?}"));
                }
            }
        }
    }
    // Where each text is shown, it is shown escaped.
    let shown: &[(&Browser, &str, &str)] = &[
        (&fx.visitor, "/boss", boss_name),
        (&fx.boss, "/settings", boss_name),
        (&fx.boss, "/acme", org_name),
        (&fx.boss, "/acme", org_text),
        (&fx.bob, "/acme/members", bob_name),
        (&fx.boss, "/acme/settings", org_name),
        (&fx.boss, "/acme/settings", org_text),
        (&fx.boss, "/acme/settings", contact),
        (&fx.boss, "/acme/cats", cats_text),
        (&fx.boss, "/acme/cats/settings", cats_text),
        (&fx.visitor, "/acme/pub", pub_text),
        (&fx.visitor, "/boss/mine", mine_text),
        (&fx.visitor, "/boss", mine_text),
        (&fx.carol, "/", pub_text),
    ];
    for (b, path, text) in shown {
        let (status, body) = b.page(path).await;
        if status != reqwest::StatusCode::OK || !shows_escaped(&body, text) {
            failures.push(format!("GET {path}: {status}, {text:?} not shown escaped"));
        }
    }
    eprintln!("escaping: {checked} pages checked on {:?}", app.backend);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
});
