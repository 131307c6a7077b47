//! Persistence: plain functions over `&mut DbConn`, so that several compose in one transaction.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod datasets;
pub mod email_tokens;
pub mod invitations;
pub mod jobs;
pub mod mail_limits;
pub mod orgs;
pub mod sessions;
pub mod webhooks;

/// Whether `name` could be an account's or a dataset's name at all. Look-ups by a name that
/// cannot be one answer "none" without asking the database (which, for PostgreSQL, refuses
/// text with a NUL byte, and should not plan queries for 1 MB of garbage).
pub fn plausible_name(name: &str) -> bool {
    crate::domain::names::check_name_shape(name).is_ok()
}

/// Rows on one page of a list.
pub const PAGE_SIZE: i64 = 50;

/// One page of a list, with what the pager needs.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub total: i64,
    pub per_page: i64,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            page: 1,
            total: 0,
            per_page: PAGE_SIZE,
        }
    }

    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    pub fn offset(page: i64, per_page: i64) -> i64 {
        (page.max(1) - 1).saturating_mul(per_page)
    }
}

/// The smallest string greater than every string starting with `prefix` (for prefix search by
/// an index range: `key >= prefix AND key < upper`). `prefix` is ASCII (names are).
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).expect("ASCII");
        }
    }
    "\u{7f}".to_string()
}

diesel::define_sql_function! {
    /// SQL's `lower()`: Unicode on PostgreSQL, ASCII only on SQLite.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A `LIKE` pattern matching `text` anywhere (`%text%`), with `%`, `_` and `\` escaped by
/// `\` (to be used with `.escape('\\')`: SQLite has no default escape character).
pub fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// `column IN (?, ?, ...)` over a list of values known when the program is built (the roles
/// the permission table allows an action): unlike diesel's `eq_any`, the statement stays in
/// SQLite's prepared-statement cache, keyed by its text (which the list's length fixes).
pub fn one_of<C, T>(column: C, values: Vec<T>) -> OneOf<C, T> {
    OneOf { column, values }
}

#[derive(Debug, Clone)]
pub struct OneOf<C, T> {
    column: C,
    values: Vec<T>,
}

impl<C, T> diesel::expression::Expression for OneOf<C, T>
where
    C: diesel::expression::Expression,
{
    type SqlType = diesel::sql_types::Bool;
}

impl<C, T, QS> diesel::expression::AppearsOnTable<QS> for OneOf<C, T> where
    C: diesel::expression::AppearsOnTable<QS>
{
}

impl<C, T, QS> diesel::expression::SelectableExpression<QS> for OneOf<C, T> where
    C: diesel::expression::SelectableExpression<QS>
{
}

impl<C, T, G> diesel::expression::ValidGrouping<G> for OneOf<C, T>
where
    C: diesel::expression::ValidGrouping<G>,
{
    type IsAggregate = C::IsAggregate;
}

impl<C, T> diesel::query_builder::QueryId for OneOf<C, T> {
    type QueryId = ();
    // Keyed by the SQL text: two lists of different lengths are different statements.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, T, DB> diesel::query_builder::QueryFragment<DB> for OneOf<C, T>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<C::SqlType>,
    C: diesel::expression::Expression + diesel::query_builder::QueryFragment<DB>,
    T: diesel::serialize::ToSql<C::SqlType, DB> + std::fmt::Debug,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (i, value) in self.values.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<C::SqlType, T>(value)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// Rows per multi-row `INSERT` of the bulk changes: at most 7 columns, so a statement stays
/// far below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. A bulk change of `n`
/// rows runs `n / INSERT_CHUNK + 1` statements per table, never one per row.
pub const INSERT_CHUNK: usize = 500;

/// Runs a query built by `$build` on the connection's own backend: diesel's multi-row
/// `INSERT` of a `Vec` is implemented per backend, not for the run-time [`DbConn`].
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $query:expr, $run:ident) => {
        match $conn {
            $crate::db::DbConn::Pg(c) => $query.$run(c),
            $crate::db::DbConn::Sqlite(c) => $query.$run(c),
        }
    };
}
