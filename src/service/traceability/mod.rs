//! Traceability: an item's chain to the SI as of a date, the province audit of every
//! broken chain, reverse-traceability impact analysis, and links entered by hand.
//!
//! Who sees what: the chains of the register's standards and devices, like the register,
//! are open to every logged-in user; an enterprise's instrument is seen by its own staff
//! and by those who oversee the province. The audit is the regulator's (and the system
//! admin's). An impact analysis is run by the staff of the suspect reference's owner or
//! by the overseers. Links are entered by the item owner's institute admins,
//! technicians, reviewers and approvers, or a system admin; each is audited.

use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::register::Level;
use crate::domain::traceability::{Item, ItemKind};
use serde::Serialize;

mod audit;
mod calibrations;
mod catalogue;
mod chain;
mod impact;

pub use audit::{audit, AuditReport, BrokenChain, Count};
pub use calibrations::{calibration_target, import_dcc, record_calibration, CalibrationInput, FromDcc};
pub use catalogue::ProvinceCache;
pub use chain::{chain, CalibrationView, ChainView, ProviderView, StepView};
pub use impact::{impact, impact_csv, AffectedView, ImpactReport};

/// A test-uncertainty ratio (MPE / U) below this gives a warning unless configured
/// otherwise (ANSI/NCSL Z540.3 and common practice: 4:1).
pub const DEFAULT_TUR_LIMIT: f64 = 4.0;

/// The staff who may enter links for their own organisation's items.
const WRITERS: [Role; 4] = [Role::InstituteAdmin, Role::Technician, Role::Reviewer, Role::Approver];

/// An item as pages and reports name it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub kind: &'static str,
    pub id: i32,
    /// Standard: its name and certificate number; device: name and serial; instrument:
    /// name, model and serial.
    pub label: String,
    pub owner_id: Option<i32>,
    pub owner: String,
    pub city: String,
    /// The hierarchy level (standards and their devices) or "instrument".
    pub level: String,
    pub level_zh: &'static str,
    pub level_en: &'static str,
}

/// The level's names for people ("省级社会公用计量标准", "provincial public standard").
fn level_names(level: &str) -> (&'static str, &'static str) {
    match Level::parse(level) {
        Some(l) => (l.name_zh(), l.name_en()),
        None => match ItemKind::parse(level) {
            Some(k) => (k.name_zh(), k.name_en()),
            None => ("", ""),
        },
    }
}

fn parse_kind(field: &str, text: &str) -> Result<ItemKind> {
    ItemKind::parse(text).ok_or_else(|| {
        Error::field(
            field,
            "traceability.kind_invalid",
            format!("choose one of: {}", ItemKind::choices()),
        )
    })
}

/// May the actor see this item's chain (and that it exists)?
fn may_see(actor: &Actor, item: Item, owner_id: Option<i32>) -> bool {
    if actor.require_login().is_err() {
        return false;
    }
    match item.kind {
        ItemKind::Standard | ItemKind::Device => true,
        ItemKind::Instrument => owner_id.is_some_and(|o| actor.sees_organisation(o)),
    }
}
