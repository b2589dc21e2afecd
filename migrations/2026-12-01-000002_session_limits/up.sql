-- Sign-ins and client-credential attempts that failed, counted per client address over all
-- emails and clients, in fixed windows: one address cannot spray guesses across many accounts.
CREATE TABLE address_throttles (
    address text PRIMARY KEY,
    window_started_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0
);

-- When a refresh-token family began (its sign-in): the family ends a fixed time after it,
-- however often it is refreshed. Existing families began with their oldest token.
ALTER TABLE refresh_tokens ADD COLUMN family_started_at timestamptz;
UPDATE refresh_tokens AS t
SET family_started_at = f.started
FROM (SELECT family_id, min(created_at) AS started FROM refresh_tokens GROUP BY family_id) AS f
WHERE t.family_id = f.family_id;
ALTER TABLE refresh_tokens ALTER COLUMN family_started_at SET NOT NULL;
