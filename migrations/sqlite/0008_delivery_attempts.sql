-- Every attempt of every delivery, for its attempt log (`GET /webhook_deliveries/{id}`): written in
-- the same transaction as the outcome it led to, deleted with its delivery (the store opens SQLite
-- with `foreign_keys` on, so the cascade holds: retention purges and app deletions alike).
-- An attempt's number is its place in the log (`seq` order), not `webhook_deliveries.attempts`,
-- which a recovered delivery starts again from 0.
CREATE TABLE delivery_attempts (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id    TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at             BIGINT NOT NULL,
    response_code  BIGINT,
    duration_ms    BIGINT NOT NULL,
    error          TEXT NOT NULL,
    response_body  TEXT NOT NULL
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, seq);
