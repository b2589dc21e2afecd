-- Closed-loop referrals: when a referral was sent (first became `requested`), which is when
-- its receiving client may first see it, and the index that lists a client's inbound
-- referrals newest first without a sort.
ALTER TABLE referrals ADD COLUMN sent_at timestamptz;
CREATE INDEX referrals_source_client_idx ON referrals (source_client_id, id)
    WHERE source_client_id IS NOT NULL;
