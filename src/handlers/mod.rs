//! HTTP handlers, one module per area. Handlers are thin: extract, authorize, one
//! `run_db` call for the database work, then render or redirect.

pub mod accounts;
pub mod datasets;
pub mod errors;
pub mod home;
pub mod orgs;
pub mod profiles;
pub mod settings;
