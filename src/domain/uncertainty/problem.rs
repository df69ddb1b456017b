//! The evaluation's input, as JSON (docs/uncertainty.md), and its checks: every
//! refused value names its field (`inputs[2].uncertainty.half_width`).

use super::units::{parse_unit, Unit};
use crate::domain::Error;
use serde::Deserialize;

/// What to evaluate: the measurands, the model, the inputs and the options.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// A note for the reader (the source of a worked example); not evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub measurands: Vec<MeasurandSpec>,
    pub model: String,
    pub inputs: Vec<InputSpec>,
    #[serde(default)]
    pub correlations: Vec<CorrelationSpec>,
    #[serde(default)]
    pub coverage: Option<CoverageSpec>,
    /// Add the GUM 5.1.2 second-order terms.
    #[serde(default)]
    pub second_order: bool,
    /// Round the effective degrees of freedom down to an integer before looking up k.
    #[serde(default)]
    pub truncate_dof: bool,
    /// How the report rounds U: "nearest" (default) or "up".
    #[serde(default)]
    pub rounding: Option<String>,
    #[serde(default)]
    pub monte_carlo: Option<MonteCarloSpec>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MeasurandSpec {
    pub name: String,
    #[serde(default)]
    pub unit: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub unit: String,
    pub uncertainty: UncertaintySpec,
}

/// An input's uncertainty: the kind and the parameters that go with it.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UncertaintySpec {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expanded: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_width: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dof: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readings: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s_p: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorrelationSpec {
    pub a: String,
    pub b: String,
    pub r: f64,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CoverageSpec {
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub k: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MonteCarloSpec {
    #[serde(default)]
    pub trials: Option<u64>,
    #[serde(default)]
    pub adaptive: bool,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub significant_digits: Option<u32>,
    /// The adaptive procedure runs at least this many blocks (default 2, JCGM 101 §7.9.4).
    #[serde(default)]
    pub min_blocks: Option<u64>,
}

/// An input's probability distribution, in coherent SI units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    Normal {
        mu: f64,
        sigma: f64,
    },
    Rectangular {
        mu: f64,
        a: f64,
    },
    Triangular {
        mu: f64,
        a: f64,
    },
    Arcsine {
        mu: f64,
        a: f64,
    },
    /// Half-width a of the base, β the ratio of the top's half-width to a.
    Trapezoidal {
        mu: f64,
        a: f64,
        beta: f64,
    },
    /// A rectangular distribution whose half-width is itself known only to ±d
    /// (JCGM 101 §6.4.3).
    CurvilinearTrapezoid {
        mu: f64,
        a: f64,
        d: f64,
    },
    /// μ + scale·t_ν (JCGM 101 §6.4.9).
    StudentT {
        mu: f64,
        scale: f64,
        dof: f64,
    },
    Constant(f64),
}

impl Distribution {
    pub fn mean(&self) -> f64 {
        match *self {
            Distribution::Normal { mu, .. }
            | Distribution::Rectangular { mu, .. }
            | Distribution::Triangular { mu, .. }
            | Distribution::Arcsine { mu, .. }
            | Distribution::Trapezoidal { mu, .. }
            | Distribution::CurvilinearTrapezoid { mu, .. }
            | Distribution::StudentT { mu, .. } => mu,
            Distribution::Constant(v) => v,
        }
    }
}

/// A checked input, in coherent SI units.
#[derive(Debug, Clone, PartialEq)]
pub struct Input<'a> {
    /// The name as given, trimmed.
    pub name: &'a str,
    pub unit: Unit,
    /// The estimate x_i.
    pub x: f64,
    /// The standard uncertainty u(x_i) in the GUM framework.
    pub u: f64,
    /// Degrees of freedom; None is infinite.
    pub dof: Option<f64>,
    pub distribution: Distribution,
}

fn bad(field: String, code: &'static str, message: impl Into<String>) -> Error {
    Error::new(field, code, message)
}

/// A finite, non-negative parameter (an uncertainty, a half-width).
fn width(field: impl Fn() -> String, v: Option<f64>, name: &str) -> Result<f64, Error> {
    match v {
        None => Err(bad(
            field(),
            "uncertainty.parameter_missing",
            format!("this kind of uncertainty needs {name}"),
        )),
        Some(x) if !x.is_finite() => Err(bad(
            field(),
            "uncertainty.not_finite",
            format!("{name} must be a finite number"),
        )),
        Some(x) if x < 0.0 => Err(bad(
            field(),
            "uncertainty.negative",
            format!("{name} must not be negative"),
        )),
        Some(x) => Ok(x),
    }
}

fn dof(field: impl Fn() -> String, v: Option<f64>) -> Result<Option<f64>, Error> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
        Some(_) => Err(bad(
            field(),
            "uncertainty.dof_invalid",
            "degrees of freedom are a positive number",
        )),
    }
}

const KINDS: &str = "normal, rectangular, triangular, arcsine, trapezoidal, curvilinear_trapezoid, \
                     student_t, type_a, type_a_pooled, constant";

/// Builds an input's distribution from (estimate, width, ν or β, d), all in SI units.
type MakeDistribution = fn(f64, f64, f64, f64) -> Distribution;

/// Checks one input and turns it into SI units.
pub fn check_input(i: usize, spec: &InputSpec) -> Result<Input<'_>, Error> {
    let at = |f: &str| format!("inputs[{i}].{f}");
    let name = spec.name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(bad(
            at("name"),
            "uncertainty.name_invalid",
            "a name is letters, digits and _, as used in the model",
        ));
    }
    let unit = parse_unit(&spec.unit).map_err(|e| bad(at("unit"), "uncertainty.unit_invalid", e.to_string()))?;
    let u_spec = &spec.uncertainty;
    let uf = |f: &str| at(&format!("uncertainty.{f}"));
    if let Some(v) = spec.value {
        if !v.is_finite() {
            return Err(bad(
                at("value"),
                "uncertainty.not_finite",
                "the value must be a finite number",
            ));
        }
    }
    let readings = || -> Result<&Vec<f64>, Error> {
        let r = u_spec.readings.as_ref().ok_or_else(|| {
            bad(
                uf("readings"),
                "uncertainty.parameter_missing",
                "this kind of uncertainty needs the readings",
            )
        })?;
        if r.iter().any(|x| !x.is_finite()) {
            return Err(bad(
                uf("readings"),
                "uncertainty.not_finite",
                "every reading must be a finite number",
            ));
        }
        Ok(r)
    };
    let value = |fallback: Option<f64>| -> Result<f64, Error> {
        spec.value.or(fallback).ok_or_else(|| {
            bad(
                at("value"),
                "uncertainty.value_missing",
                "the input needs a value (its estimate)",
            )
        })
    };
    // Values convert with the unit's offset (°C); widths and uncertainties without.
    let (x_raw, u_raw, dof_v, dist): (f64, f64, Option<f64>, MakeDistribution) = match u_spec.kind.as_str() {
        "normal" => {
            let u = match (u_spec.u, u_spec.expanded, u_spec.k) {
                (Some(_), None, None) => width(|| uf("u"), u_spec.u, "u")?,
                (None, Some(_), Some(_)) => {
                    let k = u_spec
                        .k
                        .filter(|k| k.is_finite() && *k > 0.0)
                        .ok_or_else(|| bad(uf("k"), "uncertainty.k_invalid", "k must be a positive number"))?;
                    width(|| uf("expanded"), u_spec.expanded, "expanded")? / k
                }
                (None, Some(_), None) => {
                    return Err(bad(
                        uf("k"),
                        "uncertainty.parameter_missing",
                        "an expanded uncertainty needs its k",
                    ))
                }
                _ => {
                    return Err(bad(
                        uf("u"),
                        "uncertainty.parameter_missing",
                        "a normal input takes u, or expanded with k",
                    ))
                }
            };
            (value(None)?, u, dof(|| uf("dof"), u_spec.dof)?, |mu, s, _, _| {
                Distribution::Normal { mu, sigma: s }
            })
        }
        "rectangular" => {
            let a = width(|| uf("half_width"), u_spec.half_width, "half_width")?;
            (value(None)?, a, dof(|| uf("dof"), u_spec.dof)?, |mu, a, _, _| {
                Distribution::Rectangular { mu, a }
            })
        }
        "triangular" => {
            let a = width(|| uf("half_width"), u_spec.half_width, "half_width")?;
            (value(None)?, a, dof(|| uf("dof"), u_spec.dof)?, |mu, a, _, _| {
                Distribution::Triangular { mu, a }
            })
        }
        "arcsine" => {
            let a = width(|| uf("half_width"), u_spec.half_width, "half_width")?;
            (value(None)?, a, dof(|| uf("dof"), u_spec.dof)?, |mu, a, _, _| {
                Distribution::Arcsine { mu, a }
            })
        }
        "trapezoidal" => {
            let a = width(|| uf("half_width"), u_spec.half_width, "half_width")?;
            match u_spec.beta {
                Some(b) if (0.0..=1.0).contains(&b) => {}
                _ => {
                    return Err(bad(
                        uf("beta"),
                        "uncertainty.beta_invalid",
                        "beta, the ratio of the top's half-width to the base's, is from 0 to 1",
                    ))
                }
            }
            (value(None)?, a, dof(|| uf("dof"), u_spec.dof)?, |mu, a, beta, _| {
                Distribution::Trapezoidal { mu, a, beta }
            })
        }
        "curvilinear_trapezoid" => {
            let a = width(|| uf("half_width"), u_spec.half_width, "half_width")?;
            let d = width(|| uf("d"), u_spec.d, "d")?;
            if d > a {
                return Err(bad(uf("d"), "uncertainty.d_invalid", "d must not exceed half_width"));
            }
            (value(None)?, a, dof(|| uf("dof"), u_spec.dof)?, |mu, a, _, d| {
                Distribution::CurvilinearTrapezoid { mu, a, d }
            })
        }
        "student_t" => {
            let u = width(|| uf("u"), u_spec.u, "u")?;
            let nu = dof(|| uf("dof"), u_spec.dof)?.ok_or_else(|| {
                bad(
                    uf("dof"),
                    "uncertainty.parameter_missing",
                    "a Student-t input needs its dof",
                )
            })?;
            (value(None)?, u, Some(nu), |mu, s, nu, _| Distribution::StudentT {
                mu,
                scale: s,
                dof: nu,
            })
        }
        "type_a" => {
            let r = readings()?;
            if r.len() < 2 {
                return Err(bad(
                    uf("readings"),
                    "uncertainty.too_few_readings",
                    "a Type A evaluation needs at least 2 readings",
                ));
            }
            let n = r.len() as f64;
            let mean = r.iter().sum::<f64>() / n;
            let s = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            (value(Some(mean))?, s / n.sqrt(), Some(n - 1.0), |mu, s, nu, _| {
                Distribution::StudentT { mu, scale: s, dof: nu }
            })
        }
        "type_a_pooled" => {
            let r = readings()?;
            if r.is_empty() {
                return Err(bad(
                    uf("readings"),
                    "uncertainty.too_few_readings",
                    "at least one reading is needed",
                ));
            }
            let n = r.len() as f64;
            let mean = r.iter().sum::<f64>() / n;
            let s_p = width(|| uf("s_p"), u_spec.s_p, "s_p")?;
            let nu = dof(|| uf("dof"), u_spec.dof)?;
            (value(Some(mean))?, s_p / n.sqrt(), nu, |mu, s, nu, _| {
                if nu.is_finite() {
                    Distribution::StudentT { mu, scale: s, dof: nu }
                } else {
                    Distribution::Normal { mu, sigma: s }
                }
            })
        }
        "constant" => (value(None)?, 0.0, None, |mu, _, _, _| Distribution::Constant(mu)),
        other => {
            return Err(bad(
                uf("kind"),
                "uncertainty.kind_unknown",
                format!("'{other}' is not a kind of uncertainty; the kinds are: {KINDS}"),
            ))
        }
    };
    let x = unit.to_si(x_raw);
    let width_si = unit.diff_to_si(u_raw);
    let beta = u_spec.beta.unwrap_or(0.0);
    let d_si = unit.diff_to_si(u_spec.d.unwrap_or(0.0));
    let distribution = match u_spec.kind.as_str() {
        "trapezoidal" => dist(x, width_si, beta, 0.0),
        "curvilinear_trapezoid" => dist(x, width_si, 0.0, d_si),
        _ => dist(x, width_si, dof_v.unwrap_or(f64::INFINITY), 0.0),
    };
    let u = standard_uncertainty(&distribution);
    Ok(Input {
        name,
        unit,
        x,
        u,
        dof: dof_v,
        distribution,
    })
}

/// The standard uncertainty the GUM framework uses for a distribution (JCGM 100
/// §4.3.7–4.3.9; JCGM 101 §6.4). For Student-t inputs it is the scale (GUM §4.2.3),
/// not the t distribution's own standard deviation.
pub fn standard_uncertainty(d: &Distribution) -> f64 {
    match *d {
        Distribution::Normal { sigma, .. } => sigma,
        Distribution::Rectangular { a, .. } => a / 3f64.sqrt(),
        Distribution::Triangular { a, .. } => a / 6f64.sqrt(),
        Distribution::Arcsine { a, .. } => a / 2f64.sqrt(),
        Distribution::Trapezoidal { a, beta, .. } => a * ((1.0 + beta * beta) / 6.0).sqrt(),
        Distribution::CurvilinearTrapezoid { a, d, .. } => (a * a / 3.0 + d * d / 9.0).sqrt(),
        Distribution::StudentT { scale, .. } => scale,
        Distribution::Constant(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(unit: &str, value: Option<f64>, u: UncertaintySpec) -> Result<Input<'static>, Error> {
        // The checked input borrows its name from the spec; a test may keep the spec.
        let spec: &'static InputSpec = Box::leak(Box::new(InputSpec {
            name: "x".into(),
            value,
            unit: unit.into(),
            uncertainty: u,
        }));
        check_input(0, spec)
    }

    fn kind(k: &str) -> UncertaintySpec {
        UncertaintySpec {
            kind: k.into(),
            ..Default::default()
        }
    }

    #[test]
    fn standard_uncertainties_of_each_kind() {
        // JCGM 100 §4.3.7 (a/√3), §4.3.9 (a/√6); JCGM 101 §6.4.2–6.4.6.
        let r = input(
            "mm",
            Some(1.0),
            UncertaintySpec {
                half_width: Some(0.3),
                ..kind("rectangular")
            },
        )
        .unwrap();
        assert!((r.u - 0.3e-3 / 3f64.sqrt()).abs() < 1e-18);
        let t = input(
            "",
            Some(0.0),
            UncertaintySpec {
                half_width: Some(6f64.sqrt()),
                ..kind("triangular")
            },
        )
        .unwrap();
        assert!((t.u - 1.0).abs() < 1e-15);
        let a = input(
            "",
            Some(0.0),
            UncertaintySpec {
                half_width: Some(2f64.sqrt()),
                ..kind("arcsine")
            },
        )
        .unwrap();
        assert!((a.u - 1.0).abs() < 1e-15);
        // β = 1 is the rectangle, β = 0 the triangle.
        let tr = input(
            "",
            Some(0.0),
            UncertaintySpec {
                half_width: Some(1.0),
                beta: Some(1.0),
                ..kind("trapezoidal")
            },
        )
        .unwrap();
        assert!((tr.u - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        let c = input(
            "",
            Some(0.0),
            UncertaintySpec {
                half_width: Some(1.0),
                d: Some(0.3),
                ..kind("curvilinear_trapezoid")
            },
        )
        .unwrap();
        assert!((c.u - (1.0 / 3.0 + 0.09 / 9.0f64).sqrt()).abs() < 1e-15);
        let n = input(
            "µm",
            Some(5.0),
            UncertaintySpec {
                expanded: Some(0.075),
                k: Some(3.0),
                dof: Some(18.0),
                ..kind("normal")
            },
        )
        .unwrap();
        assert!((n.u - 25e-9).abs() < 1e-21);
        assert_eq!(n.dof, Some(18.0));
    }

    #[test]
    fn type_a_from_readings() {
        let a = input(
            "",
            None,
            UncertaintySpec {
                readings: Some(vec![10.0, 12.0, 14.0]),
                ..kind("type_a")
            },
        )
        .unwrap();
        assert_eq!(a.x, 12.0);
        assert!((a.u - 2.0 / 3f64.sqrt()).abs() < 1e-15);
        assert_eq!(a.dof, Some(2.0));
        let p = input(
            "mg",
            None,
            UncertaintySpec {
                readings: Some(vec![1.0, 3.0]),
                s_p: Some(4.0),
                dof: Some(30.0),
                ..kind("type_a_pooled")
            },
        )
        .unwrap();
        assert!((p.x - 2e-6).abs() < 1e-18);
        assert!((p.u - 4e-6 / 2f64.sqrt()).abs() < 1e-18);
    }

    #[test]
    fn celsius_values_take_the_offset_and_uncertainties_do_not() {
        let t = input(
            "°C",
            Some(20.0),
            UncertaintySpec {
                u: Some(0.1),
                ..kind("normal")
            },
        )
        .unwrap();
        assert!((t.x - 293.15).abs() < 1e-12);
        assert!((t.u - 0.1).abs() < 1e-15);
    }

    #[test]
    fn bad_parameters_name_their_field() {
        let e = input("", Some(1.0), kind("lognormal")).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("inputs[0].uncertainty.kind", "uncertainty.kind_unknown")
        );
        let e = input(
            "",
            Some(1.0),
            UncertaintySpec {
                u: Some(-1.0),
                ..kind("normal")
            },
        )
        .unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code),
            ("inputs[0].uncertainty.u", "uncertainty.negative")
        );
        let e = input(
            "",
            Some(1.0),
            UncertaintySpec {
                u: Some(f64::NAN),
                ..kind("normal")
            },
        )
        .unwrap_err();
        assert_eq!(e.code, "uncertainty.not_finite");
        let e = input("furlong", Some(1.0), kind("constant")).unwrap_err();
        assert_eq!(e.field, "inputs[0].unit");
        let e = input(
            "",
            None,
            UncertaintySpec {
                u: Some(1.0),
                ..kind("normal")
            },
        )
        .unwrap_err();
        assert_eq!(e.field, "inputs[0].value");
        let e = input(
            "",
            Some(1.0),
            UncertaintySpec {
                expanded: Some(1.0),
                ..kind("normal")
            },
        )
        .unwrap_err();
        assert_eq!(e.field, "inputs[0].uncertainty.k");
    }
}

/// Reads a problem from JSON. A value of the wrong type, a missing or unknown field is
/// an error naming its path (`inputs[1].uncertainty.u`).
pub fn parse_problem(json: &str) -> Result<Problem, Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if matches!(path.as_str(), "." | "?" | "") {
            "body".to_owned()
        } else {
            path
        };
        Error::new(field, "request.json_invalid", e.inner().to_string())
    })
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn json_errors_name_the_path() {
        let e = parse_problem(r#"{"measurands": [], "model": "y = x", "inputs": [{"name": "x", "value": "one", "uncertainty": {"kind": "constant"}}]}"#).unwrap_err();
        assert_eq!(e.field, "inputs[0].value");
        let e = parse_problem(r#"{"measurands": [], "model": "y = x", "inputs": [], "colour": 1}"#).unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
        let e = parse_problem("{not json").unwrap_err();
        assert_eq!(e.field, "body");
    }
}
