ALTER TABLE refresh_tokens DROP COLUMN family_started_at;
DROP TABLE address_throttles;
