//! Bundles: a search's `searchset` with its page links, and the `transaction-response` to a
//! transaction.

use serde::Serialize;
use serde_json::{json, Value};

/// A page of search results for `kind`: `self` names the query as given (without `_cursor`),
/// `next` the following page when there is one. Every entry is a match.
pub fn searchset<T: Serialize>(
    base: &str,
    kind: &str,
    kept: &[(String, String)],
    next: Option<String>,
    resources: &[T],
) -> Value {
    let url = |cursor: Option<&str>| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in kept {
            query.append_pair(name, value);
        }
        if let Some(cursor) = cursor {
            query.append_pair("_cursor", cursor);
        }
        let query = query.finish();
        match query.is_empty() {
            true => format!("{base}/fhir/r4/{kind}"),
            false => format!("{base}/fhir/r4/{kind}?{query}"),
        }
    };
    let mut links = vec![json!({"relation": "self", "url": url(None)})];
    if let Some(next) = next {
        links.push(json!({"relation": "next", "url": url(Some(&next))}));
    }
    let entries: Vec<Value> = resources
        .iter()
        .map(|resource| {
            let resource = serde_json::to_value(resource).unwrap_or(Value::Null);
            let id = resource["id"].as_str().unwrap_or_default().to_owned();
            json!({
                "fullUrl": format!("{base}/fhir/r4/{kind}/{id}"),
                "resource": resource,
                "search": {"mode": "match"},
            })
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": super::labels::instant(chrono::Utc::now()),
        "link": links,
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    bundle
}

crate::fhir_element! {
    /// FHIR R4 `Bundle`, as a client sends one (a transaction).
    pub struct Bundle {
        resource_type: String,
        id: String,
        meta: crate::fhir::datatypes::Meta,
        implicit_rules: String,
        language: String,
        identifier: crate::fhir::datatypes::Identifier,
        #[serde(rename = "type")]
        kind: String,
        timestamp: String,
        total: u32,
        link: Vec<Value>,
        entry: Vec<BundleEntry>,
        signature: Value,
    }
}

crate::fhir_element! {
    /// One entry of a Bundle: a resource, and for a transaction the request that carries it.
    pub struct BundleEntry {
        id: String,
        extension: Vec<Value>,
        modifier_extension: Vec<Value>,
        link: Vec<Value>,
        full_url: String,
        resource: Value,
        search: Value,
        request: BundleRequest,
        response: Value,
    }
}

crate::fhir_element! {
    /// What a transaction entry asks the server to do with its resource.
    pub struct BundleRequest {
        id: String,
        extension: Vec<Value>,
        modifier_extension: Vec<Value>,
        method: String,
        url: String,
        if_none_match: String,
        if_modified_since: String,
        if_match: String,
        if_none_exist: String,
    }
}

impl crate::fhir::body::Resource for Bundle {
    const TYPE: &'static str = "Bundle";
}

/// A `transaction-response`: one entry per entry of the transaction, in its order, each with
/// the status and location of what it made (or found).
pub fn transaction_response(outcomes: &[(String, &str)]) -> Value {
    let entries: Vec<Value> = outcomes
        .iter()
        .map(|(location, status)| json!({"response": {"status": status, "location": location}}))
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "transaction-response",
        "timestamp": super::labels::instant(chrono::Utc::now()),
        "entry": entries,
    })
}
