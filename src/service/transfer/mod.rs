//! Import and export of the register as a directory of CSV files.
//!
//! The format is documented in docs/data-format.md. `generate` writes it, `export`
//! writes it and `import` reads it. An import is all-or-nothing: every row of every
//! file is checked before anything is written, and the writes run in one transaction.
//! Rows are keyed (organisations by code, standards by certificate number, devices by
//! standard and serial number), so importing the same data twice changes nothing.
//!
//! `format` owns the files and their columns (the generator writes them from there),
//! `parse` reads and checks every row, `import` writes, `export` writes the files back.

mod export;
mod format;
mod import;
mod parse;

pub use export::export;
pub use format::{
    Bundle, ImportError, RowError, CALIBRATIONS, CALIBRATION_COLUMNS, DEVICES, DEVICE_COLUMNS, INSTRUMENTS,
    INSTRUMENT_COLUMNS, ORGANISATIONS, ORGANISATION_COLUMNS, STANDARDS, STANDARD_COLUMNS,
};
pub use import::{import, ImportSummary, Progress, Quiet};
