-- Customers, apps, their tokens and settings. Times are unix milliseconds; secrets are sealed (AES-256-GCM).
CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE apps (
    id                  TEXT PRIMARY KEY,
    customer_id         TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    exotel_account_sid  TEXT NOT NULL,
    exotel_api_key      TEXT NOT NULL,
    exotel_api_token    TEXT NOT NULL,
    exotel_domain       TEXT NOT NULL,
    is_active           BOOLEAN NOT NULL,
    secret              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX apps_by_customer ON apps (customer_id, created_at);

-- Only the SHA-256 of a token is kept. A token dies with its customer or app.
CREATE TABLE tokens (
    hash         TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    app_id       TEXT REFERENCES apps(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX tokens_by_customer ON tokens (customer_id);
CREATE INDEX tokens_by_app ON tokens (app_id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

CREATE TABLE app_settings (
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, key)
);
