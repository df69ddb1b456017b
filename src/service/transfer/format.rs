//! The exchange format: the files of a data set, their columns (docs/data-format.md), the
//! bundle of files an import reads, and how a refused row is reported.

use crate::domain::register::StandardInput;
use crate::service::Error;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

pub const ORGANISATIONS: &str = "organisations.csv";
pub const STANDARDS: &str = "standards.csv";
pub const DEVICES: &str = "devices.csv";
pub const INSTRUMENTS: &str = "instruments.csv";
pub const CALIBRATIONS: &str = "calibrations.csv";

/// The columns of standards.csv: the fields of a standard as entered.
pub const STANDARD_COLUMNS: &[&str] = StandardInput::FIELDS;
pub const INSTRUMENT_COLUMNS: &[&str] = &[
    "owner",
    "name",
    "manufacturer",
    "model",
    "serial",
    "category_code",
    "quantity",
    "mpe",
];
pub const CALIBRATION_COLUMNS: &[&str] = &[
    "item_kind",
    "item",
    "reference_kind",
    "reference",
    "provider",
    "provider_evidence",
    "certificate_no",
    "calibrated_on",
    "valid_until",
    "quantity",
    "uncertainty",
    "mpe",
    "as_found_error",
    "decision_rule",
    "decision",
];

pub const ORGANISATION_COLUMNS: &[&str] = &["code", "kind", "name_zh", "name_en", "city"];
pub const DEVICE_COLUMNS: &[&str] = &[
    "standard_cert_no",
    "role",
    "name",
    "manufacturer",
    "model",
    "serial",
    "quantity",
    "range_min",
    "range_max",
    "accuracy",
    "cal_cert_no",
    "cal_date",
    "cal_due",
];

/// Where a bad row is and why it was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub file: String,
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, line {}, column {}: {}",
            self.file, self.line, self.column, self.reason
        )
    }
}

#[derive(Debug)]
pub enum ImportError {
    /// A row broke a rule; nothing was written.
    Row(RowError),
    /// A file could not be read.
    Io(String),
    Service(Error),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Row(r) => write!(f, "{r} (nothing was imported)"),
            ImportError::Io(m) => write!(f, "{m} (nothing was imported)"),
            ImportError::Service(e) => write!(f, "{e} (nothing was imported)"),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<sea_orm::DbErr> for ImportError {
    fn from(e: sea_orm::DbErr) -> Self {
        ImportError::Service(e.into())
    }
}

/// The files of a data set, read into memory (from a directory or from the binary).
pub struct Bundle {
    pub(super) files: HashMap<String, Vec<u8>>,
}

impl Bundle {
    /// The SHA-256 of each file, which identifies exactly what was imported.
    pub fn digests(&self) -> std::collections::BTreeMap<String, String> {
        use sha2::{Digest, Sha256};
        self.files
            .iter()
            .map(|(name, bytes)| (name.clone(), hex::encode(Sha256::digest(bytes))))
            .collect()
    }

    pub fn from_dir(dir: &Path) -> Result<Bundle, ImportError> {
        if !dir.is_dir() {
            return Err(ImportError::Io(format!("{} is not a directory", dir.display())));
        }
        let mut files = HashMap::new();
        for name in [ORGANISATIONS, STANDARDS, DEVICES, INSTRUMENTS, CALIBRATIONS] {
            let path = dir.join(name);
            if path.exists() {
                let bytes = std::fs::read(&path)
                    .map_err(|e| ImportError::Io(format!("cannot read {}: {e}", path.display())))?;
                files.insert(name.to_owned(), bytes);
            }
        }
        if files.is_empty() {
            return Err(ImportError::Io(format!(
                "{} holds none of {ORGANISATIONS}, {STANDARDS}, {DEVICES}",
                dir.display()
            )));
        }
        Ok(Bundle { files })
    }

    pub fn from_static(files: &[(&str, &[u8])]) -> Bundle {
        Bundle {
            files: files.iter().map(|(n, b)| (n.to_string(), b.to_vec())).collect(),
        }
    }
}
