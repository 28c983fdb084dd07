-- AppSecret rotation (`POST /app/secret`): the secret just replaced, sealed under its own context
-- (`apps.previous_secret:<id>`), and until when (unix ms) webhooks are also signed with it.
-- Both NULL outside a grace window.
ALTER TABLE apps ADD COLUMN previous_secret TEXT;
ALTER TABLE apps ADD COLUMN previous_secret_expires_at BIGINT;
