UPDATE integration_clients SET secret_hash = '' WHERE secret_hash IS NULL;
ALTER TABLE integration_clients ALTER COLUMN secret_hash SET NOT NULL;
