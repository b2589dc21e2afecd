DROP INDEX audit_events_actor_idx;
DROP TABLE status_changes;
DROP TABLE pairings;
DROP TABLE participants;
DROP TABLE coach_profiles;
DROP TABLE integration_clients;
DROP FUNCTION tandem_fold(text);
DROP EXTENSION IF EXISTS pg_trgm;
DROP EXTENSION IF EXISTS unaccent;
