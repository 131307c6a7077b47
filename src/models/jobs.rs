//! The job queue's rows: enqueue (inside the caller's transaction, the outbox), claim one
//! due job for a worker, and record the outcome of an attempt. Claiming differs by backend:
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that instances never take the same job and do
//! not wait for one another; on SQLite a `BEGIN IMMEDIATE` transaction, which admits one
//! claimer at a time.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
pub use crate::domain::status::JobStatus;
use crate::schema::jobs;

/// A job as its worker runs it.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: i32,
    pub kind: String,
    pub payload: String,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// A job's state as pages show it (a failed invitation email, a retry due).
#[derive(Clone, Debug)]
pub struct JobState {
    pub status: JobStatus,
    pub attempts: i32,
    pub last_error: String,
    pub run_at: NaiveDateTime,
}

/// Queues a job in the caller's transaction; returns its id.
pub fn insert(
    conn: &mut DbConn,
    kind: &str,
    payload: &str,
    max_attempts: i32,
    now: NaiveDateTime,
) -> QueryResult<i32> {
    diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq(kind),
            jobs::payload.eq(payload),
            jobs::status.eq(JobStatus::Queued),
            jobs::attempts.eq(0),
            jobs::max_attempts.eq(max_attempts),
            jobs::run_at.eq(now),
            jobs::created_at.eq(now),
        ))
        .returning(jobs::id)
        .get_result(conn)
}

/// What a claim found.
pub enum Claim {
    /// Nothing is due.
    None,
    /// This job is the caller's until `lease_until`; its attempt number is `attempts`.
    Job(JobRow),
    /// A job whose lease ended after its last allowed attempt (its worker died each time):
    /// marked failed, nothing to run.
    GaveUp(i32),
}

/// Whether any job is due (a read, so an idle poll takes no write lock).
pub fn any_due(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        jobs::table
            .filter(
                jobs::status
                    .eq(JobStatus::Queued)
                    .or(jobs::status.eq(JobStatus::Running)),
            )
            .filter(jobs::run_at.le(now)),
    ))
    .get_result(conn)
}

/// Claims the oldest due job for `worker`: a queued job whose time has come, or a running
/// one whose lease ended. It is the worker's until `lease_until`.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> QueryResult<Claim> {
    // The same statements on each backend's own connection; only the lock clause differs.
    macro_rules! claim_on {
        ($c:expr, $lock:ident) => {{
            let c = $c;
            let due = jobs::table
                .filter(
                    jobs::status
                        .eq(JobStatus::Queued)
                        .or(jobs::status.eq(JobStatus::Running)),
                )
                .filter(jobs::run_at.le(now))
                .order((jobs::run_at, jobs::id))
                .select(JobRow::as_select());
            let Some(mut job) = claim_on!(@$lock due, c)? else {
                return Ok(Claim::None);
            };
            if job.attempts >= job.max_attempts {
                diesel::update(jobs::table.find(job.id))
                    .set((
                        jobs::status.eq(JobStatus::Failed),
                        jobs::locked_by.eq(None::<String>),
                        jobs::last_error.eq("the instance stopped during the last attempt"),
                        jobs::finished_at.eq(now),
                    ))
                    .execute(c)?;
                return Ok(Claim::GaveUp(job.id));
            }
            job.attempts += 1;
            diesel::update(jobs::table.find(job.id))
                .set((
                    jobs::status.eq(JobStatus::Running),
                    jobs::locked_by.eq(worker),
                    jobs::attempts.eq(job.attempts),
                    jobs::run_at.eq(lease_until),
                ))
                .execute(c)?;
            Ok(Claim::Job(job))
        }};
        (@skip_locked $q:expr, $c:expr) => {
            $q.for_update().skip_locked().first::<JobRow>($c).optional()
        };
        (@plain $q:expr, $c:expr) => {
            $q.first::<JobRow>($c).optional()
        };
    }
    match conn {
        DbConn::Pg(c) => c.transaction(|c| claim_on!(c, skip_locked)),
        DbConn::Sqlite(c) => c.immediate_transaction(|c| claim_on!(c, plain)),
    }
}

/// The attempt succeeded: the job is done, and its payload is replaced by `redacted` (a
/// message's links carry one-time tokens, which are kept no longer than needed). `false`
/// when the job is no longer this worker's (its lease ended and another took it).
pub fn finish(
    conn: &mut DbConn,
    id: i32,
    worker: &str,
    status: JobStatus,
    error: &str,
    redacted: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::status.eq(JobStatus::Running))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set((
        jobs::status.eq(status),
        jobs::locked_by.eq(None::<String>),
        jobs::last_error.eq(error),
        jobs::payload.eq(redacted),
        jobs::finished_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// The attempt failed and another is due at `run_at`.
pub fn retry_at(
    conn: &mut DbConn,
    id: i32,
    worker: &str,
    error: &str,
    run_at: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::status.eq(JobStatus::Running))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set((
        jobs::status.eq(JobStatus::Queued),
        jobs::locked_by.eq(None::<String>),
        jobs::last_error.eq(error),
        jobs::run_at.eq(run_at),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Cancels a job that has not started (a running one goes on; its outcome stands).
pub fn cancel_queued(
    conn: &mut DbConn,
    id: i32,
    redacted: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::status.eq(JobStatus::Queued)),
    )
    .set((
        jobs::status.eq(JobStatus::Cancelled),
        jobs::payload.eq(redacted),
        jobs::finished_at.eq(now),
    ))
    .execute(conn)
    .map(drop)
}

/// Deletes finished jobs (done or cancelled) older than `before`; failed ones stay for
/// their administrators to see until the same age.
pub fn delete_finished_before(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        jobs::table
            .filter(
                jobs::status
                    .eq(JobStatus::Done)
                    .or(jobs::status.eq(JobStatus::Cancelled))
                    .or(jobs::status.eq(JobStatus::Failed)),
            )
            .filter(jobs::finished_at.lt(before)),
    )
    .execute(conn)
}

/// The state of one job.
pub fn state(conn: &mut DbConn, id: i32) -> QueryResult<Option<JobState>> {
    jobs::table
        .find(id)
        .select((jobs::status, jobs::attempts, jobs::last_error, jobs::run_at))
        .first::<(JobStatus, i32, String, NaiveDateTime)>(conn)
        .optional()
        .map(|r| {
            r.map(|(status, attempts, last_error, run_at)| JobState {
                status,
                attempts,
                last_error,
                run_at,
            })
        })
}
