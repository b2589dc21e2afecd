//! A participant as a FHIR Patient: the minimal demographics an active consent discloses to a
//! clinic (name, date of birth, phone, preferred language), and the identifiers that clinic
//! gave for them, such as its medical record number. Nothing else about the participant.

use serde_json::Value;

use super::datatypes::{
    CodeableConcept, Coding, ContactPoint, HumanName, Identifier, Meta, Reference,
};
use super::labels;
use crate::db::models::participant_identifiers::ClientIdentifier;
use crate::domain::closed_loop::view::ParticipantDetails;

crate::fhir_element! {
    /// FHIR R4 `Patient`, with every element R4 defines.
    pub struct Patient {
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
        active: bool,
        name: Vec<HumanName>,
        telecom: Vec<ContactPoint>,
        gender: String,
        birth_date: String,
        deceased_boolean: bool,
        deceased_date_time: String,
        address: Vec<Value>,
        marital_status: CodeableConcept,
        multiple_birth_boolean: bool,
        multiple_birth_integer: i64,
        photo: Vec<Value>,
        contact: Vec<Value>,
        communication: Vec<PatientCommunication>,
        general_practitioner: Vec<Reference>,
        managing_organization: Reference,
        link: Vec<Value>,
    }
}

crate::fhir_element! {
    /// A language the patient speaks.
    pub struct PatientCommunication {
        id: String,
        extension: Vec<Value>,
        modifier_extension: Vec<Value>,
        language: CodeableConcept,
        preferred: bool,
    }
}

/// The participant `id` as a Patient.
pub fn patient(
    id: uuid::Uuid,
    details: &ParticipantDetails,
    identifiers: &[ClientIdentifier],
) -> Patient {
    let identifiers: Vec<Identifier> = identifiers.iter().map(identifier).collect();
    Patient {
        resource_type: Some("Patient".into()),
        id: Some(id.to_string()),
        meta: Some(labels::labelled_meta(None, None, None)),
        identifier: (!identifiers.is_empty()).then_some(identifiers),
        name: Some(vec![HumanName {
            family: Some(details.last_name.clone()),
            given: Some(vec![details.first_name.clone()]),
            ..HumanName::default()
        }]),
        telecom: details.phone.as_ref().map(|phone| {
            vec![ContactPoint {
                system: Some("phone".into()),
                value: Some(phone.clone()),
                ..ContactPoint::default()
            }]
        }),
        birth_date: details.date_of_birth.map(|d| d.to_string()),
        communication: details.preferred_language.as_ref().map(|tag| {
            vec![PatientCommunication {
                language: Some(CodeableConcept {
                    coding: Some(vec![Coding {
                        system: Some(labels::LANGUAGE.into()),
                        code: Some(tag.clone()),
                        ..Coding::default()
                    }]),
                    ..CodeableConcept::default()
                }),
                preferred: Some(true),
                ..PatientCommunication::default()
            }]
        }),
        ..Patient::default()
    }
}

fn identifier(given: &ClientIdentifier) -> Identifier {
    Identifier {
        kind: given.type_code.as_ref().map(|code| CodeableConcept {
            coding: Some(vec![Coding {
                system: Some(labels::IDENTIFIER_TYPE.into()),
                code: Some(code.clone()),
                ..Coding::default()
            }]),
            ..CodeableConcept::default()
        }),
        system: given.system.clone(),
        value: Some(given.value.clone()),
        ..Identifier::default()
    }
}
