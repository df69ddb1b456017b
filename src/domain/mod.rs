//! Pure metrology and register rules: no I/O, no database, no Rocket, no clock.
//!
//! Everything here takes plain values (uom quantities, dates, strings) and returns
//! values or a [`Error`] naming the field a user has to correct.

/// A closed vocabulary: a Rust enum with its stable name (database, API, CSV) and its
/// names in Chinese and English.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $( $variant:ident => $s:literal, $zh:literal, $en:literal; )* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[$( $name::$variant, )*];

            /// The stable name used in the database, the API and CSV files.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s, )* }
            }
            pub fn name_zh(self) -> &'static str {
                match self { $( $name::$variant => $zh, )* }
            }
            pub fn name_en(self) -> &'static str {
                match self { $( $name::$variant => $en, )* }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s.trim() { $( $s => Some($name::$variant), )* _ => None }
            }
            /// Every accepted value, for error messages.
            pub fn choices() -> String {
                [$( $s ),*].join(", ")
            }
        }
    };
}

pub mod accounts;
pub mod audit;
pub mod calibrations;
pub mod certificates;
pub mod codes;
pub mod conformity;
pub mod error_codes;
#[cfg(test)]
mod fuzz;
pub mod intervals;
pub mod lifecycle;
pub mod limits;
pub mod numbers;
pub mod planner;
pub mod records;
pub mod register;
pub mod risk;
pub mod schedule;
pub mod spreadsheet;
pub mod traceability;
pub mod uncertainty;
pub mod units;
pub mod work_orders;

use std::fmt;

/// A record as submitted from a form: every field is text, found by its name.
pub trait TextFields: Default {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String>;
}

/// A rule violation, tied to the input field that caused it.
///
/// `code` is stable (`standard.code_invalid`) so that API clients can match on it;
/// `message` is for the person who has to fix the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl Error {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(
            error_codes::is_known(code),
            "error code {code} is not in domain::error_codes"
        );
        Error {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The same error reported against another field name (a form's field, a CSV column).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for Error {}

/// The furthest any list may be paged: far past every table of a province (46,000
/// standards, some millions of audit events), and well inside the signed 64-bit counts
/// the databases take for OFFSET.
pub const MAX_OFFSET: u64 = 1_000_000_000;

/// A list's offset or page number as typed: a whole number from `min` to
/// [`MAX_OFFSET`], or an error naming `field`.
pub fn list_position(field: &str, text: &str, min: u64) -> Result<u64, Error> {
    match text.trim().parse::<u64>() {
        Ok(n) if (min..=MAX_OFFSET).contains(&n) => Ok(n),
        _ => Err(Error::new(
            field,
            "list.position_invalid",
            format!("{field} is a whole number from {min} to {MAX_OFFSET}"),
        )),
    }
}

#[cfg(test)]
mod list_position_tests {
    use super::*;

    #[test]
    fn offsets_beyond_any_list_are_refused_by_name() {
        assert_eq!(list_position("offset", "0", 0).unwrap(), 0);
        assert_eq!(list_position("offset", "1000000000", 0).unwrap(), MAX_OFFSET);
        for bad in [
            "9223372036854775808",
            "18446744073709551615",
            "1000000001",
            "-1",
            "x",
            "",
        ] {
            let e = list_position("offset", bad, 0).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), ("offset", "list.position_invalid"), "{bad}");
        }
        assert!(list_position("page", "0", 1).is_err());
    }
}

/// The longest one text field may be where a request enters, in characters: far past
/// every name (200), reason (500) or note (2,000) the rules allow, so that only a
/// request made to fill the database meets it. Each use case's own rule is shorter.
pub const MAX_FIELD_CHARS: usize = 4_000;
/// The same for the fields that hold many lines: a measurement model, a list of
/// readings, a description.
pub const MAX_LONG_FIELD_CHARS: usize = 65_536;

/// How long the field `name` may be at the boundary ([`MAX_FIELD_CHARS`], or
/// [`MAX_LONG_FIELD_CHARS`] for a model, readings or a description).
pub fn field_limit(name: &str) -> usize {
    let last = name.rsplit(['.', '[']).next().unwrap_or(name).trim_end_matches(']');
    if matches!(last, "model" | "about" | "description" | "readings" | "notes") || last.ends_with("readings") {
        MAX_LONG_FIELD_CHARS
    } else {
        MAX_FIELD_CHARS
    }
}

/// A field that is longer than [`field_limit`] allows, named.
pub fn check_field_length(name: &str, value: &str) -> Result<(), Error> {
    let limit = field_limit(name);
    if value.len() > limit && value.chars().count() > limit {
        Err(Error::new(
            name,
            "field.too_long",
            format!("at most {limit} characters"),
        ))
    } else {
        Ok(())
    }
}

/// Every string in a JSON document longer than its field allows, named by its path.
pub fn check_json_lengths(v: &serde_json::Value) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut stack = vec![(String::new(), v)];
    while let Some((path, v)) = stack.pop() {
        match v {
            serde_json::Value::String(s) => {
                if let Err(e) = check_field_length(if path.is_empty() { "body" } else { &path }, s) {
                    errors.push(e);
                }
            }
            serde_json::Value::Array(items) => {
                stack.extend(items.iter().enumerate().map(|(i, x)| (format!("{path}[{i}]"), x)));
            }
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let at = format!("{path}.{k}").trim_start_matches('.').to_owned();
                    // A name is no longer than a value may be.
                    if let Err(e) = check_field_length(&at, k) {
                        errors.push(e);
                    }
                    stack.push((at, x));
                }
            }
            _ => {}
        }
    }
    errors
}

#[cfg(test)]
mod field_length_tests {
    use super::*;

    #[test]
    fn fields_are_limited_by_kind() {
        assert!(check_field_length("name_zh", &"长".repeat(4_000)).is_ok());
        assert_eq!(
            check_field_length("name_zh", &"长".repeat(4_001)).unwrap_err().code,
            "field.too_long"
        );
        assert!(check_field_length("model", &"x".repeat(60_000)).is_ok());
        assert!(check_field_length("in.3.readings", &"1 ".repeat(30_000)).is_ok());
        assert!(check_field_length("points[2].readings", &"1 ".repeat(30_000)).is_ok());
        let v = serde_json::json!({"name_zh": "长".repeat(5_000), "points": [{"note": "x".repeat(5_000)}]});
        let mut named: Vec<String> = check_json_lengths(&v).into_iter().map(|e| e.field).collect();
        named.sort();
        assert_eq!(named, ["name_zh", "points[0].note"]);
    }
}
