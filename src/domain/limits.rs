//! Tolerance limits as laboratories write them, on a point's error (indication minus
//! reference, as the MPE is): a symmetric MPE ("±0.6 µm"), or a lower and an upper limit
//! each on its own (one-sided, or asymmetric about the nominal: "−0.005 V" and
//! "+0.010 V"). Each is a sum of terms:
//!
//! - absolute: "2 µV";
//! - relative to the reading: "0.02 %", "0.02 % of reading", "50 µV/V", "2 ppm";
//! - relative to a stated value such as the full scale: "0.1 % of 20 V";
//!
//! so that a compound specification reads as written: "±(0.02 % of reading + 2 µV)".
//! A relative term is taken of the indication (JJF 1001-2011 §6.6: the MPE is an error
//! of indication), which is the reference plus the error.

use super::units::{parse_quantity, parse_tolerance, QuantityKind};
use super::Error;

/// One term of a limit, in SI of the error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Term {
    /// An absolute difference.
    Absolute(f64),
    /// A fraction of |reading|.
    OfReading(f64),
    /// A fraction of a stated value (its magnitude, in SI).
    OfValue(f64, f64),
}

/// The magnitude of a limit: a sum of non-negative terms, with the text it was written as.
#[derive(Debug, Clone, PartialEq)]
pub struct Magnitude {
    pub terms: Vec<Term>,
    /// Where the whole is one absolute figure, its number and unit as typed ("0.6", "µm"),
    /// to decide a value on the limit in the digits entered.
    pub plain: Option<Typed>,
}

impl Magnitude {
    /// The limit at the indication `reading` (SI).
    pub fn at(&self, reading: f64) -> f64 {
        self.terms
            .iter()
            .map(|t| match *t {
                Term::Absolute(a) => a,
                Term::OfReading(f) => f * reading.abs(),
                Term::OfValue(f, v) => f * v,
            })
            .sum()
    }
}

/// Splits `text` at its top-level '+' signs (not an exponent's "e+3").
fn split_terms(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut prev = ' ';
    for c in text.chars() {
        if c == '+' && !matches!(prev, 'e' | 'E') && !current.trim().is_empty() {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
        if !c.is_whitespace() {
            prev = c;
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_owned()).collect()
}

/// "50 µV/V": a ratio of two units of the point's kind, as a fraction.
fn unit_ratio(text: &str, kind: QuantityKind) -> Option<f64> {
    let (number, unit) = text.trim().split_once(char::is_whitespace)?;
    let (num, den) = unit.trim().split_once('/')?;
    let v: f64 = number.trim().parse().ok()?;
    let d = kind.difference_kind();
    let (n, dd) = (d.unit(num.trim())?, d.unit(den.trim())?);
    let per = (n.to_si(1.0) - n.to_si(0.0)) / (dd.to_si(1.0) - dd.to_si(0.0));
    Some(v * per)
}

/// A figure's number and unit as typed ("0.6", "µm").
type Typed = (String, &'static str);

fn term(field: &str, text: &str, kind: QuantityKind) -> Result<(Term, Option<Typed>), Error> {
    let t = text.trim();
    if t.starts_with(['-', '−', '+', '±']) {
        return Err(Error::new(
            field,
            "limit.term_signed",
            format!("'{t}': each term of a limit is a magnitude; the sign goes before the whole limit"),
        ));
    }
    let lower = t.to_lowercase();
    for suffix in [" of reading", " of rdg", " 读数"] {
        if let Some(head) = lower.strip_suffix(suffix) {
            let head = &t[..head.len()];
            return match unit_ratio(head, kind) {
                Some(f) => Ok((Term::OfReading(f), None)),
                None => parse_quantity(field, head, QuantityKind::Ratio).map(|q| (Term::OfReading(q.si), None)),
            };
        }
    }
    if let Some((head, base)) = t.split_once(" of ") {
        let f = parse_quantity(field, head, QuantityKind::Ratio)?;
        let v = parse_quantity(field, base, kind)?;
        return Ok((Term::OfValue(f.si, v.si.abs()), None));
    }
    if let Some(f) = unit_ratio(t, kind) {
        return Ok((Term::OfReading(f), None));
    }
    let q = parse_tolerance(field, t, kind)?;
    if q.kind == QuantityKind::Ratio && kind.difference_kind() != QuantityKind::Ratio {
        Ok((Term::OfReading(q.si), None))
    } else {
        let number = t.split_whitespace().next().unwrap_or("").to_owned();
        Ok((Term::Absolute(q.si), Some((number, q.unit))))
    }
}

/// Parses a magnitude: one term or several joined by '+', optionally in parentheses.
pub fn parse_magnitude(field: &str, text: &str, kind: QuantityKind) -> Result<Magnitude, Error> {
    let t = text.trim();
    let t = t
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(t)
        .trim();
    if t.is_empty() {
        return Err(Error::new(
            field,
            "quantity.missing",
            "a limit with its unit, e.g. 0.6 µm",
        ));
    }
    if t.chars().count() > 120 {
        return Err(Error::new(
            field,
            "quantity.too_long",
            "a limit is at most 120 characters",
        ));
    }
    let parts = split_terms(t);
    let mut terms = Vec::new();
    let mut plain = None;
    for p in &parts {
        let (term, number) = term(field, p, kind)?;
        if term_value(&term) < 0.0 {
            return Err(Error::new(
                field,
                "limit.term_signed",
                "each term is a magnitude, zero or above",
            ));
        }
        terms.push(term);
        plain = number;
    }
    Ok(Magnitude {
        plain: if parts.len() == 1 { plain } else { None },
        terms,
    })
}

fn term_value(t: &Term) -> f64 {
    match *t {
        Term::Absolute(a) => a,
        Term::OfReading(f) => f,
        Term::OfValue(f, _) => f,
    }
}

/// Parses a maximum permissible error, symmetric by definition: "±0.6 µm", "+-0.6 µm",
/// "0.6 µm", "±(0.02 % of reading + 2 µV)". A lone '+' or '−' is refused rather than
/// dropped: an asymmetric limit is a lower and an upper limit.
pub fn parse_mpe(field: &str, text: &str, kind: QuantityKind) -> Result<Magnitude, Error> {
    let t = text.trim();
    let body = t.strip_prefix("+-").or_else(|| t.strip_prefix('±')).unwrap_or(t);
    if body.trim_start().starts_with(['+', '-', '−']) {
        return Err(Error::new(
            field,
            "limit.mpe_signed",
            format!("'{t}': an MPE is symmetric (±); for a one-sided or asymmetric tolerance give a lower and an upper limit"),
        ));
    }
    parse_magnitude(field, body, kind)
}

/// Parses a lower or upper limit on the error, with its sign: "−0.005 V", "+0.010 V",
/// "0.010 V", "−(0.02 % of reading + 2 µV)". Returns the sign (±1) and the magnitude.
pub fn parse_limit(field: &str, text: &str, kind: QuantityKind) -> Result<(f64, Magnitude), Error> {
    let t = text.trim();
    if t.starts_with('±') || t.starts_with("+-") {
        return Err(Error::new(
            field,
            "limit.symmetric_here",
            format!("'{t}': a lower or upper limit has one sign; write a symmetric tolerance as the MPE"),
        ));
    }
    let (sign, body) = match t.chars().next() {
        Some('-') | Some('−') => (-1.0, &t[t.char_indices().nth(1).map_or(t.len(), |(i, _)| i)..]),
        Some('+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    let m = parse_magnitude(field, body, kind)?;
    Ok((sign, m))
}

/// A point's limits on its error at the indication `reading`, in SI: (lower, upper),
/// either None for a one-sided tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct PointLimits {
    pub lower: Option<(f64, Magnitude)>,
    pub upper: Option<(f64, Magnitude)>,
}

impl PointLimits {
    pub fn at(&self, reading: f64) -> (Option<f64>, Option<f64>) {
        (
            self.lower.as_ref().map(|(s, m)| s * m.at(reading)),
            self.upper.as_ref().map(|(s, m)| s * m.at(reading)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn compound_relative_and_absolute_terms() {
        let v = QuantityKind::Voltage;
        // ±(0.02 % of reading + 2 µV) at 10 V: 2 mV + 2 µV = 2.002 mV (a DMM's
        // specification as its data sheet writes it).
        let m = parse_mpe("mpe", "±(0.02 % of reading + 2 µV)", v).unwrap();
        assert!(close(m.at(10.0), 2.002e-3), "{}", m.at(10.0));
        assert_eq!(m.plain, None);
        // 50 µV/V of the reading: at 10 V, 0.5 mV.
        assert!(close(parse_mpe("mpe", "50 µV/V", v).unwrap().at(10.0), 5e-4));
        // % of full scale, stated: 0.1 % of 20 V is 20 mV at any reading.
        let fs = parse_mpe("mpe", "0.1 % of 20 V", v).unwrap();
        assert!(close(fs.at(1.0), 0.02) && close(fs.at(15.0), 0.02));
        // A plain absolute MPE keeps its digits for decisions on the limit.
        let m = parse_mpe("mpe", "±0.6 µm", QuantityKind::Length).unwrap();
        assert_eq!(m.plain, Some(("0.6".to_owned(), "µm")));
    }

    #[test]
    fn a_sign_on_an_mpe_is_refused_not_dropped() {
        // Issue 21: "−0.6 µm" used to be read as ±0.6 µm.
        for t in ["-0.6 µm", "+0.6 µm", "−0.6 µm"] {
            let e = parse_mpe("points[0].mpe", t, QuantityKind::Length).unwrap_err();
            assert_eq!(e.code, "limit.mpe_signed", "{t}");
        }
        for t in ["±0.6 µm", "+-0.6 µm", "0.6 µm"] {
            assert!(parse_mpe("mpe", t, QuantityKind::Length).is_ok(), "{t}");
        }
    }

    #[test]
    fn signed_limits_one_sided_and_asymmetric() {
        let v = QuantityKind::Voltage;
        let (s, m) = parse_limit("lower_limit", "−0.005 V", v).unwrap();
        assert!(close(s * m.at(10.0), -0.005));
        let (s, m) = parse_limit("upper_limit", "+0.010 V", v).unwrap();
        assert!(close(s * m.at(10.0), 0.010));
        let (s, m) = parse_limit("lower_limit", "-(0.02 % of reading + 2 µV)", v).unwrap();
        assert!(close(s * m.at(10.0), -2.002e-3));
        assert_eq!(
            parse_limit("upper_limit", "±1 V", v).unwrap_err().code,
            "limit.symmetric_here"
        );
        assert!(parse_limit("upper_limit", "1 kg", v).is_err());
    }
}
