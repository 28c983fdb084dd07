-- The operator API (`/admin/...`).
-- Customers are paged in creation order by their rowid (SQLite's one writer hands them out in
-- insertion order); Postgres gets a `seq` column instead.

-- `GET /admin/health`: the apps whose webhooks went dead in the last 24 hours. Dead deliveries are
-- a sliver of the table (nearly every row is delivered), so this index holds only them: the query
-- walks the last day's dead rows alone, not the day's million delivered ones that
-- `webhook_deliveries_finished` would make it read. Sample webhooks (`POST /app_setting/test`) are
-- left out: an app's failing test URL is not a failing tenant.
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (updated_at, app_id)
    WHERE status = 'dead' AND event_type <> 'test';
