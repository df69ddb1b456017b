//! Calculators a metrologist uses to check a rule before relying on it: public to anyone
//! logged in, writing nothing. `decide`: a statement of conformity against tolerance
//! limits as laboratories write them (ILAC-G8:09/2019).

use super::{Actor, Error, Result};
use crate::domain::certificates::reported_u;
use crate::domain::conformity::{decide_between, DecisionRule};
use crate::domain::numbers::decimal_places;
use crate::domain::units::{from_si, parse_quantity, unit_decade, Quantity, QuantityKind};
use serde::{Deserialize, Serialize};

/// What `POST /api/v1/conformity/decide` takes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DecideInput {
    /// The measured value with its unit ("10.0085 V").
    pub measured: String,
    /// The tolerance limits (quantities); either may be null or absent for a one-sided
    /// limit.
    pub lower_limit: Option<String>,
    pub upper_limit: Option<String>,
    /// The expanded uncertainty with its unit ("0.002 V").
    pub expanded_uncertainty: String,
    /// Its coverage factor (default 2).
    pub k: Option<f64>,
    /// simple, guarded or non_binary.
    pub rule: String,
    /// r in w = r·U (default 1).
    pub guard_multiple: Option<f64>,
    /// The laboratory's CMC as an expanded uncertainty at the same coverage (optional).
    pub cmc: Option<String>,
}

/// The acceptance limits, in the unit of the measured value (null where there is none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcceptanceLimits {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// What the calculator answers: numbers in the unit of the measured value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecideAnswer {
    pub unit: String,
    /// pass, fail, conditional_pass or conditional_fail.
    pub decision: &'static str,
    /// U after the CMC floor.
    pub expanded_uncertainty: f64,
    pub raised_to_cmc: bool,
    /// w = r·U; 0 for simple acceptance.
    pub guard_band: f64,
    pub acceptance_limits: AcceptanceLimits,
}

/// The kind of quantity `text` is written in: the first whose units read it.
fn kind_of(text: &str) -> Option<QuantityKind> {
    QuantityKind::ALL
        .iter()
        .copied()
        .find(|k| parse_quantity("", text, *k).is_ok())
}

/// The decimals of a quantity's number as typed, in SI (for deciding on a limit).
fn si_places(text: &str, q: &Quantity) -> Option<i32> {
    let number = text.split_whitespace().next()?;
    Some(decimal_places(number)? - unit_decade(q.kind, q.unit)?)
}

/// Decides conformity for `input` (ILAC-G8:09/2019 §4.2): the measured value against
/// its limits with the guard band of the rule, U raised to the CMC when below it. Every
/// field at fault is named; nothing is written.
pub fn decide(actor: &Actor, input: &DecideInput) -> Result<DecideAnswer> {
    actor.require_login()?;
    let mut e = Vec::new();
    let kind = kind_of(&input.measured);
    let measured = match kind {
        Some(k) => parse_quantity("measured", &input.measured, k).ok(),
        None => {
            e.push(crate::domain::Error::new(
                "measured",
                "conformity.measured_invalid",
                "a value with its unit, e.g. 10.0085 V",
            ));
            None
        }
    };
    let rule = DecisionRule::parse(&input.rule);
    if rule.is_none() {
        e.push(crate::domain::Error::new(
            "rule",
            "record.rule_invalid",
            format!("one of: {}", DecisionRule::choices()),
        ));
    }
    let guard = input.guard_multiple.unwrap_or(1.0);
    if !(guard > 0.0 && guard <= 10.0) {
        e.push(crate::domain::Error::new(
            "guard_multiple",
            "record.guard_invalid",
            "a multiple of U above 0, at most 10",
        ));
    }
    if input.k.is_some_and(|k| !(k.is_finite() && k > 0.0)) {
        e.push(crate::domain::Error::new(
            "k",
            "conformity.k_invalid",
            "a coverage factor above 0",
        ));
    }
    let mut limit = |field: &str, text: &Option<String>| -> Option<(Quantity, String)> {
        let t = text.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
        match kind.map(|k| parse_quantity(field, t, k)) {
            Some(Ok(q)) => Some((q, t.to_owned())),
            Some(Err(x)) => {
                e.push(x);
                None
            }
            None => None,
        }
    };
    let lower = limit("lower_limit", &input.lower_limit);
    let upper = limit("upper_limit", &input.upper_limit);
    let diff = kind.map(|k| k.difference_kind());
    let mut positive = |field: &str, text: &str| -> Option<Quantity> {
        let d = diff?;
        match parse_quantity(field, text, d) {
            Ok(q) if q.si > 0.0 => Some(q),
            Ok(_) => {
                e.push(crate::domain::Error::new(
                    field,
                    "conformity.uncertainty_not_positive",
                    "an expanded uncertainty above zero",
                ));
                None
            }
            Err(x) => {
                e.push(x);
                None
            }
        }
    };
    let u = positive("expanded_uncertainty", &input.expanded_uncertainty);
    let cmc = input
        .cmc
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .and_then(|t| positive("cmc", t));
    if lower.is_none() && upper.is_none() && input.lower_limit.is_none() && input.upper_limit.is_none() {
        e.push(crate::domain::Error::new(
            "upper_limit",
            "conformity.limits_required",
            "give a lower limit, an upper limit or both",
        ));
    }
    if let (Some(l), Some(h)) = (&lower, &upper) {
        if l.0.si > h.0.si {
            e.push(crate::domain::Error::new(
                "lower_limit",
                "conformity.limits_order",
                "the lower limit is above the upper limit",
            ));
        }
    }
    if !e.is_empty() {
        return Err(Error::invalid(e));
    }
    let (Some(k), Some(x), Some(rule), Some(u)) = (kind, measured, rule, u) else {
        return Err(Error::Internal("a checked input lacks a value".into()));
    };
    // The CMC is an expanded uncertainty at the same coverage: compare as they stand.
    let (u_si, raised) = reported_u(u.si, 2.0, cmc.map(|c| c.si));
    let w_si = if rule == DecisionRule::Simple {
        0.0
    } else {
        guard * u_si
    };
    // The resolution of the figures as typed: values nearer than half of it are equal.
    let mut finest = si_places(&input.measured, &x);
    for (q, t) in lower.iter().chain(upper.iter()) {
        finest = finest.zip(si_places(t, q)).map(|(a, b)| a.max(b));
    }
    if rule != DecisionRule::Simple {
        let g = decimal_places(&format!("{guard}")).unwrap_or(6);
        let uu = if raised { cmc.unwrap_or(u) } else { u };
        let text = if raised {
            input.cmc.clone().unwrap_or_default()
        } else {
            input.expanded_uncertainty.clone()
        };
        finest = finest.zip(si_places(&text, &uu)).map(|(a, b)| a.max(b + g));
    }
    let quantum = finest.map_or(0.0, |d| 10f64.powi(-d));
    let (decision, acc_lo, acc_hi) = decide_between(
        rule,
        x.si,
        lower.as_ref().map(|l| l.0.si),
        upper.as_ref().map(|h| h.0.si),
        w_si,
        quantum,
    );
    let d = k.difference_kind();
    let in_unit = |si: f64| from_si(k, x.unit, si).unwrap_or(si);
    let diff_in_unit = |si: f64| from_si(d, x.unit, si).unwrap_or(si);
    let round = |v: f64| crate::domain::units::round_sig(v, 12);
    Ok(DecideAnswer {
        unit: x.unit.to_owned(),
        decision: decision.as_str(),
        expanded_uncertainty: round(diff_in_unit(u_si)),
        raised_to_cmc: raised,
        guard_band: round(diff_in_unit(w_si)),
        acceptance_limits: AcceptanceLimits {
            lower: acc_lo.map(|v| round(in_unit(v))),
            upper: acc_hi.map(|v| round(in_unit(v))),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(json: serde_json::Value) -> Result<DecideAnswer> {
        decide(&Actor::system("test"), &serde_json::from_value(json).unwrap())
    }

    #[test]
    fn ilac_g8_figures_3_to_5() {
        // ILAC-G8:09/2019 §4.2: tolerance 10.000 V ± 0.010 V, U = 0.002 V.
        // Simple acceptance (Figure 3): 10.0085 V passes, 10.0105 V fails; on the limit
        // (10.010 V) passes.
        let base = serde_json::json!({"lower_limit": "9.990 V", "upper_limit": "10.010 V",
                                     "expanded_uncertainty": "0.002 V", "k": 2});
        let with = |m: &str, rule: &str| {
            let mut j = base.clone();
            j["measured"] = m.into();
            j["rule"] = rule.into();
            run(j).unwrap()
        };
        assert_eq!(with("10.0085 V", "simple").decision, "pass");
        assert_eq!(with("10.0105 V", "simple").decision, "fail");
        assert_eq!(with("10.010 V", "simple").decision, "pass");
        // Guarded acceptance (Figure 4), w = U: acceptance limits 9.992 and 10.008 V;
        // 10.0085 V fails, 10.008 V (on the acceptance limit) passes.
        let g = with("10.0085 V", "guarded");
        assert_eq!(g.decision, "fail");
        assert_eq!(g.guard_band, 0.002);
        assert_eq!(
            g.acceptance_limits,
            AcceptanceLimits {
                lower: Some(9.992),
                upper: Some(10.008)
            }
        );
        assert_eq!(with("10.008 V", "guarded").decision, "pass");
        // Non-binary (Figure 5): within the acceptance zone pass; between it and the
        // limit conditional pass; beyond the limit by less than w conditional fail.
        assert_eq!(with("10.007 V", "non_binary").decision, "pass");
        assert_eq!(with("10.0085 V", "non_binary").decision, "conditional_pass");
        assert_eq!(with("10.0115 V", "non_binary").decision, "conditional_fail");
        assert_eq!(with("10.013 V", "non_binary").decision, "fail");
        assert_eq!(with("10.0085 V", "simple").guard_band, 0.0);
    }

    #[test]
    fn one_sided_and_asymmetric_limits_and_the_cmc() {
        // Insulation at least 100 MΩ (one-sided), U = 2 MΩ, guarded: acceptance from 102 MΩ.
        let a = run(serde_json::json!({"measured": "101 MΩ", "lower_limit": "100 MΩ",
            "expanded_uncertainty": "2 MΩ", "rule": "guarded"}))
        .unwrap();
        assert_eq!((a.decision, a.acceptance_limits.upper), ("fail", None));
        assert_eq!(a.acceptance_limits.lower, Some(102.0));
        // Asymmetric about 10 V: −0.005 V / +0.010 V; 10.009 V passes simple acceptance.
        let a = run(serde_json::json!({"measured": "10.009 V", "lower_limit": "9.995 V",
            "upper_limit": "10.010 V", "expanded_uncertainty": "0.002 V", "rule": "simple"}))
        .unwrap();
        assert_eq!(a.decision, "pass");
        // A U below the CMC is raised to it, and the guard band with it.
        let a = run(serde_json::json!({"measured": "10.007 V", "lower_limit": "9.990 V",
            "upper_limit": "10.010 V", "expanded_uncertainty": "0.002 V", "cmc": "0.004 V",
            "rule": "guarded"}))
        .unwrap();
        assert_eq!(
            (a.raised_to_cmc, a.expanded_uncertainty, a.guard_band),
            (true, 0.004, 0.004)
        );
        assert_eq!(a.decision, "fail");
    }

    #[test]
    fn bad_input_names_the_field() {
        let e = run(serde_json::json!({"measured": "ten volts", "rule": "maybe",
            "expanded_uncertainty": "-1 V"}))
        .unwrap_err();
        let fields: Vec<String> = e.field_messages().into_keys().collect();
        assert!(
            fields.contains(&"measured".to_owned()) && fields.contains(&"rule".to_owned()),
            "{fields:?}"
        );
        let e = run(
            serde_json::json!({"measured": "10 V", "rule": "simple", "expanded_uncertainty": "0.002 V",
            "lower_limit": "10.01 V", "upper_limit": "9.99 V"}),
        )
        .unwrap_err();
        assert!(e.field_messages().contains_key("lower_limit"));
        let e = run(serde_json::json!({"measured": "10 V", "rule": "simple", "expanded_uncertainty": "0.002 V"}))
            .unwrap_err();
        assert!(e.field_messages().contains_key("upper_limit"));
    }
}
