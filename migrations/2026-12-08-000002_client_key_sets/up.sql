-- SMART Backend Services: an integration client may authenticate with a JWT it signs
-- (`private_key_jwt`), checked against a public key set it registered inline (`jwks`) or
-- publishes at a URL (`jwks_url`), beside or instead of its secret.
ALTER TABLE integration_clients
    ADD COLUMN jwks_url text,
    ADD COLUMN jwks jsonb;

-- The `jti` of every assertion accepted, until the assertion expires: a second use of one is
-- a replay, refused by the primary key across every instance on this database.
CREATE TABLE client_assertion_jtis (
    client_id uuid NOT NULL REFERENCES integration_clients (id) ON DELETE CASCADE,
    jti text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expires_at_idx ON client_assertion_jtis (expires_at);
