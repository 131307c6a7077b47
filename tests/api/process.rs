//! The real `colabel` binary as a child process, for what an in-process [`TestApp`] cannot
//! show: the process's own log, its answers when the database goes away, and running behind
//! nginx (`balancer.rs`); later, being killed with SIGKILL. [`Colabel::start`] runs it on port 0 with test
//! settings and the caller's extra environment, reads its stderr on a thread (every line is
//! kept and echoed, so a failing test shows the log) and waits for the `Colabel listening on`
//! line to learn the port. [`PgDatabase`] is a PostgreSQL database of its own for one such
//! process, dropped afterwards.
//!
//! [`TestApp`]: crate::helpers::TestApp

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// A session key of the required 64 bytes (and more).
pub const SESSION_KEY: &str =
    "a-test-session-key-for-colabel-child-processes-that-is-long-enough-0123456789";

/// How long the binary may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The log lines read so far, and whether stderr has closed (the process ended).
#[derive(Default)]
struct Log {
    lines: Vec<String>,
    closed: bool,
}

type SharedLog = Arc<(Mutex<Log>, Condvar)>;

/// A running `colabel` process; killed (SIGKILL) when dropped.
pub struct Colabel {
    child: Child,
    base: String,
    log: SharedLog,
    /// The folder of `.eml` files when the caller configured no mail.
    _mail_dir: Option<tempfile::TempDir>,
}

impl Colabel {
    /// Starts `colabel serve` with the test environment plus `env` (which wins), and waits
    /// until it listens. `env` must name `DATABASE_URL`.
    pub fn start(env: &[(&str, &str)]) -> Colabel {
        Self::start_with_args(&[], env)
    }

    /// Like [`Colabel::start`], with command-line arguments.
    pub fn start_with_args(args: &[&str], env: &[(&str, &str)]) -> Colabel {
        assert!(
            env.iter().any(|(k, _)| *k == "DATABASE_URL"),
            "Colabel::start needs a DATABASE_URL"
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_colabel"));
        cmd.args(args);
        // Nothing of the test runner's own configuration leaks into the child.
        for (name, _) in std::env::vars() {
            if name.starts_with("COLABEL_") || name == "DATABASE_URL" || name == "RUST_LOG" {
                cmd.env_remove(name);
            }
        }
        let defaults = [
            ("COLABEL_ADDR", "127.0.0.1:0"),
            ("COLABEL_SECURE_COOKIES", "false"),
            ("COLABEL_BCRYPT_COST", "4"),
            ("COLABEL_SESSION_KEY", SESSION_KEY),
            ("RUST_LOG", "info"),
        ];
        for (k, v) in defaults.iter().chain(env) {
            cmd.env(k, v);
        }
        // Messages go to a folder of the test's own unless it configured mail itself.
        let configured = |name: &str| env.iter().any(|(k, _)| *k == name);
        let mail_dir = (!configured("COLABEL_SMTP_URL") && !configured("COLABEL_MAIL_DIR"))
            .then(|| tempfile::tempdir().expect("a mail folder"));
        if let Some(dir) = &mail_dir {
            cmd.env("COLABEL_MAIL_DIR", dir.path());
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start the colabel binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let log: SharedLog = Arc::default();
        let pid = child.id();
        let reader_log = log.clone();
        // A thread spawned from the test's thread inherits its output capture, so the echo
        // shows with the test's own output.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        eprintln!("[colabel {pid}] {line}");
                        let (lock, changed) = &*reader_log;
                        lock.lock().unwrap().lines.push(line);
                        changed.notify_all();
                    }
                }
            }
            let (lock, changed) = &*reader_log;
            lock.lock().unwrap().closed = true;
            changed.notify_all();
        });
        let mut process = Colabel {
            child,
            base: String::new(),
            log,
            _mail_dir: mail_dir,
        };
        let Some(line) = process.wait_for_line(
            |l| l.contains("Colabel listening on http://"),
            START_TIMEOUT,
        ) else {
            let status = process.child.try_wait().ok().flatten();
            panic!(
                "colabel did not say it was listening within {START_TIMEOUT:?} (exit status: {status:?}); its log:\n{}",
                process.lines().join("\n")
            );
        };
        let at = line.find("http://").expect("an address");
        let base = line[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches('/');
        process.base = base.to_string();
        process
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stderr line so far.
    pub fn lines(&self) -> Vec<String> {
        self.log.0.lock().unwrap().lines.clone()
    }

    /// The number of lines so far: pass it to [`Colabel::wait_for_line_after`] to look only
    /// at what comes next.
    pub fn mark(&self) -> usize {
        self.log.0.lock().unwrap().lines.len()
    }

    /// The stderr lines after `mark`.
    pub fn lines_after(&self, mark: usize) -> Vec<String> {
        self.log.0.lock().unwrap().lines[mark..].to_vec()
    }

    /// The first line (of all so far and to come) that satisfies `predicate`, waiting up to
    /// `timeout`; `None` when none came or the process ended. Blocks the calling thread.
    pub fn wait_for_line(
        &self,
        predicate: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        self.wait_for_line_after(0, predicate, timeout)
    }

    /// Like [`Colabel::wait_for_line`], among the lines after `mark` only.
    pub fn wait_for_line_after(
        &self,
        mark: usize,
        predicate: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let (lock, changed) = &*self.log;
        let mut log = lock.lock().unwrap();
        let mut seen = mark;
        loop {
            if let Some(found) = log.lines.iter().skip(seen).find(|l| predicate(l)) {
                return Some(found.clone());
            }
            seen = log.lines.len().max(mark);
            let now = Instant::now();
            if log.closed || now >= deadline {
                return None;
            }
            log = changed.wait_timeout(log, deadline - now).unwrap().0;
        }
    }

    /// Whether the process still runs.
    #[allow(dead_code)]
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Colabel {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A PostgreSQL database of its own, created from the admin URL (a superuser, as in
/// `TEST_DATABASE_URL`) and dropped, with its connections, when this is dropped.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    /// The URL of this database.
    pub url: String,
}

impl PgDatabase {
    /// Creates `colabel_{prefix}_{pid}_{nanos}`.
    pub fn create(admin_url: &str, prefix: &str) -> PgDatabase {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("colabel_{prefix}_{}_{nanos}", std::process::id());
        let db = PgDatabase {
            admin_url: admin_url.to_string(),
            url: with_database(admin_url, &name),
            name,
        };
        db.admin(&format!("CREATE DATABASE {}", db.name));
        db
    }

    /// Runs `sql` on the admin connection; panics on failure.
    pub fn admin(&self, sql: &str) {
        let mut c = PgConnection::establish(&self.admin_url).expect("connect to the admin URL");
        c.batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The database refuses new connections and loses the ones it has, while the server
    /// keeps running (other databases are not touched).
    pub fn refuse_connections(&self) {
        self.admin(&format!(
            "ALTER DATABASE {0} WITH ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{0}'",
            self.name
        ));
    }

    pub fn allow_connections(&self) {
        self.admin(&format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
            self.name
        ));
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = PgConnection::establish(&self.admin_url) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `url` with its database name replaced by `name` (the query string is kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap();
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}
