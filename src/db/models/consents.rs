//! Written consents to disclose (42 CFR 2.31). Whether a consent is active is derived when it
//! is read, from its expiry and revocation, never stored.

use chrono::{DateTime, Utc};
use diesel::dsl::{exists, now};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::integration_client_resources as links;
use crate::db::schema::{consents, integration_clients, organizations, resources};
use crate::db::scope::{self, Scope};

crate::text_enum! {
    /// The kinds of information a consent lets the organization disclose.
    pub enum InformationCategory {
        Demographics => "demographics",
        ContactInformation => "contact_information",
        ReferralDetails => "referral_details",
        SubstanceUseHistory => "substance_use_history",
        TreatmentHistory => "treatment_history",
        RecoveryPlan => "recovery_plan",
        Assessments => "assessments",
        SessionNotes => "session_notes",
        Other => "other",
    }
}

crate::text_enum! {
    /// Who signed: the participant, or someone lawfully signing for them.
    pub enum SignerRelationship {
        SelfSigned => "self",
        Guardian => "guardian",
        AuthorizedRepresentative => "authorized_representative",
    }
}

crate::text_enum! {
    /// How the consent was signed. 42 CFR 2.31 asks for a written consent with the signer's
    /// signature, which may be electronic; an oral agreement is not one.
    pub enum SignatureMethod {
        Electronic => "electronic",
        WetInk => "wet_ink",
    }
}

crate::text_enum! {
    /// Derived when read: `revoked` once revoked, `expired` once `expires_at` has passed,
    /// `active` otherwise.
    pub enum ConsentState {
        Active => "active",
        Expired => "expired",
        Revoked => "revoked",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consents)]
pub struct Consent {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub discloser_name: String,
    pub recipient_resource_id: Option<Uuid>,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_name: String,
    pub purpose: String,
    pub information_categories: Vec<String>,
    pub information_description: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub expiration_event: Option<String>,
    pub signed_by_name: String,
    pub signer_relationship: String,
    pub signed_at: DateTime<Utc>,
    pub signature_method: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<Uuid>,
    pub revocation_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Consent {
    /// The state at `at` (normally now).
    pub fn state_at(&self, at: DateTime<Utc>) -> ConsentState {
        if self.revoked_at.is_some_and(|revoked| revoked <= at) {
            ConsentState::Revoked
        } else if self.expires_at.is_some_and(|expires| expires <= at) {
            ConsentState::Expired
        } else {
            ConsentState::Active
        }
    }

    pub fn covers(&self, category: InformationCategory) -> bool {
        self.information_categories
            .iter()
            .any(|c| c == category.as_str())
    }
}

/// Whom data would go to: an integration client, a resource in the directory, or both (a
/// resource linked to a client). A consent naming the client covers it; one naming the
/// resource covers the client only if the client was linked to the resource when the consent
/// was signed (and recorded): a clinic linked later was not among the recipients it named.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recipient {
    pub client_id: Option<Uuid>,
    pub resource_id: Option<Uuid>,
}

/// The most recently signed consent of `participant_id` that is active now, names
/// `recipient` and covers `category`; `None` when there is none. Evaluated on every call, so
/// a revocation or an expiry takes effect on the next request.
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    recipient: Recipient,
    category: InformationCategory,
) -> QueryResult<Option<Consent>> {
    if recipient.client_id.is_none() && recipient.resource_id.is_none() {
        return Ok(None);
    }
    // `= NULL` is never true, so an absent half of the recipient matches nothing.
    let names_client = consents::recipient_client_id.eq(recipient.client_id);
    let names_resource = consents::recipient_resource_id.eq(recipient.resource_id);
    let mut query = consents::table
        .filter(consents::participant_id.eq(participant_id))
        .into_boxed();
    query = match recipient.client_id {
        Some(client_id) => {
            let linked_before = links::table
                .filter(links::client_id.eq(client_id))
                .filter(
                    links::resource_id
                        .nullable()
                        .eq(consents::recipient_resource_id),
                )
                .filter(links::linked_at.le(consents::signed_at))
                .filter(links::linked_at.le(consents::created_at));
            query.filter(names_client.or(names_resource.and(exists(linked_before))))
        }
        None => query.filter(names_resource),
    };
    query
        .filter(consents::revoked_at.is_null())
        .filter(
            consents::expires_at
                .is_null()
                .or(consents::expires_at.gt(now)),
        )
        .filter(consents::information_categories.contains(vec![category.as_str()]))
        .order(consents::signed_at.desc())
        .select(Consent::as_select())
        .first(conn)
        .await
        .optional()
}

/// A consent to store. `recipient_name` and `discloser_name` are already resolved.
#[derive(Debug, Insertable)]
#[diesel(table_name = consents)]
pub struct NewConsent {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub discloser_name: String,
    pub recipient_resource_id: Option<Uuid>,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_name: String,
    pub purpose: String,
    pub information_categories: Vec<String>,
    pub information_description: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub expiration_event: Option<String>,
    pub signed_by_name: String,
    pub signer_relationship: String,
    pub signed_at: DateTime<Utc>,
    pub signature_method: String,
    pub created_by: Uuid,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewConsent) -> QueryResult<Uuid> {
    diesel::insert_into(consents::table)
        .values(new)
        .returning(consents::id)
        .get_result(conn)
        .await
}

/// The organization's name: who discloses, unless the consent names someone else.
pub async fn organization_name(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<String> {
    organizations::table
        .find(organization_id)
        .select(organizations::name)
        .first(conn)
        .await
}

/// The name of a resource of the organization, `None` when there is no such resource there.
pub async fn resource_name(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<String>> {
    resources::table
        .find(id)
        .filter(resources::organization_id.eq(organization_id))
        .select(resources::name)
        .first(conn)
        .await
        .optional()
}

/// The name of an integration client of the organization, `None` when there is none there.
pub async fn client_name(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<String>> {
    integration_clients::table
        .find(id)
        .filter(integration_clients::organization_id.eq(organization_id))
        .select(integration_clients::name)
        .first(conn)
        .await
        .optional()
}

/// A consent of a participant visible to `scope`.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Consent> {
    consents::table
        .filter(consents::id.eq(id))
        .filter(consents::participant_id.eq_any(scope::participant_ids(scope)))
        .select(Consent::as_select())
        .first(conn)
        .await
}

/// [`find_visible`], locked for the rest of the transaction.
pub async fn lock_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> QueryResult<Consent> {
    consents::table
        .filter(consents::id.eq(id))
        .filter(consents::participant_id.eq_any(scope::participant_ids(scope)))
        .select(Consent::as_select())
        .for_update()
        .first(conn)
        .await
}

/// A page of one participant's consents, newest first, optionally only those in `state` now.
/// The caller has already found the participant in its scope.
pub async fn list(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    state: Option<ConsentState>,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Consent>> {
    let mut query = consents::table
        .filter(consents::participant_id.eq(participant_id))
        .select(Consent::as_select())
        .order(consents::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(consents::id.lt(before));
    }
    // The same rule as `Consent::state_at`, evaluated by the database at the query's time.
    let expired = consents::expires_at.le(now);
    query = match state {
        None => query,
        Some(ConsentState::Revoked) => query.filter(consents::revoked_at.is_not_null()),
        Some(ConsentState::Expired) => query.filter(consents::revoked_at.is_null()).filter(expired),
        Some(ConsentState::Active) => query.filter(consents::revoked_at.is_null()).filter(
            consents::expires_at
                .is_null()
                .or(consents::expires_at.gt(now)),
        ),
    };
    query.load(conn).await
}

/// Records the revocation of consent `id` by `revoked_by`, now.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    revoked_by: Uuid,
    reason: Option<&str>,
) -> QueryResult<Consent> {
    let at = Utc::now();
    diesel::update(consents::table.find(id))
        .set((
            consents::revoked_at.eq(at),
            consents::revoked_by.eq(revoked_by),
            consents::revocation_reason.eq(reason),
            consents::updated_at.eq(at),
        ))
        .returning(Consent::as_returning())
        .get_result(conn)
        .await
}
