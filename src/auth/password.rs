//! Password hashing with bcrypt on a few dedicated threads of their own, at a lower CPU
//! priority: a burst of logins waits its turn instead of taking every core away from the
//! pages (issue 7: pages keep their latency while 16 clients log in continuously).

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::errors::AppError;

/// Shortest and longest accepted password, in bytes (bcrypt reads at most 72).
pub const MIN_PASSWORD_BYTES: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Hash requests that may wait for a thread; beyond this, logins answer 503 at once.
const QUEUE: usize = 256;

/// The niceness of the hashing threads (pages run at 0).
const NICENESS: i32 = 10;

/// Checks a new password's length; returns the message to show beside the field.
pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    if password.len() < MIN_PASSWORD_BYTES {
        Err("Use at least 8 characters.")
    } else if password.len() > MAX_PASSWORD_BYTES {
        Err("Use at most 72 bytes (bcrypt cannot use more; it is never cut silently).")
    } else {
        Ok(())
    }
}

enum Job {
    Hash(String, oneshot::Sender<Result<String, String>>),
    Verify(String, String, oneshot::Sender<bool>),
}

#[derive(Clone)]
pub struct Hasher {
    jobs: SyncSender<Job>,
    /// A hash of a random password at the same cost: verifying against it makes a login for
    /// an unknown account take as long as one with a wrong password.
    dummy: Arc<String>,
}

impl Hasher {
    /// Starts `threads` hashing threads at cost `cost`.
    pub fn new(cost: u32, threads: usize) -> Result<Self, bcrypt::BcryptError> {
        let dummy = bcrypt::hash(crate::auth::random_token(24), cost)?;
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("bcrypt-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(Job::Hash(password, reply)) => {
                                let _ = reply
                                    .send(bcrypt::hash(password, cost).map_err(|e| e.to_string()));
                            }
                            Ok(Job::Verify(password, hash, reply)) => {
                                let _ =
                                    reply.send(bcrypt::verify(password, &hash).unwrap_or(false));
                            }
                            // Every Hasher is gone: the application is stopping.
                            Err(_) => return,
                        }
                    }
                })
                .expect("spawn a hashing thread");
        }
        Ok(Hasher {
            jobs,
            dummy: Arc::new(dummy),
        })
    }

    fn submit(&self, job: Job) -> Result<(), AppError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => {
                log::warn!("password hashing queue is full; refusing a login");
                AppError::Unavailable
            }
            TrySendError::Disconnected(_) => AppError::internal("hashing threads stopped"),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash(password, reply))?;
        answer
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there is no account.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        // bcrypt reads 72 bytes; a longer password was never accepted, so it never matches
        // (checking it would silently compare only its first 72 bytes).
        let found = hash.is_some() && password.len() <= MAX_PASSWORD_BYTES;
        let hash = hash.unwrap_or_else(|| self.dummy.as_str().to_owned());
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify(password, hash, reply))?;
        let ok = answer.await.map_err(AppError::internal)?;
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
