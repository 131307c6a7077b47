//! Datasets, their collaborators, and the effective role of a user on a dataset (SPEC 2).

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamp};

use crate::db::DbConn;
use crate::models::accounts::{self, name_key};
use crate::models::audit::{self, Action, Event};
use crate::models::orgs::Actor;
use crate::models::{Page, PAGE_SIZE};
use crate::roles::{DatasetRole, OrgRole};
use crate::schema::{accounts as acc, collaborators, datasets, memberships};

/// The task types a dataset can have: (value, label).
pub const TASK_TYPES: &[(&str, &str)] = &[
    ("segmentation-bitmap", "Segmentation (bitmap)"),
    ("bboxes", "Bounding boxes"),
    ("vector", "Vector shapes"),
    ("keypoints", "Keypoints"),
    ("pointcloud-cuboid", "Point cloud cuboids"),
    ("pointcloud-segmentation", "Point cloud segmentation"),
    ("text-named-entities", "Text named entities"),
];

pub fn task_type_label(value: &str) -> &str {
    TASK_TYPES
        .iter()
        .find(|(v, _)| *v == value)
        .map_or(value, |(_, l)| l)
}

/// Checks a dataset name: the username rules without the account reserved words, and not a
/// word the URL scheme uses under an account.
pub fn check_dataset_name(name: &str) -> Result<(), &'static str> {
    accounts::check_name_shape(name)?;
    if accounts::RESERVED_DATASET_NAMES.contains(&name_key(name).as_str()) {
        return Err("That name is reserved.");
    }
    Ok(())
}

/// Where a user's effective role on a dataset comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The dataset belongs to the user's personal account.
    Owner,
    /// The user administers the organization that owns the dataset.
    OrgAdmin,
    Collaborator(DatasetRole),
    /// Anyone may view a public dataset.
    Public,
}

impl Access {
    pub fn role(self) -> DatasetRole {
        match self {
            Access::Owner | Access::OrgAdmin => DatasetRole::Admin,
            Access::Collaborator(r) => r,
            Access::Public => DatasetRole::Viewer,
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            Access::Owner => "you own this dataset",
            Access::OrgAdmin => "you are an administrator of the organization that owns it",
            Access::Collaborator(_) => "you are a collaborator",
            Access::Public => "the dataset is public",
        }
    }

    /// The highest access that applies (SPEC 2), or none.
    pub fn effective(
        owner_id: i32,
        viewer: Option<i32>,
        viewer_org_role: Option<OrgRole>,
        collaborator: Option<DatasetRole>,
        is_public: bool,
    ) -> Option<Access> {
        if viewer.is_some() && viewer == Some(owner_id) {
            return Some(Access::Owner);
        }
        if viewer_org_role == Some(OrgRole::Admin) {
            return Some(Access::OrgAdmin);
        }
        if let Some(role) = collaborator {
            return Some(Access::Collaborator(role));
        }
        is_public.then_some(Access::Public)
    }
}

/// A dataset with what its pages show.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub id: i32,
    pub owner_id: i32,
    pub owner_name: String,
    pub owner_is_org: bool,
    pub name: String,
    pub description: String,
    pub task_type: String,
    pub is_public: bool,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

impl Dataset {
    pub fn path(&self) -> String {
        format!("/{}/{}", self.owner_name, self.name)
    }

    pub fn task_label(&self) -> &str {
        task_type_label(&self.task_type)
    }

    pub fn created(&self) -> String {
        // `NaiveDate`'s Display is YYYY-MM-DD, written directly (a strftime pattern is
        // interpreted anew on every call: 2% of a list page's CPU).
        self.created_at.date().to_string()
    }
}

type DatasetTuple = (
    i32,
    i32,
    String,
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    NaiveDateTime,
);

fn from_tuple(t: DatasetTuple) -> Dataset {
    let (
        id,
        owner_id,
        owner_name,
        kind,
        name,
        description,
        task_type,
        is_public,
        created_by,
        created_at,
    ) = t;
    Dataset {
        id,
        owner_id,
        owner_name,
        owner_is_org: kind == "org",
        name,
        description,
        task_type,
        is_public,
        created_by,
        created_at,
    }
}

/// Finds `owner/name` and the viewer's effective access, in one statement. `None` when it
/// does not exist or the viewer may not see it: the two must look the same (SPEC 4.8).
pub fn find_with_access(
    conn: &mut DbConn,
    owner: &str,
    name: &str,
    viewer: Option<i32>,
) -> QueryResult<Option<(Dataset, Access)>> {
    let creator = diesel::alias!(crate::schema::accounts as creator);
    let uid = viewer.unwrap_or(-1);
    let row = datasets::table
        .inner_join(acc::table.on(acc::id.eq(datasets::owner_id)))
        .left_join(creator.on(datasets::created_by.eq(creator.field(acc::id).nullable())))
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(datasets::owner_id)
                .and(memberships::user_id.eq(uid))),
        )
        .left_join(
            collaborators::table.on(collaborators::dataset_id
                .eq(datasets::id)
                .and(collaborators::user_id.eq(uid))),
        )
        .filter(acc::username_key.eq(name_key(owner)))
        .filter(datasets::name_key.eq(name_key(name)))
        .select((
            (
                datasets::id,
                datasets::owner_id,
                acc::username,
                acc::kind,
                datasets::name,
                datasets::description,
                datasets::task_type,
                datasets::is_public,
                creator.field(acc::username).nullable(),
                datasets::created_at,
            ),
            memberships::role.nullable(),
            collaborators::role.nullable(),
        ))
        .first::<(DatasetTuple, Option<String>, Option<String>)>(conn)
        .optional()?;
    Ok(row.and_then(|(t, org_role, collab)| {
        let ds = from_tuple(t);
        let access = Access::effective(
            ds.owner_id,
            viewer,
            org_role.as_deref().and_then(OrgRole::parse),
            collab.as_deref().and_then(DatasetRole::parse),
            ds.is_public,
        )?;
        Some((ds, access))
    }))
}

/// A dataset in a list.
#[derive(Clone, Debug)]
pub struct DatasetSummary {
    pub owner_name: String,
    pub name: String,
    pub description: String,
    pub task_type: String,
    pub is_public: bool,
}

impl DatasetSummary {
    pub fn path(&self) -> String {
        format!("/{}/{}", self.owner_name, self.name)
    }

    pub fn task_label(&self) -> &str {
        task_type_label(&self.task_type)
    }
}

/// One page of an account's datasets that the viewer may see: all of them when
/// `sees_all` (the owner, or an administrator of the owning organization), else the
/// public ones and those the viewer collaborates on. Two statements, neither of which
/// joins the owner: the caller has found it already.
pub fn list_for_owner(
    conn: &mut DbConn,
    owner: (i32, &str),
    viewer: Option<i32>,
    sees_all: bool,
    page: i64,
) -> QueryResult<Page<DatasetSummary>> {
    let (owner_id, owner_name) = owner;
    let uid = viewer.unwrap_or(-1);
    let visible = || {
        let q = datasets::table
            .filter(datasets::owner_id.eq(owner_id))
            .into_boxed();
        if sees_all {
            q
        } else {
            q.filter(
                datasets::is_public.eq(true).or(diesel::dsl::exists(
                    collaborators::table
                        .filter(collaborators::dataset_id.eq(datasets::id))
                        .filter(collaborators::user_id.eq(uid)),
                )),
            )
        }
    };
    let total: i64 = visible().count().get_result(conn)?;
    let rows: Vec<(String, String, String, bool)> = visible()
        .order(datasets::name_key)
        .limit(PAGE_SIZE)
        .offset(Page::<()>::offset(page, PAGE_SIZE))
        .select((
            datasets::name,
            datasets::description,
            datasets::task_type,
            datasets::is_public,
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(|(name, description, task_type, is_public)| DatasetSummary {
            owner_name: owner_name.to_string(),
            name,
            description,
            task_type,
            is_public,
        })
        .collect();
    Ok(Page {
        items,
        page,
        total,
        per_page: PAGE_SIZE,
    })
}

/// The dashboard's two statements: the number of datasets a user works on (their own, those
/// of organizations they administer, those they collaborate on) and one page of them.
///
/// The ids are a `UNION` of three index look-ups, which both planners turn into a semi-join
/// (an `OR` of `IN`s made PostgreSQL scan every dataset). Written as SQL text, but not with
/// `sql_query`, which diesel never keeps as a prepared statement: PostgreSQL planned the
/// `UNION` on every view (1.3 ms) and SQLite parsed it. This fragment has fixed text, so
/// diesel's statement cache keeps it per connection.
#[derive(Clone, Copy)]
struct MyDatasets {
    user_id: i32,
    /// `None` counts; `Some((limit, offset))` selects a page.
    page: Option<(i64, i64)>,
}

impl MyDatasets {
    fn walk_ids<'b, DB>(
        &'b self,
        out: &mut diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()>
    where
        DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<Integer>,
        i32: diesel::serialize::ToSql<Integer, DB>,
    {
        out.push_sql("SELECT id FROM datasets WHERE owner_id = ");
        out.push_bind_param::<Integer, _>(&self.user_id)?;
        out.push_sql(
            " UNION SELECT d.id FROM datasets d JOIN memberships m ON m.org_id = d.owner_id \
             WHERE m.role = 'admin' AND m.user_id = ",
        );
        out.push_bind_param::<Integer, _>(&self.user_id)?;
        out.push_sql(" UNION SELECT dataset_id FROM collaborators WHERE user_id = ");
        out.push_bind_param::<Integer, _>(&self.user_id)
    }
}

impl diesel::query_builder::QueryId for MyDatasets {
    type QueryId = ();
    // Keyed by its SQL text (the count and the page differ), not by type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for MyDatasets {
    type SqlType = diesel::sql_types::Untyped;
}

impl<DB> diesel::query_builder::QueryFragment<DB> for MyDatasets
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Integer>
        + diesel::sql_types::HasSqlType<BigInt>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        match &self.page {
            None => {
                out.push_sql("SELECT COUNT(*) AS total FROM (");
                self.walk_ids(&mut out)?;
                out.push_sql(") mine");
            }
            Some((limit, offset)) => {
                out.push_sql(
                    "SELECT a.username AS owner_name, d.name, d.description, d.task_type, \
                     d.is_public \
                     FROM datasets d JOIN accounts a ON a.id = d.owner_id WHERE d.id IN (",
                );
                self.walk_ids(&mut out)?;
                out.push_sql(") ORDER BY a.username_key, d.name_key LIMIT ");
                out.push_bind_param::<BigInt, _>(limit)?;
                out.push_sql(" OFFSET ");
                out.push_bind_param::<BigInt, _>(offset)?;
            }
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for MyDatasets {}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct SummaryRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    owner_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    description: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    task_type: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_public: bool,
}

/// One page of the datasets a user works on (two cached statements).
pub fn list_for_dashboard(
    conn: &mut DbConn,
    user_id: i32,
    page: i64,
) -> QueryResult<Page<DatasetSummary>> {
    let total = MyDatasets {
        user_id,
        page: None,
    }
    .get_result::<Total>(conn)?
    .total;
    let rows: Vec<SummaryRow> = MyDatasets {
        user_id,
        page: Some((PAGE_SIZE, Page::<()>::offset(page, PAGE_SIZE))),
    }
    .load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| DatasetSummary {
            owner_name: r.owner_name,
            name: r.name,
            description: r.description,
            task_type: r.task_type,
            is_public: r.is_public,
        })
        .collect();
    Ok(Page {
        items,
        page,
        total,
        per_page: PAGE_SIZE,
    })
}

/// An account a user may create datasets for: their own, or an organization they administer.
#[derive(Clone, Debug)]
pub struct OwnerChoice {
    pub id: i32,
    pub username: String,
    pub is_org: bool,
}

/// The owners a user may pick in the new-dataset form, their own account first (one statement).
pub fn owner_choices(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<OwnerChoice>> {
    let rows: Vec<(i32, String, String)> = acc::table
        .filter(
            acc::id.eq(user_id).or(acc::id.eq_any(
                memberships::table
                    .filter(memberships::user_id.eq(user_id))
                    .filter(memberships::role.eq(OrgRole::Admin.as_str()))
                    .select(memberships::org_id),
            )),
        )
        .order(acc::username_key)
        .select((acc::id, acc::username, acc::kind))
        .load(conn)?;
    let mut choices: Vec<OwnerChoice> = rows
        .into_iter()
        .map(|(id, username, kind)| OwnerChoice {
            id,
            username,
            is_org: kind == "org",
        })
        .collect();
    choices.sort_by_key(|c| c.id != user_id);
    Ok(choices)
}

/// A new dataset's fields, already validated.
pub struct NewDataset<'a> {
    pub owner: &'a OwnerChoice,
    pub name: &'a str,
    pub description: &'a str,
    pub task_type: &'a str,
    pub is_public: bool,
}

/// Creates a dataset with its collaborators (SPEC 4.3): every member of the owning
/// organization whose default dataset role is not "None" gets that role, and the creator
/// is administrator. Run inside a write transaction: all or nothing, and a fixed number of
/// statements whatever the number of members. `Ok(None)` when the name is taken.
pub fn create(conn: &mut DbConn, actor: &Actor, new: &NewDataset<'_>) -> QueryResult<Option<i32>> {
    let taken: bool = diesel::select(diesel::dsl::exists(
        datasets::table
            .filter(datasets::owner_id.eq(new.owner.id))
            .filter(datasets::name_key.eq(name_key(new.name))),
    ))
    .get_result(conn)?;
    if taken {
        return Ok(None);
    }
    let now = Utc::now().naive_utc();
    let id: i32 = diesel::insert_into(datasets::table)
        .values((
            datasets::owner_id.eq(new.owner.id),
            datasets::name.eq(new.name),
            datasets::name_key.eq(name_key(new.name)),
            datasets::description.eq(new.description),
            datasets::task_type.eq(new.task_type),
            datasets::is_public.eq(new.is_public),
            datasets::created_by.eq(actor.id),
            datasets::created_at.eq(now),
        ))
        .returning(datasets::id)
        .get_result(conn)?;
    if new.owner.is_org {
        diesel::sql_query(
            "INSERT INTO collaborators (dataset_id, user_id, role, created_at) \
             SELECT $1, user_id, default_dataset_role, $2 FROM memberships \
             WHERE org_id = $3 AND default_dataset_role IS NOT NULL AND user_id <> $4",
        )
        .bind::<Integer, _>(id)
        .bind::<Timestamp, _>(now)
        .bind::<Integer, _>(new.owner.id)
        .bind::<Integer, _>(actor.id)
        .execute(conn)?;
    }
    diesel::insert_into(collaborators::table)
        .values((
            collaborators::dataset_id.eq(id),
            collaborators::user_id.eq(actor.id),
            collaborators::role.eq(DatasetRole::Admin.as_str()),
            collaborators::created_at.eq(now),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        Event {
            account_id: new.owner.id,
            actor_id: Some(actor.id),
            actor_name: &actor.name,
            action: Action::DatasetCreated,
            subject: Some(new.name),
            details: if new.is_public {
                "public".into()
            } else {
                "private".into()
            },
        },
    )?;
    Ok(Some(id))
}

/// A collaborator as the collaborators page shows them.
#[derive(Clone, Debug)]
pub struct Collaborator {
    pub user_id: i32,
    pub username: String,
    pub display_name: String,
    pub role: DatasetRole,
    /// Not a member of the organization that owns the dataset.
    pub outside: bool,
}

/// One page of a dataset's collaborators, by name (two statements).
pub fn collaborators(
    conn: &mut DbConn,
    ds: &Dataset,
    page: i64,
) -> QueryResult<Page<Collaborator>> {
    let total: i64 = collaborators::table
        .filter(collaborators::dataset_id.eq(ds.id))
        .count()
        .get_result(conn)?;
    let rows: Vec<(i32, String, String, String, Option<i32>)> = collaborators::table
        .inner_join(acc::table.on(acc::id.eq(collaborators::user_id)))
        .left_join(
            memberships::table.on(memberships::user_id
                .eq(collaborators::user_id)
                .and(memberships::org_id.eq(ds.owner_id))),
        )
        .filter(collaborators::dataset_id.eq(ds.id))
        .order(acc::username_key)
        .limit(PAGE_SIZE)
        .offset(Page::<()>::offset(page, PAGE_SIZE))
        .select((
            collaborators::user_id,
            acc::username,
            acc::display_name,
            collaborators::role,
            memberships::id.nullable(),
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(user_id, username, display_name, role, membership)| Collaborator {
                user_id,
                username,
                display_name,
                role: DatasetRole::parse(&role).unwrap_or(DatasetRole::Viewer),
                outside: ds.owner_is_org && membership.is_none(),
            },
        )
        .collect();
    Ok(Page {
        items,
        page,
        total,
        per_page: PAGE_SIZE,
    })
}

/// Who is an administrator of the dataset without being listed: the owning user, or the
/// owning organization's administrators (bounded; one statement).
pub fn implicit_admins(conn: &mut DbConn, ds: &Dataset) -> QueryResult<Vec<String>> {
    if ds.owner_is_org {
        memberships::table
            .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
            .filter(memberships::org_id.eq(ds.owner_id))
            .filter(memberships::role.eq(OrgRole::Admin.as_str()))
            .order(acc::username_key)
            .select(acc::username)
            .limit(PAGE_SIZE)
            .load(conn)
    } else {
        Ok(vec![ds.owner_name.clone()])
    }
}

/// Why a collaborator change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CollaboratorError {
    UnknownUser,
    IsOrganization,
    AlreadyCollaborator,
    NotCollaborator,
    /// A manager tried to grant, change or remove the administrator role.
    AdminOnly,
}

impl CollaboratorError {
    pub fn message(&self) -> &'static str {
        match self {
            CollaboratorError::UnknownUser => "There is no user with that username.",
            CollaboratorError::IsOrganization => "That is an organization; only users can be collaborators.",
            CollaboratorError::AlreadyCollaborator => "That user is already a collaborator on this dataset.",
            CollaboratorError::NotCollaborator => "That user is not a collaborator on this dataset.",
            CollaboratorError::AdminOnly => "Only dataset administrators can grant the administrator role or change an administrator.",
        }
    }
}

fn collaborator_role(
    conn: &mut DbConn,
    dataset_id: i32,
    user_id: i32,
) -> QueryResult<Option<(DatasetRole, String)>> {
    let row: Option<(String, String)> = collaborators::table
        .inner_join(acc::table.on(acc::id.eq(collaborators::user_id)))
        .filter(collaborators::dataset_id.eq(dataset_id))
        .filter(collaborators::user_id.eq(user_id))
        .select((collaborators::role, acc::username))
        .first(conn)
        .optional()?;
    Ok(row.map(|(r, n)| (DatasetRole::parse(&r).unwrap_or(DatasetRole::Viewer), n)))
}

fn collab_event(
    conn: &mut DbConn,
    ds: &Dataset,
    actor: &Actor,
    action: Action,
    subject: &str,
    details: String,
) -> QueryResult<()> {
    audit::record(
        conn,
        Event {
            account_id: ds.owner_id,
            actor_id: Some(actor.id),
            actor_name: &actor.name,
            action,
            subject: Some(subject),
            details: format!("on {}: {details}", ds.name),
        },
    )
}

/// Adds `username` with `role`; `acting` is the actor's effective role on the dataset.
pub fn add_collaborator(
    conn: &mut DbConn,
    ds: &Dataset,
    actor: &Actor,
    acting: DatasetRole,
    username: &str,
    role: DatasetRole,
) -> QueryResult<Result<String, CollaboratorError>> {
    if !acting.can_assign(role) {
        return Ok(Err(CollaboratorError::AdminOnly));
    }
    let Some(account) = accounts::find_account(conn, username)? else {
        return Ok(Err(CollaboratorError::UnknownUser));
    };
    if account.is_org() {
        return Ok(Err(CollaboratorError::IsOrganization));
    }
    if collaborator_role(conn, ds.id, account.id)?.is_some() {
        return Ok(Err(CollaboratorError::AlreadyCollaborator));
    }
    diesel::insert_into(collaborators::table)
        .values((
            collaborators::dataset_id.eq(ds.id),
            collaborators::user_id.eq(account.id),
            collaborators::role.eq(role.as_str()),
            collaborators::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    collab_event(
        conn,
        ds,
        actor,
        Action::CollaboratorAdded,
        &account.username,
        format!("as {}", role.label()),
    )?;
    Ok(Ok(account.username))
}

/// Changes a collaborator's role; managers can neither grant nor change administrators.
pub fn change_collaborator(
    conn: &mut DbConn,
    ds: &Dataset,
    actor: &Actor,
    acting: DatasetRole,
    user_id: i32,
    role: DatasetRole,
) -> QueryResult<Result<(), CollaboratorError>> {
    let Some((old, username)) = collaborator_role(conn, ds.id, user_id)? else {
        return Ok(Err(CollaboratorError::NotCollaborator));
    };
    if !acting.can_assign(old) || !acting.can_assign(role) {
        return Ok(Err(CollaboratorError::AdminOnly));
    }
    if old == role {
        return Ok(Ok(()));
    }
    diesel::update(
        collaborators::table
            .filter(collaborators::dataset_id.eq(ds.id))
            .filter(collaborators::user_id.eq(user_id)),
    )
    .set(collaborators::role.eq(role.as_str()))
    .execute(conn)?;
    collab_event(
        conn,
        ds,
        actor,
        Action::CollaboratorRoleChanged,
        &username,
        format!("from {} to {}", old.label(), role.label()),
    )?;
    Ok(Ok(()))
}

/// Removes a collaborator; managers cannot remove administrators.
pub fn remove_collaborator(
    conn: &mut DbConn,
    ds: &Dataset,
    actor: &Actor,
    acting: DatasetRole,
    user_id: i32,
) -> QueryResult<Result<String, CollaboratorError>> {
    let Some((old, username)) = collaborator_role(conn, ds.id, user_id)? else {
        return Ok(Err(CollaboratorError::NotCollaborator));
    };
    if !acting.can_assign(old) {
        return Ok(Err(CollaboratorError::AdminOnly));
    }
    diesel::delete(
        collaborators::table
            .filter(collaborators::dataset_id.eq(ds.id))
            .filter(collaborators::user_id.eq(user_id)),
    )
    .execute(conn)?;
    collab_event(
        conn,
        ds,
        actor,
        Action::CollaboratorRemoved,
        &username,
        String::new(),
    )?;
    Ok(Ok(username))
}

/// Saves description, task type and visibility.
pub fn update_settings(
    conn: &mut DbConn,
    ds: &Dataset,
    actor: &Actor,
    description: &str,
    task_type: &str,
    is_public: bool,
) -> QueryResult<()> {
    diesel::update(datasets::table.find(ds.id))
        .set((
            datasets::description.eq(description),
            datasets::task_type.eq(task_type),
            datasets::is_public.eq(is_public),
        ))
        .execute(conn)?;
    let mut changed = Vec::new();
    if ds.description != description {
        changed.push("description".to_string());
    }
    if ds.task_type != task_type {
        changed.push(format!("task type to {}", task_type_label(task_type)));
    }
    if ds.is_public != is_public {
        changed.push(if is_public {
            "made public".into()
        } else {
            "made private".into()
        });
    }
    if changed.is_empty() {
        return Ok(());
    }
    audit::record(
        conn,
        Event {
            account_id: ds.owner_id,
            actor_id: Some(actor.id),
            actor_name: &actor.name,
            action: Action::DatasetSettingsChanged,
            subject: Some(&ds.name),
            details: changed.join(", "),
        },
    )
}

/// Deletes the dataset and its collaborators.
pub fn delete(conn: &mut DbConn, ds: &Dataset, actor: &Actor) -> QueryResult<()> {
    diesel::delete(datasets::table.find(ds.id)).execute(conn)?;
    audit::record(
        conn,
        Event {
            account_id: ds.owner_id,
            actor_id: Some(actor.id),
            actor_name: &actor.name,
            action: Action::DatasetDeleted,
            subject: Some(&ds.name),
            details: String::new(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_role_is_the_highest_that_applies() {
        use Access::*;
        let e = Access::effective;
        assert_eq!(e(1, Some(1), None, None, false), Some(Owner));
        assert_eq!(
            e(
                9,
                Some(1),
                Some(OrgRole::Admin),
                Some(DatasetRole::Viewer),
                false
            ),
            Some(OrgAdmin)
        );
        assert_eq!(
            e(
                9,
                Some(1),
                Some(OrgRole::Member),
                Some(DatasetRole::Reviewer),
                true
            ),
            Some(Collaborator(DatasetRole::Reviewer))
        );
        assert_eq!(
            e(9, Some(1), Some(OrgRole::Member), None, true),
            Some(Public)
        );
        assert_eq!(e(9, Some(1), Some(OrgRole::Member), None, false), None);
        assert_eq!(e(9, None, None, None, false), None);
        assert_eq!(e(9, None, None, None, true), Some(Public));
    }

    #[test]
    fn dataset_names() {
        assert!(check_dataset_name("cars-2024").is_ok());
        assert!(check_dataset_name("settings").is_err());
        assert!(check_dataset_name("Members").is_err());
        assert!(check_dataset_name("x").is_err());
        assert!(check_dataset_name("a/b").is_err());
        // Account-level words are fine as dataset names.
        assert!(check_dataset_name("login").is_ok());
    }
}
