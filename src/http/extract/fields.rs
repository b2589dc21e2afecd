//! What is wrong with each field of a request, as data rather than as parser prose.
//!
//! Request bodies and query strings are read through the deserializers here, whose error type
//! [`Problem`] records the call serde made (`missing_field`, `unknown_variant`, ...) and what
//! the field's type asked the deserializer for (a string, an integer, one of some names). The
//! wording of serde's, uuid's or chrono's messages is never read: `custom` errors are told
//! apart by the field's documented schema (a UUID, a date) instead.

use std::fmt;

use serde::de::{self, Expected, Unexpected};
use serde_path_to_error::Segment;
use utoipa::openapi::path::Parameter;
use utoipa::openapi::schema::{
    ArrayItems, KnownFormat, Object, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};

use crate::http::error::FieldError;

mod read;
#[cfg(test)]
mod tests;

pub use read::{form_fields, JsonValue};

/// Why a value did not deserialize, in the terms of serde's `de::Error` constructors.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A required field was left out (`missing_field`).
    Missing(&'static str),
    /// A field the type does not have (`unknown_field`).
    Unknown(String),
    /// A field given twice (`duplicate_field`).
    Duplicate(&'static str),
    /// A name that is none of the allowed ones (`unknown_variant`).
    UnknownVariant(&'static [&'static str]),
    /// A value of the wrong JSON type (`invalid_type`).
    WrongType,
    /// A list or map of the wrong size (`invalid_length`).
    WrongLength,
    /// A value of the right type that is not acceptable (`invalid_value`, `custom`).
    BadValue,
}

/// What a field's type asked the deserializer for, where a problem arose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wanted {
    /// An owned string or a character.
    Text,
    /// Text that may need a particular form (a UUID, a date): the schema says which.
    FormattedText,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    /// One of these names (an enum).
    OneOf(&'static [&'static str]),
}

/// A deserialization error, as data.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: Kind,
    /// What the innermost deserializer call was asked for; `None` when nothing more precise
    /// than "a value" was asked.
    pub wanted: Option<Wanted>,
    /// Set by the innermost deserializer call the problem passed through, which alone knows
    /// what was asked for where it arose.
    placed: bool,
}

impl Problem {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            wanted: None,
            placed: false,
        }
    }

    fn wrong_type(wanted: Option<Wanted>) -> Self {
        Self {
            kind: Kind::WrongType,
            wanted,
            placed: true,
        }
    }
}

/// Records what the current deserializer call was asked for on a problem no inner call has
/// claimed. Every value read claims what comes out of it (see `read`), so a problem a field's
/// type raises after reading its value is that field's, with nothing particular asked for.
fn placed<T>(wanted: Option<Wanted>, result: Result<T, Problem>) -> Result<T, Problem> {
    result.map_err(|mut problem| {
        if !problem.placed {
            problem.placed = true;
            problem.wanted = wanted;
        }
        problem
    })
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?} (wanted {:?})", self.kind, self.wanted)
    }
}

impl std::error::Error for Problem {}

/// Every constructor keeps what serde passes as data; none keeps a message. `custom` carries
/// nothing but text (uuid's and chrono's parse errors come this way): it is a bad value, which
/// [`describe`] explains by the field's documented format.
impl de::Error for Problem {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        Self::new(Kind::BadValue)
    }

    fn invalid_type(_: Unexpected<'_>, _: &dyn Expected) -> Self {
        Self::new(Kind::WrongType)
    }

    fn invalid_value(_: Unexpected<'_>, _: &dyn Expected) -> Self {
        Self::new(Kind::BadValue)
    }

    fn invalid_length(_: usize, _: &dyn Expected) -> Self {
        Self::new(Kind::WrongLength)
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Self::new(Kind::UnknownVariant(expected))
    }

    fn unknown_field(field: &str, _: &'static [&'static str]) -> Self {
        Self::new(Kind::Unknown(field.to_owned()))
    }

    fn missing_field(field: &'static str) -> Self {
        Self::new(Kind::Missing(field))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::new(Kind::Duplicate(field))
    }
}

/// The form of text a field's schema documents.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Uuid,
    DateOrTime,
    Other,
}

/// A request type's documented schema and the schemas it refers to: what tells a UUID field
/// from a date field when a value failed to parse as either.
pub struct Shapes {
    root: RefOr<Schema>,
    components: Vec<(String, RefOr<Schema>)>,
}

impl Shapes {
    pub fn of<T: ToSchema>() -> Self {
        let mut components = Vec::new();
        T::schemas(&mut components);
        Self {
            root: T::schema(),
            components,
        }
    }

    /// The query parameters of `T`, as if they were the properties of an object.
    pub fn of_params<T: IntoParams>() -> Self {
        let mut object = utoipa::openapi::ObjectBuilder::new();
        for Parameter { name, schema, .. } in T::into_params(|| None) {
            if let Some(schema) = schema {
                object = object.property(name, schema);
            }
        }
        Self {
            root: RefOr::T(Schema::Object(object.build())),
            components: Vec::new(),
        }
    }

    /// The schema `schema` stands for: a reference followed, `null` dropped from a choice.
    fn resolve<'a>(&'a self, schema: &'a RefOr<Schema>, depth: usize) -> Option<&'a Schema> {
        let choices = match schema {
            RefOr::Ref(reference) if depth < 8 => {
                let name = reference.ref_location.rsplit('/').next()?;
                let (_, found) = self.components.iter().find(|(n, _)| n == name)?;
                return self.resolve(found, depth + 1);
            }
            RefOr::Ref(_) => return None,
            RefOr::T(Schema::OneOf(choice)) => &choice.items,
            RefOr::T(Schema::AnyOf(choice)) => &choice.items,
            RefOr::T(Schema::AllOf(choice)) => &choice.items,
            RefOr::T(schema) => return Some(schema),
        };
        choices
            .iter()
            .filter_map(|choice| self.resolve(choice, depth + 1))
            .find(|schema| !is_null(schema))
    }

    fn format_at(&self, path: &[Step]) -> Format {
        let mut schema = self.resolve(&self.root, 0);
        for step in path {
            schema = match (schema, step) {
                (Some(Schema::Object(object)), Step::Key(key)) => object
                    .properties
                    .get(key)
                    .and_then(|property| self.resolve(property, 0)),
                (Some(Schema::Array(array)), Step::Index(_)) => match &array.items {
                    ArrayItems::RefOrSchema(items) => self.resolve(items, 0),
                    ArrayItems::False => None,
                },
                _ => None,
            };
        }
        match schema {
            Some(Schema::Object(Object {
                format: Some(SchemaFormat::KnownFormat(format)),
                ..
            })) => match format {
                KnownFormat::Uuid => Format::Uuid,
                KnownFormat::Date | KnownFormat::DateTime => Format::DateOrTime,
                _ => Format::Other,
            },
            _ => Format::Other,
        }
    }
}

fn is_null(schema: &Schema) -> bool {
    matches!(schema, Schema::Object(object) if object.schema_type == SchemaType::Type(Type::Null))
}

/// One step of a field's path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
    Unknown,
}

/// The field a problem is about: where serde was, plus the field it named.
pub fn field_path(path: &serde_path_to_error::Path, problem: &Problem) -> Vec<Step> {
    let mut steps: Vec<Step> = path
        .iter()
        .map(|segment| match segment {
            Segment::Map { key } => Step::Key(key.clone()),
            Segment::Enum { variant } => Step::Key(variant.clone()),
            Segment::Seq { index } => Step::Index(*index),
            Segment::Unknown => Step::Unknown,
        })
        .collect();
    let named = match &problem.kind {
        Kind::Missing(name) | Kind::Duplicate(name) => Some(*name),
        Kind::Unknown(name) => Some(name.as_str()),
        _ => None,
    };
    if let Some(name) = named {
        // serde_path_to_error already ends the path with a key it was reading.
        if !matches!(steps.last(), Some(Step::Key(key)) if key == name) {
            steps.push(Step::Key(name.to_owned()));
        }
    }
    steps
}

/// A path as the client sees it: `email`, `answers[3]`, `[2].status`, or `body` for the whole.
pub fn display_path(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Index(index) => path.push_str(&format!("[{index}]")),
            Step::Key(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Step::Unknown => path.push_str(if path.is_empty() { "?" } else { ".?" }),
        }
    }
    if path.is_empty() {
        "body".into()
    } else {
        path
    }
}

/// The field a problem is about and what is wrong with it, in our own words.
pub fn describe(steps: &[Step], problem: &Problem, shapes: &Shapes) -> FieldError {
    let format = || shapes.format_at(steps);
    let message = match &problem.kind {
        Kind::Missing(_) => "is required".into(),
        Kind::Unknown(_) => "is not a known field".into(),
        Kind::Duplicate(_) => "is given more than once".into(),
        Kind::UnknownVariant(names) => one_of(names),
        Kind::WrongLength => "has the wrong number of items".into(),
        Kind::WrongType => match problem.wanted {
            Some(Wanted::Text) => "must be a string".into(),
            Some(Wanted::FormattedText) if format() == Format::Other => "must be a string".into(),
            Some(Wanted::Integer) => "must be an integer".into(),
            Some(Wanted::Number) => "must be a number".into(),
            Some(Wanted::Boolean) => "must be a boolean".into(),
            Some(Wanted::Array) => "must be an array".into(),
            Some(Wanted::Object) => "must be an object".into(),
            Some(Wanted::OneOf(names)) => one_of(names),
            Some(Wanted::FormattedText) | None => "has the wrong type".into(),
        },
        Kind::BadValue => match (format(), problem.wanted) {
            (Format::Uuid, _) => "must be a UUID".into(),
            (Format::DateOrTime, _) => "is not a valid date or time".into(),
            (Format::Other, Some(Wanted::OneOf(names))) => one_of(names),
            (Format::Other, _) => "is not a valid value".into(),
        },
    };
    FieldError::new(display_path(steps), message)
}

fn one_of(names: &[&str]) -> String {
    if names.is_empty() {
        "is not an allowed value".into()
    } else {
        format!("must be one of: {}", names.join(", "))
    }
}
