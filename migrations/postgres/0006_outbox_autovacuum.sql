-- The outbox is a queue: nearly every row is inserted pending and updated once or twice (never a
-- HOT update: the status and the lease are in the indexes), so it makes dead rows as fast as it
-- takes events, and the pending-only indexes keep an entry for each until a vacuum removes it.
-- Claims and the expiry sweep walk those entries: on a bench database with autovacuum off, the
-- first claim after 70,000 leases had run out took 13 ms, and 1-4 ms each after. Postgres's
-- default waits for 20 % of the table to be dead, which on a table holding weeks of finished
-- deliveries is millions of rows; vacuum (and analyze) it after a fixed number instead.
ALTER TABLE webhook_deliveries SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 20000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 20000,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 20000
);
