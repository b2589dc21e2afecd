-- A rotated webhook secret stays valid for signing until `previous_webhook_secret_until` (24
-- hours after the rotation): until then each delivery carries a signature with either secret,
-- so a receiver can switch to the new one without dropping events.
ALTER TABLE integration_clients
    ADD COLUMN previous_webhook_secret text,
    ADD COLUMN previous_webhook_secret_until timestamptz,
    ADD CONSTRAINT integration_clients_previous_webhook_secret_pair
        CHECK ((previous_webhook_secret IS NULL) = (previous_webhook_secret_until IS NULL));
