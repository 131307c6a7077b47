//! The job worker of one instance: a thread of its own (never an async worker) with its own
//! small pool, so that its polls neither wait behind pages nor count as theirs. It claims one
//! due job at a time, runs it, and records the outcome; between jobs it sleeps for the poll
//! interval, and now and then it does the queue's housekeeping (expired invitations, old
//! jobs and links). [`Worker::stop`] ends it between two jobs; dropping the handle asks it
//! to stop too.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};

use crate::config::{JobSettings, WebhookSettings};
use crate::db::{write_tx, Db};
use crate::jobs::webhook::Sent;
use crate::jobs::{backoff, Job};
use crate::mail::Transport;
use crate::models::jobs::{self as rows, Claim, JobRow, JobStatus};

/// How long finished jobs stay in the table (failed ones show on their pages meanwhile).
const KEEP_FINISHED_DAYS: i64 = 14;

#[derive(Default)]
struct Signal {
    stopping: Mutex<bool>,
    changed: Condvar,
}

impl Signal {
    fn stop(&self) {
        *self.stopping.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.changed.notify_all();
    }

    fn stopping(&self) -> bool {
        *self.stopping.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps up to `d`; `true` when asked to stop.
    fn sleep(&self, d: Duration) -> bool {
        let guard = self.stopping.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, d, |stop| !*stop)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// The running worker.
pub struct Worker {
    signal: Arc<Signal>,
    thread: Option<JoinHandle<()>>,
}

/// What the worker needs.
pub struct Context {
    pub db: Db,
    pub transport: Transport,
    pub settings: JobSettings,
    pub webhooks: WebhookSettings,
}

impl Worker {
    /// Starts the worker thread.
    pub fn start(cx: Context) -> std::io::Result<Worker> {
        let signal = Arc::new(Signal::default());
        let s = signal.clone();
        let thread = std::thread::Builder::new()
            .name("colabel-jobs".into())
            .spawn(move || run(cx, &s))?;
        Ok(Worker {
            signal,
            thread: Some(thread),
        })
    }

    /// Asks the worker to stop after the job it is running (if any).
    pub fn stop(&self) {
        self.signal.stop();
    }

    /// Stops the worker and waits for its thread (at most one delivery's time).
    pub fn stop_and_join(mut self) {
        self.signal.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.signal.stop();
    }
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::milliseconds(d.as_millis().min(i64::MAX as u128) as i64)
}

fn run(cx: Context, signal: &Signal) {
    // Built here: reqwest's blocking client must not be made or dropped on an async runtime.
    let http = match crate::jobs::webhook::client(&cx.webhooks) {
        Ok(c) => Some(c),
        Err(e) => {
            log::error!("jobs: {e}; webhook deliveries wait");
            None
        }
    };
    // Unique per start: a job's `locked_by`, so that a worker whose lease ended cannot
    // record an outcome over the one that claimed the job after it.
    let me = format!("{}:{}", std::process::id(), crate::auth::random_token(12));
    let housekeeping_every = (cx.settings.poll * 60).min(Duration::from_secs(60));
    let mut next_housekeeping = Instant::now();
    let mut failing_since: Option<Instant> = None;
    while !signal.stopping() {
        if Instant::now() >= next_housekeeping {
            housekeeping(&cx);
            next_housekeeping = Instant::now() + housekeeping_every;
        }
        match step(&cx, http.as_ref(), &me) {
            Ok(true) => {
                failing_since = None;
                continue;
            }
            Ok(false) => failing_since = None,
            Err(e) => {
                // Say it once per outage, not on every poll.
                if failing_since.is_none() {
                    log::warn!("jobs: cannot reach the queue: {e}");
                    failing_since = Some(Instant::now());
                }
            }
        }
        if signal.sleep(cx.settings.poll) {
            break;
        }
    }
    log::info!("jobs: the worker stopped");
}

/// Claims and runs one job; `false` when none was due.
fn step(cx: &Context, http: Option<&reqwest::blocking::Client>, me: &str) -> Result<bool, String> {
    let mut conn = cx.db.get().map_err(|e| e.to_string())?;
    let t = now();
    if !rows::any_due(&mut conn, t).map_err(|e| e.to_string())? {
        return Ok(false);
    }
    let lease_until = t + chrono_of(cx.settings.lease);
    match rows::claim(&mut conn, me, t, lease_until).map_err(|e| e.to_string())? {
        Claim::None => Ok(false),
        Claim::GaveUp(id) => {
            log::warn!("jobs: job {id} failed: the instance stopped during its last attempt");
            Ok(true)
        }
        Claim::Job(job) => {
            // The connection goes back to the pool while the job runs.
            drop(conn);
            let outcome = attempt(cx, http, &job);
            record(cx, me, &job, outcome).map_err(|e| e.to_string())?;
            Ok(true)
        }
    }
}

/// The outcome of one attempt.
enum Outcome {
    Done { redacted: String, to: String },
    Retry(String),
    Failed { error: String, redacted: String },
}

fn attempt(cx: &Context, http: Option<&reqwest::blocking::Client>, job: &JobRow) -> Outcome {
    let Some(parsed) = Job::parse(&job.kind, &job.payload) else {
        return Outcome::Failed {
            error: format!("unknown job kind {:?} or unreadable payload", job.kind),
            redacted: String::from("{}"),
        };
    };
    let redacted = parsed.redacted();
    match &parsed {
        Job::Email(email) => match cx.transport.send(email, job.id) {
            Ok(to) => Outcome::Done {
                redacted,
                to: format!("{} ({}) to {} via {to}", job.id, email.kind, email.to),
            },
            Err(e) if e.permanent => Outcome::Failed {
                error: e.message,
                redacted,
            },
            Err(e) if job.attempts >= job.max_attempts => Outcome::Failed {
                error: e.message,
                redacted,
            },
            Err(e) => Outcome::Retry(e.message),
        },
        Job::Webhook(w) => {
            let Some(http) = http else {
                return Outcome::Retry("no webhook client".into());
            };
            let last = job.attempts >= job.max_attempts;
            match crate::jobs::webhook::deliver(&cx.db, http, &cx.webhooks, w.delivery, last) {
                Ok(Sent::Done(to)) => Outcome::Done { redacted, to },
                Ok(Sent::Failed(error)) => Outcome::Failed { error, redacted },
                Ok(Sent::Retry(error)) if last => Outcome::Failed { error, redacted },
                Ok(Sent::Retry(error)) => Outcome::Retry(error),
                Err(error) => Outcome::Retry(error),
            }
        }
    }
}

fn record(cx: &Context, me: &str, job: &JobRow, outcome: Outcome) -> diesel::QueryResult<()> {
    let mut conn = cx.db.get().map_err(|e| {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            Box::new(e.to_string()),
        )
    })?;
    let t = now();
    let (id, attempt) = (job.id, job.attempts);
    let kept = match &outcome {
        Outcome::Done { redacted, to } => {
            let kept = rows::finish(&mut conn, id, me, JobStatus::Done, "", redacted, t)?;
            if kept {
                log::info!("jobs: delivered job {to} (attempt {attempt})");
            }
            kept
        }
        Outcome::Failed { error, redacted } => {
            let kept = rows::finish(&mut conn, id, me, JobStatus::Failed, error, redacted, t)?;
            if kept {
                log::warn!(
                    "jobs: job {id} ({}) failed after attempt {attempt}: {error}",
                    job.kind
                );
            }
            kept
        }
        Outcome::Retry(error) => {
            let wait = backoff(attempt, cx.settings.retry_base, cx.settings.retry_max);
            let kept = rows::retry_at(&mut conn, id, me, error, t + chrono_of(wait))?;
            if kept {
                log::warn!(
                    "jobs: job {id} ({}) attempt {attempt} of {} failed, next in {:.1}s: {error}",
                    job.kind,
                    job.max_attempts,
                    wait.as_secs_f64()
                );
            }
            kept
        }
    };
    if !kept {
        log::warn!("jobs: job {id}'s lease ended before attempt {attempt} finished; another worker owns it now");
    }
    Ok(())
}

/// Expires invitations past their end (with their audit events), and deletes finished jobs,
/// used links and throttle counters that are no longer needed.
fn housekeeping(cx: &Context) {
    let result = (|| -> Result<(), crate::app::DomainError> {
        let mut conn = cx.db.get()?;
        let expired = write_tx(&mut conn, crate::app::invitations::expire_due)?;
        if expired > 0 {
            log::info!("jobs: {expired} invitation(s) expired");
        }
        let t = now();
        rows::delete_finished_before(&mut conn, t - chrono::Duration::days(KEEP_FINISHED_DAYS))?;
        crate::models::email_tokens::delete_expired(&mut conn, t - chrono::Duration::days(1))?;
        crate::models::mail_limits::delete_stale(&mut conn, t - chrono::Duration::days(1))?;
        Ok(())
    })();
    if let Err(e) = result {
        log::warn!("jobs: housekeeping: {e}");
    }
}
