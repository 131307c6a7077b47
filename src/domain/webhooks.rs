//! Webhook events and payload URLs: which audit actions an organization's webhooks hear
//! about, and which URLs they may point at (`http`/`https`, and by default no loopback,
//! private, link-local or metadata address, checked at save time here and again after DNS
//! resolution when connecting, `jobs::webhook`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::audit::Action;

text_enum! {
    /// The events a webhook can subscribe to (and `ping`, sent on creation and on demand).
    pub enum WebhookEvent {
        MemberAdded = "member.added",
        MemberChanged = "member.changed",
        MemberRemoved = "member.removed",
        InvitationSent = "invitation.sent",
        InvitationAccepted = "invitation.accepted",
        InvitationDeclined = "invitation.declined",
        DatasetCreated = "dataset.created",
        DatasetSettingsChanged = "dataset.settings_changed",
        DatasetDeleted = "dataset.deleted",
        CollaboratorAdded = "collaborator.added",
        CollaboratorChanged = "collaborator.changed",
        CollaboratorRemoved = "collaborator.removed",
        Ping = "ping",
    }
}

impl WebhookEvent {
    /// The events an administrator can choose (every one but `ping`).
    pub fn choosable() -> &'static [WebhookEvent] {
        &Self::ALL[..Self::ALL.len() - 1]
    }

    /// The event an audited action causes, if any.
    pub fn of(action: Action) -> Option<WebhookEvent> {
        use WebhookEvent as E;
        Some(match action {
            Action::MemberAdded => E::MemberAdded,
            Action::MemberRoleChanged | Action::MemberDefaultRoleChanged => E::MemberChanged,
            Action::MemberRemoved | Action::MemberLeft => E::MemberRemoved,
            Action::InvitationSent | Action::InvitationResent => E::InvitationSent,
            Action::InvitationAccepted => E::InvitationAccepted,
            Action::InvitationDeclined => E::InvitationDeclined,
            Action::DatasetCreated => E::DatasetCreated,
            Action::DatasetSettingsChanged => E::DatasetSettingsChanged,
            Action::DatasetDeleted => E::DatasetDeleted,
            Action::CollaboratorAdded => E::CollaboratorAdded,
            Action::CollaboratorRoleChanged => E::CollaboratorChanged,
            Action::CollaboratorRemoved => E::CollaboratorRemoved,
            _ => return None,
        })
    }

    /// What the settings page calls it.
    pub fn label(self) -> &'static str {
        use WebhookEvent as E;
        match self {
            E::MemberAdded => "Member added",
            E::MemberChanged => "Member changed",
            E::MemberRemoved => "Member removed or left",
            E::InvitationSent => "Invitation sent",
            E::InvitationAccepted => "Invitation accepted",
            E::InvitationDeclined => "Invitation declined",
            E::DatasetCreated => "Dataset created",
            E::DatasetSettingsChanged => "Dataset settings changed",
            E::DatasetDeleted => "Dataset deleted",
            E::CollaboratorAdded => "Collaborator added",
            E::CollaboratorChanged => "Collaborator changed",
            E::CollaboratorRemoved => "Collaborator removed",
            E::Ping => "Ping",
        }
    }
}

/// The body of every delivery (`Content-Type: application/json`). The same delivery id, and
/// the same bytes, on every attempt and redelivery.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct Payload {
    /// The event's name: `member.added`, `member.changed`, `member.removed`,
    /// `invitation.sent`, `invitation.accepted`, `invitation.declined`, `dataset.created`,
    /// `dataset.settings_changed`, `dataset.deleted`, `collaborator.added`,
    /// `collaborator.changed`, `collaborator.removed` or `ping`; also in `X-Colabel-Event`.
    #[schema(example = "member.changed")]
    pub event: String,
    /// Unique per event and webhook, the same on every attempt; also in
    /// `X-Colabel-Delivery`. Receivers drop repeats by it.
    #[schema(example = "3f2a9c1e-07b4-4d6e-8a31-12")]
    pub delivery: String,
    /// When the change happened (RFC 3339, UTC).
    #[schema(example = "2026-12-02T01:02:03Z")]
    pub time: String,
    /// The organization whose webhook this is.
    pub organization: PayloadAccount,
    /// Who made the change; `null` for Colabel itself.
    pub actor: Option<PayloadAccount>,
    /// What the change was about: a user, an invited email address, a dataset or the webhook.
    pub subject: Option<Subject>,
    /// For collaborator events: the dataset (its name within the organization).
    pub dataset: Option<String>,
    /// The roles before the change (`member.changed`, `member.removed`,
    /// `collaborator.changed`, `collaborator.removed`), else `null`.
    pub before: Option<Roles>,
    /// The roles after the change (`member.added`, `member.changed`, `invitation.sent`,
    /// `invitation.accepted`, `collaborator.added`, `collaborator.changed`), else `null`.
    pub after: Option<Roles>,
    /// The audit log's description of the change, for people.
    pub details: String,
}

/// An account named in a payload.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct PayloadAccount {
    #[schema(example = "acme")]
    pub name: String,
}

/// The subject of an event.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct Subject {
    /// `user`, `email`, `dataset` or `webhook`.
    #[serde(rename = "type")]
    #[schema(example = "user")]
    pub kind: String,
    #[schema(example = "bob")]
    pub name: String,
}

/// Roles before or after a change. Members have an organization role (`member`, `admin`)
/// and a default dataset role (`null` for none); collaborators a dataset role (`viewer`,
/// `labeler`, `reviewer`, `manager`, `admin`) and `default_dataset_role` `null`.
#[derive(Serialize, ToSchema, Clone, Debug, PartialEq, Eq)]
pub struct Roles {
    #[schema(example = "admin")]
    pub role: String,
    #[schema(example = "labeler")]
    pub default_dataset_role: Option<String>,
}

impl Roles {
    pub fn member(
        role: crate::domain::roles::OrgRole,
        default_role: Option<crate::domain::roles::DatasetRole>,
    ) -> Roles {
        Roles {
            role: role.as_str().to_string(),
            default_dataset_role: default_role.map(|r| r.as_str().to_string()),
        }
    }

    pub fn collaborator(role: crate::domain::roles::DatasetRole) -> Roles {
        Roles {
            role: role.as_str().to_string(),
            default_dataset_role: None,
        }
    }
}

/// The events a webhook hears: all of them, or a chosen set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventSet {
    All,
    Some(Vec<WebhookEvent>),
}

impl EventSet {
    /// Reads names as forms and the API send them; `"*"` is every event. Unknown names are
    /// an error naming them; no name at all is one too.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<EventSet, String> {
        let mut chosen = Vec::new();
        for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*" {
                return Ok(EventSet::All);
            }
            match WebhookEvent::parse(name).filter(|e| *e != WebhookEvent::Ping) {
                Some(e) if !chosen.contains(&e) => chosen.push(e),
                Some(_) => {}
                None => return Err(format!("{name:?} is not a webhook event.")),
            }
        }
        if chosen.is_empty() {
            return Err("Choose at least one event, or all events.".into());
        }
        chosen.sort_by_key(|e| WebhookEvent::ALL.iter().position(|x| x == e));
        if chosen.len() == WebhookEvent::choosable().len() {
            return Ok(EventSet::All);
        }
        Ok(EventSet::Some(chosen))
    }

    /// The stored form: `*`, or `,a,b,` (so that `LIKE '%,a,%'` finds one).
    pub fn stored(&self) -> String {
        match self {
            EventSet::All => "*".into(),
            EventSet::Some(v) => {
                let names: Vec<&str> = v.iter().map(|e| e.as_str()).collect();
                format!(",{},", names.join(","))
            }
        }
    }

    pub fn from_stored(s: &str) -> EventSet {
        if s == "*" {
            return EventSet::All;
        }
        EventSet::Some(s.split(',').filter_map(WebhookEvent::parse).collect())
    }

    pub fn contains(&self, e: WebhookEvent) -> bool {
        match self {
            EventSet::All => true,
            EventSet::Some(v) => v.contains(&e),
        }
    }

    /// The names, `["*"]` for all.
    pub fn names(&self) -> Vec<String> {
        match self {
            EventSet::All => vec!["*".into()],
            EventSet::Some(v) => v.iter().map(|e| e.as_str().to_string()).collect(),
        }
    }
}

/// The first `max` bytes of `s` (cut at a character boundary).
pub fn excerpt(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The longest payload URL accepted.
pub const MAX_URL: usize = 2000;

/// Checks a payload URL as typed: `http` or `https`, a host, no credentials, and (unless
/// `allow_private`) no address or name that is loopback, private, link-local or metadata.
/// Names are resolved only when connecting; then every address is checked again.
pub fn check_url(raw: &str, allow_private: bool) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Type the payload URL.".into());
    }
    if raw.len() > MAX_URL {
        return Err(format!("The URL is longer than {MAX_URL} characters."));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("This is not a URL ({e})."))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err("The URL must start with https:// or http://.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("The URL must not contain a user name or password.".into());
    }
    let refused = || {
        Err(
            "This address is loopback, private, link-local or a metadata service; webhooks \
             may not point there."
                .to_string(),
        )
    };
    match url.host() {
        None => return Err("The URL has no host.".into()),
        Some(url::Host::Ipv4(ip)) if !allow_private && forbidden(IpAddr::V4(ip)) => {
            return refused()
        }
        Some(url::Host::Ipv6(ip)) if !allow_private && forbidden(IpAddr::V6(ip)) => {
            return refused()
        }
        Some(url::Host::Domain(d)) if !allow_private => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") || d == "metadata.google.internal" {
                return refused();
            }
        }
        _ => {}
    }
    Ok(url.to_string())
}

/// Whether a webhook may not connect to `ip` (unless private addresses are allowed):
/// loopback, private, shared (CGNAT), link-local (the 169.254.169.254 metadata service),
/// unspecified, broadcast, multicast, reserved and benchmarking ranges; IPv6 unique-local
/// (fc00::/7, which holds fd00:ec2::254), link-local, and IPv4 addresses inside IPv6.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form carry an IPv4 address.
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0]) || s[..6] == [0; 6] {
        let o = ip.octets();
        return ip.is_unspecified()
            || ip.is_loopback()
            || forbidden_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_metadata_addresses_are_refused() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(forbidden(bad.parse().unwrap()), "{bad}");
        }
        for good in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "1.1.1.1"] {
            assert!(!forbidden(good.parse().unwrap()), "{good}");
        }
    }

    #[test]
    fn urls_are_http_or_https_to_public_hosts() {
        assert!(check_url("https://example.com/hook", false).is_ok());
        assert!(check_url("http://example.com:8080/x?y=1", false).is_ok());
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "https://user:pw@example.com/",
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost:8080/",
            "http://2130706433/",
            "http://0x7f.1/",
            "not a url",
            "",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:9/", true).is_ok());
    }

    #[test]
    fn event_sets_round_trip() {
        let set = EventSet::parse(["member.added", "dataset.deleted"]).unwrap();
        assert_eq!(set.stored(), ",member.added,dataset.deleted,");
        assert_eq!(EventSet::from_stored(&set.stored()), set);
        assert_eq!(EventSet::parse(["*"]).unwrap(), EventSet::All);
        assert!(EventSet::parse(["ping"]).is_err());
        assert!(EventSet::parse(Vec::<&str>::new()).is_err());
        assert!(EventSet::parse(["nope"]).is_err());
    }
}
