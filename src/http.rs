//! What both surfaces (the HTML pages and the JSON API) share about HTTP requests.

/// Whether raw request text (a path or a query string) holds a NUL byte, raw or `%00`.
/// PostgreSQL rejects NUL in text and no name can hold one, so such a request is refused
/// before any handler.
pub fn has_nul(raw: &str) -> bool {
    raw.contains('\0') || percent_encoding::percent_decode_str(raw).any(|b| b == 0)
}
