-- A list read names every participant it returned, so "who has seen participant X" finds list
-- reads too: `participant_ids` holds them (empty for single-object events, which keep using
-- `participant_id`), and is part of each event's chain link.
ALTER TABLE audit_events ADD COLUMN participant_ids uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX audit_events_participant_ids_idx ON audit_events USING gin (participant_ids)
    WHERE participant_ids <> '{}';

-- Chain links become HMAC-SHA256, keyed with TANDEM_AUDIT_KEY, which never enters the database.
-- The links written so far were unkeyed SHA-256: anyone able to write the table could have
-- rebuilt them, so they prove nothing a keyed link could build on. They are removed, and the
-- sealer links every event again, in seq order, with the key (the same way it seals new events).
-- The events themselves are untouched. This runs as the tables' owner, which alone may lift
-- the append-only triggers; the application's role never can.
ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only;
DELETE FROM audit_chain;
ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only;
-- Gaps are tracked below the chain's head; with no chain there is no head and nothing to watch.
DELETE FROM audit_seal_gaps;
