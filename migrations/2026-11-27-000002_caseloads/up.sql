CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- unaccent() is STABLE because its dictionary could change; pinning the dictionary makes this
-- wrapper safe to use in a generated column and an index.
CREATE FUNCTION tandem_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

CREATE TABLE integration_clients (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    name text NOT NULL,
    client_id text NOT NULL UNIQUE,
    secret_hash text NOT NULL,
    scopes text[] NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    token_version integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE coach_profiles (
    user_id uuid PRIMARY KEY REFERENCES users (id),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    max_caseload integer NOT NULL DEFAULT 25 CHECK (max_caseload BETWEEN 0 AND 500),
    languages text[] NOT NULL DEFAULT '{}',
    specialties text[] NOT NULL DEFAULT '{}',
    lived_experience text[] NOT NULL DEFAULT '{}',
    recovery_pathways text[] NOT NULL DEFAULT '{}',
    bio text,
    accepting_new boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX coach_profiles_organization_idx ON coach_profiles (organization_id, user_id);

CREATE TABLE participants (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    user_id uuid UNIQUE REFERENCES users (id),
    first_name text NOT NULL,
    last_name text NOT NULL,
    preferred_name text,
    pronouns text,
    date_of_birth date,
    email text,
    phone text,
    preferred_language text,
    recovery_pathways text[] NOT NULL DEFAULT '{}',
    needs text[] NOT NULL DEFAULT '{}',
    intake_date date,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'discharged')),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    search_text text GENERATED ALWAYS AS (
        tandem_fold(first_name || ' ' || last_name || ' ' || coalesce(preferred_name, ''))
    ) STORED
);
CREATE INDEX participants_organization_idx ON participants (organization_id, id);
CREATE INDEX participants_search_idx ON participants USING gin (search_text gin_trgm_ops);

CREATE TABLE pairings (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    coach_id uuid NOT NULL REFERENCES users (id),
    status text NOT NULL CHECK (status IN ('proposed', 'active', 'paused', 'ended')),
    started_at timestamptz,
    ended_at timestamptz,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- At most one current (proposed, active or paused) pairing per participant, under any concurrency.
CREATE UNIQUE INDEX pairings_one_current_per_participant
    ON pairings (participant_id) WHERE status <> 'ended';
CREATE INDEX pairings_current_by_coach ON pairings (coach_id, participant_id) WHERE status <> 'ended';
CREATE INDEX pairings_organization_idx ON pairings (organization_id, id);
CREATE INDEX pairings_participant_idx ON pairings (participant_id, id);

-- Status history of pairings, participants and, later, goals and referrals.
CREATE TABLE status_changes (
    id uuid PRIMARY KEY,
    subject_type text NOT NULL,
    subject_id uuid NOT NULL,
    from_status text,
    to_status text NOT NULL,
    reason text,
    actor_id uuid,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_changes_subject_idx ON status_changes (subject_id, at);

CREATE INDEX audit_events_actor_idx ON audit_events (actor_id) WHERE actor_id IS NOT NULL;
