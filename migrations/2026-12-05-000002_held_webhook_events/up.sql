-- Events of a client that cannot receive them now (no webhook URL, endpoint disabled, client
-- deactivated) are `held`: out of the worker's due index, so however many pile up, a poll never
-- reads past them. Giving the client a working endpoint again makes them `pending`.
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_state_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_state_check
    CHECK (state IN ('pending', 'held', 'delivered', 'failed'));

UPDATE webhook_events e SET state = 'held'
FROM integration_clients c
WHERE c.id = e.client_id AND e.state = 'pending'
  AND NOT (c.active AND c.webhook_url IS NOT NULL AND c.webhook_secret IS NOT NULL
           AND c.webhook_disabled_at IS NULL);
