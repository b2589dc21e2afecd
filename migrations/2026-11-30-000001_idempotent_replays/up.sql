-- Idempotency keys remember what a request created (its id and location) and a keyed
-- fingerprint of the request, never a response body: a replay re-reads the object through the
-- caller's scope, and a body holding a password leaves no crackable copy behind.
ALTER TABLE idempotency_keys ADD COLUMN resource_id uuid;
UPDATE idempotency_keys SET resource_id = split_part(location, '/', -1)::uuid;
ALTER TABLE idempotency_keys
    ALTER COLUMN resource_id SET NOT NULL,
    ALTER COLUMN location SET NOT NULL,
    DROP COLUMN response_status,
    DROP COLUMN response_body;
-- Fingerprints kept so far were plain digests; they no longer match any request, so a retry
-- under an old key is refused (422) rather than creating twice.
ALTER TABLE idempotency_keys RENAME COLUMN request_hash TO fingerprint;
