//! Both migration trees produce the same tables, columns and indexes.

use crate::helpers::*;
use colabel::db::DbConn;
use diesel::prelude::*;
use diesel::sql_types::Text;
use std::collections::BTreeSet;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    item: String,
}

fn items(c: &mut DbConn, sql: &str) -> BTreeSet<String> {
    diesel::sql_query(sql)
        .load::<Row>(c)
        .unwrap()
        .into_iter()
        .map(|r| r.item)
        .collect()
}

fn sqlite_shape(app: &TestApp) -> BTreeSet<String> {
    app.with_db(|c| {
        let mut all = items(c, "SELECT 'column ' || m.name || '.' || p.name AS item FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'");
        all.extend(items(c, "SELECT 'index ' || m.name || ' on ' || m.tbl_name || '(' || (SELECT group_concat(name, ',') FROM pragma_index_info(m.name)) || ')' || CASE WHEN m.sql LIKE 'CREATE UNIQUE%' THEN ' unique' ELSE '' END AS item FROM sqlite_master m WHERE m.type = 'index' AND m.name NOT LIKE 'sqlite_autoindex%'"));
        all.extend(items(c, "SELECT 'fk ' || m.name || '.' || f.\"from\" || ' -> ' || f.\"table\" || '.' || f.\"to\" || ' ' || f.on_delete AS item FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"));
        all
    })
}

/// Index key columns only: an `INCLUDE` column (PostgreSQL) is what SQLite's indexes carry
/// anyway, the row id. The trigram indexes (`*_trgm`) are PostgreSQL's way to serve a
/// substring search, which SQLite answers by scanning an organization's members.
fn postgres_shape(app: &TestApp) -> BTreeSet<String> {
    app.with_db(|c| {
        let mut all = items(c, "SELECT 'column ' || table_name || '.' || column_name AS item FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE '__diesel%'");
        all.extend(items(c, "SELECT 'index ' || i.relname || ' on ' || t.relname || '(' || (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(x.indkey) WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum WHERE k.ord <= x.indnkeyatts) || ')' || CASE WHEN x.indisunique THEN ' unique' ELSE '' END AS item FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema() AND NOT x.indisprimary AND t.relname NOT LIKE '__diesel%' AND i.relname NOT LIKE '%\\_trgm'"));
        all.extend(items(c, "SELECT 'fk ' || tc.table_name || '.' || kcu.column_name || ' -> ' || ccu.table_name || '.' || ccu.column_name || ' ' || rc.delete_rule AS item FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema JOIN information_schema.referential_constraints rc ON rc.constraint_name = tc.constraint_name AND rc.constraint_schema = tc.table_schema WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()"));
        all
    })
}

#[actix_web::test]
async fn both_migration_trees_make_the_same_schema() {
    let sqlite = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let Some(pg) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let a = sqlite_shape(&sqlite);
    let b = postgres_shape(&pg);
    assert!(a.len() > 40, "the schema was read: {a:?}");
    let only_sqlite: Vec<_> = a.difference(&b).collect();
    let only_pg: Vec<_> = b.difference(&a).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
}
