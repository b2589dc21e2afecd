//! What clients send to the consent operations, what they get back, and the rules of 42 CFR
//! 2.31 a consent must meet.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Role;
use crate::db::models::consents::{
    Consent, ConsentState, InformationCategory, SignatureMethod, SignerRelationship,
};
use crate::domain::part2;
use crate::http::error::AppResult;
use crate::http::limits;
use crate::http::validation::Checks;

/// How far in the future `signed_at` may be, for clients whose clocks run ahead.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A written consent to disclose (42 CFR 2.31). Every element the regulation requires is
/// required here; a missing one is a 422 naming it, and one response names every missing one.
/// The recipient is at least one of `recipient_resource_id`, `recipient_client_id` and
/// `recipient_name`; the expiry is `expires_at`, `expiration_event` or both.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConsentRequest {
    /// A resource of the directory the information may go to.
    pub recipient_resource_id: Option<Uuid>,
    /// An integration client the information may go to.
    pub recipient_client_id: Option<Uuid>,
    /// Who receives the information; the resource's or client's name when omitted.
    #[schema(value_type = Option<limits::RecipientName>)]
    pub recipient_name: Option<String>,
    /// Who discloses; the organization's name when omitted. Name a program of the
    /// organization here when the consent was signed for that program only.
    #[schema(value_type = Option<limits::DiscloserName>)]
    pub discloser_name: Option<String>,
    /// Why the information is disclosed.
    #[schema(required = true, value_type = limits::ConsentPurpose)]
    pub purpose: Option<String>,
    /// The kinds of information that may be disclosed: at least one.
    #[schema(required = true, value_type = limits::InformationCategories)]
    pub information_categories: Option<Vec<InformationCategory>>,
    /// How much and what kind of information, in words.
    #[schema(required = true, value_type = limits::InformationDescription)]
    pub information_description: Option<String>,
    /// When the consent expires: after `signed_at`.
    pub expires_at: Option<DateTime<Utc>>,
    /// The event or condition on which the consent expires, e.g. "when the referral closes".
    #[schema(value_type = Option<limits::ExpirationEvent>)]
    pub expiration_event: Option<String>,
    /// The name of whoever signed.
    #[schema(required = true, value_type = limits::SignerName)]
    pub signed_by_name: Option<String>,
    /// The signer's relationship to the participant; a participant signing through the
    /// portal signs as `self`.
    #[schema(required = true, value_type = SignerRelationship)]
    pub signer_relationship: Option<SignerRelationship>,
    /// When it was signed: not in the future (5 minutes of clock skew are allowed).
    #[schema(required = true, value_type = DateTime<Utc>)]
    pub signed_at: Option<DateTime<Utc>>,
    /// How it was signed: `electronic` or `wet_ink` (on paper).
    #[schema(required = true, value_type = SignatureMethod)]
    pub signature_method: Option<SignatureMethod>,
}

/// A revocation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeConsentRequest {
    /// Why, when the participant wants to say; a revocation needs no reason.
    #[schema(value_type = Option<limits::Reason>)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListConsentsQuery {
    /// Only consents in this state now.
    pub state: Option<ConsentState>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A consent as stored, with its state now and the statements that go with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The patient: whose information may be disclosed.
    pub participant_id: Uuid,
    /// Who discloses.
    pub discloser_name: String,
    pub recipient_resource_id: Option<Uuid>,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_name: String,
    pub purpose: String,
    #[schema(value_type = Vec<InformationCategory>)]
    pub information_categories: Vec<String>,
    pub information_description: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub expiration_event: Option<String>,
    pub signed_by_name: String,
    #[schema(value_type = SignerRelationship)]
    pub signer_relationship: String,
    pub signed_at: DateTime<Utc>,
    #[schema(value_type = SignatureMethod)]
    pub signature_method: String,
    /// Derived when read: `revoked`, `expired` (past `expires_at`) or `active`.
    pub state: ConsentState,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The user who recorded the revocation.
    pub revoked_by: Option<Uuid>,
    pub revocation_reason: Option<String>,
    /// The participant's right to revoke, and how (42 CFR 2.31(a)).
    pub revocation_statement: &'static str,
    /// The notice that accompanies every disclosure under this consent (42 CFR 2.32).
    pub redisclosure_notice: &'static str,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ConsentResponse {
    /// The consent as it stands at `now`.
    pub fn at(c: Consent, now: DateTime<Utc>) -> Self {
        Self {
            state: c.state_at(now),
            id: c.id,
            organization_id: c.organization_id,
            participant_id: c.participant_id,
            discloser_name: c.discloser_name,
            recipient_resource_id: c.recipient_resource_id,
            recipient_client_id: c.recipient_client_id,
            recipient_name: c.recipient_name,
            purpose: c.purpose,
            information_categories: c.information_categories,
            information_description: c.information_description,
            expires_at: c.expires_at,
            expiration_event: c.expiration_event,
            signed_by_name: c.signed_by_name,
            signer_relationship: c.signer_relationship,
            signed_at: c.signed_at,
            signature_method: c.signature_method,
            revoked_at: c.revoked_at,
            revoked_by: c.revoked_by,
            revocation_reason: c.revocation_reason,
            revocation_statement: part2::REVOCATION_STATEMENT,
            redisclosure_notice: part2::REDISCLOSURE_NOTICE,
            created_by: c.created_by,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl From<Consent> for ConsentResponse {
    fn from(consent: Consent) -> Self {
        Self::at(consent, Utc::now())
    }
}

/// A consent that meets 42 CFR 2.31, trimmed; the recipient's and discloser's names may
/// still have to be looked up.
pub struct ValidConsent {
    pub recipient_resource_id: Option<Uuid>,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_name: Option<String>,
    pub discloser_name: Option<String>,
    pub purpose: String,
    pub information_categories: Vec<String>,
    pub information_description: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub expiration_event: Option<String>,
    pub signed_by_name: String,
    pub signer_relationship: SignerRelationship,
    pub signed_at: DateTime<Utc>,
    pub signature_method: SignatureMethod,
}

const REQUIRED: &str = "is required (42 CFR 2.31)";

/// A required text: present and within `limit`.
fn required_text(checks: &mut Checks, field: &str, value: Option<&str>, limit: limits::Text) {
    match value {
        Some(value) => checks.text(field, value, limit),
        None => checks.add(field, REQUIRED),
    }
}

fn required<T: Copy>(checks: &mut Checks, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        checks.add(field, REQUIRED);
    }
    value
}

fn trimmed(value: Option<&str>) -> Option<String> {
    value.map(|v| v.trim().to_owned())
}

fn check_recipient(checks: &mut Checks, body: &CreateConsentRequest) {
    let name = body.recipient_name.as_deref();
    checks.optional_text("recipient_name", name, limits::RECIPIENT_NAME);
    if body.recipient_resource_id.is_none() && body.recipient_client_id.is_none() && name.is_none()
    {
        let message = "a recipient is required (42 CFR 2.31): give recipient_resource_id, \
                       recipient_client_id or recipient_name";
        for field in [
            "recipient_resource_id",
            "recipient_client_id",
            "recipient_name",
        ] {
            checks.add(field, message);
        }
    }
}

fn check_categories(checks: &mut Checks, categories: Option<&[InformationCategory]>) {
    match categories {
        None => checks.add("information_categories", REQUIRED),
        Some([]) => checks.add("information_categories", "must name at least one category"),
        Some(list) => checks.count(
            "information_categories",
            list.len(),
            limits::INFORMATION_CATEGORIES,
        ),
    }
}

fn check_expiry(checks: &mut Checks, body: &CreateConsentRequest) {
    let event = body.expiration_event.as_deref();
    checks.optional_text("expiration_event", event, limits::EXPIRATION_EVENT);
    match (body.expires_at, event, body.signed_at) {
        (None, None, _) => {
            let message = "an expiry date or event is required (42 CFR 2.31): give expires_at, \
                           expiration_event or both";
            checks.add("expires_at", message);
            checks.add("expiration_event", message);
        }
        (Some(expires), _, Some(signed)) if expires <= signed => {
            checks.add("expires_at", "must be after signed_at");
        }
        _ => {}
    }
}

fn check_signature(checks: &mut Checks, body: &CreateConsentRequest, role: Role) {
    let name = body.signed_by_name.as_deref();
    required_text(checks, "signed_by_name", name, limits::SIGNER_NAME);
    let relationship = required(checks, "signer_relationship", body.signer_relationship);
    if role == Role::Participant
        && relationship.is_some_and(|r| r != SignerRelationship::SelfSigned)
    {
        checks.add(
            "signer_relationship",
            "a participant signs their own consent as `self`",
        );
    }
    if required(checks, "signed_at", body.signed_at).is_some_and(|at| at > Utc::now() + CLOCK_SKEW)
    {
        checks.add("signed_at", "must not be in the future");
    }
    required(checks, "signature_method", body.signature_method);
}

/// Checks every element at once (422 naming each invalid or missing one).
pub fn validate_create(body: &CreateConsentRequest, role: Role) -> AppResult<ValidConsent> {
    let mut checks = Checks::new();
    check_recipient(&mut checks, body);
    let discloser = body.discloser_name.as_deref();
    checks.optional_text("discloser_name", discloser, limits::DISCLOSER_NAME);
    let purpose = body.purpose.as_deref();
    required_text(&mut checks, "purpose", purpose, limits::CONSENT_PURPOSE);
    check_categories(&mut checks, body.information_categories.as_deref());
    let description = body.information_description.as_deref();
    let limit = limits::INFORMATION_DESCRIPTION;
    required_text(&mut checks, "information_description", description, limit);
    check_expiry(&mut checks, body);
    check_signature(&mut checks, body, role);
    checks.finish()?;
    let mut categories: Vec<String> = Vec::new();
    for category in body.information_categories.iter().flatten() {
        let code = category.as_str().to_owned();
        if !categories.contains(&code) {
            categories.push(code);
        }
    }
    Ok(ValidConsent {
        recipient_resource_id: body.recipient_resource_id,
        recipient_client_id: body.recipient_client_id,
        recipient_name: trimmed(body.recipient_name.as_deref()),
        discloser_name: trimmed(discloser),
        purpose: trimmed(purpose).unwrap_or_default(),
        information_categories: categories,
        information_description: trimmed(description).unwrap_or_default(),
        expires_at: body.expires_at,
        expiration_event: trimmed(body.expiration_event.as_deref()),
        signed_by_name: trimmed(body.signed_by_name.as_deref()).unwrap_or_default(),
        signer_relationship: body
            .signer_relationship
            .unwrap_or(SignerRelationship::SelfSigned),
        signed_at: body.signed_at.unwrap_or_else(Utc::now),
        signature_method: body.signature_method.unwrap_or(SignatureMethod::Electronic),
    })
}

pub fn validate_revoke(body: &RevokeConsentRequest) -> AppResult<Option<String>> {
    let mut checks = Checks::new();
    checks.reason("reason", body.reason.as_deref(), false);
    checks.finish()?;
    Ok(trimmed(body.reason.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_information_category() {
        let codes: Vec<&str> = InformationCategory::ALL
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(codes, limits::INFORMATION_CATEGORY_CODES);
    }
}
