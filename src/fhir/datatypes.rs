//! The FHIR R4 data types the interface reads and writes, each with every element R4 gives it,
//! so an element R4 does not define is refused by name (`deny_unknown_fields`) and an element
//! it defines but Tandem does not use passes through as JSON.

use serde_json::Value;

/// Declares a FHIR element type: every field optional (FHIR's JSON leaves out what is absent,
/// never `null`), named in camelCase, and refused when unknown.
#[macro_export]
macro_rules! fhir_element {
    ($(#[$meta:meta])* pub struct $name:ident {
        $($(#[$field_meta:meta])* $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[$field_meta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

crate::fhir_element! {
    /// A code from a code system.
    pub struct Coding {
        id: String,
        extension: Vec<Value>,
        system: String,
        version: String,
        code: String,
        display: String,
        user_selected: bool,
    }
}

crate::fhir_element! {
    /// Codes and/or text for one concept.
    pub struct CodeableConcept {
        id: String,
        extension: Vec<Value>,
        coding: Vec<Coding>,
        text: String,
    }
}

crate::fhir_element! {
    /// A reference to another resource: by literal URL, by identifier, or by name only.
    pub struct Reference {
        id: String,
        extension: Vec<Value>,
        reference: String,
        #[serde(rename = "type")]
        kind: String,
        identifier: Box<Identifier>,
        display: String,
    }
}

crate::fhir_element! {
    /// A business identifier: a value in a namespace (`system`).
    pub struct Identifier {
        id: String,
        extension: Vec<Value>,
        #[serde(rename = "use")]
        purpose: String,
        #[serde(rename = "type")]
        kind: CodeableConcept,
        system: String,
        value: String,
        period: Value,
        assigner: Box<Reference>,
    }
}

crate::fhir_element! {
    /// A person's name.
    pub struct HumanName {
        id: String,
        extension: Vec<Value>,
        #[serde(rename = "use")]
        purpose: String,
        text: String,
        family: String,
        given: Vec<String>,
        prefix: Vec<String>,
        suffix: Vec<String>,
        period: Value,
    }
}

crate::fhir_element! {
    /// A phone number, email address or other way to reach someone.
    pub struct ContactPoint {
        id: String,
        extension: Vec<Value>,
        system: String,
        value: String,
        #[serde(rename = "use")]
        purpose: String,
        rank: u32,
        period: Value,
    }
}

crate::fhir_element! {
    /// A resource's metadata: its version, when it last changed, its profiles and its
    /// security labels.
    pub struct Meta {
        id: String,
        extension: Vec<Value>,
        version_id: String,
        last_updated: String,
        source: String,
        profile: Vec<String>,
        security: Vec<Coding>,
        tag: Vec<Coding>,
    }
}

impl Coding {
    pub fn new(system: &str, code: &str, display: &str) -> Self {
        Self {
            system: Some(system.to_owned()),
            code: Some(code.to_owned()),
            display: Some(display.to_owned()),
            ..Self::default()
        }
    }
}

impl CodeableConcept {
    pub fn coded(coding: Coding) -> Self {
        Self {
            text: coding.display.clone(),
            coding: Some(vec![coding]),
            ..Self::default()
        }
    }

    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// The code from `system`, if the concept has one.
    pub fn code_in(&self, system: &str) -> Option<&str> {
        self.coding
            .iter()
            .flatten()
            .find(|coding| coding.system.as_deref() == Some(system))
            .and_then(|coding| coding.code.as_deref())
    }

    /// What the concept says in words: its text, or else its first coding's display or code.
    pub fn words(&self) -> Option<&str> {
        self.text.as_deref().or_else(|| {
            let first = self.coding.as_ref()?.first()?;
            first.display.as_deref().or(first.code.as_deref())
        })
    }
}

impl Reference {
    /// A literal reference to `kind/id` on this server, with a name to show.
    pub fn to(kind: &str, id: impl std::fmt::Display, display: Option<String>) -> Self {
        Self {
            reference: Some(format!("{kind}/{id}")),
            display,
            ..Self::default()
        }
    }

    /// A reference by name only, to someone this server holds no resource for.
    pub fn named(kind: &str, display: impl Into<String>) -> Self {
        Self {
            kind: Some(kind.to_owned()),
            display: Some(display.into()),
            ..Self::default()
        }
    }
}
