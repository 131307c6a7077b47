//! The messages, one function each. Every message has a plain-text part and an HTML part,
//! rendered from `templates/mail/NAME.txt` and `NAME.html`.

use askama::Template;

use crate::mail::Email;

/// Declares the two templates of a message over the same fields.
macro_rules! message {
    ($(#[$meta:meta])* $name:ident, $text:literal, $html:literal { $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        const _: () = {
            #[derive(Template)]
            #[template(path = $text)]
            struct Text<'a> { m: &'a $name }

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> { m: &'a $name }

            impl $name {
                fn parts(&self) -> Result<(String, String), askama::Error> {
                    Ok((Text { m: self }.render()?, Html { m: self }.render()?))
                }
            }
        };
    };
}

message! {
    /// An invitation to join an organization.
    Invitation, "mail/invitation.txt", "mail/invitation.html" {
        inviter: String,
        org: String,
        org_title: String,
        role: String,
        default_role: String,
        /// The invitation's page (accept, decline, or sign up first).
        link: String,
        /// Whether it is addressed to an email without an account yet.
        to_address: bool,
        expires: String,
    }
}

message! {
    /// "Verify your email address" (at sign-up and after a change).
    VerifyEmail, "mail/verify_email.txt", "mail/verify_email.html" {
        username: String,
        email: String,
        link: String,
        hours: i64,
    }
}

message! {
    /// Sent to the old address when the address of an account changes.
    EmailChanged, "mail/email_changed.txt", "mail/email_changed.html" {
        username: String,
        new_email: String,
        reset_link: String,
    }
}

message! {
    /// "Reset your password".
    PasswordReset, "mail/password_reset.txt", "mail/password_reset.html" {
        username: String,
        link: String,
        minutes: i64,
    }
}

fn email(to: &str, subject: String, kind: &str, parts: (String, String)) -> Email {
    Email {
        to: to.to_string(),
        subject,
        text: parts.0,
        html: parts.1,
        kind: kind.to_string(),
    }
}

impl Invitation {
    pub fn to(&self, address: &str) -> Result<Email, askama::Error> {
        let subject = format!(
            "{} invited you to join {} on Colabel",
            self.inviter, self.org
        );
        Ok(email(address, subject, "invitation", self.parts()?))
    }
}

impl VerifyEmail {
    pub fn message(&self) -> Result<Email, askama::Error> {
        let subject = "Verify your email address for Colabel".to_string();
        Ok(email(&self.email, subject, "verify_email", self.parts()?))
    }
}

impl EmailChanged {
    pub fn to(&self, old_address: &str) -> Result<Email, askama::Error> {
        let subject = "The email address of your Colabel account was changed".to_string();
        Ok(email(old_address, subject, "email_changed", self.parts()?))
    }
}

impl PasswordReset {
    pub fn to(&self, address: &str) -> Result<Email, askama::Error> {
        let subject = "Reset your Colabel password".to_string();
        Ok(email(address, subject, "password_reset", self.parts()?))
    }
}
