-- The whole schema of Colabel (SQLite). Keep in step with ../../postgres.
-- Users and organizations share one namespace: the `accounts` table. A name is
-- unique case-insensitively through `username_key`, which must equal lower(username).

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'org')),
    display_name TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    CHECK (username_key = lower(username))
);
CREATE UNIQUE INDEX accounts_username_key ON accounts (username_key);

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    password_changed_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email_key);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    contact_email TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);

-- username_key is copied from the member's account (names never change) so that
-- member pages and prefix search are served by the (org_id, username_key) index.
CREATE TABLE memberships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    username_key TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('member', 'admin')),
    default_dataset_role TEXT CHECK (default_dataset_role IN ('viewer', 'labeler', 'reviewer', 'manager', 'admin')),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX memberships_org_user ON memberships (org_id, user_id);
CREATE UNIQUE INDEX memberships_org_username ON memberships (org_id, username_key);
CREATE INDEX memberships_org_role ON memberships (org_id, role);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE datasets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    task_type TEXT NOT NULL,
    is_public BOOLEAN NOT NULL DEFAULT FALSE,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (name_key = lower(name))
);
CREATE UNIQUE INDEX datasets_owner_name ON datasets (owner_id, name_key);

CREATE TABLE collaborators (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'labeler', 'reviewer', 'manager', 'admin')),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX collaborators_dataset_user ON collaborators (dataset_id, user_id);
CREATE INDEX collaborators_user ON collaborators (user_id);

-- The audit log of an account (an organization, or a user for personal datasets).
-- Names are copied so that history survives removals.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_name TEXT,
    details TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_account ON audit_events (account_id, id);

-- Server-side sessions: `id` is the SHA-256 of the key in the cookie.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed sign-in counters, per account ("user:NAME") and per client address ("ip:ADDR").
CREATE TABLE login_throttle (
    scope_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL
);
