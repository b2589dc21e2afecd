-- A client that signs in with its key set only has no secret (`secret_hash` NULL): SMART
-- Backend Services does not intend shared secrets for backend apps.
ALTER TABLE integration_clients ALTER COLUMN secret_hash DROP NOT NULL;
