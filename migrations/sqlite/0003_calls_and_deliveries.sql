-- Calls (the latest payload per CallSid), their events, and the webhook outbox.
CREATE TABLE calls (
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    call_sid    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, call_sid)
);

CREATE TABLE call_events (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    call_sid    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX call_events_by_call ON call_events (app_id, call_sid, created_at);

-- A delivery row is written in the same transaction as the event that caused it.
-- `lease_until` is the claim: a row leased by a worker that died is claimed again once it passes.
CREATE TABLE webhook_deliveries (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT NOT NULL UNIQUE,
    app_id              TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    event_type          TEXT NOT NULL,
    url                 TEXT NOT NULL,
    call_sid            TEXT NOT NULL,
    payload             TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            BIGINT NOT NULL,
    next_attempt_at     BIGINT NOT NULL,
    lease_until         BIGINT NOT NULL,
    expires_at          BIGINT,
    last_response_code  BIGINT,
    last_error          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    delivered_at        BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_per_call ON webhook_deliveries (app_id, call_sid, url, seq);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (app_id, seq);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (status, updated_at);
