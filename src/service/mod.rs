//! Use cases. Each public function takes the actor (who is asking) and a connection,
//! checks authorization, applies the domain rules and writes in one transaction.
//! This is the only layer that decides who may do what.

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod budgets;
pub mod cache;
pub mod calculators;
pub mod certificates;
pub mod cmc;
pub mod dashboard;
pub mod demo;
pub mod generate;
pub mod intervals;
pub mod keys;
pub mod lifecycle;
pub mod mail;
pub mod organisations;
pub mod planner;
pub mod records;
pub mod reference;
pub mod schedule;
pub mod setup;
pub mod standards;
pub mod traceability;
pub mod transfer;
pub mod uncertainty;
pub mod work_orders;

use crate::domain;
use crate::domain::accounts::{Role, Roles};
use sea_orm::DbErr;
use std::collections::BTreeMap;
use std::fmt;

/// Who is asking, and under which request id their changes are audited.
#[derive(Debug, Clone)]
pub struct Actor {
    pub who: Who,
    pub request_id: String,
}

#[derive(Debug, Clone)]
pub enum Who {
    /// A visitor who has not logged in: may read the public register.
    Public,
    /// A logged-in user, by browser session or API token.
    User(Principal),
    /// The operator at the machine (the CLI, the first start), who holds the database
    /// itself and so every right.
    System(&'static str),
}

/// A logged-in user as the service layer sees them.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i32,
    pub email: String,
    pub name: String,
    pub organisation_id: i32,
    pub organisation_name: String,
    pub roles: Roles,
    /// The browser session, when the request came with one (not with an API token).
    pub session_id: Option<i32>,
    /// A one-time password is still in use: the user may read, and change it, nothing else.
    pub must_change_password: bool,
}

impl Actor {
    pub fn public(request_id: impl Into<String>) -> Actor {
        Actor {
            who: Who::Public,
            request_id: request_id.into(),
        }
    }

    /// The operator at the machine; `via` names the command ("cli user add").
    pub fn system(via: &'static str) -> Actor {
        Actor {
            who: Who::System(via),
            request_id: format!("{}-{}", via.split(' ').next().unwrap_or("system"), random_hex(6)),
        }
    }

    pub fn user(principal: Principal, request_id: impl Into<String>) -> Actor {
        Actor {
            who: Who::User(principal),
            request_id: request_id.into(),
        }
    }

    pub fn principal(&self) -> Option<&Principal> {
        match &self.who {
            Who::User(p) => Some(p),
            _ => None,
        }
    }

    pub fn is_system(&self) -> bool {
        matches!(self.who, Who::System(_))
    }

    /// The logged-in user, or `Unauthenticated`.
    pub fn require_login(&self) -> Result<Option<&Principal>> {
        match &self.who {
            Who::Public => Err(Error::Unauthenticated),
            Who::User(p) => Ok(Some(p)),
            Who::System(_) => Ok(None),
        }
    }

    /// Holds any of `roles` (the system operator holds them all) and may write: a user
    /// still on a one-time password may not.
    pub fn may(&self, roles: &[Role]) -> bool {
        match &self.who {
            Who::Public => false,
            Who::System(_) => true,
            Who::User(p) => !p.must_change_password && roles.iter().any(|r| p.roles.has(*r)),
        }
    }

    /// Reads with any of `roles` (no write restriction).
    pub fn reads_as(&self, roles: &[Role]) -> bool {
        match &self.who {
            Who::Public => false,
            Who::System(_) => true,
            Who::User(p) => roles.iter().any(|r| p.roles.has(*r)),
        }
    }

    /// Sees everything in the province: the regulator, the system admin, the operator.
    pub fn oversees(&self) -> bool {
        self.reads_as(&[Role::Regulator, Role::SystemAdmin])
    }

    /// May see what belongs to organisation `org`: its own members and those who
    /// oversee the province. Everyone else is told it does not exist.
    pub fn sees_organisation(&self, org: i32) -> bool {
        self.oversees() || self.principal().is_some_and(|p| p.organisation_id == org)
    }

    /// How the actor is named where a person signs: the user's name, or for the operator
    /// the name it acts under.
    pub fn display_name(&self) -> String {
        match &self.who {
            Who::Public => "anonymous".into(),
            Who::User(p) => p.name.clone(),
            Who::System(via) => (*via).to_owned(),
        }
    }

    /// How the actor is named in the audit trail.
    pub fn label(&self) -> String {
        match &self.who {
            Who::Public => "anonymous".into(),
            Who::User(p) => p.email.clone(),
            Who::System(via) => format!("system ({via})"),
        }
    }

    /// The Forbidden error for a user still on a one-time password, or plain Forbidden.
    pub fn forbidden(&self) -> Error {
        match &self.who {
            Who::Public => Error::Unauthenticated,
            Who::User(p) if p.must_change_password => Error::PasswordChangeRequired,
            _ => Error::Forbidden,
        }
    }
}

/// Random lowercase hex from the operating system's CSPRNG (via rand's thread RNG,
/// which is seeded from it and reseeds).
pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// What went wrong in a use case, in terms the web layer maps to a status code.
#[derive(Debug)]
pub enum Error {
    NotFound {
        what: &'static str,
    },
    /// Only a logged-in user may do this.
    Unauthenticated,
    Forbidden,
    /// The user must replace their one-time password before changing anything.
    PasswordChangeRequired,
    /// Too many failed logins; try again at the time given.
    Throttled {
        retry_at: chrono::DateTime<chrono::Utc>,
    },
    /// The request conflicts with what is stored (a duplicate key).
    Conflict {
        code: &'static str,
        message: String,
        fields: Vec<domain::Error>,
    },
    /// The actor may do this in general, but not to these fields (403, naming them).
    Refused {
        code: &'static str,
        message: String,
        fields: Vec<domain::Error>,
    },
    /// The input breaks a rule; every offending field is named.
    Invalid {
        message: String,
        fields: Vec<domain::Error>,
    },
    /// The server is at its limit for this kind of work; try again after the seconds given.
    Busy {
        retry_after_secs: u64,
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
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden => "forbidden",
            Error::PasswordChangeRequired => "password_change_required",
            Error::Throttled { .. } => "throttled",
            Error::Conflict { code, .. } | Error::Refused { code, .. } => code,
            Error::Invalid { fields, .. } => fields.first().map(|f| f.code).unwrap_or("invalid"),
            Error::Busy { .. } => "busy",
            Error::Internal(_) => "internal",
        }
    }

    /// field → stable code, for pages that show the message in the reader's language.
    pub fn field_codes(&self) -> BTreeMap<String, &'static str> {
        let fields = match self {
            Error::Invalid { fields, .. } | Error::Conflict { fields, .. } | Error::Refused { fields, .. } => {
                fields.as_slice()
            }
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
            Error::Invalid { fields, .. } | Error::Conflict { fields, .. } | Error::Refused { fields, .. } => {
                fields.as_slice()
            }
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
            Error::Unauthenticated => write!(f, "log in first"),
            Error::Forbidden => write!(f, "you may not do this"),
            Error::PasswordChangeRequired => write!(f, "change your one-time password before making changes"),
            Error::Throttled { retry_at } => write!(
                f,
                "too many failed logins; try again after {} UTC",
                retry_at.format("%Y-%m-%d %H:%M")
            ),
            Error::Conflict { message, .. } | Error::Invalid { message, .. } | Error::Refused { message, .. } => {
                write!(f, "{message}")
            }
            Error::Busy { retry_after_secs } => write!(
                f,
                "the server is evaluating as many uncertainty budgets as it may at once; try again in {retry_after_secs} s"
            ),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Database errors are mapped here, once: a unique-key violation (two requests racing
/// to create the same thing) is a conflict with what is stored, and so is a foreign-key
/// violation (what it refers to was removed meanwhile); the database's own words stay in
/// the log, not in the answer. Anything else is internal.
impl From<DbErr> for Error {
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(cause)) => {
                tracing::warn!(%cause, "unique constraint violated: answered 409");
                Error::Conflict {
                    code: "conflict.duplicate",
                    message: "this already exists: another request made it first; reload and look".into(),
                    fields: vec![],
                }
            }
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(cause)) => {
                tracing::warn!(%cause, "foreign key constraint violated: answered 409");
                Error::Conflict {
                    code: "conflict.reference",
                    message: "something this refers to was changed or removed meanwhile; reload and try again".into(),
                    fields: vec![],
                }
            }
            _ => Error::Internal(e.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn every_kind_of_answer_has_its_code_in_the_catalogue() {
        let kinds = [
            Error::NotFound { what: "record" },
            Error::Unauthenticated,
            Error::Forbidden,
            Error::PasswordChangeRequired,
            Error::Throttled {
                retry_at: chrono::Utc::now(),
            },
            Error::Invalid {
                message: String::new(),
                fields: vec![],
            },
            Error::Busy { retry_after_secs: 1 },
            Error::Internal(String::new()),
        ];
        for e in kinds {
            assert!(
                crate::domain::error_codes::is_known(e.code()),
                "{} is not in the catalogue",
                e.code()
            );
        }
    }
}
