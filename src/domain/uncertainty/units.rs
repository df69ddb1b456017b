//! Unit expressions for measurement models: `mm`, `kg·m^-3`, `J/(mol·K)`, `1/K`.
//!
//! A unit is a dimension (exponents of the seven SI base quantities) and a factor to
//! the coherent SI unit. The factor of every named unit uom defines comes from uom's
//! own unit definitions (`uom::Conversion::coefficient`); only units uom lacks (the
//! decibel as a dimensionless ratio, ppm) carry their factor here. A bare `°C` is a
//! Celsius temperature: its value converts with the 273.15 K offset, while an
//! uncertainty (a difference) converts with the factor alone.

use std::fmt;
use uom::si::{
    amount_of_substance, angle, electric_current, electric_potential, electrical_resistance, energy, force, frequency,
    illuminance, length, luminous_intensity, mass, power, pressure, ratio, thermodynamic_temperature, time, volume,
};
use uom::{Conversion, ConversionFactor};

/// Exponents of L, M, T, I, Θ, N, J. Real numbers, so that `sqrt(m^2)` is `m` and
/// `sqrt(m)` is a dimension of its own.
#[derive(Clone, Copy, PartialEq)]
pub struct Dim(pub [f64; 7]);

const BASE: [&str; 7] = ["m", "kg", "s", "A", "K", "mol", "cd"];

impl Dim {
    pub const NONE: Dim = Dim([0.0; 7]);

    const fn base(i: usize) -> Dim {
        let mut d = [0.0; 7];
        d[i] = 1.0;
        Dim(d)
    }

    pub fn pow(self, e: f64) -> Dim {
        Dim(std::array::from_fn(|i| self.0[i] * e))
    }

    pub fn same(self, o: Dim) -> bool {
        self.0.iter().zip(o.0).all(|(a, b)| (a - b).abs() < 1e-9)
    }

    pub fn is_none(self) -> bool {
        self.same(Dim::NONE)
    }
}

/// The dimension of a product.
impl std::ops::Mul for Dim {
    type Output = Dim;
    fn mul(self, o: Dim) -> Dim {
        Dim(std::array::from_fn(|i| self.0[i] + o.0[i]))
    }
}

/// The dimension of a quotient.
impl std::ops::Div for Dim {
    type Output = Dim;
    fn div(self, o: Dim) -> Dim {
        Dim(std::array::from_fn(|i| self.0[i] - o.0[i]))
    }
}

impl fmt::Debug for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// The dimension in coherent SI units, e.g. `kg·m^-3`, or `1`.
impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = BASE
            .iter()
            .zip(self.0)
            .filter(|(_, e)| e.abs() > 1e-9)
            .map(|(s, e)| {
                if (e - 1.0).abs() < 1e-9 {
                    (*s).to_owned()
                } else if (e - e.round()).abs() < 1e-9 {
                    format!("{s}^{}", e.round() as i64)
                } else {
                    format!("{s}^{e}")
                }
            })
            .collect();
        if parts.is_empty() {
            write!(f, "1")
        } else {
            write!(f, "{}", parts.join("·"))
        }
    }
}

const L: Dim = Dim::base(0);
const M: Dim = Dim::base(1);
const T: Dim = Dim::base(2);
const I: Dim = Dim::base(3);
const TH: Dim = Dim::base(4);
const N: Dim = Dim::base(5);
const J: Dim = Dim::base(6);

/// A parsed unit: value_SI = (value + offset) × factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub dim: Dim,
    pub factor: f64,
    /// Non-zero only for a bare `°C`.
    pub offset: f64,
}

impl Unit {
    pub const ONE: Unit = Unit {
        dim: Dim::NONE,
        factor: 1.0,
        offset: 0.0,
    };

    /// A value in this unit, in the coherent SI unit.
    pub fn to_si(&self, v: f64) -> f64 {
        (v + self.offset) * self.factor
    }

    /// A value in the coherent SI unit, in this unit.
    pub fn from_si(&self, si: f64) -> f64 {
        si / self.factor - self.offset
    }

    /// A difference (an uncertainty) in this unit, in the coherent SI unit.
    pub fn diff_to_si(&self, v: f64) -> f64 {
        v * self.factor
    }

    pub fn diff_from_si(&self, si: f64) -> f64 {
        si / self.factor
    }
}

fn coefficient<U: Conversion<f64>>() -> f64 {
    U::coefficient().value()
}

/// Named units: symbol, other spellings, dimension, factor to SI.
fn named(symbol: &str) -> Option<Unit> {
    let u = |dim: Dim, factor: f64| {
        Some(Unit {
            dim,
            factor,
            offset: 0.0,
        })
    };
    // Electrical units in SI base dimensions.
    let volt = M * L.pow(2.0) / T.pow(3.0) / I;
    let ohm = volt / I;
    let newton = M * L / T.pow(2.0);
    let joule = newton * L;
    let watt = joule / T;
    let pascal = newton / L.pow(2.0);
    match symbol {
        "m" => u(L, coefficient::<length::meter>()),
        "km" => u(L, coefficient::<length::kilometer>()),
        "cm" => u(L, coefficient::<length::centimeter>()),
        "mm" => u(L, coefficient::<length::millimeter>()),
        "µm" | "um" => u(L, coefficient::<length::micrometer>()),
        "nm" => u(L, coefficient::<length::nanometer>()),
        "kg" => u(M, coefficient::<mass::kilogram>()),
        "g" => u(M, coefficient::<mass::gram>()),
        "mg" => u(M, coefficient::<mass::milligram>()),
        "µg" | "ug" => u(M, coefficient::<mass::microgram>()),
        "s" => u(T, coefficient::<time::second>()),
        "ms" => u(T, coefficient::<time::millisecond>()),
        "µs" | "us" => u(T, coefficient::<time::microsecond>()),
        "min" => u(T, coefficient::<time::minute>()),
        "h" => u(T, coefficient::<time::hour>()),
        "Hz" => u(T.pow(-1.0), coefficient::<frequency::hertz>()),
        "kHz" => u(T.pow(-1.0), coefficient::<frequency::kilohertz>()),
        "MHz" => u(T.pow(-1.0), coefficient::<frequency::megahertz>()),
        "GHz" => u(T.pow(-1.0), coefficient::<frequency::gigahertz>()),
        "A" => u(I, coefficient::<electric_current::ampere>()),
        "mA" => u(I, coefficient::<electric_current::milliampere>()),
        "µA" | "uA" => u(I, coefficient::<electric_current::microampere>()),
        "V" => u(volt, coefficient::<electric_potential::volt>()),
        "kV" => u(volt, coefficient::<electric_potential::kilovolt>()),
        "mV" => u(volt, coefficient::<electric_potential::millivolt>()),
        "µV" | "uV" => u(volt, coefficient::<electric_potential::microvolt>()),
        "Ω" | "ohm" => u(ohm, coefficient::<electrical_resistance::ohm>()),
        "mΩ" | "mohm" => u(ohm, coefficient::<electrical_resistance::milliohm>()),
        "kΩ" | "kohm" => u(ohm, coefficient::<electrical_resistance::kiloohm>()),
        "MΩ" | "Mohm" => u(ohm, coefficient::<electrical_resistance::megaohm>()),
        "K" => u(TH, coefficient::<thermodynamic_temperature::kelvin>()),
        "mK" => u(TH, coefficient::<thermodynamic_temperature::millikelvin>()),
        "°C" | "℃" | "degC" => Some(Unit {
            dim: TH,
            factor: coefficient::<thermodynamic_temperature::degree_celsius>(),
            // uom's constant for °C, in kelvin (273.15).
            offset: <thermodynamic_temperature::degree_celsius as Conversion<f64>>::constant(uom::ConstantOp::Add)
                .value(),
        }),
        "Pa" => u(pascal, coefficient::<pressure::pascal>()),
        "hPa" => u(pascal, coefficient::<pressure::hectopascal>()),
        "kPa" => u(pascal, coefficient::<pressure::kilopascal>()),
        "MPa" => u(pascal, coefficient::<pressure::megapascal>()),
        "bar" => u(pascal, coefficient::<pressure::bar>()),
        "mbar" => u(pascal, coefficient::<pressure::millibar>()),
        "N" => u(newton, coefficient::<force::newton>()),
        "kN" => u(newton, coefficient::<force::kilonewton>()),
        "J" => u(joule, coefficient::<energy::joule>()),
        "kJ" => u(joule, coefficient::<energy::kilojoule>()),
        "W" => u(watt, coefficient::<power::watt>()),
        "mW" => u(watt, coefficient::<power::milliwatt>()),
        "kW" => u(watt, coefficient::<power::kilowatt>()),
        "mol" => u(N, coefficient::<amount_of_substance::mole>()),
        "mmol" => u(N, coefficient::<amount_of_substance::millimole>()),
        "L" | "l" => u(L.pow(3.0), coefficient::<volume::liter>()),
        "mL" | "ml" => u(L.pow(3.0), coefficient::<volume::milliliter>()),
        "µL" | "uL" => u(L.pow(3.0), coefficient::<volume::microliter>()),
        "cd" => u(J, coefficient::<luminous_intensity::candela>()),
        // lux = cd·sr/m²; the steradian is dimensionless.
        "lx" => u(J / L.pow(2.0), coefficient::<illuminance::lux>()),
        "rad" => u(Dim::NONE, coefficient::<angle::radian>()),
        "mrad" => u(Dim::NONE, coefficient::<angle::radian>() * 1e-3),
        "°" | "deg" => u(Dim::NONE, coefficient::<angle::degree>()),
        "%" => u(Dim::NONE, coefficient::<ratio::percent>()),
        "ppm" => u(Dim::NONE, coefficient::<ratio::part_per_million>()),
        // A level in decibels is a number: dimensionless, kept as written.
        "dB" => u(Dim::NONE, 1.0),
        "1" => u(Dim::NONE, 1.0),
        _ => None,
    }
}

/// A unit expression that could not be read, with the character position.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.position + 1)
    }
}

/// Parses a unit expression. The empty string and `1` are dimensionless.
pub fn parse_unit(text: &str) -> Result<Unit, UnitError> {
    // µ may be written as MICRO SIGN (U+00B5) or GREEK SMALL LETTER MU (U+03BC).
    let normalised: Vec<char> = text.trim().chars().map(|c| if c == 'μ' { 'µ' } else { c }).collect();
    if normalised.is_empty() {
        return Ok(Unit::ONE);
    }
    let mut p = UnitParser {
        chars: &normalised,
        pos: 0,
        depth: 0,
    };
    let (unit, bare_celsius) = p.product()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error(format!("unexpected '{}'", p.chars[p.pos])));
    }
    // The offset applies only to °C standing alone; in `J/(kg·°C)` it is a difference.
    Ok(if bare_celsius {
        unit
    } else {
        Unit { offset: 0.0, ..unit }
    })
}

/// How deeply parentheses may nest in a unit (`J/(kg·K)` nests one level).
pub const MAX_UNIT_NESTING: usize = 8;

struct UnitParser<'a> {
    chars: &'a [char],
    pos: usize,
    depth: usize,
}

impl UnitParser<'_> {
    fn error(&self, message: String) -> UnitError {
        UnitError {
            position: self.pos,
            message,
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    /// factor (('·' | '*' | '.' | '/') factor)*; returns whether it was a lone °C.
    fn product(&mut self) -> Result<(Unit, bool), UnitError> {
        let (mut unit, mut alone) = self.power()?;
        while let Some(c) = self.peek() {
            let divide = match c {
                '·' | '*' | '⋅' => false,
                '/' => true,
                _ => break,
            };
            self.pos += 1;
            let (rhs, _) = self.power()?;
            alone = false;
            unit = Unit {
                dim: if divide { unit.dim / rhs.dim } else { unit.dim * rhs.dim },
                factor: if divide {
                    unit.factor / rhs.factor
                } else {
                    unit.factor * rhs.factor
                },
                offset: 0.0,
            };
        }
        Ok((unit, alone))
    }

    /// atom ('^' integer)?
    fn power(&mut self) -> Result<(Unit, bool), UnitError> {
        let (unit, alone) = self.atom()?;
        if self.peek() != Some('^') {
            return Ok((unit, alone));
        }
        self.pos += 1;
        self.skip_ws();
        let start = self.pos;
        if matches!(self.chars.get(self.pos), Some('-' | '+' | '−')) {
            self.pos += 1;
        }
        while self.chars.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect::<String>().replace('−', "-");
        let e: i32 = text.parse().map_err(|_| UnitError {
            position: start,
            message: "an exponent is a whole number, e.g. m^2 or m^-3".into(),
        })?;
        Ok((
            Unit {
                dim: unit.dim.pow(e as f64),
                factor: unit.factor.powi(e),
                offset: 0.0,
            },
            false,
        ))
    }

    fn atom(&mut self) -> Result<(Unit, bool), UnitError> {
        match self.peek() {
            None => Err(self.error("a unit symbol is missing".into())),
            Some('(') => {
                if self.depth >= MAX_UNIT_NESTING {
                    return Err(self.error(format!("parentheses nest more than {MAX_UNIT_NESTING} levels deep")));
                }
                self.pos += 1;
                self.depth += 1;
                let inner = self.product();
                self.depth -= 1;
                let (u, _) = inner?;
                if self.peek() != Some(')') {
                    return Err(self.error("')' expected".into()));
                }
                self.pos += 1;
                Ok((u, false))
            }
            Some(_) => {
                let start = self.pos;
                while let Some(&c) = self.chars.get(self.pos) {
                    if c.is_alphanumeric() || matches!(c, 'µ' | 'Ω' | '°' | '%' | '℃') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                if self.pos == start {
                    return Err(self.error(format!("unexpected '{}'", self.chars[start])));
                }
                let symbol: String = self.chars[start..self.pos].iter().collect();
                let unit = named(&symbol).ok_or_else(|| UnitError {
                    position: start,
                    message: format!("unknown unit '{symbol}'"),
                })?;
                Ok((unit, unit.offset != 0.0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn named_units_take_uoms_factors() {
        assert!(close(parse_unit("mm").unwrap().factor, 1e-3));
        assert!(close(parse_unit("µV").unwrap().factor, 1e-6));
        assert!(close(parse_unit("μV").unwrap().factor, 1e-6), "Greek mu");
        assert!(close(parse_unit("bar").unwrap().factor, 1e5));
        assert!(close(parse_unit("kΩ").unwrap().factor, 1e3));
        assert_eq!(parse_unit("ohm").unwrap(), parse_unit("Ω").unwrap());
        assert!(close(parse_unit("°").unwrap().factor, std::f64::consts::PI / 180.0));
        assert!(close(parse_unit("%").unwrap().factor, 0.01));
        assert!(close(parse_unit("ppm").unwrap().factor, 1e-6));
        assert!(close(parse_unit("mL").unwrap().factor, 1e-6));
        assert!(parse_unit("dB").unwrap().dim.is_none());
    }

    #[test]
    fn products_quotients_and_powers() {
        let density = parse_unit("kg·m^-3").unwrap();
        assert_eq!(density.dim.to_string(), "m^-3·kg");
        assert_eq!(parse_unit("kg/m^3").unwrap(), density);
        assert_eq!(parse_unit("kg*m^−3").unwrap(), density, "minus sign U+2212");
        let r = parse_unit("J/(mol·K)").unwrap();
        assert_eq!(r.dim.to_string(), "m^2·kg·s^-2·K^-1·mol^-1");
        let sigma = parse_unit("W/(m^2·K^4)").unwrap();
        assert_eq!(sigma.dim.to_string(), "kg·s^-3·K^-4");
        assert_eq!(parse_unit("1/K").unwrap().dim.to_string(), "K^-1");
        let conc = parse_unit("mol/L").unwrap();
        assert!(close(conc.factor, 1e3));
        assert_eq!(parse_unit("N·m").unwrap().dim, parse_unit("J").unwrap().dim);
        assert!(close(parse_unit("m/s^2").unwrap().factor, 1.0));
        assert!(close(parse_unit("mm^2").unwrap().factor, 1e-6));
        assert_eq!(parse_unit("").unwrap(), Unit::ONE);
        assert_eq!(parse_unit("1").unwrap(), Unit::ONE);
    }

    #[test]
    fn celsius_alone_is_a_temperature_and_in_a_compound_a_difference() {
        let c = parse_unit("°C").unwrap();
        assert!(close(c.to_si(20.0), 293.15));
        assert!(close(c.from_si(293.15), 20.0));
        assert!(close(c.diff_to_si(0.5), 0.5), "an uncertainty has no offset");
        let per = parse_unit("1/°C").unwrap();
        assert_eq!(per.offset, 0.0);
        assert_eq!(per.dim, parse_unit("1/K").unwrap().dim);
        assert!(close(parse_unit("℃").unwrap().to_si(0.0), 273.15));
    }

    #[test]
    fn errors_say_where() {
        let e = parse_unit("kg/furlong").unwrap_err();
        assert_eq!(e.position, 3);
        assert!(e.message.contains("furlong"));
        assert_eq!(parse_unit("m^x").unwrap_err().position, 2);
        assert!(parse_unit("(m").unwrap_err().message.contains("')'"));
        assert!(parse_unit("m/").is_err());
        assert!(parse_unit("m m").is_err());
    }
}
