//! What each event delivers, written once here: the OpenAPI document's top-level `webhooks`
//! section and the schemas of the event bodies are built from it.

use serde_json::{json, Value};

use crate::db::models::webhook_events::EventType;

/// When the event is sent, in a sentence for the document.
pub fn summary(event: EventType) -> &'static str {
    match event {
        EventType::ReferralCreated => {
            "A referral was sent to a resource the client is linked to (or recorded for it)."
        }
        EventType::ReferralStatusChanged => "A referral the client takes part in changed status.",
        EventType::ConsentRevoked => {
            "A consent that names the client, or under which it received data, was revoked."
        }
    }
}

/// The `data` of the event: ids only. The receiver reads the objects through the API, where
/// scope and consent apply.
pub fn data_schema(event: EventType) -> Value {
    let uuid = json!({"type": "string", "format": "uuid"});
    match event {
        EventType::ReferralCreated | EventType::ReferralStatusChanged => json!({
            "type": "object",
            "required": ["referral_id"],
            "properties": {"referral_id": uuid},
            "additionalProperties": false,
        }),
        EventType::ConsentRevoked => json!({
            "type": "object",
            "required": ["consent_id", "referral_ids"],
            "properties": {
                "consent_id": uuid,
                "referral_ids": {
                    "type": "array",
                    "items": uuid,
                    "description": "The referrals whose participant details the client received under the consent; it reads them no longer.",
                },
            },
            "additionalProperties": false,
        }),
    }
}

/// The component name of the event's body, e.g. `ReferralCreatedEvent`.
pub fn schema_name(event: EventType) -> String {
    let name: String = event
        .as_str()
        .split(['.', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{name}Event")
}

/// The schema of the whole body of the event.
pub fn body_schema(event: EventType) -> Value {
    json!({
        "type": "object",
        "description": summary(event),
        "required": ["id", "type", "occurred_at", "data"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "The event's id, also sent as `webhook-id`; the same on every attempt."},
            "type": {"type": "string", "enum": [event.as_str()]},
            "occurred_at": {"type": "string", "format": "date-time"},
            "data": data_schema(event),
        },
        "additionalProperties": false,
    })
}
