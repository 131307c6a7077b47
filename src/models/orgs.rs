//! Organizations and their memberships.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::schema::{accounts, memberships};

/// The organizations a user belongs to, by name, for the profile menu (bounded).
pub fn nav_orgs(conn: &mut DbConn, user_id: i32) -> QueryResult<Vec<String>> {
    memberships::table
        .inner_join(accounts::table.on(accounts::id.eq(memberships::org_id)))
        .filter(memberships::user_id.eq(user_id))
        .order(accounts::username_key)
        .select(accounts::username)
        .limit(100)
        .load(conn)
}
