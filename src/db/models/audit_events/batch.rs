//! Many audit rows in one statement: the rows of concurrent reads, written together (see
//! `crate::audit::batch`).
//!
//! ```text
//! INSERT INTO audit_events (…) SELECT … FROM unnest($1::uuid[], …, $18::int4[]) AS v(…)
//! WHERE v.token_version IS NULL OR EXISTS (<the account the row's token still holds>)
//! RETURNING id
//! ```
//!
//! Each row keeps the guarantee of [`super::insert`]: a row whose token no longer speaks for
//! its user is not written, and its id is missing from what the statement returns.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::NewAuditEvent;
use crate::db::models::users::Session;

/// Before the arrays, and after them: the `EXISTS` is `users::live` row by row, the same five
/// conditions.
const INSERT: &str = "\
INSERT INTO audit_events (id, at, actor_id, actor_role, client_id, organization_id, action, \
resource_type, resource_id, participant_id, participant_ids, outcome, request_id, ip) \
SELECT v.id, v.at, v.actor_id, v.actor_role, v.client_id, v.organization_id, v.action, \
v.resource_type, v.resource_id, v.participant_id, v.participant_ids::uuid[], v.outcome, \
v.request_id, v.ip FROM unnest(";
const FROM: &str = ") AS v(id, at, actor_id, actor_role, client_id, organization_id, action, \
resource_type, resource_id, participant_id, participant_ids, outcome, request_id, ip, \
session_user_id, session_organization_id, session_role, token_version) \
WHERE v.token_version IS NULL OR EXISTS (SELECT FROM users u \
WHERE u.id = v.session_user_id AND u.organization_id = v.session_organization_id \
AND u.role = v.session_role AND u.active AND u.token_version = v.token_version) \
RETURNING id";

/// Writes `rows` (each with the session its row is written only while live, when given);
/// returns the ids of the rows written.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    rows: &[(NewAuditEvent, Option<Session>)],
) -> QueryResult<Vec<Uuid>> {
    Columns::of(rows).load(conn).await
}

/// The rows as one array a column, in the order of the statement's `unnest`.
struct Columns {
    id: Vec<Uuid>,
    at: Vec<DateTime<Utc>>,
    actor_id: Vec<Option<Uuid>>,
    actor_role: Vec<Option<String>>,
    client_id: Vec<Option<Uuid>>,
    organization_id: Vec<Option<Uuid>>,
    action: Vec<&'static str>,
    resource_type: Vec<&'static str>,
    resource_id: Vec<Option<String>>,
    participant_id: Vec<Option<Uuid>>,
    participant_ids: Vec<String>,
    outcome: Vec<String>,
    request_id: Vec<String>,
    ip: Vec<Option<String>>,
    session_user_id: Vec<Option<Uuid>>,
    session_organization_id: Vec<Option<Uuid>>,
    session_role: Vec<Option<&'static str>>,
    token_version: Vec<Option<i32>>,
}

impl Columns {
    fn of(rows: &[(NewAuditEvent, Option<Session>)]) -> Self {
        let events = || rows.iter().map(|(event, _)| event);
        let sessions = || rows.iter().map(|(_, session)| *session);
        Self {
            id: events().map(|e| e.id).collect(),
            at: events().map(|e| e.at).collect(),
            actor_id: events().map(|e| e.actor_id).collect(),
            actor_role: events().map(|e| e.actor_role.clone()).collect(),
            client_id: events().map(|e| e.client_id).collect(),
            organization_id: events().map(|e| e.organization_id).collect(),
            action: events().map(|e| e.action).collect(),
            resource_type: events().map(|e| e.resource_type).collect(),
            resource_id: events().map(|e| e.resource_id.clone()).collect(),
            participant_id: events().map(|e| e.participant_id).collect(),
            participant_ids: events().map(uuid_array).collect(),
            outcome: events().map(|e| e.outcome.clone()).collect(),
            request_id: events().map(|e| e.request_id.clone()).collect(),
            ip: events().map(|e| e.ip.clone()).collect(),
            session_user_id: sessions().map(|s| s.map(|s| s.user_id)).collect(),
            session_organization_id: sessions().map(|s| s.map(|s| s.organization_id)).collect(),
            session_role: sessions().map(|s| s.map(|s| s.role.as_str())).collect(),
            token_version: sessions().map(|s| s.map(|s| s.token_version)).collect(),
        }
    }
}

impl Query for Columns {
    type SqlType = SqlUuid;
}

// One text whatever the rows, so PostgreSQL keeps the statement prepared (diesel's
// `sql_query` never is).
impl QueryId for Columns {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Columns {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(INSERT);
        out.push_bind_param::<Array<SqlUuid>, _>(&self.id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.at)?;
        out.push_sql("::timestamptz[], ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.actor_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.actor_role)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.client_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.organization_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Text>, _>(&self.action)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Text>, _>(&self.resource_type)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.resource_id)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.participant_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Text>, _>(&self.participant_ids)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Text>, _>(&self.outcome)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Text>, _>(&self.request_id)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.ip)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.session_user_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(&self.session_organization_id)?;
        out.push_sql("::uuid[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.session_role)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<Int4>>, _>(&self.token_version)?;
        out.push_sql("::int4[]");
        out.push_sql(FROM);
        Ok(())
    }
}

/// `{a,b}`: a list of ids as PostgreSQL's array text, for a column of arrays passed as one
/// array (PostgreSQL arrays of arrays must be rectangular).
fn uuid_array(event: &NewAuditEvent) -> String {
    let ids: Vec<String> = event.participant_ids.iter().map(Uuid::to_string).collect();
    format!("{{{}}}", ids.join(","))
}
