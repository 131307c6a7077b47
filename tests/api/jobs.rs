//! The durable job queue with a real SMTP server, on both databases: a server that refuses
//! mail gets retries with backoff and then the failed state; a server that is down loses no
//! job; a change that rolls back queues nothing; two instances never deliver one job twice;
//! and the real binary killed with SIGKILL during a delivery delivers after the restart,
//! without a token in its log.

use std::time::Duration;

use colabel::db::Db;
use colabel::schema::jobs;
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::process::{Colabel, PgDatabase};
use crate::smtp::SmtpSink;
use crate::{db_test, mail_test};

/// (status, attempts, last_error) of every job, oldest first.
fn job_rows(db: &Db) -> Vec<(String, i32, String)> {
    let mut c = db.get().unwrap();
    jobs::table
        .order(jobs::id)
        .select((jobs::status, jobs::attempts, jobs::last_error))
        .load(&mut **c)
        .unwrap()
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

mail_test!(
    async fn a_refusing_server_gets_retries_with_backoff_then_the_failed_state(app, sink) {
        sink.set_mode("4xx");
        app.user("alice").await;
        wait_until("the job fails", MAIL_WAIT, || {
            job_rows(&app.db).first().is_some_and(|j| j.0 == "failed")
        })
        .await;
        let (status, attempts, error) = job_rows(&app.db).remove(0);
        assert_eq!((status.as_str(), attempts), ("failed", 3), "three attempts (the test setting)");
        assert!(error.contains("451"), "the server's answer is kept: {error}");
        assert!(sink.messages().is_empty());
        // A permanent refusal fails at once.
        sink.set_mode("5xx");
        app.user("bob").await;
        wait_until("the second job fails", MAIL_WAIT, || {
            job_rows(&app.db).get(1).is_some_and(|j| j.0 == "failed")
        })
        .await;
        assert_eq!(job_rows(&app.db)[1].1, 1, "no retry after a 5xx");
    }
);

/// A port where nothing listens (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn no_job_is_lost_while_the_server_is_down(backend: Backend) {
    if crate::smtp::test_python().is_none() {
        return;
    }
    let port = free_port();
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.jobs.max_attempts = 50;
        s.jobs.retry_base = Duration::from_millis(100);
        s.jobs.retry_max = Duration::from_millis(300);
    })
    .await
    else {
        return;
    };
    app.user("carol").await;
    wait_until("an attempt failed", MAIL_WAIT, || {
        job_rows(&app.db).first().is_some_and(|j| j.1 >= 2)
    })
    .await;
    let status = job_rows(&app.db)[0].0.clone();
    assert!(
        status == "queued" || status == "running",
        "it waits and retries, not {status}"
    );
    let sink = SmtpSink::start_on(Some(port)).unwrap();
    let got = sink.wait_for(1, MAIL_WAIT).await;
    assert_eq!(got[0].to, ["carol@example.com"]);
    wait_until("the job is done", MAIL_WAIT, || {
        job_rows(&app.db)[0].0 == "done"
    })
    .await;
}

mod server_down_then_up {
    #[actix_web::test]
    async fn sqlite() {
        super::no_job_is_lost_while_the_server_is_down(super::Backend::Sqlite).await;
    }

    #[actix_web::test]
    async fn postgres() {
        super::no_job_is_lost_while_the_server_is_down(super::Backend::Postgres).await;
    }
}

db_test!(
    async fn a_change_that_rolls_back_queues_nothing(app) {
        let alice = app.user("alice").await;
        let before = job_rows(&app.db).len();
        // Refused: the email is taken; the use case's transaction rolls back.
        let b = app.browser();
        let res = b
            .post("/signup", &[("username", "alice2"), ("email", "alice@example.com"), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        alice.post("/organizations", &[("username", "acme"), ("display_name", "")]).await;
        let res = alice
            .post("/acme/settings/members/invitations", &[("invitee", "alice@example.com"), ("role", "member"), ("default_role", "none")])
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(job_rows(&app.db).len(), before);
    }
);

mail_test!(
    async fn two_instances_deliver_every_job_once(app, sink) {
        let second = app.spawn_second_instance();
        let n = 24;
        for i in 0..n {
            let on = if i % 2 == 0 { &app } else { &second };
            let name = format!("user{i}");
            let b = on.browser();
            let res = b
                .post("/signup", &[("username", &name), ("email", &format!("{name}@example.com")), ("password", PASSWORD)])
                .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        }
        sink.wait_for(n, MAIL_WAIT).await;
        wait_until("every job is done", MAIL_WAIT, || job_rows(&app.db).iter().all(|j| j.0 == "done")).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mails = sink.messages();
        assert_eq!(mails.len(), n, "each delivered once");
        for i in 0..n {
            assert_eq!(sink.to(&format!("user{i}@example.com")).len(), 1);
        }
        assert!(job_rows(&app.db).iter().all(|j| j.1 == 1), "no job was attempted twice");
    }
);

/// SIGKILL of the instance while the server holds its delivery, then a restart: the job's
/// lease ends, the new instance claims it and delivers it once.
async fn killed_during_delivery(database_url: &str) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    sink.set_mode("hold");
    let smtp = sink.url();
    let env = [
        ("DATABASE_URL", database_url),
        ("COLABEL_SMTP_URL", smtp.as_str()),
        ("COLABEL_JOB_POLL_MS", "100"),
        ("COLABEL_JOB_LEASE_SECS", "3"),
        ("COLABEL_SMTP_TIMEOUT_SECS", "60"),
    ];
    let mut first = Colabel::start(&env);
    let b = Browser::new(first.base());
    let res = b
        .post(
            "/signup",
            &[
                ("username", "zoe"),
                ("email", "zoe@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    sink.wait_held(MAIL_WAIT).await;
    first.kill();
    sink.set_mode("accept");
    let second = Colabel::start(&env);
    let mails = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(mails[0].to, ["zoe@example.com"]);
    let token = mails[0].token_of("/email/verify").unwrap();
    // The link works (on the new instance).
    let b2 = Browser::new(second.base());
    let path = mails[0].path_of("/email/verify").unwrap();
    assert_eq!(b2.page(&path).await.0, StatusCode::OK);
    assert_redirect(
        &b2.post("/email/verify", &[("token", &token)]).await,
        "/login",
    );
    let db = Db::connect(database_url, 1).unwrap();
    let rows = job_rows(&db);
    assert_eq!(rows[0].0, "done");
    assert_eq!(rows[0].1, 2, "the second attempt delivered it");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1, "delivered once");
    assert!(second
        .lines()
        .iter()
        .any(|l| l.contains("jobs: delivered job")));
    for line in first.lines().iter().chain(second.lines().iter()) {
        assert!(!line.contains(&token), "a token in the log: {line}");
    }
    assert!(
        second
            .lines()
            .iter()
            .any(|l| l.contains("/email/verify?token=[hidden]")),
        "the access log hides the token"
    );
}

mod killed_during_delivery {
    #[actix_web::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("colabel.db").display());
        super::killed_during_delivery(&url).await;
    }

    #[actix_web::test]
    async fn postgres() {
        let Some(admin) = crate::helpers::postgres_url() else {
            return;
        };
        let db = super::PgDatabase::create(&admin, "mailkill");
        super::killed_during_delivery(&db.url).await;
    }
}
