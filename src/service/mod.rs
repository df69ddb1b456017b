//! Use cases. Each public function takes the actor (who is asking) and a connection,
//! checks authorization, applies the domain rules and writes in one transaction.
//! This is the only layer that decides who may do what.

pub mod dashboard;
pub mod generate;
pub mod reference;
pub mod standards;
pub mod transfer;

use crate::domain;
use sea_orm::DbErr;
use std::collections::BTreeMap;
use std::fmt;

/// Who is asking.
///
/// Accounts and roles arrive with the accounts work; until then the register is
/// readable by anyone, and only the machine's own operator (the CLI, or a browser on
/// the loopback interface) may change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A visitor from the network: may read the public register.
    Public,
    /// The operator of this installation: the CLI, or a request from 127.0.0.1 / ::1.
    Operator { via: &'static str },
}

impl Actor {
    pub fn may_edit_register(&self) -> bool {
        matches!(self, Actor::Operator { .. })
    }
}

/// What went wrong in a use case, in terms the web layer maps to a status code.
#[derive(Debug)]
pub enum Error {
    NotFound {
        what: &'static str,
    },
    Forbidden,
    /// The request conflicts with what is stored (a duplicate key).
    Conflict {
        code: &'static str,
        message: String,
        fields: Vec<domain::Error>,
    },
    /// The input breaks a rule; every offending field is named.
    Invalid {
        message: String,
        fields: Vec<domain::Error>,
    },
    Internal(String),
}

impl Error {
    pub fn invalid(fields: Vec<domain::Error>) -> Self {
        let message = match fields.as_slice() {
            [one] => one.to_string(),
            _ => format!("{} fields need correcting", fields.len()),
        };
        Error::Invalid { message, fields }
    }

    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::invalid(vec![domain::Error::new(field, code, message)])
    }

    /// A stable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Forbidden => "forbidden",
            Error::Conflict { code, .. } => code,
            Error::Invalid { fields, .. } => fields.first().map(|f| f.code).unwrap_or("invalid"),
            Error::Internal(_) => "internal",
        }
    }

    /// field → stable code, for pages that show the message in the reader's language.
    pub fn field_codes(&self) -> BTreeMap<String, &'static str> {
        let fields = match self {
            Error::Invalid { fields, .. } | Error::Conflict { fields, .. } => fields.as_slice(),
            _ => &[],
        };
        let mut map = BTreeMap::new();
        for f in fields {
            map.entry(f.field.clone()).or_insert(f.code);
        }
        map
    }

    /// field → message, for forms and the API's `fields`.
    pub fn field_messages(&self) -> BTreeMap<String, String> {
        let fields = match self {
            Error::Invalid { fields, .. } | Error::Conflict { fields, .. } => fields.as_slice(),
            _ => &[],
        };
        let mut map = BTreeMap::new();
        for f in fields {
            map.entry(f.field.clone()).or_insert_with(|| f.message.clone());
        }
        map
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { what } => write!(f, "{what} not found"),
            Error::Forbidden => write!(f, "you may not do this"),
            Error::Conflict { message, .. } | Error::Invalid { message, .. } => write!(f, "{message}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<DbErr> for Error {
    fn from(e: DbErr) -> Self {
        Error::Internal(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
