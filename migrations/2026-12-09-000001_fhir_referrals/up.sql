-- A clinic's own identifiers of a participant (a medical record number), kept as the clinic
-- sent them: each names the client it belongs to, in that client's namespace.
CREATE TABLE participant_identifiers (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    client_id uuid NOT NULL REFERENCES integration_clients (id),
    -- The identifier's type code (HL7 v2 table 0203, e.g. `MR`), when the clinic gave one.
    type_code text CHECK (char_length(type_code) BETWEEN 1 AND 20),
    system text CHECK (char_length(system) BETWEEN 1 AND 500),
    value text NOT NULL CHECK (char_length(value) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX participant_identifiers_participant_idx
    ON participant_identifiers (participant_id, client_id);

-- Clinics poll referrals by when they last changed (FHIR `Task?_lastUpdated=gt…`).
CREATE INDEX referrals_updated_idx ON referrals (organization_id, updated_at, id);
