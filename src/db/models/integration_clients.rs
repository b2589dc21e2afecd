use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::integration_clients;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = integration_clients)]
pub struct IntegrationClient {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub client_id: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub active: bool,
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn find_by_client_id(
    conn: &mut AsyncPgConnection,
    client_id: &str,
) -> QueryResult<Option<IntegrationClient>> {
    integration_clients::table
        .filter(integration_clients::client_id.eq(client_id))
        .select(IntegrationClient::as_select())
        .first(conn)
        .await
        .optional()
}

/// The live state of a client token's subject.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = integration_clients)]
pub struct SessionState {
    pub organization_id: Uuid,
    pub token_version: i32,
    pub scopes: Vec<String>,
}

/// The live state of an active client, `None` when it does not exist or is deactivated.
pub async fn session_state(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<SessionState>> {
    integration_clients::table
        .find(id)
        .filter(integration_clients::active.eq(true))
        .select(SessionState::as_select())
        .first(conn)
        .await
        .optional()
}
