//! A Task sent back by its receiver: what it asks to change. A receiver moves the status and
//! says why (`statusReason`) and how it ended (`output`); every other element must be as the
//! server has it. `meta`, `lastModified` and `text` are the server's to set and are not
//! compared; `businessStatus` is accepted and not kept. A reference is compared by what it
//! points at, not by its `display`.

use serde_json::{Map, Value};

use super::{output_system, Task, OUTPUT_CODE};
use crate::db::models::referrals::{ReferralOutcome, ReferralStatus};
use crate::fhir::labels;
use crate::http::error::{AppError, AppResult, FieldError};

/// The elements a receiver may change, and those the server sets.
const MAY_CHANGE: [&str; 4] = ["status", "statusReason", "businessStatus", "output"];
const SERVER_SETS: [&str; 3] = ["meta", "lastModified", "text"];

/// The move a Task sent back asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Asked {
    pub to: ReferralStatus,
    pub reason: Option<String>,
    pub outcome: Option<ReferralOutcome>,
}

/// Reads the move `sent` asks of `current`: 422 naming each element it changes that a
/// receiver may not, or a status or outcome Tandem does not know.
pub fn asked(base: &str, current: &Task, sent: &Task) -> AppResult<Asked> {
    let (current_json, sent_json) = (comparable(current), comparable(sent));
    let mut errors: Vec<FieldError> = Vec::new();
    let keys = current_json.keys().chain(sent_json.keys());
    let mut changed: Vec<&String> = keys
        .filter(|key| !MAY_CHANGE.contains(&key.as_str()))
        .filter(|key| current_json.get(*key) != sent_json.get(*key))
        .collect();
    changed.sort();
    changed.dedup();
    for key in changed {
        errors.push(FieldError::new(
            format!("Task.{key}"),
            "may not be changed: a receiver changes only status, statusReason, \
             businessStatus and output",
        ));
    }
    let status = sent.status.as_deref().unwrap_or_default();
    let to = ReferralStatus::parse(status);
    if to.is_none() {
        errors.push(FieldError::new(
            "Task.status",
            format!("`{status}` is not a status a referral takes"),
        ));
    }
    let outcome = outcome(base, sent).unwrap_or_else(|error| {
        errors.push(error);
        None
    });
    match to {
        Some(to) if errors.is_empty() => Ok(Asked {
            to,
            reason: sent
                .status_reason
                .as_ref()
                .and_then(|reason| reason.words())
                .map(|words| words.trim().to_owned()),
            outcome,
        }),
        _ => Err(AppError::Validation(errors)),
    }
}

/// The outcome an `output` states, coded in Tandem's outcome system.
fn outcome(base: &str, sent: &Task) -> Result<Option<ReferralOutcome>, FieldError> {
    let system = labels::referral_outcome_system(base);
    let output_type = output_system(base);
    let mut found = None;
    for (index, output) in sent.output.iter().flatten().enumerate() {
        let kind = &output["type"]["coding"];
        let states_result = kind.as_array().is_some_and(|codings| {
            codings.iter().any(|coding| {
                coding["system"] == output_type.as_str() && coding["code"] == OUTPUT_CODE
            })
        });
        if !states_result {
            continue;
        }
        let codings = output["valueCodeableConcept"]["coding"].as_array();
        let code = codings
            .into_iter()
            .flatten()
            .find(|coding| coding["system"] == system.as_str())
            .and_then(|coding| coding["code"].as_str());
        match code.and_then(ReferralOutcome::parse) {
            Some(outcome) => found = Some(outcome),
            None => {
                return Err(FieldError::new(
                    format!("Task.output[{index}].valueCodeableConcept"),
                    format!("must carry a code of {system}"),
                ))
            }
        }
    }
    Ok(found)
}

/// The Task as JSON without what the server sets, and with every reference's `display` left
/// out.
fn comparable(task: &Task) -> Map<String, Value> {
    let mut json = match serde_json::to_value(task) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for key in SERVER_SETS {
        json.remove(key);
    }
    for reference in ["focus", "for", "requester", "owner"] {
        if let Some(Value::Object(fields)) = json.get_mut(reference) {
            fields.remove("display");
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::datatypes::{CodeableConcept, Reference};

    fn current() -> Task {
        Task {
            resource_type: Some("Task".into()),
            id: Some("a".into()),
            status: Some("requested".into()),
            intent: Some("order".into()),
            owner: Some(Reference::to(
                "HealthcareService",
                "h",
                Some("Harbor".into()),
            )),
            ..Task::default()
        }
    }

    #[test]
    fn a_status_move_with_its_reason_is_read_and_displays_do_not_count() {
        let mut sent = current();
        sent.status = Some("rejected".into());
        sent.status_reason = Some(CodeableConcept::text(" no capacity "));
        sent.owner = Some(Reference::to("HealthcareService", "h", None));
        sent.last_modified = Some("2026-01-01T00:00:00Z".into());
        let asked = asked("https://t", &current(), &sent).unwrap();
        assert_eq!(asked.to, ReferralStatus::Rejected);
        assert_eq!(asked.reason.as_deref(), Some("no capacity"));
        assert_eq!(asked.outcome, None);
    }

    #[test]
    fn any_other_change_is_named() {
        let mut sent = current();
        sent.intent = Some("plan".into());
        sent.owner = Some(Reference::to("HealthcareService", "other", None));
        sent.status = Some("received".into());
        let Err(AppError::Validation(errors)) = asked("https://t", &current(), &sent) else {
            panic!("accepted");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["Task.intent", "Task.owner", "Task.status"]);
    }

    #[test]
    fn the_outcome_comes_from_the_resulting_activity_output() {
        let mut sent = current();
        sent.status = Some("completed".into());
        sent.output = Some(vec![serde_json::json!({
            "type": {"coding": [{"system": "https://t/fhir/r4/CodeSystem/task-output",
                "code": OUTPUT_CODE}]},
            "valueCodeableConcept": {"coding": [{
                "system": "https://t/fhir/r4/CodeSystem/referral-outcome", "code": "got_help"}]},
        })]);
        let asked = asked("https://t", &current(), &sent).unwrap();
        assert_eq!(asked.outcome, Some(ReferralOutcome::GotHelp));
    }
}
