ALTER TABLE integration_client_resources DROP COLUMN linked_at;
