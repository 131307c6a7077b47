//! Black-box tests over HTTP. Every test that touches the database runs on SQLite and on
//! PostgreSQL (see `db_test!`).

mod helpers;
#[path = "../support/receiver.rs"]
mod receiver;
#[path = "../support/smtp.rs"]
mod smtp;

mod access;
mod accounts;
mod api;
mod api_matrix;
mod balancer;
mod bulk_add;
mod concurrency;
mod datasets;
mod edges;
mod growth;
mod headers;
mod hostile;
mod instances;
mod invitations;
mod jobs;
mod lists;
mod mail;
mod matrix;
mod members;
mod openapi;
mod orgs;
mod outage;
mod process;
mod properties;
mod proxies;
mod races;
mod schema;
mod sdk;
mod security;
mod sessions;
mod throttle;
mod webhooks;
