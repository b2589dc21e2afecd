-- The recovery plan: a participant's goals, the action items that break them down, and a log
-- of progress. Each row carries its participant, so every query filters on the caller's scope
-- without a join.
CREATE TABLE goals (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    title text NOT NULL,
    description text,
    domain text NOT NULL CHECK (domain IN (
        'substance_use', 'physical_health', 'mental_health', 'housing', 'employment_education',
        'relationships_family', 'legal', 'finances', 'community_participation',
        'purpose_spirituality', 'other'
    )),
    target_date date,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'paused', 'achieved', 'abandoned')),
    closed_at timestamptz,
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- A participant's goals by id, and by status then id (the list and its `status` filter).
CREATE INDEX goals_participant_idx ON goals (participant_id, id);
CREATE INDEX goals_participant_status_idx ON goals (participant_id, status, id);

CREATE TABLE action_items (
    id uuid PRIMARY KEY,
    goal_id uuid NOT NULL REFERENCES goals (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    title text NOT NULL,
    due_date date,
    completed_at timestamptz,
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- A goal's open action items, in order.
CREATE INDEX action_items_open_idx ON action_items (goal_id, id) WHERE completed_at IS NULL;
CREATE INDEX action_items_goal_idx ON action_items (goal_id, id);

CREATE TABLE goal_progress (
    id uuid PRIMARY KEY,
    goal_id uuid NOT NULL REFERENCES goals (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    note text NOT NULL,
    percent_complete integer CHECK (percent_complete BETWEEN 0 AND 100),
    author_id uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A goal's progress log, newest first (ids are UUID v7, so they sort by time).
CREATE INDEX goal_progress_goal_idx ON goal_progress (goal_id, id);

-- The progress log is append-only for the service.
REVOKE UPDATE, DELETE ON goal_progress FROM tandem_runtime;
