// @generated automatically by Diesel CLI.

diesel::table! {
    address_throttles (address) {
        address -> Text,
        window_started_at -> Timestamptz,
        attempts -> Int4,
    }
}

diesel::table! {
    assessments (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        instrument -> Text,
        answers -> Array<Int4>,
        total -> Int4,
        taken_at -> Timestamptz,
        submitted_by -> Text,
        submitted_by_user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_chain (chain_id, position) {
        chain_id -> Uuid,
        position -> Int8,
        event_seq -> Int8,
        prev_hash -> Text,
        hash -> Text,
        sealed_at -> Timestamptz,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> Int8,
        id -> Uuid,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        actor_role -> Nullable<Text>,
        client_id -> Nullable<Uuid>,
        organization_id -> Nullable<Uuid>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        participant_id -> Nullable<Uuid>,
        outcome -> Text,
        request_id -> Text,
        ip -> Nullable<Text>,
        participant_ids -> Array<Uuid>,
    }
}

diesel::table! {
    audit_seal_gaps (first_seq) {
        first_seq -> Int8,
        last_seq -> Int8,
        seen_at -> Timestamptz,
    }
}

diesel::table! {
    coach_profiles (user_id) {
        user_id -> Uuid,
        organization_id -> Uuid,
        max_caseload -> Int4,
        languages -> Array<Text>,
        specialties -> Array<Text>,
        lived_experience -> Array<Text>,
        recovery_pathways -> Array<Text>,
        bio -> Nullable<Text>,
        accepting_new -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (caller_id, key) {
        caller_id -> Uuid,
        key -> Text,
        fingerprint -> Text,
        location -> Text,
        created_at -> Timestamptz,
        resource_id -> Uuid,
    }
}

diesel::table! {
    integration_clients (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        client_id -> Text,
        secret_hash -> Nullable<Text>,
        scopes -> Array<Text>,
        active -> Bool,
        token_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        webhook_url -> Nullable<Text>,
        webhook_secret -> Nullable<Text>,
        webhook_disabled_at -> Nullable<Timestamptz>,
        webhook_disabled_reason -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        webhook_failing_since -> Nullable<Timestamptz>,
        previous_webhook_secret -> Nullable<Text>,
        previous_webhook_secret_until -> Nullable<Timestamptz>,
        jwks_url -> Nullable<Text>,
        jwks -> Nullable<Jsonb>,
    }
}

diesel::table! {
    client_assertion_jtis (client_id, jti) {
        client_id -> Uuid,
        jti -> Text,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    login_throttles (email_key) {
        email_key -> Text,
        failures -> Int4,
        locked_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        time_zone -> Text,
    }
}

diesel::table! {
    pairings (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        coach_id -> Uuid,
        status -> Text,
        started_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    participants (id) {
        id -> Uuid,
        organization_id -> Uuid,
        user_id -> Nullable<Uuid>,
        first_name -> Text,
        last_name -> Text,
        preferred_name -> Nullable<Text>,
        pronouns -> Nullable<Text>,
        date_of_birth -> Nullable<Date>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        preferred_language -> Nullable<Text>,
        recovery_pathways -> Array<Text>,
        needs -> Array<Text>,
        intake_date -> Nullable<Date>,
        status -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_text -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        family_started_at -> Timestamptz,
    }
}

diesel::table! {
    session_note_amendments (id) {
        id -> Uuid,
        note_id -> Uuid,
        author_id -> Uuid,
        body -> Text,
        reason -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    session_notes (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        author_id -> Uuid,
        session_type -> Text,
        occurred_at -> Timestamptz,
        duration_minutes -> Int4,
        summary -> Text,
        body -> Nullable<Text>,
        visibility -> Text,
        goal_ids -> Array<Uuid>,
        mood -> Nullable<Int4>,
        craving -> Nullable<Int4>,
        follow_up -> Nullable<Text>,
        follow_up_due -> Nullable<Date>,
        signed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    status_changes (id) {
        id -> Uuid,
        subject_type -> Text,
        subject_id -> Uuid,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        actor_id -> Nullable<Uuid>,
        at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        organization_id -> Uuid,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        token_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(assessments -> organizations (organization_id));
diesel::joinable!(assessments -> participants (participant_id));
diesel::joinable!(assessments -> users (submitted_by_user_id));
diesel::table! {
    action_items (id) {
        id -> Uuid,
        goal_id -> Uuid,
        participant_id -> Uuid,
        title -> Text,
        due_date -> Nullable<Date>,
        completed_at -> Nullable<Timestamptz>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    goal_progress (id) {
        id -> Uuid,
        goal_id -> Uuid,
        participant_id -> Uuid,
        note -> Text,
        percent_complete -> Nullable<Int4>,
        author_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    goals (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        domain -> Text,
        target_date -> Nullable<Date>,
        status -> Text,
        closed_at -> Nullable<Timestamptz>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(audit_chain -> audit_events (event_seq));
diesel::joinable!(coach_profiles -> organizations (organization_id));
diesel::joinable!(coach_profiles -> users (user_id));
diesel::joinable!(integration_clients -> organizations (organization_id));
diesel::joinable!(pairings -> organizations (organization_id));
diesel::joinable!(pairings -> participants (participant_id));
diesel::joinable!(pairings -> users (coach_id));
diesel::joinable!(participants -> organizations (organization_id));
diesel::joinable!(participants -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(session_note_amendments -> session_notes (note_id));
diesel::joinable!(session_note_amendments -> users (author_id));
diesel::joinable!(session_notes -> organizations (organization_id));
diesel::joinable!(session_notes -> participants (participant_id));
diesel::joinable!(session_notes -> users (author_id));
diesel::joinable!(users -> organizations (organization_id));

diesel::joinable!(action_items -> goals (goal_id));
diesel::joinable!(goal_progress -> goals (goal_id));
diesel::joinable!(goals -> participants (participant_id));

diesel::allow_tables_to_appear_in_same_query!(
    address_throttles,
    assessments,
    audit_chain,
    audit_events,
    audit_seal_gaps,
    coach_profiles,
    idempotency_keys,
    integration_clients,
    login_throttles,
    organizations,
    pairings,
    participants,
    refresh_tokens,
    session_note_amendments,
    session_notes,
    status_changes,
    users,
    action_items,
    goal_progress,
    goals,
);

diesel::table! {
    group_sessions (id) {
        id -> Uuid,
        organization_id -> Uuid,
        title -> Text,
        kind -> Text,
        occurred_at -> Timestamptz,
        duration_minutes -> Int4,
        summary -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    group_session_facilitators (group_session_id, user_id) {
        group_session_id -> Uuid,
        user_id -> Uuid,
    }
}

diesel::table! {
    group_attendance (group_session_id, participant_id) {
        group_session_id -> Uuid,
        participant_id -> Uuid,
        organization_id -> Uuid,
        occurred_at -> Timestamptz,
        status -> Text,
        recorded_by -> Uuid,
        recorded_at -> Timestamptz,
    }
}

diesel::joinable!(group_attendance -> group_sessions (group_session_id));
diesel::joinable!(group_attendance -> participants (participant_id));
diesel::joinable!(group_session_facilitators -> group_sessions (group_session_id));
diesel::joinable!(group_session_facilitators -> users (user_id));

// Group sessions' tables, with each other and with the tables they join.
diesel::allow_tables_to_appear_in_same_query!(
    group_attendance,
    group_sessions,
    group_session_facilitators,
);
diesel::allow_tables_to_appear_in_same_query!(group_attendance, participants);
diesel::allow_tables_to_appear_in_same_query!(group_attendance, pairings);
diesel::allow_tables_to_appear_in_same_query!(group_sessions, participants);
diesel::allow_tables_to_appear_in_same_query!(group_sessions, pairings);
diesel::allow_tables_to_appear_in_same_query!(group_session_facilitators, participants);
diesel::allow_tables_to_appear_in_same_query!(group_session_facilitators, users);

// The directory, consents, referrals, disclosures and the webhook outbox.
mod closed_loop;
pub use closed_loop::*;

diesel::table! {
    episodes (id) {
        id -> Uuid,
        organization_id -> Uuid,
        participant_id -> Uuid,
        started_on -> Date,
        ended_on -> Nullable<Date>,
        end_reason -> Nullable<Text>,
        end_note -> Nullable<Text>,
        program -> Nullable<Text>,
        grant_id -> Nullable<Text>,
        site_id -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    episode_interviews (id) {
        id -> Uuid,
        organization_id -> Uuid,
        episode_id -> Uuid,
        participant_id -> Uuid,
        point -> Text,
        conducted_on -> Date,
        conducted_by_name -> Nullable<Text>,
        mode -> Text,
        declined -> Bool,
        assessment_id -> Nullable<Uuid>,
        late_reason -> Nullable<Text>,
        recorded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(episodes -> participants (participant_id));
diesel::joinable!(episode_interviews -> episodes (episode_id));
diesel::allow_tables_to_appear_in_same_query!(episodes, participants);
diesel::allow_tables_to_appear_in_same_query!(episodes, pairings);
diesel::allow_tables_to_appear_in_same_query!(episodes, episode_interviews);
diesel::allow_tables_to_appear_in_same_query!(episodes, organizations);
diesel::allow_tables_to_appear_in_same_query!(episode_interviews, participants);
diesel::allow_tables_to_appear_in_same_query!(episode_interviews, pairings);
