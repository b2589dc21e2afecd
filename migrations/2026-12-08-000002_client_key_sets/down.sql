DROP TABLE client_assertion_jtis;
ALTER TABLE integration_clients DROP COLUMN jwks, DROP COLUMN jwks_url;
