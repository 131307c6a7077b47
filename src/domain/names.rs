//! The rules for names, emails and free text (SPEC 1 and 5). Each check returns the message
//! to show beside the field; the application layer collects them.

/// First path segments the application uses; no account may take one.
pub const RESERVED_USERNAMES: &[&str] = &[
    "about",
    "account",
    "admin",
    "api",
    "api_status",
    "assets",
    "audit",
    "dashboard",
    "datasets",
    "email",
    "favicon.ico",
    "healthz",
    "help",
    "invitation",
    "invitations",
    "login",
    "logout",
    "members",
    "new",
    "organizations",
    "orgs",
    "password",
    "robots.txt",
    "settings",
    "signup",
    "static",
    "user",
    "users",
];

/// Words the URL scheme uses under an account; no dataset may be named one.
pub const RESERVED_DATASET_NAMES: &[&str] = &[
    "audit",
    "collaborators",
    "datasets",
    "edit",
    "members",
    "new",
    "settings",
];

/// The longest display name and description, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 1000;

/// Whether `name` has only the characters a name may have: letters a-z (either case),
/// digits, `-` and `_` (SPEC 1).
pub fn has_name_characters(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks the characters and length of a username or dataset name (SPEC 1).
pub fn check_name_shape(name: &str) -> Result<(), &'static str> {
    let len = name.len();
    if len == 0 {
        return Err("This field is required.");
    }
    if !(2..=39).contains(&len) {
        return Err("Use 2 to 39 characters.");
    }
    if !has_name_characters(name) {
        return Err("Use only letters a-z, digits, '-' and '_'.");
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err("Start with a letter or a digit.");
    }
    Ok(())
}

/// Checks a new username for a user or an organization (shape and reserved words).
pub fn check_username(name: &str) -> Result<(), &'static str> {
    check_name_shape(name)?;
    if RESERVED_USERNAMES.contains(&name_key(name).as_str()) {
        return Err("That name is reserved.");
    }
    Ok(())
}

/// Checks a dataset name: the username rules without the account reserved words, and not a
/// word the URL scheme uses under an account.
pub fn check_dataset_name(name: &str) -> Result<(), &'static str> {
    check_name_shape(name)?;
    if RESERVED_DATASET_NAMES.contains(&name_key(name).as_str()) {
        return Err("That name is reserved.");
    }
    Ok(())
}

/// The look-up key of a name: names are ASCII, and compare without case.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The key that orders names naturally (`dataset-2` before `dataset-10`): the lower-cased
/// name with every run of digits written as its length in two digits, then the digits without
/// leading zeros (`dataset-10` becomes `dataset-0210`). Compared as bytes, shorter numbers
/// come first, and numbers of one length compare digit by digit.
pub fn natural_key(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut out = String::with_capacity(lower.len() + 8);
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            out.push(c);
            continue;
        }
        let mut digits = String::from(c);
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        let trimmed = digits.trim_start_matches('0');
        let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
        out.push_str(&format!("{:02}{trimmed}", trimmed.len().min(99)));
    }
    out
}

/// The look-up key of an email: emails compare without case.
pub fn email_key(email: &str) -> String {
    email.to_lowercase()
}

/// Bidirectional overrides and isolates: they make text display as something else.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Invisible formatting characters: zero-width characters, bidirectional controls, the BOM.
pub fn is_invisible_format(c: char) -> bool {
    is_bidi_control(c)
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Checks an email address loosely: one `@`, something on both sides, a dot in the domain,
/// nothing invisible.
pub fn check_email(email: &str) -> Result<(), &'static str> {
    let ok = email.len() <= 254
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible_format(c))
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err("Enter an email address such as name@example.com.")
    }
}

/// Free text (a display name, a description): trimmed, at most `max_chars` characters, no
/// control characters but line breaks and tabs, no text-direction overrides.
pub fn clean_text(value: &str, max_chars: usize) -> Result<String, String> {
    let v = value.trim();
    if v.chars().count() > max_chars {
        Err(format!("Use at most {max_chars} characters."))
    } else if v
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        Err("Remove the control characters.".into())
    } else if v.chars().any(is_bidi_control) {
        // They would let a name display as another one.
        Err("Remove the invisible text-direction characters.".into())
    } else {
        Ok(v.to_string())
    }
}

/// Shortest and longest accepted password, in bytes (bcrypt reads at most 72).
pub const MIN_PASSWORD_BYTES: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), &'static str> {
    if password.len() < MIN_PASSWORD_BYTES {
        Err("Use at least 8 characters.")
    } else if password.len() > MAX_PASSWORD_BYTES {
        Err("Use at most 72 bytes (bcrypt cannot use more; it is never cut silently).")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(check_username("ab").is_ok());
        assert!(check_username("a").is_err());
        assert!(check_username(&"a".repeat(39)).is_ok());
        assert!(check_username(&"a".repeat(40)).is_err());
        assert!(check_username("-ab").is_err());
        assert!(check_username("_ab").is_err());
        assert!(check_username("a-b_c9").is_ok());
        assert!(check_username("a.b").is_err());
        assert!(check_username("Login").is_err());
        assert!(check_username("SETTINGS").is_err());
        assert!(check_username("ａb").is_err());
    }

    #[test]
    fn dataset_names() {
        assert!(check_dataset_name("cars-2024").is_ok());
        assert!(check_dataset_name("settings").is_err());
        assert!(check_dataset_name("Members").is_err());
        assert!(check_dataset_name("x").is_err());
        assert!(check_dataset_name("a/b").is_err());
        // Account-level words are fine as dataset names.
        assert!(check_dataset_name("login").is_ok());
    }

    #[test]
    fn emails() {
        assert!(check_email("a@b.co").is_ok());
        assert!(check_email("a@b").is_err());
        assert!(check_email("a b@c.de").is_err());
        assert!(check_email("@c.de").is_err());
    }

    #[test]
    fn text() {
        assert_eq!(clean_text("  hi  ", 5).as_deref(), Ok("hi"));
        assert!(clean_text("abcdef", 5).is_err());
        assert!(clean_text("a\u{202E}b", 5).is_err());
        assert!(clean_text("a\u{7}b", 5).is_err());
        assert_eq!(clean_text("a\nb", 5).as_deref(), Ok("a\nb"));
    }
}

#[cfg(test)]
mod natural_order_tests {
    use super::natural_key;

    #[test]
    fn numbers_in_names_sort_by_value() {
        let mut names = vec![
            "dataset-10",
            "dataset-2",
            "Dataset-1",
            "dataset-10001",
            "dataset-1001",
            "alpha",
            "dataset-02",
            "b7c",
            "b7b",
            "b10a",
        ];
        names.sort_by_key(|n| (natural_key(n), n.to_string()));
        assert_eq!(
            names,
            [
                "alpha",
                "b7b",
                "b7c",
                "b10a",
                "Dataset-1",
                "dataset-02",
                "dataset-2",
                "dataset-10",
                "dataset-1001",
                "dataset-10001"
            ]
        );
        assert_eq!(natural_key("dataset-10"), "dataset-0210");
        assert_eq!(natural_key("x000"), "x010");
    }
}
