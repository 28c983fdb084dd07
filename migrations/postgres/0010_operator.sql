-- The operator API (`/admin/...`).

-- Customers in creation order for `GET /admin/customers` (a cursor like the other pages). Rows
-- written before this column are numbered by their creation time.
ALTER TABLE customers ADD COLUMN seq BIGSERIAL;
UPDATE customers SET seq = ordered.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM customers) ordered
    WHERE ordered.id = customers.id;
SELECT setval(pg_get_serial_sequence('customers', 'seq'), COALESCE((SELECT MAX(seq) FROM customers), 0) + 1, false);
CREATE UNIQUE INDEX customers_by_seq ON customers (seq);

-- `GET /admin/health`: the apps whose webhooks went dead in the last 24 hours. Dead deliveries are
-- a sliver of the table (nearly every row is delivered), so this index holds only them: the query
-- walks the last day's dead rows alone, not the day's million delivered ones that
-- `webhook_deliveries_finished` would make it read. Sample webhooks (`POST /app_setting/test`) are
-- left out: an app's failing test URL is not a failing tenant.
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (updated_at, app_id)
    WHERE status = 'dead' AND event_type <> 'test';
