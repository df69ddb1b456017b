//! Request bodies, read where Rocket hands them over: size-limited, then as typed JSON
//! (every error names the field by its path) or as a record of text fields (a form's
//! JSON twin, where every value is text such as "12.5 mm").

use crate::domain;
use crate::service::Error;
use rocket::data::{Data, ToByteUnit};

/// Largest JSON body of most API routes (a standard, a record, a work order), KiB.
const BODY_LIMIT_KIB: u64 = 64;

/// A JSON body of at most 64 KiB as text.
pub async fn read_body(data: Data<'_>) -> Result<String, Error> {
    read_text(data, BODY_LIMIT_KIB).await
}

/// A body of at most `limit_kib` KiB as UTF-8 text; larger or unreadable is a 422
/// naming `body`.
pub async fn read_text(data: Data<'_>, limit_kib: u64) -> Result<String, Error> {
    let bytes = read_bytes(data, limit_kib.kibibytes(), &format!("{limit_kib} KiB")).await?;
    String::from_utf8(bytes)
        .map_err(|e| Error::field("body", "request.unreadable", format!("the body could not be read: {e}")))
}

/// A request body of at most `limit` (named `shown` in the error) as bytes.
pub async fn read_bytes(data: Data<'_>, limit: rocket::data::ByteUnit, shown: &str) -> Result<Vec<u8>, Error> {
    let body = data
        .open(limit)
        .into_bytes()
        .await
        .map_err(|e| Error::field("body", "request.unreadable", format!("the body could not be read: {e}")))?;
    if !body.is_complete() {
        return Err(Error::field(
            "body",
            "request.too_large",
            format!("the body is larger than {shown}"),
        ));
    }
    Ok(body.into_inner())
}

/// Names a client may send but that never decide anything: who is acting, and for
/// which organisation, comes from the login, never from the request body.
const IGNORED_FIELDS: &[&str] = &[
    "role",
    "roles",
    "organisation",
    "organisation_id",
    "org",
    "org_id",
    "owner_id",
    "user_id",
    "actor",
];

/// A JSON object as a record of text fields (`fields` are its names). Values are strings;
/// with `numbers`, a number is taken as its text too (an id). Unknown names and values
/// of another type are field errors; the names in IGNORED_FIELDS are skipped.
pub fn text_fields_from_json<T: crate::domain::TextFields>(
    body: &str,
    fields: &[&str],
    numbers: bool,
) -> Result<T, Error> {
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| {
        Error::field(
            "body",
            "request.json_invalid",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let too_long = domain::check_json_lengths(&value);
    if !too_long.is_empty() {
        return Err(Error::invalid(too_long));
    }
    let serde_json::Value::Object(map) = value else {
        return Err(Error::field(
            "body",
            "request.json_object",
            "the body must be a JSON object",
        ));
    };
    let mut input = T::default();
    let mut errors = Vec::new();
    for (k, v) in map {
        if IGNORED_FIELDS.contains(&k.as_str()) {
            continue;
        }
        let Some(slot) = input.text_field_mut(&k) else {
            errors.push(domain::Error::new(
                &k,
                "request.unknown_field",
                format!("unknown field; the fields are: {}", fields.join(", ")),
            ));
            continue;
        };
        match v {
            serde_json::Value::String(s) => *slot = s,
            serde_json::Value::Number(n) if numbers => *slot = n.to_string(),
            serde_json::Value::Null => {}
            other => errors.push(domain::Error::new(
                &k,
                "request.not_text",
                format!(
                    "must be a string (quantities carry their unit, e.g. \"12.5 mm\"), not {}",
                    match other {
                        serde_json::Value::Number(_) => "a number",
                        serde_json::Value::Bool(_) => "a boolean",
                        serde_json::Value::Array(_) => "an array",
                        _ => "an object",
                    }
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(Error::invalid(errors))
    }
}
/// A JSON body as `T`, each error naming the field where it went wrong (its path, e.g.
/// `points[0].readings`), after the strings too long for their field are refused.
pub fn json_input<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, Error> {
    // Strings longer than any rule allows are refused by name before anything else.
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
        let too_long = crate::domain::check_json_lengths(&value);
        if !too_long.is_empty() {
            return Err(Error::invalid(too_long));
        }
    }
    let de = &mut serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path.is_empty() || path == "." {
            "body".to_owned()
        } else {
            path
        };
        Error::field(&field, "request.json_invalid", e.inner().to_string())
    })
}
