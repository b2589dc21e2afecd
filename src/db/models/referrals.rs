//! Referrals, outbound (to a resource in the directory) and inbound (from an integration
//! client), and what the closed loop reads beside them: the resource, its linked clients and
//! the participant's minimal demographics.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::consents::Consent;
use crate::db::models::resources::ResourceStatus;
use crate::db::pagination::{Cursor, PageRequest};
use crate::db::schema::{
    consents, integration_client_resources, integration_clients, participants, referrals, resources,
};
use crate::db::scope::{self, Scope, Viewer};

pub mod changes;
mod create;
pub mod send;

pub use create::insert_visible;
pub use send::send_draft;

crate::text_enum! {
    /// A referral's status: the FHIR Task codes of the HL7 SDOH Clinical Care guide.
    pub enum ReferralStatus {
        Draft => "draft",
        Requested => "requested",
        Accepted => "accepted",
        Rejected => "rejected",
        InProgress => "in-progress",
        OnHold => "on-hold",
        Failed => "failed",
        Completed => "completed",
        Cancelled => "cancelled",
        EnteredInError => "entered-in-error",
    }
}

crate::text_enum! {
    /// How soon the participant needs the service.
    pub enum Urgency {
        Routine => "routine",
        Urgent => "urgent",
    }
}

crate::text_enum! {
    /// `outbound`: to a resource in the directory; `inbound`: from an integration client.
    pub enum Direction {
        Outbound => "outbound",
        Inbound => "inbound",
    }
}

crate::text_enum! {
    /// How a completed or failed referral ended for the participant.
    pub enum ReferralOutcome {
        GotHelp => "got_help",
        NotEligible => "not_eligible",
        NoCapacity => "no_capacity",
        CouldNotContact => "could_not_contact",
        NoLongerInterested => "no_longer_interested",
        ReferredElsewhere => "referred_elsewhere",
        Other => "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referrals)]
pub struct Referral {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub resource_id: Option<Uuid>,
    pub direction: Direction,
    pub source_client_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub referring_provider: Option<String>,
    pub reason: String,
    pub urgency: Urgency,
    pub status: ReferralStatus,
    pub outcome: Option<ReferralOutcome>,
    pub consent_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = referrals)]
pub struct NewReferral {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub resource_id: Option<Uuid>,
    pub direction: Direction,
    pub source_client_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub referring_provider: Option<String>,
    pub reason: String,
    pub urgency: Urgency,
    pub status: ReferralStatus,
    pub consent_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub struct ReferralFilter {
    pub participant_id: Option<Uuid>,
    pub resource_id: Option<Uuid>,
    pub status: Option<ReferralStatus>,
    pub direction: Option<Direction>,
}

type Boxed<'a> = referrals::BoxedQuery<'a, Pg>;

/// The referrals `viewer` may see. Users: those of the participants in their scope. Clients:
/// sent referrals to a resource linked to them, and the inbound referrals they made.
pub fn visible<'a>(viewer: Viewer) -> Boxed<'a> {
    let query = referrals::table
        .filter(referrals::organization_id.eq(viewer.organization_id()))
        .into_boxed();
    match viewer {
        Viewer::User(scope) => {
            query.filter(referrals::participant_id.eq_any(scope::participant_ids(scope)))
        }
        Viewer::Client(client) => {
            let linked = integration_client_resources::table
                .filter(integration_client_resources::client_id.eq(client.client_id))
                .select(integration_client_resources::resource_id.nullable());
            query.filter(
                referrals::sent_at
                    .is_not_null()
                    .and(referrals::resource_id.eq_any(linked))
                    .or(referrals::source_client_id.eq(client.client_id)),
            )
        }
    }
}

pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    id: Uuid,
) -> QueryResult<Referral> {
    visible(viewer)
        .filter(referrals::id.eq(id))
        .select(Referral::as_select())
        .first(conn)
        .await
}

pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    id: Uuid,
) -> QueryResult<Referral> {
    referrals::table
        .filter(referrals::id.eq(id))
        .filter(referrals::id.eq_any(visible(viewer).select(referrals::id)))
        .select(Referral::as_select())
        .for_update()
        .first(conn)
        .await
}

/// A page of visible referrals, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    filter: &ReferralFilter,
    page: &PageRequest,
) -> QueryResult<Vec<Referral>> {
    let mut query = visible(viewer)
        .select(Referral::as_select())
        .order(referrals::id.desc())
        .limit(page.fetch_limit());
    if let Some(participant_id) = filter.participant_id {
        query = query.filter(referrals::participant_id.eq(participant_id));
    }
    if let Some(resource_id) = filter.resource_id {
        query = query.filter(referrals::resource_id.eq(resource_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(referrals::status.eq(status));
    }
    if let Some(direction) = filter.direction {
        query = query.filter(referrals::direction.eq(direction));
    }
    if let Some(Cursor::After(after)) = page.cursor {
        query = query.filter(referrals::id.lt(after));
    }
    query.load(conn).await
}

/// The latest referrals of `participant_id` that `viewer` may see, newest first.
pub async fn of_participant(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    participant_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<Referral>> {
    visible(viewer)
        .filter(referrals::participant_id.eq(participant_id))
        .select(Referral::as_select())
        .order(referrals::id.desc())
        .limit(limit)
        .load(conn)
        .await
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewReferral) -> QueryResult<Referral> {
    diesel::insert_into(referrals::table)
        .values(new)
        .returning(Referral::as_returning())
        .get_result(conn)
        .await
}

/// Moves `current` (read under its row lock) to `status`, keeping its outcome and consent
/// unless new ones are given; becoming `requested` stamps `sent_at` the first time.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    current: &Referral,
    status: ReferralStatus,
    outcome: Option<ReferralOutcome>,
    consent_id: Option<Uuid>,
) -> QueryResult<Referral> {
    let now = Utc::now();
    let sent = (status == ReferralStatus::Requested).then_some(now);
    diesel::update(referrals::table.find(current.id))
        .set((
            referrals::status.eq(status),
            referrals::outcome.eq(outcome.or(current.outcome)),
            referrals::consent_id.eq(consent_id.or(current.consent_id)),
            referrals::sent_at.eq(current.sent_at.or(sent)),
            referrals::updated_at.eq(now),
        ))
        .returning(Referral::as_returning())
        .get_result(conn)
        .await
}

/// Holds, until the transaction ends, the lock on one client's external id, so concurrent
/// posts of it run one after the other.
pub async fn lock_external_id(
    conn: &mut AsyncPgConnection,
    client_id: Uuid,
    external_id: &str,
) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(format!("inbound-referral:{client_id}:{external_id}"))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn find_external(
    conn: &mut AsyncPgConnection,
    client_id: Uuid,
    external_id: &str,
) -> QueryResult<Option<Referral>> {
    referrals::table
        .filter(referrals::source_client_id.eq(client_id))
        .filter(referrals::external_id.eq(external_id))
        .select(Referral::as_select())
        .first(conn)
        .await
        .optional()
}

/// A resource as a referral needs it: whether it takes referrals and where it is.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = resources)]
pub struct ReferralResource {
    pub id: Uuid,
    pub name: String,
    pub organization_name: String,
    pub status: ResourceStatus,
    pub accepts_referrals: bool,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub city: Option<String>,
    pub state_province: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl ReferralResource {
    /// The postal address on one line, when any part of it is known.
    pub fn address(&self) -> Option<String> {
        crate::db::models::resources::one_line([
            &self.address_1,
            &self.address_2,
            &self.city,
            &self.state_province,
            &self.postal_code,
            &self.country,
        ])
    }
}

pub async fn find_resource(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<ReferralResource>> {
    resources::table
        .filter(resources::organization_id.eq(organization_id))
        .filter(resources::id.eq(id))
        .select(ReferralResource::as_select())
        .first(conn)
        .await
        .optional()
}

/// The active integration clients linked to `resource_id` (its receivers), by id.
pub async fn linked_clients(
    conn: &mut AsyncPgConnection,
    resource_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    integration_client_resources::table
        .inner_join(integration_clients::table)
        .filter(integration_client_resources::resource_id.eq(resource_id))
        .filter(integration_clients::active.eq(true))
        .select(integration_clients::id)
        .order(integration_clients::id.asc())
        .load(conn)
        .await
}

/// An integration client's name, as a disclosure names its recipient.
pub async fn client_name(conn: &mut AsyncPgConnection, client_id: Uuid) -> QueryResult<String> {
    integration_clients::table
        .find(client_id)
        .select(integration_clients::name)
        .first(conn)
        .await
}

/// Which of `ids` are integration clients (the rest of a history's actors are users).
pub async fn clients_among(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    integration_clients::table
        .filter(integration_clients::id.eq_any(ids))
        .select(integration_clients::id)
        .load(conn)
        .await
}

/// The minimal demographics a consent may disclose to a clinic.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participants)]
pub struct Demographics {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
}

/// The details of a participant `scope` may see: `NotFound` otherwise.
pub async fn visible_demographics(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
) -> QueryResult<Demographics> {
    scope::participants(scope)
        .filter(participants::id.eq(participant_id))
        .select(Demographics::as_select())
        .first(conn)
        .await
}

pub async fn demographics(
    conn: &mut AsyncPgConnection,
    participant_ids: &[Uuid],
) -> QueryResult<Vec<Demographics>> {
    participants::table
        .filter(participants::id.eq_any(participant_ids))
        .select(Demographics::as_select())
        .load(conn)
        .await
}

/// Consent `consent_id` when it is one of `participant_id`'s, whatever its state.
pub async fn participant_consent(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    consent_id: Uuid,
) -> QueryResult<Option<Consent>> {
    consents::table
        .filter(consents::id.eq(consent_id))
        .filter(consents::participant_id.eq(participant_id))
        .select(Consent::as_select())
        .first(conn)
        .await
        .optional()
}
