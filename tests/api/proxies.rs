//! Trusted proxies (issue 13, finding 3 and item 1): what the CSRF origin check, HSTS and the
//! request log believe of `X-Forwarded-*` and `Forwarded`, from a trusted proxy and from
//! anyone else.

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::process::{Colabel, PgDatabase};
use crate::{db_test, db_test_with};

fn users(app: &TestApp) -> i64 {
    app.with_db(|c| colabel::schema::users::table.count().get_result(c).unwrap())
}

/// POSTs a valid signup form of `name` with extra headers; returns the status and the body.
async fn signup_with(app: &TestApp, name: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let b = app.browser();
    let token = b.token().await;
    let mut req = b
        .client
        .post(format!("{}/signup", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username={name}&email={name}%40example.com&password=password123&csrf_token={token}"
        ));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

db_test!(async fn the_origin_check_believes_no_forwarded_header_from_an_untrusted_peer(app) {
    let own = app.base.clone();
    let own_https = own.replace("http://", "https://");
    let refused: [&[(&str, &str)]; 5] = [
        &[("x-forwarded-host", "evil.example"), ("origin", "http://evil.example")],
        &[("forwarded", "host=evil.example;proto=http"), ("origin", "http://evil.example")],
        &[("x-forwarded-proto", "https"), ("origin", own_https.as_str())],
        // The scheme counts: an https origin is not this http site.
        &[("origin", own_https.as_str())],
        &[("origin", "http://evil.example"), ("sec-fetch-site", "same-origin")],
    ];
    for (i, headers) in refused.iter().enumerate() {
        let (status, body) = signup_with(&app, &format!("victim{i}"), headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(body.contains("another site"), "{headers:?}");
    }
    assert_eq!(users(&app), 0);
    let (status, _) = signup_with(&app, "mine", &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "our own origin passes");
});

db_test_with!(trust_loopback, async fn behind_a_trusted_proxy_the_origin_is_the_public_one(app) {
    let public = [("x-forwarded-host", "colabel.example"), ("x-forwarded-proto", "https"), ("x-forwarded-for", "203.0.113.9")];
    let with = |origin: &'static str| {
        let mut h = public.to_vec();
        h.push(("origin", origin));
        h
    };
    assert_eq!(signup_with(&app, "a1", &with("https://colabel.example")).await.0, StatusCode::SEE_OTHER);
    assert_eq!(signup_with(&app, "a2", &with("https://colabel.example:443")).await.0, StatusCode::SEE_OTHER);
    for origin in ["http://colabel.example", "https://evil.example", "https://colabel.example:8443"] {
        assert_eq!(signup_with(&app, "a3", &with(origin)).await.0, StatusCode::FORBIDDEN, "{origin}");
    }
    // The same headers from a peer that is not a proxy are its own invention.
    let b = app.browser_from("127.0.0.2");
    let token = b.token().await;
    let mut req = b.client.post(format!("{}/signup", b.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=a4&email=a4%40example.com&password=password123&csrf_token={token}"));
    for (k, v) in with("https://colabel.example") {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(users(&app), 2);
});

db_test_with!(
    |s: &mut colabel::config::Settings| {
        trust_loopback(s);
        s.secure_cookies = true;
    },
    async fn hsts_goes_with_secure_cookies_over_https_only(app) {
        let hsts = |res: &reqwest::Response| {
            res.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_string())
        };
        // Finding 6: HTTPS at the proxy, secure cookies: HSTS on every answer.
        let via_tls = app.browser_with(&[("x-forwarded-proto", "https")]);
        for path in ["/", "/login", "/no/such/page", "/healthz"] {
            let value = hsts(&via_tls.get(path).await).unwrap_or_else(|| panic!("no HSTS on {path}"));
            assert!(value.starts_with("max-age=") && value["max-age=".len()..].split(';').next().unwrap().parse::<u64>().unwrap() >= 31_536_000, "{value}");
        }
        // Never over plain http (RFC 6797 7.2), nor when an untrusted peer claims https.
        assert_eq!(hsts(&app.browser().get("/login").await), None);
        let liar = app.browser_from("127.0.0.2");
        let res = liar.client.get(format!("{}/login", liar.base)).header("x-forwarded-proto", "https").send().await.unwrap();
        assert_eq!(hsts(&res), None);
    }
);

db_test_with!(trust_loopback, async fn no_hsts_without_secure_cookies(app) {
    let b = app.browser_with(&[("x-forwarded-proto", "https")]);
    assert!(b.get("/login").await.headers().get("strict-transport-security").is_none());
});

/// The request log of the real binary names the client, not the proxy, and only when the
/// proxy is trusted.
async fn request_log_names_the_client(database_url: &str) {
    let trusting = Colabel::start(&[
        ("DATABASE_URL", database_url),
        ("COLABEL_TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    let client = reqwest::Client::new();
    let get = |base: String, xff: &'static str| {
        let client = client.clone();
        async move {
            client
                .get(format!("{base}/login?probe={}", xff.len()))
                .header("x-forwarded-for", xff)
                .send()
                .await
                .unwrap()
        }
    };
    let mark = trusting.mark();
    get(trusting.base().to_string(), "203.0.113.9").await;
    let line = trusting
        .wait_for_line_after(
            mark,
            |l| l.contains("GET /login?probe=11"),
            std::time::Duration::from_secs(5),
        )
        .expect("a request log line");
    assert!(line.contains(" 203.0.113.9 \"GET /login"), "{line}");
    drop(trusting);
    let plain = Colabel::start(&[("DATABASE_URL", database_url)]);
    let mark = plain.mark();
    get(plain.base().to_string(), "198.51.100.4").await;
    let line = plain
        .wait_for_line_after(
            mark,
            |l| l.contains("GET /login?probe=12"),
            std::time::Duration::from_secs(5),
        )
        .expect("a request log line");
    assert!(
        line.contains(" 127.0.0.1 \"GET /login") && !line.contains("198.51.100.4"),
        "{line}"
    );
}

mod the_request_log_names_the_derived_client {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("colabel.db").display());
        request_log_names_the_client(&url).await;
    }

    #[actix_web::test]
    async fn postgres() {
        let Some(admin) = postgres_url() else { return };
        let db = PgDatabase::create(&admin, "log");
        request_log_names_the_client(&db.url).await;
    }
}
