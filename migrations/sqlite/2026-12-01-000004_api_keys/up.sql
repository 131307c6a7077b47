-- Personal API keys: only the SHA-256 of a key is stored, so a key check is one indexed
-- lookup of the hash of what the client sent. Revoking a key deletes its row.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    -- The first characters of the key, shown in the list to tell keys apart.
    key_prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- Written at most once an hour per key, so checking a key stays a read.
    last_used_at TIMESTAMP
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- The full name ("owner/name") of the dataset a clone was made from.
ALTER TABLE datasets ADD COLUMN cloned_from TEXT;
