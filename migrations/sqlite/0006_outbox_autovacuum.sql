-- Postgres only: per-table autovacuum thresholds for the outbox (see the Postgres migration of the
-- same name). SQLite reuses freed pages by itself and keeps no dead index entries; nothing to do.
SELECT 1;
