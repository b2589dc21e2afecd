-- Recovery-capital assessments: one row per completed instrument (BARC-10 and any instrument
-- added to `src/instruments.rs`). The instrument's definition lives in the code; a row keeps
-- the answers as given and the total computed from them when it was stored.
CREATE TABLE assessments (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    instrument text NOT NULL CHECK (instrument <> ''),
    answers integer[] NOT NULL CHECK (cardinality(answers) > 0),
    total integer NOT NULL,
    taken_at timestamptz NOT NULL,
    submitted_by text NOT NULL CHECK (submitted_by IN ('participant', 'staff')),
    submitted_by_user_id uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A participant's list (newest taken first, keyset on taken_at and id) and the first and
-- latest assessment of an instrument read this index in order, without sorting their set.
CREATE INDEX assessments_participant_taken_idx
    ON assessments (participant_id, instrument, taken_at DESC, id DESC);
