//! The rules of a calibration record as a technician enters it: every field checked and
//! every error named, units of the quantity's kind, the standards the laboratory's own,
//! usable on the day and covering each nominal value, U from the input or a saved budget,
//! raised to the laboratory's CMC, and each point's decision under the agreed rule.
//!
//! Pure: what the rules need from the database (the item's quantity, the standards named,
//! the budgets named, the CMC table) arrives as a [`RecordContext`], loaded in a fixed
//! number of queries whatever the number of points and standards.

pub mod amendment;
pub mod workflow;

use super::certificates::{self as cert, CmcLine};
use super::conformity::{decide, DecisionRule};
use super::register::parse_date;
use super::units::{parse_quantity, Quantity, QuantityKind};
use super::Error;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One point as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PointInput {
    /// "100 mm"
    pub nominal: String,
    /// The reference value, in a unit of the same kind.
    pub reference: String,
    /// The readings, in the nominal's unit, separated by spaces or commas.
    pub readings: String,
    /// The expanded uncertainty ("0.05 µm"), its k and p; or empty, with `budget`.
    pub u: String,
    /// A saved uncertainty budget of the laboratory (by id) whose first measurand gives
    /// U, k and p, instead of typing them.
    pub budget: String,
    pub k: String,
    pub p: String,
    /// "±0.6 µm", or compound "±(0.02 % of reading + 2 µV)": a symmetric limit on the
    /// error (needed for a verdict, unless the limits below are given).
    pub mpe: String,
    /// A lower and an upper limit on the error, each with its sign ("−0.005 V",
    /// "+0.010 V"); either may be empty for a one-sided tolerance. Instead of `mpe`.
    pub lower_limit: String,
    pub upper_limit: String,
    /// The error after adjustment, when the item was adjusted.
    pub as_left: String,
}

/// A record as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordInput {
    /// calibration or verification
    pub kind: String,
    /// JJG/JJF method
    pub method: String,
    /// simple, guarded or non_binary (agreed with the customer)
    pub decision_rule: String,
    /// The guard band as a multiple of U (default 1).
    pub guard_multiple: String,
    pub received_on: String,
    pub calibrated_on: String,
    /// "20.1 °C"
    pub temperature: String,
    /// "52 %"
    pub humidity: String,
    pub adjusted: bool,
    /// A recommended interval in months, only when the customer asked for one.
    pub interval_months: String,
    /// A CMC for points no line of the laboratory's CMC table covers ("0.08 µm"). The
    /// table (/organisations/{id}/cmc) comes first: no U is reported below it.
    pub cmc: String,
    /// The register standards used, by id.
    pub standards: Vec<i32>,
    pub points: Vec<PointInput>,
    /// The item's condition on receipt ("外观完好，工作正常"), when worth stating
    /// (ISO/IEC 17025:2017 §7.8.2.1 f)); at most 500 characters.
    pub condition_on_receipt: String,
    /// Performed on site at the customer's, not at the laboratory (§7.8.2.1 c)).
    pub on_site: bool,
}

impl RecordInput {
    /// The day the record says it was calibrated, if it reads as a date.
    pub fn calibrated_day(&self) -> Option<NaiveDate> {
        parse_date("calibrated_on", &self.calibrated_on).ok()
    }

    /// The saved budgets the points name, by id.
    pub fn budget_ids(&self) -> Vec<i32> {
        self.points.iter().filter_map(|p| budget_id(&p.budget)).collect()
    }
}

fn budget_id(text: &str) -> Option<i32> {
    text.trim().trim_start_matches('#').parse().ok()
}

/// A standard the record names, as the laboratory's register holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardUsed {
    pub id: i32,
    pub cert_no: String,
    pub quantity: String,
    pub range_min_si: f64,
    pub range_max_si: f64,
    pub status: String,
    pub cert_expires_on: NaiveDate,
    /// Whether one of its own calibrations is valid on the calibration day.
    pub calibrated_on_day: bool,
}

/// The first measurand of a saved budget: what a point takes as its U, k and p.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetResult {
    pub name: String,
    pub expanded_uncertainty: f64,
    pub unit: String,
    pub coverage_factor: f64,
    pub coverage_probability: f64,
}

/// What the rules read from the database.
#[derive(Debug, Clone, Default)]
pub struct RecordContext {
    /// Today, for "not recorded before it is done" (one day of slack for time zones).
    pub today: NaiveDate,
    /// The item's kind of quantity, when the register states one.
    pub item_quantity: Option<String>,
    /// The standards named that are the laboratory's, by id.
    pub standards: HashMap<i32, StandardUsed>,
    /// The saved budgets named that are the laboratory's, by id; `None` for one without
    /// a result.
    pub budgets: HashMap<i32, Option<BudgetResult>>,
    /// The laboratory's CMC lines for the quantity's difference kind.
    pub cmc_lines: Vec<CmcLine>,
}

/// The kind of quantity a record is in: the item's, else the first standard's.
pub fn quantity_of(item_quantity: Option<&str>, first_standard: Option<&str>) -> Option<QuantityKind> {
    item_quantity.or(first_standard).and_then(QuantityKind::parse)
}

/// A record that passed every rule, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDraft {
    pub kind: &'static str,
    pub method: String,
    pub quantity: QuantityKind,
    pub decision_rule: DecisionRule,
    pub guard_multiple: f64,
    pub received_on: NaiveDate,
    pub calibrated_on: NaiveDate,
    pub temperature: Quantity,
    pub humidity_percent: f64,
    pub adjusted: bool,
    pub interval_months: Option<i32>,
    pub cmc_si: Option<f64>,
    pub standards: Vec<i32>,
    pub points: Vec<PointDraft>,
    pub condition_on_receipt: Option<String>,
    pub on_site: bool,
}

/// One point of a draft, in SI, with the U reported and its decision.
#[derive(Debug, Clone, PartialEq)]
pub struct PointDraft {
    pub position: i32,
    pub unit: &'static str,
    pub nominal_si: f64,
    pub reference_si: f64,
    /// The nominal and reference numbers as entered ("1.000"), kept to print with their
    /// digits; the reference's only when entered in the nominal's unit.
    pub nominal_text: Option<String>,
    pub reference_text: Option<String>,
    pub readings: Vec<String>,
    pub error_si: f64,
    pub u_si: f64,
    pub u_unit: &'static str,
    pub k: f64,
    pub p: f64,
    /// "entered", or "budget:<id>".
    pub u_source: String,
    pub raised_to_cmc: bool,
    pub mpe_si: Option<f64>,
    /// The lower and upper limits on the error at this point, when given as such, and
    /// the tolerance as typed to print.
    pub lower_limit_si: Option<f64>,
    pub upper_limit_si: Option<f64>,
    pub limits_text: Option<String>,
    pub decision: Option<String>,
    pub as_left_error_si: Option<f64>,
}

use crate::domain::numbers::decimal_places as places;
use crate::domain::units::unit_decade as decade;

/// The resolution, in SI, of a point's error as its entered digits fix it: the mean of
/// n readings with `d` decimals less a reference is a multiple of 10^−d / n, and a limit
/// MPE, MPE − r·U or MPE + r·U is a multiple of its own decimals. Two such values whose
/// float difference is below half the finest of these are equal. None when a figure is
/// not a plain decimal in a decimal unit (then the float decision stands).
fn resolution(
    k: QuantityKind,
    unit: &str,
    readings: &[String],
    reference: Option<&str>,
    limits: &[(&str, &str)],
    guard: Option<(&str, &str, &str)>,
) -> Option<f64> {
    let d = k.difference_kind();
    let base = decade(k, unit)?;
    let mut finest = readings
        .iter()
        .map(|r| places(r))
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .max()?
        - base;
    let number = |t: &str| t.split_whitespace().next().unwrap_or("").to_owned();
    finest = finest.max(places(&number(reference?))? - base);
    if limits.is_empty() {
        return None;
    }
    for (m_text, m_unit) in limits {
        finest = finest.max(places(&number(m_text))? - decade(d, m_unit)?);
    }
    if let Some((u_text, u_unit, r_text)) = guard {
        let r = if r_text.trim().is_empty() { 0 } else { places(r_text)? };
        finest = finest.max(places(&number(u_text))? + r - decade(d, u_unit)?);
    }
    Some(10f64.powi(-finest) / readings.len() as f64)
}

/// `e` moved onto the limit it is within half a `quantum` of (by its sign), else as it is.
fn on_limit(e: f64, limits: &[f64], quantum: f64) -> f64 {
    limits
        .iter()
        .find(|l| (e.abs() - **l).abs() < quantum / 2.0)
        .map_or(e, |l| l.copysign(e))
}

/// A tolerance given as limits, to print: "−0.005 V … +0.010 V", "≤ +50 µm", "≥ −1 mV".
fn limits_text(lower: &str, upper: &str) -> String {
    let signed = |t: &str| {
        let t = t.trim();
        if t.starts_with(['+', '-', '−']) {
            t.replacen('-', "−", 1)
        } else {
            format!("+{t}")
        }
    };
    match (lower.trim(), upper.trim()) {
        ("", u) => format!("≤ {}", signed(u)),
        (l, "") => format!("≥ {}", signed(l)),
        (l, u) => format!("{} … {}", signed(l), signed(u)),
    }
}

/// The number at the start of a quantity as typed ("1.000 mm" → "1.000").
fn entered_number(text: &str) -> Option<String> {
    let t = text.trim();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    crate::domain::numbers::as_entered(&t[..end])
}

fn number(field: &str, text: &str, errors: &mut Vec<Error>) -> Option<f64> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        _ => {
            errors.push(Error::new(
                field,
                "field.number",
                format!("'{}' is not a number", text.trim()),
            ));
            None
        }
    }
}

/// Readings as typed, separated by spaces, commas or semicolons: the texts as entered
/// (kept as the raw observation) and their values. One that is not a number, or none at
/// all, is an error of `field`.
pub fn readings(field: &str, text: &str, e: &mut Vec<Error>) -> (Vec<String>, Vec<f64>) {
    let texts: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == ';')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let values = texts.iter().filter_map(|r| number(field, r, e)).collect();
    if texts.is_empty() {
        e.push(Error::new(field, "record.readings_required", "at least one reading"));
    }
    (texts, values)
}

/// The indication error of a point (JJF 1001-2011 §9.15: indication less reference), in
/// SI: the mean of the readings converted, less the reference; the difference of two
/// absolute values, so °C offsets cancel. The mean is taken so that it cannot overflow
/// where the readings do not (1e308 and 1e308 average to 1e308, not infinity); an error
/// that still cannot be computed is refused.
pub fn indication_error(
    field: &str,
    values: &[f64],
    to_si: impl Fn(f64) -> f64,
    reference_si: f64,
) -> Result<f64, Error> {
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let mean = if sum.is_finite() {
        sum / n
    } else {
        values.iter().map(|v| v / n).sum()
    };
    let error = to_si(mean) - reference_si;
    if error.is_finite() {
        Ok(error)
    } else {
        Err(Error::new(
            field,
            "record.readings_out_of_range",
            "the readings are too large to compute an error from",
        ))
    }
}

/// U, k and p taken from a saved budget.
struct BudgetU {
    id: i32,
    u: Quantity,
    k: f64,
    p: f64,
}

fn budget_u(field: &str, text: &str, kind: QuantityKind, ctx: &RecordContext) -> Result<BudgetU, Error> {
    let unknown = || {
        Error::new(
            field,
            "record.budget_unknown",
            format!("no budget {} at this laboratory", text.trim()),
        )
    };
    let id = budget_id(text).ok_or_else(unknown)?;
    let r = ctx
        .budgets
        .get(&id)
        .ok_or_else(unknown)?
        .as_ref()
        .ok_or_else(|| Error::new(field, "record.budget_empty", "the budget has no result"))?;
    let u = parse_quantity(field, &format!("{} {}", r.expanded_uncertainty, r.unit), kind).map_err(|_| {
        Error::new(
            field,
            "record.budget_unit",
            format!(
                "the budget's {} is in {}, not a unit of {}",
                r.name,
                r.unit,
                kind.as_str()
            ),
        )
    })?;
    Ok(BudgetU {
        id,
        u,
        // As a certificate states it: k to three significant digits (JJF 1059.1-2012
        // §7.4: 2.00, not the 2.0000024 a large ν_eff gives).
        k: super::units::round_sig(r.coverage_factor, 3),
        p: r.coverage_probability,
    })
}

/// Checks a record as typed against every rule; the draft to write, or every error,
/// each naming its field (`points[2].mpe`).
pub fn draft(input: &RecordInput, ctx: &RecordContext) -> Result<RecordDraft, Vec<Error>> {
    let mut e: Vec<Error> = Vec::new();
    let kind = match input.kind.trim() {
        "calibration" => "calibration",
        "verification" => "verification",
        _ => {
            e.push(Error::new("kind", "record.kind_invalid", "calibration or verification"));
            "calibration"
        }
    };
    if input.method.trim().is_empty() || input.method.chars().count() > 200 {
        e.push(Error::new(
            "method",
            "field.required",
            "the JJG/JJF method (at most 200 characters)",
        ));
    }
    let rule = DecisionRule::parse(&input.decision_rule);
    if rule.is_none() {
        e.push(Error::new(
            "decision_rule",
            "record.rule_invalid",
            format!(
                "the decision rule agreed with the customer: {}",
                DecisionRule::choices()
            ),
        ));
    }
    let guard = if input.guard_multiple.trim().is_empty() {
        Some(1.0)
    } else {
        number("guard_multiple", &input.guard_multiple, &mut e).filter(|g| {
            let ok = *g > 0.0 && *g <= 10.0;
            if !ok {
                e.push(Error::new(
                    "guard_multiple",
                    "record.guard_invalid",
                    "a multiple of U above 0, at most 10",
                ));
            }
            ok
        })
    };
    let received = parse_date("received_on", &input.received_on)
        .map_err(|x| e.push(x))
        .ok();
    let calibrated = parse_date("calibrated_on", &input.calibrated_on)
        .map_err(|x| e.push(x))
        .ok();
    if let (Some(r), Some(c)) = (received, calibrated) {
        if c < r {
            e.push(Error::new(
                "calibrated_on",
                "record.dates_out_of_order",
                "calibrated before it was received",
            ));
        }
        if c > ctx.today + chrono::Duration::days(1) {
            e.push(Error::new(
                "calibrated_on",
                "record.in_future",
                "a calibration is recorded after it is done",
            ));
        }
    }
    let temperature = parse_quantity("temperature", &input.temperature, QuantityKind::Temperature)
        .map_err(|x| e.push(x))
        .ok();
    let humidity = parse_quantity("humidity", &input.humidity, QuantityKind::Ratio)
        .map_err(|x| e.push(x))
        .ok()
        .map(|h| h.si * 100.0)
        .filter(|h| {
            let ok = (0.0..=100.0).contains(h);
            if !ok {
                e.push(Error::new(
                    "humidity",
                    "record.humidity_range",
                    "relative humidity from 0 to 100 %",
                ));
            }
            ok
        });
    if input.condition_on_receipt.trim().chars().count() > 500 {
        e.push(Error::new(
            "condition_on_receipt",
            "field.too_long",
            "at most 500 characters",
        ));
    }
    let interval = match input.interval_months.trim() {
        "" => None,
        t => match t.parse::<i32>() {
            Ok(m) if (1..=120).contains(&m) => Some(m),
            _ => {
                e.push(Error::new(
                    "interval_months",
                    "record.interval_invalid",
                    "from 1 to 120 months",
                ));
                None
            }
        },
    };
    let mut standards = Vec::new();
    for id in &input.standards {
        match ctx.standards.get(id) {
            Some(s) => standards.push(s),
            None => e.push(Error::new(
                "standards",
                "record.standard_unknown",
                format!("no standard {id} at this laboratory"),
            )),
        }
    }
    if input.standards.is_empty() {
        e.push(Error::new(
            "standards",
            "record.standards_required",
            "name the standards used",
        ));
    }
    let qkind = quantity_of(
        ctx.item_quantity.as_deref(),
        standards.first().map(|s| s.quantity.as_str()),
    );
    let cmc = match (qkind, input.cmc.trim()) {
        (_, "") | (None, _) => None,
        (Some(k), t) => parse_quantity("cmc", t, k.difference_kind())
            .map_err(|x| e.push(x))
            .ok()
            .map(|q| q.si),
    };
    if input.points.is_empty() {
        e.push(Error::new(
            "points",
            "record.points_required",
            "record at least one measurement point",
        ));
    }
    if input.points.len() > 200 {
        e.push(Error::new("points", "record.too_many_points", "at most 200 points"));
    }
    let mut points = Vec::new();
    for (i, p) in input.points.iter().enumerate() {
        let f = |name: &str| format!("points[{i}].{name}");
        let Some(k) = qkind else {
            e.push(Error::new(
                f("nominal"),
                "record.quantity_unknown",
                "neither the item nor the standard has a kind of quantity",
            ));
            break;
        };
        if let Some(point) = point(i, p, k, input, ctx, &standards, rule, guard, cmc, kind, &mut e) {
            points.push(point);
        }
    }
    // The standards on the day: their assessment certificate and their own calibration.
    if let Some(on) = calibrated {
        for s in &standards {
            if let Some(x) = super::traceability::out_of_service(&s.cert_no, &s.status, s.cert_expires_on, on) {
                e.push(Error::new("standards", x.code, x.message));
            }
            if !s.calibrated_on_day {
                e.push(Error::new(
                    "standards",
                    "record.standard_not_calibrated",
                    format!("the standard {} has no calibration valid on {on}", s.cert_no),
                ));
            }
        }
    }
    match (qkind, rule, guard, received, calibrated, temperature, humidity) {
        (Some(quantity), Some(decision_rule), Some(guard_multiple), Some(r), Some(c), Some(t), Some(h))
            if e.is_empty() =>
        {
            Ok(RecordDraft {
                kind,
                method: input.method.trim().to_owned(),
                quantity,
                decision_rule,
                guard_multiple,
                received_on: r,
                calibrated_on: c,
                temperature: t,
                humidity_percent: h,
                adjusted: input.adjusted,
                interval_months: interval,
                condition_on_receipt: Some(input.condition_on_receipt.trim().to_owned()).filter(|c| !c.is_empty()),
                on_site: input.on_site,
                cmc_si: cmc,
                standards: input.standards.clone(),
                points,
            })
        }
        _ => Err(e),
    }
}

/// One point's rules; the point, or `None` with its errors pushed.
#[allow(clippy::too_many_arguments)]
fn point(
    i: usize,
    p: &PointInput,
    k: QuantityKind,
    input: &RecordInput,
    ctx: &RecordContext,
    standards: &[&StandardUsed],
    rule: Option<DecisionRule>,
    guard: Option<f64>,
    cmc: Option<f64>,
    kind: &str,
    e: &mut Vec<Error>,
) -> Option<PointDraft> {
    let f = |name: &str| format!("points[{i}].{name}");
    let nominal = parse_quantity(&f("nominal"), &p.nominal, k).map_err(|x| e.push(x)).ok();
    let reference = parse_quantity(&f("reference"), &p.reference, k)
        .map_err(|x| e.push(x))
        .ok();
    let (readings, values) = readings(&f("readings"), &p.readings, e);
    let budget = match (p.u.trim(), p.budget.trim()) {
        (_, "") => None,
        ("", b) => budget_u(&f("budget"), b, k.difference_kind(), ctx)
            .map_err(|x| e.push(x))
            .ok(),
        _ => {
            e.push(Error::new(
                f("budget"),
                "record.u_twice",
                "give U or a budget, not both",
            ));
            None
        }
    };
    let u = match &budget {
        Some(b) => Some(b.u),
        None if !p.budget.trim().is_empty() => None,
        None => parse_quantity(&f("u"), &p.u, k.difference_kind())
            .map_err(|x| e.push(x))
            .ok(),
    };
    if u.is_some_and(|u| u.si <= 0.0) {
        e.push(Error::new(
            f("u"),
            "record.u_not_positive",
            "the expanded uncertainty is above zero",
        ));
    }
    let (kf, pf) = match &budget {
        Some(b) => (Some(b.k), Some(b.p)),
        None => (
            number(&f("k"), if p.k.trim().is_empty() { "2" } else { &p.k }, e),
            number(&f("p"), if p.p.trim().is_empty() { "0.95" } else { &p.p }, e),
        ),
    };
    if pf.is_some_and(|p| !(0.0 < p && p < 1.0)) {
        e.push(Error::new(
            f("p"),
            "record.p_invalid",
            "a coverage probability between 0 and 1",
        ));
    }
    let mpe = match p.mpe.trim() {
        "" => None,
        t => crate::domain::limits::parse_mpe(&f("mpe"), t, k)
            .map_err(|x| e.push(x))
            .ok(),
    };
    let mut limit = |name: &str, text: &str| match text.trim() {
        "" => None,
        t => crate::domain::limits::parse_limit(&f(name), t, k)
            .map_err(|x| e.push(x))
            .ok(),
    };
    let (lower, upper) = (
        limit("lower_limit", &p.lower_limit),
        limit("upper_limit", &p.upper_limit),
    );
    let given_limits = !p.lower_limit.trim().is_empty() || !p.upper_limit.trim().is_empty();
    if given_limits && !p.mpe.trim().is_empty() {
        e.push(Error::new(
            f("mpe"),
            "record.mpe_and_limits",
            "give the MPE or the lower and upper limits, not both",
        ));
    }
    if kind == "verification" && p.mpe.trim().is_empty() && !given_limits {
        e.push(Error::new(
            f("mpe"),
            "record.mpe_required",
            "a verification needs the MPE (or the limits) of every point",
        ));
    }
    let as_left = match p.as_left.trim() {
        "" => None,
        t => parse_quantity(&f("as_left"), t, k.difference_kind())
            .map_err(|x| e.push(x))
            .ok(),
    };
    if input.adjusted && p.as_left.trim().is_empty() {
        e.push(Error::new(
            f("as_left"),
            "record.as_left_required",
            "the item was adjusted: give the error after adjustment",
        ));
    }
    let (Some(nominal), Some(reference), Some(u), Some(kf), Some(pf)) = (nominal, reference, u, kf, pf) else {
        return None;
    };
    if values.len() != readings.len() || values.is_empty() {
        return None;
    }
    for s in standards {
        if QuantityKind::parse(&s.quantity) == Some(k)
            && !(s.range_min_si <= nominal.si && nominal.si <= s.range_max_si)
        {
            e.push(Error::new(
                f("nominal"),
                "record.out_of_range",
                format!(
                    "{} is outside the range of the standard {}",
                    nominal.display(),
                    s.cert_no
                ),
            ));
        }
    }
    let unit = k.unit(nominal.unit).expect("parsed in this unit");
    let error_si = match indication_error(&f("readings"), &values, |v| unit.to_si(v), reference.si) {
        Ok(x) => x,
        Err(x) => {
            e.push(x);
            return None;
        }
    };
    // The CMC of the range the point lies in; the record's own figure only where the
    // laboratory's table has no line for it.
    let floor = cert::cmc_at(&ctx.cmc_lines, nominal.si).or(cmc);
    let (u_si, raised) = cert::reported_u(u.si, kf, floor);
    // A relative MPE ("0.05 %") is of the reading: the indication, reference + error
    // (issue 21, defect 6: it was compared with the error as if it were volts).
    let reading = reference.si + error_si;
    let mpe_si = mpe.as_ref().map(|m| m.at(reading));
    let limits = crate::domain::limits::PointLimits { lower, upper };
    let (lower_si, upper_si) = limits.at(reading);
    let one_sided = lower_si.is_some() || upper_si.is_some();
    let decision = match (rule, mpe_si) {
        (Some(r), _) if one_sided => {
            // Limits as laboratories write them (ILAC-G8:09/2019 §4.2): the error
            // against its lower and upper limit, with the rule's guard band.
            let w = if r == DecisionRule::Simple {
                0.0
            } else {
                u_si * guard.unwrap_or(1.0)
            };
            let texts: Vec<(&str, &str)> = [&limits.lower, &limits.upper]
                .into_iter()
                .flatten()
                .filter_map(|(_, m)| m.plain.as_ref().map(|(n, u)| (n.as_str(), *u)))
                .collect();
            let all_plain = texts.len() == [&limits.lower, &limits.upper].into_iter().flatten().count();
            let quantum = resolution(
                k,
                nominal.unit,
                &readings,
                (reference.unit == nominal.unit).then_some(p.reference.as_str()),
                if all_plain { &texts } else { &[] },
                (!raised && budget.is_none()).then_some((p.u.as_str(), u.unit, input.guard_multiple.as_str())),
            );
            let (d, _, _) =
                crate::domain::conformity::decide_between(r, error_si, lower_si, upper_si, w, quantum.unwrap_or(0.0));
            Some(d.as_str().to_owned())
        }
        (Some(r), Some(m)) => {
            let w = u_si * guard.unwrap_or(1.0);
            // An error on a limit in the digits entered is on it, whatever binary noise
            // the conversion added (issue 21, defect 5): the decision is the rule's.
            let quantum = resolution(
                k,
                nominal.unit,
                &readings,
                (reference.unit == nominal.unit).then_some(p.reference.as_str()),
                &mpe.as_ref()
                    .and_then(|m| m.plain.as_ref())
                    .map(|(n, u)| vec![(n.as_str(), *u)])
                    .unwrap_or_default(),
                (!raised && budget.is_none()).then_some((p.u.as_str(), u.unit, input.guard_multiple.as_str())),
            );
            let limits = [m, m - w, m + w];
            let e_decided = quantum.map_or(error_si, |q| on_limit(error_si, &limits, q));
            Some(decide(r, e_decided, m, w).as_str().to_owned())
        }
        _ => None,
    };
    Some(PointDraft {
        position: i as i32,
        unit: nominal.unit,
        nominal_si: nominal.si,
        nominal_text: entered_number(&p.nominal),
        reference_text: (reference.unit == nominal.unit)
            .then(|| entered_number(&p.reference))
            .flatten(),
        reference_si: reference.si,
        readings,
        error_si,
        u_si,
        u_unit: u.unit,
        k: kf,
        p: pf,
        u_source: budget.map_or_else(|| "entered".to_owned(), |b| format!("budget:{}", b.id)),
        raised_to_cmc: raised,
        mpe_si,
        lower_limit_si: lower_si,
        upper_limit_si: upper_si,
        limits_text: one_sided.then(|| limits_text(&p.lower_limit, &p.upper_limit)),
        decision,
        as_left_error_si: as_left.map(|a| a.si),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 100 mm gauge block against a comparator standard (the demo's), at a laboratory
    /// whose CMC for length differences is 0.05 µm up to 100 mm.
    fn context() -> RecordContext {
        RecordContext {
            today: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            item_quantity: Some("length".into()),
            standards: HashMap::from([(
                7,
                StandardUsed {
                    id: 7,
                    cert_no: "[2024]粤社量标证字第000038号".into(),
                    quantity: "length".into(),
                    range_min_si: 0.0005,
                    range_max_si: 0.1,
                    status: "in_service".into(),
                    cert_expires_on: NaiveDate::from_ymd_opt(2028, 12, 31).unwrap(),
                    calibrated_on_day: true,
                },
            )]),
            budgets: HashMap::new(),
            cmc_lines: vec![CmcLine {
                min: 0.0,
                max: 0.1,
                absolute: 0.05e-6,
                relative: 0.0,
            }],
        }
    }

    fn input(readings: &str, u: &str, mpe: &str) -> RecordInput {
        RecordInput {
            kind: "calibration".into(),
            method: "JJG 146-2011".into(),
            decision_rule: "simple".into(),
            received_on: "2026-11-20".into(),
            calibrated_on: "2026-11-24".into(),
            temperature: "20.1 °C".into(),
            humidity: "52 %".into(),
            standards: vec![7],
            points: vec![PointInput {
                nominal: "100 mm".into(),
                reference: "100 mm".into(),
                readings: readings.into(),
                u: u.into(),
                mpe: mpe.into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn with_limits(readings: &str, rule: &str, lower: &str, upper: &str) -> RecordInput {
        let mut i = input(readings, "0.05 µm", "");
        i.decision_rule = rule.into();
        i.points[0].lower_limit = lower.into();
        i.points[0].upper_limit = upper.into();
        i
    }

    // Issue 21: tolerance limits as laboratories write them, decided by ILAC-G8:09/2019
    // §4.2 on the error (indication − reference) against the lower and upper limit.
    #[test]
    fn one_sided_asymmetric_and_compound_limits_decide_on_the_error() {
        let decision = |i: RecordInput| draft(&i, &context()).unwrap().points[0].decision.clone().unwrap();
        // Asymmetric −0.2 µm / +0.5 µm: an error of +0.4 µm passes, −0.3 µm fails.
        assert_eq!(
            decision(with_limits("100.0004", "simple", "-0.2 µm", "+0.5 µm")),
            "pass"
        );
        assert_eq!(decision(with_limits("99.9997", "simple", "-0.2 µm", "+0.5 µm")), "fail");
        // On the limit in the digits entered (+0.5 µm): pass under simple acceptance,
        // whatever the binary noise of 100.0005 − 100.
        assert_eq!(
            decision(with_limits("100.0005", "simple", "-0.2 µm", "+0.5 µm")),
            "pass"
        );
        // One-sided (≤ +0.5 µm): any negative error passes; guarded with U = 0.05 µm
        // (raised to the CMC), +0.46 µm is beyond the acceptance limit 0.45 µm.
        assert_eq!(decision(with_limits("99.999", "simple", "", "+0.5 µm")), "pass");
        assert_eq!(decision(with_limits("100.00046", "guarded", "", "+0.5 µm")), "fail");
        assert_eq!(decision(with_limits("100.00045", "guarded", "", "+0.5 µm")), "pass");
        // Compound ±(0.0002 % of reading + 0.3 µm) at 100 mm: 0.2 + 0.3 = 0.5 µm.
        let d = draft(
            &input("100.0004", "0.05 µm", "±(0.0002 % of reading + 0.3 µm)"),
            &context(),
        )
        .unwrap();
        assert!(
            (d.points[0].mpe_si.unwrap() - 0.5000008e-6).abs() < 1e-15,
            "{:?}",
            d.points[0].mpe_si
        );
        assert_eq!(d.points[0].decision.as_deref(), Some("pass"));
        // What prints: the limits as typed.
        let d = draft(&with_limits("100.0004", "simple", "-0.2 µm", "+0.5 µm"), &context()).unwrap();
        assert_eq!(d.points[0].limits_text.as_deref(), Some("−0.2 µm … +0.5 µm"));
        assert_eq!(
            (d.points[0].lower_limit_si, d.points[0].upper_limit_si),
            (Some(-0.2e-6), Some(0.5e-6))
        );
        let d = draft(&with_limits("100.0004", "simple", "", "0.5 µm"), &context()).unwrap();
        assert_eq!(d.points[0].limits_text.as_deref(), Some("≤ +0.5 µm"));
        // Both an MPE and limits: refused at the MPE; a signed MPE is refused, not read
        // as ±.
        let mut both = with_limits("100.0004", "simple", "-0.2 µm", "+0.5 µm");
        both.points[0].mpe = "±0.6 µm".into();
        let e = draft(&both, &context()).unwrap_err();
        assert!(
            e.iter()
                .any(|e| e.field == "points[0].mpe" && e.code == "record.mpe_and_limits"),
            "{e:?}"
        );
        let e = draft(&input("100.0004", "0.05 µm", "-0.6 µm"), &context()).unwrap_err();
        assert!(e.iter().any(|e| e.code == "limit.mpe_signed"), "{e:?}");
    }

    #[test]
    fn the_error_is_the_mean_reading_less_the_reference_and_u_is_raised_to_the_cmc() {
        // Readings 100.00011 and 100.00013 mm: mean 100.00012 mm, error +0.12 µm.
        // U = 0.02 µm entered is below the CMC of 0.05 µm, so 0.05 µm is reported
        // (CNAS-CL01-G003 / ILAC P14 §5.4: no U smaller than the CMC).
        let d = draft(&input("100.00011 100.00013", "0.02 µm", "±0.6 µm"), &context()).unwrap();
        let p = &d.points[0];
        assert!((p.error_si - 0.12e-6).abs() < 1e-15, "{}", p.error_si);
        assert_eq!((p.u_si, p.raised_to_cmc), (0.05e-6, true));
        // Simple acceptance (ILAC-G8:09/2019 §4.2.1): |0.12 µm| ≤ 0.6 µm is a pass.
        assert_eq!(p.decision.as_deref(), Some("pass"));
        assert_eq!((p.k, p.p, p.u_source.as_str()), (2.0, 0.95, "entered"));
        assert_eq!(d.quantity, QuantityKind::Length);
        assert!((d.humidity_percent - 52.0).abs() < 1e-12);
    }

    #[test]
    fn huge_readings_average_without_overflow_or_are_refused() {
        // The mean of 1e308 and 1e308 is 1e308, not +∞ (the defect: the sum overflowed and
        // the approval then failed with a 500).
        let e = indication_error("r", &[1e308, 1e308], |v| v, 0.0).unwrap();
        assert_eq!(e, 1e308);
        // In kilometres the same readings are beyond any double: refused by name.
        let x = indication_error("points[0].readings", &[1e308, 1e308], |v| v * 1e3, 0.0).unwrap_err();
        assert_eq!(
            (x.field.as_str(), x.code),
            ("points[0].readings", "record.readings_out_of_range")
        );
        // An ordinary mean is the plain one, to the last digit: (0.1 + 0.2 + 0.4) / 3.
        assert_eq!(
            indication_error("r", &[0.1, 0.2, 0.4], |v| v, 0.0).unwrap(),
            (0.1 + 0.2 + 0.4) / 3.0
        );
    }

    #[test]
    fn an_error_beyond_the_mpe_fails() {
        // 100.0007 mm against 100 mm: +0.7 µm > 0.6 µm (ILAC-G8 §4.2.1).
        let d = draft(&input("100.0007", "0.05 µm", "±0.6 µm"), &context()).unwrap();
        assert_eq!(d.points[0].decision.as_deref(), Some("fail"));
    }

    #[test]
    fn an_error_exactly_on_the_limit_is_decided_by_the_rule() {
        // Issue 21, defect 5 (ILAC-G8:09/2019 §4.2.1, simple acceptance: pass when
        // |e| ≤ MPE). 100.0006 mm against 100 mm is e = +0.6 µm exactly, on the MPE of
        // ±0.6 µm: pass. In binary it was 6.000000000033756·10⁻⁷ m > 6·10⁻⁷ m: fail.
        let d = draft(&input("100.0006", "0.05 µm", "±0.6 µm"), &context()).unwrap();
        assert_eq!(d.points[0].decision.as_deref(), Some("pass"));
        assert!(d.points[0].error_si > 6e-7, "the binary error is just above the limit");
        // The same at 10.0006 mm (binary just below) and one step beyond the limit fails.
        let mut i = input("10.0006", "0.05 µm", "±0.6 µm");
        i.points[0].nominal = "10 mm".into();
        i.points[0].reference = "10 mm".into();
        assert_eq!(
            draft(&i, &context()).unwrap().points[0].decision.as_deref(),
            Some("pass")
        );
        let d = draft(&input("100.00061", "0.05 µm", "±0.6 µm"), &context()).unwrap();
        assert_eq!(d.points[0].decision.as_deref(), Some("fail"));
        // Three readings averaging exactly the limit: (0.5 + 0.6 + 0.7) / 3 = 0.6 µm.
        let d = draft(&input("100.0005 100.0006 100.0007", "0.05 µm", "±0.6 µm"), &context()).unwrap();
        assert_eq!(d.points[0].decision.as_deref(), Some("pass"));
        // Guarded (w = U = 0.05 µm): e = 0.55 µm is on the acceptance limit MPE − w and
        // passes; 0.56 µm fails.
        let mut i = input("100.00055", "0.05 µm", "±0.6 µm");
        i.decision_rule = "guarded".into();
        assert_eq!(
            draft(&i, &context()).unwrap().points[0].decision.as_deref(),
            Some("pass")
        );
        let mut i = input("100.00056", "0.05 µm", "±0.6 µm");
        i.decision_rule = "guarded".into();
        assert_eq!(
            draft(&i, &context()).unwrap().points[0].decision.as_deref(),
            Some("fail")
        );
        assert_eq!(places("100.0006"), Some(4));
        assert_eq!(places("±0.6"), Some(1));
        assert_eq!(places("1e-3"), None);
    }

    #[test]
    fn a_relative_mpe_is_of_the_reading() {
        // Issue 21, defect 6: ±0.05 % of reading. At 10 V an error of +1 mV is within
        // 0.05 % × 10.001 V = 5.0005 mV; at 0.1 V an error of +0.4 mV is beyond
        // 0.05 % × 0.1004 V = 0.0502 mV (JJF 1094-2002: an MPE stated as a relative error
        // is taken of the indication).
        let k = QuantityKind::Voltage;
        let m = crate::domain::limits::parse_mpe("mpe", "±0.05 %", k).unwrap();
        let limit = m.at(10.001);
        assert!((limit - 5.0005e-3).abs() < 1e-15, "{limit}");
        assert_eq!(
            decide(DecisionRule::Simple, 1e-3, limit, 0.0),
            crate::domain::conformity::Decision::Pass
        );
        let limit = m.at(0.1004);
        assert!((limit - 5.02e-5).abs() < 1e-17, "{limit}");
        assert_eq!(
            decide(DecisionRule::Simple, 4e-4, limit, 0.0),
            crate::domain::conformity::Decision::Fail
        );
        // An absolute MPE stays as it is.
        let abs = crate::domain::limits::parse_mpe("mpe", "±5 mV", k).unwrap();
        assert_eq!(abs.at(10.0), 5e-3);
        // Through a record: 100.0004 mm (+0.4 µm) against ±0.0005 % of reading (0.500002 µm)
        // passes; against ±0.0003 % (0.300001 µm) fails.
        let d = draft(&input("100.0004", "0.05 µm", "±0.0005 %"), &context()).unwrap();
        assert_eq!(d.points[0].decision.as_deref(), Some("pass"));
        // 0.0005 % of the indication 100.0004 mm: 0.500002 µm.
        assert!((d.points[0].mpe_si.unwrap() - 0.500002e-6).abs() < 1e-18);
        let d = draft(&input("100.0004", "0.05 µm", "±0.0003 %"), &context()).unwrap();
        assert_eq!(d.points[0].decision.as_deref(), Some("fail"));
    }

    #[test]
    fn a_saved_budget_gives_u_k_and_p() {
        let mut ctx = context();
        ctx.budgets.insert(
            3,
            Some(BudgetResult {
                name: "l".into(),
                expanded_uncertainty: 0.0000812,
                unit: "mm".into(),
                coverage_factor: 2.0000024,
                coverage_probability: 0.9545,
            }),
        );
        let mut i = input("100.00012", "", "±0.6 µm");
        i.points[0].budget = "#3".into();
        let p = &draft(&i, &ctx).unwrap().points[0];
        // 0.0000812 mm = 0.0812 µm, above the CMC; k to three significant digits.
        assert!((p.u_si - 0.0812e-6).abs() < 1e-18);
        assert_eq!(
            (p.k, p.p, p.raised_to_cmc, p.u_source.as_str()),
            (2.0, 0.9545, false, "budget:3")
        );
    }

    #[test]
    fn every_broken_rule_is_named_by_its_field() {
        let mut i = input("100.00012 abc", "0.05 µm", "±0.6 µm");
        i.calibrated_on = "2026-11-19".into();
        i.standards = vec![7, 99];
        i.humidity = "130 %".into();
        let errors = draft(&i, &context()).unwrap_err();
        let named: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        for want in [
            ("calibrated_on", "record.dates_out_of_order"),
            ("humidity", "record.humidity_range"),
            ("standards", "record.standard_unknown"),
            ("points[0].readings", "field.number"),
        ] {
            assert!(named.contains(&want), "{want:?} in {named:?}");
        }
    }

    #[test]
    fn a_standard_out_of_service_or_uncalibrated_on_the_day_is_refused() {
        let mut ctx = context();
        let s = ctx.standards.get_mut(&7).unwrap();
        s.calibrated_on_day = false;
        s.cert_expires_on = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let codes: Vec<&str> = draft(&input("100.00012", "0.05 µm", "±0.6 µm"), &ctx)
            .unwrap_err()
            .iter()
            .map(|e| e.code)
            .collect();
        assert!(codes.contains(&"record.standard_not_calibrated"), "{codes:?}");
        assert!(codes.contains(&"traceability.reference_expired"), "{codes:?}");
    }
}
