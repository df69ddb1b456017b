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
