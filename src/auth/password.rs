//! Password hashing with bcrypt on a few dedicated threads of their own, at a lower CPU
//! priority, each resting as long as a hash took before taking the next one while logins are
//! queued: a burst of logins waits its turn instead of taking every core away from the pages
//! (issue 7: pages keep their latency while 16 clients log in continuously).
//!
//! Why the rest: a priority (nice) orders threads only within one scheduling group, and the
//! kernel may put the database server in another; `perf sched` showed a PostgreSQL backend
//! waiting 145 ms for the core a hashing thread held. Resting caps each hashing thread at
//! half a core, whatever the scheduler does (org page p99 under logins, PostgreSQL: 14-1,040
//! ms without, 12-35 ms in 6 of 7 rounds with). A login that finds a thread idle is never
//! delayed; only queued ones wait for the rest.
//!
//! Two lanes (issue 13): a check from an address with no other attempt pending or failed
//! ([`Lane::Clean`]) is taken before every queued check of the [`Lane::Suspect`] lane, so a
//! flood of guesses from one address does not delay everyone else's login.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::oneshot;

use crate::domain::names::MAX_PASSWORD_BYTES;

/// Why a hash could not be computed.
#[derive(Debug)]
pub enum HashError {
    /// Too many hashes are queued: the caller should try again in a moment.
    Busy,
    Failed(String),
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashError::Busy => f.write_str("the password hashing queue is full"),
            HashError::Failed(m) => write!(f, "password hashing: {m}"),
        }
    }
}

/// Hash requests that may wait for a thread in each lane; beyond this, logins answer 503.
const QUEUE: usize = 256;

/// The niceness of the hashing threads (pages run at 0).
const NICENESS: i32 = 10;

/// Which queue a password check waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Served first: new hashes (sign-up, a new password) and checks from an address with no
    /// other attempt in its throttle window.
    Clean,
    /// Served when the clean lane is empty: checks from an address that has tried before.
    Suspect,
}

enum Job {
    Hash(String, oneshot::Sender<Result<String, String>>),
    Verify(String, String, oneshot::Sender<bool>),
}

#[derive(Default)]
struct Lanes {
    clean: VecDeque<Job>,
    suspect: VecDeque<Job>,
    /// Every `Hasher` is gone: the threads end.
    closed: bool,
}

impl Lanes {
    fn next(&mut self) -> Option<Job> {
        self.clean.pop_front().or_else(|| self.suspect.pop_front())
    }

    fn is_empty(&self) -> bool {
        self.clean.is_empty() && self.suspect.is_empty()
    }
}

struct Queue {
    lanes: Mutex<Lanes>,
    ready: Condvar,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Lanes> {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Closes the queue when the last `Hasher` is dropped.
struct Handle(Arc<Queue>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.ready.notify_all();
    }
}

#[derive(Clone)]
pub struct Hasher {
    queue: Arc<Handle>,
    /// A hash of a random password at the same cost: verifying against it makes a login for
    /// an unknown account take as long as one with a wrong password.
    dummy: Arc<String>,
    /// How many passwords were checked (bcrypt verifications run), for tests and metrics.
    verified: Arc<AtomicU64>,
    /// How many times a hashing thread rested because work was queued.
    rests: Arc<AtomicU64>,
}

impl Hasher {
    /// Starts `threads` hashing threads at cost `cost`.
    pub fn new(cost: u32, threads: usize) -> Result<Self, bcrypt::BcryptError> {
        let dummy = bcrypt::hash(crate::auth::random_token(24), cost)?;
        let queue = Arc::new(Queue {
            lanes: Mutex::new(Lanes::default()),
            ready: Condvar::new(),
        });
        let verified = Arc::new(AtomicU64::new(0));
        let rests = Arc::new(AtomicU64::new(0));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let counter = verified.clone();
            let rested = rests.clone();
            std::thread::Builder::new()
                .name(format!("bcrypt-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = {
                            let mut lanes = queue.lock();
                            loop {
                                if let Some(job) = lanes.next() {
                                    break job;
                                }
                                if lanes.closed {
                                    return;
                                }
                                lanes = queue.ready.wait(lanes).unwrap_or_else(|e| e.into_inner());
                            }
                        };
                        let started = std::time::Instant::now();
                        let answer: Box<dyn FnOnce()> = match job {
                            Job::Hash(password, reply) => {
                                let hashed =
                                    bcrypt::hash(password, cost).map_err(|e| e.to_string());
                                Box::new(move || {
                                    let _ = reply.send(hashed);
                                })
                            }
                            Job::Verify(password, hash, reply) => {
                                let ok = bcrypt::verify(password, &hash).unwrap_or(false);
                                counter.fetch_add(1, Ordering::Relaxed);
                                Box::new(move || {
                                    let _ = reply.send(ok);
                                })
                            }
                        };
                        // Logins were piling up while this hash ran: rest as long as it took,
                        // then take the next one (a clean one that came meanwhile goes first).
                        // Decided before answering, so the answer's own follow-up is not
                        // counted as queued. A login that finds the thread idle never waits.
                        let queued = !queue.lock().is_empty();
                        if queued {
                            rested.fetch_add(1, Ordering::Relaxed);
                        }
                        answer();
                        if queued {
                            std::thread::sleep(started.elapsed());
                        }
                    }
                })
                .expect("spawn a hashing thread");
        }
        Ok(Hasher {
            queue: Arc::new(Handle(queue)),
            dummy: Arc::new(dummy),
            verified,
            rests,
        })
    }

    /// How many times a hashing thread has rested between two hashes.
    pub fn rests(&self) -> u64 {
        self.rests.load(Ordering::Relaxed)
    }

    /// How many passwords have been checked so far.
    pub fn verifications(&self) -> u64 {
        self.verified.load(Ordering::Relaxed)
    }

    fn submit(&self, job: Job, lane: Lane) -> Result<(), HashError> {
        let queue = &self.queue.0;
        let mut lanes = queue.lock();
        let waiting = match lane {
            Lane::Clean => &mut lanes.clean,
            Lane::Suspect => &mut lanes.suspect,
        };
        if waiting.len() >= QUEUE {
            return Err(HashError::Busy);
        }
        waiting.push_back(job);
        drop(lanes);
        queue.ready.notify_one();
        Ok(())
    }

    /// Hashes a new password (in the clean lane).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash(password, reply), Lane::Clean)?;
        answer
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?
            .map_err(HashError::Failed)
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there is no
    /// account, in `lane`. Callers count the attempt first (`app::attempts`).
    pub async fn verify(
        &self,
        password: String,
        hash: Option<String>,
        lane: Lane,
    ) -> Result<bool, HashError> {
        // bcrypt reads 72 bytes; a longer password was never accepted, so it never matches
        // (checking it would silently compare only its first 72 bytes).
        let found = hash.is_some() && password.len() <= MAX_PASSWORD_BYTES;
        let hash = hash.unwrap_or_else(|| self.dummy.as_str().to_owned());
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify(password, hash, reply), lane)?;
        let ok = answer.await.map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(found && ok)
    }
}

/// Lowers the calling thread's CPU priority (Linux applies `setpriority` to one thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, NICENESS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// While hashes are queued, a hashing thread rests (as long as the hash took) before
    /// taking the next one; a hash that leaves the queue empty is followed by no rest, so a
    /// login that finds the thread idle starts at once. Counted, not timed: the rest is
    /// `sleep(started.elapsed())` by construction, and a timed assertion fails under load.
    #[test]
    fn a_hashing_thread_rests_only_while_work_is_queued() {
        // Cost 9 takes milliseconds; both checks are submitted within microseconds.
        let hasher = Hasher::new(9, 1).unwrap();
        let hash = bcrypt::hash("correct horse", 9).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let first = hasher.verify("correct horse".into(), Some(hash.clone()), Lane::Clean);
            let second = hasher.verify("correct horse".into(), Some(hash.clone()), Lane::Clean);
            let (a, b) = tokio::join!(first, second);
            assert!(a.unwrap() && b.unwrap());
            assert_eq!(
                hasher.rests(),
                1,
                "one rest between two queued hashes, none after"
            );
            assert!(hasher
                .verify("correct horse".into(), Some(hash.clone()), Lane::Clean)
                .await
                .unwrap());
            assert_eq!(
                hasher.rests(),
                1,
                "a lone hash is neither delayed nor followed by a rest"
            );
        });
    }

    /// A check in the clean lane is served before every queued check of the suspect lane.
    #[test]
    fn the_clean_lane_goes_first() {
        let hasher = Hasher::new(6, 1).unwrap();
        let hash = bcrypt::hash("correct horse", 6).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let order = std::sync::Mutex::new(Vec::new());
            let check = |name: &'static str, lane: Lane| {
                let (hasher, hash, order) = (&hasher, hash.clone(), &order);
                async move {
                    hasher.verify("x".into(), Some(hash), lane).await.unwrap();
                    order.lock().unwrap().push(name);
                }
            };
            let flood = futures_util::future::join_all(
                ["s1", "s2", "s3", "s4"].map(|n| check(n, Lane::Suspect)),
            );
            // Submitted after the four suspect checks, while the first one runs.
            let clean = async {
                tokio::task::yield_now().await;
                check("clean", Lane::Clean).await
            };
            tokio::join!(flood, clean);
            let order = order.into_inner().unwrap();
            let at = order.iter().position(|n| *n == "clean").unwrap();
            assert!(at <= 1, "served in this order: {order:?}");
        });
    }
}
