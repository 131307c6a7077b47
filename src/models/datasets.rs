//! Datasets and their collaborators: the rows and the statements. The rules are in
//! `app::datasets`, which calls these inside its write transaction.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use crate::db::{DbConn, WriteTx};
use crate::domain::access::Access;
use crate::domain::kinds::{AccountKind, TaskType};
use crate::domain::names::{name_key, natural_key};
use crate::domain::roles::{DatasetRole, OrgAction, OrgRole};
use crate::models::{like_pattern, one_of, plausible_name, Page, PAGE_SIZE};
use crate::schema::{accounts as acc, collaborators, datasets, memberships};

/// A dataset with what its pages show.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub id: i32,
    pub owner_id: i32,
    pub owner_name: String,
    pub owner_is_org: bool,
    pub name: String,
    pub description: String,
    pub task_type: TaskType,
    pub is_public: bool,
    /// Who created it (`None` in lists, which do not read it, and once that user is gone).
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub owner_created_at: NaiveDateTime,
    /// The dataset it was cloned from, if any (it may be gone).
    pub cloned_from_id: Option<i32>,
    /// The full name of that dataset, read only where it is shown, and only when the
    /// viewer may see it (SPEC 4.8: a clone must not reveal a private source).
    pub cloned_from: Option<String>,
    /// How many collaborator entries it has (kept on its row by triggers).
    pub collaborator_count: i64,
}

impl Dataset {
    pub fn path(&self) -> String {
        format!("/{}/{}", self.owner_name, self.name)
    }

    pub fn task_label(&self) -> &str {
        self.task_type.label()
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
    AccountKind,
    String,
    String,
    TaskType,
    bool,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    Option<i32>,
    i32,
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
        owner_created_at,
        cloned_from_id,
        collaborator_count,
    ) = t;
    Dataset {
        id,
        owner_id,
        owner_name,
        owner_is_org: kind == AccountKind::Org,
        name,
        description,
        task_type,
        is_public,
        created_by,
        created_at,
        owner_created_at,
        cloned_from_id,
        cloned_from: None,
        collaborator_count: i64::from(collaborator_count),
    }
}

/// Locks the dataset `owner/name` (its row) until the transaction ends: every change to a
/// dataset or its collaborators takes this lock, after the owning organization's.
pub fn lock(tx: &mut WriteTx<'_>, owner: &str, name: &str) -> QueryResult<()> {
    if crate::db::is_sqlite(tx) || !plausible_name(owner) || !plausible_name(name) {
        return Ok(());
    }
    crate::first_locked!(
        tx,
        i32,
        datasets::table
            .inner_join(acc::table.on(acc::id.eq(datasets::owner_id)))
            .filter(acc::username_key.eq(name_key(owner)))
            .filter(datasets::name_key.eq(name_key(name)))
            .select(datasets::id)
    )
    .map(drop)
}

/// Finds `owner/name` and the viewer's effective access, in one statement. `None` when it
/// does not exist or the viewer may not see it: the two must look the same (SPEC 4.8).
pub fn find_with_access(
    conn: &mut DbConn,
    owner: &str,
    name: &str,
    viewer: Option<i32>,
) -> QueryResult<Option<(Dataset, Access)>> {
    if !plausible_name(owner) || !plausible_name(name) {
        return Ok(None);
    }
    let creator = diesel::alias!(crate::schema::accounts as creator);
    let uid = viewer.unwrap_or(-1);
    let query = datasets::table
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
                acc::created_at,
                datasets::cloned_from_id,
                datasets::collaborator_count,
            ),
            memberships::role.nullable(),
            collaborators::role.nullable(),
        ));
    let row = crate::db::load_one::<_, (DatasetTuple, Option<OrgRole>, Option<DatasetRole>)>(
        conn, query,
    )?;
    Ok(row.and_then(|(t, org_role, collab)| {
        let ds = from_tuple(t);
        let access = Access::effective(ds.owner_id, viewer, org_role, collab, ds.is_public)?;
        Some((ds, access))
    }))
}

/// A dataset in a list.
#[derive(Clone, Debug)]
pub struct DatasetSummary {
    pub owner_name: String,
    pub name: String,
    pub description: String,
    pub task_type: TaskType,
    pub is_public: bool,
}

impl DatasetSummary {
    pub fn path(&self) -> String {
        format!("/{}/{}", self.owner_name, self.name)
    }

    pub fn task_label(&self) -> &str {
        self.task_type.label()
    }
}

/// How a list of datasets is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DatasetSort {
    /// By name, numbers by value (`dataset-2` before `dataset-10`).
    #[default]
    Name,
    /// The most recently created first.
    Newest,
}

/// Which datasets by visibility.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Visibility {
    #[default]
    Any,
    Public,
    Private,
}

/// Which datasets a list shows, and in which order.
#[derive(Clone, Debug, Default)]
pub struct DatasetFilter {
    /// A part of the name, in any case ("" for all).
    pub text: String,
    pub visibility: Visibility,
    pub sort: DatasetSort,
    /// Only the datasets on which the viewer's effective role (SPEC section 2: the highest
    /// that applies) is this one.
    pub my_role: Option<DatasetRole>,
}

impl DatasetFilter {
    fn pattern(&self) -> Option<String> {
        let text = self.text.trim().to_lowercase();
        (!text.is_empty()).then(|| like_pattern(&text))
    }

    fn public(&self) -> Option<bool> {
        match self.visibility {
            Visibility::Any => None,
            Visibility::Public => Some(true),
            Visibility::Private => Some(false),
        }
    }
}

/// One page of an account's datasets that the viewer may see: all of them when
/// `sees_all` (the owner, or an administrator of the owning organization), else the
/// public ones and those the viewer collaborates on; those `filter` selects, in its order.
/// One statement (two for a page past the end), which does not join the owner: the caller
/// has found it already.
pub fn list_for_owner(
    conn: &mut DbConn,
    owner: (i32, &str),
    viewer: Option<i32>,
    sees_all: bool,
    filter: &DatasetFilter,
    page: i64,
) -> QueryResult<Page<DatasetSummary>> {
    let (owner_id, owner_name) = owner;
    let uid = viewer.unwrap_or(-1);
    let (pattern, public) = (filter.pattern(), filter.public());
    let visible = || {
        let mut q = datasets::table
            .filter(datasets::owner_id.eq(owner_id))
            .into_boxed();
        if !sees_all {
            q = q.filter(
                datasets::is_public.eq(true).or(diesel::dsl::exists(
                    collaborators::table
                        .filter(collaborators::dataset_id.eq(datasets::id))
                        .filter(collaborators::user_id.eq(uid)),
                )),
            );
        }
        if let Some(p) = &pattern {
            q = q.filter(datasets::name_key.like(p.clone()).escape('\\'));
        }
        if let Some(public) = public {
            q = q.filter(datasets::is_public.eq(public));
        }
        // The viewer's effective role here: administrator on every dataset when `sees_all`
        // (the owner, an administrator of the organization), else the collaborator entry's
        // role, else viewer on a public dataset.
        let entry = |role: DatasetRole| {
            diesel::dsl::exists(
                collaborators::table
                    .filter(collaborators::dataset_id.eq(datasets::id))
                    .filter(collaborators::user_id.eq(uid))
                    .filter(collaborators::role.eq(role)),
            )
        };
        let any_entry = diesel::dsl::exists(
            collaborators::table
                .filter(collaborators::dataset_id.eq(datasets::id))
                .filter(collaborators::user_id.eq(uid)),
        );
        match (filter.my_role, sees_all) {
            (None, _) | (Some(DatasetRole::Admin), true) => {}
            // Everything here is the viewer's to administer: no other role applies.
            (Some(_), true) => q = q.filter(datasets::id.eq(-1)),
            (Some(DatasetRole::Viewer), false) => {
                q = q.filter(
                    entry(DatasetRole::Viewer).or(datasets::is_public
                        .eq(true)
                        .and(diesel::dsl::not(any_entry))),
                )
            }
            (Some(role), false) => q = q.filter(entry(role)),
        }
        q
    };
    let ordered = match filter.sort {
        DatasetSort::Name => visible().order((datasets::sort_key, datasets::name_key)),
        DatasetSort::Newest => visible().order((datasets::created_at.desc(), datasets::id.desc())),
    };
    // The count rides on the rows as an uncorrelated scalar subquery, which both planners
    // evaluate once (an InitPlan; SQLite's once-only subroutine), instead of a statement of
    // its own; `COUNT(*) OVER ()` would read every matching row instead of stopping at 50.
    let rows: Vec<(String, String, TaskType, bool, Option<i64>)> = ordered
        .limit(PAGE_SIZE)
        .offset(Page::<()>::offset(page, PAGE_SIZE))
        .select((
            datasets::name,
            datasets::description,
            datasets::task_type,
            datasets::is_public,
            visible().count().single_value(),
        ))
        .load(conn)?;
    // A page past the end has no row to carry it.
    let total = match rows.first() {
        Some(row) => row.4.unwrap_or(0),
        None if page <= 1 => 0,
        None => visible().count().get_result(conn)?,
    };
    let items = rows
        .into_iter()
        .map(
            |(name, description, task_type, is_public, _)| DatasetSummary {
                owner_name: owner_name.to_string(),
                name,
                description,
                task_type,
                is_public,
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

/// Fills the natural-order key of datasets that have none (rows from before the key
/// existed, or inserted by hand), 500 a statement; returns how many. Run at start and after
/// seeding, never by a page.
pub fn fill_sort_keys(conn: &mut DbConn) -> QueryResult<usize> {
    let mut filled = 0;
    loop {
        let rows: Vec<(i32, String)> = datasets::table
            .filter(datasets::sort_key.eq(""))
            .order(datasets::id)
            .limit(500)
            .select((datasets::id, datasets::name))
            .load(conn)?;
        if rows.is_empty() {
            return Ok(filled);
        }
        // One UPDATE for the batch: `CASE id WHEN ? THEN ? ... END`.
        let mut sql = String::from("UPDATE datasets SET sort_key = CASE id");
        for i in 0..rows.len() {
            sql.push_str(&format!(" WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2));
        }
        // Every row without a key up to the batch's last id is in the batch.
        sql.push_str(&format!(
            " ELSE sort_key END WHERE sort_key = '' AND id <= ${}",
            2 * rows.len() + 1
        ));
        let mut q = diesel::sql_query(sql).into_boxed();
        for (id, name) in &rows {
            q = q.bind::<Integer, _>(*id).bind::<Text, _>(natural_key(name));
        }
        let last = rows.last().map_or(0, |(id, _)| *id);
        let q = q.bind::<Integer, _>(last);
        let n = q.execute(conn)?;
        if n == 0 {
            return Ok(filled);
        }
        filled += n;
    }
}

/// The dashboard's statement: one page of the datasets a user works on (their own, those of
/// organizations they administer, those they collaborate on) with their number; and the
/// JSON API's lists, which are full rows with the viewer's access.
///
/// The ids are a `UNION` of three index look-ups, which both planners turn into a semi-join
/// (an `OR` of `IN`s made PostgreSQL scan every dataset). Written as SQL text, but not with
/// `sql_query`, which diesel never keeps as a prepared statement: PostgreSQL planned the
/// `UNION` on every view (1.3 ms) and SQLite parsed it. This fragment has fixed text for
/// each shape, so diesel's statement cache keeps it per connection.
#[derive(Clone)]
struct DatasetQuery {
    user_id: i32,
    /// The organization roles that administer every dataset of the organization.
    admin_roles: Vec<OrgRole>,
    scope: Listing,
    shape: Shape,
    /// For the dashboard's count and page: a `LIKE` pattern of the name, the visibility, the
    /// order (the API's full rows take none).
    pattern: Option<String>,
    public: Option<bool>,
    sort: DatasetSort,
    /// The viewer's effective role on the dataset (the dashboard's filter).
    my_role: Option<DatasetRole>,
}

/// Which datasets a list holds.
#[derive(Clone, Copy, Debug)]
pub enum Listing {
    /// Those the viewer works on: their own, their organizations' that they administer,
    /// those they collaborate on (the dashboard).
    Mine,
    /// One account's that the viewer may see: all of them when `sees_all` (the owner, an
    /// administrator of the owning organization), else the public ones and those the viewer
    /// collaborates on.
    Owner { owner_id: i32, sees_all: bool },
}

#[derive(Clone, Copy)]
enum Shape {
    Count,
    /// `(limit, offset)`: what list pages show.
    Summary(i64, i64),
    /// `(limit, offset)`: every column, the viewer's roles and the number of collaborators.
    Full(i64, i64),
}

impl DatasetQuery {
    fn walk_ids<'b, DB>(
        &'b self,
        out: &mut diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()>
    where
        DB: diesel::backend::Backend
            + diesel::sql_types::HasSqlType<Integer>
            + diesel::sql_types::HasSqlType<Text>,
        i32: diesel::serialize::ToSql<Integer, DB>,
        OrgRole: diesel::serialize::ToSql<Text, DB>,
    {
        out.push_sql("SELECT id FROM datasets WHERE owner_id = ");
        out.push_bind_param::<Integer, _>(&self.user_id)?;
        out.push_sql(
            " UNION SELECT d.id FROM datasets d JOIN memberships m ON m.org_id = d.owner_id \
             WHERE m.role IN (",
        );
        for (i, role) in self.admin_roles.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<Text, _>(role)?;
        }
        out.push_sql(") AND m.user_id = ");
        out.push_bind_param::<Integer, _>(&self.user_id)?;
        out.push_sql(" UNION SELECT dataset_id FROM collaborators WHERE user_id = ");
        out.push_bind_param::<Integer, _>(&self.user_id)
    }
}

impl diesel::query_builder::QueryId for DatasetQuery {
    type QueryId = ();
    // Keyed by its SQL text (the shapes differ), not by type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for DatasetQuery {
    type SqlType = diesel::sql_types::Untyped;
}

impl<DB> diesel::query_builder::QueryFragment<DB> for DatasetQuery
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Integer>
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Bool>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    bool: diesel::serialize::ToSql<diesel::sql_types::Bool, DB>,
    String: diesel::serialize::ToSql<Text, DB>,
    OrgRole: diesel::serialize::ToSql<Text, DB>,
    DatasetRole: diesel::serialize::ToSql<Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        // The dashboard's filter, after `WHERE d.id IN (...)`.
        let filtered = |out: &mut diesel::query_builder::AstPass<'_, 'b, DB>| -> QueryResult<()> {
            if let Some(p) = &self.pattern {
                out.push_sql(" AND d.name_key LIKE ");
                out.push_bind_param::<Text, _>(p)?;
                out.push_sql(" ESCAPE '\\'");
            }
            if let Some(public) = &self.public {
                out.push_sql(" AND d.is_public = ");
                out.push_bind_param::<diesel::sql_types::Bool, _>(public)?;
            }
            if let Some(role) = &self.my_role {
                // Administrator: the user's own, their organizations' that they administer,
                // or an administrator's entry. Any other role: an entry with that role on a
                // dataset that is neither (those are administrator whatever the entry says).
                let administered = |out: &mut diesel::query_builder::AstPass<'_, 'b, DB>| {
                    out.push_sql("d.owner_id = ");
                    out.push_bind_param::<Integer, _>(&self.user_id)?;
                    out.push_sql(
                        " OR d.owner_id IN (SELECT org_id FROM memberships WHERE user_id = ",
                    );
                    out.push_bind_param::<Integer, _>(&self.user_id)?;
                    out.push_sql(" AND role IN (");
                    for (i, r) in self.admin_roles.iter().enumerate() {
                        if i > 0 {
                            out.push_sql(", ");
                        }
                        out.push_bind_param::<Text, _>(r)?;
                    }
                    out.push_sql("))");
                    Ok::<_, diesel::result::Error>(())
                };
                let entry = |out: &mut diesel::query_builder::AstPass<'_, 'b, DB>| {
                    out.push_sql("d.id IN (SELECT dataset_id FROM collaborators WHERE user_id = ");
                    out.push_bind_param::<Integer, _>(&self.user_id)?;
                    out.push_sql(" AND role = ");
                    out.push_bind_param::<Text, _>(role)?;
                    out.push_sql(")");
                    Ok::<_, diesel::result::Error>(())
                };
                if *role == DatasetRole::Admin {
                    out.push_sql(" AND (");
                    administered(out)?;
                    out.push_sql(" OR ");
                    entry(out)?;
                    out.push_sql(")");
                } else {
                    out.push_sql(" AND ");
                    entry(out)?;
                    out.push_sql(" AND NOT (");
                    administered(out)?;
                    out.push_sql(")");
                }
            }
            Ok(())
        };
        let count = |out: &mut diesel::query_builder::AstPass<'_, 'b, DB>| -> QueryResult<()> {
            if self.pattern.is_none() && self.public.is_none() && self.my_role.is_none() {
                out.push_sql("SELECT COUNT(*) FROM (");
                self.walk_ids(out)?;
                out.push_sql(") mine");
                Ok(())
            } else {
                out.push_sql("SELECT COUNT(*) FROM datasets d WHERE d.id IN (");
                self.walk_ids(out)?;
                out.push_sql(")");
                filtered(out)
            }
        };
        let (limit, offset) = match &self.shape {
            Shape::Count => {
                out.push_sql("SELECT (");
                count(&mut out)?;
                out.push_sql(") AS total");
                return Ok(());
            }
            Shape::Summary(limit, offset) => {
                // The count rides on the rows as an uncorrelated scalar subquery, evaluated
                // once by both planners, instead of a statement of its own.
                out.push_sql("SELECT (");
                count(&mut out)?;
                out.push_sql(
                    ") AS total, a.username AS owner_name, d.name, d.description, d.task_type, \
                     d.is_public \
                     FROM datasets d JOIN accounts a ON a.id = d.owner_id WHERE d.id IN (",
                );
                self.walk_ids(&mut out)?;
                out.push_sql(")");
                filtered(&mut out)?;
                out.push_sql(match self.sort {
                    DatasetSort::Name => " ORDER BY d.sort_key, d.name_key, a.username_key LIMIT ",
                    DatasetSort::Newest => " ORDER BY d.created_at DESC, d.id DESC LIMIT ",
                });
                out.push_bind_param::<BigInt, _>(limit)?;
                out.push_sql(" OFFSET ");
                out.push_bind_param::<BigInt, _>(offset)?;
                return Ok(());
            }
            Shape::Full(limit, offset) => {
                out.push_sql(
                    "SELECT d.id, d.owner_id, a.username AS owner_name, a.kind AS owner_kind, \
                     a.created_at AS owner_created_at, d.name, d.description, d.task_type, \
                     d.is_public, d.created_at, d.cloned_from_id, m.role AS org_role, \
                     c.role AS collaborator_role, \
                     CAST(d.collaborator_count AS BIGINT) AS collaborators, \
                     s.owner_id AS source_owner_id, sa.username AS source_owner, s.name AS source_name, \
                     s.is_public AS source_public, sm.role AS source_org_role, \
                     sc.role AS source_collaborator_role FROM ",
                );
                // The viewer's datasets drive the joins: as `WHERE d.id IN (...)`, PostgreSQL
                // joined all 50,000 datasets with the left joins below before keeping the 86
                // it lists (151 ms; from the ids, 5 ms).
                if let Listing::Mine = &self.scope {
                    out.push_sql("(");
                    self.walk_ids(&mut out)?;
                    out.push_sql(") mine JOIN datasets d ON d.id = mine.id");
                } else {
                    out.push_sql("datasets d");
                }
                out.push_sql(
                    " JOIN accounts a ON a.id = d.owner_id \
                     LEFT JOIN memberships m ON m.org_id = d.owner_id AND m.user_id = ",
                );
                out.push_bind_param::<Integer, _>(&self.user_id)?;
                out.push_sql(" LEFT JOIN collaborators c ON c.dataset_id = d.id AND c.user_id = ");
                out.push_bind_param::<Integer, _>(&self.user_id)?;
                // The source of a clone, and the viewer's roles on it: its name is shown only
                // to who may see it.
                out.push_sql(
                    " LEFT JOIN datasets s ON s.id = d.cloned_from_id \
                     LEFT JOIN accounts sa ON sa.id = s.owner_id \
                     LEFT JOIN memberships sm ON sm.org_id = s.owner_id AND sm.user_id = ",
                );
                out.push_bind_param::<Integer, _>(&self.user_id)?;
                out.push_sql(
                    " LEFT JOIN collaborators sc ON sc.dataset_id = s.id AND sc.user_id = ",
                );
                out.push_bind_param::<Integer, _>(&self.user_id)?;
                match &self.scope {
                    Listing::Mine => {}
                    Listing::Owner { owner_id, sees_all } => {
                        out.push_sql(" WHERE d.owner_id = ");
                        out.push_bind_param::<Integer, _>(owner_id)?;
                        if !sees_all {
                            out.push_sql(" AND (d.is_public OR c.id IS NOT NULL)");
                        }
                    }
                }
                (limit, offset)
            }
        };
        out.push_sql(" ORDER BY a.username_key, d.name_key LIMIT ");
        out.push_bind_param::<BigInt, _>(limit)?;
        out.push_sql(" OFFSET ");
        out.push_bind_param::<BigInt, _>(offset)?;
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for DatasetQuery {}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct SummaryRow {
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = Text)]
    owner_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Text)]
    task_type: TaskType,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_public: bool,
}

#[derive(QueryableByName)]
struct FullRow {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Integer)]
    owner_id: i32,
    #[diesel(sql_type = Text)]
    owner_name: String,
    #[diesel(sql_type = Text)]
    owner_kind: AccountKind,
    #[diesel(sql_type = Timestamp)]
    owner_created_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Text)]
    task_type: TaskType,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_public: bool,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Nullable<Integer>)]
    cloned_from_id: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    org_role: Option<OrgRole>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    collaborator_role: Option<DatasetRole>,
    #[diesel(sql_type = BigInt)]
    collaborators: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<Integer>)]
    source_owner_id: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    source_owner: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    source_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    source_public: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    source_org_role: Option<OrgRole>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    source_collaborator_role: Option<DatasetRole>,
}

impl FullRow {
    /// `owner/name` of the clone's source, when `viewer` may see it.
    fn visible_source(&self, viewer: i32) -> Option<String> {
        let (owner_id, owner, name) = (
            self.source_owner_id?,
            self.source_owner.as_ref()?,
            self.source_name.as_ref()?,
        );
        Access::effective(
            owner_id,
            Some(viewer),
            self.source_org_role,
            self.source_collaborator_role,
            self.source_public.unwrap_or(false),
        )?;
        Some(format!("{owner}/{name}"))
    }
}

fn query(user_id: i32, scope: Listing, shape: Shape) -> DatasetQuery {
    DatasetQuery {
        user_id,
        admin_roles: OrgRole::allowed_to(OrgAction::AdministerDatasets),
        scope,
        shape,
        pattern: None,
        public: None,
        sort: DatasetSort::Name,
        my_role: None,
    }
}

fn filtered_query(user_id: i32, shape: Shape, filter: &DatasetFilter) -> DatasetQuery {
    DatasetQuery {
        pattern: filter.pattern(),
        public: filter.public(),
        sort: filter.sort,
        my_role: filter.my_role,
        ..query(user_id, Listing::Mine, shape)
    }
}

/// One page of the datasets a user works on, those `filter` selects, with their number (one
/// cached statement; two for a page past the end).
pub fn list_for_dashboard(
    conn: &mut DbConn,
    user_id: i32,
    filter: &DatasetFilter,
    page: i64,
) -> QueryResult<Page<DatasetSummary>> {
    let shape = Shape::Summary(PAGE_SIZE, Page::<()>::offset(page, PAGE_SIZE));
    let rows: Vec<SummaryRow> = filtered_query(user_id, shape, filter).load(conn)?;
    // A page past the end has no row to carry the count.
    let total = match rows.first() {
        Some(row) => row.total,
        None if page <= 1 => 0,
        None => {
            filtered_query(user_id, Shape::Count, filter)
                .get_result::<Total>(conn)?
                .total
        }
    };
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

/// A dataset with the viewer's access to it (its number of collaborator entries is on it).
#[derive(Clone, Debug)]
pub struct DatasetDetail {
    pub ds: Dataset,
    pub access: Access,
}

/// One page of full rows (one cached statement), ordered by owner, then name. `viewer`
/// is the user (lists of the API need one).
pub fn list_full(
    conn: &mut DbConn,
    viewer: i32,
    listing: Listing,
    page: i64,
    per_page: i64,
) -> QueryResult<Vec<DatasetDetail>> {
    let shape = Shape::Full(per_page, Page::<()>::offset(page, per_page));
    let rows: Vec<FullRow> = query(viewer, listing, shape).load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let cloned_from = r.visible_source(viewer);
            let access = Access::effective(
                r.owner_id,
                Some(viewer),
                r.org_role,
                r.collaborator_role,
                r.is_public,
            )?;
            Some(DatasetDetail {
                ds: Dataset {
                    id: r.id,
                    owner_id: r.owner_id,
                    owner_name: r.owner_name,
                    owner_is_org: r.owner_kind == AccountKind::Org,
                    name: r.name,
                    description: r.description,
                    task_type: r.task_type,
                    is_public: r.is_public,
                    created_by: None,
                    created_at: r.created_at,
                    owner_created_at: r.owner_created_at,
                    cloned_from_id: r.cloned_from_id,
                    cloned_from,
                    collaborator_count: r.collaborators,
                },
                access,
            })
        })
        .collect())
}

/// `owner/name` of the dataset `id` when `viewer` may see it (the source of a clone), else
/// `None`, as for one that is gone (one statement).
pub fn visible_name(conn: &mut DbConn, id: i32, viewer: i32) -> QueryResult<Option<String>> {
    let row = datasets::table
        .inner_join(acc::table.on(acc::id.eq(datasets::owner_id)))
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(datasets::owner_id)
                .and(memberships::user_id.eq(viewer))),
        )
        .left_join(
            collaborators::table.on(collaborators::dataset_id
                .eq(datasets::id)
                .and(collaborators::user_id.eq(viewer))),
        )
        .filter(datasets::id.eq(id))
        .select((
            datasets::owner_id,
            acc::username,
            datasets::name,
            datasets::is_public,
            memberships::role.nullable(),
            collaborators::role.nullable(),
        ))
        .first::<(
            i32,
            String,
            String,
            bool,
            Option<OrgRole>,
            Option<DatasetRole>,
        )>(conn)
        .optional()?;
    Ok(
        row.and_then(|(owner_id, owner, name, public, org_role, collab)| {
            Access::effective(owner_id, Some(viewer), org_role, collab, public)?;
            Some(format!("{owner}/{name}"))
        }),
    )
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
    let rows: Vec<(i32, String, AccountKind)> = acc::table
        .filter(
            acc::id.eq(user_id).or(acc::id.eq_any(
                memberships::table
                    .filter(memberships::user_id.eq(user_id))
                    .filter(one_of(
                        memberships::role,
                        OrgRole::allowed_to(OrgAction::CreateDataset),
                    ))
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
            is_org: kind == AccountKind::Org,
        })
        .collect();
    choices.sort_by_key(|c| c.id != user_id);
    Ok(choices)
}

/// Whether `owner_id` already has a dataset named `name` (in any case).
pub fn name_taken(conn: &mut DbConn, owner_id: i32, name: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        datasets::table
            .filter(datasets::owner_id.eq(owner_id))
            .filter(datasets::name_key.eq(name_key(name))),
    ))
    .get_result(conn)
}

/// A new dataset's fields, already validated.
pub struct NewDataset<'a> {
    pub owner_id: i32,
    pub name: &'a str,
    pub description: &'a str,
    pub task_type: TaskType,
    pub is_public: bool,
    pub created_by: i32,
    /// The dataset this one is a clone of.
    pub cloned_from: Option<i32>,
}

/// Inserts a dataset, and its collaborators in the same statements whatever the number of
/// members (SPEC 4.3): when `fan_out_from` names an organization, every member whose default
/// dataset role is not "None" gets that role; the creator is administrator. Four statements.
/// The unique index on `(owner_id, name_key)` decides races.
pub fn insert(
    conn: &mut DbConn,
    new: &NewDataset<'_>,
    fan_out_from: Option<i32>,
) -> QueryResult<i32> {
    let now = Utc::now().naive_utc();
    let id: i32 = diesel::insert_into(datasets::table)
        .values((
            datasets::owner_id.eq(new.owner_id),
            datasets::name.eq(new.name),
            datasets::name_key.eq(name_key(new.name)),
            datasets::sort_key.eq(natural_key(new.name)),
            datasets::description.eq(new.description),
            datasets::task_type.eq(new.task_type),
            datasets::is_public.eq(new.is_public),
            datasets::created_by.eq(new.created_by),
            datasets::created_at.eq(now),
            datasets::cloned_from_id.eq(new.cloned_from),
        ))
        .returning(datasets::id)
        .get_result(conn)?;
    if let Some(org_id) = fan_out_from {
        diesel::sql_query(
            "INSERT INTO collaborators (dataset_id, user_id, role, created_at) \
             SELECT $1, user_id, default_dataset_role, $2 FROM memberships \
             WHERE org_id = $3 AND default_dataset_role IS NOT NULL AND user_id <> $4",
        )
        .bind::<Integer, _>(id)
        .bind::<Timestamp, _>(now)
        .bind::<Integer, _>(org_id)
        .bind::<Integer, _>(new.created_by)
        .execute(conn)?;
    }
    insert_collaborator(conn, id, new.created_by, DatasetRole::Admin)?;
    Ok(id)
}

/// How many collaborators of each role a dataset has besides `except` (the creator): who
/// joined an organization's new dataset by their default role. One statement.
pub fn joined_by_role(
    conn: &mut DbConn,
    dataset_id: i32,
    except: i32,
) -> QueryResult<Vec<(DatasetRole, i64)>> {
    let mut rows: Vec<(DatasetRole, i64)> = collaborators::table
        .filter(collaborators::dataset_id.eq(dataset_id))
        .filter(collaborators::user_id.ne(except))
        .group_by(collaborators::role)
        .select((collaborators::role, diesel::dsl::count_star()))
        .load(conn)?;
    rows.sort_by_key(|(role, _)| *role);
    Ok(rows)
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
    let rows: Vec<(i32, String, String, DatasetRole, Option<i32>)> = collaborators::table
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
                role,
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

/// One page of a dataset's collaborator entries by name: (username, account created, role).
pub fn collaborator_entries(
    conn: &mut DbConn,
    dataset_id: i32,
    page: i64,
    per_page: i64,
) -> QueryResult<Vec<(String, NaiveDateTime, DatasetRole)>> {
    collaborators::table
        .inner_join(acc::table.on(acc::id.eq(collaborators::user_id)))
        .filter(collaborators::dataset_id.eq(dataset_id))
        .order(acc::username_key)
        .limit(per_page)
        .offset(Page::<()>::offset(page, per_page))
        .select((acc::username, acc::created_at, collaborators::role))
        .load(conn)
}

/// Who is an administrator of the dataset without being listed: the owning user, or the
/// owning organization's administrators (bounded; one statement).
pub fn implicit_admins(conn: &mut DbConn, ds: &Dataset) -> QueryResult<Vec<String>> {
    if ds.owner_is_org {
        memberships::table
            .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
            .filter(memberships::org_id.eq(ds.owner_id))
            .filter(one_of(
                memberships::role,
                OrgRole::allowed_to(OrgAction::AdministerDatasets),
            ))
            .order(acc::username_key)
            .select(acc::username)
            .limit(PAGE_SIZE)
            .load(conn)
    } else {
        Ok(vec![ds.owner_name.clone()])
    }
}

/// A collaborator's role and canonical name, if `user_id` has an entry on the dataset.
pub fn collaborator(
    conn: &mut DbConn,
    dataset_id: i32,
    user_id: i32,
) -> QueryResult<Option<(DatasetRole, String)>> {
    collaborators::table
        .inner_join(acc::table.on(acc::id.eq(collaborators::user_id)))
        .filter(collaborators::dataset_id.eq(dataset_id))
        .filter(collaborators::user_id.eq(user_id))
        .select((collaborators::role, acc::username))
        .first(conn)
        .optional()
}

/// Inserts a collaborator entry. The unique index decides races (one entry per user).
pub fn insert_collaborator(
    conn: &mut DbConn,
    dataset_id: i32,
    user_id: i32,
    role: DatasetRole,
) -> QueryResult<()> {
    diesel::insert_into(collaborators::table)
        .values((
            collaborators::dataset_id.eq(dataset_id),
            collaborators::user_id.eq(user_id),
            collaborators::role.eq(role),
            collaborators::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

pub fn set_collaborator_role(
    conn: &mut DbConn,
    dataset_id: i32,
    user_id: i32,
    role: DatasetRole,
) -> QueryResult<()> {
    diesel::update(
        collaborators::table
            .filter(collaborators::dataset_id.eq(dataset_id))
            .filter(collaborators::user_id.eq(user_id)),
    )
    .set(collaborators::role.eq(role))
    .execute(conn)
    .map(drop)
}

pub fn delete_collaborator(conn: &mut DbConn, dataset_id: i32, user_id: i32) -> QueryResult<()> {
    diesel::delete(
        collaborators::table
            .filter(collaborators::dataset_id.eq(dataset_id))
            .filter(collaborators::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(drop)
}

/// Saves description, task type and visibility.
pub fn update_settings(
    conn: &mut DbConn,
    dataset_id: i32,
    description: &str,
    task_type: TaskType,
    is_public: bool,
) -> QueryResult<()> {
    diesel::update(datasets::table.find(dataset_id))
        .set((
            datasets::description.eq(description),
            datasets::task_type.eq(task_type),
            datasets::is_public.eq(is_public),
        ))
        .execute(conn)
        .map(drop)
}

/// Deletes the dataset; its collaborators go with it (the foreign key cascades).
pub fn delete(conn: &mut DbConn, dataset_id: i32) -> QueryResult<()> {
    diesel::delete(datasets::table.find(dataset_id))
        .execute(conn)
        .map(drop)
}

/// Every dataset of the owner: id and name, by name (one statement).
pub fn names_of_owner(conn: &mut DbConn, owner_id: i32) -> QueryResult<Vec<(i32, String)>> {
    datasets::table
        .filter(datasets::owner_id.eq(owner_id))
        .order(datasets::name_key)
        .select((datasets::id, datasets::name))
        .load(conn)
}

/// The collaborator entries of `user_ids` on the owner's datasets: dataset id, user id, role
/// (one statement).
pub fn entries_on_owner(
    conn: &mut DbConn,
    owner_id: i32,
    user_ids: &[i32],
) -> QueryResult<Vec<(i32, i32, DatasetRole)>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    collaborators::table
        .inner_join(datasets::table.on(datasets::id.eq(collaborators::dataset_id)))
        .filter(datasets::owner_id.eq(owner_id))
        .filter(collaborators::user_id.eq_any(user_ids.to_vec()))
        .select((
            collaborators::dataset_id,
            collaborators::user_id,
            collaborators::role,
        ))
        .load(conn)
}

/// Inserts collaborator entries (dataset id, user id, role) with multi-row `INSERT`s of
/// [`crate::models::INSERT_CHUNK`] rows; the unique index decides races.
pub fn insert_collaborators(
    conn: &mut DbConn,
    rows: &[(i32, i32, DatasetRole)],
) -> QueryResult<usize> {
    let now = Utc::now().naive_utc();
    let mut made = 0;
    for chunk in rows.chunks(crate::models::INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(dataset_id, user_id, role)| {
                (
                    collaborators::dataset_id.eq(*dataset_id),
                    collaborators::user_id.eq(*user_id),
                    collaborators::role.eq(*role),
                    collaborators::created_at.eq(now),
                )
            })
            .collect();
        let q = diesel::insert_into(collaborators::table).values(values);
        made += crate::on_backend!(conn, q, execute)?;
    }
    Ok(made)
}

/// Raises to `to` the entries of `user_ids` on the owner's datasets whose role is lower
/// than `to` (one statement; higher or equal entries are never touched).
pub fn raise_collaborators(
    conn: &mut DbConn,
    owner_id: i32,
    user_ids: &[i32],
    to: DatasetRole,
) -> QueryResult<usize> {
    let lower: Vec<DatasetRole> = DatasetRole::ALL
        .iter()
        .copied()
        .filter(|r| *r < to)
        .collect();
    if user_ids.is_empty() || lower.is_empty() {
        return Ok(0);
    }
    diesel::update(
        collaborators::table
            .filter(collaborators::user_id.eq_any(user_ids.to_vec()))
            .filter(one_of(collaborators::role, lower))
            .filter(
                collaborators::dataset_id.eq_any(
                    datasets::table
                        .filter(datasets::owner_id.eq(owner_id))
                        .select(datasets::id),
                ),
            ),
    )
    .set(collaborators::role.eq(to))
    .execute(conn)
}
