-- Email verification, the organization's member policy, the job queue (the outbox of every
-- email, and of webhooks next), invitations, one-time email tokens and their throttle.
-- Keep in step with the other tree.

-- When the user's current address was verified; NULL until then (and again after a change).
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
-- "Only by invitation": administrators may not add members directly.
ALTER TABLE organizations ADD COLUMN invite_only BOOLEAN NOT NULL DEFAULT FALSE;

-- The job queue. A job is written in the same transaction as the change that causes it.
-- `run_at` is when it is due (queued) or when its lease ends (running): a running job whose
-- lease has ended belongs to a worker that died, and is claimed again.
CREATE TABLE jobs (
    id SERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at TIMESTAMP NOT NULL,
    locked_by TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- An invitation to join an organization, addressed to a user (invitee_id) or to an email
-- address (email_key); only the SHA-256 of its token is kept. At most one pending invitation
-- per organization and addressee; declined, cancelled and expired ones never block a new one.
CREATE TABLE invitations (
    id SERIAL PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    invitee_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    email TEXT,
    email_key TEXT,
    role TEXT NOT NULL CHECK (role IN ('member', 'admin')),
    default_dataset_role TEXT CHECK (default_dataset_role IN ('viewer', 'labeler', 'reviewer', 'manager', 'admin')),
    token_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled', 'expired')),
    invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    inviter_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    responded_at TIMESTAMP,
    email_job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    CHECK ((invitee_id IS NULL) <> (email_key IS NULL))
);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
CREATE UNIQUE INDEX invitations_pending_user ON invitations (org_id, invitee_id) WHERE status = 'pending';
CREATE UNIQUE INDEX invitations_pending_email ON invitations (org_id, email_key) WHERE status = 'pending';
CREATE INDEX invitations_org ON invitations (org_id, status);
CREATE INDEX invitations_invitee ON invitations (invitee_id, status);
CREATE INDEX invitations_email ON invitations (email_key, status);
CREATE INDEX invitations_expiry ON invitations (status, expires_at);

-- One-time links sent by email: verifying an address, resetting a password. Only the
-- SHA-256 of the token is kept; `email` is the address the link was sent to.
CREATE TABLE email_tokens (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE UNIQUE INDEX email_tokens_hash ON email_tokens (token_hash);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- How many verification and reset emails one address or account asked for in a window.
CREATE TABLE mail_limits (
    scope_key TEXT PRIMARY KEY NOT NULL,
    hits INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL
);
