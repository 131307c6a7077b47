//! Colabel: the account and organization layer of a data-labeling platform.
//!
//! Layers first, resources second: `routes` (the URL scheme) → `handlers` (HTTP) →
//! `models` (persistence, one function per rule) → `db` (SQLite or PostgreSQL).

pub mod assets;
pub mod auth;
pub mod config;
pub mod db;
pub mod errors;
pub mod handlers;
pub mod input;
pub mod models;
pub mod roles;
pub mod routes;
pub mod schema;
pub mod seed;
pub mod startup;
pub mod web;
