//! A clinic's own identifiers of a participant, such as the medical record number its system
//! knows them by. Each belongs to the integration client that sent it, and only that client
//! is shown it.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::participant_identifiers;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = participant_identifiers)]
pub struct ClientIdentifier {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub client_id: Uuid,
    /// HL7 v2 table 0203 (`MR` for a medical record number), when given.
    pub type_code: Option<String>,
    pub system: Option<String>,
    pub value: String,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    identifiers: &[ClientIdentifier],
) -> QueryResult<()> {
    if identifiers.is_empty() {
        return Ok(());
    }
    diesel::insert_into(participant_identifiers::table)
        .values(identifiers)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The identifiers `client_id` gave for `participant_id`, oldest first.
pub async fn of_client(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    client_id: Uuid,
) -> QueryResult<Vec<ClientIdentifier>> {
    participant_identifiers::table
        .filter(participant_identifiers::participant_id.eq(participant_id))
        .filter(participant_identifiers::client_id.eq(client_id))
        .order(participant_identifiers::created_at)
        .select(ClientIdentifier::as_select())
        .load(conn)
        .await
}
