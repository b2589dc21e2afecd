//! The document's top-level `webhooks` section (OpenAPI 3.1): one operation per event type,
//! with the headers every delivery carries and the event's body as a component schema.

use serde_json::{json, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

use crate::db::models::webhook_events::EventType;
use crate::webhooks::events;

const SIGNATURES: &str = "Each delivery is signed twice with the client's `webhook_secret`. \
`webhook-signature` follows Standard Webhooks: `v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">`, \
keyed with the bytes the base64 after `whsec_` decodes to. `X-Tandem-Signature` is \
`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`, keyed with the UTF-8 bytes of the whole secret. \
For 24 hours after the secret is rotated each header carries a second signature, made with the \
previous secret (space-separated in `webhook-signature`, a second `v1=` in `X-Tandem-Signature`): \
accept the delivery when any one verifies.";

/// Adds the event schemas to the components and the `webhooks` section to the document.
pub fn add(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    let mut section = serde_json::Map::new();
    for &event in EventType::ALL {
        let name = events::schema_name(event);
        if let Ok(schema) = serde_json::from_value::<Schema>(events::body_schema(event)) {
            components.schemas.insert(name.clone(), RefOr::T(schema));
        }
        section.insert(
            event.as_str().to_owned(),
            json!({"post": operation(event, &name)}),
        );
    }
    document
        .extensions
        .get_or_insert_with(Default::default)
        .insert("webhooks".into(), Value::Object(section));
}

fn operation(event: EventType, schema: &str) -> Value {
    let header = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "header", "required": true, "description": description, "schema": schema});
    let id = event.as_str().replace(['.', '_'], " ");
    let operation_id: String = id
        .split(' ')
        .enumerate()
        .map(|(i, word)| match i {
            0 => word.to_owned(),
            _ => word[..1].to_uppercase() + &word[1..],
        })
        .collect();
    json!({
        "operationId": format!("{operation_id}Webhook"),
        "tags": ["integration-clients"],
        "summary": event.as_str(),
        "description": format!(
            "Roles: sent by Tandem to the `webhook_url` of each integration client the event \
    concerns. {} Events carry ids only. Delivered at least once (deduplicate by `webhook-id`), \
    retried with backoff, and listed at `GET /api/v1/integration-clients/{{id}}/deliveries`.\n\n{SIGNATURES}",
            events::summary(event)
        ),
        "parameters": [
            header("webhook-id", "The event's id; the same on every attempt.", json!({"type": "string", "format": "uuid"})),
            header("webhook-timestamp", "When this attempt was signed, in Unix seconds.", json!({"type": "string", "pattern": "^[0-9]+$"})),
            header("webhook-signature", "One or two `v1,<base64>` signatures, space-separated.", json!({"type": "string", "pattern": "^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)?$"})),
            header("X-Tandem-Signature", "`t=<unix seconds>,v1=<hex>`, with a second `,v1=<hex>` during a rotation.", json!({"type": "string", "pattern": "^t=[0-9]+(,v1=[0-9a-f]{64}){1,2}$"})),
        ],
        "requestBody": {
            "required": true,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}},
        },
        "responses": {
            "2XX": {"description": "Received. Any 2xx counts as delivered."},
            "4XX": {"description": "Not received: retried with backoff (redirects are not followed and count as failures too)."},
            "5XX": {"description": "Not received: retried with backoff."},
        },
        "security": [],
    })
}
