//! A real SMTP server for the tests: `tests/smtp_sink.py` (Python's aiosmtpd, pinned in
//! `tests/requirements.txt`) on a free loopback port, started with the interpreter that
//! `TEST_PYTHON` names (`.ci/run` makes a virtual environment and sets it). Without
//! `TEST_PYTHON` a local run prints a note and the test skips; under `CI=true` it fails.
//!
//! Every message the sink accepts is a JSON file in its folder ([`Received`]); how it
//! answers the next messages is set with [`SmtpSink::set_mode`].

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// The interpreter for the Python test tools, or `None` (with a note) when a local run has
/// none. Under `CI=true` a missing `TEST_PYTHON` fails the test.
pub fn test_python() -> Option<String> {
    match std::env::var("TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but TEST_PYTHON is not set: the SMTP tests cannot be skipped in CI (.ci/run sets it)");
            }
            eprintln!("note: TEST_PYTHON is not set (a Python with tests/requirements.txt installed); this SMTP test was skipped");
            None
        }
    }
}

/// A message the sink accepted: the envelope and the decoded parts.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Received {
    /// The first link in the text part that starts with `prefix` (e.g.
    /// `http://127.0.0.1:PORT/invitation?token=`).
    pub fn link(&self, prefix: &str) -> Option<String> {
        let at = self.text.find(prefix)?;
        let rest = &self.text[at..];
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        Some(rest[..end].to_string())
    }

    /// The path and query of the first link to `path` (`/invitation`, ...), whatever the
    /// origin.
    pub fn path_of(&self, path: &str) -> Option<String> {
        let marker = format!("{path}?token=");
        let at = self.text.find(&marker)?;
        let rest = &self.text[at..];
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        Some(rest[..end].to_string())
    }

    /// The token of the first link to `path`.
    pub fn token_of(&self, path: &str) -> Option<String> {
        let link = self.path_of(path)?;
        Some(link.split_once("token=")?.1.to_string())
    }
}

/// The running sink; stopped when dropped.
pub struct SmtpSink {
    child: Child,
    stdin: Option<ChildStdin>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink on a free port; `None` when `TEST_PYTHON` is not set locally.
    pub fn start() -> Option<SmtpSink> {
        Self::start_on(None)
    }

    /// Starts the sink on `port` (a server that comes up where one was expected).
    pub fn start_on(port: Option<u16>) -> Option<SmtpSink> {
        let python = test_python()?;
        let dir = tempfile::tempdir().expect("a folder for the sink");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut cmd = Command::new(&python);
        cmd.arg(&script).arg(dir.path());
        if let Some(port) = port {
            cmd.arg(port.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the sink's first line");
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the sink did not start: {line:?}"));
        let stdin = child.stdin.take();
        Some(SmtpSink {
            child,
            stdin,
            port,
            dir,
        })
    }

    /// `smtp://127.0.0.1:PORT`, for `COLABEL_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// How the sink answers from now on: `accept`, `4xx`, `5xx` or `hold`.
    pub fn set_mode(&self, mode: &str) {
        let path = self.dir.path().join("mode");
        let partial = self.dir.path().join("mode.partial");
        std::fs::write(&partial, mode).unwrap();
        std::fs::rename(partial, path).unwrap();
    }

    /// How many deliveries the sink is holding (in `hold` mode) or has held.
    pub fn held(&self) -> usize {
        self.files(|n| n.starts_with("held-")).len()
    }

    fn files(&self, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
            .collect();
        v.sort();
        v
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        self.files(|n| n.ends_with(".json"))
            .into_iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap())
            .collect()
    }

    /// Waits until `n` messages were accepted (polling); panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP sink received {} message(s) within {timeout:?}, expected {n}: {got:#?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the sink holds a delivery.
    pub async fn wait_held(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.held() == 0 {
            assert!(
                Instant::now() < deadline,
                "no delivery reached the sink within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages sent to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
