//! A referral as an SDOHCC ServiceRequest: what is asked for, why, for whom, of whom, and the
//! consent it went under. It shares its id with the referral's Task, whose `focus` it is.

use serde_json::Value;

use super::datatypes::{CodeableConcept, Coding, Identifier, Meta, Reference};
use super::labels::{self, instant};
use super::task::{version_id, Names};
use crate::db::models::referrals::{Referral, ReferralStatus};
use crate::db::models::resources::ResourceCategory;

crate::fhir_element! {
    /// FHIR R4 `ServiceRequest`, with every element R4 defines.
    pub struct ServiceRequest {
        resource_type: String,
        id: String,
        meta: Meta,
        implicit_rules: String,
        language: String,
        text: Value,
        contained: Vec<Value>,
        extension: Vec<Value>,
        modifier_extension: Vec<Value>,
        identifier: Vec<Identifier>,
        instantiates_canonical: Vec<String>,
        instantiates_uri: Vec<String>,
        based_on: Vec<Reference>,
        replaces: Vec<Reference>,
        requisition: Identifier,
        status: String,
        intent: String,
        category: Vec<CodeableConcept>,
        priority: String,
        do_not_perform: bool,
        code: CodeableConcept,
        order_detail: Vec<CodeableConcept>,
        quantity_quantity: Value,
        quantity_ratio: Value,
        quantity_range: Value,
        subject: Reference,
        encounter: Reference,
        occurrence_date_time: String,
        occurrence_period: Value,
        occurrence_timing: Value,
        as_needed_boolean: bool,
        as_needed_codeable_concept: CodeableConcept,
        authored_on: String,
        requester: Reference,
        performer_type: CodeableConcept,
        performer: Vec<Reference>,
        location_code: Vec<CodeableConcept>,
        location_reference: Vec<Reference>,
        reason_code: Vec<CodeableConcept>,
        reason_reference: Vec<Reference>,
        insurance: Vec<Reference>,
        supporting_info: Vec<Reference>,
        specimen: Vec<Reference>,
        body_site: Vec<CodeableConcept>,
        note: Vec<Value>,
        patient_instruction: String,
        relevant_history: Vec<Reference>,
    }
}

/// The SDOHCC guide's SDOH categories.
pub const SDOH_CATEGORY: &str =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes";
/// SNOMED CT's "Patient referral (procedure)", the code of every referral.
pub const SNOMED: &str = "http://snomed.info/sct";
pub const REFERRAL_CODE: (&str, &str) = ("3457005", "Patient referral");

/// A resource category's SDOH domain in the guide's terms, when it has one.
fn sdoh_domain(category: ResourceCategory) -> Option<(&'static str, &'static str)> {
    match category {
        ResourceCategory::Housing => Some(("housing-instability", "Housing Instability")),
        ResourceCategory::Employment => Some(("employment-status", "Employment Status")),
        ResourceCategory::Food => Some(("food-insecurity", "Food Insecurity")),
        ResourceCategory::Transportation => {
            Some(("transportation-insecurity", "Transportation Insecurity"))
        }
        _ => None,
    }
}

/// The request's status, from the Task's: asked for until it ends; `revoked` when it ended
/// without being done.
fn status(task_status: ReferralStatus) -> &'static str {
    use ReferralStatus::*;
    match task_status {
        Draft => "draft",
        Requested | Accepted | InProgress => "active",
        OnHold => "on-hold",
        Completed => "completed",
        Rejected | Cancelled | Failed => "revoked",
        EnteredInError => "entered-in-error",
    }
}

/// `referral` as a ServiceRequest; `patient` is the participant's name when the caller may
/// see it.
pub fn service_request(
    referral: &Referral,
    names: &Names,
    patient: Option<String>,
) -> ServiceRequest {
    let base = names.base();
    let categories = names.categories(referral);
    let mut domains: Vec<CodeableConcept> = Vec::new();
    for (code, display) in categories.iter().filter_map(|c| sdoh_domain(*c)) {
        let coded = CodeableConcept::coded(Coding::new(SDOH_CATEGORY, code, display));
        if !domains.contains(&coded) {
            domains.push(coded);
        }
    }
    if domains.is_empty() {
        domains.push(CodeableConcept::coded(Coding::new(
            SDOH_CATEGORY,
            "sdoh-category-unspecified",
            "SDOH Category Unspecified",
        )));
    }
    let system = labels::resource_category_system(base);
    domains.extend(
        categories
            .iter()
            .map(|c| CodeableConcept::coded(Coding::new(&system, c.as_str(), c.label()))),
    );
    let (code, display) = REFERRAL_CODE;
    let mut asked = CodeableConcept::coded(Coding::new(SNOMED, code, display));
    asked.text = names.service_name(referral).or(asked.text);
    ServiceRequest {
        resource_type: Some("ServiceRequest".into()),
        id: Some(referral.id.to_string()),
        meta: Some(labels::labelled_meta(
            Some(labels::SERVICE_REQUEST_PROFILE),
            Some(version_id(referral)),
            Some(instant(referral.updated_at)),
        )),
        identifier: names.identifier(referral),
        status: Some(status(referral.status).into()),
        intent: Some("order".into()),
        category: Some(domains),
        priority: Some(referral.urgency.as_str().to_owned()),
        code: Some(asked),
        subject: Some(Reference::to("Patient", referral.participant_id, patient)),
        authored_on: Some(instant(referral.sent_at.unwrap_or(referral.created_at))),
        requester: Some(names.requester(referral)),
        performer: Some(vec![names.owner(referral)]),
        reason_code: Some(vec![CodeableConcept::text(referral.reason.clone())]),
        supporting_info: referral.consent_id.map(|id| vec![consent(id)]),
        ..ServiceRequest::default()
    }
}

/// The consent a referral went under, named by its id (a `urn:uuid`); Tandem serves consents
/// through its REST interface, not as FHIR resources.
fn consent(id: uuid::Uuid) -> Reference {
    Reference {
        kind: Some("Consent".into()),
        identifier: Some(Box::new(Identifier {
            system: Some("urn:ietf:rfc:3986".into()),
            value: Some(format!("urn:uuid:{id}")),
            ..Identifier::default()
        })),
        display: Some("The participant's consent to disclose this referral".into()),
        ..Reference::default()
    }
}
