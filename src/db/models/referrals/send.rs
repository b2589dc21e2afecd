//! Sending a referral in SQL: whom it reaches, under which consent, and what it leaves behind,
//! as `WITH` parts that a create puts beside its insert (one statement for the whole create)
//! and that sending a draft runs on its own.
//!
//! ```text
//! resource   AS (the resource, only while it takes referrals)
//! linked     AS (the active clients linked to it, with when each was linked)
//! recipients AS (linked, or one row with no client when there is none)
//! chosen     AS (each recipient with the consent it is sent under, or NULL)
//! disclosed  AS (INSERT INTO disclosures: one per recipient, under its consent)
//! announced  AS (INSERT INTO webhook_events: `referral.created` to each linked client)
//! ```
//!
//! The consent of a recipient is the given one, or else the participant's most recently signed
//! one, that is active, covers `referral_details`, and names the recipient's client, or names
//! the resource and is no older than the client's link to it (a client linked later was not
//! named when the participant signed). Each consent used is locked (`FOR SHARE`) until the
//! transaction ends, so a revocation running at the same time waits for the send, or the send
//! sees it and is refused.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::consents::InformationCategory;
use crate::db::models::resources::ResourceStatus;
use crate::db::models::webhook_events::{EventType, CAN_RECEIVE};

/// What a send needs to know before it is written.
pub struct Sending<'a> {
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub resource_id: Uuid,
    /// The consent the sender named, if any.
    pub given_consent: Option<Uuid>,
    pub urgency: &'a str,
    pub request_id: &'a str,
    pub at: chrono::DateTime<chrono::Utc>,
}

const REFERRAL_DETAILS: &str = InformationCategory::ReferralDetails.as_str();
const DEMOGRAPHICS: &str = InformationCategory::Demographics.as_str();
const INACTIVE: &str = ResourceStatus::Inactive.as_str();
const DEFUNCT: &str = ResourceStatus::Defunct.as_str();
const CREATED: &str = EventType::ReferralCreated.as_str();
static DETAILS_ONLY: [&str; 1] = [REFERRAL_DETAILS];
static DETAILS_AND_DEMOGRAPHICS: [&str; 2] = [REFERRAL_DETAILS, DEMOGRAPHICS];

impl Sending<'_> {
    /// `linked`, `recipients` and `chosen`, after `resource`.
    pub fn push_consents<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(", linked AS (SELECT l.client_id, l.linked_at, ");
        out.push_sql(CAN_RECEIVE);
        out.push_sql(
            " AS can_receive FROM integration_client_resources l \
             JOIN integration_clients c ON c.id = l.client_id \
             WHERE l.resource_id = ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.resource_id)?;
        out.push_sql(
            " AND c.active), \
             recipients AS (SELECT client_id, linked_at FROM linked \
             UNION ALL SELECT NULL::uuid, NULL::timestamptz WHERE NOT EXISTS (SELECT FROM linked)), \
             chosen AS (SELECT r.client_id, (SELECT k.id FROM consents k WHERE k.participant_id = ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.participant_id)?;
        if let Some(given) = &self.given_consent {
            out.push_sql(" AND k.id = ");
            out.push_bind_param::<SqlUuid, _>(given)?;
        }
        out.push_sql(
            " AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()) \
             AND ",
        );
        out.push_bind_param::<Text, _>(REFERRAL_DETAILS)?;
        out.push_sql(
            " = ANY (k.information_categories) \
             AND (k.recipient_client_id = r.client_id OR (k.recipient_resource_id = ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.resource_id)?;
        out.push_sql(
            " AND (r.linked_at IS NULL \
             OR (r.linked_at <= k.signed_at AND r.linked_at <= k.created_at)))) \
             ORDER BY k.signed_at DESC, k.id DESC LIMIT 1 FOR SHARE) AS consent_id \
             FROM recipients r)",
        );
        Ok(())
    }

    /// `disclosed` and `announced`, after the consents and a CTE `made` holding the referral
    /// (its `id`, `organization_id` and `participant_id`). Both write only when every
    /// recipient has a consent.
    pub fn push_effects<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            ", disclosed AS (INSERT INTO disclosures (id, organization_id, participant_id, \
             disclosed_at, recipient_client_id, recipient_resource_id, recipient_name, \
             recipient_address, information_categories, description, purpose, consent_id, \
             referral_id, request_id) \
             SELECT gen_random_uuid(), made.organization_id, made.participant_id, ",
        );
        out.push_bind_param::<Timestamptz, _>(&self.at)?;
        out.push_sql(
            ", chosen.client_id, resource.id, \
             resource.name || ' (' || resource.organization_name || ')', \
             NULLIF(concat_ws(', ', \
                 CASE WHEN resource.address_1 ~ '\\S' THEN resource.address_1 END, \
                 CASE WHEN resource.address_2 ~ '\\S' THEN resource.address_2 END, \
                 CASE WHEN resource.city ~ '\\S' THEN resource.city END, \
                 CASE WHEN resource.state_province ~ '\\S' THEN resource.state_province END, \
                 CASE WHEN resource.postal_code ~ '\\S' THEN resource.postal_code END, \
                 CASE WHEN resource.country ~ '\\S' THEN resource.country END), ''), \
             CASE WHEN ",
        );
        out.push_bind_param::<Text, _>(DEMOGRAPHICS)?;
        out.push_sql(" = ANY (k.information_categories) THEN ");
        out.push_bind_param::<Array<Text>, _>(&DETAILS_AND_DEMOGRAPHICS[..])?;
        out.push_sql("::text[] ELSE ");
        out.push_bind_param::<Array<Text>, _>(&DETAILS_ONLY[..])?;
        out.push_sql(
            "::text[] END, 'Referral sent: the participant''s name with the reason and urgency (' || ",
        );
        out.push_bind_param::<Text, _>(self.urgency)?;
        out.push_sql(" || ')', k.purpose, k.id, made.id, ");
        out.push_bind_param::<Text, _>(self.request_id)?;
        out.push_sql(
            " FROM made, resource, chosen JOIN consents k ON k.id = chosen.consent_id \
             WHERE NOT EXISTS (SELECT FROM chosen WHERE consent_id IS NULL) RETURNING 1), \
             announced AS (INSERT INTO webhook_events (id, organization_id, client_id, \
             event_type, occurred_at, data, state) \
             SELECT gen_random_uuid(), made.organization_id, linked.client_id, ",
        );
        out.push_bind_param::<Text, _>(CREATED)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.at)?;
        out.push_sql(
            ", jsonb_build_object('referral_id', made.id), \
             CASE WHEN linked.can_receive THEN 'pending' ELSE 'held' END \
             FROM made, linked \
             WHERE NOT EXISTS (SELECT FROM chosen WHERE consent_id IS NULL) RETURNING 1)",
        );
        Ok(())
    }

    /// The consent the referral itself records: the first recipient's.
    pub fn push_referral_consent(out: &mut AstPass<'_, '_, Pg>) {
        out.push_sql("(SELECT consent_id FROM chosen ORDER BY client_id NULLS FIRST LIMIT 1)");
    }

    /// Whether every recipient has a consent.
    pub fn push_consented(out: &mut AstPass<'_, '_, Pg>) {
        out.push_sql("NOT EXISTS (SELECT FROM chosen WHERE consent_id IS NULL)");
    }
}

/// `resource AS (…)`: resource `id`, when it is the organization's and takes referrals.
pub fn push_resource<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    organization_id: &'b Uuid,
    id: &'b Uuid,
) -> QueryResult<()> {
    out.push_sql(
        "resource AS (SELECT id, name, organization_name, address_1, address_2, city, \
         state_province, postal_code, country FROM resources WHERE organization_id = ",
    );
    out.push_bind_param::<SqlUuid, _>(organization_id)?;
    out.push_sql(" AND id = ");
    out.push_bind_param::<SqlUuid, _>(id)?;
    out.push_sql(" AND accepts_referrals AND status NOT IN (");
    out.push_bind_param::<Text, _>(INACTIVE)?;
    out.push_sql(", ");
    out.push_bind_param::<Text, _>(DEFUNCT)?;
    out.push_sql("))");
    Ok(())
}

/// Sending a draft that exists: the consent it goes under (every recipient's, `None` when one
/// has none), with its disclosures and events written when there is one.
struct SendDraft<'a> {
    referral_id: Uuid,
    sending: &'a Sending<'a>,
}

/// Sends draft `referral_id` as `sending` describes: whether every recipient had a consent
/// (nothing is written otherwise), and the consent the referral records.
pub async fn send_draft(
    conn: &mut AsyncPgConnection,
    referral_id: Uuid,
    sending: &Sending<'_>,
) -> QueryResult<(bool, Option<Uuid>)> {
    SendDraft {
        referral_id,
        sending,
    }
    .get_result(conn)
    .await
}

impl diesel::query_builder::Query for SendDraft<'_> {
    /// Whether every recipient had a consent, and the one the referral records.
    type SqlType = (
        diesel::sql_types::Bool,
        diesel::sql_types::Nullable<SqlUuid>,
    );
}

// The text differs with the given consent, so statements are cached by their SQL.
impl diesel::query_builder::QueryId for SendDraft<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for SendDraft<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH made AS (SELECT id, organization_id, participant_id FROM referrals WHERE id = ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.referral_id)?;
        out.push_sql("), ");
        let sending = self.sending;
        push_resource(&mut out, &sending.organization_id, &sending.resource_id)?;
        self.sending.push_consents(&mut out)?;
        self.sending.push_effects(&mut out)?;
        out.push_sql(" SELECT ");
        Sending::push_consented(&mut out);
        out.push_sql(", ");
        Sending::push_referral_consent(&mut out);
        Ok(())
    }
}
