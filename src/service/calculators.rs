//! Calculators a metrologist uses to check a rule before relying on it: public to anyone
//! logged in, writing nothing. `decide`: a statement of conformity against tolerance
//! limits as laboratories write them (ILAC-G8:09/2019). `risk`: the specific and global
//! risks of such a decision (JCGM 106:2012). `analyse_interval`: the interval methods
//! (ILAC-G24 method 1, NCSLI RP-1 A3 and S2).

use super::{Actor, Error, Result};
use crate::domain::certificates::reported_u;
use crate::domain::conformity::{decide_between, DecisionRule};
use crate::domain::intervals::Staircase;
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

/// A quantity as the risk calculator takes it: text with its unit ("0.002 V"), or a bare
/// number in the unit of the request's first quantity written with one (or without any
/// unit when none is).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    Number(f64),
    Text(String),
}

/// A pair of limits; either may be null or absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LimitPair {
    pub lower: Option<Amount>,
    pub upper: Option<Amount>,
}

/// The process the items come from: its mean, and its standard deviation or the
/// probability that an item of it is within tolerance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProcessInput {
    pub mean: Option<Amount>,
    pub sd: Option<Amount>,
    pub in_tolerance_probability: Option<f64>,
}

/// What `POST /api/v1/conformity/risk` takes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RiskInput {
    pub lower_limit: Option<Amount>,
    pub upper_limit: Option<Amount>,
    /// Default: the tolerance limits.
    pub acceptance_limits: Option<LimitPair>,
    /// Of the measurement, normal.
    pub standard_uncertainty: Option<Amount>,
    /// For the specific risk.
    pub measured: Option<Amount>,
    /// For the global risk.
    pub process: Option<ProcessInput>,
    /// A known bias of the measurement (measured minus true), default 0.
    pub measurement_bias: Option<Amount>,
}

/// What the risk calculator answers: probabilities as plain numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskAnswer {
    pub specific: Option<crate::domain::risk::Specific>,
    pub global: Option<crate::domain::risk::Global>,
}

/// Reads the amounts of one request in one kind and unit, collecting what is wrong.
struct Amounts {
    kind: Option<QuantityKind>,
    unit: Option<&'static str>,
    errors: Vec<crate::domain::Error>,
}

impl Amounts {
    /// The kind and unit of the first amount written with a unit.
    fn new(first: &[Option<&Amount>]) -> Amounts {
        let text = first.iter().flatten().find_map(|a| match a {
            Amount::Text(t) => Some(t.as_str()),
            Amount::Number(_) => None,
        });
        let (kind, unit) = match text.and_then(|t| kind_of(t).map(|k| (k, t))) {
            Some((k, t)) => (Some(k), parse_quantity("", t, k).ok().map(|q| q.unit)),
            None => (None, None),
        };
        Amounts {
            kind,
            unit,
            errors: Vec::new(),
        }
    }

    /// A value (`difference` false) or a difference of values, in SI; None (and an error
    /// naming `field`) when it cannot be read.
    fn read(&mut self, field: &str, a: Option<&Amount>, difference: bool) -> Option<(f64, Option<i32>)> {
        let kind = self.kind.map(|k| if difference { k.difference_kind() } else { k });
        match (a?, kind) {
            (Amount::Number(v), _) if !v.is_finite() => {
                self.errors
                    .push(crate::domain::Error::new(field, "field.number", "a finite number"));
                None
            }
            (Amount::Number(v), Some(k)) => {
                let u = self.unit.and_then(|u| k.unit(u));
                let si = u.map_or(*v, |u| u.to_si(*v) - if difference { u.to_si(0.0) } else { 0.0 });
                Some((si, None))
            }
            (Amount::Number(v), None) => Some((*v, None)),
            (Amount::Text(t), Some(k)) => match parse_quantity(field, t, k) {
                Ok(q) => Some((q.si, si_places(t, &q))),
                Err(e) => {
                    self.errors.push(e);
                    None
                }
            },
            (Amount::Text(t), None) => match t.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Some((v, decimal_places(t))),
                _ => {
                    self.errors.push(crate::domain::Error::new(
                        field,
                        "conformity.measured_invalid",
                        "a value with its unit, e.g. 10.0085 V",
                    ));
                    None
                }
            },
        }
    }
}

/// The specific risk of a decision on a measured value, and the global risks of a
/// process, for tolerance limits as laboratories write them (JCGM 106:2012 §9). Every
/// field at fault is named; nothing is written.
pub fn risk(actor: &Actor, input: &RiskInput) -> Result<RiskAnswer> {
    use crate::domain::risk::{self as r, Limits};
    actor.require_login()?;
    let acc = input.acceptance_limits.clone().unwrap_or_default();
    let process = input.process.clone().unwrap_or_default();
    let mut q = Amounts::new(&[
        input.measured.as_ref(),
        input.lower_limit.as_ref(),
        input.upper_limit.as_ref(),
        acc.lower.as_ref(),
        acc.upper.as_ref(),
        process.mean.as_ref(),
    ]);
    let measured = q.read("measured", input.measured.as_ref(), false);
    let lower = q.read("lower_limit", input.lower_limit.as_ref(), false);
    let upper = q.read("upper_limit", input.upper_limit.as_ref(), false);
    let acc_lower = q.read("acceptance_limits.lower", acc.lower.as_ref(), false);
    let acc_upper = q.read("acceptance_limits.upper", acc.upper.as_ref(), false);
    let u = q.read("standard_uncertainty", input.standard_uncertainty.as_ref(), true);
    let bias = q.read("measurement_bias", input.measurement_bias.as_ref(), true);
    let mean = q.read("process.mean", process.mean.as_ref(), false);
    let sd = q.read("process.sd", process.sd.as_ref(), true);
    let mut e = std::mem::take(&mut q.errors);
    let missing = |v: &Option<Amount>| v.is_none();
    if missing(&input.lower_limit) && missing(&input.upper_limit) {
        e.push(crate::domain::Error::new(
            "upper_limit",
            "conformity.limits_required",
            "give a lower limit, an upper limit or both",
        ));
    }
    if let (Some(l), Some(h)) = (lower, upper) {
        if l.0 > h.0 {
            e.push(crate::domain::Error::new(
                "lower_limit",
                "conformity.limits_order",
                "the lower limit is above the upper limit",
            ));
        }
    }
    let (acc_lo, acc_hi) = (acc_lower.or(lower), acc_upper.or(upper));
    if let (Some(l), Some(h)) = (acc_lo, acc_hi) {
        if l.0 > h.0 {
            e.push(crate::domain::Error::new(
                "acceptance_limits.lower",
                "conformity.limits_order",
                "the lower acceptance limit is above the upper one",
            ));
        }
    }
    match (&input.standard_uncertainty, u) {
        (None, _) => e.push(crate::domain::Error::new(
            "standard_uncertainty",
            "quantity.missing",
            "the standard uncertainty of the measurement is required",
        )),
        (Some(_), Some((v, _))) if v.is_nan() || v <= 0.0 => e.push(crate::domain::Error::new(
            "standard_uncertainty",
            "risk.uncertainty_not_positive",
            "a standard uncertainty above zero",
        )),
        _ => {}
    }
    if input.measured.is_none() && input.process.is_none() {
        e.push(crate::domain::Error::new(
            "measured",
            "risk.nothing_asked",
            "give the measured value (for the specific risk), the process (for the global risk) or both",
        ));
    }
    if input.process.is_some() {
        if process.mean.is_none() {
            e.push(crate::domain::Error::new(
                "process.mean",
                "quantity.missing",
                "the process mean is required",
            ));
        }
        match (&process.sd, process.in_tolerance_probability) {
            (Some(_), Some(_)) | (None, None) => e.push(crate::domain::Error::new(
                "process.sd",
                "risk.process_spread",
                "give the process standard deviation or its in-tolerance probability, one of them",
            )),
            (Some(_), None) if sd.is_some_and(|s| s.0.is_nan() || s.0 <= 0.0) => e.push(crate::domain::Error::new(
                "process.sd",
                "risk.uncertainty_not_positive",
                "a standard deviation above zero",
            )),
            (None, Some(p)) if !(p > 0.0 && p < 1.0) => e.push(crate::domain::Error::new(
                "process.in_tolerance_probability",
                "risk.probability_invalid",
                "a probability between 0 and 1, both excluded",
            )),
            _ => {}
        }
    }
    if !e.is_empty() {
        return Err(Error::invalid(e));
    }
    let Some((u, _)) = u else {
        return Err(Error::Internal("a checked input lacks a value".into()));
    };
    let t = Limits {
        lower: lower.map(|v| v.0),
        upper: upper.map(|v| v.0),
    };
    let a = Limits {
        lower: acc_lo.map(|v| v.0),
        upper: acc_hi.map(|v| v.0),
    };
    let b = bias.map_or(0.0, |v| v.0);
    let specific = measured.map(|(y, places)| {
        // Values on an acceptance limit in the digits as typed are on it.
        let mut finest = places;
        for l in [acc_lo, acc_hi].into_iter().flatten() {
            finest = finest.zip(l.1).map(|(x, y)| x.max(y));
        }
        r::specific(&t, &a, y, u, b, finest.map_or(0.0, |d| 10f64.powi(-d)))
    });
    let global = match (input.process.is_some(), mean) {
        (true, Some((mu, _))) => {
            let sigma = match (sd, process.in_tolerance_probability) {
                (Some((s, _)), _) => s,
                (None, Some(p)) => r::sd_for_in_tolerance(&t, mu, p).ok_or_else(|| {
                    Error::field(
                        "process.in_tolerance_probability",
                        "risk.in_tolerance_unreachable",
                        "no normal process with this mean is within the limits with this probability \
                         (the mean must lie within them, and above ½ for a one-sided limit)",
                    )
                })?,
                (None, None) => return Err(Error::Internal("a checked input lacks a value".into())),
            };
            Some(
                r::global(&t, &a, mu, sigma, u, b)
                    .ok_or_else(|| Error::Internal("the risk integral refused its input".into()))?,
            )
        }
        _ => None,
    };
    Ok(RiskAnswer { specific, global })
}

/// The staircase's parameters as the calculator and the interval proposals take them;
/// an absent one is the organisation's (or metrocal's default).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaircaseParameters {
    /// Extend when |e| is at most this fraction of the MPE.
    pub extend_threshold: Option<f64>,
    pub extend_factor: Option<f64>,
    pub shorten_factor: Option<f64>,
    pub min_months: Option<f64>,
    pub max_months: Option<f64>,
    /// `none` (exact) or `whole_months`.
    pub rounding: Option<String>,
}

impl StaircaseParameters {
    /// These over `base`, checked: every field at fault named under `prefix`.
    pub fn over(&self, base: &Staircase, prefix: &str) -> std::result::Result<Staircase, Vec<crate::domain::Error>> {
        let mut e = Vec::new();
        let whole = match self.rounding.as_deref().map(str::trim) {
            None => base.whole_months,
            Some("whole_months") => true,
            Some("none") => false,
            Some(_) => {
                e.push(crate::domain::Error::new(
                    format!("{prefix}rounding"),
                    "interval.parameter_invalid",
                    "none or whole_months",
                ));
                base.whole_months
            }
        };
        let p = Staircase {
            extend_within: self.extend_threshold.unwrap_or(base.extend_within),
            extend_by: self.extend_factor.unwrap_or(base.extend_by),
            shorten_by: self.shorten_factor.unwrap_or(base.shorten_by),
            min_months: self.min_months.unwrap_or(base.min_months),
            max_months: self.max_months.unwrap_or(base.max_months),
            whole_months: whole,
        };
        for (field, message) in p.problems() {
            e.push(crate::domain::Error::new(
                format!("{prefix}{field}"),
                "interval.parameter_invalid",
                message,
            ));
        }
        if e.is_empty() {
            Ok(p)
        } else {
            Err(e)
        }
    }
}

/// The parameters of method A3 as the calculator and the group proposals take them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct A3Parameters {
    pub reliability_target: Option<f64>,
    pub confidence: Option<f64>,
    pub max_change_factor: Option<f64>,
    pub min_interval_days: Option<f64>,
    pub max_interval_days: Option<f64>,
}

/// A3's settings, checked: (target, confidence, limits in days).
pub fn a3_settings(
    p: &A3Parameters,
    prefix: &str,
    e: &mut Vec<crate::domain::Error>,
) -> (f64, f64, crate::domain::intervals::ChangeLimits) {
    let target = p.reliability_target.unwrap_or(A3_TARGET);
    let confidence = p.confidence.unwrap_or(0.95);
    let factor = p.max_change_factor.unwrap_or(2.0);
    let min = p.min_interval_days.unwrap_or(14.0);
    let max = p.max_interval_days.unwrap_or(1826.0);
    let mut bad = |field: &str, message: &str| {
        e.push(crate::domain::Error::new(
            format!("{prefix}{field}"),
            "interval.parameter_invalid",
            message,
        ))
    };
    if !(target > 0.0 && target < 1.0) {
        bad("reliability_target", "a probability between 0 and 1, both excluded");
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        bad("confidence", "a probability between 0 and 1, both excluded");
    }
    if !(1.0..=100.0).contains(&factor) {
        bad("max_change_factor", "a factor from 1 to 100");
    }
    if !(min > 0.0 && min <= 36_500.0) {
        bad("min_interval_days", "a number of days above 0");
    }
    if !(max >= min && max <= 36_500.0) {
        bad(
            "max_interval_days",
            "a number of days not below the minimum, at most 36,500",
        );
    }
    (
        target,
        confidence,
        crate::domain::intervals::ChangeLimits {
            max_change_factor: factor,
            min,
            max,
        },
    )
}

/// The reliability target of A3 and S2 unless one is given (RP-1's examples use 0.90).
pub const A3_TARGET: f64 = 0.90;

/// What an interval proposal takes beside its scope: the staircase's `parameters`, and
/// the group methods' settings, each as the calculator names it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProposalParameters {
    pub parameters: Option<StaircaseParameters>,
    #[serde(flatten)]
    pub a3: A3Parameters,
    pub rejection_confidence: Option<f64>,
}

/// One group of method S2.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GroupInput {
    pub interval: Option<f64>,
    pub n: Option<u32>,
    pub in_tolerance: Option<u32>,
}

/// What `POST /api/v1/intervals/analyse` takes: `method` and that method's fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IntervalInput {
    pub method: String,
    // staircase
    pub initial_interval_months: Option<f64>,
    pub mpe: Option<f64>,
    pub as_found_errors: Option<Vec<f64>>,
    pub parameters: Option<StaircaseParameters>,
    // a3
    pub n: Option<u32>,
    pub in_tolerance: Option<u32>,
    pub current_interval_days: Option<f64>,
    #[serde(flatten)]
    pub a3: A3Parameters,
    // s2
    pub groups: Option<Vec<GroupInput>>,
    /// The F test's rejection confidence (default 0.95).
    pub rejection_confidence: Option<f64>,
}

/// metrocal's staircase unless an organisation sets its own: extend by 25 % when within
/// half the MPE, halve when out of tolerance, between 3 and 60 whole months.
pub const STAIRCASE: Staircase = Staircase {
    extend_within: 0.5,
    extend_by: 1.25,
    shorten_by: 0.5,
    min_months: 3.0,
    max_months: 60.0,
    whole_months: true,
};

fn required<T: Copy>(field: &str, v: Option<T>, e: &mut Vec<crate::domain::Error>) -> Option<T> {
    if v.is_none() {
        e.push(crate::domain::Error::new(
            field,
            "field.required",
            "required for this method",
        ));
    }
    v
}

/// Runs one interval method on the numbers given (ILAC-G24:2022 method 1; NCSLI RP-1
/// A3 and S2). Every field at fault is named; nothing is written.
pub fn analyse_interval(actor: &Actor, input: &IntervalInput) -> Result<serde_json::Value> {
    use crate::domain::intervals as rules;
    actor.require_login()?;
    let mut e = Vec::new();
    match input.method.trim() {
        "staircase" => {
            let i0 = required("initial_interval_months", input.initial_interval_months, &mut e);
            let mpe = required("mpe", input.mpe, &mut e);
            if i0.is_some_and(|v| !(v > 0.0 && v <= 1200.0)) {
                e.push(crate::domain::Error::new(
                    "initial_interval_months",
                    "interval.parameter_invalid",
                    "a number of months above 0, at most 1200",
                ));
            }
            if mpe.is_some_and(|v| !(v > 0.0 && v.is_finite())) {
                e.push(crate::domain::Error::new(
                    "mpe",
                    "interval.parameter_invalid",
                    "an MPE above zero",
                ));
            }
            let errors = input.as_found_errors.clone().unwrap_or_default();
            if errors.is_empty() || errors.len() > 1000 {
                e.push(crate::domain::Error::new(
                    "as_found_errors",
                    "interval.parameter_invalid",
                    "from 1 to 1,000 as-found errors, oldest first",
                ));
            }
            let p = match input
                .parameters
                .clone()
                .unwrap_or_default()
                .over(&STAIRCASE, "parameters.")
            {
                Ok(p) => Some(p),
                Err(mut x) => {
                    e.append(&mut x);
                    None
                }
            };
            let (Some(i0), Some(mpe), Some(p)) = (i0, mpe, p) else {
                return Err(Error::invalid(e));
            };
            if !e.is_empty() {
                return Err(Error::invalid(e));
            }
            let mut interval = i0;
            let mut steps = Vec::new();
            for err in errors {
                let s = rules::staircase_step(interval, err, mpe, &p)
                    .ok_or_else(|| Error::field("as_found_errors", "interval.parameter_invalid", "finite numbers"))?;
                interval = s.interval_after_months;
                steps.push(serde_json::json!({
                    "as_found_error": err,
                    "action": s.action,
                    "interval_before_months": s.interval_before_months,
                    "interval_unclamped_months": s.interval_unclamped_months,
                    "interval_after_months": s.interval_after_months,
                    "clamped": s.clamped,
                }));
            }
            Ok(serde_json::json!({"method": "staircase", "steps": steps, "final_interval_months": interval}))
        }
        "a3" => {
            let n = required("n", input.n, &mut e);
            let x = required("in_tolerance", input.in_tolerance, &mut e);
            let i0 = required("current_interval_days", input.current_interval_days, &mut e);
            if n == Some(0) {
                e.push(crate::domain::Error::new(
                    "n",
                    "interval.parameter_invalid",
                    "at least one item",
                ));
            }
            if let (Some(n), Some(x)) = (n, x) {
                if x > n {
                    e.push(crate::domain::Error::new(
                        "in_tolerance",
                        "interval.parameter_invalid",
                        "at most n",
                    ));
                }
            }
            if i0.is_some_and(|v| !(v > 0.0 && v <= 36_500.0)) {
                e.push(crate::domain::Error::new(
                    "current_interval_days",
                    "interval.parameter_invalid",
                    "a number of days above 0",
                ));
            }
            let (target, confidence, limits) = a3_settings(&input.a3, "", &mut e);
            if !e.is_empty() {
                return Err(Error::invalid(e));
            }
            let (Some(n), Some(x), Some(i0)) = (n, x, i0) else {
                return Err(Error::Internal("a checked input lacks a value".into()));
            };
            let t = rules::binomial_test(x, n, target, confidence, i0, &limits)
                .ok_or_else(|| Error::Internal("the interval test refused its input".into()))?;
            // I₀·ln R*/ln R₀ as RP-1 writes it: undefined when every item (R₀ = 1) or none
            // (R₀ = 0) was in tolerance; the new interval then comes from the confidence
            // bound or the maximum change.
            let unclamped = (t.observed > 0.0 && t.observed < 1.0).then(|| i0 * target.ln() / t.observed.ln());
            Ok(serde_json::json!({
                "method": "a3",
                "observed_reliability": t.observed,
                "confidence_interval": [t.lower, t.upper],
                "decision": t.proposal,
                "unclamped_interval_days": unclamped,
                "new_interval_days": t.new_months,
                "clamped": t.clamped,
            }))
        }
        "s2" => {
            let target = input.a3.reliability_target.unwrap_or(A3_TARGET);
            if !(target > 0.0 && target < 1.0) {
                e.push(crate::domain::Error::new(
                    "reliability_target",
                    "interval.parameter_invalid",
                    "a probability between 0 and 1, both excluded",
                ));
            }
            let confidence = input.rejection_confidence.unwrap_or(0.95);
            if !(confidence > 0.0 && confidence < 1.0) {
                e.push(crate::domain::Error::new(
                    "rejection_confidence",
                    "interval.parameter_invalid",
                    "a probability between 0 and 1, both excluded",
                ));
            }
            let groups = input.groups.clone().unwrap_or_default();
            if groups.is_empty() || groups.len() > 1000 {
                e.push(crate::domain::Error::new(
                    "groups",
                    "interval.parameter_invalid",
                    "from 1 to 1,000 groups of {interval, n, in_tolerance}",
                ));
            }
            let mut parsed = Vec::new();
            for (i, g) in groups.iter().enumerate() {
                let f = |name: &str| format!("groups[{i}].{name}");
                let interval = g.interval.filter(|v| *v > 0.0 && v.is_finite());
                if interval.is_none() {
                    e.push(crate::domain::Error::new(
                        f("interval"),
                        "interval.parameter_invalid",
                        "an interval above 0",
                    ));
                }
                let n = g.n.filter(|n| *n > 0 && *n <= 1_000_000);
                if n.is_none() {
                    e.push(crate::domain::Error::new(
                        f("n"),
                        "interval.parameter_invalid",
                        "from 1 to 1,000,000 items",
                    ));
                }
                match (n, g.in_tolerance) {
                    (Some(n), Some(x)) if x <= n => {}
                    (None, Some(_)) => {}
                    _ => e.push(crate::domain::Error::new(
                        f("in_tolerance"),
                        "interval.parameter_invalid",
                        "from 0 to n",
                    )),
                }
                if let (Some(t), Some(n), Some(x)) = (interval, n, g.in_tolerance) {
                    parsed.push(rules::Group {
                        interval: t,
                        n,
                        in_tolerance: x,
                    });
                }
            }
            if parsed.iter().map(|g| u64::from(g.n)).sum::<u64>() > 1_000_000 {
                e.push(crate::domain::Error::new(
                    "groups",
                    "interval.parameter_invalid",
                    "at most 1,000,000 items in all",
                ));
            }
            if !e.is_empty() {
                return Err(Error::invalid(e));
            }
            let fit = rules::s2(&parsed, target, confidence).ok_or_else(|| {
                Error::field(
                    "groups",
                    "interval.no_fit",
                    "S2 needs both in- and out-of-tolerance results in the groups",
                )
            })?;
            Ok(serde_json::json!({
                "method": "s2",
                "lambda": fit.lambda,
                "interval": fit.interval,
                "f_test": fit.f_test.map(|t| serde_json::json!({
                    "f": if t.f.is_finite() { serde_json::json!(t.f) } else { serde_json::Value::Null },
                    "f_critical": t.f_critical,
                    "accept": t.accept,
                })),
            }))
        }
        _ => Err(Error::field("method", "interval.method_invalid", "staircase, a3 or s2")),
    }
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
