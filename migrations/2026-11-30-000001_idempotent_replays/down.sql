ALTER TABLE idempotency_keys RENAME COLUMN fingerprint TO request_hash;
ALTER TABLE idempotency_keys
    ADD COLUMN response_status smallint NOT NULL DEFAULT 201,
    ADD COLUMN response_body jsonb NOT NULL DEFAULT '{}'::jsonb,
    ALTER COLUMN location DROP NOT NULL,
    DROP COLUMN resource_id;
