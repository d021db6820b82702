//! The JSON request body, read field by field so that each bad field gets its own error.
//!
//! An object that names a key twice is refused (400 `malformed_request`, the message naming
//! the key, never a value), at any depth: parsers disagree on which copy counts (serde_json
//! keeps the last, others the first), so a proxy or a log could read one amount and this
//! server debit another.

use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::super::flow::Problem;
use super::super::input::{Field, malformed};
use super::reply::Reply;

/// The longest part of a repeated key quoted in the error message.
const KEY_SHOWN_CHARS: usize = 64;

/// A request body that is a JSON object without a repeated key, sent as `application/json`.
///
/// Requiring that content type also keeps other sites' forms out: a browser sends a cross-site
/// `application/json` request only after a CORS preflight, which this server never grants.
pub struct JsonObject(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = Reply;

    async fn from_request(request: Request, state: &S) -> Result<Self, Reply> {
        if !is_json(request.headers()) {
            return Err(Reply::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with Content-Type: application/json",
            ));
        }
        let bytes = match Bytes::from_request(request, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(Reply::error(
                    rejection.status(),
                    "body_too_large",
                    "the body is too large",
                ));
            }
            Err(_) => return Err(body_error("the body could not be read")),
        };
        match parse_distinct(&bytes) {
            Ok(Value::Object(fields)) => Ok(Self(fields)),
            Ok(_) => Err(body_error("the body must be a JSON object")),
            Err(Some(key)) => {
                let shown: String = key.chars().take(KEY_SHOWN_CHARS).collect();
                Err(body_error(&format!(
                    "the key `{shown}` appears twice in one object; send each key once"
                )))
            }
            Err(None) => Err(body_error("the body is not valid JSON")),
        }
    }
}

/// Whether the content type is `application/json` or `application/*+json`, parameters aside.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The JSON document in `bytes`; otherwise the first key an object repeats, or `None` when it
/// is not JSON.
fn parse_distinct(bytes: &[u8]) -> Result<Value, Option<String>> {
    let mut repeated = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Distinct(&mut repeated)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    parsed.map_err(|_| repeated)
}

/// Builds a [`Value`] as serde_json does, except that an object repeating a key stops the
/// parse, the key noted.
struct Distinct<'a>(&'a mut Option<String>);

impl<'de> DeserializeSeed<'de> for Distinct<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Distinct<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = items.next_element_seed(Distinct(&mut *self.0))? {
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            if fields.contains_key(&key) {
                *self.0 = Some(key);
                return Err(de::Error::custom("a key appears twice"));
            }
            let value = entries.next_value_seed(Distinct(&mut *self.0))?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

fn body_error(message: &str) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, "malformed_request", message)
}

impl JsonObject {
    /// The string field `name`.
    pub fn text(&self, name: &str, field: Field) -> Result<&str, Problem> {
        match self.0.get(name) {
            Some(Value::String(text)) => Ok(text),
            Some(_) => Err(malformed(field, format!("`{name}` must be a string"))),
            None => Err(malformed(field, format!("`{name}` is missing"))),
        }
    }

    /// The string field `name`, if present.
    pub fn optional_text(&self, name: &str, field: Field) -> Result<Option<&str>, Problem> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.text(name, field).map(Some),
        }
    }

    /// The field `name`, a whole number from 0 to 2^64 - 1 written without fraction or
    /// exponent.
    pub fn whole_number(&self, name: &str, field: Field) -> Result<u64, Problem> {
        let refuse = || {
            malformed(
                field,
                format!("`{name}` must be a whole number of minor units (cents), above 0"),
            )
        };
        match self.0.get(name) {
            Some(Value::Number(number)) => number.as_u64().ok_or_else(refuse),
            Some(_) => Err(refuse()),
            None => Err(malformed(field, format!("`{name}` is missing"))),
        }
    }
}
