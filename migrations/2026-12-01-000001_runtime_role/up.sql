-- The service runs as a role of its own, with only the data access it needs: it owns nothing,
-- so it can neither alter the schema nor switch off the append-only triggers on the audit
-- tables. Privileges go to the group role `tandem_runtime` (NOLOGIN); the login role the
-- service connects as is a member of it, so these grants do not depend on its name.
-- This migration runs as the owner of the schema. On a server where the owner may not create
-- roles, create `tandem_runtime` beforehand (see README, "A managed PostgreSQL").
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tandem_runtime') THEN
        CREATE ROLE tandem_runtime NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
            NOBYPASSRLS;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO tandem_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tandem_runtime;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO tandem_runtime;

-- The audit trail is append-only for the service: it records and reads events and links them
-- into their chains, and nothing else.
REVOKE UPDATE, DELETE ON audit_events, audit_chain FROM tandem_runtime;

-- Which migrations ran is the owner's business; the service may only read it.
REVOKE INSERT, UPDATE, DELETE ON __diesel_schema_migrations FROM tandem_runtime;

-- Tables and sequences that later migrations create (as this same owner) get the same access.
-- A later append-only table revokes UPDATE and DELETE itself, as above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tandem_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO tandem_runtime;
