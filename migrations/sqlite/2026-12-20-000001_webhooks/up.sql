-- Organization webhooks (issue 17) and their deliveries. Keep in step with the other tree.

-- A payload URL of an organization. The secret is stored as given, because it must sign every
-- delivery (HMAC-SHA256); it is shown once, at creation, and never logged nor put in a
-- delivery's recorded request. `events` is '*' (every event) or a comma-separated list of
-- event names with a comma at both ends (',member.added,dataset.deleted,'), matched with LIKE.
-- After `consecutive_failures` reaches the configured limit the webhook is made inactive with
-- the reason in `disabled_reason`.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id, active);

-- One event for one webhook, written in the same transaction as the change (with its job).
-- `guid` is the delivery id every attempt carries (X-Colabel-Delivery); `payload` is the body
-- without its "delivery" member, which the worker puts first. `event_key` is shared by the
-- deliveries of one event (its jobs are queued by one INSERT ... SELECT over it).
-- `status`: queued (an attempt is due), ok (a 2xx answer), failed (4xx, or out of attempts),
-- skipped (the webhook was inactive when its turn came).
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    guid TEXT NOT NULL,
    event_key TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'ok', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    status_code INTEGER,
    created_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP
);
CREATE UNIQUE INDEX webhook_deliveries_guid ON webhook_deliveries (guid);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_key);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (created_at);

-- Each attempt at a delivery as the deliveries log shows it: the request's headers (the
-- signature, never the secret) and the first kilobytes of the answer.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    duration_ms INTEGER NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    request_headers TEXT NOT NULL,
    response_headers TEXT NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
