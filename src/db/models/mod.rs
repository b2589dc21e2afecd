//! One module per table: the row types and the queries that read and write them.

pub mod action_items;
pub mod assessments;
pub mod audit_events;
pub mod coach_profiles;
pub mod consents;
pub mod disclosures;
pub mod goal_progress;
pub mod goals;
pub mod group_attendance;
pub mod group_sessions;
pub mod idempotency_keys;
pub mod integration_clients;
pub mod login_throttles;
pub mod organizations;
pub mod pairings;
pub mod participant_identifiers;
pub mod participants;
pub mod referrals;
pub mod refresh_tokens;
pub mod resources;
pub mod session_notes;
pub mod status_changes;
pub mod users;
pub mod webhook_deliveries;
pub mod webhook_events;
