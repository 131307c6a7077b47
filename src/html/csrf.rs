//! CSRF protection for every state-changing request, as one middleware.
//!
//! A POST must (1) not come from another site, judged by `Sec-Fetch-Site` and `Origin`, and
//! (2) carry the session's token in the `csrf_token` form field. The body is read here
//! (bounded), checked to be valid UTF-8 form data, and handed on to the handler unchanged.

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::StreamExt;

use crate::client::{ClientInfo, Scheme};
use crate::html::error::HtmlError;

/// The session key and the form field that hold the token.
pub const SESSION_KEY: &str = "csrf";
pub const FIELD: &str = "csrf_token";

/// The largest form body accepted, in bytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The session's token, made on first use.
pub fn token(session: &Session) -> String {
    match session.get::<String>(SESSION_KEY).ok().flatten() {
        Some(t) => t,
        None => {
            let t = crate::auth::random_token(43);
            // A failed insert only means the form will be refused; nothing to recover.
            let _ = session.insert(SESSION_KEY, &t);
            t
        }
    }
}

/// The 62 letters and digits of tokens ([`crate::auth::random_token`]), as numbers mod 62.
const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn digit(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        _ => None,
    }
}

/// The token as a page carries it: masked afresh for every page, so that a compressed page
/// never repeats the secret next to text an attacker chose (BREACH). A random pad of as many
/// letters and digits as the token, then each of the token's characters plus the pad's, mod
/// 62: 86 characters for a 43-character token (a one-time pad, as uniform as the pad), where
/// the earlier hex of pad and XOR took 172 on every form of every page. [`unmask`] gives the
/// token back.
pub fn masked(token: &str) -> String {
    use rand::Rng;
    let Some(digits) = token.bytes().map(digit).collect::<Option<Vec<u8>>>() else {
        // Not a token this application made: the hex form, which takes any bytes.
        return masked_hex(token);
    };
    let mut rng = rand::rng();
    let pad: Vec<u8> = digits.iter().map(|_| rng.random_range(0..62u8)).collect();
    let mut out = String::with_capacity(2 * digits.len());
    out.extend(pad.iter().map(|p| ALPHABET[*p as usize] as char));
    out.extend(
        digits
            .iter()
            .zip(&pad)
            .map(|(d, p)| ALPHABET[((d + p) % 62) as usize] as char),
    );
    out
}

/// A random pad, then the token XOR the pad, in hex.
fn masked_hex(token: &str) -> String {
    use rand::RngCore;
    let secret = token.as_bytes();
    let mut pad = vec![0u8; secret.len()];
    rand::rng().fill_bytes(&mut pad);
    let mixed: Vec<u8> = secret.iter().zip(&pad).map(|(t, p)| t ^ p).collect();
    format!("{}{}", hex::encode(&pad), hex::encode(mixed))
}

/// The token inside a masked one: the hex form (pages served before the mod-62 form, whose
/// 86 letters and digits are all hexadecimal with a chance of 1 in 10^39), else the mod-62
/// form; an unmasked token (a client that read it from elsewhere, an odd length) is taken as
/// it is.
pub fn unmask(sent: &str) -> String {
    if let Ok(bytes) = hex::decode(sent) {
        if !bytes.is_empty() && bytes.len() % 2 == 0 {
            let (pad, mixed) = bytes.split_at(bytes.len() / 2);
            let token: Vec<u8> = pad.iter().zip(mixed).map(|(p, m)| p ^ m).collect();
            if let Ok(token) = String::from_utf8(token) {
                return token;
            }
        }
    }
    let digits: Option<Vec<u8>> = sent.bytes().map(digit).collect();
    match digits {
        Some(d) if !d.is_empty() && d.len() % 2 == 0 => {
            let (pad, mixed) = d.split_at(d.len() / 2);
            pad.iter()
                .zip(mixed)
                .map(|(p, m)| ALPHABET[((m + 62 - p) % 62) as usize] as char)
                .collect()
        }
        _ => sent.to_string(),
    }
}

/// Replaces the token (at login).
pub fn rotate(session: &Session) -> Result<(), HtmlError> {
    session
        .insert(SESSION_KEY, crate::auth::random_token(43))
        .map_err(HtmlError::internal)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses requests sent by another site, judged by the headers browsers add. `Origin` must
/// be this request's own scheme, host and port as [`ClientInfo`] derived them (forwarded
/// headers count only from a trusted proxy; `Forwarded` never).
fn cross_site(req: &ServiceRequest) -> bool {
    if let Some(site) = req.headers().get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return true;
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let client = crate::client::of(req.request());
        if !client.is_same_origin(origin) {
            let other_scheme = match client.scheme {
                Scheme::Http => Scheme::Https,
                Scheme::Https => Scheme::Http,
            };
            let mirrored = ClientInfo {
                scheme: other_scheme,
                ..client.clone()
            };
            if mirrored.is_same_origin(origin) {
                // The usual misconfiguration behind a TLS proxy: say what to do.
                log::warn!(
                    "refused a form from {origin} on {}://{}: only the scheme differs; behind a proxy that terminates TLS, list it in COLABEL_TRUSTED_PROXIES and have it send X-Forwarded-Proto",
                    client.scheme.as_str(),
                    client.host
                );
            }
            return true;
        }
    }
    false
}

async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, HtmlError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
    {
        if len > MAX_FORM_BYTES {
            return Err(HtmlError::TooLarge);
        }
    }
    let mut payload = req.take_payload();
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| HtmlError::bad_request("The request body could not be read."))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(HtmlError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Finds the token in a form body, refusing bodies that are not valid UTF-8 form data.
fn form_token(body: &[u8]) -> Result<Option<String>, HtmlError> {
    let mut token = None;
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let decode = |raw: &[u8]| -> Result<String, HtmlError> {
            let plus: Vec<u8> = raw
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
            String::from_utf8(bytes).map_err(|_| {
                HtmlError::bad_request("The form contains text that is not valid UTF-8.")
            })
        };
        let name = decode(name)?;
        let value = decode(value)?;
        if name.chars().any(char::is_control) {
            return Err(HtmlError::bad_request(
                "The form has a malformed field name.",
            ));
        }
        if value.contains('\0') {
            return Err(HtmlError::bad_request("The form contains a NUL character."));
        }
        if name == FIELD {
            if token.is_some() {
                return Err(HtmlError::bad_request(
                    "The form carries two security tokens.",
                ));
            }
            token = Some(value);
        }
    }
    Ok(token)
}

/// The boundary of a `multipart/form-data` body (the CSV upload), if it is one.
fn multipart_boundary(req: &ServiceRequest) -> Option<String> {
    let ct = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let (kind, params) = ct.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Finds the token in a `multipart/form-data` body: the part whose `Content-Disposition`
/// names the field `csrf_token` (exactly one such part).
fn multipart_token(body: &[u8], boundary: &str) -> Result<Option<String>, HtmlError> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut token = None;
    let mut at = match find(body, delimiter, 0) {
        Some(i) => i + delimiter.len(),
        None => return Ok(None),
    };
    while let Some(next) = find(body, delimiter, at) {
        let part = &body[at..next];
        at = next + delimiter.len();
        let Some(split) = find(part, b"\r\n\r\n", 0) else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]).to_ascii_lowercase();
        let named = headers.lines().any(|line| {
            line.starts_with("content-disposition:")
                && line
                    .split(';')
                    .any(|p| p.trim() == format!("name=\"{FIELD}\""))
        });
        if !named {
            continue;
        }
        if token.is_some() {
            return Err(HtmlError::bad_request(
                "The form carries two security tokens.",
            ));
        }
        let value = &part[split + 4..];
        let value = value.strip_suffix(b"\r\n").unwrap_or(value);
        token = Some(String::from_utf8_lossy(value).into_owned());
    }
    Ok(token)
}

/// The middleware: lets safe methods through, checks everything else.
pub async fn guard<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    match check(&mut req).await {
        // The refusal becomes a response here, so the error-page middleware renders it.
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
    }
}

async fn check(req: &mut ServiceRequest) -> Result<(), HtmlError> {
    if cross_site(req) {
        return Err(HtmlError::forbidden(
            "This form was sent from another site, so it was refused.",
        ));
    }
    let body = read_body(req).await?;
    let boundary = multipart_boundary(req);
    let sent = match boundary {
        Some(b) => multipart_token(&body, &b)?,
        None => form_token(&body)?,
    }
    .map(|t| unmask(&t));
    let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
    let valid = matches!((&sent, &expected), (Some(s), Some(e)) if constant_time_eq(s.as_bytes(), e.as_bytes()));
    if !valid {
        return Err(HtmlError::forbidden(
            "The form's security token is missing or has expired. Go back, reload the page and try again.",
        ));
    }
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let boxed: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>,
    > = Box::pin(stream);
    req.set_payload(Payload::from(boxed));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_a_token_in_as_many_letters_again_and_gives_it_back() {
        let token = crate::auth::random_token(43);
        let (one, two) = (masked(&token), masked(&token));
        assert_eq!(one.len(), 86);
        assert!(one.bytes().all(|b| b.is_ascii_alphanumeric()), "{one}");
        assert_ne!(one, two, "a new pad every time");
        assert!(!one.contains(&token));
        assert_eq!(unmask(&one), token);
        assert_eq!(unmask(&two), token);
        // The hex form of pages served before, and of tokens of other characters.
        assert_eq!(unmask(&masked_hex(&token)), token);
        assert_eq!(unmask(&masked("not/alphanumeric")), "not/alphanumeric");
        // An unmasked token is taken as it is; a wrong one stays wrong.
        assert_eq!(unmask(&token), token);
        let mut tampered = one.clone().into_bytes();
        tampered[85] = if tampered[85] == b'A' { b'B' } else { b'A' };
        assert_ne!(unmask(std::str::from_utf8(&tampered).unwrap()), token);
    }

    #[test]
    fn finds_the_token_and_refuses_bad_bodies() {
        assert_eq!(
            form_token(b"a=1&csrf_token=abc").unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(form_token(b"a=1").unwrap(), None);
        assert!(form_token(b"a=%FF&csrf_token=abc").is_err());
        assert!(form_token(b"csrf_token=a&csrf_token=b").is_err());
    }

    #[test]
    fn finds_the_token_in_a_multipart_body() {
        let part = |disposition: &str, value: &str| {
            format!("--XyZ\r\nContent-Disposition: form-data; {disposition}\r\n\r\n{value}\r\n")
        };
        let body = format!(
            "{}{}{}--XyZ--\r\n",
            part(r#"name="lines""#, "bob\r\ncarol"),
            part(r#"name="file"; filename="csrf_token""#, "not it"),
            part(r#"name="csrf_token""#, "abc"),
        );
        assert_eq!(
            multipart_token(body.as_bytes(), "XyZ").unwrap().as_deref(),
            Some("abc")
        );
        let without = format!("{}--XyZ--\r\n", part(r#"name="lines""#, "bob"));
        assert_eq!(multipart_token(without.as_bytes(), "XyZ").unwrap(), None);
        let twice = format!(
            "{}{}--XyZ--\r\n",
            part(r#"name="csrf_token""#, "a"),
            part(r#"name="csrf_token""#, "b")
        );
        assert!(multipart_token(twice.as_bytes(), "XyZ").is_err());
        assert_eq!(multipart_token(b"no boundary here", "XyZ").unwrap(), None);
    }
}
