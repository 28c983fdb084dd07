-- Console links (POST /app/console_link): single-use codes that open the web console signed in as an
-- app. Only the SHA-256 of a code is kept; a code is deleted when it is exchanged, dies with its app,
-- and is purged once expired. (Numbered 0014 once merged after 0012 and 0013.)
CREATE TABLE console_links (
    hash        TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX console_links_by_app ON console_links (app_id);
CREATE INDEX console_links_by_expiry ON console_links (expires_at);
