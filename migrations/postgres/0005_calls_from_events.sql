-- A call's latest payload is its latest event's: the `calls` table only repeated it, at the cost
-- of an upsert on every event. `seq` orders a call's events even within one millisecond.
ALTER TABLE call_events ADD COLUMN seq BIGSERIAL;
CREATE INDEX call_events_latest ON call_events (app_id, call_sid, seq);
DROP INDEX call_events_by_call;
DROP TABLE calls;
