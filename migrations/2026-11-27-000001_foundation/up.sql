CREATE TABLE organizations (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    email text NOT NULL,
    display_name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'supervisor', 'coach', 'participant')),
    password_hash text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    -- Bumped whenever a deactivation, role change or password change must end existing sessions;
    -- access tokens carry the value they were issued under.
    token_version integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Login is by email alone, so an email names one account across all organizations.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organization_id_idx ON users (organization_id, id);

CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    family_id uuid NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- Failed logins are counted per normalised email, whether or not an account exists,
-- so throttling never reveals which emails are registered.
CREATE TABLE login_throttles (
    email_key text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE idempotency_keys (
    caller_id uuid NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    response_status smallint NOT NULL,
    response_body jsonb NOT NULL,
    location text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

CREATE TABLE audit_events (
    seq bigserial PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    at timestamptz NOT NULL DEFAULT now(),
    actor_id uuid,
    actor_role text,
    client_id uuid,
    organization_id uuid,
    action text NOT NULL,
    resource_type text NOT NULL,
    resource_id text,
    participant_id uuid,
    outcome text NOT NULL CHECK (outcome IN ('success', 'denied')),
    request_id text NOT NULL,
    ip text
);
CREATE INDEX audit_events_org_idx ON audit_events (organization_id, id);
CREATE INDEX audit_events_participant_idx ON audit_events (participant_id) WHERE participant_id IS NOT NULL;

-- The hash chains, one per organization (events with no organization, such as sign-ins with
-- an unknown email, form the chain of the nil UUID). Events are inserted unsealed on the
-- request path; a single background sealer (behind an advisory lock) links them here in
-- insertion order, so the chain never serialises requests.
CREATE TABLE audit_chain (
    chain_id uuid NOT NULL,
    position bigint NOT NULL,
    event_seq bigint NOT NULL UNIQUE REFERENCES audit_events (seq),
    prev_hash text NOT NULL,
    hash text NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, position)
);

CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
