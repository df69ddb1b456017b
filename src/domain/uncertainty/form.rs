//! An uncertainty budget as a form: the problem of docs/uncertainty.md laid out as text
//! fields a metrologist fills in (one row per input), and back. Numbers go both ways
//! without loss: a value is shown in the shortest decimal that reads back as the same
//! double, so a saved budget re-opened and saved again is unchanged.

use super::problem::{
    CorrelationSpec, CoverageSpec, InputSpec, MeasurandSpec, MonteCarloSpec, Problem, UncertaintySpec,
};
use crate::domain::Error;
use serde::Serialize;

/// The parameters an input row has, in the order the form shows them.
pub const PARAMETERS: [&str; 9] = [
    "u",
    "expanded",
    "k",
    "half_width",
    "beta",
    "d",
    "dof",
    "s_p",
    "readings",
];

/// The uncertainty kinds, in the order the form offers them.
pub const KINDS: [&str; 10] = [
    "normal",
    "rectangular",
    "triangular",
    "arcsine",
    "trapezoidal",
    "curvilinear_trapezoid",
    "student_t",
    "type_a",
    "type_a_pooled",
    "constant",
];

/// Empty input rows offered below the filled ones.
pub const SPARE_ROWS: usize = 2;
/// Most input quantities one budget takes (more are refused, not dropped).
pub const MAX_ROWS: usize = 200;

/// One input, every field as typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InputRow {
    pub name: String,
    pub value: String,
    pub unit: String,
    pub kind: String,
    pub u: String,
    pub expanded: String,
    pub k: String,
    pub half_width: String,
    pub beta: String,
    pub d: String,
    pub dof: String,
    pub s_p: String,
    /// The readings, separated by spaces, commas or semicolons.
    pub readings: String,
}

impl InputRow {
    fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "name" => &mut self.name,
            "value" => &mut self.value,
            "unit" => &mut self.unit,
            "kind" => &mut self.kind,
            "u" => &mut self.u,
            "expanded" => &mut self.expanded,
            "k" => &mut self.k,
            "half_width" => &mut self.half_width,
            "beta" => &mut self.beta,
            "d" => &mut self.d,
            "dof" => &mut self.dof,
            "s_p" => &mut self.s_p,
            "readings" => &mut self.readings,
            _ => return None,
        })
    }

    fn is_blank(&self) -> bool {
        [
            &self.name,
            &self.value,
            &self.unit,
            &self.u,
            &self.expanded,
            &self.k,
            &self.half_width,
            &self.beta,
            &self.d,
            &self.dof,
            &self.s_p,
            &self.readings,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// A budget as the form holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetForm {
    pub title: String,
    /// Where the figures come from, or anything the reader should know.
    pub about: String,
    /// One measurand a line: its name, a space, its unit (`l mm`, `R Ω`).
    pub measurands: String,
    pub model: String,
    pub inputs: Vec<InputRow>,
    /// One pair a line: `a b r` (`x1 x2 -0.36`).
    pub correlations: String,
    /// "probability" or "k".
    pub coverage: String,
    pub coverage_value: String,
    pub second_order: bool,
    pub truncate_dof: bool,
    /// "nearest" or "up".
    pub rounding: String,
    /// "none", "fixed" or "adaptive".
    pub mc: String,
    pub mc_trials: String,
    pub mc_seed: String,
    pub mc_digits: String,
}

impl Default for BudgetForm {
    fn default() -> Self {
        BudgetForm {
            title: String::new(),
            about: String::new(),
            measurands: String::new(),
            model: String::new(),
            inputs: vec![
                InputRow {
                    kind: "normal".into(),
                    ..Default::default()
                };
                SPARE_ROWS + 1
            ],
            correlations: String::new(),
            coverage: "probability".into(),
            coverage_value: "0.9545".into(),
            second_order: false,
            truncate_dof: false,
            rounding: "nearest".into(),
            mc: "fixed".into(),
            mc_trials: "1000000".into(),
            mc_seed: "1".into(),
            mc_digits: "2".into(),
        }
    }
}

/// A number as the form shows it: the shortest decimal that reads back as the same double.
fn num(v: f64) -> String {
    format!("{v}")
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

impl BudgetForm {
    /// The form from posted fields: `title`, …, and `in.{row}.{field}` for the inputs.
    /// Rows left wholly empty are dropped; unknown fields are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> BudgetForm {
        let mut f = BudgetForm {
            inputs: Vec::new(),
            second_order: false,
            truncate_dof: false,
            ..BudgetForm::default()
        };
        let mut rows: std::collections::BTreeMap<usize, InputRow> = std::collections::BTreeMap::new();
        for (k, v) in pairs {
            let v = v.to_owned();
            match k {
                "title" => f.title = v,
                "about" => f.about = v,
                "measurands" => f.measurands = v,
                "model" => f.model = v,
                "correlations" => f.correlations = v,
                "coverage" => f.coverage = v,
                "coverage_value" => f.coverage_value = v,
                "second_order" => f.second_order = !v.is_empty(),
                "truncate_dof" => f.truncate_dof = !v.is_empty(),
                "rounding" => f.rounding = v,
                "mc" => f.mc = v,
                "mc_trials" => f.mc_trials = v,
                "mc_seed" => f.mc_seed = v,
                "mc_digits" => f.mc_digits = v,
                _ => {
                    let Some(rest) = k.strip_prefix("in.") else { continue };
                    let Some((row, field)) = rest.split_once('.') else {
                        continue;
                    };
                    let Ok(row) = row.parse::<usize>() else { continue };
                    if let Some(slot) = rows.entry(row).or_default().field_mut(field) {
                        *slot = v;
                    }
                }
            }
        }
        f.inputs = rows.into_values().filter(|r| !r.is_blank()).collect();
        f
    }

    /// The form showing a saved problem.
    pub fn from_problem(title: &str, p: &Problem) -> BudgetForm {
        let measurands = p
            .measurands
            .iter()
            .map(|m| format!("{} {}", m.name, m.unit).trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n");
        let inputs = p
            .inputs
            .iter()
            .map(|i| {
                let u = &i.uncertainty;
                InputRow {
                    name: i.name.clone(),
                    value: opt(i.value),
                    unit: i.unit.clone(),
                    kind: u.kind.clone(),
                    u: opt(u.u),
                    expanded: opt(u.expanded),
                    k: opt(u.k),
                    half_width: opt(u.half_width),
                    beta: opt(u.beta),
                    d: opt(u.d),
                    dof: opt(u.dof),
                    s_p: opt(u.s_p),
                    readings: u
                        .readings
                        .as_ref()
                        .map(|r| r.iter().map(|v| num(*v)).collect::<Vec<_>>().join(" "))
                        .unwrap_or_default(),
                }
            })
            .collect();
        let correlations = p
            .correlations
            .iter()
            .map(|c| format!("{} {} {}", c.a, c.b, num(c.r)))
            .collect::<Vec<_>>()
            .join("\n");
        let (coverage, coverage_value) = match &p.coverage {
            Some(CoverageSpec { k: Some(k), .. }) => ("k", num(*k)),
            Some(CoverageSpec {
                probability: Some(pr), ..
            }) => ("probability", num(*pr)),
            _ => ("probability", "0.9545".to_owned()),
        };
        let (mc, mc_trials, mc_seed, mc_digits) = match &p.monte_carlo {
            None => ("none", String::new(), String::new(), String::new()),
            Some(s) => (
                if s.adaptive { "adaptive" } else { "fixed" },
                s.trials.map(|t| t.to_string()).unwrap_or_default(),
                s.seed.map(|t| t.to_string()).unwrap_or_default(),
                s.significant_digits.map(|t| t.to_string()).unwrap_or_default(),
            ),
        };
        BudgetForm {
            title: title.to_owned(),
            about: p.about.clone().unwrap_or_default(),
            measurands,
            model: p.model.clone(),
            inputs,
            correlations,
            coverage: coverage.into(),
            coverage_value,
            second_order: p.second_order,
            truncate_dof: p.truncate_dof,
            rounding: p.rounding.clone().unwrap_or_else(|| "nearest".into()),
            mc: mc.into(),
            mc_trials,
            mc_seed,
            mc_digits,
        }
    }

    /// The form with empty rows to fill in below the inputs.
    pub fn with_spare_rows(mut self, spare: usize) -> BudgetForm {
        let room = MAX_ROWS.saturating_sub(self.inputs.len()).min(spare);
        for _ in 0..room {
            self.inputs.push(InputRow {
                kind: "normal".into(),
                ..Default::default()
            });
        }
        self
    }

    /// The title, checked: every budget is named.
    pub fn checked_title(&self) -> Result<String, Error> {
        let t = self.title.trim();
        if t.is_empty() {
            return Err(Error::new("title", "budget.title_missing", "give the budget a title"));
        }
        if t.chars().count() > 200 {
            return Err(Error::new("title", "budget.title_too_long", "at most 200 characters"));
        }
        Ok(t.to_owned())
    }

    /// The problem the form describes. Every field that is not a number where one is
    /// needed is named; the engine checks the rest.
    pub fn to_problem(&self) -> Result<Problem, Vec<Error>> {
        let mut errors = Vec::new();
        if self.inputs.len() > MAX_ROWS {
            errors.push(Error::new(
                "inputs",
                "budget.too_many_inputs",
                format!("at most {MAX_ROWS} input quantities in one budget"),
            ));
        }
        let measurands = self
            .measurands
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let l = l.trim();
                let (name, unit) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
                MeasurandSpec {
                    name: name.to_owned(),
                    unit: unit.trim().to_owned(),
                }
            })
            .collect();
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for (i, row) in self.inputs.iter().enumerate() {
            let at = |f: &str| format!("in.{i}.{f}");
            let readings = if row.readings.trim().is_empty() {
                None
            } else {
                let mut values = Vec::new();
                for r in row.readings.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
                    if r.is_empty() {
                        continue;
                    }
                    match parse_number(r) {
                        Some(v) => values.push(v),
                        None => {
                            errors.push(Error::new(
                                at("readings"),
                                "request.number_invalid",
                                format!("reading '{r}' is not a number"),
                            ));
                            break;
                        }
                    }
                }
                Some(values)
            };
            inputs.push(InputSpec {
                name: row.name.trim().to_owned(),
                value: number(&mut errors, at("value"), &row.value),
                unit: row.unit.trim().to_owned(),
                uncertainty: UncertaintySpec {
                    kind: row.kind.trim().to_owned(),
                    u: number(&mut errors, at("u"), &row.u),
                    expanded: number(&mut errors, at("expanded"), &row.expanded),
                    k: number(&mut errors, at("k"), &row.k),
                    half_width: number(&mut errors, at("half_width"), &row.half_width),
                    beta: number(&mut errors, at("beta"), &row.beta),
                    d: number(&mut errors, at("d"), &row.d),
                    dof: number(&mut errors, at("dof"), &row.dof),
                    readings,
                    s_p: number(&mut errors, at("s_p"), &row.s_p),
                },
            });
        }
        let mut correlations = Vec::new();
        for line in self.correlations.lines().filter(|l| !l.trim().is_empty()) {
            let parts: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .filter(|s| !s.is_empty())
                .collect();
            match parts.as_slice() {
                [a, b, r] => match parse_number(r) {
                    Some(r) => correlations.push(CorrelationSpec {
                        a: (*a).to_owned(),
                        b: (*b).to_owned(),
                        r,
                    }),
                    None => errors.push(Error::new(
                        "correlations",
                        "request.number_invalid",
                        format!("'{r}' in '{}' is not a number", line.trim()),
                    )),
                },
                _ => errors.push(Error::new(
                    "correlations",
                    "budget.correlation_line",
                    format!("'{}': write each pair as 'a b r'", line.trim()),
                )),
            }
        }
        let coverage_value = number(&mut errors, "coverage_value".into(), &self.coverage_value);
        let coverage = match (self.coverage.as_str(), coverage_value) {
            (_, None) => None,
            ("k", Some(k)) => Some(CoverageSpec {
                probability: None,
                k: Some(k),
            }),
            (_, Some(p)) => Some(CoverageSpec {
                probability: Some(p),
                k: None,
            }),
        };
        let integer = |field: &str, text: &str, errors: &mut Vec<Error>| -> Option<u64> {
            let t = text.trim().replace(['_', ' '], "");
            if t.is_empty() {
                return None;
            }
            match t.parse::<u64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    errors.push(Error::new(
                        field,
                        "request.integer_invalid",
                        format!("'{}' is not a whole number", text.trim()),
                    ));
                    None
                }
            }
        };
        let monte_carlo = match self.mc.as_str() {
            "none" | "" => None,
            mode => {
                let trials = integer("mc_trials", &self.mc_trials, &mut errors);
                let seed = integer("mc_seed", &self.mc_seed, &mut errors);
                let digits = integer("mc_digits", &self.mc_digits, &mut errors);
                let adaptive = mode == "adaptive";
                Some(MonteCarloSpec {
                    trials: if adaptive { None } else { trials },
                    adaptive,
                    seed,
                    significant_digits: digits.map(|d| d.min(u32::MAX as u64) as u32),
                    min_blocks: None,
                })
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Problem {
            about: Some(self.about.trim().to_owned()).filter(|s| !s.is_empty()),
            measurands,
            model: self.model.trim().to_owned(),
            inputs,
            correlations,
            coverage,
            second_order: self.second_order,
            truncate_dof: self.truncate_dof,
            rounding: Some(self.rounding.trim().to_owned()).filter(|s| !s.is_empty() && s != "nearest"),
            monte_carlo,
        })
    }
}

/// An optional number field: empty is None, anything else must parse.
fn number(errors: &mut Vec<Error>, field: String, text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let v = parse_number(t);
    if v.is_none() {
        errors.push(Error::new(
            field,
            "request.number_invalid",
            format!("'{t}' is not a number"),
        ));
    }
    v
}

/// A number as a metrologist types it: `0.000075`, `7.5e-5`, `7,5E-5` is refused
/// (a comma separates readings), a leading `+` and `−` (U+2212) are accepted.
fn parse_number(t: &str) -> Option<f64> {
    let t = t.trim().replace('\u{2212}', "-");
    let t = t.strip_prefix('+').unwrap_or(&t);
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The form field an engine error belongs to: `inputs[2].uncertainty.half_width` is
/// row 2's `half_width`, `monte_carlo.trials` is `mc_trials`.
pub fn form_field(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("inputs[") {
        if let Some((row, tail)) = rest.split_once(']') {
            let tail = tail.trim_start_matches('.');
            let field = tail.strip_prefix("uncertainty").map(|t| t.trim_start_matches('.'));
            let field = match field {
                Some("") => "kind",
                Some(f) => f.split(['.', '[']).next().unwrap_or("kind"),
                None if tail.is_empty() => "name",
                None => tail.split(['.', '[']).next().unwrap_or("name"),
            };
            return format!("in.{row}.{field}");
        }
    }
    let head = path.split(['.', '[']).next().unwrap_or(path);
    match head {
        "measurands" => "measurands".into(),
        "correlations" => "correlations".into(),
        "coverage" => "coverage_value".into(),
        "monte_carlo" => match path.rsplit('.').next() {
            Some("trials") => "mc_trials".into(),
            Some("seed") => "mc_seed".into(),
            Some("significant_digits") => "mc_digits".into(),
            _ => "mc".into(),
        },
        "second_order" | "truncate_dof" | "rounding" | "model" | "title" => head.into(),
        "about" => "about".into(),
        _ => "model".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::uncertainty::problem::parse_problem;

    #[test]
    fn every_shipped_example_survives_the_form_unchanged() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration-data/uncertainty");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let p = parse_problem(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let form = BudgetForm::from_problem("t", &p).with_spare_rows(SPARE_ROWS);
            // Through the browser: every field as a name/value pair.
            let mut pairs: Vec<(String, String)> = vec![
                ("title".into(), form.title.clone()),
                ("about".into(), form.about.clone()),
                ("measurands".into(), form.measurands.clone()),
                ("model".into(), form.model.clone()),
                ("correlations".into(), form.correlations.clone()),
                ("coverage".into(), form.coverage.clone()),
                ("coverage_value".into(), form.coverage_value.clone()),
                ("rounding".into(), form.rounding.clone()),
                ("mc".into(), form.mc.clone()),
                ("mc_trials".into(), form.mc_trials.clone()),
                ("mc_seed".into(), form.mc_seed.clone()),
                ("mc_digits".into(), form.mc_digits.clone()),
            ];
            if form.second_order {
                pairs.push(("second_order".into(), "on".into()));
            }
            if form.truncate_dof {
                pairs.push(("truncate_dof".into(), "on".into()));
            }
            for (i, row) in form.inputs.iter().enumerate() {
                let mut row = row.clone();
                for f in ["name", "value", "unit", "kind"].into_iter().chain(PARAMETERS) {
                    pairs.push((format!("in.{i}.{f}"), row.field_mut(f).unwrap().clone()));
                }
            }
            let back = BudgetForm::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let mut expected = p.clone();
            // The form always states the coverage; the engine's default is the same.
            expected.coverage.get_or_insert(CoverageSpec {
                probability: Some(0.9545),
                k: None,
            });
            if expected.rounding.as_deref() == Some("nearest") {
                expected.rounding = None;
            }
            assert_eq!(back.to_problem().unwrap(), expected, "{}", path.display());
            seen += 1;
        }
        assert!(seen >= 7, "only {seen} examples");
    }

    #[test]
    fn numbers_keep_every_bit() {
        for v in [0.1, 1.0 / 3.0, 50.000623, 1e-20, 6.02214076e23, -0.36, 5e-324] {
            assert_eq!(parse_number(&num(v)), Some(v), "{v}");
        }
        assert_eq!(parse_number("\u{2212}0.5"), Some(-0.5));
        assert_eq!(parse_number("+2"), Some(2.0));
        assert_eq!(parse_number("7,5"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
    }

    #[test]
    fn bad_numbers_name_their_row_and_field() {
        let f = BudgetForm::from_pairs([
            ("measurands", "y m"),
            ("model", "y = x"),
            ("in.0.name", ""),
            ("in.3.name", "x"),
            ("in.3.value", "1.0.0"),
            ("in.3.kind", "normal"),
            ("in.3.readings", "1 2 x"),
            ("correlations", "x y"),
            ("mc", "fixed"),
            ("mc_trials", "lots"),
        ]);
        // The blank row 0 is dropped, so row 3 is now the first.
        let fields: Vec<String> = f.to_problem().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["in.0.readings", "in.0.value", "correlations", "mc_trials"]);
    }

    #[test]
    fn too_many_rows_are_refused_not_dropped() {
        let names: Vec<String> = (0..=MAX_ROWS).map(|i| format!("x{i}")).collect();
        let pairs: Vec<(String, &str)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("in.{i}.name"), n.as_str()))
            .collect();
        let f = BudgetForm::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), *v)));
        assert_eq!(f.inputs.len(), MAX_ROWS + 1, "every row is kept to show again");
        let errors = f.to_problem().unwrap_err();
        assert_eq!(errors[0].field, "inputs");
    }

    #[test]
    fn engine_paths_map_to_form_fields() {
        assert_eq!(form_field("inputs[2].uncertainty.half_width"), "in.2.half_width");
        assert_eq!(form_field("inputs[0].uncertainty.readings[3]"), "in.0.readings");
        assert_eq!(form_field("inputs[1].uncertainty"), "in.1.kind");
        assert_eq!(form_field("inputs[1].unit"), "in.1.unit");
        assert_eq!(form_field("inputs[4]"), "in.4.name");
        assert_eq!(form_field("measurands[1].unit"), "measurands");
        assert_eq!(form_field("correlations[0].r"), "correlations");
        assert_eq!(form_field("coverage"), "coverage_value");
        assert_eq!(form_field("monte_carlo.trials"), "mc_trials");
        assert_eq!(form_field("monte_carlo.significant_digits"), "mc_digits");
        assert_eq!(form_field("model"), "model");
    }
}
