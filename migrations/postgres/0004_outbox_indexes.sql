-- Indexes that hold pending deliveries only, so that finished ones (nearly every row) cost no
-- index entries there and no scan walks past them.
-- A row is claimable once both its next attempt is due and any lease on it has run out: the claim
-- walks exactly those rows, in the order they became claimable.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_claimable ON webhook_deliveries (GREATEST(next_attempt_at, lease_until), seq)
    WHERE status = 'pending';
-- "Is an earlier delivery of this call and URL still pending?" (a call's webhooks go in order).
DROP INDEX webhook_deliveries_per_call;
CREATE INDEX webhook_deliveries_pending_per_call ON webhook_deliveries (app_id, call_sid, url, seq)
    WHERE status = 'pending';
-- Purging finished deliveries past their retention.
DROP INDEX webhook_deliveries_finished;
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at)
    WHERE status IN ('delivered', 'dead', 'expired');
