//! The one statement that writes an audit row.
//!
//! ```text
//! WITH claimed AS (INSERT INTO idempotency_keys … ON CONFLICT DO NOTHING RETURNING 1),
//!      written AS (INSERT INTO audit_events … SELECT $1, …, $14
//!                  WHERE EXISTS (<the user's live account>) AND EXISTS (SELECT FROM claimed)
//!                  RETURNING 1)
//! SELECT EXISTS (SELECT FROM claimed), EXISTS (SELECT FROM written)
//! ```
//!
//! The row is written only while the caller's token still speaks for their account (when the
//! token is not yet checked), and a create's success row only together with its
//! `Idempotency-Key`: one round trip for what would otherwise be three.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::QueryId;
use diesel::query_builder::{AstPass, BoxedSelectStatement, FromClause, Query, QueryFragment};
use diesel::sql_types::{Array, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::NewAuditEvent;
use crate::db::models::idempotency_keys::IdempotencyRecord;
use crate::db::models::users::{self, Session};
use crate::db::schema::users as users_table;

/// What writing an audit row came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The row (and the key, if any) is written.
    Row,
    /// Nothing is written: the token no longer speaks for its user.
    StaleSession,
    /// Nothing is written: another request holds the idempotency key.
    KeyTaken,
}

/// Writes `event`; while `session` still speaks for its user, when given; together with
/// `claim`, when given.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    event: &NewAuditEvent,
    session: Option<Session>,
    claim: Option<&IdempotencyRecord>,
) -> QueryResult<Written> {
    let statement = Statement {
        event,
        live: session.map(|session| users::live(session).select(users_table::id)),
        claim,
    };
    let (claimed, written): (bool, bool) = statement.get_result(conn).await?;
    Ok(match (claimed, written) {
        (_, true) => Written::Row,
        (false, false) => Written::KeyTaken,
        (true, false) => Written::StaleSession,
    })
}

type LiveAccount = BoxedSelectStatement<'static, SqlUuid, FromClause<users_table::table>, Pg>;

struct Statement<'a> {
    event: &'a NewAuditEvent,
    live: Option<LiveAccount>,
    claim: Option<&'a IdempotencyRecord>,
}

impl Query for Statement<'_> {
    /// Whether the key was claimed (true without one), and whether the row was written.
    type SqlType = (Bool, Bool);
}

// The text differs with the key and the session, so statements are cached by their SQL.
impl QueryId for Statement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Statement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH ");
        if let Some(key) = self.claim {
            out.push_sql(
                "claimed AS (INSERT INTO idempotency_keys \
                 (caller_id, key, fingerprint, location, created_at, resource_id) VALUES (",
            );
            out.push_bind_param::<SqlUuid, _>(&key.caller_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&key.key)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&key.fingerprint)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&key.location)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamptz, _>(&key.created_at)?;
            out.push_sql(", ");
            out.push_bind_param::<SqlUuid, _>(&key.resource_id)?;
            out.push_sql(") ON CONFLICT DO NOTHING RETURNING 1), ");
        }
        out.push_sql(
            "written AS (INSERT INTO audit_events (id, at, actor_id, actor_role, client_id, \
             organization_id, action, resource_type, resource_id, participant_id, \
             participant_ids, outcome, request_id, ip) SELECT ",
        );
        let event = self.event;
        out.push_bind_param::<SqlUuid, _>(&event.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&event.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&event.actor_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&event.actor_role)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&event.client_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&event.organization_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(event.action)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(event.resource_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&event.resource_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&event.participant_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&event.participant_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&event.outcome)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&event.request_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&event.ip)?;
        out.push_sql(" WHERE true");
        if let Some(live) = &self.live {
            out.push_sql(" AND EXISTS (");
            QueryFragment::<Pg>::walk_ast(live, out.reborrow())?;
            out.push_sql(")");
        }
        if self.claim.is_some() {
            out.push_sql(" AND EXISTS (SELECT FROM claimed)");
        }
        out.push_sql(" RETURNING 1) SELECT ");
        out.push_sql(if self.claim.is_some() {
            "EXISTS (SELECT FROM claimed)"
        } else {
            "true"
        });
        out.push_sql(", EXISTS (SELECT FROM written)");
        Ok(())
    }
}
