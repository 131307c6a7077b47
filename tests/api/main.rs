//! Black-box tests over HTTP. Every test that touches the database runs on SQLite and on
//! PostgreSQL (see `db_test!`).

mod helpers;

mod accounts;
mod balancer;
mod concurrency;
mod datasets;
mod growth;
mod headers;
mod hostile;
mod instances;
mod matrix;
mod orgs;
mod outage;
mod process;
mod properties;
mod proxies;
mod races;
mod schema;
mod security;
mod sessions;
mod throttle;
