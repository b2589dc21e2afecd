//! A directory resource as a FHIR HealthcareService: who offers it, what it offers, how to
//! reach it, who is eligible, when it runs and in which languages. Directory data carries no
//! participant data and no security labels.

use serde_json::{json, Value};

use super::datatypes::{CodeableConcept, Coding, ContactPoint, Meta, Reference};
use super::labels::{self, instant};
use crate::db::models::resources::{one_line, Resource, ResourceStatus};

crate::fhir_element! {
    /// FHIR R4 `HealthcareService`, the elements Tandem fills.
    pub struct HealthcareService {
        resource_type: String,
        id: String,
        meta: Meta,
        active: bool,
        provided_by: Reference,
        category: Vec<CodeableConcept>,
        name: String,
        comment: String,
        extra_details: String,
        telecom: Vec<ContactPoint>,
        eligibility: Vec<Value>,
        communication: Vec<CodeableConcept>,
        referral_method: Vec<CodeableConcept>,
        availability_exceptions: String,
    }
}

/// The HL7 code system of ways to send a referral.
const REFERRAL_METHOD: &str = "http://terminology.hl7.org/CodeSystem/service-referral-method";

pub fn healthcare_service(base: &str, resource: &Resource) -> HealthcareService {
    let system = labels::resource_category_system(base);
    let categories: Vec<CodeableConcept> = resource
        .categories
        .iter()
        .map(|c| CodeableConcept::coded(Coding::new(&system, c.as_str(), c.label())))
        .collect();
    let mut telecom = Vec::new();
    for (kind, value) in [
        ("phone", &resource.phone),
        ("email", &resource.email),
        ("url", &resource.url),
    ] {
        if let Some(value) = value {
            telecom.push(ContactPoint {
                system: Some(kind.into()),
                value: Some(value.clone()),
                ..ContactPoint::default()
            });
        }
    }
    let languages: Vec<CodeableConcept> = resource
        .languages
        .iter()
        .map(|tag| CodeableConcept {
            coding: Some(vec![Coding {
                system: Some(labels::LANGUAGE.into()),
                code: Some(tag.clone()),
                ..Coding::default()
            }]),
            ..CodeableConcept::default()
        })
        .collect();
    let description = resource.description.trim();
    HealthcareService {
        resource_type: Some("HealthcareService".into()),
        id: Some(resource.id.to_string()),
        meta: Some(Meta {
            last_updated: Some(instant(resource.updated_at)),
            ..Meta::default()
        }),
        active: Some(resource.status == ResourceStatus::Active),
        provided_by: Some(Reference::named(
            "Organization",
            resource.organization_name.clone(),
        )),
        category: (!categories.is_empty()).then_some(categories),
        name: Some(resource.name.clone()),
        comment: (!description.is_empty()).then(|| description.to_owned()),
        extra_details: one_line([
            &resource.address_1,
            &resource.address_2,
            &resource.city,
            &resource.state_province,
            &resource.postal_code,
            &resource.country,
        ]),
        telecom: (!telecom.is_empty()).then_some(telecom),
        eligibility: resource
            .eligibility_description
            .as_ref()
            .map(|text| vec![json!({"comment": text})]),
        communication: (!languages.is_empty()).then_some(languages),
        referral_method: resource.accepts_referrals.then(|| {
            vec![CodeableConcept::coded(Coding::new(
                REFERRAL_METHOD,
                "elec",
                "Secure Messaging",
            ))]
        }),
        availability_exceptions: resource.schedule_description.clone(),
    }
}
