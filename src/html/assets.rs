//! The stylesheet and script, embedded in the binary and served under `/static` with a
//! content hash in the URL, so they can be cached for a year and still change on deploy.

use std::sync::OnceLock;

use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::html::error::HtmlError;

struct Asset {
    name: &'static str,
    body: &'static str,
    content_type: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        body: include_str!("../../static/app.css"),
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        name: "app.js",
        body: include_str!("../../static/app.js"),
        content_type: "text/javascript; charset=utf-8",
    },
];

fn versions() -> &'static Vec<String> {
    static V: OnceLock<Vec<String>> = OnceLock::new();
    V.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| hex::encode(&Sha256::digest(a.body.as_bytes())[..6]))
            .collect()
    })
}

/// The versioned URL of an asset, for templates.
pub fn url(name: &str) -> String {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => format!("/static/{name}?v={}", versions()[i]),
        None => format!("/static/{name}"),
    }
}

/// `GET /static/{name}`.
pub async fn serve(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, HtmlError> {
    let i = ASSETS
        .iter()
        .position(|a| a.name == name.as_str())
        .ok_or(HtmlError::NotFound)?;
    let current = req.query_string() == format!("v={}", versions()[i]);
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    Ok(HttpResponse::Ok()
        .content_type(ASSETS[i].content_type)
        .insert_header(("Cache-Control", cache))
        .body(ASSETS[i].body))
}
