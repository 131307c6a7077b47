//! `colabel seed`: fills an empty database with realistic demo data at a chosen scale, with
//! set-based statements (a handful of `INSERT ... SELECT` over a recursive counter), so the
//! full scale takes seconds, not minutes.

use std::time::Instant;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use crate::db::{write_tx, Db, DbConn};

/// How much to make.
#[derive(Clone, Debug)]
pub struct Scale {
    pub users: i64,
    pub orgs: i64,
    /// Members of the first organization (`bigorg`).
    pub big_org_members: i64,
    /// Members of each other organization.
    pub org_members: i64,
    pub datasets: i64,
    /// Collaborators per organization dataset.
    pub collaborators_per_dataset: i64,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            users: 20_000,
            orgs: 500,
            big_org_members: 10_000,
            org_members: 20,
            datasets: 50_000,
            collaborators_per_dataset: 5,
        }
    }
}

/// The demo password of every seeded user.
pub const DEMO_PASSWORD: &str = "colabel-demo";

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Integer)]
    id: i32,
}

fn min_id(c: &mut DbConn, sql: &str) -> QueryResult<i64> {
    Ok(diesel::sql_query(sql).get_result::<Id>(c)?.id as i64)
}

/// A counter `n(i)` from 1 to `$1`, for `INSERT ... SELECT` (SQLite and PostgreSQL).
const SEQ: &str =
    "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $1)";

struct SeedError(String);

impl From<diesel::result::Error> for SeedError {
    fn from(e: diesel::result::Error) -> Self {
        SeedError(format!("seeding failed: {e}"))
    }
}

/// Fills the database; returns a summary to print. Refuses a database that has accounts.
pub fn run(db: &Db, scale: &Scale, bcrypt_cost: u32) -> Result<String, String> {
    let started = Instant::now();
    let hash = bcrypt::hash(DEMO_PASSWORD, bcrypt_cost).map_err(|e| e.to_string())?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let s = scale.clone();
    let users = s.users.max(s.big_org_members).max(s.org_members + 1).max(2);
    write_tx(&mut conn, |tx| -> Result<(), SeedError> {
        let c: &mut DbConn = tx;
        let existing: i64 = crate::schema::accounts::table.count().get_result(c)?;
        if existing > 0 {
            return Err(SeedError(
                "the database already has accounts; seed an empty database".into(),
            ));
        }
        fill(c, &s, users, &hash)?;
        // The datasets were inserted by SQL: their natural-order keys.
        crate::models::datasets::fill_sort_keys(c)?;
        Ok(())
    })
    .map_err(|e| e.0)?;
    // Fresh statistics, so the planners see 20,000 accounts rather than an empty table
    // (PostgreSQL otherwise joins by scanning until autovacuum catches up); on PostgreSQL
    // also the vacuum that autovacuum would otherwise run while the demo is being used.
    let settle = if db.backend.is_sqlite() {
        "ANALYZE"
    } else {
        "VACUUM ANALYZE"
    };
    diesel::sql_query(settle)
        .execute(&mut *conn as &mut DbConn)
        .map_err(|e| format!("{settle} failed: {e}"))?;
    Ok(format!(
        "seeded {users} users, {} organizations (bigorg has {} members), {} datasets, about {} collaborators in {:.1}s\n\
         log in as user1 / {DEMO_PASSWORD} (administrator of bigorg)",
        s.orgs,
        s.big_org_members.min(users),
        s.datasets,
        (s.datasets * 4 / 5) * s.collaborators_per_dataset + s.datasets / 5,
        started.elapsed().as_secs_f64()
    ))
}

fn fill(c: &mut DbConn, s: &Scale, users: i64, hash: &str) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    let orgs = s.orgs.max(1);
    // Users: user1..userN.
    diesel::sql_query(format!(
        "{SEQ} INSERT INTO accounts (username, username_key, kind, display_name, created_at) \
         SELECT 'user' || i, 'user' || i, 'user', 'Demo User ' || i, $2 FROM n"
    ))
    .bind::<BigInt, _>(users)
    .bind::<Timestamp, _>(now)
    .execute(c)?;
    let user0 = min_id(c, "SELECT MIN(id) AS id FROM accounts WHERE kind = 'user'")? - 1;
    diesel::sql_query(
        // Demo addresses count as verified (no banner on every page of the demo).
        "INSERT INTO users (id, email, email_key, password_hash, password_changed_at, email_verified_at) \
         SELECT id, username_key || '@example.com', username_key || '@example.com', $1, $2, $2 FROM accounts WHERE kind = 'user'",
    )
    .bind::<Text, _>(hash)
    .bind::<Timestamp, _>(now)
    .execute(c)?;
    // Organizations: bigorg, then org2..orgN.
    diesel::sql_query(format!(
        "{SEQ} INSERT INTO accounts (username, username_key, kind, display_name, created_at) \
         SELECT CASE WHEN i = 1 THEN 'bigorg' ELSE 'org' || i END, CASE WHEN i = 1 THEN 'bigorg' ELSE 'org' || i END, \
         'org', CASE WHEN i = 1 THEN 'Big Organization' ELSE 'Organization ' || i END, $2 FROM n"
    ))
    .bind::<BigInt, _>(orgs)
    .bind::<Timestamp, _>(now)
    .execute(c)?;
    let org0 = min_id(c, "SELECT MIN(id) AS id FROM accounts WHERE kind = 'org'")? - 1;
    diesel::sql_query(
        "INSERT INTO organizations (id, description, contact_email, created_by) \
         SELECT id, 'Demo organization for trying Colabel at scale.', '', $1 FROM accounts WHERE kind = 'org'",
    )
    .bind::<Integer, _>((user0 + 1) as i32)
    .execute(c)?;
    // bigorg: users 1..M, user1 and user2 administrators, default roles cycling.
    diesel::sql_query(format!(
        "{SEQ} INSERT INTO memberships (org_id, user_id, username_key, role, default_dataset_role, created_at) \
         SELECT $2, $3 + i, 'user' || i, CASE WHEN i <= 2 THEN 'admin' ELSE 'member' END, \
         CASE i % 6 WHEN 0 THEN NULL WHEN 1 THEN 'viewer' WHEN 2 THEN 'labeler' WHEN 3 THEN 'reviewer' WHEN 4 THEN 'labeler' ELSE 'manager' END, $4 FROM n"
    ))
    .bind::<BigInt, _>(s.big_org_members.min(users))
    .bind::<Integer, _>((org0 + 1) as i32)
    .bind::<BigInt, _>(user0)
    .bind::<Timestamp, _>(now)
    .execute(c)?;
    // Other organizations: K members each, user index ((o * 97 + k * 13) mod N) + 1, k = 0
    // the administrator.
    if orgs > 1 && s.org_members > 0 {
        diesel::sql_query(format!(
            "{SEQ}, k(j) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT j + 1 FROM k WHERE j + 1 < $2) \
             INSERT INTO memberships (org_id, user_id, username_key, role, default_dataset_role, created_at) \
             SELECT $3 + i, $4 + ((i * 97 + j * 13) % $5) + 1, 'user' || (((i * 97 + j * 13) % $5) + 1), \
             CASE WHEN j = 0 THEN 'admin' ELSE 'member' END, CASE j % 4 WHEN 0 THEN NULL WHEN 1 THEN 'labeler' WHEN 2 THEN 'reviewer' ELSE 'viewer' END, $6 \
             FROM n CROSS JOIN k WHERE i >= 2"
        ))
        .bind::<BigInt, _>(orgs)
        .bind::<BigInt, _>(s.org_members.min(users - 1))
        .bind::<BigInt, _>(org0)
        .bind::<BigInt, _>(user0)
        .bind::<BigInt, _>(users)
        .bind::<Timestamp, _>(now)
        .execute(c)?;
    }
    // Datasets: four in five belong to organizations (round robin), the rest to users.
    let org_datasets = s.datasets * 4 / 5;
    diesel::sql_query(format!(
        "{SEQ} INSERT INTO datasets (owner_id, name, name_key, description, task_type, is_public, created_by, created_at) \
         SELECT CASE WHEN i <= $2 THEN $3 + ((i - 1) % $4) + 1 ELSE $5 + ((i - 1) % $6) + 1 END, \
         'dataset-' || i, 'dataset-' || i, 'Demo dataset ' || i, \
         CASE i % 4 WHEN 0 THEN 'bboxes' WHEN 1 THEN 'segmentation-bitmap' WHEN 2 THEN 'keypoints' ELSE 'vector' END, \
         i % 10 = 0, $5 + 1, $7 FROM n"
    ))
    .bind::<BigInt, _>(s.datasets)
    .bind::<BigInt, _>(org_datasets)
    .bind::<BigInt, _>(org0)
    .bind::<BigInt, _>(orgs)
    .bind::<BigInt, _>(user0)
    .bind::<BigInt, _>(users)
    .bind::<Timestamp, _>(now)
    .execute(c)?;
    // Collaborators: each organization dataset gets its organization's first members
    // (the same formula as above; bigorg's are users 98, 111, ...), each user dataset its owner.
    diesel::sql_query(
        "WITH RECURSIVE k(j) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT j + 1 FROM k WHERE j + 1 < $1) \
         INSERT INTO collaborators (dataset_id, user_id, role, created_at) \
         SELECT d.id, $2 + ((((d.owner_id - $3) * 97) + j * 13) % $4) + 1, \
         CASE j % 4 WHEN 0 THEN 'admin' WHEN 1 THEN 'labeler' WHEN 2 THEN 'reviewer' ELSE 'viewer' END, $5 \
         FROM datasets d CROSS JOIN k WHERE d.owner_id > $3 AND d.owner_id <= $3 + $6",
    )
    .bind::<BigInt, _>(s.collaborators_per_dataset.min(s.org_members.max(1)))
    .bind::<BigInt, _>(user0)
    .bind::<BigInt, _>(org0)
    .bind::<BigInt, _>(users)
    .bind::<Timestamp, _>(now)
    .bind::<BigInt, _>(orgs)
    .execute(c)?;
    diesel::sql_query(
        "INSERT INTO collaborators (dataset_id, user_id, role, created_at) \
         SELECT id, owner_id, 'admin', $1 FROM datasets WHERE owner_id <= $2",
    )
    .bind::<Timestamp, _>(now)
    .bind::<BigInt, _>(user0 + users)
    .execute(c)?;
    Ok(())
}
