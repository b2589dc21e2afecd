//! Written consents to disclose (42 CFR 2.31). Whether a consent is active is derived when it
//! is read, from its expiry and revocation, never stored.

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::consents;

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
/// resource linked to a client). A consent naming either covers it.
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
    consents::table
        .filter(consents::participant_id.eq(participant_id))
        .filter(names_client.or(names_resource))
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
