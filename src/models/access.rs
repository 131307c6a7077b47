//! "Who has access, and why" (issue 15, item 5): the people with access to a dataset with
//! every source of their role, and the datasets of an organization that one member can open.
//! A fixed number of statements whatever the number of people or datasets.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use crate::db::DbConn;
use crate::domain::access::Sources;
use crate::domain::roles::{DatasetRole, OrgAction, OrgRole};
use crate::models::datasets::Dataset;
use crate::models::{like_pattern, Page, PAGE_SIZE};
use crate::schema::{collaborators, datasets};

/// A person with access to a dataset, and every source of it (the dataset's visibility
/// aside: "public" is one line for everyone, not a row per person).
#[derive(Clone, Debug)]
pub struct Grantee {
    pub username: String,
    pub display_name: String,
    pub sources: Sources,
}

/// One value to bind, in the order of the statement's `$n`.
enum Bind {
    Int(i32),
    Big(i64),
    Text(String),
}

/// SQL text with numbered parameters (`$1`, `$2`, ...: both backends read them), and the
/// values in their order.
#[derive(Default)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }

    fn query(
        &self,
    ) -> diesel::query_builder::BoxedSqlQuery<
        '_,
        <DbConn as Connection>::Backend,
        diesel::query_builder::SqlQuery,
    > {
        let mut q = diesel::sql_query(self.text.clone()).into_boxed();
        for b in &self.binds {
            q = match b {
                Bind::Int(v) => q.bind::<Integer, _>(*v),
                Bind::Big(v) => q.bind::<BigInt, _>(*v),
                Bind::Text(v) => q.bind::<Text, _>(v.clone()),
            };
        }
        q
    }
}

/// `FROM (...) g JOIN accounts a`: one row per person with access, their sources grouped
/// (an organization administrator who is also a collaborator is one row). A `UNION ALL` of
/// index look-ups: the personal owner, the owning organization's administrators, the
/// collaborator entries; then the search on the username.
/// (The count without a search reads no account: every row of the union has one.)
fn grantees_from(sql: &mut Sql, ds: &Dataset, pattern: &Option<String>, accounts: bool) {
    sql.push(
        " FROM (SELECT user_id, MAX(is_owner) AS is_owner, MAX(org_role) AS org_role, \
         MAX(role) AS role FROM (",
    );
    if ds.owner_is_org {
        sql.push(
            "SELECT user_id, 0 AS is_owner, role AS org_role, CAST(NULL AS TEXT) AS role \
             FROM memberships WHERE org_id = ",
        )
        .bind(Bind::Int(ds.owner_id))
        .push(" AND role IN (");
        for (i, role) in OrgRole::allowed_to(OrgAction::AdministerDatasets)
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Bind::Text(role.as_str().to_string()));
        }
        sql.push(")");
    } else {
        sql.push(
            "SELECT owner_id AS user_id, 1 AS is_owner, CAST(NULL AS TEXT) AS org_role, \
             CAST(NULL AS TEXT) AS role FROM datasets WHERE id = ",
        )
        .bind(Bind::Int(ds.id));
    }
    sql.push(
        " UNION ALL SELECT user_id, 0 AS is_owner, CAST(NULL AS TEXT) AS org_role, role \
         FROM collaborators WHERE dataset_id = ",
    )
    .bind(Bind::Int(ds.id))
    .push(") s GROUP BY user_id) g");
    if accounts || pattern.is_some() {
        sql.push(" JOIN accounts a ON a.id = g.user_id");
    }
    if let Some(p) = pattern {
        sql.push(" WHERE a.username_key LIKE ")
            .bind(Bind::Text(p.clone()))
            .push(" ESCAPE '\\'");
    }
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct GranteeRow {
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Integer)]
    is_owner: i32,
    #[diesel(sql_type = Nullable<Text>)]
    org_role: Option<OrgRole>,
    #[diesel(sql_type = Nullable<Text>)]
    role: Option<DatasetRole>,
}

/// One page of `per_page` people with access to `ds` by username, those whose username
/// contains `search` (any case; "" for all), and how many there are: two statements.
pub fn grantees(
    conn: &mut DbConn,
    ds: &Dataset,
    search: &str,
    page: i64,
    per_page: i64,
) -> QueryResult<Page<Grantee>> {
    let text = search.trim().to_lowercase();
    let pattern = (!text.is_empty()).then(|| like_pattern(&text));
    let mut count = Sql::default();
    count.push("SELECT COUNT(*) AS total");
    grantees_from(&mut count, ds, &pattern, false);
    let total = count.query().get_result::<Total>(conn)?.total;
    let mut list = Sql::default();
    list.push("SELECT a.username, a.display_name, g.is_owner, g.org_role, g.role");
    grantees_from(&mut list, ds, &pattern, true);
    list.push(" ORDER BY a.username_key LIMIT ")
        .bind(Bind::Big(per_page))
        .push(" OFFSET ")
        .bind(Bind::Big(Page::<()>::offset(page, per_page)));
    let rows: Vec<GranteeRow> = list.query().load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| Grantee {
            username: r.username,
            display_name: r.display_name,
            sources: Sources {
                owner: r.is_owner != 0,
                org_role: r.org_role,
                collaborator: r.role,
                public: false,
            },
        })
        .collect();
    Ok(Page {
        items,
        page,
        total,
        per_page,
    })
}

/// A dataset of an organization that a member can open, with the sources of their role.
#[derive(Clone, Debug)]
pub struct MemberDataset {
    pub name: String,
    pub is_public: bool,
    pub sources: Sources,
}

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    open: i64,
}

/// The datasets of the organization `org_id` that the member `user_id` (whose role in it is
/// `org_role`) can open, one page by name, with how many they can open and how many they
/// cannot: two statements. An administrator of the organization opens every one.
pub fn member_datasets(
    conn: &mut DbConn,
    org_id: i32,
    user_id: i32,
    org_role: OrgRole,
    page: i64,
) -> QueryResult<(Page<MemberDataset>, i64)> {
    let sees_all = org_role.can(OrgAction::AdministerDatasets);
    let counts: Counts = diesel::sql_query(
        "SELECT COUNT(*) AS total, \
         COALESCE(SUM(CASE WHEN d.is_public OR c.id IS NOT NULL THEN 1 ELSE 0 END), 0) AS open \
         FROM datasets d LEFT JOIN collaborators c ON c.dataset_id = d.id AND c.user_id = $1 \
         WHERE d.owner_id = $2",
    )
    .bind::<Integer, _>(user_id)
    .bind::<Integer, _>(org_id)
    .get_result(conn)?;
    let open = if sees_all { counts.total } else { counts.open };
    let mut q = datasets::table
        .left_join(
            collaborators::table.on(collaborators::dataset_id
                .eq(datasets::id)
                .and(collaborators::user_id.eq(user_id))),
        )
        .filter(datasets::owner_id.eq(org_id))
        .into_boxed();
    if !sees_all {
        q = q.filter(
            datasets::is_public
                .eq(true)
                .or(collaborators::id.nullable().is_not_null()),
        );
    }
    let rows: Vec<(String, bool, Option<DatasetRole>)> = q
        .order((datasets::sort_key, datasets::name_key))
        .limit(PAGE_SIZE)
        .offset(Page::<()>::offset(page, PAGE_SIZE))
        .select((
            datasets::name,
            datasets::is_public,
            collaborators::role.nullable(),
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(|(name, is_public, collaborator)| MemberDataset {
            name,
            is_public,
            sources: Sources {
                owner: false,
                org_role: Some(org_role),
                collaborator,
                public: is_public,
            },
        })
        .collect();
    Ok((
        Page {
            items,
            page,
            total: open,
            per_page: PAGE_SIZE,
        },
        counts.total - open,
    ))
}
