//! Tables of closed-loop referrals: the community-resource directory, integration clients'
//! resources, consents, referrals, the accounting of disclosures and the webhook outbox.

use super::{integration_clients, pairings, participants, status_changes};

diesel::table! {
    resources (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        organization_name -> Text,
        description -> Text,
        status -> Text,
        categories -> Array<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        url -> Nullable<Text>,
        address_1 -> Nullable<Text>,
        address_2 -> Nullable<Text>,
        city -> Nullable<Text>,
        state_province -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        country -> Nullable<Text>,
        languages -> Array<Text>,
        eligibility_description -> Nullable<Text>,
        schedule_description -> Nullable<Text>,
        accepts_referrals -> Bool,
        verified_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    integration_client_resources (client_id, resource_id) {
        client_id -> Uuid,
        resource_id -> Uuid,
        organization_id -> Uuid,
        linked_at -> Timestamptz,
    }
}

diesel::table! {
    consents (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        discloser_name -> Text,
        recipient_resource_id -> Nullable<Uuid>,
        recipient_client_id -> Nullable<Uuid>,
        recipient_name -> Text,
        purpose -> Text,
        information_categories -> Array<Text>,
        information_description -> Text,
        expires_at -> Nullable<Timestamptz>,
        expiration_event -> Nullable<Text>,
        signed_by_name -> Text,
        signer_relationship -> Text,
        signed_at -> Timestamptz,
        signature_method -> Text,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Uuid>,
        revocation_reason -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    referrals (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        resource_id -> Nullable<Uuid>,
        direction -> Text,
        source_client_id -> Nullable<Uuid>,
        external_id -> Nullable<Text>,
        referring_provider -> Nullable<Text>,
        reason -> Text,
        urgency -> Text,
        status -> Text,
        outcome -> Nullable<Text>,
        consent_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    disclosures (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        disclosed_at -> Timestamptz,
        recipient_client_id -> Nullable<Uuid>,
        recipient_resource_id -> Nullable<Uuid>,
        recipient_name -> Text,
        recipient_address -> Nullable<Text>,
        information_categories -> Array<Text>,
        description -> Text,
        purpose -> Text,
        consent_id -> Nullable<Uuid>,
        referral_id -> Nullable<Uuid>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        event_type -> Text,
        occurred_at -> Timestamptz,
        data -> Jsonb,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        requeued_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(integration_client_resources -> integration_clients (client_id));
diesel::joinable!(integration_client_resources -> resources (resource_id));
diesel::joinable!(consents -> participants (participant_id));
diesel::joinable!(referrals -> participants (participant_id));
diesel::joinable!(referrals -> resources (resource_id));
diesel::joinable!(referrals -> consents (consent_id));
diesel::joinable!(disclosures -> participants (participant_id));
diesel::joinable!(webhook_events -> integration_clients (client_id));

// The directory, consents, referrals, disclosures and the outbox, with each other and with the
// tables they join.
diesel::allow_tables_to_appear_in_same_query!(
    consents,
    disclosures,
    integration_client_resources,
    integration_clients,
    referrals,
    resources,
    webhook_events,
);
diesel::allow_tables_to_appear_in_same_query!(consents, participants);
diesel::allow_tables_to_appear_in_same_query!(consents, pairings);
diesel::allow_tables_to_appear_in_same_query!(referrals, participants);
diesel::allow_tables_to_appear_in_same_query!(referrals, pairings);
diesel::allow_tables_to_appear_in_same_query!(disclosures, participants);
diesel::allow_tables_to_appear_in_same_query!(disclosures, pairings);
diesel::allow_tables_to_appear_in_same_query!(referrals, status_changes);

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        attempt -> Int4,
        attempted_at -> Timestamptz,
        url -> Text,
        response_status -> Nullable<Int4>,
        error -> Nullable<Text>,
        duration_ms -> Int4,
        succeeded -> Bool,
        next_attempt_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> integration_clients (client_id));
diesel::allow_tables_to_appear_in_same_query!(webhook_deliveries, webhook_events);
diesel::allow_tables_to_appear_in_same_query!(webhook_deliveries, integration_clients);

diesel::table! {
    participant_identifiers (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        client_id -> Uuid,
        type_code -> Nullable<Text>,
        system -> Nullable<Text>,
        value -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(participant_identifiers -> participants (participant_id));
diesel::joinable!(participant_identifiers -> integration_clients (client_id));
diesel::allow_tables_to_appear_in_same_query!(participant_identifiers, participants);
diesel::allow_tables_to_appear_in_same_query!(participant_identifiers, integration_clients);
