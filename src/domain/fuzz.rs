//! Fuzz targets (proptest): the parsers that read what people and other systems send,
//! fed arbitrary and hostile text. Each must answer with a value or an error naming
//! where, never a panic; where a parse succeeds, what it read must hold.
//!
//! The CSV import, which needs a database, is fuzzed in tests/it/fuzz.rs; DCC reading in
//! render/fuzz.rs.

use super::uncertainty::model::Model;
use super::uncertainty::units::parse_unit;
use super::units::{parse_quantity, parse_tolerance, QuantityKind};
use proptest::prelude::*;

/// Text that looks like what a form or a file could hold, hostile parts included.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9eE+\\-. ,µμ°%a-zA-Z²³/·*^()]{0,40}",
        Just("'; DROP TABLE standards; --".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("1e309 mm".to_owned()),
        Just("-0 K".to_owned()),
        Just("NaN mm".to_owned()),
        Just("inf °C".to_owned()),
        Just("9".repeat(5000)),
        Just("\u{202e}mm 5".to_owned()),
        Just("\0\0\0".to_owned()),
    ]
}

/// Model text: the model language's tokens in any order.
fn model_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("x"),
        Just("y"),
        Just("a"),
        Just("="),
        Just("+"),
        Just("-"),
        Just("*"),
        Just("/"),
        Just("^"),
        Just("("),
        Just(")"),
        Just(","),
        Just("\n"),
        Just("sqrt"),
        Just("sin"),
        Just("exp"),
        Just("ln"),
        Just("pi"),
        Just("1"),
        Just("2.5e-3"),
        Just("1e400"),
        Just(" "),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Quantities: any text is a value of the kind or a field error; a value read is
    /// finite, and the same text reads the same value.
    #[test]
    fn quantities_parse_or_name_the_field(text in hostile(), k in 0usize..QuantityKind::ALL.len()) {
        let kind = QuantityKind::ALL[k];
        match parse_quantity("f", &text, kind) {
            Ok(q) => {
                prop_assert!(q.si.is_finite(), "{text:?} read as {}", q.si);
                prop_assert_eq!(parse_quantity("f", &text, kind).unwrap().si.to_bits(), q.si.to_bits());
            }
            Err(e) => prop_assert_eq!(e.field, "f"),
        }
        let _ = parse_tolerance("f", &text, kind);
    }

    /// A value written in a unit of its kind reads back as itself (SI Brochure §5.4.3
    /// spacing), for every unit of every kind.
    #[test]
    fn a_written_quantity_reads_back(v in -1.0e6f64..1.0e6, k in 0usize..QuantityKind::ALL.len(), u in 0usize..8) {
        let kind = QuantityKind::ALL[k];
        let units = kind.units();
        let unit = &units[u % units.len()];
        let text = super::units::format_value(v, unit.symbol);
        let q = parse_quantity("f", &text, kind).unwrap();
        let back = unit.to_si(super::units::round_sig(v, 12));
        prop_assert!((q.si - back).abs() <= 1e-9 * back.abs().max(1e-300), "{text}: {} vs {back}", q.si);
    }

    /// The uncertainty engine's unit expressions: a unit or an error, never a panic.
    #[test]
    fn unit_expressions_parse_or_fail(text in hostile()) {
        let _ = parse_unit(&text);
    }

    /// The measurement model language: a model or an error whose position lies within
    /// the text.
    #[test]
    fn models_parse_or_point_at_the_error(text in prop_oneof![model_text(), hostile()]) {
        match Model::parse(&text, &["x", "a"]) {
            Ok(m) => prop_assert!(!m.inputs.iter().any(|i| i != "x" && i != "a")),
            Err(e) => prop_assert!(e.position <= text.chars().count(), "{e} in {text:?}"),
        }
    }
}
