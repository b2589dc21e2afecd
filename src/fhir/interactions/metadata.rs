//! `GET /fhir/r4/metadata` (public): the CapabilityStatement, the description of the FHIR
//! interface that Swagger UI gives of the REST one. It is built from [`RESOURCES`], the table
//! of what the interface serves.

use actix_web::{get, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::base_url;
use crate::fhir::labels;
use crate::fhir::outcome::FHIR_JSON;

/// A resource type the interface serves: its profile, interactions and search parameters
/// (`(name, type, what it matches)`).
struct Served {
    kind: &'static str,
    profile: Option<&'static str>,
    interactions: &'static [&'static str],
    versioned_update: bool,
    search: &'static [(&'static str, &'static str, &'static str)],
    documentation: &'static str,
}

const RESOURCES: &[Served] = &[
    Served {
        kind: "Task",
        profile: Some(labels::TASK_PROFILE),
        interactions: &["read", "update", "search-type"],
        versioned_update: true,
        search: &[
            ("_lastUpdated", "date", "When the Task last changed: gt, ge, lt, le or eq and a date or an instant; may repeat."),
            ("status", "token", "One or more Task statuses, comma-separated."),
            ("owner", "reference", "HealthcareService/<id>: Tasks of referrals to that resource."),
        ],
        documentation: "A closed-loop referral. A client sees the Tasks of referrals sent to the \
            resources linked to it and of those it sent. Search pages with `_count` (1-200, \
            default 50) and `next` links, oldest change first; any other parameter is refused \
            (400). `update` moves the status as the receiver or the sender may (If-Match \
            W/\"<versionId>\" gives 412 on a stale version); only status, statusReason, \
            businessStatus (not kept) and output may differ from the Task as read (422 \
            otherwise). Needs system/Task.rs to read, system/Task.u to update.",
    },
    Served {
        kind: "ServiceRequest",
        profile: Some(labels::SERVICE_REQUEST_PROFILE),
        interactions: &["read"],
        versioned_update: false,
        search: &[],
        documentation: "What a referral asks for: the focus of its Task, with the same id.             category carries the guide's SDOH domain and the directory's categories;             supportingInfo names the consent it was sent under. Needs system/ServiceRequest.rs.",
    },
    Served {
        kind: "Patient",
        profile: None,
        interactions: &["read"],
        versioned_update: false,
        search: &[],
        documentation: "A participant of a referral the client can see, with the minimal             demographics (name, birth date, phone, preferred language) and the identifiers             this client gave: only while an active consent discloses demographics to the             client; otherwise 404, as for an id that does not exist. Needs system/Patient.rs.",
    },
    Served {
        kind: "HealthcareService",
        profile: None,
        interactions: &["read", "search-type"],
        versioned_update: false,
        search: &[
            ("name", "string", "Words of the service's name or description; best match first."),
            ("service-category", "token", "A category code of the directory (e.g. moud, housing)."),
        ],
        documentation: "The organization's directory of community resources. Search pages with             `_count` (1-200, default 50) and `next` links; any other parameter is refused             (400). Needs system/HealthcareService.rs.",
    },
];

/// The CapabilityStatement.
#[get("/metadata")]
pub async fn capability_statement(req: HttpRequest) -> HttpResponse {
    let base = base_url(&req);
    HttpResponse::Ok()
        .insert_header(("Content-Type", FHIR_JSON))
        .body(statement(&base).to_string())
}

fn statement(base: &str) -> Value {
    let resources: Vec<Value> = RESOURCES.iter().map(resource).collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-09",
        "publisher": "Tandem",
        "kind": "instance",
        "software": {"name": "Tandem", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {
            "description": "Tandem's FHIR R4 interface for clinic systems: closed-loop referrals \
                as in the HL7 SDOH Clinical Care guide.",
            "url": format!("{base}/fhir/r4"),
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "implementationGuide": ["http://hl7.org/fhir/us/sdoh-clinicalcare/ImplementationGuide/hl7.fhir.us.sdoh-clinicalcare"],
        "rest": [{
            "mode": "server",
            "documentation": "Every resource that carries participant data is labelled R (42 CFR \
                Part 2), SUD and NODSCLCD, and comes with the X-Redisclosure-Notice header when \
                participant details went out under a consent. Errors are OperationOutcomes.",
            "security": {
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{"url": "token", "valueUri": format!("{base}/api/v1/auth/token")}],
                }],
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR",
                }]}],
                "description": format!("SMART Backend Services: get a token at \
                    {base}/api/v1/auth/token with a signed client assertion (private_key_jwt, \
                    RS384 or ES384); see {base}/.well-known/smart-configuration."),
            },
            "resource": resources,
            "interaction": [{
                "code": "transaction",
                "documentation": "A clinic sends a referral: a Bundle of a Patient, a \
                    ServiceRequest and a Task (requested, intent order, its identifier the \
                    clinic's id of the referral; a repeat makes nothing new). Patient \
                    identifiers are kept as the clinic's. Needs system/Task.u.",
            }],
        }],
    })
}

fn resource(served: &Served) -> Value {
    let mut resource = json!({
        "type": served.kind,
        "documentation": served.documentation,
        "interaction": served.interactions.iter()
            .map(|code| json!({"code": code}))
            .collect::<Vec<_>>(),
        "versioning": if served.versioned_update { "versioned-update" } else { "versioned" },
        "readHistory": false,
        "updateCreate": false,
    });
    if let Some(profile) = served.profile {
        resource["supportedProfile"] = json!([profile]);
    }
    if !served.search.is_empty() {
        resource["searchParam"] = served
            .search
            .iter()
            .map(|(name, kind, documentation)| {
                json!({"name": name, "type": kind, "documentation": documentation})
            })
            .collect();
    }
    resource
}
