-- A call's latest payload is its latest event's: the `calls` table only repeated it, at the cost
-- of an upsert on every event. The rowid orders a call's events even within one millisecond
-- (`call_events_by_call` holds it after `created_at`).
DROP TABLE calls;
