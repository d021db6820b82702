//! The JSON request body, read field by field so that each bad field gets its own error.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::super::flow::Problem;
use super::super::input::{Field, malformed};
use super::reply::Reply;

/// A request body that is a JSON object, sent as `application/json`.
///
/// Requiring that content type also keeps other sites' forms out: a browser sends a cross-site
/// `application/json` request only after a CORS preflight, which this server never grants.
pub struct JsonObject(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = Reply;

    async fn from_request(request: Request, state: &S) -> Result<Self, Reply> {
        match Json::<Value>::from_request(request, state).await {
            Ok(Json(Value::Object(fields))) => Ok(Self(fields)),
            Ok(Json(_)) => Err(body_error("the body must be a JSON object")),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Reply::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with Content-Type: application/json",
            )),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(Reply::error(
                    rejection.status(),
                    "body_too_large",
                    "the body is too large",
                ))
            }
            Err(_) => Err(body_error("the body is not valid JSON")),
        }
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
