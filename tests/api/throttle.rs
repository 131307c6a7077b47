//! The password throttle under attack (issue 13, findings 1, 2 and 4): parallel bursts with a
//! fixed count, from one address and from many, counting how many passwords the server
//! really checked (bcrypt verifications); the per-account limit from one address, the
//! per-account ceiling over all addresses, the per-address limit behind a trusted proxy,
//! and the current-password check of `/settings`.
//!
//! Several client addresses come from loopback: a browser bound to 127.0.0.2 is another
//! client than one bound to 127.0.0.3 (Linux routes all of 127.0.0.0/8 to `lo`), or, behind
//! a trusted proxy, from `X-Forwarded-For`.

use colabel::auth::throttle::{ACCOUNT_CEILING, ACCOUNT_LIMIT, ADDRESS_LIMIT};
use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::{db_test, db_test_with};

const WRONG: &str = "wrong password";

fn count(answers: &[StatusCode], status: StatusCode) -> u64 {
    answers.iter().filter(|s| **s == status).count() as u64
}

/// Browsers with their CSRF tokens fetched, so that a burst is only logins.
async fn ready(browsers: Vec<Browser>) -> Vec<Browser> {
    for b in &browsers {
        b.token().await;
    }
    browsers
}

db_test!(async fn parallel_guesses_check_no_more_passwords_than_the_limit(app) {
    app.user("erin").await;
    // Finding 1: 15 wrong guesses and the right password at once, from one address.
    let browsers = ready((0..16).map(|_| app.browser()).collect()).await;
    let before = app.passwords_checked();
    let answers: Vec<StatusCode> = join_all(browsers.iter().enumerate().map(|(i, b)| async move {
        let password = if i == 9 { PASSWORD } else { WRONG };
        b.login("erin", password).await.status()
    }))
    .await;
    let checked = app.passwords_checked() - before;
    let logged_in = count(&answers, StatusCode::SEE_OTHER);
    eprintln!("16 parallel logins: {checked} passwords checked, answers {answers:?}");
    // At most the limit of wrong guesses is ever checked (the right one may be among them).
    assert!(
        checked <= ACCOUNT_LIMIT as u64 + logged_in,
        "{checked} passwords were checked; the limit is {ACCOUNT_LIMIT}"
    );
    assert_eq!(
        count(&answers, StatusCode::TOO_MANY_REQUESTS),
        16 - checked,
        "every unchecked attempt is refused as throttled: {answers:?}"
    );
});

db_test_with!(
    |s: &mut colabel::config::Settings| {
        // Hashes slow enough to queue, on one thread: the order of the queue shows.
        s.bcrypt_cost = 9;
        s.hash_concurrency = 1;
    },
    async fn a_flood_from_one_address_is_checked_up_to_its_limit_and_queues_behind_others(app) {
        app.user("frank").await;
        let flood = app.browser_from("127.0.0.2");
        flood.token().await;
        let user = app.browser_from("127.0.0.3");
        user.token().await;
        let before = app.passwords_checked();
        // Finding 1: 120 parallel failures with made-up names from one address ...
        let answered = std::sync::atomic::AtomicU64::new(0);
        let attack = join_all((0..120).map(|i| {
            let (flood, answered) = (&flood, &answered);
            async move {
                let status = flood.login(&format!("ghost{i}"), WRONG).await.status();
                answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                status
            }
        }));
        // ... while the real user, from another address, logs in once the flood waits for
        // the hashing thread: when all but the checked attempts have been answered (refused
        // at once), or, where nothing is refused, when half of them have been checked.
        let real_user = async {
            let refused = 120 - ADDRESS_LIMIT as u64;
            while answered.load(std::sync::atomic::Ordering::Relaxed) < refused
                && app.passwords_checked() - before < 60
            {
                actix_web::rt::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            let start = app.passwords_checked();
            let res = user.login("frank", PASSWORD).await;
            (res.status(), app.passwords_checked() - start)
        };
        let (answers, (status, checked_meanwhile)) = tokio::join!(attack, real_user);
        let flood_checked = app.passwords_checked() - before - 1;
        eprintln!(
            "flood: {flood_checked} of 120 checked; the real user's login waited for {checked_meanwhile} checks"
        );
        assert_eq!(status, StatusCode::SEE_OTHER, "the real user logs in");
        assert_eq!(flood_checked, ADDRESS_LIMIT as u64, "only the address's limit is checked");
        assert_eq!(count(&answers, StatusCode::UNPROCESSABLE_ENTITY), ADDRESS_LIMIT as u64);
        assert_eq!(count(&answers, StatusCode::TOO_MANY_REQUESTS), 120 - ADDRESS_LIMIT as u64);
        // Served ahead of the queued flood: the check under way when it came, perhaps one
        // more that started before it reached the queue, and its own.
        assert!(
            checked_meanwhile <= 3,
            "the real user's login waited for {checked_meanwhile} password checks"
        );
    }
);

db_test!(async fn the_account_limit_applies_per_client_address(app) {
    app.user("gail").await;
    let attacker = app.browser_from("127.0.0.2");
    for _ in 0..ACCOUNT_LIMIT {
        assert_eq!(attacker.login("gail", WRONG).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(attacker.login("gail", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner, elsewhere, is not locked out by someone else's guesses.
    let owner = app.browser_from("127.0.0.3");
    assert_redirect(&owner.login("gail", PASSWORD).await, "/");
    // And the attacker's address may still sign in to other accounts.
    app.user("hugo").await;
    assert_redirect(&app.browser_from("127.0.0.2").login("hugo", PASSWORD).await, "/");
});

db_test_with!(
    |s: &mut colabel::config::Settings| s.trusted_proxies = colabel::client::TrustedProxies::parse("127.0.0.1").unwrap(),
    async fn a_much_higher_ceiling_holds_guesses_from_every_address(app) {
        app.user("iris").await;
        let addresses = (ACCOUNT_CEILING / ACCOUNT_LIMIT) as usize;
        assert!(addresses >= 10, "the ceiling is much higher than the per-address limit");
        let before = app.passwords_checked();
        let answers: Vec<StatusCode> = join_all((0..addresses).map(|i| {
            let app = &app;
            async move {
                let b = app.browser_with(&[("x-forwarded-for", &format!("203.0.113.{i}"))]);
                let mut out = Vec::new();
                for _ in 0..ACCOUNT_LIMIT {
                    out.push(b.login("iris", WRONG).await.status());
                }
                out
            }
        }))
        .await
        .concat();
        assert_eq!(count(&answers, StatusCode::UNPROCESSABLE_ENTITY), ACCOUNT_CEILING as u64);
        assert_eq!(app.passwords_checked() - before, ACCOUNT_CEILING as u64);
        // Past the ceiling, even a new address is refused for the rest of the window.
        let owner = app.browser_with(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(owner.login("iris", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
);

db_test_with!(
    |s: &mut colabel::config::Settings| s.trusted_proxies = colabel::client::TrustedProxies::parse("127.0.0.1").unwrap(),
    async fn behind_a_trusted_proxy_the_address_limit_counts_each_client(app) {
        // Finding 2: every request comes from the balancer (127.0.0.1); the address limit
        // must count the client it forwards for, not the balancer.
        app.user("jill").await;
        let attacker = app.browser_with(&[("x-forwarded-for", "203.0.113.9")]);
        for i in 0..ADDRESS_LIMIT {
            let res = attacker.login(&format!("ghost{i}"), WRONG).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        assert_eq!(attacker.login("jill", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
        let user = app.browser_with(&[("x-forwarded-for", "198.51.100.7")]);
        assert_redirect(&user.login("jill", PASSWORD).await, "/");
        // A client cannot escape by writing addresses of its own in front of its real one:
        // the proxy appends the address it saw, and only that one counts.
        let sneaky = app.browser_with(&[("x-forwarded-for", "192.0.2.77, 203.0.113.9")]);
        assert_eq!(sneaky.login("jill", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
);

db_test!(async fn forwarded_addresses_from_untrusted_peers_are_ignored(app) {
    // No trusted proxies (the default): X-Forwarded-For is the client's own invention.
    for i in 0..ADDRESS_LIMIT {
        let b = app.browser_with(&[("x-forwarded-for", &format!("203.0.113.{i}"))]);
        assert_eq!(b.login(&format!("ghost{i}"), WRONG).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    app.user("kim").await;
    let b = app.browser_with(&[("x-forwarded-for", "198.51.100.200")]);
    assert_eq!(b.login("kim", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS, "the peer is throttled");
});

db_test!(async fn the_current_password_check_of_settings_is_throttled(app) {
    // Finding 4: a stolen session must not guess the password freely.
    let thief = app.user("lena").await;
    let guess = |current: &'static str| {
        let thief = &thief;
        async move {
            thief
                .post("/settings", &[("action", "password"), ("current_password", current), ("new_password", "the thief's own")])
                .await
        }
    };
    let before = app.passwords_checked();
    let answers: Vec<StatusCode> = join_all((0..12).map(|_| async { guess(WRONG).await.status() })).await;
    assert_eq!(app.passwords_checked() - before, ACCOUNT_LIMIT as u64, "{answers:?}");
    assert_eq!(count(&answers, StatusCode::UNPROCESSABLE_ENTITY), ACCOUNT_LIMIT as u64);
    assert_eq!(count(&answers, StatusCode::TOO_MANY_REQUESTS), 12 - ACCOUNT_LIMIT as u64);
    // Now even the right password is refused here, and the password is unchanged.
    let res = guess(PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.unwrap().contains("Try again in 15 minutes"));
    assert_redirect(&app.browser_from("127.0.0.2").login("lena", PASSWORD).await, "/");
});
