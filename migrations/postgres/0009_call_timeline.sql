-- The call timeline (`GET /call/{CallSid}/events`) and the call list (`GET /calls`).

-- Call events use the contract's vocabulary (CONTRACT 10): the passthru type, `outbound_call` for
-- an outbound call's creation, or the status event.
UPDATE call_events SET event_type = CASE event_type
        WHEN 'placed' THEN 'outbound_call'
        WHEN 'incomingCallHangup' THEN 'incomingcallhungup'
        WHEN 'missedCall' THEN 'missedcall'
    END
    WHERE event_type IN ('placed', 'incomingCallHangup', 'missedCall');

-- The event that queued a delivery (NULL for a delivery no call event queued). Rows written before
-- this column are matched to their event as they were written: same app, call, time and payload.
ALTER TABLE webhook_deliveries ADD COLUMN event_id TEXT;
UPDATE webhook_deliveries d SET event_id = (
        SELECT e.id FROM call_events e
        WHERE e.app_id = d.app_id AND e.call_sid = d.call_sid AND e.created_at = d.created_at
          AND e.payload = d.payload
        ORDER BY e.seq LIMIT 1)
    WHERE d.call_sid <> '';
-- A call's deliveries, oldest first: the timeline, and the delivery log filtered by call.
CREATE INDEX webhook_deliveries_by_call ON webhook_deliveries (app_id, call_sid, seq);

-- Set on a call's first event only (no earlier event of the app and CallSid; never on an empty
-- CallSid): the call's `Direction`. The call list walks the index of these rows, newest first, per
-- direction; later events cost no entry in it.
ALTER TABLE call_events ADD COLUMN call_direction TEXT;
UPDATE call_events c SET call_direction = COALESCE(c.payload::json ->> 'Direction', '')
    WHERE c.call_sid <> '' AND NOT EXISTS (SELECT 1 FROM call_events e
        WHERE e.app_id = c.app_id AND e.call_sid = c.call_sid AND e.seq < c.seq);
CREATE INDEX call_events_calls ON call_events (app_id, call_direction, seq) WHERE call_direction IS NOT NULL;
