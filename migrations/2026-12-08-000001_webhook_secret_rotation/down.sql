ALTER TABLE integration_clients
    DROP CONSTRAINT integration_clients_previous_webhook_secret_pair,
    DROP COLUMN previous_webhook_secret_until,
    DROP COLUMN previous_webhook_secret;
