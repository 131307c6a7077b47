//! Organizations and their memberships: the rows and the statements. The rules (SPEC 4) are
//! in `app::orgs`, which calls these inside its write transaction.

use chrono::Utc;
use diesel::prelude::*;

use crate::db::{DbConn, WriteTx};
use crate::domain::kinds::AccountKind;
use crate::domain::names::name_key;
use crate::domain::roles::{is_last_admin, DatasetRole, OrgRole, RoleFilter};
use crate::models::accounts;
use crate::models::{like_pattern, Page};
use crate::schema::{accounts as acc, collaborators, datasets, memberships, organizations, users};

/// An organization as its pages show it.
#[derive(Clone, Debug)]
pub struct Org {
    pub id: i32,
    pub username: String,
    pub display_name: String,
    pub description: String,
    pub contact_email: String,
    /// Kept by a trigger on `memberships`.
    pub member_count: i64,
    /// Members join only by invitation (administrators cannot add them directly).
    pub invite_only: bool,
    /// Kept by a trigger on `memberships`, for what pages show; the use cases that enforce
    /// the last-administrator rule count in their locked transaction instead.
    pub admin_count: i64,
}

impl Org {
    /// `/{org}` followed by `suffix` (e.g. `/members`).
    pub fn path(&self, suffix: &str) -> String {
        format!("/{}{}", self.username, suffix)
    }

    /// The display name, or the username when there is none.
    pub fn title(&self) -> &str {
        if self.display_name.is_empty() {
            &self.username
        } else {
            &self.display_name
        }
    }
}

type OrgTuple = (i32, String, String, String, String, i32, bool, i32);

/// The columns of an [`Org`], in the order of [`OrgTuple`].
const ORG_COLUMNS: (
    acc::id,
    acc::username,
    acc::display_name,
    organizations::description,
    organizations::contact_email,
    organizations::member_count,
    organizations::invite_only,
    organizations::admin_count,
) = (
    acc::id,
    acc::username,
    acc::display_name,
    organizations::description,
    organizations::contact_email,
    organizations::member_count,
    organizations::invite_only,
    organizations::admin_count,
);

fn org_from(
    (id, username, display_name, description, contact_email, count, invite_only, admins): OrgTuple,
) -> Org {
    Org {
        id,
        username,
        display_name,
        description,
        contact_email,
        member_count: count.into(),
        invite_only,
        admin_count: admins.into(),
    }
}

macro_rules! org_by_name {
    ($name:expr) => {
        acc::table
            .inner_join(organizations::table.on(organizations::id.eq(acc::id)))
            .filter(acc::username_key.eq(name_key($name)))
            .select(ORG_COLUMNS)
    };
}

/// The organization named `name`, its row locked until the transaction ends: every change to
/// an organization, its memberships or its datasets takes this lock first.
pub fn lock(tx: &mut WriteTx<'_>, name: &str) -> QueryResult<Option<Org>> {
    if !crate::models::plausible_name(name) {
        return Ok(None);
    }
    Ok(crate::first_locked!(tx, OrgTuple, org_by_name!(name))?.map(org_from))
}

/// Takes the organization's lock when `owner` names one (a dataset's owner); nothing when it
/// names a user or nothing.
pub fn lock_if_org(tx: &mut WriteTx<'_>, owner: &str) -> QueryResult<()> {
    if crate::db::is_sqlite(tx) {
        return Ok(());
    }
    lock(tx, owner).map(drop)
}

/// `user_id`'s role in the organization, if a member.
pub fn role_of(conn: &mut DbConn, org_id: i32, user_id: i32) -> QueryResult<Option<OrgRole>> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq(user_id))
        .select(memberships::role)
        .first(conn)
        .optional()
}

/// The organization named `name` and `user_id`'s role in it (one statement; for pages).
pub fn find_with_role(
    conn: &mut DbConn,
    name: &str,
    user_id: i32,
) -> QueryResult<Option<(Org, Option<OrgRole>)>> {
    if !crate::models::plausible_name(name) {
        return Ok(None);
    }
    let query = acc::table
        .inner_join(organizations::table.on(organizations::id.eq(acc::id)))
        .left_join(
            memberships::table.on(memberships::org_id
                .eq(acc::id)
                .and(memberships::user_id.eq(user_id))),
        )
        .filter(acc::username_key.eq(name_key(name)))
        .select((ORG_COLUMNS, memberships::role.nullable()));
    let row = crate::db::load_one::<_, (OrgTuple, Option<OrgRole>)>(conn, query)?;
    Ok(row.map(|(org, role)| (org_from(org), role)))
}

/// What the layout of every page shows about the signed-in user: their organizations (the
/// profile menu) and their address while it is not verified (the banner).
#[derive(Clone, Debug, Default)]
pub struct Nav {
    pub orgs: Vec<String>,
    pub unverified_email: Option<String>,
}

impl From<Vec<String>> for Nav {
    fn from(orgs: Vec<String>) -> Self {
        Nav {
            orgs,
            unverified_email: None,
        }
    }
}

/// The most organizations the profile menu lists.
pub const NAV_ORGS: i64 = 100;

/// An organization of the user, for `/settings/organizations`.
#[derive(Clone, Debug)]
pub struct UserOrg {
    pub username: String,
    pub display_name: String,
    pub role: OrgRole,
    pub admins: i64,
}

impl UserOrg {
    /// Whether the user is its last administrator, who cannot leave (SPEC 4.1).
    pub fn is_last_admin(&self) -> bool {
        is_last_admin(self.role, self.admins)
    }
}

/// The user's organizations with their role and the number of administrators (two statements).
pub fn user_orgs(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<UserOrg>> {
    let rows: Vec<(i32, String, String, OrgRole)> = memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::org_id)))
        .filter(memberships::user_id.eq(user_id))
        .order(acc::username_key)
        .select((acc::id, acc::username, acc::display_name, memberships::role))
        .load(conn)?;
    // The user's organizations as a subquery, not an `IN` list of their ids: fixed text,
    // so the statement stays prepared.
    let mine = diesel::alias!(memberships as mine);
    let counts: std::collections::HashMap<i32, i64> = memberships::table
        .filter(
            memberships::org_id.eq_any(
                mine.filter(mine.field(memberships::user_id).eq(user_id))
                    .select(mine.field(memberships::org_id)),
            ),
        )
        .filter(memberships::role.eq(OrgRole::Admin))
        .group_by(memberships::org_id)
        .select((memberships::org_id, diesel::dsl::count_star()))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(id, username, display_name, role)| UserOrg {
            username,
            display_name,
            role,
            admins: counts.get(&id).copied().unwrap_or(0),
        })
        .collect())
}

/// Inserts a new organization's account and organization rows; returns its id. The unique
/// index on names decides races.
pub fn insert(
    conn: &mut DbConn,
    creator_id: i32,
    username: &str,
    display_name: &str,
) -> QueryResult<i32> {
    let id = accounts::insert_account(conn, username, AccountKind::Org, display_name)?;
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(id),
            organizations::created_by.eq(creator_id),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Inserts a membership. The unique indexes decide races (one membership per user).
pub fn insert_membership(
    conn: &mut DbConn,
    org_id: i32,
    user_id: i32,
    username: &str,
    role: OrgRole,
    default_role: Option<DatasetRole>,
) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::org_id.eq(org_id),
            memberships::user_id.eq(user_id),
            memberships::username_key.eq(name_key(username)),
            memberships::role.eq(role),
            memberships::default_dataset_role.eq(default_role),
            memberships::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// A member as the member pages show them.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: i32,
    pub username: String,
    pub display_name: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

impl Member {
    pub fn default_role_value(&self) -> &'static str {
        crate::domain::roles::default_role_value(self.default_role)
    }

    pub fn default_role_label(&self) -> &'static str {
        crate::domain::roles::default_role_label(self.default_role)
    }
}

/// user id, username, display name, organization role, default dataset role.
type MemberRow = (i32, String, String, OrgRole, Option<DatasetRole>);

diesel::define_sql_function! {
    /// PostgreSQL only (a migration defines it): `username_key || ' ' || lower(display_name)`,
    /// the text of the trigram index `accounts_member_text_trgm`.
    fn member_text(username_key: diesel::sql_types::Text, display_name: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// `count(*) OVER ()`: how many rows the query found, on each of the rows it returns (the
/// window is computed before `LIMIT`). A fragment of fixed text, so the statement stays
/// prepared (diesel's `sql()` literal would be prepared anew on every view).
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub struct CountOverAll;

impl diesel::Expression for CountOverAll {
    type SqlType = diesel::sql_types::BigInt;
}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for CountOverAll {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql("count(*) OVER ()");
        Ok(())
    }
}

impl<QS> diesel::SelectableExpression<QS> for CountOverAll {}
impl<QS> diesel::AppearsOnTable<QS> for CountOverAll {}
impl diesel::expression::ValidGrouping<()> for CountOverAll {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

/// Which members a list shows.
#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    /// A part of the username or the display name, in any case ("" for everyone).
    pub text: String,
    /// Whether `text` also searches email addresses (for administrators only).
    pub emails: bool,
    pub role: RoleFilter,
    /// Where the page the caller came from began or ended (the everyone list only).
    pub cursor: Option<Cursor>,
}

/// Where a page of a list began or ended, so that a nearby page is read from there in the
/// index instead of skipping every entry before it: keyset pagination under the numbered
/// pages. The page number stays what the pager shows; the cursor only says where to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// Page `from` ended at the name key `key`: a later page starts after it.
    After { from: i64, key: String },
    /// Page `from` began at the name key `key`: an earlier page ends before it.
    Before { from: i64, key: String },
}

/// How to read one page of the everyone list in its `(org_id, username_key)` index.
#[derive(Debug, PartialEq, Eq)]
enum Seek {
    /// From the start, skipping `skip` entries (page 1, or a page typed without a cursor).
    Forward { skip: i64, take: i64 },
    /// From the end backwards (the last pages), skipping `skip`.
    Backward { skip: i64, take: i64 },
    /// After `key`, skipping `skip` (a later page reached from a nearby one).
    After { key: String, skip: i64, take: i64 },
    /// Before `key` backwards, skipping `skip` (an earlier page reached from a nearby one).
    Before { key: String, skip: i64, take: i64 },
}

impl Seek {
    /// The cheapest way to page `page` of `per_page` rows among `total`, from `cursor`.
    fn plan(page: i64, per_page: i64, total: i64, cursor: Option<&Cursor>) -> Seek {
        let offset = Page::<Member>::offset(page, per_page);
        let skip_back = total - offset - per_page;
        let from_start = Seek::Forward {
            skip: offset,
            take: per_page,
        };
        // Nearer the end than the start (the Last link among them): read backwards.
        // Backwards only when it skips fewer entries: never for page 1, whose rows must not
        // rest on the kept count (read before the page, it may be a change behind).
        let near = if offset > total {
            from_start
        } else if skip_back.max(0) < offset {
            Seek::Backward {
                skip: skip_back.max(0),
                take: per_page + skip_back.min(0),
            }
        } else {
            from_start
        };
        let cost = |s: &Seek| match s {
            Seek::Forward { skip, .. }
            | Seek::Backward { skip, .. }
            | Seek::After { skip, .. }
            | Seek::Before { skip, .. } => *skip,
        };
        let from_cursor = match cursor {
            Some(Cursor::After { from, key }) if *from < page && *from >= 1 => Some(Seek::After {
                key: key.clone(),
                skip: (page - from - 1).saturating_mul(per_page),
                take: per_page,
            }),
            Some(Cursor::Before { from, key }) if *from > page => Some(Seek::Before {
                key: key.clone(),
                skip: (from - page - 1).saturating_mul(per_page),
                take: per_page,
            }),
            _ => None,
        };
        match from_cursor {
            Some(c) if cost(&c) < cost(&near) => c,
            _ => near,
        }
    }
}

impl MemberFilter {
    pub fn is_everyone(&self) -> bool {
        self.text.trim().is_empty() && self.role == RoleFilter::Any
    }
}

/// One page of `per_page` members ordered by name, those that `filter` selects. Unfiltered,
/// one statement (the total is the organization's `member_count`); filtered, two (the count
/// and the page), whatever the size.
///
/// The text matches anywhere in the username, the display name or (when `filter.emails`) the
/// email, ignoring case: `LIKE '%text%'` with `%`, `_` and `\` escaped. On PostgreSQL, for
/// three characters or more, the match is a semi-join on the trigram indexes of the accounts
/// (`member_text`: the name and the display name as one text, under 1 ms at 100,000 accounts)
/// and users (`pg_trgm`); shorter texts, and SQLite, filter the organization's own memberships
/// by the copy of the text each keeps (`search_text`, `email_key`, kept by triggers; on
/// SQLite in the covering index `memberships_org_search`), with no join per membership.
pub fn members(
    conn: &mut DbConn,
    org: &Org,
    filter: &MemberFilter,
    page: i64,
    per_page: i64,
) -> QueryResult<Page<Member>> {
    let org_id = org.id;
    let offset = Page::<Member>::offset(page, per_page);
    let to_member = |(user_id, username, display_name, role, default_role): MemberRow| Member {
        user_id,
        username,
        display_name,
        role,
        default_role,
    };
    let columns = (
        memberships::user_id,
        acc::username,
        acc::display_name,
        memberships::role,
        memberships::default_dataset_role,
    );
    if filter.is_everyone() {
        // A deferred join: the page's ids come from the covering `(org_id, username_key)`
        // index alone, read from the nearest place the page is known to start: the start, the
        // end, or where the page the caller came from began or ended ([`Cursor`]), so a deep
        // page reached through the pager skips at most a few pages of index entries, never
        // the thousands before it. Each of the four ways is one statement of fixed text.
        let paged = diesel::alias!(memberships as paged);
        let k = paged.field(memberships::username_key);
        let ids = paged
            .filter(paged.field(memberships::org_id).eq(org_id))
            .select(paged.field(memberships::id));
        // Whichever way the index is read, the page shows its rows in name order. (Not boxed:
        // a boxed subquery is not a fragment of both backends of the multi-connection.)
        macro_rules! page_of {
            ($ids:expr) => {{
                let q = memberships::table
                    .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
                    .filter(memberships::id.eq_any($ids))
                    .order(memberships::username_key)
                    .select(columns);
                crate::db::load::<_, MemberRow>(conn, q)?
            }};
        }
        let rows = match Seek::plan(page, per_page, org.member_count, filter.cursor.as_ref()) {
            Seek::Forward { skip, take } => page_of!(ids.order(k.asc()).offset(skip).limit(take)),
            Seek::Backward { skip, take } => {
                page_of!(ids.order(k.desc()).offset(skip).limit(take))
            }
            Seek::After { key, skip, take } => {
                page_of!(ids
                    .filter(k.gt(key))
                    .order(k.asc())
                    .offset(skip)
                    .limit(take))
            }
            Seek::Before { key, skip, take } => {
                page_of!(ids
                    .filter(k.lt(key))
                    .order(k.desc())
                    .offset(skip)
                    .limit(take))
            }
        };
        return Ok(Page {
            items: rows.into_iter().map(to_member).collect(),
            page,
            total: org.member_count,
            per_page,
        });
    }
    let text = filter.text.trim().to_lowercase();
    let pattern = like_pattern(&text);
    let trigrams = !crate::db::is_sqlite(conn) && text.chars().count() >= 3;
    // Boxed, as the filters vary; each combination is one statement text, kept prepared.
    let matching = || {
        let mut q = memberships::table
            .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
            .into_boxed();
        // A search by the memberships' own text names its rows by id (below): the outer
        // query then reads only the matches by their key. Any other list is the
        // organization's.
        if text.is_empty() || trigrams {
            q = q.filter(memberships::org_id.eq(org_id));
        }
        q = match filter.role {
            RoleFilter::Any => q,
            RoleFilter::Org(r) => q.filter(memberships::role.eq(r)),
            RoleFilter::Default(Some(r)) => q.filter(memberships::default_dataset_role.eq(r)),
            RoleFilter::Default(None) => q.filter(memberships::default_dataset_role.is_null()),
        };
        if text.is_empty() {
            return q;
        }
        let p = pattern.clone();
        // The membership's own copy of its member's text (`search_text`, `email_key`, kept
        // by triggers), in a subquery of the organization's covering index entries alone,
        // with no join per membership: the planners keep it apart from the outer query's
        // order, which would otherwise walk the name index and read every row.
        let own = diesel::alias!(memberships as own);
        let in_org = own.filter(own.field(memberships::org_id).eq(org_id));
        let names = || {
            own.field(memberships::search_text)
                .like(p.clone())
                .escape('\\')
        };
        match (trigrams, filter.emails) {
            (false, false) => q.filter(
                memberships::id.eq_any(in_org.filter(names()).select(own.field(memberships::id))),
            ),
            (false, true) => q.filter(
                memberships::id.eq_any(
                    in_org
                        .filter(
                            names().or(own
                                .field(memberships::email_key)
                                .like(p.clone())
                                .escape('\\')),
                        )
                        .select(own.field(memberships::id)),
                ),
            ),
            (true, emails) => {
                // Aliases: the subqueries read the same tables as the joins around them.
                let (found, mailed) = diesel::alias!(acc as found, users as mailed);
                let names = memberships::user_id.eq_any(
                    found
                        .filter(
                            member_text(
                                found.field(acc::username_key),
                                found.field(acc::display_name),
                            )
                            .like(p.clone())
                            .escape('\\'),
                        )
                        .select(found.field(acc::id)),
                );
                if emails {
                    q.filter(
                        names.or(memberships::user_id.eq_any(
                            mailed
                                .filter(mailed.field(users::email_key).like(p).escape('\\'))
                                .select(mailed.field(users::id)),
                        )),
                    )
                } else {
                    q.filter(names)
                }
            }
        }
    };
    // The page and the count of every match in one statement (a window over the matches,
    // computed before the limit): one scan or index search, not two. Only a page past the
    // end, which has no row to carry the count, asks for it again.
    let rows: Vec<(MemberRow, i64)> = matching()
        .order(memberships::username_key)
        .limit(per_page)
        .offset(offset)
        .select((columns, CountOverAll))
        .load(conn)?;
    let total = match rows.first() {
        Some((_, total)) => *total,
        None if offset == 0 => 0,
        None => matching().count().get_result(conn)?,
    };
    Ok(Page {
        items: rows.into_iter().map(|(row, _)| to_member(row)).collect(),
        page,
        total,
        per_page,
    })
}

/// The member of the organization named `username` as the member pages show them.
pub fn member(conn: &mut DbConn, org_id: i32, username: &str) -> QueryResult<Option<Member>> {
    if !crate::models::plausible_name(username) {
        return Ok(None);
    }
    let row: Option<MemberRow> = memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::username_key.eq(name_key(username)))
        .select((
            memberships::user_id,
            acc::username,
            acc::display_name,
            memberships::role,
            memberships::default_dataset_role,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(user_id, username, display_name, role, default_role)| Member {
            user_id,
            username,
            display_name,
            role,
            default_role,
        },
    ))
}

/// A member or an organization of a user, as the JSON API lists them: the account's name
/// and creation time, and the membership's roles.
#[derive(Clone, Debug)]
pub struct MemberOf {
    pub username: String,
    pub created_at: chrono::NaiveDateTime,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

type MemberOfRow = (String, chrono::NaiveDateTime, OrgRole, Option<DatasetRole>);

fn member_of((username, created_at, role, default_role): MemberOfRow) -> MemberOf {
    MemberOf {
        username,
        created_at,
        role,
        default_role,
    }
}

/// Every member of the organization, by name (one statement; the JSON API's `/users/{org}`
/// lists them all, as the SDK expects).
pub fn all_members(conn: &mut DbConn, org_id: i32) -> QueryResult<Vec<MemberOf>> {
    let rows: Vec<MemberOfRow> = memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
        .filter(memberships::org_id.eq(org_id))
        .order(memberships::username_key)
        .select((
            acc::username,
            acc::created_at,
            memberships::role,
            memberships::default_dataset_role,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(member_of).collect())
}

/// Every organization of the user with the user's roles in it, by name (one statement).
pub fn orgs_of_user(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<MemberOf>> {
    let rows: Vec<MemberOfRow> = memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::org_id)))
        .filter(memberships::user_id.eq(user_id))
        .order(acc::username_key)
        .select((
            acc::username,
            acc::created_at,
            memberships::role,
            memberships::default_dataset_role,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(member_of).collect())
}

/// The name of the user who created the organization, while that account exists.
pub fn creator(conn: &mut DbConn, org_id: i32) -> QueryResult<Option<String>> {
    organizations::table
        .inner_join(acc::table.on(organizations::created_by.eq(acc::id.nullable())))
        .filter(organizations::id.eq(org_id))
        .select(acc::username)
        .first(conn)
        .optional()
}

/// A member's id, canonical name and roles.
#[derive(Clone, Debug)]
pub struct Membership {
    pub user_id: i32,
    pub username: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

/// The member of the organization named `username` (any case), if there is one.
pub fn member_by_name(
    conn: &mut DbConn,
    org_id: i32,
    username: &str,
) -> QueryResult<Option<Membership>> {
    if !crate::models::plausible_name(username) {
        return Ok(None);
    }
    memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::username_key.eq(name_key(username)))
        .select((
            memberships::user_id,
            acc::username,
            memberships::role,
            memberships::default_dataset_role,
        ))
        .first::<(i32, String, OrgRole, Option<DatasetRole>)>(conn)
        .optional()
        .map(|row| {
            row.map(|(user_id, username, role, default_role)| Membership {
                user_id,
                username,
                role,
                default_role,
            })
        })
}

/// How many administrators the organization has.
pub fn admin_count(conn: &mut DbConn, org_id: i32) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq(OrgRole::Admin))
        .count()
        .get_result(conn)
}

/// Sets a member's organization role and default dataset role.
pub fn set_member_roles(
    conn: &mut DbConn,
    org_id: i32,
    user_id: i32,
    role: OrgRole,
    default_role: Option<DatasetRole>,
) -> QueryResult<()> {
    diesel::update(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set((
        memberships::role.eq(role),
        memberships::default_dataset_role.eq(default_role),
    ))
    .execute(conn)
    .map(drop)
}

/// Deletes a membership and, with it, the member's collaborator entries on the
/// organization's datasets (SPEC 4.5: removing a member revokes their access).
pub fn delete_membership(conn: &mut DbConn, org_id: i32, user_id: i32) -> QueryResult<()> {
    delete_memberships(conn, org_id, &[user_id])
}

/// Saves the organization's profile.
pub fn update_profile(
    conn: &mut DbConn,
    org_id: i32,
    display_name: &str,
    description: &str,
    contact_email: &str,
) -> QueryResult<()> {
    diesel::update(acc::table.find(org_id))
        .set(acc::display_name.eq(display_name))
        .execute(conn)?;
    diesel::update(organizations::table.find(org_id))
        .set((
            organizations::description.eq(description),
            organizations::contact_email.eq(contact_email),
        ))
        .execute(conn)
        .map(drop)
}

/// Deletes the organization: its memberships, datasets, collaborators and audit log go
/// with it (foreign keys cascade from the account row), and the name becomes free.
pub fn delete(conn: &mut DbConn, org_id: i32) -> QueryResult<()> {
    diesel::delete(acc::table.find(org_id))
        .execute(conn)
        .map(drop)
}

/// Sets whether members join only by invitation.
pub fn set_invite_only(conn: &mut DbConn, org_id: i32, invite_only: bool) -> QueryResult<()> {
    diesel::update(organizations::table.find(org_id))
        .set(organizations::invite_only.eq(invite_only))
        .execute(conn)
        .map(drop)
}

/// The name of the organization `id`, if it exists.
pub fn name_of(conn: &mut DbConn, org_id: i32) -> QueryResult<Option<String>> {
    acc::table
        .inner_join(organizations::table.on(organizations::id.eq(acc::id)))
        .filter(acc::id.eq(org_id))
        .select(acc::username)
        .first(conn)
        .optional()
}

/// A member as the CSV export lists them.
#[derive(Clone, Debug)]
pub struct ExportedMember {
    pub username: String,
    pub display_name: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
    pub joined: chrono::NaiveDateTime,
}

/// Every member of the organization by name, for the CSV export (one statement).
pub fn export_members(conn: &mut DbConn, org_id: i32) -> QueryResult<Vec<ExportedMember>> {
    type Row = (
        String,
        String,
        OrgRole,
        Option<DatasetRole>,
        chrono::NaiveDateTime,
    );
    let rows: Vec<Row> = memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
        .filter(memberships::org_id.eq(org_id))
        .order(memberships::username_key)
        .select((
            acc::username,
            acc::display_name,
            memberships::role,
            memberships::default_dataset_role,
            memberships::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(username, display_name, role, default_role, joined)| ExportedMember {
                username,
                display_name,
                role,
                default_role,
                joined,
            },
        )
        .collect())
}

/// The members of the organization among `names` (any case; at most a hundred or so: the
/// bulk changes), by name. One statement.
pub fn members_by_names(
    conn: &mut DbConn,
    org_id: i32,
    names: &[String],
) -> QueryResult<Vec<Membership>> {
    let keys: Vec<String> = names.iter().map(|n| name_key(n)).collect();
    let rows: Vec<(i32, String, OrgRole, Option<DatasetRole>)> = memberships::table
        .inner_join(acc::table.on(acc::id.eq(memberships::user_id)))
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::username_key.eq_any(keys))
        .order(memberships::username_key)
        .select((
            memberships::user_id,
            acc::username,
            memberships::role,
            memberships::default_dataset_role,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, username, role, default_role)| Membership {
            user_id,
            username,
            role,
            default_role,
        })
        .collect())
}

/// Sets the organization role of the members `user_ids` (one statement).
pub fn set_role_of(
    conn: &mut DbConn,
    org_id: i32,
    user_ids: &[i32],
    role: OrgRole,
) -> QueryResult<usize> {
    diesel::update(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq_any(user_ids.to_vec())),
    )
    .set(memberships::role.eq(role))
    .execute(conn)
}

/// Sets the default dataset role of the members `user_ids` (one statement).
pub fn set_default_role_of(
    conn: &mut DbConn,
    org_id: i32,
    user_ids: &[i32],
    default_role: Option<DatasetRole>,
) -> QueryResult<usize> {
    diesel::update(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq_any(user_ids.to_vec())),
    )
    .set(memberships::default_dataset_role.eq(default_role))
    .execute(conn)
}

/// Ends the memberships of `user_ids` with their collaborator entries on the organization's
/// datasets (SPEC 4.5); two statements whatever their number.
pub fn delete_memberships(conn: &mut DbConn, org_id: i32, user_ids: &[i32]) -> QueryResult<()> {
    diesel::delete(
        collaborators::table
            .filter(collaborators::user_id.eq_any(user_ids.to_vec()))
            .filter(
                collaborators::dataset_id.eq_any(
                    datasets::table
                        .filter(datasets::owner_id.eq(org_id))
                        .select(datasets::id),
                ),
            ),
    )
    .execute(conn)?;
    diesel::delete(
        memberships::table
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq_any(user_ids.to_vec())),
    )
    .execute(conn)
    .map(drop)
}

/// Which of `user_ids` are members of the organization (one statement).
pub fn members_among(conn: &mut DbConn, org_id: i32, user_ids: &[i32]) -> QueryResult<Vec<i32>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::user_id.eq_any(user_ids.to_vec()))
        .select(memberships::user_id)
        .load(conn)
}

/// A membership the bulk add makes.
#[derive(Clone, Debug)]
pub struct NewMember {
    pub user_id: i32,
    pub username: String,
    pub role: OrgRole,
    pub default_role: Option<DatasetRole>,
}

/// Inserts the memberships with multi-row `INSERT`s of [`crate::models::INSERT_CHUNK`] rows;
/// the unique indexes decide races, as for [`insert_membership`].
pub fn insert_memberships(
    conn: &mut DbConn,
    org_id: i32,
    rows: &[NewMember],
) -> QueryResult<usize> {
    let now = Utc::now().naive_utc();
    let mut made = 0;
    for chunk in rows.chunks(crate::models::INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|m| {
                (
                    memberships::org_id.eq(org_id),
                    memberships::user_id.eq(m.user_id),
                    memberships::username_key.eq(name_key(&m.username)),
                    memberships::role.eq(m.role),
                    memberships::default_dataset_role.eq(m.default_role),
                    memberships::created_at.eq(now),
                )
            })
            .collect();
        let q = diesel::insert_into(memberships::table).values(values);
        made += crate::on_backend!(conn, q, execute)?;
    }
    Ok(made)
}

#[cfg(test)]
mod seek_tests {
    use super::{Cursor, Seek};

    fn after(from: i64, key: &str) -> Option<Cursor> {
        Some(Cursor::After {
            from,
            key: key.into(),
        })
    }

    #[test]
    fn a_page_is_read_from_the_nearest_known_place() {
        // 10,000 members, 50 a page: page 1 from the start; the last pages from the end.
        assert_eq!(
            Seek::plan(1, 50, 10_000, None),
            Seek::Forward { skip: 0, take: 50 }
        );
        assert_eq!(
            Seek::plan(200, 50, 10_000, None),
            Seek::Backward { skip: 0, take: 50 }
        );
        assert_eq!(
            Seek::plan(199, 50, 10_000, None),
            Seek::Backward { skip: 50, take: 50 }
        );
        // A list shorter than a page, or "every member" at once: from the start, whatever
        // the kept count says.
        assert_eq!(
            Seek::plan(1, 50, 30, None),
            Seek::Forward { skip: 0, take: 50 }
        );
        assert_eq!(
            Seek::plan(1, 20_000, 10_000, None),
            Seek::Forward {
                skip: 0,
                take: 20_000
            }
        );
        // A partial last page: only its rows, from the end.
        assert_eq!(
            Seek::plan(5, 50, 231, None),
            Seek::Backward { skip: 0, take: 31 }
        );
        // Page 100 typed: offset. Reached through Next from 99, or two pages on: the cursor.
        assert_eq!(
            Seek::plan(100, 50, 10_000, None),
            Seek::Forward {
                skip: 4_950,
                take: 50
            }
        );
        assert_eq!(
            Seek::plan(100, 50, 10_000, after(99, "user5041").as_ref()),
            Seek::After {
                key: "user5041".into(),
                skip: 0,
                take: 50
            }
        );
        assert_eq!(
            Seek::plan(101, 50, 10_000, after(99, "k").as_ref()),
            Seek::After {
                key: "k".into(),
                skip: 50,
                take: 50
            }
        );
        let before = Some(Cursor::Before {
            from: 101,
            key: "k".into(),
        });
        assert_eq!(
            Seek::plan(100, 50, 10_000, before.as_ref()),
            Seek::Before {
                key: "k".into(),
                skip: 0,
                take: 50
            }
        );
        // A cursor pointing the wrong way, or costlier than the start, is ignored.
        assert_eq!(
            Seek::plan(3, 50, 10_000, after(5, "k").as_ref()),
            Seek::Forward {
                skip: 100,
                take: 50
            }
        );
        assert_eq!(
            Seek::plan(3, 50, 10_000, after(1, "k").as_ref()),
            Seek::After {
                key: "k".into(),
                skip: 50,
                take: 50
            }
        );
        assert_eq!(
            Seek::plan(2, 50, 10_000, after(-4, "k").as_ref()),
            Seek::Forward { skip: 50, take: 50 }
        );
        // Past the end: offset, which finds nothing (the page says so).
        assert_eq!(
            Seek::plan(999, 50, 10_000, None),
            Seek::Forward {
                skip: 49_900,
                take: 50
            }
        );
    }
}
