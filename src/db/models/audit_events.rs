use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{audit_chain, audit_events};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub client_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    pub outcome: String,
    pub request_id: String,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub client_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    pub outcome: String,
    pub request_id: String,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_chain)]
pub struct ChainLink {
    pub chain_id: Uuid,
    pub position: i64,
    pub event_seq: i64,
    pub prev_hash: String,
    pub hash: String,
}

pub async fn insert(conn: &mut AsyncPgConnection, event: &NewAuditEvent) -> QueryResult<usize> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
        .await
}

/// Takes the sealer's lock for this transaction; false when another instance holds it.
pub async fn try_lock_sealer(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    let row: Locked =
        diesel::sql_query("SELECT pg_try_advisory_xact_lock(7405232817263611) AS locked")
            .get_result(conn)
            .await?;
    Ok(row.locked)
}

pub async fn last_link(
    conn: &mut AsyncPgConnection,
    chain_id: Uuid,
) -> QueryResult<Option<ChainLink>> {
    audit_chain::table
        .filter(audit_chain::chain_id.eq(chain_id))
        .order(audit_chain::position.desc())
        .select(ChainLink::as_select())
        .first(conn)
        .await
        .optional()
}

/// Events not yet in the chain, oldest first. Request transactions are short (statements time
/// out after seconds), so an event can only commit late by seconds: events older than ten
/// minutes behind the last link sealed that long ago are settled and not scanned again.
pub async fn unsealed(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<AuditEvent>> {
    let settled_below: Option<i64> = audit_chain::table
        .filter(audit_chain::sealed_at.lt(Utc::now() - chrono::Duration::minutes(10)))
        .select(diesel::dsl::max(audit_chain::event_seq))
        .first(conn)
        .await?;
    audit_events::table
        .filter(audit_events::seq.gt(settled_below.unwrap_or(0)))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            audit_chain::table.filter(audit_chain::event_seq.eq(audit_events::seq)),
        )))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
        .await
}

pub async fn append_links(conn: &mut AsyncPgConnection, links: &[ChainLink]) -> QueryResult<usize> {
    diesel::insert_into(audit_chain::table)
        .values(links)
        .execute(conn)
        .await
}

/// A page of a chain with its events, in chain order, after `after_position`.
pub async fn chain_page(
    conn: &mut AsyncPgConnection,
    chain_id: Uuid,
    after_position: i64,
    limit: i64,
) -> QueryResult<Vec<(ChainLink, AuditEvent)>> {
    audit_chain::table
        .inner_join(audit_events::table)
        .filter(audit_chain::chain_id.eq(chain_id))
        .filter(audit_chain::position.gt(after_position))
        .order(audit_chain::position.asc())
        .limit(limit)
        .select((ChainLink::as_select(), AuditEvent::as_select()))
        .load(conn)
        .await
}

/// Events of an organization not yet sealed.
pub async fn count_unsealed(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<i64> {
    audit_events::table
        .filter(audit_events::organization_id.eq(organization_id))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            audit_chain::table.filter(audit_chain::event_seq.eq(audit_events::seq)),
        )))
        .count()
        .get_result(conn)
        .await
}

/// Filters for the audit log; all optional.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub participant_id: Option<Uuid>,
    pub resource_type: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// An organization's audit events, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &AuditFilter,
    page: &crate::pagination::PageRequest,
) -> QueryResult<Vec<AuditEvent>> {
    let mut query = audit_events::table
        .filter(audit_events::organization_id.eq(organization_id))
        .select(AuditEvent::as_select())
        .order(audit_events::id.desc())
        .limit(page.fetch_limit())
        .into_boxed();
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor));
    }
    if let Some(participant) = filter.participant_id {
        query = query.filter(audit_events::participant_id.eq(participant));
    }
    if let Some(resource_type) = &filter.resource_type {
        query = query.filter(audit_events::resource_type.eq(resource_type.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.lt(to));
    }
    if let Some(crate::pagination::Cursor::After(before)) = page.cursor {
        query = query.filter(audit_events::id.lt(before));
    }
    query.load(conn).await
}
