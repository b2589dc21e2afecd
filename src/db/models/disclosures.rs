//! The accounting of disclosures: every time participant data left the organization, to
//! whom, what, why and under which consent. Rows are only ever added.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::disclosures;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = disclosures)]
pub struct Disclosure {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub disclosed_at: DateTime<Utc>,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_resource_id: Option<Uuid>,
    pub recipient_name: String,
    pub recipient_address: Option<String>,
    pub information_categories: Vec<String>,
    pub description: String,
    pub purpose: String,
    pub consent_id: Option<Uuid>,
    pub referral_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// One disclosure to record. `id` and `disclosed_at` are set by [`record`].
#[derive(Debug, Clone)]
pub struct NewDisclosure {
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_resource_id: Option<Uuid>,
    pub recipient_name: String,
    pub recipient_address: Option<String>,
    pub information_categories: Vec<String>,
    pub description: String,
    pub purpose: String,
    pub consent_id: Option<Uuid>,
    pub referral_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// Records a disclosure, in the transaction (or unit of work) that makes it.
pub async fn record(conn: &mut AsyncPgConnection, new: NewDisclosure) -> QueryResult<Disclosure> {
    diesel::insert_into(disclosures::table)
        .values((
            disclosures::id.eq(Uuid::now_v7()),
            disclosures::organization_id.eq(new.organization_id),
            disclosures::participant_id.eq(new.participant_id),
            disclosures::disclosed_at.eq(Utc::now()),
            disclosures::recipient_client_id.eq(new.recipient_client_id),
            disclosures::recipient_resource_id.eq(new.recipient_resource_id),
            disclosures::recipient_name.eq(new.recipient_name),
            disclosures::recipient_address.eq(new.recipient_address),
            disclosures::information_categories.eq(new.information_categories),
            disclosures::description.eq(new.description),
            disclosures::purpose.eq(new.purpose),
            disclosures::consent_id.eq(new.consent_id),
            disclosures::referral_id.eq(new.referral_id),
            disclosures::request_id.eq(new.request_id),
        ))
        .returning(Disclosure::as_returning())
        .get_result(conn)
        .await
}
