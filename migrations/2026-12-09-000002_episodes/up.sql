-- Where an organization is: the calendar its follow-up dates are counted in (an IANA name;
-- PostgreSQL's own time zone database checks it).
ALTER TABLE organizations ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC'
    CHECK (char_length(time_zone) BETWEEN 1 AND 64);

-- Episodes of care: each (re-)enrolment of a participant, as funders count them.
CREATE TABLE episodes (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    started_on date NOT NULL,
    ended_on date CHECK (ended_on >= started_on),
    end_reason text CHECK (end_reason IN
        ('completed', 'disengaged', 'transferred', 'incarcerated', 'deceased', 'other')),
    end_note text CHECK (char_length(end_note) BETWEEN 1 AND 1000),
    program text CHECK (char_length(program) BETWEEN 1 AND 200),
    grant_id text CHECK (char_length(grant_id) BETWEEN 1 AND 100),
    site_id text CHECK (char_length(site_id) BETWEEN 1 AND 100),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((ended_on IS NULL) = (end_reason IS NULL))
);
-- At most one open episode per participant, whatever requests race to open one.
CREATE UNIQUE INDEX episodes_one_open_idx ON episodes (participant_id) WHERE ended_on IS NULL;
CREATE INDEX episodes_participant_idx ON episodes (participant_id, started_on DESC, id);
CREATE INDEX episodes_organization_idx ON episodes (organization_id, id);

-- Follow-up interviews: one per point of an episode's schedule.
CREATE TABLE episode_interviews (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    episode_id uuid NOT NULL REFERENCES episodes (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    point text NOT NULL CHECK (point ~ '^[a-z0-9_]{1,40}$'),
    conducted_on date NOT NULL,
    conducted_by_name text CHECK (char_length(conducted_by_name) BETWEEN 1 AND 200),
    mode text NOT NULL CHECK (mode IN ('in_person', 'phone', 'video')),
    declined boolean NOT NULL DEFAULT false,
    assessment_id uuid REFERENCES assessments (id),
    late_reason text CHECK (char_length(late_reason) BETWEEN 1 AND 1000),
    recorded_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (episode_id, point)
);
CREATE INDEX episode_interviews_participant_idx ON episode_interviews (participant_id);

-- Every participant so far gets the episode they are in: from their intake date (or the day
-- they were recorded), closed on the day of their latest discharge when discharged.
INSERT INTO episodes (id, organization_id, participant_id, started_on, ended_on, end_reason,
                      end_note, created_at, updated_at)
SELECT gen_random_uuid(), p.organization_id, p.id, s.started_on,
       CASE WHEN p.status = 'discharged' THEN greatest(s.started_on, d.discharged_on) END,
       CASE WHEN p.status = 'discharged' THEN 'other' END,
       CASE WHEN p.status = 'discharged' THEN 'Discharged before episodes were recorded' END,
       p.created_at, now()
FROM participants p
CROSS JOIN LATERAL (SELECT coalesce(p.intake_date, (p.created_at AT TIME ZONE 'UTC')::date)
                    AS started_on) s
LEFT JOIN LATERAL (
    SELECT coalesce(max(c.at), p.updated_at) AT TIME ZONE 'UTC' AS discharged_at
    FROM status_changes c
    WHERE c.subject_type = 'participant' AND c.subject_id = p.id AND c.to_status = 'discharged'
) x ON true
CROSS JOIN LATERAL (SELECT x.discharged_at::date AS discharged_on) d;
