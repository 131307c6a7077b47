//! The durable job queue: the one mechanism for work done after a request (email now,
//! webhook deliveries next). A use case queues a [`Job`] with [`enqueue`] inside its write
//! transaction (an outbox: the job exists if and only if the change committed); the
//! [`worker`] of every instance claims due jobs, runs them, retries failures with
//! exponential backoff and finally marks them failed. A job claimed by an instance that dies
//! is claimed again when its lease ends, so it runs at least once.

pub mod webhook;
pub mod worker;

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::DbConn;
use crate::mail::Email;
use crate::models::jobs as rows;

/// Attempts at one webhook delivery before it is marked failed (4xx answers are not retried).
pub const WEBHOOK_MAX_ATTEMPTS: i32 = 8;

/// A kind of job and its payload (stored as the kind's name and JSON).
#[derive(Clone, Debug)]
pub enum Job {
    /// Deliver one message.
    Email(Email),
    /// Send one webhook delivery (`models::webhooks`); its jobs are queued by SQL, as
    /// `{"delivery": id}`.
    Webhook(WebhookJob),
}

/// The payload of a webhook job.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WebhookJob {
    pub delivery: i32,
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Email(_) => "email",
            Job::Webhook(_) => "webhook",
        }
    }

    fn payload(&self) -> String {
        match self {
            Job::Email(e) => serde_json::to_string(e).expect("an email serializes"),
            Job::Webhook(w) => serde_json::to_string(w).expect("a delivery serializes"),
        }
    }

    /// Reads a stored job back; `None` for a kind or payload this build does not know.
    pub fn parse(kind: &str, payload: &str) -> Option<Job> {
        match kind {
            "email" => serde_json::from_str(payload).ok().map(Job::Email),
            "webhook" => serde_json::from_str(payload).ok().map(Job::Webhook),
            _ => None,
        }
    }

    /// What is kept once the job is finished: nothing secret (a message's links).
    pub fn redacted(&self) -> String {
        match self {
            Job::Email(e) => serde_json::to_string(&e.redacted()).expect("an email serializes"),
            Job::Webhook(w) => serde_json::to_string(w).expect("a delivery serializes"),
        }
    }
}

/// Queues `job` in the caller's transaction, due now; returns its id.
pub fn enqueue(
    conn: &mut DbConn,
    job: &Job,
    max_attempts: i32,
    now: NaiveDateTime,
) -> QueryResult<i32> {
    rows::insert(conn, job.kind(), &job.payload(), max_attempts, now)
}

/// The wait before attempt `attempt + 1` after `attempt` failed: `base`, doubled for every
/// earlier failure, at most `max`.
pub fn backoff(attempt: i32, base: Duration, max: Duration) -> Duration {
    let doublings = attempt.saturating_sub(1).clamp(0, 30) as u32;
    base.saturating_mul(1u32 << doublings).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_limit() {
        let (base, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        let waits: Vec<u64> = (1..=9).map(|a| backoff(a, base, max).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(1000, base, max), max);
    }

    #[test]
    fn payloads_round_trip_and_redact() {
        let job = Job::Email(Email {
            to: "a@example.com".into(),
            subject: "s".into(),
            text: "link?token=secret".into(),
            html: "<a href=x?token=secret>".into(),
            kind: "invitation".into(),
        });
        let back = Job::parse(job.kind(), &job.payload()).unwrap();
        assert!(matches!(back, Job::Email(ref e) if e.text.contains("secret")));
        assert!(!job.redacted().contains("secret"));
    }
}
