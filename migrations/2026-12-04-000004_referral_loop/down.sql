DROP INDEX referrals_source_client_idx;
ALTER TABLE referrals DROP COLUMN sent_at;
