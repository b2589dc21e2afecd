-- The role itself is shared by every database on the server, so it stays.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    REVOKE USAGE ON SEQUENCES FROM tandem_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM tandem_runtime;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM tandem_runtime;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM tandem_runtime;
REVOKE USAGE ON SCHEMA public FROM tandem_runtime;
