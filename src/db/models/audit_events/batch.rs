//! Many audit rows in one statement: the rows of concurrent reads, written together (see
//! `crate::audit::batch`).
//!
//! ```text
//! INSERT INTO audit_events (…) SELECT … FROM unnest($1, …, $18) AS v(…)
//! WHERE v.token_version IS NULL OR EXISTS (<the account the row's token still holds>)
//! RETURNING id
//! ```
//!
//! Each row keeps the guarantee of [`super::insert`]: a row whose token no longer speaks for
//! its user is not written, and its id is missing from what the statement returns.

use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::NewAuditEvent;
use crate::db::models::users::Session;

/// The statement's text. The `EXISTS` is `users::live` row by row: the same five conditions.
const INSERT_MANY: &str = "\
INSERT INTO audit_events (id, at, actor_id, actor_role, client_id, organization_id, action, \
resource_type, resource_id, participant_id, participant_ids, outcome, request_id, ip) \
SELECT v.id, v.at, v.actor_id, v.actor_role, v.client_id, v.organization_id, v.action, \
v.resource_type, v.resource_id, v.participant_id, v.participant_ids::uuid[], v.outcome, \
v.request_id, v.ip \
FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], \
$7::text[], $8::text[], $9::text[], $10::uuid[], $11::text[], $12::text[], $13::text[], \
$14::text[], $15::uuid[], $16::uuid[], $17::text[], $18::int4[]) \
AS v(id, at, actor_id, actor_role, client_id, organization_id, action, resource_type, \
resource_id, participant_id, participant_ids, outcome, request_id, ip, session_user_id, \
session_organization_id, session_role, token_version) \
WHERE v.token_version IS NULL OR EXISTS (SELECT FROM users u \
WHERE u.id = v.session_user_id AND u.organization_id = v.session_organization_id \
AND u.role = v.session_role AND u.active AND u.token_version = v.token_version) \
RETURNING id";

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Writes `rows` (each with the session its row is written only while live, when given);
/// returns the ids of the rows written.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    rows: &[(NewAuditEvent, Option<Session>)],
) -> QueryResult<Vec<Uuid>> {
    let column = |f: &dyn Fn(&NewAuditEvent) -> Option<String>| -> Vec<Option<String>> {
        rows.iter().map(|(event, _)| f(event)).collect()
    };
    let events = || rows.iter().map(|(event, _)| event);
    let sessions = || rows.iter().map(|(_, session)| *session);
    let written: Vec<Written> = diesel::sql_query(INSERT_MANY)
        .bind::<Array<SqlUuid>, _>(events().map(|e| e.id).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(events().map(|e| e.at).collect::<Vec<_>>())
        .bind::<Array<Nullable<SqlUuid>>, _>(events().map(|e| e.actor_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(column(&|e| e.actor_role.clone()))
        .bind::<Array<Nullable<SqlUuid>>, _>(events().map(|e| e.client_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<SqlUuid>>, _>(
            events().map(|e| e.organization_id).collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(events().map(|e| e.action).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events().map(|e| e.resource_type).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(column(&|e| e.resource_id.clone()))
        .bind::<Array<Nullable<SqlUuid>>, _>(events().map(|e| e.participant_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events().map(uuid_array).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events().map(|e| e.outcome.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events().map(|e| e.request_id.clone()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(column(&|e| e.ip.clone()))
        .bind::<Array<Nullable<SqlUuid>>, _>(
            sessions().map(|s| s.map(|s| s.user_id)).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<SqlUuid>>, _>(
            sessions()
                .map(|s| s.map(|s| s.organization_id))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Text>>, _>(
            sessions()
                .map(|s| s.map(|s| s.role.as_str().to_owned()))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Int4>>, _>(
            sessions()
                .map(|s| s.map(|s| s.token_version))
                .collect::<Vec<_>>(),
        )
        .load(conn)
        .await?;
    Ok(written.into_iter().map(|row| row.id).collect())
}

/// `{a,b}`: a list of ids as PostgreSQL's array text, for a column of arrays passed as one
/// array (PostgreSQL arrays of arrays must be rectangular).
fn uuid_array(event: &NewAuditEvent) -> String {
    let ids: Vec<String> = event.participant_ids.iter().map(Uuid::to_string).collect();
    format!("{{{}}}", ids.join(","))
}
