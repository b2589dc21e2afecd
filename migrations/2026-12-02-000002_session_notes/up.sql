-- Session notes: what happened in a session with a participant, who may read it, and the
-- amendments appended once it is signed.
CREATE TABLE session_notes (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    author_id uuid NOT NULL REFERENCES users (id),
    session_type text NOT NULL CHECK (session_type IN ('individual', 'group', 'phone', 'video',
        'text', 'outreach', 'care_coordination', 'discharge')),
    occurred_at timestamptz NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 600),
    summary text NOT NULL CHECK (char_length(summary) BETWEEN 1 AND 500),
    body text CHECK (char_length(body) <= 20000),
    visibility text NOT NULL DEFAULT 'care_team'
        CHECK (visibility IN ('care_team', 'participant', 'restricted')),
    -- Goals of the same participant. No foreign key yet: the check that each belongs to the
    -- participant is made by the service (see `session_notes::foreign_goals`).
    goal_ids uuid[] NOT NULL DEFAULT '{}',
    mood integer CHECK (mood BETWEEN 1 AND 5),
    craving integer CHECK (craving BETWEEN 0 AND 10),
    follow_up text,
    follow_up_due date,
    signed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One participant's notes, newest first: the list (keyset on occurred_at, id) and the
-- caseload's last contact read it without sorting.
CREATE INDEX session_notes_participant_occurred_idx
    ON session_notes (participant_id, occurred_at DESC, id DESC);
-- The caseload's next follow-up due.
CREATE INDEX session_notes_follow_up_idx
    ON session_notes (participant_id, follow_up_due) WHERE follow_up_due IS NOT NULL;

CREATE TABLE session_note_amendments (
    id uuid PRIMARY KEY,
    note_id uuid NOT NULL REFERENCES session_notes (id),
    author_id uuid NOT NULL REFERENCES users (id),
    body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 20000),
    reason text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_note_amendments_note_idx ON session_note_amendments (note_id, created_at, id);

-- Amendments are the record of what changed after signing: the service appends, never edits.
REVOKE UPDATE, DELETE ON session_note_amendments FROM tandem_runtime;
