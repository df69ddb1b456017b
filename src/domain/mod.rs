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
pub mod certificates;
pub mod codes;
pub mod conformity;
#[cfg(test)]
mod fuzz;
pub mod intervals;
pub mod lifecycle;
pub mod planner;
pub mod register;
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
