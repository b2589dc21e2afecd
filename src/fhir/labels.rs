//! The canonical URLs the interface names: profiles, code systems, and the security labels of
//! the HL7 FHIR DS4P guide that every resource carrying participant data wears.

use serde_json::json;

use super::datatypes::{Coding, Meta};

/// The HL7 SDOH Clinical Care guide's profiles.
pub const TASK_PROFILE: &str =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement";
pub const SERVICE_REQUEST_PROFILE: &str =
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest";

/// FHIR's own code systems.
pub const TASK_CODE: &str = "http://hl7.org/fhir/CodeSystem/task-code";
pub const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const IDENTIFIER_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
pub const LANGUAGE: &str = "urn:ietf:bcp:47";
/// The DS4P extension naming the policy a security label rests on.
pub const LABEL_BASIS: &str =
    "http://hl7.org/fhir/uv/security-label-ds4p/StructureDefinition/extension-sec-label-basis";

/// Tandem's own code systems and identifier namespaces, under the server's base URL.
pub fn referral_outcome_system(base: &str) -> String {
    format!("{base}/fhir/r4/CodeSystem/referral-outcome")
}

pub fn resource_category_system(base: &str) -> String {
    format!("{base}/fhir/r4/CodeSystem/resource-category")
}

/// The namespace of a clinic's own identifiers (its referral ids, its patients' record
/// numbers) given as Tandem knows the clinic: by its public `client_id`.
pub fn client_namespace(base: &str, client_id: &str) -> String {
    format!("{base}/fhir/r4/NamingSystem/client/{client_id}")
}

/// `R` (restricted) on the basis of 42 CFR Part 2, `SUD` (substance use disorder information)
/// and `NODSCLCD` (no disclosure without the patient's consent).
pub fn part2_security() -> Vec<Coding> {
    let mut restricted = Coding::new(CONFIDENTIALITY, "R", "restricted");
    restricted.extension = Some(vec![json!({
        "url": LABEL_BASIS,
        "valueCoding": {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
    })]);
    vec![
        restricted,
        Coding::new(
            ACT_CODE,
            "SUD",
            "substance use disorder information sensitivity",
        ),
        Coding::new(
            ACT_CODE,
            "NODSCLCD",
            "no disclosure without consent directive",
        ),
    ]
}

/// The metadata of a resource carrying participant data.
pub fn labelled_meta(
    profile: Option<&str>,
    version_id: Option<String>,
    last_updated: Option<String>,
) -> Meta {
    Meta {
        version_id,
        last_updated,
        profile: profile.map(|p| vec![p.to_owned()]),
        security: Some(part2_security()),
        ..Meta::default()
    }
}

/// An instant as FHIR writes it: RFC 3339 with the offset, to the microsecond.
pub fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
