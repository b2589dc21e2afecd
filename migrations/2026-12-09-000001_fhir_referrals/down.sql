DROP INDEX referrals_updated_idx;
DROP TABLE participant_identifiers;
