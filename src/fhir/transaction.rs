//! A clinic sending a referral the FHIR way: a transaction Bundle of a Patient, a
//! ServiceRequest and a Task, read into the inbound referral `POST /inbound-referrals` takes.
//!
//! - Each entry is a `POST` of its resource type; the Task's `focus` and `for` and the
//!   ServiceRequest's `subject` point at the other entries by their `fullUrl`.
//! - The Task's `identifier` is the clinic's id of the referral (the external id): sending the
//!   same one again makes nothing new. The Task is `requested`, `intent: order`.
//! - The Patient's `name` (family, first given), `birthDate`, phone and email `telecom` and
//!   first `communication` language become the participant; its `identifier`s (a medical
//!   record number, say) are kept as this clinic's identifiers of them.
//! - The ServiceRequest's `reasonCode` (text, or a coding's display) is the reason, its
//!   `priority` the urgency (`asap` and `stat` are urgent), and its `requester` (or the
//!   Task's) names the referring provider.
//!
//! Anything else wrong is a 422 naming the element by its place in the Bundle.

use chrono::NaiveDate;
use serde_json::Value;

use super::body::{self, Resource};
use super::bundle::Bundle;
use super::datatypes::Reference;
use super::labels::IDENTIFIER_TYPE;
use super::patient::Patient;
use super::service_request::ServiceRequest;
use super::task::Task;
use crate::db::models::referrals::Urgency;
use crate::domain::closed_loop::inbound::{self, FieldNames, Inbound};
use crate::http::error::{AppError, AppResult, FieldError};

/// The referral a transaction carries, read out of its three resources.
#[derive(Debug)]
pub struct Referral {
    pub external_id: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub preferred_language: Option<String>,
    /// `(type code, system, value)` of each identifier the clinic gave.
    pub identifiers: Vec<(Option<String>, Option<String>, String)>,
    pub reason: String,
    pub referring_provider: String,
    pub urgency: Urgency,
    /// Where each entry of the Bundle is in [`ENTRY_TYPES`], in the Bundle's order.
    pub order: Vec<usize>,
}

/// The resource types a referral transaction holds, one of each.
pub const ENTRY_TYPES: [&str; 3] = ["Patient", "ServiceRequest", "Task"];

/// The names of the parts of an inbound referral in a transaction (Patient, ServiceRequest,
/// Task are entries 0, 1, 2 in [`ENTRY_TYPES`]; the real entry numbers are in the detail).
const FIELDS: FieldNames = FieldNames {
    external_id: "Task.identifier",
    first_name: "Patient.name.given",
    last_name: "Patient.name.family",
    date_of_birth: "Patient.birthDate",
    phone: "Patient.telecom",
    email: "Patient.telecom",
    preferred_language: "Patient.communication.language",
    identifier: "Patient.identifier",
    reason: "ServiceRequest.reasonCode",
    referring_provider: "ServiceRequest.requester",
};

impl Referral {
    pub fn inbound(&self) -> Inbound<'_> {
        Inbound {
            external_id: self.external_id.trim(),
            patient: inbound::Patient {
                first_name: self.first_name.trim(),
                last_name: self.last_name.trim(),
                date_of_birth: self.date_of_birth,
                phone: self.phone.as_deref().map(str::trim),
                email: self.email.as_deref().map(str::trim),
                preferred_language: self.preferred_language.as_deref().map(str::trim),
                identifiers: self
                    .identifiers
                    .iter()
                    .map(|(kind, system, value)| (kind.as_deref(), system.as_deref(), value.trim()))
                    .collect(),
            },
            reason: self.reason.trim(),
            referring_provider: self.referring_provider.trim(),
            urgency: self.urgency,
        }
    }
}

/// Reads `bundle` (422 naming every problem it finds first).
pub fn read(bundle: Bundle) -> AppResult<Referral> {
    if bundle.kind.as_deref() != Some("transaction") {
        return Err(AppError::invalid("Bundle.type", "must be `transaction`"));
    }
    let entries = bundle.entry.unwrap_or_default();
    let mut order = Vec::new();
    let mut found: [Option<(usize, Value, String)>; 3] = [None, None, None];
    for (index, entry) in entries.into_iter().enumerate() {
        let place = format!("Bundle.entry[{index}]");
        let kind = entry
            .resource
            .as_ref()
            .and_then(|r| r["resourceType"].as_str());
        let Some(slot) = ENTRY_TYPES.iter().position(|t| Some(*t) == kind) else {
            return Err(AppError::invalid(
                format!("{place}.resource"),
                "must be a Patient, a ServiceRequest or a Task",
            ));
        };
        if found[slot].is_some() {
            return Err(AppError::invalid(
                place,
                "repeats a resource type: send one of each",
            ));
        }
        let request = entry.request.unwrap_or_default();
        if request.method.as_deref() != Some("POST") || request.url.as_deref() != kind {
            return Err(AppError::invalid(
                format!("{place}.request"),
                format!("must be `POST {}`", ENTRY_TYPES[slot]),
            ));
        }
        let full_url = entry.full_url.unwrap_or_default();
        found[slot] = Some((index, entry.resource.unwrap_or_default(), full_url));
        order.push(slot);
    }
    let [Some(patient), Some(request), Some(task)] = found else {
        return Err(AppError::invalid(
            "Bundle.entry",
            "must hold a Patient, a ServiceRequest and a Task",
        ));
    };
    let (patient_at, patient_json, patient_url) = patient;
    let (request_at, request_json, request_url) = request;
    let (task_at, task_json, _) = task;
    let patient: Patient = parse(patient_at, patient_json)?;
    let request: ServiceRequest = parse(request_at, request_json)?;
    let task: Task = parse(task_at, task_json)?;
    let mut errors = Vec::new();
    let mut points = |at: usize, element: &str, reference: &Option<Reference>, url: &str| {
        let named = reference.as_ref().and_then(|r| r.reference.as_deref());
        if url.is_empty() || named != Some(url) {
            errors.push(FieldError::new(
                format!("Bundle.entry[{at}].resource.{element}"),
                "must refer to the entry's fullUrl it names",
            ));
        }
    };
    points(task_at, "focus", &task.focus, &request_url);
    points(task_at, "for", &task.subject, &patient_url);
    points(request_at, "subject", &request.subject, &patient_url);
    let referral = Referral {
        external_id: external_id(&task).unwrap_or_default(),
        first_name: first_given(&patient).unwrap_or_default(),
        last_name: family(&patient).unwrap_or_default(),
        date_of_birth: birth_date(&patient, patient_at, &mut errors),
        phone: telecom(&patient, "phone"),
        email: telecom(&patient, "email"),
        preferred_language: language(&patient),
        identifiers: identifiers(&patient),
        reason: reason(&request).unwrap_or_default(),
        referring_provider: provider(&request, &task).unwrap_or_default(),
        urgency: urgency(&request, request_at, &mut errors),
        order,
    };
    if task.status.as_deref() != Some("requested") {
        errors.push(FieldError::new(
            format!("Bundle.entry[{task_at}].resource.status"),
            "must be `requested`",
        ));
    }
    if task.intent.as_deref() != Some("order") {
        errors.push(FieldError::new(
            format!("Bundle.entry[{task_at}].resource.intent"),
            "must be `order`",
        ));
    }
    let places = [patient_at, request_at, task_at];
    if let Err(AppError::Validation(found)) = referral.inbound().check(&FIELDS) {
        errors.extend(found.into_iter().map(|e| placed(e, &places)));
    }
    match errors.is_empty() {
        true => Ok(referral),
        false => Err(AppError::Validation(errors)),
    }
}

/// The resource of entry `at`, its errors named by their place in the Bundle.
fn parse<T: Resource>(at: usize, json: Value) -> AppResult<T> {
    body::parse::<T>(json).map_err(|error| match error {
        AppError::Validation(errors) => AppError::Validation(
            errors
                .into_iter()
                .map(|e| placed(e, &[at, at, at]))
                .collect(),
        ),
        other => other,
    })
}

/// `Patient.name.given` → `Bundle.entry[<n>].resource.name.given`, `places` giving the entry of
/// each of [`ENTRY_TYPES`].
fn placed(error: FieldError, places: &[usize; 3]) -> FieldError {
    let (kind, rest) = error.field.split_once('.').unwrap_or((&error.field, ""));
    let Some(slot) = ENTRY_TYPES.iter().position(|t| *t == kind) else {
        return error;
    };
    let field = format!("Bundle.entry[{}].resource.{rest}", places[slot]);
    FieldError::new(field.trim_end_matches('.'), error.message)
}

fn external_id(task: &Task) -> Option<String> {
    task.identifier.as_ref()?.first()?.value.clone()
}

fn first_given(patient: &Patient) -> Option<String> {
    patient
        .name
        .as_ref()?
        .first()?
        .given
        .as_ref()?
        .first()
        .cloned()
}

fn family(patient: &Patient) -> Option<String> {
    patient.name.as_ref()?.first()?.family.clone()
}

fn birth_date(patient: &Patient, at: usize, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let given = patient.birth_date.as_deref()?;
    let date = NaiveDate::parse_from_str(given, "%Y-%m-%d").ok();
    if date.is_none() {
        errors.push(FieldError::new(
            format!("Bundle.entry[{at}].resource.birthDate"),
            "must be a full date (YYYY-MM-DD)",
        ));
    }
    date
}

fn telecom(patient: &Patient, system: &str) -> Option<String> {
    patient
        .telecom
        .iter()
        .flatten()
        .find(|point| point.system.as_deref() == Some(system))
        .and_then(|point| point.value.clone())
}

fn language(patient: &Patient) -> Option<String> {
    let first = patient.communication.as_ref()?.first()?.language.as_ref()?;
    first
        .coding
        .iter()
        .flatten()
        .find_map(|coding| coding.code.clone())
}

fn identifiers(patient: &Patient) -> Vec<(Option<String>, Option<String>, String)> {
    patient
        .identifier
        .iter()
        .flatten()
        .filter_map(|identifier| {
            let value = identifier.value.clone()?;
            let kind = identifier
                .kind
                .as_ref()
                .and_then(|kind| kind.code_in(IDENTIFIER_TYPE))
                .map(str::to_owned);
            Some((kind, identifier.system.clone(), value))
        })
        .collect()
}

fn reason(request: &ServiceRequest) -> Option<String> {
    let first = request.reason_code.as_ref()?.first()?;
    first.words().map(str::to_owned)
}

fn provider(request: &ServiceRequest, task: &Task) -> Option<String> {
    let named = |reference: &Option<Reference>| reference.as_ref()?.display.clone();
    named(&request.requester).or_else(|| named(&task.requester))
}

fn urgency(request: &ServiceRequest, at: usize, errors: &mut Vec<FieldError>) -> Urgency {
    match request.priority.as_deref() {
        None | Some("routine") => Urgency::Routine,
        Some("urgent" | "asap" | "stat") => Urgency::Urgent,
        Some(_) => {
            errors.push(FieldError::new(
                format!("Bundle.entry[{at}].resource.priority"),
                "must be routine, urgent, asap or stat",
            ));
            Urgency::Routine
        }
    }
}
