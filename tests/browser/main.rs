//! Browser tests: Colabel's main flows in headless Chromium, driven over WebDriver.
//!
//! - `walkthrough`: "Create an organization" with two users, clicking as a person would (on
//!   SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set); every field of every page it
//!   visits must have a label.
//! - `no_javascript`: the same creation flows through the full-page forms.
//! - `keyboard`: the menus and the new-dataset popup with the keyboard alone; error messages
//!   tied to their fields.
//! - `pages`: the other pages an administrator reaches label their fields and fit the screen.
//! - `members`: finding a member and saving a row in place (and without JavaScript).
//! - `invitation`: an administrator invites an email address; the invitee follows the link
//!   from the received message (a real SMTP server), signs up, verifies and joins.
//!
//! Each test starts Colabel on a loopback port with a fresh database, a chromedriver of its own
//! on a free loopback port, and headless Chromium; browser tests run one at a time. Without
//! `/usr/bin/chromium` and `/usr/bin/chromedriver` a local run prints that it skipped; under
//! `CI=true` it fails. Every run writes screenshots of the walkthrough's pages, at a laptop and
//! a phone size, to `screenshots/` at the repository root.
//!
//! Run: `cargo test --test browser -- --nocapture`

mod access;
mod api_keys;
mod bulk_add;
mod edges;
mod harness;
mod invitation;
mod keyboard;
mod members;
mod no_javascript;
mod pages;
#[path = "../support/receiver.rs"]
mod receiver;
#[path = "../support/smtp.rs"]
mod smtp;
mod walkthrough;
mod webhooks;
