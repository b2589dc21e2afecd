use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::fragment::Fragment;
use crate::db::schema::{audit_chain, audit_events, audit_seal_gaps};

mod batch;
mod insert;
pub use batch::insert_many;
pub use insert::{insert, Written};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
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
    /// Every participant a list returned (empty for other events).
    pub participant_ids: Vec<Uuid>,
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
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    /// Every participant a list returned (empty for other events).
    pub participant_ids: Vec<Uuid>,
    pub outcome: String,
    pub request_id: String,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = audit_chain)]
pub struct ChainLink {
    pub chain_id: Uuid,
    pub position: i64,
    pub event_seq: i64,
    pub prev_hash: String,
    pub hash: String,
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

/// The highest seq in any chain: every event above it is unsealed. One step down the unique
/// index on `audit_chain.event_seq`, however long the chains are.
pub async fn sealed_through(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    let head: Option<i64> = audit_chain::table
        .select(dsl::max(audit_chain::event_seq))
        .first(conn)
        .await?;
    Ok(head.unwrap_or(0))
}

/// Events above `seq`, oldest first.
pub async fn after(
    conn: &mut AsyncPgConnection,
    seq: i64,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::seq.gt(seq))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
        .await
}

/// A run of seqs the sealer passed over because no committed event held them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Insertable)]
#[diesel(table_name = audit_seal_gaps)]
pub struct SealGap {
    pub first_seq: i64,
    pub last_seq: i64,
}

/// Whether any gap is being watched.
pub async fn has_gaps(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(dsl::exists(
        audit_seal_gaps::table.select(audit_seal_gaps::first_seq),
    ))
    .get_result(conn)
    .await
}

/// Remembers runs of seqs passed over; they are stamped with the current time, which is after
/// every transaction that could still fill them began.
pub async fn record_gaps(conn: &mut AsyncPgConnection, gaps: &[SealGap]) -> QueryResult<usize> {
    diesel::insert_into(audit_seal_gaps::table)
        .values(gaps)
        .execute(conn)
        .await
}

/// When the oldest transaction still open on this database, other than the caller's, began (the
/// current time when there is none). A gap seen before then can no longer fill: whatever drew
/// its seqs began before it was seen and has ended, committed or not.
pub async fn oldest_open_transaction(conn: &mut AsyncPgConnection) -> QueryResult<DateTime<Utc>> {
    #[derive(QueryableByName)]
    struct Oldest {
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        began: DateTime<Utc>,
    }
    // A transaction's xact_start is cleared only after its commit is visible, so a statement
    // after this one sees every event of the transactions it no longer lists. Sessions of other
    // roles may hide their xact_start; Tandem's own sessions all use one role.
    let oldest: Oldest = diesel::sql_query(
        "SELECT coalesce(min(xact_start), clock_timestamp()) AS began FROM pg_stat_activity \
         WHERE datname = current_database() AND backend_type = 'client backend' \
         AND pid <> pg_backend_pid()",
    )
    .get_result(conn)
    .await?;
    Ok(oldest.began)
}

/// Events that committed into a gap after the sealer passed it, not yet sealed, oldest first.
///
/// Each gap is looked up on its own (`LATERAL`), so the work is proportional to the gaps and
/// what fills them. Written as a join, the planner could walk the whole event history in `seq`
/// order to satisfy `ORDER BY … LIMIT`, or hash-join it against the chain: about 0.7 s a tick
/// at 1,000,000 events.
pub async fn filled_gaps(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<AuditEvent>> {
    diesel::sql_query(
        "SELECT e.seq, e.id, e.at, e.actor_id, e.actor_role, e.client_id, e.organization_id, \
                e.action, e.resource_type, e.resource_id, e.participant_id, e.participant_ids, \
                e.outcome, e.request_id, e.ip \
         FROM audit_seal_gaps g \
         CROSS JOIN LATERAL ( \
             SELECT * FROM audit_events e \
             WHERE e.seq BETWEEN g.first_seq AND g.last_seq \
               AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_seq = e.seq) \
         ) e \
         ORDER BY e.seq \
         LIMIT $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

/// Forgets the gaps seen before `settled_before` (see `oldest_open_transaction`).
pub async fn forget_gaps_seen_before(
    conn: &mut AsyncPgConnection,
    settled_before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(audit_seal_gaps::table.filter(audit_seal_gaps::seen_at.lt(settled_before)))
        .execute(conn)
        .await
}

#[dsl::auto_type]
fn not_in_chain() -> _ {
    dsl::not(dsl::exists(
        audit_chain::table.filter(audit_chain::event_seq.eq(audit_events::seq)),
    ))
}

pub async fn append_links(conn: &mut AsyncPgConnection, links: &[ChainLink]) -> QueryResult<usize> {
    diesel::insert_into(audit_chain::table)
        .values(links)
        .execute(conn)
        .await
}

/// The link at `position` of a chain, if there is one.
pub async fn link_at(
    conn: &mut AsyncPgConnection,
    chain_id: Uuid,
    position: i64,
) -> QueryResult<Option<ChainLink>> {
    audit_chain::table
        .find((chain_id, position))
        .select(ChainLink::as_select())
        .first(conn)
        .await
        .optional()
}

/// The last link of every organization's chain, and of the chain of events outside any
/// organization: one step down the primary key per chain.
pub async fn chain_heads(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ChainLink>> {
    diesel::sql_query(
        "SELECT head.chain_id, head.position, head.event_seq, head.prev_hash, head.hash \
         FROM (SELECT id FROM organizations \
               UNION ALL SELECT '00000000-0000-0000-0000-000000000000'::uuid) AS chains \
         CROSS JOIN LATERAL (SELECT * FROM audit_chain WHERE audit_chain.chain_id = chains.id \
                             ORDER BY position DESC LIMIT 1) AS head \
         ORDER BY head.chain_id",
    )
    .load(conn)
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

/// Events of an organization not yet sealed: those above the chains' head, and those that
/// committed into a gap. Never a scan of sealed history.
pub async fn count_unsealed(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<i64> {
    let head = sealed_through(conn).await?;
    let fresh: i64 = audit_events::table
        .filter(audit_events::seq.gt(head))
        .filter(audit_events::organization_id.eq(organization_id))
        .filter(not_in_chain())
        .count()
        .get_result(conn)
        .await?;
    #[derive(QueryableByName)]
    struct Late {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        late: i64,
    }
    // One gap at a time, as in `filled_gaps`.
    let late: Late = diesel::sql_query(
        "SELECT count(*) AS late \
         FROM audit_seal_gaps g \
         CROSS JOIN LATERAL ( \
             SELECT 1 FROM audit_events e \
             WHERE e.seq BETWEEN g.first_seq AND least(g.last_seq, $1) \
               AND e.organization_id = $2 \
               AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_seq = e.seq) \
         ) e",
    )
    .bind::<diesel::sql_types::BigInt, _>(head)
    .bind::<diesel::sql_types::Uuid, _>(organization_id)
    .get_result(conn)
    .await?;
    Ok(fresh + late.late)
}

/// Filters for the audit log; all optional.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub participant_id: Option<Uuid>,
    pub resource_type: Option<&'static str>,
    pub action: Option<&'static str>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// An organization's audit events, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &AuditFilter,
    page: &crate::db::pagination::PageRequest,
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
        // Single-participant events, and lists that returned them. The literal `<> '{}'` lets
        // the partial GIN index on `participant_ids` serve the second half.
        let listed = Fragment::<Bool>::new("audit_events.participant_ids <> '{}'")
            .and(audit_events::participant_ids.contains(vec![participant]));
        query = query.filter(audit_events::participant_id.eq(participant).or(listed));
    }
    if let Some(resource_type) = filter.resource_type {
        query = query.filter(audit_events::resource_type.eq(resource_type));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_events::action.eq(action));
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
    if let Some(crate::db::pagination::Cursor::After(before)) = page.cursor {
        query = query.filter(audit_events::id.lt(before));
    }
    query.load(conn).await
}

/// The kinds of object that belong to one participant, whose refusals name that participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Goal,
    ActionItem,
    SessionNote,
    Assessment,
    Pairing,
}

/// The participant object `id` of kind `owned` belongs to, when it exists in the
/// organization (never a participant of another organization: the row goes to this one's log).
pub async fn owner_of(
    conn: &mut AsyncPgConnection,
    owned: Owned,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Uuid>> {
    #[derive(QueryableByName)]
    struct Owner {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        participant_id: Uuid,
    }
    let sql = match owned {
        Owned::Goal => "SELECT participant_id FROM goals WHERE id = $1 AND organization_id = $2",
        Owned::SessionNote => {
            "SELECT participant_id FROM session_notes WHERE id = $1 AND organization_id = $2"
        }
        Owned::Assessment => {
            "SELECT participant_id FROM assessments WHERE id = $1 AND organization_id = $2"
        }
        Owned::Pairing => {
            "SELECT participant_id FROM pairings WHERE id = $1 AND organization_id = $2"
        }
        Owned::ActionItem => {
            "SELECT a.participant_id FROM action_items a JOIN goals g ON g.id = a.goal_id \
             WHERE a.id = $1 AND g.organization_id = $2"
        }
    };
    let owner: Option<Owner> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Uuid, _>(organization_id)
        .get_result(conn)
        .await
        .optional()?;
    Ok(owner.map(|owner| owner.participant_id))
}
