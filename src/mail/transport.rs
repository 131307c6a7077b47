//! Delivery: an SMTP server (lettre's blocking transport: the job worker runs on a thread of
//! its own) or `.eml` files in a folder when no server is configured.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{Message, SmtpTransport, Transport as _};

use crate::mail::Email;

/// Why a delivery failed: `permanent` when trying again cannot help (the server refused the
/// message or the address for good), else the job retries later.
#[derive(Debug)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where messages go.
pub enum Transport {
    Smtp {
        transport: SmtpTransport,
        /// The URL without its password, for the log.
        shown: String,
        from: Mailbox,
    },
    Files {
        dir: PathBuf,
        from: Mailbox,
    },
}

/// `url` with the password of its user part (if any) hidden.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

impl Transport {
    /// An SMTP transport for `url` (lettre's URL form).
    pub fn smtp(url: &str, from: &str, timeout: Duration) -> Result<Self, String> {
        let shown = without_password(url);
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| format!("COLABEL_SMTP_URL {shown}: {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(Transport::Smtp {
            transport,
            shown,
            from: mailbox(from)?,
        })
    }

    /// `.eml` files in `dir` (created if missing).
    pub fn files(dir: &Path, from: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("COLABEL_MAIL_DIR {}: {e}", dir.display()))?;
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        Ok(Transport::Files {
            dir,
            from: mailbox(from)?,
        })
    }

    /// One line for the log: where messages go.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { shown, .. } => format!("messages are sent through {shown}"),
            Transport::Files { dir, .. } => format!(
                "no COLABEL_SMTP_URL: messages are written as .eml files to {}",
                dir.display()
            ),
        }
    }

    /// Delivers `email`; `id` names the file of the folder transport (so that a second
    /// attempt at the same job replaces the first file instead of adding one). Returns
    /// where it went, for the log.
    pub fn send(&self, email: &Email, id: i32) -> Result<String, SendError> {
        let from = match self {
            Transport::Smtp { from, .. } | Transport::Files { from, .. } => from.clone(),
        };
        let message = build(email, from)?;
        match self {
            Transport::Smtp {
                transport, shown, ..
            } => {
                transport.send(&message).map_err(|e| SendError {
                    permanent: e.is_permanent(),
                    message: format!("SMTP {shown}: {e}"),
                })?;
                Ok(shown.clone())
            }
            Transport::Files { dir, .. } => {
                let name = format!(
                    "{}-{id}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S"),
                    email.kind
                );
                let path = dir.join(&name);
                let partial = dir.join(format!(".{name}.partial"));
                std::fs::write(&partial, message.formatted())
                    .and_then(|()| std::fs::rename(&partial, &path))
                    .map_err(|e| SendError {
                        permanent: false,
                        message: format!("writing {}: {e}", path.display()),
                    })?;
                Ok(path.display().to_string())
            }
        }
    }
}

fn mailbox(from: &str) -> Result<Mailbox, String> {
    from.parse::<Mailbox>()
        .map_err(|e| format!("COLABEL_MAIL_FROM {from:?} is not an address: {e}"))
}

fn build(email: &Email, from: Mailbox) -> Result<Message, SendError> {
    let permanent = |e: String| SendError {
        permanent: true,
        message: e,
    };
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|e| permanent(format!("the address {:?} cannot be used: {e}", email.to)))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.clone())
        .message_id(None)
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(email.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(email.html.clone()),
                ),
        )
        .map_err(|e| permanent(format!("the message cannot be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            without_password("smtp://me:secret@mail.example:587?tls=required"),
            "smtp://me:***@mail.example:587?tls=required"
        );
        assert_eq!(
            without_password("smtp://127.0.0.1:2525"),
            "smtp://127.0.0.1:2525"
        );
    }
}
