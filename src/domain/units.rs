//! Quantities with units at the register's boundary.
//!
//! A quantity crosses the boundary as text ("12.5 mm", "-40 °C", "0.02 %"). It is parsed
//! once into a value of an expected [`QuantityKind`], converted to the coherent SI unit
//! with uom's unit definitions, and stored as SI value plus the unit the user chose.
//! "0.5 kg" where a length is expected is an error that says so.
//!
//! uom has no unit for a few quantities metrologists use every day (the decibel, pH,
//! the gray); those kinds carry their own unit and factors, marked below.

use super::Error;
use uom::si::f64 as q;
use uom::si::{
    acceleration, angle, available_energy, electric_current, electric_potential, electrical_resistance, energy, force,
    frequency, illuminance, length, luminous_intensity, mass, mass_density, molar_concentration, power, pressure,
    radioactivity, ratio, temperature_interval, thermodynamic_temperature, time, torque, velocity, volume,
};

/// One unit a kind of quantity may be written in.
pub struct UnitDef {
    /// The canonical symbol, as stored and shown.
    pub symbol: &'static str,
    /// Other spellings accepted on input.
    pub aliases: &'static [&'static str],
    to_si: fn(f64) -> f64,
    from_si: fn(f64) -> f64,
}

impl UnitDef {
    /// A value in this unit, in the coherent SI unit.
    pub fn to_si(&self, v: f64) -> f64 {
        (self.to_si)(v)
    }
}

/// Builds a [`UnitDef`] whose conversions are uom's: `$q::new::<$u>(v)` to SI, and
/// `.get::<$u>()` back from a value in the coherent SI unit `$base`.
macro_rules! u {
    ($sym:expr, [$($alias:expr),*], $q:ident, $base:path, $u:path) => {
        UnitDef {
            symbol: $sym,
            aliases: &[$($alias),*],
            to_si: |v| q::$q::new::<$u>(v).get::<$base>(),
            from_si: |si| q::$q::new::<$base>(si).get::<$u>(),
        }
    };
}

/// A unit of a kind uom does not cover, with an exact decimal factor to the SI unit.
macro_rules! scaled {
    ($sym:expr, [$($alias:expr),*], $factor:expr) => {
        UnitDef {
            symbol: $sym,
            aliases: &[$($alias),*],
            to_si: |v| v * $factor,
            from_si: |si| si / $factor,
        }
    };
}

static LENGTH: &[UnitDef] = &[
    u!("m", [], Length, length::meter, length::meter),
    u!("km", [], Length, length::meter, length::kilometer),
    u!("cm", [], Length, length::meter, length::centimeter),
    u!("mm", [], Length, length::meter, length::millimeter),
    u!("µm", ["um", "μm"], Length, length::meter, length::micrometer),
    u!("nm", [], Length, length::meter, length::nanometer),
];
static MASS: &[UnitDef] = &[
    u!("kg", [], Mass, mass::kilogram, mass::kilogram),
    u!("g", [], Mass, mass::kilogram, mass::gram),
    u!("mg", [], Mass, mass::kilogram, mass::milligram),
    u!("t", [], Mass, mass::kilogram, mass::ton),
];
static TIME: &[UnitDef] = &[
    u!("s", [], Time, time::second, time::second),
    u!("ms", [], Time, time::second, time::millisecond),
    u!("µs", ["us", "μs"], Time, time::second, time::microsecond),
    u!("min", [], Time, time::second, time::minute),
    u!("h", [], Time, time::second, time::hour),
    u!("d", [], Time, time::second, time::day),
];
static FREQUENCY: &[UnitDef] = &[
    u!("Hz", [], Frequency, frequency::hertz, frequency::hertz),
    u!("kHz", [], Frequency, frequency::hertz, frequency::kilohertz),
    u!("MHz", [], Frequency, frequency::hertz, frequency::megahertz),
    u!("GHz", [], Frequency, frequency::hertz, frequency::gigahertz),
];
static TEMPERATURE: &[UnitDef] = &[
    u!(
        "K",
        [],
        ThermodynamicTemperature,
        thermodynamic_temperature::kelvin,
        thermodynamic_temperature::kelvin
    ),
    u!(
        "°C",
        ["℃", "degC"],
        ThermodynamicTemperature,
        thermodynamic_temperature::kelvin,
        thermodynamic_temperature::degree_celsius
    ),
];
// A temperature difference: 1 °C of difference is 1 K, with no 273.15 offset.
static TEMPERATURE_INTERVAL: &[UnitDef] = &[
    u!(
        "K",
        [],
        TemperatureInterval,
        temperature_interval::kelvin,
        temperature_interval::kelvin
    ),
    u!(
        "mK",
        [],
        TemperatureInterval,
        temperature_interval::kelvin,
        temperature_interval::millikelvin
    ),
    u!(
        "°C",
        ["℃", "degC"],
        TemperatureInterval,
        temperature_interval::kelvin,
        temperature_interval::degree_celsius
    ),
];
static PRESSURE: &[UnitDef] = &[
    u!("Pa", [], Pressure, pressure::pascal, pressure::pascal),
    u!("hPa", [], Pressure, pressure::pascal, pressure::hectopascal),
    u!("kPa", [], Pressure, pressure::pascal, pressure::kilopascal),
    u!("MPa", [], Pressure, pressure::pascal, pressure::megapascal),
    u!("bar", [], Pressure, pressure::pascal, pressure::bar),
    u!("mbar", [], Pressure, pressure::pascal, pressure::millibar),
];
static FORCE: &[UnitDef] = &[
    u!("N", [], Force, force::newton, force::newton),
    u!("kN", [], Force, force::newton, force::kilonewton),
    u!("MN", [], Force, force::newton, force::meganewton),
];
static TORQUE: &[UnitDef] = &[
    u!(
        "N·m",
        ["N*m", "N.m", "N m", "Nm"],
        Torque,
        torque::newton_meter,
        torque::newton_meter
    ),
    u!(
        "kN·m",
        ["kN*m", "kN.m", "kN m", "kNm"],
        Torque,
        torque::newton_meter,
        torque::kilonewton_meter
    ),
];
static CURRENT: &[UnitDef] = &[
    u!(
        "A",
        [],
        ElectricCurrent,
        electric_current::ampere,
        electric_current::ampere
    ),
    u!(
        "mA",
        [],
        ElectricCurrent,
        electric_current::ampere,
        electric_current::milliampere
    ),
    u!(
        "µA",
        ["uA", "μA"],
        ElectricCurrent,
        electric_current::ampere,
        electric_current::microampere
    ),
];
static VOLTAGE: &[UnitDef] = &[
    u!(
        "V",
        [],
        ElectricPotential,
        electric_potential::volt,
        electric_potential::volt
    ),
    u!(
        "kV",
        [],
        ElectricPotential,
        electric_potential::volt,
        electric_potential::kilovolt
    ),
    u!(
        "mV",
        [],
        ElectricPotential,
        electric_potential::volt,
        electric_potential::millivolt
    ),
    u!(
        "µV",
        ["uV", "μV"],
        ElectricPotential,
        electric_potential::volt,
        electric_potential::microvolt
    ),
];
static RESISTANCE: &[UnitDef] = &[
    u!(
        "Ω",
        ["ohm", "Ω"],
        ElectricalResistance,
        electrical_resistance::ohm,
        electrical_resistance::ohm
    ),
    u!(
        "mΩ",
        ["mohm", "mΩ"],
        ElectricalResistance,
        electrical_resistance::ohm,
        electrical_resistance::milliohm
    ),
    u!(
        "kΩ",
        ["kohm", "kΩ"],
        ElectricalResistance,
        electrical_resistance::ohm,
        electrical_resistance::kiloohm
    ),
    u!(
        "MΩ",
        ["Mohm", "MΩ"],
        ElectricalResistance,
        electrical_resistance::ohm,
        electrical_resistance::megaohm
    ),
];
static POWER: &[UnitDef] = &[
    u!("W", [], Power, power::watt, power::watt),
    u!("mW", [], Power, power::watt, power::milliwatt),
    u!("kW", [], Power, power::watt, power::kilowatt),
];
static ENERGY: &[UnitDef] = &[
    u!("J", [], Energy, energy::joule, energy::joule),
    u!("kJ", [], Energy, energy::joule, energy::kilojoule),
];
static VOLUME: &[UnitDef] = &[
    u!("m^3", ["m³", "m3"], Volume, volume::cubic_meter, volume::cubic_meter),
    u!("L", ["l"], Volume, volume::cubic_meter, volume::liter),
    u!("mL", ["ml"], Volume, volume::cubic_meter, volume::milliliter),
    u!(
        "µL",
        ["uL", "μL", "ul"],
        Volume,
        volume::cubic_meter,
        volume::microliter
    ),
];
static CONCENTRATION: &[UnitDef] = &[
    u!(
        "mol/L",
        ["mol/l"],
        MolarConcentration,
        molar_concentration::mole_per_cubic_meter,
        molar_concentration::mole_per_liter
    ),
    u!(
        "mmol/L",
        ["mmol/l"],
        MolarConcentration,
        molar_concentration::mole_per_cubic_meter,
        molar_concentration::millimole_per_liter
    ),
    u!(
        "mol/m^3",
        ["mol/m³"],
        MolarConcentration,
        molar_concentration::mole_per_cubic_meter,
        molar_concentration::mole_per_cubic_meter
    ),
];
static DENSITY: &[UnitDef] = &[
    u!(
        "kg/m^3",
        ["kg/m³", "kg/m3"],
        MassDensity,
        mass_density::kilogram_per_cubic_meter,
        mass_density::kilogram_per_cubic_meter
    ),
    u!(
        "g/cm^3",
        ["g/cm³", "g/cm3"],
        MassDensity,
        mass_density::kilogram_per_cubic_meter,
        mass_density::gram_per_cubic_centimeter
    ),
];
static VELOCITY: &[UnitDef] = &[
    u!(
        "m/s",
        [],
        Velocity,
        velocity::meter_per_second,
        velocity::meter_per_second
    ),
    u!(
        "km/h",
        [],
        Velocity,
        velocity::meter_per_second,
        velocity::kilometer_per_hour
    ),
];
static ACCELERATION: &[UnitDef] = &[u!(
    "m/s^2",
    ["m/s²", "m/s2"],
    Acceleration,
    acceleration::meter_per_second_squared,
    acceleration::meter_per_second_squared
)];
static LUMINOUS_INTENSITY: &[UnitDef] = &[u!(
    "cd",
    [],
    LuminousIntensity,
    luminous_intensity::candela,
    luminous_intensity::candela
)];
static ILLUMINANCE: &[UnitDef] = &[u!("lx", ["lux"], Illuminance, illuminance::lux, illuminance::lux)];
static ANGLE: &[UnitDef] = &[
    u!("rad", [], Angle, angle::radian, angle::radian),
    u!("°", ["deg"], Angle, angle::radian, angle::degree),
    u!("′", ["'", "arcmin"], Angle, angle::radian, angle::minute),
    u!("″", ["\"", "arcsec"], Angle, angle::radian, angle::second),
];
static RATIO: &[UnitDef] = &[
    u!("1", [""], Ratio, ratio::ratio, ratio::ratio),
    u!("%", [], Ratio, ratio::ratio, ratio::percent),
    u!("ppm", [], Ratio, ratio::ratio, ratio::part_per_million),
];
static RADIOACTIVITY: &[UnitDef] = &[
    u!(
        "Bq",
        [],
        Radioactivity,
        radioactivity::becquerel,
        radioactivity::becquerel
    ),
    u!(
        "kBq",
        [],
        Radioactivity,
        radioactivity::becquerel,
        radioactivity::kilobecquerel
    ),
    u!(
        "MBq",
        [],
        Radioactivity,
        radioactivity::becquerel,
        radioactivity::megabecquerel
    ),
];
// Absorbed dose and dose equivalent: 1 Gy = 1 Sv = 1 J/kg (SI Brochure, 9th ed., Table 4).
// uom has the J/kg unit but not the names gray and sievert, so the base is uom's and the
// prefixes are exact decimals.
static DOSE: &[UnitDef] = &[
    u!(
        "Gy",
        [],
        AvailableEnergy,
        available_energy::joule_per_kilogram,
        available_energy::joule_per_kilogram
    ),
    scaled!("mGy", [], 1e-3),
    scaled!("µGy", ["uGy", "μGy"], 1e-6),
    scaled!("Sv", [], 1.0),
    scaled!("mSv", [], 1e-3),
    scaled!("µSv", ["uSv", "μSv"], 1e-6),
];
// Logarithmic levels are not quantities uom models; the level is stored as entered.
static SOUND_LEVEL: &[UnitDef] = &[scaled!("dB", [], 1.0)];
static PH: &[UnitDef] = &[scaled!("pH", [], 1.0)];

macro_rules! kinds {
    ($( $variant:ident => $name:literal, $zh:literal, $en:literal, $units:ident; )*) => {
        /// The kinds of quantity a standard can measure, each with the units it may be written in.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum QuantityKind { $( $variant, )* }

        impl QuantityKind {
            pub const ALL: &'static [QuantityKind] = &[$( QuantityKind::$variant, )*];

            /// The stable name used in the database, the API and CSV files.
            pub fn as_str(self) -> &'static str {
                match self { $( QuantityKind::$variant => $name, )* }
            }

            pub fn name_zh(self) -> &'static str {
                match self { $( QuantityKind::$variant => $zh, )* }
            }

            pub fn name_en(self) -> &'static str {
                match self { $( QuantityKind::$variant => $en, )* }
            }

            pub fn units(self) -> &'static [UnitDef] {
                match self { $( QuantityKind::$variant => $units, )* }
            }

            pub fn parse(s: &str) -> Option<QuantityKind> {
                match s { $( $name => Some(QuantityKind::$variant), )* _ => None }
            }
        }
    };
}

kinds! {
    Length => "length", "长度", "length", LENGTH;
    Mass => "mass", "质量", "mass", MASS;
    Time => "time", "时间", "time", TIME;
    Frequency => "frequency", "频率", "frequency", FREQUENCY;
    Temperature => "temperature", "温度", "temperature", TEMPERATURE;
    TemperatureInterval => "temperature_interval", "温差", "temperature difference", TEMPERATURE_INTERVAL;
    Pressure => "pressure", "压力", "pressure", PRESSURE;
    Force => "force", "力", "force", FORCE;
    Torque => "torque", "扭矩", "torque", TORQUE;
    Current => "current", "电流", "electric current", CURRENT;
    Voltage => "voltage", "电压", "voltage", VOLTAGE;
    Resistance => "resistance", "电阻", "resistance", RESISTANCE;
    Power => "power", "功率", "power", POWER;
    Energy => "energy", "能量", "energy", ENERGY;
    Volume => "volume", "容量", "volume", VOLUME;
    Concentration => "concentration", "浓度", "amount concentration", CONCENTRATION;
    Density => "density", "密度", "density", DENSITY;
    Velocity => "velocity", "速度", "velocity", VELOCITY;
    Acceleration => "acceleration", "加速度", "acceleration", ACCELERATION;
    LuminousIntensity => "luminous_intensity", "发光强度", "luminous intensity", LUMINOUS_INTENSITY;
    Illuminance => "illuminance", "照度", "illuminance", ILLUMINANCE;
    Angle => "angle", "角度", "angle", ANGLE;
    Ratio => "ratio", "比值", "ratio", RATIO;
    Radioactivity => "radioactivity", "活度", "activity", RADIOACTIVITY;
    Dose => "dose", "剂量", "dose", DOSE;
    SoundLevel => "sound_level", "声压级", "sound pressure level", SOUND_LEVEL;
    Ph => "ph", "pH值", "pH", PH;
}

impl QuantityKind {
    /// The kind of a difference of two values of this kind. Only temperature differs:
    /// an uncertainty of "0.03 °C" is a difference of 0.03 K, not 273.18 K.
    pub fn difference_kind(self) -> QuantityKind {
        match self {
            QuantityKind::Temperature => QuantityKind::TemperatureInterval,
            k => k,
        }
    }

    /// The canonical symbol of the coherent SI unit (the unit of stored values).
    pub fn si_symbol(self) -> &'static str {
        self.units()
            .iter()
            .find(|u| (u.to_si)(1.0) == 1.0 && (u.to_si)(0.0) == 0.0)
            .map(|u| u.symbol)
            .unwrap_or("1")
    }

    /// Looks up a unit by its symbol or an accepted alias.
    pub fn unit(self, symbol: &str) -> Option<&'static UnitDef> {
        let s = normalise_unit(symbol);
        self.units()
            .iter()
            .find(|u| u.symbol == s || u.aliases.contains(&s.as_str()))
    }
}

/// A parsed quantity: the value in the coherent SI unit, and the unit it was written in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    pub kind: QuantityKind,
    pub si: f64,
    pub unit: &'static str,
}

impl Quantity {
    /// The value in the unit it was entered in.
    pub fn value_in_unit(&self) -> f64 {
        from_si(self.kind, self.unit, self.si).unwrap_or(self.si)
    }

    /// "12.5 mm": the value in its own unit, to 12 significant digits.
    pub fn display(&self) -> String {
        format_value(self.value_in_unit(), self.unit)
    }
}

/// The catalogue's own symbol for a unit written `symbol` (or an alias), of any kind.
pub fn canonical_symbol(symbol: &str) -> Option<&'static str> {
    QuantityKind::ALL.iter().find_map(|k| k.unit(symbol)).map(|u| u.symbol)
}

/// A unit in the D-SI syntax of the PTB Digital Calibration Certificate (D-SI 2.2.1:
/// `\milli\metre`, `\degreecelsius`, `\percent`). None for a unit D-SI has no name for.
/// The catalogue's unit of `kind` written `dsi` in D-SI syntax (\milli\metre → mm), for
/// reading a DCC. Only units of that kind: \one is not a length.
pub fn unit_from_dsi(kind: QuantityKind, dsi: &str) -> Option<&'static str> {
    let dsi = dsi.trim();
    kind.units()
        .iter()
        .find(|u| dsi_unit(u.symbol).as_deref() == Some(dsi))
        .map(|u| u.symbol)
}

pub fn dsi_unit(symbol: &str) -> Option<String> {
    let symbol = canonical_symbol(symbol)?;
    // Whole units first (no prefix split), then prefix + unit.
    let whole = match symbol {
        "°C" => Some("\\degreecelsius"),
        "%" => Some("\\percent"),
        "ppm" => Some("\\ppm"),
        "1" => Some("\\one"),
        "kg" => Some("\\kilogram"),
        "t" => Some("\\tonne"),
        "min" => Some("\\minute"),
        "h" => Some("\\hour"),
        "d" => Some("\\day"),
        "bar" => Some("\\bar"),
        "mbar" => Some("\\milli\\bar"),
        "L" => Some("\\litre"),
        "mL" => Some("\\milli\\litre"),
        _ => None,
    };
    if let Some(w) = whole {
        return Some(w.to_owned());
    }
    let base = |b: &str| -> Option<&'static str> {
        Some(match b {
            "m" => "\\metre",
            "g" => "\\gram",
            "s" => "\\second",
            "Hz" => "\\hertz",
            "K" => "\\kelvin",
            "Pa" => "\\pascal",
            "N" => "\\newton",
            "A" => "\\ampere",
            "V" => "\\volt",
            "Ω" => "\\ohm",
            "W" => "\\watt",
            "J" => "\\joule",
            "lx" => "\\lux",
            "cd" => "\\candela",
            "mol" => "\\mole",
            _ => return None,
        })
    };
    if let Some(b) = base(symbol) {
        return Some(b.to_owned());
    }
    let mut chars = symbol.chars();
    let first = chars.next()?;
    let prefix = match first {
        'k' => "\\kilo",
        'M' => "\\mega",
        'G' => "\\giga",
        'h' => "\\hecto",
        'c' => "\\centi",
        'm' => "\\milli",
        'µ' | 'μ' => "\\micro",
        'n' => "\\nano",
        'p' => "\\pico",
        _ => return None,
    };
    base(chars.as_str()).map(|b| format!("{prefix}{b}"))
}

/// Converts a stored SI value back into `unit` of `kind`.
pub fn from_si(kind: QuantityKind, unit: &str, si: f64) -> Option<f64> {
    kind.unit(unit).map(|u| (u.from_si)(si))
}

/// A stored SI value shown in the unit it was entered in ("0.5 mm"), for a quantity
/// stored with its kind's name; an unknown kind or unit shows the SI value as is.
pub fn display_stored(kind: &str, si: f64, unit: &str) -> String {
    match QuantityKind::parse(kind).and_then(|k| from_si(k, unit, si)) {
        Some(v) => format_value(v, unit),
        None => format_value(si, unit),
    }
}

/// Formats a value and unit for people: at most 12 significant digits, so that binary
/// floating point noise (0.30000000000000004) never reaches a page or a certificate.
pub fn format_value(value: f64, unit: &str) -> String {
    let v = round_sig(value, 12);
    // Very small and very large magnitudes in exponent form, as a metrologist writes a
    // relative uncertainty of 1e-9; everything else in plain decimals.
    let mut s = if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e9) {
        format!("{v:e}")
    } else {
        format!("{v}")
    };
    if s == "-0" {
        s = "0".into();
    }
    with_unit(&s, unit)
}

/// A number already stated (`domain::numbers`) with its unit: SI Brochure (9th ed.)
/// §5.4.3, a space between number and unit, also before %, but none before the
/// plane-angle symbols °, ′ and ″.
pub fn with_unit(number: &str, unit: &str) -> String {
    match unit {
        "" | "1" => number.to_owned(),
        "°" | "′" | "″" => format!("{number}{unit}"),
        _ => format!("{number} {unit}"),
    }
}

/// The power of ten a unit of `kind` is of the coherent SI unit, for differences (mm:
/// −3, µm: −6, °C: 0); None when its factor is not one.
pub fn unit_decade(kind: QuantityKind, unit: &str) -> Option<i32> {
    let u = kind.unit(unit)?;
    let factor = u.to_si(1.0) - u.to_si(0.0);
    let e = factor.log10().round();
    ((factor / 10f64.powf(e) - 1.0).abs() < 1e-12).then_some(e as i32)
}

/// `x` rounded to `digits` significant digits.
pub fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let mag = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits - 1 - mag);
    if !scale.is_finite() || scale == 0.0 {
        return x;
    }
    let r = (x * scale).round() / scale;
    // Re-parse the shortest representation to drop residual noise in the last bit.
    format!("{:.*e}", (digits - 1) as usize, r).parse().unwrap_or(r)
}

fn normalise_unit(s: &str) -> String {
    let s = s.trim();
    // U+2126 OHM SIGN and U+03A9 GREEK CAPITAL OMEGA look alike; store the latter.
    // U+00B5 MICRO SIGN is canonical; U+03BC GREEK SMALL MU is accepted as an alias.
    s.replace('\u{2126}', "Ω").replace('℃', "°C")
}

/// Splits "12.5 mm" into its number and its unit text, without interpreting the unit.
fn split_number(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    let bytes = t.as_bytes();
    let mut end = 0;
    let mut seen_digit = false;
    let mut seen_exp = false;
    while end < bytes.len() {
        let b = bytes[end];
        let ok = match b {
            b'0'..=b'9' => {
                seen_digit = true;
                true
            }
            b'+' | b'-' => end == 0 || matches!(bytes[end - 1], b'e' | b'E'),
            b'.' => !seen_exp,
            b'e' | b'E' if seen_digit && !seen_exp => {
                // An exponent only if a digit (or sign then digit) follows.
                let next = bytes.get(end + 1).copied();
                let next2 = bytes.get(end + 2).copied();
                let is_exp = matches!(next, Some(b'0'..=b'9'))
                    || (matches!(next, Some(b'+' | b'-')) && matches!(next2, Some(b'0'..=b'9')));
                if is_exp {
                    seen_exp = true;
                }
                is_exp
            }
            _ => false,
        };
        if !ok {
            break;
        }
        end += 1;
    }
    let v: f64 = t[..end].parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    Some((v, t[end..].trim()))
}

/// The kinds whose units include `symbol`, for error messages that say what was typed.
fn kinds_of_unit(symbol: &str) -> Vec<QuantityKind> {
    QuantityKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != QuantityKind::TemperatureInterval && k.unit(symbol).is_some())
        .collect()
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Parses "12.5 mm" as a quantity of `kind`.
///
/// Errors name `field` and say what is wrong: no number, an unknown unit, or a unit of
/// another kind ("0.5 kg is a mass, a length is expected here").
pub fn parse_quantity(field: &str, text: &str, kind: QuantityKind) -> Result<Quantity, Error> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::new(
            field,
            "quantity.missing",
            "a value with its unit is required, e.g. 12.5 mm",
        ));
    }
    if t.len() > 64 {
        return Err(Error::new(
            field,
            "quantity.too_long",
            "a quantity is at most 64 characters",
        ));
    }
    // pH is written before its value ("pH 7.00"); accept it there too.
    let reordered;
    let t = match (kind, t.strip_prefix("pH")) {
        (QuantityKind::Ph, Some(rest)) if !rest.trim().is_empty() => {
            reordered = format!("{} pH", rest.trim());
            reordered.as_str()
        }
        _ => t,
    };
    let Some((value, unit_text)) = split_number(t) else {
        return Err(Error::new(
            field,
            "quantity.number",
            format!(
                "'{t}' does not start with a number; write the value then the unit, e.g. 12.5 {}",
                kind.units()[0].symbol
            ),
        ));
    };
    if let Some(unit) = kind.unit(unit_text) {
        return Ok(Quantity {
            kind,
            si: (unit.to_si)(value),
            unit: unit.symbol,
        });
    }
    let allowed: Vec<&str> = kind.units().iter().map(|u| u.symbol).collect();
    if unit_text.is_empty() {
        return Err(Error::new(
            field,
            "quantity.unit_missing",
            format!(
                "'{t}' has no unit; a {} needs one of: {}",
                kind.name_en(),
                allowed.join(", ")
            ),
        ));
    }
    match kinds_of_unit(unit_text).first() {
        Some(other) => Err(Error::new(
            field,
            "quantity.wrong_kind",
            format!(
                "'{t}' is {} {}, but {} {} is expected here (units: {})",
                article(other.name_en()),
                other.name_en(),
                article(kind.name_en()),
                kind.name_en(),
                allowed.join(", ")
            ),
        )),
        None => Err(Error::new(
            field,
            "quantity.unit_unknown",
            format!(
                "'{unit_text}' is not a unit of {}; use one of: {}",
                kind.name_en(),
                allowed.join(", ")
            ),
        )),
    }
}

/// Parses an uncertainty, accuracy or MPE figure for a standard of `kind`: either an
/// absolute difference of that kind ("0.2 µm", "0.03 °C") or a relative one ("0.05 %",
/// "2 ppm", "1e-6").
pub fn parse_tolerance(field: &str, text: &str, kind: QuantityKind) -> Result<Quantity, Error> {
    let diff = kind.difference_kind();
    match parse_quantity(field, text, diff) {
        Ok(q) => Ok(q),
        Err(abs_err) => match parse_quantity(field, text, QuantityKind::Ratio) {
            Ok(q) if diff != QuantityKind::Ratio => Ok(q),
            _ => Err(Error::new(
                field,
                abs_err.code,
                format!(
                    "{} (or a relative value in %, ppm or as a plain number)",
                    abs_err.message
                ),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn units_in_dsi_syntax() {
        // D-SI 2.2.1 (PTB): prefixes and units as LaTeX-like macros.
        assert_eq!(dsi_unit("mm").as_deref(), Some("\\milli\\metre"));
        assert_eq!(dsi_unit("m").as_deref(), Some("\\metre"));
        assert_eq!(dsi_unit("µm").as_deref(), Some("\\micro\\metre"));
        assert_eq!(dsi_unit("um").as_deref(), Some("\\micro\\metre"));
        assert_eq!(dsi_unit("kg").as_deref(), Some("\\kilogram"));
        assert_eq!(dsi_unit("mg").as_deref(), Some("\\milli\\gram"));
        assert_eq!(dsi_unit("K").as_deref(), Some("\\kelvin"));
        assert_eq!(dsi_unit("℃").as_deref(), Some("\\degreecelsius"));
        assert_eq!(dsi_unit("Ω").as_deref(), Some("\\ohm"));
        assert_eq!(dsi_unit("kPa").as_deref(), Some("\\kilo\\pascal"));
        assert_eq!(dsi_unit("MPa").as_deref(), Some("\\mega\\pascal"));
        assert_eq!(dsi_unit("%").as_deref(), Some("\\percent"));
        assert_eq!(dsi_unit("furlong"), None);
    }

    #[test]
    fn parses_lengths_into_metres() {
        let q = parse_quantity("range", "12.5 mm", QuantityKind::Length).unwrap();
        assert!(close(q.si, 0.0125));
        assert_eq!(q.unit, "mm");
        assert_eq!(q.display(), "12.5 mm");
        let q = parse_quantity("range", "0.5um", QuantityKind::Length).unwrap();
        assert!(close(q.si, 5e-7));
        assert_eq!(q.unit, "µm");
    }

    #[test]
    fn celsius_is_a_temperature_with_offset_and_a_difference_without() {
        // ITS-90 / SI Brochure §2.3.1: t/°C = T/K − 273.15.
        let t = parse_quantity("t", "-40 °C", QuantityKind::Temperature).unwrap();
        assert!(close(t.si, 233.15));
        assert_eq!(t.display(), "-40 °C");
        let t = parse_quantity("t", "25℃", QuantityKind::Temperature).unwrap();
        assert!(close(t.si, 298.15));
        let u = parse_tolerance("u", "0.03 °C", QuantityKind::Temperature).unwrap();
        assert_eq!(u.kind, QuantityKind::TemperatureInterval);
        assert!(close(u.si, 0.03));
    }

    #[test]
    fn wrong_kind_is_named() {
        let e = parse_quantity("range_max", "0.5 kg", QuantityKind::Length).unwrap_err();
        assert_eq!(e.field, "range_max");
        assert_eq!(e.code, "quantity.wrong_kind");
        assert!(
            e.message.contains("mass") && e.message.contains("length"),
            "{}",
            e.message
        );
    }

    #[test]
    fn malformed_input_is_rejected() {
        for (text, code) in [
            ("", "quantity.missing"),
            ("mm", "quantity.number"),
            ("12.5", "quantity.unit_missing"),
            ("12.5 furlong", "quantity.unit_unknown"),
            ("1e999 m", "quantity.number"),
            ("NaN m", "quantity.number"),
            ("1,5 mm", "quantity.unit_unknown"),
        ] {
            let e = parse_quantity("f", text, QuantityKind::Length).unwrap_err();
            assert_eq!(e.code, code, "{text:?}: {}", e.message);
        }
    }

    #[test]
    fn exponent_and_signs() {
        assert!(close(
            parse_quantity("f", "1.5e-3 m", QuantityKind::Length).unwrap().si,
            1.5e-3
        ));
        assert!(close(
            parse_quantity("f", "+2 kPa", QuantityKind::Pressure).unwrap().si,
            2000.0
        ));
        // "2 E" is not an exponent: the unit is missing a value, not the number.
        assert!(parse_quantity("f", "2 eV", QuantityKind::Energy).is_err());
    }

    #[test]
    fn conversion_factors_match_the_si_brochure() {
        // SI Brochure (9th ed.) Table 8: 1 bar = 100 kPa; 1 L = 1 dm³.
        let bar = parse_quantity("p", "1 bar", QuantityKind::Pressure).unwrap();
        assert!(close(bar.si, 1.0e5));
        let l = parse_quantity("v", "250 mL", QuantityKind::Volume).unwrap();
        assert!(close(l.si, 2.5e-4));
        let ohm = parse_quantity("r", "10 kohm", QuantityKind::Resistance).unwrap();
        assert_eq!(ohm.unit, "kΩ");
        assert!(close(ohm.si, 1.0e4));
        let nm = parse_quantity("m", "20 N*m", QuantityKind::Torque).unwrap();
        assert_eq!(nm.unit, "N·m");
        // 1° = π/180 rad.
        let deg = parse_quantity("a", "180 °", QuantityKind::Angle).unwrap();
        assert!(close(deg.si, std::f64::consts::PI));
        assert_eq!(deg.display(), "180°");
    }

    #[test]
    fn ph_is_written_before_or_after_its_value() {
        let a = parse_quantity("f", "pH 7.00", QuantityKind::Ph).unwrap();
        let b = parse_quantity("f", "7 pH", QuantityKind::Ph).unwrap();
        assert_eq!(a.si, 7.0);
        assert_eq!(a, b);
        assert_eq!(parse_quantity("f", &a.display(), QuantityKind::Ph).unwrap(), a);
    }

    #[test]
    fn relative_tolerances() {
        let r = parse_tolerance("u", "0.05 %", QuantityKind::Pressure).unwrap();
        assert_eq!(r.kind, QuantityKind::Ratio);
        assert!(close(r.si, 5e-4));
        let r = parse_tolerance("u", "2 ppm", QuantityKind::Frequency).unwrap();
        assert!(close(r.si, 2e-6));
        let r = parse_tolerance("u", "1e-11", QuantityKind::Frequency).unwrap();
        assert!(close(r.si, 1e-11));
        let e = parse_tolerance("u", "3 kg", QuantityKind::Length).unwrap_err();
        assert_eq!(e.code, "quantity.wrong_kind");
    }

    #[test]
    fn display_round_trips_without_float_noise() {
        for (text, kind) in [
            ("0.1 mm", QuantityKind::Length),
            ("0.3 µm", QuantityKind::Length),
            ("1013.25 mbar", QuantityKind::Pressure),
            ("36.6 °C", QuantityKind::Temperature),
            ("0.07 %", QuantityKind::Ratio),
            ("1e-9 ", QuantityKind::Ratio),
            ("2.5e-7 m", QuantityKind::Length),
        ] {
            let q = parse_quantity("f", text, kind).unwrap();
            assert_eq!(q.display(), text.trim(), "{text}");
        }
    }

    #[test]
    fn every_unit_round_trips_and_si_unit_is_listed() {
        for kind in QuantityKind::ALL {
            assert!(kind.unit(kind.si_symbol()).is_some(), "{kind:?}");
            for u in kind.units() {
                let v = 123.456;
                let back = (u.from_si)((u.to_si)(v));
                assert!((back - v).abs() < 1e-9, "{kind:?} {}", u.symbol);
            }
        }
    }
}
