//! Colabel: the account and organization layer of a data-labeling platform.
//!
//! Layers, with arrows only downwards:
//! - `routes` (the URL scheme) and `startup` (the server and the job worker) on top;
//! - `jobs::worker`: the job worker of every instance, which runs queued jobs (email through
//!   `mail`) and calls the use cases of its housekeeping;
//! - `html`: the HTML surface (handlers, pages, sessions, CSRF, error pages), and `api`: the
//!   JSON surface (API keys, the Segments.ai SDK's paths, Colabel's own endpoints);
//! - `client`: who is on the other end of a request (address, scheme, host behind trusted
//!   proxies), for every surface;
//! - `app`: the use cases, the principal and the domain errors, one per action; they compose
//!   messages (`mail`) and queue them (`jobs::enqueue`) in their transaction;
//! - `models`: persistence, plain functions over a connection; `auth`: password hashing and
//!   the login throttle;
//! - `db` (SQLite or PostgreSQL, write transactions) and `schema`;
//! - `domain`: roles and the permission table, kinds, names, used by every layer above.

pub mod api;
pub mod app;
pub mod auth;
pub mod client;
pub mod config;
pub mod db;
pub mod domain;
pub mod html;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod models;
pub mod routes;
pub mod schema;
pub mod seed;
pub mod startup;
