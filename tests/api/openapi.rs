//! The OpenAPI document: served at `/api/openapi.json`, covering every API route, checked by
//! a real validator (`openapi-spec-validator` from PyPI, in the test tools' environment).

use std::process::Command;

use crate::db_test;
use crate::helpers::*;

db_test!(async fn the_openapi_document_describes_every_route_and_validates(app) {
    let (status, body) = app.browser().page("/api/openapi.json").await;
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in colabel::routes::API_ROUTES {
        let op = &doc["paths"][*path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in the document");
        assert!(op["responses"].is_object(), "{method} {path} documents no responses");
    }
    // The reference page is rendered from the same document.
    let (status, page) = app.browser().page("/api").await;
    assert_eq!(status, 200);
    for (method, path) in colabel::routes::API_ROUTES {
        assert!(page.contains(&format!("<code>{path}</code>")), "{method} {path} missing from /api");
    }
    assert!(!page.contains("https://cdn") && !page.contains("//unpkg"), "nothing fetched from elsewhere");

    let Some(python) = test_python() else { return };
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &body).unwrap();
    let out = Command::new(python)
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(file.path())
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
});
