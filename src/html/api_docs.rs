//! `GET /api`: the API reference, rendered by Colabel from the same OpenAPI document it
//! serves at `/api/openapi.json` (nothing fetched from elsewhere).

use actix_session::Session;
use actix_web::HttpResponse;
use askama::Template;
use serde_json::Value;

use crate::app::Principal;
use crate::html::error::HtmlError;
use crate::html::layout::{ok, Layout};
use crate::html::State;

/// One operation of the document.
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: Prose,
    pub description: Prose,
    pub params: Vec<(String, String, bool, String)>,
    pub body: Option<String>,
    pub responses: Vec<(String, String, Option<String>)>,
}

impl Endpoint {
    pub fn anchor(&self) -> String {
        let path: String = self
            .path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!(
            "{}{}",
            self.method.to_ascii_lowercase(),
            path.trim_end_matches('-')
        )
    }
}

/// One schema of the document: its fields (name, type, required, description).
pub struct Schema {
    pub name: String,
    pub description: Prose,
    pub fields: Vec<(String, String, bool, Prose)>,
}

/// A text of the document as runs of plain text and of code (between backticks).
pub struct Prose(pub Vec<(bool, String)>);

impl Prose {
    pub fn new(text: &str) -> Self {
        Prose(
            text.split('`')
                .enumerate()
                .filter(|(_, run)| !run.is_empty())
                .map(|(i, run)| (i % 2 == 1, run.to_string()))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Template)]
#[template(path = "api/reference.html")]
struct ReferencePage {
    ctx: Layout,
    r: &'static Reference,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The name of a `$ref`, or a short description of an inline schema.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    match schema.get("type") {
        Some(Value::String(t)) if t == "array" => {
            format!(
                "array of {}",
                schema.get("items").map_or_else(String::new, type_of)
            )
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => match schema.get("oneOf").and_then(Value::as_array) {
            Some(options) => options.iter().map(type_of).collect::<Vec<_>>().join(" or "),
            None => "object".into(),
        },
    }
}

fn endpoints(doc: &Value) -> Vec<Endpoint> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        for method in ["get", "post", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            (
                                text(p, "name"),
                                text(p, "in"),
                                p.get("required").and_then(Value::as_bool).unwrap_or(false),
                                text(p, "description"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = op
                .pointer("/requestBody/content/application~1json/schema")
                .map(type_of);
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|rs| {
                    rs.iter()
                        .map(|(code, r)| {
                            let schema =
                                r.pointer("/content/application~1json/schema").map(type_of);
                            (code.clone(), text(r, "description"), schema)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let tag = op
                .pointer("/tags/0")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            out.push(Endpoint {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                tag,
                summary: Prose::new(&text(op, "summary")),
                description: Prose::new(&text(op, "description")),
                params,
                body,
                responses,
            });
        }
    }
    out
}

fn schemas(doc: &Value) -> Vec<Schema> {
    let Some(all) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    all.iter()
        .map(|(name, s)| {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let fields = s
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(f, p)| {
                            (
                                f.clone(),
                                type_of(p),
                                required.contains(&f.as_str()),
                                Prose::new(&text(p, "description")),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Schema {
                name: name.clone(),
                description: Prose::new(&text(s, "description")),
                fields,
            }
        })
        .collect()
}

/// What the page shows, read from the document once.
pub struct Reference {
    description: Prose,
    tags: Vec<(String, String)>,
    endpoints: Vec<Endpoint>,
    schemas: Vec<Schema>,
}

fn reference_of_document() -> &'static Reference {
    static REFERENCE: std::sync::OnceLock<Reference> = std::sync::OnceLock::new();
    REFERENCE.get_or_init(|| {
        let doc = serde_json::to_value(crate::api::doc::document()).unwrap_or_default();
        let tags = doc
            .get("tags")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .map(|t| (text(t, "name"), text(t, "description")))
                    .collect()
            })
            .unwrap_or_default();
        Reference {
            description: Prose::new(
                doc.pointer("/info/description")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            tags,
            endpoints: endpoints(&doc),
            schemas: schemas(&doc),
        }
    })
}

pub async fn reference(
    state: State,
    session: Session,
    user: Option<Principal>,
) -> Result<HttpResponse, HtmlError> {
    let nav = state.menu().await?;
    ok(&ReferencePage {
        ctx: Layout::new(&session, user.as_ref(), nav, "API reference"),
        r: reference_of_document(),
    })
}
