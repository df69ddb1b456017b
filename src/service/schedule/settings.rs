//! An organisation's scheduling rules (reminder windows, default interval, assessment
//! validity): read and saved.

use super::{rules_from, Rules};
use crate::domain::accounts::Role;
use crate::domain::schedule::{self as rules, DueRules};
use crate::service::{Actor, Error, Result};
use crate::store::schedule::{self as q};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;

/// Who may change their organisation's scheduling rules.
const SETTINGS_ROLES: &[Role] = &[
    Role::InstituteAdmin,
    Role::Scheduler,
    Role::Enterprise,
    Role::SystemAdmin,
];

/// An organisation's rules, or the defaults.
pub(crate) async fn rules_of(db: &impl sea_orm::ConnectionTrait, org: i32) -> Result<Rules> {
    Ok(q::settings_of(db, org)
        .await?
        .as_ref()
        .map(rules_from)
        .unwrap_or_default())
}

/// The actor's organisation's rules.
pub async fn settings(actor: &Actor, db: &DatabaseConnection) -> Result<Rules> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    Ok(q::settings_of(db, p.organisation_id)
        .await?
        .as_ref()
        .map(rules_from)
        .unwrap_or_default())
}

/// The rules as typed in the form (every field is text).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SettingsInput {
    pub month_end: bool,
    pub early_window_days: String,
    pub warning_days: String,
    pub default_interval_months: String,
    pub assessment_validity_years: String,
    pub staircase_extend_threshold: String,
    pub staircase_extend_factor: String,
    pub staircase_shorten_factor: String,
    pub staircase_min_months: String,
    pub staircase_max_months: String,
    pub staircase_whole_months: bool,
    pub tur_limit: String,
}

impl SettingsInput {
    /// The form as the rules fill it.
    pub fn from_rules(r: &Rules) -> SettingsInput {
        let n = |v: f64| crate::domain::units::round_sig(v, 12).to_string();
        SettingsInput {
            month_end: r.due.month_end,
            early_window_days: r.due.early_window_days.to_string(),
            warning_days: r.due.warning_days.to_string(),
            default_interval_months: r.default_interval_months.to_string(),
            assessment_validity_years: r.assessment_validity_years.to_string(),
            staircase_extend_threshold: n(r.staircase.extend_within),
            staircase_extend_factor: n(r.staircase.extend_by),
            staircase_shorten_factor: n(r.staircase.shorten_by),
            staircase_min_months: n(r.staircase.min_months),
            staircase_max_months: n(r.staircase.max_months),
            staircase_whole_months: r.staircase.whole_months,
            tur_limit: n(r.tur_limit),
        }
    }
}

/// Saves the actor's organisation's rules (audited field by field); the next daily run
/// moves the due dates they change.
pub async fn save_settings(
    actor: &Actor,
    db: &DatabaseConnection,
    input: &SettingsInput,
    now: DateTime<Utc>,
) -> Result<Rules> {
    let p = actor.require_login()?.ok_or(Error::Unauthenticated)?;
    if !actor.may(SETTINGS_ROLES) {
        return Err(actor.forbidden());
    }
    let mut errors = Vec::new();
    let mut number = |field: &str, text: &str, min: u32, max: u32| -> u32 {
        match text.trim().parse::<u32>() {
            Ok(v) if (min..=max).contains(&v) => v,
            _ => {
                errors.push(crate::domain::Error::new(
                    field,
                    "schedule.setting_out_of_range",
                    format!("a whole number from {min} to {max}"),
                ));
                min
            }
        }
    };
    let rules = Rules {
        due: DueRules {
            month_end: input.month_end,
            early_window_days: number("early_window_days", &input.early_window_days, 0, rules::MAX_WINDOW_DAYS),
            warning_days: number("warning_days", &input.warning_days, 0, rules::MAX_WINDOW_DAYS),
        },
        default_interval_months: number(
            "default_interval_months",
            &input.default_interval_months,
            1,
            rules::MAX_INTERVAL_MONTHS,
        ),
        assessment_validity_years: number(
            "assessment_validity_years",
            &input.assessment_validity_years,
            1,
            crate::domain::lifecycle::MAX_VALIDITY_YEARS,
        ),
        ..Rules::default()
    };
    let mut decimal = |field: &str, text: &str, fallback: f64| -> f64 {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ if text.trim().is_empty() => fallback,
            _ => {
                errors.push(crate::domain::Error::new(field, "field.number", "a number"));
                fallback
            }
        }
    };
    let base = crate::service::calculators::STAIRCASE;
    let staircase = crate::domain::intervals::Staircase {
        extend_within: decimal(
            "staircase_extend_threshold",
            &input.staircase_extend_threshold,
            base.extend_within,
        ),
        extend_by: decimal(
            "staircase_extend_factor",
            &input.staircase_extend_factor,
            base.extend_by,
        ),
        shorten_by: decimal(
            "staircase_shorten_factor",
            &input.staircase_shorten_factor,
            base.shorten_by,
        ),
        min_months: decimal("staircase_min_months", &input.staircase_min_months, base.min_months),
        max_months: decimal("staircase_max_months", &input.staircase_max_months, base.max_months),
        whole_months: input.staircase_whole_months,
    };
    let tur_limit = decimal(
        "tur_limit",
        &input.tur_limit,
        crate::service::traceability::DEFAULT_TUR_LIMIT,
    );
    let rules = Rules {
        staircase,
        tur_limit,
        ..rules
    };
    // The form names the staircase's fields with a prefix.
    for (field, message) in staircase.problems() {
        let field = format!("staircase_{field}");
        if !errors.iter().any(|e| e.field == field) {
            errors.push(crate::domain::Error::new(
                &field,
                "schedule.setting_out_of_range",
                message,
            ));
        }
    }
    if !(1.0..=10.0).contains(&tur_limit) && !errors.iter().any(|e| e.field == "tur_limit") {
        errors.push(crate::domain::Error::new(
            "tur_limit",
            "schedule.setting_out_of_range",
            "a ratio from 1 to 10 (4 by default; JJF 1094 practice often uses 3)",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let txn = crate::store::begin(db).await?;
    let old = q::settings_of(&txn, p.organisation_id)
        .await?
        .as_ref()
        .map(rules_from)
        .unwrap_or_default();
    q::save_settings(
        &txn,
        crate::store::entities::schedule_settings::Model {
            organisation_id: p.organisation_id,
            month_end: rules.due.month_end,
            early_window_days: rules.due.early_window_days as i32,
            warning_days: rules.due.warning_days as i32,
            default_interval_months: rules.default_interval_months as i32,
            assessment_validity_years: rules.assessment_validity_years as i32,
            staircase_extend_threshold: rules.staircase.extend_within,
            staircase_extend_factor: rules.staircase.extend_by,
            staircase_shorten_factor: rules.staircase.shorten_by,
            staircase_min_months: rules.staircase.min_months,
            staircase_max_months: rules.staircase.max_months,
            staircase_whole_months: rules.staircase.whole_months,
            tur_limit: rules.tur_limit,
            updated_at: now,
        },
    )
    .await?;
    let snapshot = |r: &Rules| {
        std::collections::BTreeMap::from([
            ("month_end", r.due.month_end.to_string()),
            ("early_window_days", r.due.early_window_days.to_string()),
            ("warning_days", r.due.warning_days.to_string()),
            ("default_interval_months", r.default_interval_months.to_string()),
            ("assessment_validity_years", r.assessment_validity_years.to_string()),
            ("staircase_extend_threshold", r.staircase.extend_within.to_string()),
            ("staircase_extend_factor", r.staircase.extend_by.to_string()),
            ("staircase_shorten_factor", r.staircase.shorten_by.to_string()),
            ("staircase_min_months", r.staircase.min_months.to_string()),
            ("staircase_max_months", r.staircase.max_months.to_string()),
            ("staircase_whole_months", r.staircase.whole_months.to_string()),
            ("tur_limit", r.tur_limit.to_string()),
        ])
    };
    crate::service::audit::record(
        &txn,
        actor,
        now,
        crate::service::audit::Entry {
            action: "schedule_settings.update",
            entity_type: "organisation",
            entity_id: p.organisation_id.to_string(),
            changes: crate::service::audit::Changes::diff(&snapshot(&old), &snapshot(&rules)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(rules)
}
