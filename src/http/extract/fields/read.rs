//! The deserializers of request bodies and query strings, with [`Problem`] as their error.

use std::borrow::Cow;

use serde::de::value::{BorrowedStrDeserializer, CowStrDeserializer, MapDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{map, Value};

use super::{placed, Kind, Problem, Wanted};

/// A parsed JSON value to deserialize from, as `serde_json::Value` does, but with [`Problem`]
/// errors. A struct is read only from an object (serde_json also takes an array).
#[derive(Clone, Copy)]
pub struct JsonValue<'de>(pub &'de Value);

/// The items of an array, each read as a value of its own.
struct Items<'de>(std::slice::Iter<'de, Value>);

impl<'de> de::SeqAccess<'de> for Items<'de> {
    type Error = Problem;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Problem> {
        // A problem the item's type found after reading it is still the item's.
        let item = self.0.next().map(|item| seed.deserialize(JsonValue(item)));
        placed(None, item.transpose())
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// The entries of an object, each value read as a value of its own.
struct Entries<'de> {
    entries: map::Iter<'de>,
    value: Option<&'de Value>,
}

impl<'de> de::MapAccess<'de> for Entries<'de> {
    type Error = Problem;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Problem> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        placed(None, seed.deserialize(BorrowedStrDeserializer::new(key))).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Problem> {
        match self.value.take() {
            Some(value) => placed(None, seed.deserialize(JsonValue(value))),
            // serde asks for a value only after its key.
            None => Err(Problem::new(Kind::WrongLength)),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

impl<'de> JsonValue<'de> {
    /// Hands the value to `visitor` as what it is.
    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(value) => visitor.visit_bool(*value),
            Value::Number(number) => match (number.as_u64(), number.as_i64(), number.as_f64()) {
                (Some(value), _, _) => visitor.visit_u64(value),
                (None, Some(value), _) => visitor.visit_i64(value),
                (None, None, Some(value)) => visitor.visit_f64(value),
                (None, None, None) => Err(Problem::new(Kind::BadValue)),
            },
            Value::String(text) => visitor.visit_borrowed_str(text),
            Value::Array(items) => {
                let mut items = Items(items.iter());
                let value = visitor.visit_seq(&mut items)?;
                match items.0.len() {
                    0 => Ok(value),
                    _ => Err(Problem::new(Kind::WrongLength)),
                }
            }
            Value::Object(object) => {
                let mut entries = Entries {
                    entries: object.iter(),
                    value: None,
                };
                let value = visitor.visit_map(&mut entries)?;
                match entries.entries.len() {
                    0 => Ok(value),
                    _ => Err(Problem::new(Kind::WrongLength)),
                }
            }
        }
    }
}

/// Deserializer methods that take only some kinds of JSON value.
macro_rules! json_kind {
    ($($method:ident: $pattern:pat => $wanted:expr;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
            match self.0 {
                $pattern => placed($wanted, self.visit(visitor)),
                _ => Err(Problem::wrong_type($wanted)),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for JsonValue<'de> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        placed(None, self.visit(visitor))
    }

    json_kind! {
        deserialize_bool: Value::Bool(_) => Some(Wanted::Boolean);
        deserialize_i8: Value::Number(_) => Some(Wanted::Integer);
        deserialize_i16: Value::Number(_) => Some(Wanted::Integer);
        deserialize_i32: Value::Number(_) => Some(Wanted::Integer);
        deserialize_i64: Value::Number(_) => Some(Wanted::Integer);
        deserialize_i128: Value::Number(_) => Some(Wanted::Integer);
        deserialize_u8: Value::Number(_) => Some(Wanted::Integer);
        deserialize_u16: Value::Number(_) => Some(Wanted::Integer);
        deserialize_u32: Value::Number(_) => Some(Wanted::Integer);
        deserialize_u64: Value::Number(_) => Some(Wanted::Integer);
        deserialize_u128: Value::Number(_) => Some(Wanted::Integer);
        deserialize_f32: Value::Number(_) => Some(Wanted::Number);
        deserialize_f64: Value::Number(_) => Some(Wanted::Number);
        deserialize_char: Value::String(_) => Some(Wanted::Text);
        deserialize_str: Value::String(_) => Some(Wanted::FormattedText);
        deserialize_string: Value::String(_) => Some(Wanted::Text);
        deserialize_bytes: Value::String(_) | Value::Array(_) => None;
        deserialize_byte_buf: Value::String(_) | Value::Array(_) => None;
        deserialize_unit: Value::Null => None;
        deserialize_seq: Value::Array(_) => Some(Wanted::Array);
        deserialize_map: Value::Object(_) => Some(Wanted::Object);
        deserialize_identifier: Value::String(_) => None;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        match self.0 {
            Value::Null => placed(None, visitor.visit_none()),
            _ => placed(None, visitor.visit_some(self)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Problem> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Problem> {
        placed(None, visitor.visit_newtype_struct(self))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Problem> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Problem> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        let wanted = Some(Wanted::OneOf(variants));
        let result = match self.0 {
            Value::String(name) => visitor.visit_enum(name.as_str().into_deserializer()),
            Value::Object(object) => match object.iter().next() {
                Some((name, value)) if object.len() == 1 => {
                    visitor.visit_enum(TaggedVariant(name, JsonValue(value)))
                }
                _ => Err(Problem::wrong_type(wanted)),
            },
            _ => Err(Problem::wrong_type(wanted)),
        };
        placed(wanted, result)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        placed(None, visitor.visit_unit())
    }
}

/// An enum value written `{"variant": content}`, as serde_json writes it.
struct TaggedVariant<'de>(&'de str, JsonValue<'de>);

impl<'de> de::EnumAccess<'de> for TaggedVariant<'de> {
    type Error = Problem;
    type Variant = JsonValue<'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, JsonValue<'de>), Problem> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.0))?;
        Ok((variant, self.1))
    }
}

impl<'de> de::VariantAccess<'de> for JsonValue<'de> {
    type Error = Problem;

    fn unit_variant(self) -> Result<(), Problem> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Problem> {
        placed(None, seed.deserialize(self))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Problem> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        self.deserialize_map(visitor)
    }
}

/// One value of a query string or form, read as `serde_urlencoded` reads it: text, parsed
/// when the field wants a boolean or a number.
pub struct Text<'de>(Cow<'de, str>);

/// A query string or form body to deserialize a struct from.
pub fn form_fields(
    form: &[u8],
) -> MapDeserializer<'_, impl Iterator<Item = (Cow<'_, str>, Text<'_>)>, Problem> {
    MapDeserializer::new(form_urlencoded::parse(form).map(|(key, value)| (key, Text(value))))
}

impl<'de> IntoDeserializer<'de, Problem> for Text<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Text<'de> {
    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        match self.0 {
            Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
            Cow::Owned(text) => visitor.visit_string(text),
        }
    }
}

/// Deserializer methods that parse the text as a `bool` or a number.
macro_rules! parsed {
    ($($method:ident: $type:ty => $visit:ident, $wanted:expr;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
            match self.0.parse::<$type>() {
                Ok(value) => placed(Some($wanted), visitor.$visit(value)),
                Err(_) => Err(Problem::wrong_type(Some($wanted))),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Text<'de> {
    type Error = Problem;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        placed(None, self.visit(visitor))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        placed(Some(Wanted::FormattedText), self.visit(visitor))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        placed(Some(Wanted::Text), self.visit(visitor))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Problem> {
        placed(None, visitor.visit_some(self))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Problem> {
        placed(None, visitor.visit_newtype_struct(self))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Problem> {
        let name = CowStrDeserializer::new(self.0);
        placed(Some(Wanted::OneOf(variants)), visitor.visit_enum(name))
    }

    parsed! {
        deserialize_bool: bool => visit_bool, Wanted::Boolean;
        deserialize_i8: i8 => visit_i8, Wanted::Integer;
        deserialize_i16: i16 => visit_i16, Wanted::Integer;
        deserialize_i32: i32 => visit_i32, Wanted::Integer;
        deserialize_i64: i64 => visit_i64, Wanted::Integer;
        deserialize_u8: u8 => visit_u8, Wanted::Integer;
        deserialize_u16: u16 => visit_u16, Wanted::Integer;
        deserialize_u32: u32 => visit_u32, Wanted::Integer;
        deserialize_u64: u64 => visit_u64, Wanted::Integer;
        deserialize_f32: f32 => visit_f32, Wanted::Number;
        deserialize_f64: f64 => visit_f64, Wanted::Number;
    }

    forward_to_deserialize_any! {
        char unit bytes byte_buf unit_struct tuple_struct struct identifier tuple ignored_any
        seq map
    }
}
