-- Signed passthru (`GET|PUT /app/passthru`, CONTRACT 13): whether a passthru must carry the app's
-- key, the key sealed at rest (`apps.passthru_key:<id>`, for showing the URLs again) and the hex
-- SHA-256 of the key (what a passthru's `key` is compared with, without opening anything on the hot
-- path). The key columns are NULL for apps created before this migration until first asked.
ALTER TABLE apps ADD COLUMN passthru_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE apps ADD COLUMN passthru_key TEXT;
ALTER TABLE apps ADD COLUMN passthru_key_hash TEXT;
