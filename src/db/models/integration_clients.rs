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
    /// `None` for a client that signs in with its key set only.
    pub secret_hash: Option<String>,
    pub scopes: Vec<String>,
    pub active: bool,
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where the client publishes the public keys it signs assertions with.
    pub jwks_url: Option<String>,
    /// The public keys it signs assertions with, registered inline.
    pub jwks: Option<serde_json::Value>,
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

/// A client as its admins see it: everything but its secrets.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = integration_clients)]
pub struct ClientRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub active: bool,
    pub token_version: i32,
    pub webhook_url: Option<String>,
    pub webhook_disabled_at: Option<DateTime<Utc>>,
    pub webhook_disabled_reason: Option<String>,
    /// Until when deliveries are also signed with the webhook secret rotated away.
    pub previous_webhook_secret_until: Option<DateTime<Utc>>,
    pub jwks_url: Option<String>,
    pub jwks: Option<serde_json::Value>,
    /// Whether it has a client secret (a client may sign in with its key set only).
    #[diesel(select_expression = integration_clients::secret_hash.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<integration_clients::secret_hash>)]
    pub has_secret: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = integration_clients)]
pub struct NewClient<'a> {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: &'a str,
    pub client_id: &'a str,
    pub secret_hash: Option<&'a str>,
    pub scopes: &'a [String],
    pub webhook_url: Option<&'a str>,
    pub webhook_secret: &'a str,
    pub jwks_url: Option<&'a str>,
    pub jwks: Option<&'a serde_json::Value>,
    pub created_by: Uuid,
}

/// Changes to a client; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = integration_clients)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub active: Option<bool>,
    pub token_version: Option<i32>,
    pub webhook_url: Option<Option<String>>,
    pub webhook_disabled_at: Option<Option<DateTime<Utc>>>,
    pub webhook_disabled_reason: Option<Option<String>>,
    pub webhook_failing_since: Option<Option<DateTime<Utc>>>,
    pub secret_hash: Option<Option<String>>,
    pub jwks_url: Option<Option<String>>,
    pub jwks: Option<Option<serde_json::Value>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewClient<'_>) -> QueryResult<()> {
    diesel::insert_into(integration_clients::table)
        .values(new)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn find_in_org(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<ClientRecord> {
    integration_clients::table
        .find(id)
        .filter(integration_clients::organization_id.eq(organization_id))
        .select(ClientRecord::as_select())
        .first(conn)
        .await
}

/// [`find_in_org`] with the row locked for the transaction.
pub async fn lock_in_org(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<ClientRecord> {
    integration_clients::table
        .find(id)
        .filter(integration_clients::organization_id.eq(organization_id))
        .select(ClientRecord::as_select())
        .for_update()
        .first(conn)
        .await
}

/// One page of the organization's clients, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    after: Option<Uuid>,
    fetch: i64,
) -> QueryResult<Vec<ClientRecord>> {
    let mut query = integration_clients::table
        .filter(integration_clients::organization_id.eq(organization_id))
        .select(ClientRecord::as_select())
        .order(integration_clients::id.asc())
        .limit(fetch)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(integration_clients::id.gt(after));
    }
    query.load(conn).await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &ClientChanges,
) -> QueryResult<ClientRecord> {
    diesel::update(integration_clients::table.find(id))
        .set(changes)
        .returning(ClientRecord::as_returning())
        .get_result(conn)
        .await
}

/// Makes `secret` the client's webhook secret and keeps the one it replaces valid for signing
/// until `keep_until` (none is kept when the client had no secret).
pub async fn rotate_webhook_secret(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    secret: &str,
    keep_until: DateTime<Utc>,
) -> QueryResult<()> {
    use diesel::sql_types::{Text, Timestamptz};
    diesel::sql_query(
        "UPDATE integration_clients
         SET previous_webhook_secret = webhook_secret,
             previous_webhook_secret_until = CASE WHEN webhook_secret IS NULL THEN NULL ELSE $3 END,
             webhook_secret = $2,
             updated_at = now()
         WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<Text, _>(secret)
    .bind::<Timestamptz, _>(keep_until)
    .execute(conn)
    .await
    .map(drop)
}

/// The resources each of `client_ids` is linked to, as `(client, resource)` pairs.
pub async fn resource_links(
    conn: &mut AsyncPgConnection,
    client_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid)>> {
    use crate::db::schema::integration_client_resources as links;
    links::table
        .filter(links::client_id.eq_any(client_ids))
        .select((links::client_id, links::resource_id))
        .order((links::client_id, links::resource_id))
        .load(conn)
        .await
}

/// Which of `resource_ids` are not resources of the organization.
pub async fn foreign_resources(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    resource_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    use crate::db::schema::resources;
    let found: Vec<Uuid> = resources::table
        .filter(resources::organization_id.eq(organization_id))
        .filter(resources::id.eq_any(resource_ids))
        .select(resources::id)
        .load(conn)
        .await?;
    Ok(resource_ids
        .iter()
        .filter(|id| !found.contains(id))
        .copied()
        .collect())
}

/// Links the client to exactly `resource_ids` (checked to be the organization's). Links it
/// keeps keep their `linked_at`: a consent naming one of those resources goes on covering it.
pub async fn set_resources(
    conn: &mut AsyncPgConnection,
    client: &ClientRecord,
    resource_ids: &[Uuid],
) -> QueryResult<()> {
    use crate::db::schema::integration_client_resources as links;
    diesel::delete(
        links::table
            .filter(links::client_id.eq(client.id))
            .filter(diesel::dsl::not(links::resource_id.eq_any(resource_ids))),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = resource_ids
        .iter()
        .map(|resource_id| {
            (
                links::client_id.eq(client.id),
                links::resource_id.eq(*resource_id),
                links::organization_id.eq(client.organization_id),
            )
        })
        .collect();
    diesel::insert_into(links::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// Remembers the `jti` of an assertion `client` signed, until it expires; `false` (and nothing
/// written) when it was used before: a replay. The primary key decides, so two instances on
/// one database cannot both accept it.
pub async fn remember_assertion(
    conn: &mut AsyncPgConnection,
    client: Uuid,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<bool> {
    use crate::db::schema::client_assertion_jtis as jtis;
    let written = diesel::insert_into(jtis::table)
        .values((
            jtis::client_id.eq(client),
            jtis::jti.eq(jti),
            jtis::expires_at.eq(expires_at),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(written == 1)
}

/// Forgets the `jti`s of assertions that expired before `before`: they can no longer be
/// replayed, as an expired assertion is refused anyway.
pub async fn forget_expired_assertions(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    use crate::db::schema::client_assertion_jtis as jtis;
    diesel::delete(jtis::table.filter(jtis::expires_at.lt(before)))
        .execute(conn)
        .await
}
