//! The real client: the unmodified Segments.ai SDK (`segments-ai` from PyPI, in the virtual
//! environment `.ci/run` makes) drives the real binary on SQLite and on PostgreSQL through
//! the pytest suite in `tests/sdk/`. No mock anywhere: people sign up and make their keys
//! through the HTML pages, then the SDK does everything of SDK-CONTRACT.md.

use std::process::Command;

use crate::helpers::*;
use crate::process::{Colabel, PgDatabase};

fn pytest(python: &str, app: &Colabel) {
    let out = Command::new(python)
        .args([
            "-m",
            "pytest",
            "tests/sdk",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rA",
        ])
        .env("COLABEL_URL", app.base())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run pytest");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "the SDK suite failed against {}:\n{text}",
        app.base()
    );
}

#[actix_web::test]
async fn the_segments_sdk_works_against_colabel_on_sqlite() {
    let Some(python) = test_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("colabel.db").display());
    let app = Colabel::start(&[("DATABASE_URL", &url)]);
    pytest(&python, &app);
}

#[actix_web::test]
async fn the_segments_sdk_works_against_colabel_on_postgres() {
    let Some(python) = test_python() else { return };
    let Some(admin) = postgres_url() else { return };
    let db = PgDatabase::create(&admin, "sdk");
    let app = Colabel::start(&[("DATABASE_URL", &db.url)]);
    pytest(&python, &app);
}
