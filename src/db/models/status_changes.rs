//! The status history kept for pairings, participants and other state machines.

use chrono::{DateTime, Utc};
use diesel::deserialize::FromSql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use diesel::query_builder::{QueryFragment, QueryId};

use crate::db::schema::status_changes;

/// A state machine's status enum, stored as its text (see `text_enum!`).
pub trait StoredStatus:
    FromSql<Text, Pg> + Queryable<Text, Pg, Row = Self> + Send + 'static
{
}

impl<S> StoredStatus for S where S: FromSql<Text, Pg> + Queryable<Text, Pg, Row = S> + Send + 'static
{}

/// One change of a subject's status, its statuses read as `S`: the status enum of the
/// subject's state machine, stored as its text.
#[derive(Debug, Clone, Queryable)]
pub struct StatusChange<S> {
    pub from_status: Option<S>,
    pub to_status: S,
    pub reason: Option<String>,
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

pub struct NewStatusChange<'a> {
    pub subject_type: &'a str,
    pub subject_id: Uuid,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub reason: Option<&'a str>,
    pub actor_id: Option<Uuid>,
    /// In whole microseconds, as PostgreSQL keeps it, so what a response shows from the value
    /// is what a later read shows.
    pub at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    change: NewStatusChange<'_>,
) -> QueryResult<usize> {
    insert_of(&change).execute(conn).await
}

/// The insert of `change`, to send on its own or with the statement that makes its subject
/// (see [`crate::db::with`]).
pub fn insert_of<'a>(
    change: &'a NewStatusChange<'a>,
) -> impl QueryFragment<Pg> + QueryId + Send + 'a {
    diesel::insert_into(status_changes::table).values((
        status_changes::id.eq(Uuid::now_v7()),
        status_changes::subject_type.eq(change.subject_type),
        status_changes::subject_id.eq(change.subject_id),
        status_changes::from_status.eq(change.from_status),
        status_changes::to_status.eq(change.to_status),
        status_changes::reason.eq(change.reason),
        status_changes::actor_id.eq(change.actor_id),
        status_changes::at.eq(change.at),
    ))
}

/// The history of one subject, oldest first; a stored status `S` does not know is an error.
pub async fn for_subject<S>(
    conn: &mut AsyncPgConnection,
    subject_id: Uuid,
) -> QueryResult<Vec<StatusChange<S>>>
where
    S: StoredStatus,
{
    status_changes::table
        .filter(status_changes::subject_id.eq(subject_id))
        .order((status_changes::at.asc(), status_changes::id.asc()))
        .select((
            status_changes::from_status,
            status_changes::to_status,
            status_changes::reason,
            status_changes::actor_id,
            status_changes::at,
        ))
        .load(conn)
        .await
}

/// The history of the row whose id `$subject_id` names (a qualified column such as
/// `participants.id`), oldest first, as a JSON array of `{from, to, reason, actor_id, at}`:
/// selected beside its subject, so one query reads both.
macro_rules! history_json {
    ($subject_id:literal) => {
        $crate::db::fragment::Fragment::<diesel::sql_types::Jsonb>::new(concat!(
            "(SELECT coalesce(jsonb_agg(jsonb_build_object('from', s.from_status, ",
            "'to', s.to_status, 'reason', s.reason, 'actor_id', s.actor_id, 'at', s.at) ",
            "ORDER BY s.at, s.id), '[]') FROM status_changes s WHERE s.subject_id = ",
            $subject_id,
            ")"
        ))
    };
}
pub(crate) use history_json;
