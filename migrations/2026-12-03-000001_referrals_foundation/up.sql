-- Closed-loop referrals: the community-resource directory, the integration clients linked to
-- resources, 42 CFR Part 2 consents, referrals, the accounting of disclosures, and the outbox of
-- webhook events. Every row carries its organization; participant-owned rows carry the
-- participant, so queries filter on the caller's scope without a join.

-- A service in the directory, in the shape of an Open Referral HSDS 3.0 service.
CREATE TABLE resources (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    name text NOT NULL,
    organization_name text NOT NULL,
    description text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'inactive', 'defunct', 'temporarily closed')),
    categories text[] NOT NULL DEFAULT '{}' CHECK (categories <@ ARRAY[
        'mutual_aid', 'recovery_community_center', 'moud', 'harm_reduction', 'hiv_hcv_testing',
        'mental_health', 'housing', 'employment', 'legal', 'food', 'transportation', 'other'
    ]::text[]),
    email text,
    phone text,
    url text,
    address_1 text,
    address_2 text,
    city text,
    state_province text,
    postal_code text,
    country text,
    languages text[] NOT NULL DEFAULT '{}',
    eligibility_description text,
    schedule_description text,
    accepts_referrals boolean NOT NULL DEFAULT true,
    verified_at timestamptz,
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_organization_idx ON resources (organization_id, id);

-- Where a client's webhooks go, and why they stopped going there.
ALTER TABLE integration_clients
    ADD COLUMN webhook_url text,
    ADD COLUMN webhook_secret text,
    ADD COLUMN webhook_disabled_at timestamptz,
    ADD COLUMN webhook_disabled_reason text,
    ADD COLUMN created_by uuid REFERENCES users (id);

-- The resources a client receives referrals for.
CREATE TABLE integration_client_resources (
    client_id uuid NOT NULL REFERENCES integration_clients (id),
    resource_id uuid NOT NULL REFERENCES resources (id),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (client_id, resource_id)
);
CREATE INDEX integration_client_resources_resource_idx
    ON integration_client_resources (resource_id, client_id);

-- A written consent under 42 CFR 2.31. Whether it is active, expired or revoked is derived
-- from `expires_at` and `revoked_at` when read, never stored.
CREATE TABLE consents (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    discloser_name text NOT NULL,
    recipient_resource_id uuid REFERENCES resources (id),
    recipient_client_id uuid REFERENCES integration_clients (id),
    recipient_name text NOT NULL,
    purpose text NOT NULL,
    information_categories text[] NOT NULL CHECK (cardinality(information_categories) > 0
        AND information_categories <@ ARRAY[
            'demographics', 'contact_information', 'referral_details', 'substance_use_history',
            'treatment_history', 'recovery_plan', 'assessments', 'session_notes', 'other'
        ]::text[]),
    information_description text NOT NULL,
    expires_at timestamptz,
    expiration_event text,
    signed_by_name text NOT NULL,
    signer_relationship text NOT NULL
        CHECK (signer_relationship IN ('self', 'guardian', 'authorized_representative')),
    signed_at timestamptz NOT NULL,
    signature_method text NOT NULL,
    revoked_at timestamptz,
    revoked_by uuid,
    revocation_reason text,
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at IS NOT NULL OR expiration_event IS NOT NULL)
);
CREATE INDEX consents_participant_idx ON consents (participant_id, id);
CREATE INDEX consents_recipient_client_idx ON consents (recipient_client_id, participant_id)
    WHERE recipient_client_id IS NOT NULL;
CREATE INDEX consents_recipient_resource_idx ON consents (recipient_resource_id, participant_id)
    WHERE recipient_resource_id IS NOT NULL;

-- A referral. Outbound: staff or a participant refer to a resource in the directory. Inbound:
-- an integration client refers a patient to the organization (`source_client_id`,
-- `external_id`), and `resource_id` may be empty.
CREATE TABLE referrals (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    resource_id uuid REFERENCES resources (id),
    direction text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    source_client_id uuid REFERENCES integration_clients (id),
    external_id text,
    referring_provider text,
    reason text NOT NULL,
    urgency text NOT NULL CHECK (urgency IN ('routine', 'urgent')),
    status text NOT NULL CHECK (status IN (
        'draft', 'requested', 'accepted', 'rejected', 'in-progress', 'on-hold', 'failed',
        'completed', 'cancelled', 'entered-in-error'
    )),
    outcome text CHECK (outcome IN (
        'got_help', 'not_eligible', 'no_capacity', 'could_not_contact', 'no_longer_interested',
        'referred_elsewhere', 'other'
    )),
    consent_id uuid REFERENCES consents (id),
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (direction = 'outbound' OR source_client_id IS NOT NULL),
    CHECK (direction = 'inbound' OR resource_id IS NOT NULL)
);
CREATE INDEX referrals_participant_idx ON referrals (participant_id, id);
CREATE INDEX referrals_resource_idx ON referrals (resource_id, id) WHERE resource_id IS NOT NULL;
CREATE INDEX referrals_organization_idx ON referrals (organization_id, id);
-- One referral per client and external id, however many times the client sends it.
CREATE UNIQUE INDEX referrals_external_idx ON referrals (source_client_id, external_id)
    WHERE external_id IS NOT NULL;

-- The accounting of disclosures (45 CFR 164.528(b), which 42 CFR 2.24 and 2.25 point to): every
-- time participant data left the organization, to whom, what, why and under which consent.
-- Append-only for the service.
CREATE TABLE disclosures (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    participant_id uuid NOT NULL REFERENCES participants (id),
    disclosed_at timestamptz NOT NULL DEFAULT now(),
    recipient_client_id uuid REFERENCES integration_clients (id),
    recipient_resource_id uuid REFERENCES resources (id),
    recipient_name text NOT NULL,
    recipient_address text,
    information_categories text[] NOT NULL,
    description text NOT NULL,
    purpose text NOT NULL,
    consent_id uuid REFERENCES consents (id),
    referral_id uuid REFERENCES referrals (id),
    request_id text
);
CREATE INDEX disclosures_participant_idx ON disclosures (participant_id, disclosed_at, id);
CREATE INDEX disclosures_consent_client_idx ON disclosures (consent_id, recipient_client_id)
    WHERE consent_id IS NOT NULL;
REVOKE UPDATE, DELETE ON disclosures FROM tandem_runtime;

-- The outbox: one row per event and receiving client, written in the transaction of the
-- change it reports. The webhook worker delivers each at least once.
CREATE TABLE webhook_events (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    client_id uuid NOT NULL REFERENCES integration_clients (id),
    event_type text NOT NULL
        CHECK (event_type IN ('referral.created', 'referral.status_changed', 'consent.revoked')),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    data jsonb NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
-- What the worker picks next.
CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_events_client_idx ON webhook_events (client_id, id);
