-- Group sessions (peer support groups, recovery skills classes…) and who attended them.

CREATE TABLE group_sessions (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind IN ('peer_support', 'recovery_skills', 'mutual_aid',
        'wellness', 'family', 'other')),
    occurred_at timestamptz NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 600),
    summary text CHECK (char_length(summary) <= 2000),
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The target of the attendance rows' composite key, so their copies of the organization
    -- and time can never differ from the session's.
    UNIQUE (id, organization_id, occurred_at)
);
-- The organization's sessions, newest first (GET /group-sessions).
CREATE INDEX group_sessions_organization_idx
    ON group_sessions (organization_id, occurred_at DESC, id DESC);

CREATE TABLE group_session_facilitators (
    group_session_id uuid NOT NULL REFERENCES group_sessions (id),
    user_id uuid NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_session_id, user_id)
);
CREATE INDEX group_session_facilitators_user_idx
    ON group_session_facilitators (user_id, group_session_id);

-- One row per participant on a session's attendance list. `organization_id` and `occurred_at`
-- are the session's, copied (and kept equal by the foreign key) so that a participant's
-- attendance is read newest first straight from an index.
CREATE TABLE group_attendance (
    group_session_id uuid NOT NULL,
    participant_id uuid NOT NULL REFERENCES participants (id),
    organization_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    status text NOT NULL CHECK (status IN ('present', 'absent', 'excused')),
    recorded_by uuid NOT NULL REFERENCES users (id),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_session_id, participant_id),
    FOREIGN KEY (group_session_id, organization_id, occurred_at)
        REFERENCES group_sessions (id, organization_id, occurred_at) ON UPDATE CASCADE
);
-- A participant's attendance, newest first (GET /participants/{id}/group-attendance).
CREATE INDEX group_attendance_participant_idx
    ON group_attendance (participant_id, occurred_at DESC, group_session_id DESC);
-- A participant's latest attended group: contact for the caseload's `last_contact_at`
-- (see `tandem_last_group_contact`).
CREATE INDEX group_attendance_present_idx
    ON group_attendance (participant_id, occurred_at DESC) WHERE status = 'present';

-- When the participant last attended a group session (status `present`), or NULL.
CREATE FUNCTION tandem_last_group_contact(participant uuid) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
    AS $$
        SELECT max(occurred_at) FROM public.group_attendance
        WHERE participant_id = participant AND status = 'present'
    $$;
