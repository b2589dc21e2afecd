DROP TABLE audit_chain;
DROP TABLE audit_events;
DROP FUNCTION refuse_audit_change();
DROP TABLE idempotency_keys;
DROP TABLE login_throttles;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE organizations;
