//! Sending one webhook delivery: the body signed with HMAC-SHA256 of the webhook's secret
//! (`X-Colabel-Signature-256: sha256=<hex>`, GitHub's scheme), a short timeout, no
//! redirects, no proxy, and a resolver that checks every address a name resolves to before
//! the connection is made to it (a name that rebinds to a private address cannot reach it).
//! Every attempt is recorded in the deliveries log, and the webhook's consecutive failures
//! with it; a 2xx answer is success, a network error or 5xx is retried, anything else is not.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::WebhookSettings;
use crate::db::Db;
use crate::domain::webhooks::{check_url, excerpt, forbidden};
use crate::models::webhooks::{self as rows, AttemptRecord};

/// How much of an answer's body, and of its headers, the log keeps.
pub const KEEP_BODY: usize = 2048;
const KEEP_HEADERS: usize = 4096;

/// The `X-Colabel-Signature-256` value of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Part of the error of a name whose addresses are all refused (not worth retrying).
const PRIVATE_ONLY: &str = "resolves only to loopback, private, link-local or metadata addresses";

/// Resolves names itself and hands reqwest only addresses that pass [`forbidden`].
struct CheckedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::task::spawn_blocking(move || {
                (host.as_str(), 0)
                    .to_socket_addrs()
                    .map(|a| a.collect::<Vec<SocketAddr>>())
                    .map_err(|e| format!("cannot resolve {host}: {e}"))
                    .and_then(|all| {
                        let ok: Vec<SocketAddr> = all
                            .iter()
                            .copied()
                            .filter(|a| allow_private || !forbidden(a.ip()))
                            .collect();
                        if ok.is_empty() {
                            Err(format!("refused: {host} {PRIVATE_ONLY}"))
                        } else {
                            Ok(ok)
                        }
                    })
            })
            .await
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.to_string().into() })?
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client of one job worker (built on its thread: reqwest's blocking client must
/// not be made or dropped on an async runtime).
pub fn client(settings: &WebhookSettings) -> Result<reqwest::blocking::Client, String> {
    reqwest::blocking::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Colabel-Hookshot/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(CheckedResolver {
            allow_private: settings.allow_private,
        }))
        .build()
        .map_err(|e| format!("cannot build the webhook client: {e}"))
}

/// What an attempt means for its job.
pub enum Sent {
    /// A 2xx answer, or nothing to do (the delivery or its webhook is gone or inactive).
    Done(String),
    /// A network error or 5xx: worth another attempt, if the webhook is still active.
    Retry(String),
    /// Not worth repeating (4xx, a refused address), or the webhook was just disabled.
    Failed(String),
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Sends delivery `id` once and records the attempt. `last`: no retry follows a failure.
pub fn deliver(
    db: &Db,
    http: &reqwest::blocking::Client,
    settings: &WebhookSettings,
    id: i32,
    last: bool,
) -> Result<Sent, String> {
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let Some(t) = rows::target(&mut conn, id).map_err(|e| e.to_string())? else {
        return Ok(Sent::Done(format!("delivery {id} is gone")));
    };
    if !t.active {
        rows::set_status(&mut conn, id, "skipped").map_err(|e| e.to_string())?;
        return Ok(Sent::Done(format!(
            "delivery {} skipped: webhook {} is inactive",
            t.guid, t.webhook_id
        )));
    }
    // The connection goes back to the pool during the request.
    drop(conn);
    let sig = signature(&t.secret, t.payload.as_bytes());
    let request_headers = format!(
        "POST {}\nContent-Type: application/json\nUser-Agent: Colabel-Hookshot/{}\n\
         X-Colabel-Event: {}\nX-Colabel-Delivery: {}\nX-Colabel-Signature-256: {sig}\n",
        t.url,
        env!("CARGO_PKG_VERSION"),
        t.event,
        t.guid
    );
    let started = Instant::now();
    let (status_code, response_headers, response_body, error) =
        match check_url(&t.url, settings.allow_private) {
            Err(refused) => (
                None,
                String::new(),
                String::new(),
                format!("refused: {refused}"),
            ),
            Ok(url) => {
                let answer = http
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("X-Colabel-Event", &t.event)
                    .header("X-Colabel-Delivery", &t.guid)
                    .header("X-Colabel-Signature-256", &sig)
                    .body(t.payload.clone())
                    .send();
                match answer {
                    Err(e) => (None, String::new(), String::new(), error_chain(&e)),
                    Ok(res) => {
                        let code = i32::from(res.status().as_u16());
                        let mut headers = String::new();
                        for (k, v) in res.headers() {
                            headers.push_str(&format!(
                                "{}: {}\n",
                                k,
                                String::from_utf8_lossy(v.as_bytes())
                            ));
                        }
                        let mut body = Vec::new();
                        let read = res.take(KEEP_BODY as u64).read_to_end(&mut body);
                        let error = match read {
                            Err(e) => format!("reading the answer: {e}"),
                            Ok(_) => String::new(),
                        };
                        (
                            Some(code),
                            excerpt(&headers, KEEP_HEADERS).to_string(),
                            String::from_utf8_lossy(&body).into_owned(),
                            error,
                        )
                    }
                }
            }
        };
    let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let ok = status_code.is_some_and(|c| (200..300).contains(&c)) && error.is_empty();
    let retryable = !ok
        && !error.starts_with("refused")
        && !error.contains(PRIVATE_ONLY)
        && status_code.is_none_or(|c| c >= 500 || error.contains("reading the answer"));
    let status = if ok {
        "ok"
    } else if retryable && !last {
        "queued"
    } else {
        "failed"
    };
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let still_active = rows::record_attempt(
        &mut conn,
        AttemptRecord {
            delivery_id: id,
            webhook_id: t.webhook_id,
            status_code,
            duration_ms,
            error: excerpt(&error, 1000),
            request_headers: &request_headers,
            response_headers: &response_headers,
            response_body: &response_body,
            ok,
            status,
            max_failures: settings.max_failures,
            now: chrono::Utc::now().naive_utc(),
        },
    )
    .map_err(|e| e.to_string())?;
    let what = match (status_code, error.is_empty()) {
        (Some(c), true) => format!("HTTP {c}"),
        (Some(c), false) => format!("HTTP {c}, {error}"),
        (None, _) => error.clone(),
    };
    let summary = format!(
        "webhook {} delivery {} ({}): {what}",
        t.webhook_id, t.guid, t.event
    );
    Ok(if ok {
        Sent::Done(summary)
    } else if !still_active {
        if status == "queued" {
            let mut conn = db.get().map_err(|e| e.to_string())?;
            rows::set_status(&mut conn, id, "failed").map_err(|e| e.to_string())?;
        }
        Sent::Failed(format!("{summary}; the webhook is now disabled"))
    } else if retryable {
        Sent::Retry(summary)
    } else {
        Sent::Failed(summary)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_githubs() {
        // The example of GitHub's "Validating webhook deliveries".
        assert_eq!(
            signature("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
