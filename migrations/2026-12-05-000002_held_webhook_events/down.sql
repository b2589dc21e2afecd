UPDATE webhook_events SET state = 'pending' WHERE state = 'held';
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_state_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_state_check
    CHECK (state IN ('pending', 'delivered', 'failed'));
