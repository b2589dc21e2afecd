DROP TABLE webhook_deliveries;
ALTER TABLE webhook_events DROP COLUMN requeued_at;
ALTER TABLE integration_clients DROP COLUMN webhook_failing_since;
