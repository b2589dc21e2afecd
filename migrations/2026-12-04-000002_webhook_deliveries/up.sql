-- Webhook delivery: every attempt to POST an event to a client's endpoint, when an endpoint
-- started failing, and when an event was queued again.

-- Since when every attempt to the client's endpoint has failed (`NULL` while it works); the
-- worker disables the endpoint once this is older than the configured window.
ALTER TABLE integration_clients ADD COLUMN webhook_failing_since timestamptz;

-- When an admin queued the event again (redelivery, or an endpoint re-enabled): the retry
-- window then runs from here instead of from `occurred_at`.
ALTER TABLE webhook_events ADD COLUMN requeued_at timestamptz;

-- One row per attempt. Append-only for the service.
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    client_id uuid NOT NULL REFERENCES integration_clients (id),
    event_id uuid NOT NULL REFERENCES webhook_events (id),
    event_type text NOT NULL,
    attempt integer NOT NULL CHECK (attempt > 0),
    attempted_at timestamptz NOT NULL,
    url text NOT NULL,
    response_status integer,
    error text,
    duration_ms integer NOT NULL,
    succeeded boolean NOT NULL,
    -- When the event is tried again after this attempt; `NULL` when delivered or given up.
    next_attempt_at timestamptz
);
-- The deliveries list: one client's attempts, newest first.
CREATE INDEX webhook_deliveries_client_idx ON webhook_deliveries (client_id, id DESC);
REVOKE UPDATE, DELETE ON webhook_deliveries FROM tandem_runtime;
