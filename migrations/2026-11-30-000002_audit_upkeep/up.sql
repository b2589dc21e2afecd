-- Ranges of audit_events.seq that the sealer passed over because no committed event held them:
-- either the insert was rolled back, or its transaction had not committed yet. The sealer
-- checks them on every tick and forgets a range once no transaction that began before the range
-- was seen is still open, as nothing can fill it after that.
CREATE TABLE audit_seal_gaps (
    first_seq bigint PRIMARY KEY,
    last_seq bigint NOT NULL CHECK (last_seq >= first_seq),
    seen_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Take over from the previous sealer, which rescanned the last ten minutes of the chain on every
-- tick: that window (an event in it may still commit), and any older event it left unsealed.
WITH bounds AS (
    SELECT (SELECT max(event_seq) FROM audit_chain) AS head,
           coalesce((SELECT max(event_seq) FROM audit_chain
                     WHERE sealed_at < now() - interval '10 minutes'), 0) AS settled
)
INSERT INTO audit_seal_gaps (first_seq, last_seq)
SELECT settled + 1, head FROM bounds WHERE head > settled
UNION ALL
SELECT e.seq, e.seq
FROM audit_events e, bounds
WHERE e.seq <= bounds.settled
  AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_seq = e.seq);

-- Every request that touches participant data inserts an audit event, so each index here is paid
-- on the read path. Nothing looks an event up by id alone: the log is read per organization
-- (audit_events_org_idx, which also serves its id cursor), by actor or by participant, and the
-- chain joins on seq.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_id_key;
