//! What a refusal wrote to the audit log, checked against the row.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{Audit, Column, Row};

/// The audit log's newest position.
pub async fn last_seq(conn: &mut AsyncPgConnection) -> i64 {
    use tandem::db::schema::audit_events::dsl::*;
    audit_events
        .select(diesel::dsl::max(seq))
        .get_result::<Option<i64>>(conn)
        .await
        .unwrap()
        .unwrap_or(0)
}

type Event = (
    Option<Uuid>,
    Option<Uuid>,
    String,
    Option<Uuid>,
    String,
    String,
);

/// `(actor_id, client_id, outcome, participant_id, action, resource_type)` of the events
/// written after `after`.
pub async fn events_since(conn: &mut AsyncPgConnection, after: i64) -> Vec<Event> {
    use tandem::db::schema::audit_events::dsl::*;
    audit_events
        .filter(seq.gt(after))
        .order(seq.asc())
        .select((
            actor_id,
            client_id,
            outcome,
            participant_id,
            action,
            resource_type,
        ))
        .load(conn)
        .await
        .unwrap()
}

pub fn check_audit(row: &Row, column: &Column<'_>, events: Vec<Event>) -> Vec<String> {
    let (named, required) = match row.audit {
        Audit::Unchecked => (None, false),
        Audit::Denied => (None, true),
        Audit::DeniedNaming(participant) => (Some(participant), true),
    };
    if events.is_empty() && !required {
        return Vec::new();
    }
    let Some((logged_action, logged_type)) = row.logs else {
        return vec![format!(
            "{}: the row states no audit action and resource type (`.logs(..)`), and a refusal \
             wrote {events:?}",
            row.label()
        )];
    };
    let (actor_id, client_id) = column.actor;
    let fits = |(actor, client, outcome, participant, action, resource_type): &Event| {
        (*actor, *client) == (actor_id, client_id)
            && outcome == "denied"
            && named.is_none_or(|named| *participant == Some(named))
            && (action.as_str(), resource_type.as_str()) == (logged_action, logged_type)
    };
    match events.as_slice() {
        [event] if fits(event) => Vec::new(),
        _ => vec![format!(
            "{}: expected one denied {logged_action} {logged_type} audit event by \
             {actor_id:?}/{client_id:?}{}, found {events:?}",
            row.label(),
            named.map(|p| format!(" naming {p}")).unwrap_or_default()
        )],
    }
}
