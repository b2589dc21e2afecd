//! Rules where one field decides whether another is required, written into the document as
//! JSON Schema `if`/`then` (OpenAPI 3.1 schemas are JSON Schema 2020-12), from the same
//! constants the handlers check.

use serde_json::{json, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

use crate::domain::instruments;
use crate::routes::{goals, pairings, referrals};

/// Adds each status request's conditions to its schema.
pub fn add(document: &mut OpenApi) {
    let reason = |statuses: Vec<&str>| when_status(&statuses, "reason", json!({"type": "string"}));
    let goal = statuses(goals::REASON_REQUIRED.iter().map(|s| s.as_str()));
    let pairing = statuses(pairings::REASON_REQUIRED.iter().map(|s| s.as_str()));
    let referral = statuses(referrals::REASON_REQUIRED.iter().map(|s| s.as_str()));
    let outcome = statuses(referrals::OUTCOME_REQUIRED.iter().map(|s| s.as_str()));
    let mut outcome_rule = when_status(&outcome, "outcome", json!({"not": {"type": "null"}}));
    // Every other status refuses an outcome: it may only be left out or `null`.
    outcome_rule["else"] = json!({"properties": {"outcome": {"type": "null"}}});
    set_all_of(document, "GoalStatusRequest", vec![reason(goal)]);
    set_all_of(document, "PairingStatusRequest", vec![reason(pairing)]);
    set_all_of(
        document,
        "ReferralStatusRequest",
        vec![reason(referral), outcome_rule],
    );
    set_all_of(document, "CreateAssessmentRequest", answer_rules());
}

/// Each instrument's answers: one per item, each on its scale.
fn answer_rules() -> Vec<Value> {
    instruments::ALL
        .iter()
        .map(|instrument| {
            let count = instrument.items.len();
            json!({
                "if": {"required": ["instrument"], "properties": {"instrument": {"const": instrument.id}}},
                "then": {"properties": {"answers": {
                    "minItems": count,
                    "maxItems": count,
                    "items": {"minimum": instrument.scale.min, "maximum": instrument.scale.max},
                }}},
            })
        })
        .collect()
}

fn statuses<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    names.collect()
}

/// `if` `status` is one of `statuses` `then` `field` is present and matches `schema`.
fn when_status(statuses: &[&str], field: &str, schema: Value) -> Value {
    json!({
        "if": {"required": ["status"], "properties": {"status": {"enum": statuses}}},
        "then": {"required": [field], "properties": {field: schema}},
    })
}

fn set_all_of(document: &mut OpenApi, name: &str, rules: Vec<Value>) {
    let schema = document
        .components
        .as_mut()
        .and_then(|components| components.schemas.get_mut(name));
    if let Some(RefOr::T(Schema::Object(object))) = schema {
        object
            .extensions
            .get_or_insert_with(Default::default)
            .insert("allOf".into(), Value::Array(rules));
    }
}
