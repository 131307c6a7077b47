-- A session row now only authenticates: which user, since when, until when. The rest of a
-- session's state (its CSRF token, a message for the next page) travels in the signed
-- cookie, so a page reads its session in the same statement as the profile menu (issue 18).
-- Sessions of the old format cannot be read any more: everyone signs in again once.
DROP TABLE sessions;
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
