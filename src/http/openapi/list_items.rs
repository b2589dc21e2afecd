//! Lists refer to their item schema. utoipa writes a generic `Page<T>` with `T`'s whole schema
//! inlined, so a generated client would get a second, unrelated type for each listed object;
//! here each `Page_<T>` whose items are exactly the component `T` points at it instead.

use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::{OpenApi, Ref, RefOr};

const PREFIX: &str = "Page_";

/// Replaces the inlined items of every `Page_<T>` with a reference to `T`.
pub fn refer(document: &mut OpenApi) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    let names: Vec<String> = components
        .schemas
        .keys()
        .filter(|name| name.starts_with(PREFIX))
        .cloned()
        .collect();
    for page in names {
        let item = page[PREFIX.len()..].to_owned();
        let Some(RefOr::T(expected)) = components.schemas.get(&item).cloned() else {
            continue;
        };
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&page) else {
            continue;
        };
        let Some(RefOr::T(Schema::Array(items))) = object.properties.get_mut("items") else {
            continue;
        };
        let inlined = matches!(&items.items, ArrayItems::RefOrSchema(schema) if **schema == RefOr::T(expected.clone()));
        if inlined {
            items.items =
                ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
        }
    }
}
