//! Email: the messages Colabel sends (composed from askama templates, each with a plain-text
//! and an HTML part) and the transport that delivers them, an SMTP server or, when none is
//! configured, `.eml` files in a folder. Messages are composed by the use cases, queued as
//! jobs in their transaction, and delivered by the job worker; nothing here touches the
//! database.

mod compose;
mod transport;

pub use compose::*;
pub use transport::{SendError, Transport};

use serde::{Deserialize, Serialize};

/// A composed message, as a job's payload holds it until it is delivered.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What it is (`invitation`, `verify_email`, ...), for the log and the pages.
    pub kind: String,
}

impl Email {
    /// What is kept of a message once it is delivered or given up: no body, so no link and
    /// no token outlives its delivery in the database.
    pub fn redacted(&self) -> Email {
        Email {
            to: self.to.clone(),
            subject: self.subject.clone(),
            text: String::new(),
            html: String::new(),
            kind: self.kind.clone(),
        }
    }
}
