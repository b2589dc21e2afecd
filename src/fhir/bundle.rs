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
