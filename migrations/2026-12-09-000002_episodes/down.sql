DROP TABLE episode_interviews;
DROP TABLE episodes;
ALTER TABLE organizations DROP COLUMN time_zone;
