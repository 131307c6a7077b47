//! A real load balancer (issue 13, item 5): Debian's nginx, started here on loopback with a
//! generated config, balancing two real Colabel processes (`process.rs`) on one PostgreSQL
//! database of their own, with one session key and `COLABEL_TRUSTED_PROXIES=127.0.0.1`.
//! Clients come from other loopback addresses (127.0.0.2, 127.0.0.3), which nginx forwards
//! as `$remote_addr`.
//!
//! PostgreSQL only (two processes on one database). Without `TEST_DATABASE_URL`, or without
//! nginx, a local run prints a note and passes; under `CI=true` both must be there.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use colabel::auth::throttle::ACCOUNT_LIMIT;
use colabel::schema::login_throttle;
use diesel::prelude::*;
use diesel::{Connection, PgConnection};
use reqwest::StatusCode;

use crate::helpers::*;
use crate::process::{Colabel, PgDatabase};

const NGINX: &str = "/usr/sbin/nginx";

/// nginx in the foreground with a config of its own in a scratch directory; stopped
/// (SIGTERM, which ends its workers too) when dropped.
struct Nginx {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Balances `upstreams` (`127.0.0.1:PORT`), round robin, from a free loopback port.
    fn start(upstreams: &[&str]) -> Nginx {
        let dir = tempfile::tempdir().expect("scratch directory");
        // Workers run as nobody when nginx starts as root: let them in.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let servers: String = upstreams
            .iter()
            .map(|u| format!("    server {u};\n"))
            .collect();
        let config = format!(
            "worker_processes 1;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
             access_log {d}/access.log;\n\
             client_body_temp_path {d}/client_body;\n\
             proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n\
             scgi_temp_path {d}/scgi;\n\
             upstream colabel {{\n{servers}    keepalive 8;\n}}\n\
             server {{\n\
               listen 127.0.0.1:{port};\n\
               location / {{\n\
                 proxy_pass http://colabel;\n\
                 proxy_http_version 1.1;\n\
                 proxy_set_header Connection \"\";\n\
                 proxy_set_header Host $host;\n\
                 proxy_set_header X-Forwarded-For $remote_addr;\n\
                 proxy_set_header X-Forwarded-Proto $scheme;\n\
                 proxy_set_header X-Forwarded-Host $http_host;\n\
               }}\n\
             }}\n\
             }}\n"
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(NGINX)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {port}: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        Nginx {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SAFETY: kill only reads its integer arguments; the pid is our child's.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
        if let Ok(errors) = std::fs::read_to_string(self.dir.path().join("error.log")) {
            if !errors.trim().is_empty() {
                eprintln!("nginx error log:\n{errors}");
            }
        }
    }
}

/// Whether nginx is here; under `CI=true` it must be.
fn nginx_available() -> bool {
    if std::path::Path::new(NGINX).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {NGINX} is missing (.ci/run installs Debian's nginx)");
    }
    eprintln!("note: {NGINX} is missing; the load-balancer test was skipped");
    false
}

/// A browser through nginx from loopback address `ip`, sending our own `Origin` with every
/// request as a browser does with a form.
fn client(nginx: &Nginx, ip: &str) -> Browser {
    let ip: std::net::IpAddr = ip.parse().unwrap();
    let origin = reqwest::header::HeaderValue::from_str(&nginx.base).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", origin);
    Browser::configured(&nginx.base, |c| {
        c.local_address(ip).default_headers(headers)
    })
}

/// One client's requests through the balancer, each with the instance that served it (read
/// from the instances' request logs, which name the client by its forwarded address).
struct Walk<'a> {
    b: Browser,
    ip: &'static str,
    instances: [&'a Colabel; 2],
    served: Vec<usize>,
}

/// An answer: status, `Location`, body.
struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

impl<'a> Walk<'a> {
    fn new(nginx: &Nginx, ip: &'static str, instances: [&'a Colabel; 2]) -> Self {
        Walk {
            b: client(nginx, ip),
            ip,
            instances,
            served: Vec::new(),
        }
    }

    /// GET `path`, or POST `form` with `token` to it; nothing else is sent.
    async fn send(&mut self, path: &str, form: Option<(&[(&str, &str)], &str)>) -> Answer {
        let marks = [self.instances[0].mark(), self.instances[1].mark()];
        let (method, res) = match form {
            None => ("GET", self.b.get(path).await),
            Some((fields, token)) => {
                let mut all = fields.to_vec();
                all.push(("csrf_token", token));
                (
                    "POST",
                    self.b
                        .post_raw(path, serde_urlencoded::to_string(&all).unwrap())
                        .await,
                )
            }
        };
        let needle = format!(" {} \"{method} {path} HTTP/1.1\"", self.ip);
        let deadline = Instant::now() + Duration::from_secs(5);
        let by = loop {
            if let Some(i) = (0..2).find(|i| {
                self.instances[*i]
                    .lines_after(marks[*i])
                    .iter()
                    .any(|l| l.contains(&needle))
            }) {
                break i;
            }
            assert!(Instant::now() < deadline, "no instance logged{needle}");
            std::thread::sleep(Duration::from_millis(5));
        };
        self.served.push(by);
        let (status, location) = (res.status(), location(&res));
        Answer {
            status,
            location,
            body: res.text().await.unwrap(),
        }
    }

    /// The CSRF token of the form on `path`.
    async fn token(&mut self, path: &str) -> String {
        let page = self.send(path, None).await;
        assert_eq!(page.status, StatusCode::OK, "GET {path}");
        extract_token(&page.body).expect("a form")
    }
}

#[actix_web::test]
async fn two_instances_behind_nginx_share_sessions_and_the_throttle() {
    let Some(admin) = postgres_url() else { return };
    if !nginx_available() {
        return;
    }
    let db = PgDatabase::create(&admin, "balancer");
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("COLABEL_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    // One after the other: the first applies the migrations.
    let one = Colabel::start(&env);
    let two = Colabel::start(&env);
    let upstreams = [
        one.base().trim_start_matches("http://").to_string(),
        two.base().trim_start_matches("http://").to_string(),
    ];
    let nginx = Nginx::start(&[&upstreams[0], &upstreams[1]]);
    let instances: [&Colabel; 2] = [&one, &two];

    // ---- Sign up, log in, create an organization and a dataset, across both ----
    let mut alice = Walk::new(&nginx, "127.0.0.2", instances);
    let signup = [
        ("username", "alice"),
        ("email", "alice@example.com"),
        ("password", PASSWORD),
    ];
    let token = alice.token("/signup").await;
    assert_eq!(
        alice
            .send("/signup", Some((&signup, &token)))
            .await
            .location,
        "/"
    );
    let token = alice.token("/").await; // the logout form of the signed-in page
    assert_eq!(
        alice.send("/logout", Some((&[], &token))).await.status,
        StatusCode::SEE_OTHER
    );
    let token = alice.token("/login").await;
    let login = [("login", "alice"), ("password", PASSWORD)];
    assert_eq!(
        alice.send("/login", Some((&login, &token))).await.location,
        "/"
    );
    let home = alice.send("/", None).await;
    assert!(home.body.contains("Signed in as <strong>alice</strong>"));
    let token = extract_token(&home.body).unwrap();
    let org = [("username", "acme"), ("display_name", "Acme")];
    assert_eq!(
        alice
            .send("/organizations", Some((&org, &token)))
            .await
            .location,
        "/acme"
    );
    let dataset = [
        ("owner", "acme"),
        ("name", "cats"),
        ("task_type", "bboxes"),
        ("visibility", "private"),
    ];
    assert_eq!(
        alice
            .send("/datasets", Some((&dataset, &token)))
            .await
            .location,
        "/acme/cats"
    );
    let page = alice.send("/acme/cats", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("cats"));
    let served = alice.served.clone();
    eprintln!("the walk was served by instances {served:?}");
    assert!(
        served.windows(2).all(|w| w[0] != w[1]),
        "every request went to the other instance than the one before: {served:?}"
    );
    let alice = alice.b;

    // ---- Logout through the balancer ends the session on both instances ----
    let cookie = alice.cookie();
    for base in [one.base(), two.base()] {
        assert!(
            Browser::with_cookie(base, &cookie)
                .page("/")
                .await
                .1
                .contains("Signed in as"),
            "the session holds on {base}"
        );
    }
    let mut walk = Walk {
        b: alice,
        ip: "127.0.0.2",
        instances,
        served: Vec::new(),
    };
    let token = walk.token("/").await;
    assert_eq!(
        walk.send("/logout", Some((&[], &token))).await.status,
        StatusCode::SEE_OTHER
    );
    let other = instances[1 - walk.served[1]].base();
    assert!(
        !Browser::with_cookie(other, &cookie)
            .page("/")
            .await
            .1
            .contains("Signed in as"),
        "logged out on {other} too"
    );

    // ---- The throttle counts one client's failures on both instances ----
    let mut mallory = Walk::new(&nginx, "127.0.0.3", instances);
    let token = mallory.token("/login").await;
    for _ in 0..ACCOUNT_LIMIT {
        let guess = [("login", "alice"), ("password", "wrong password")];
        assert_eq!(
            mallory.send("/login", Some((&guess, &token))).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let served = &mallory.served[1..];
    assert!(
        served.contains(&0) && served.contains(&1),
        "failures on both instances: {served:?}"
    );
    let right = [("login", "alice"), ("password", PASSWORD)];
    assert_eq!(
        mallory.send("/login", Some((&right, &token))).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // nginx replaces what the client says it is.
    let liar = Browser::configured(&nginx.base, |c| {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-forwarded-for", "127.0.0.2".parse().unwrap());
        h.insert("origin", nginx.base.parse().unwrap());
        c.local_address("127.0.0.3".parse::<std::net::IpAddr>().unwrap())
            .default_headers(h)
    });
    assert_eq!(
        liar.login("alice", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Meanwhile alice, from her own address, logs in.
    let alice = client(&nginx, "127.0.0.2");
    assert_redirect(&alice.login("alice", PASSWORD).await, "/");

    // ---- A spoofed X-Forwarded-For sent straight to an instance is ignored ----
    let direct = Browser::configured(one.base(), |c| {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-forwarded-for", "198.51.100.77".parse().unwrap());
        c.local_address("127.0.0.3".parse::<std::net::IpAddr>().unwrap())
            .default_headers(h)
    });
    let m = one.mark();
    assert_eq!(
        direct.login("alice", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "still 127.0.0.3"
    );
    assert_eq!(
        direct.login("nobody", "wrong password").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(one
        .lines_after(m)
        .iter()
        .any(|l| l.contains(" 127.0.0.3 \"POST /login")));
    assert!(!one
        .lines_after(m)
        .iter()
        .any(|l| l.contains("198.51.100.77")));

    let mut c = PgConnection::establish(&db.url).unwrap();
    let keys: Vec<String> = login_throttle::table
        .select(login_throttle::scope_key)
        .load(&mut c)
        .unwrap();
    assert!(
        keys.iter().any(|k| k.ends_with("|ip:127.0.0.3")),
        "{keys:?}"
    );
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("127.0.0.1") || k.contains("198.51.100.77")),
        "nothing counted for the balancer or the spoofed address: {keys:?}"
    );
}
