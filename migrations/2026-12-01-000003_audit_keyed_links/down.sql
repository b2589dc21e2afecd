-- Keyed links mean nothing to the previous sealer: remove them so it links every event again.
ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only;
DELETE FROM audit_chain;
ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only;
DELETE FROM audit_seal_gaps;
DROP INDEX audit_events_participant_ids_idx;
ALTER TABLE audit_events DROP COLUMN participant_ids;
