-- The key check: a known value sealed under the master key (row `master`), so that start-up refuses
-- a MASTER_KEY that cannot open this database's secrets instead of serving 500s. `rekey` re-seals
-- it last, after every other secret has moved to the new key.
CREATE TABLE key_check (
    name    TEXT PRIMARY KEY,
    sealed  TEXT NOT NULL
);
