//! Fuzz targets (proptest) for reading an upstream laboratory's DCC: arbitrary bytes, and
//! a real DCC damaged, are read or refused with a message, never a panic.

use proptest::prelude::*;

/// Text that looks like what a form or a file could hold, hostile parts included.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just("<script>alert(1)</script>".to_owned()),
        Just("1e309".to_owned()),
        Just("NaN".to_owned()),
        Just("<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\">]>".to_owned()),
        Just("9".repeat(5000)),
        Just("\0\0\0".to_owned()),
    ]
}

proptest! {
    /// A DCC from outside: any bytes are read or refused with a message, never a panic.
    #[test]
    fn dcc_bytes_are_read_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        if let Err(m) = super::dcc_read::read(&bytes) {
            prop_assert!(!m.is_empty());
        }
    }

    /// A real DCC with bytes changed, cut short or with hostile text spliced in: read or
    /// refused; when read, its numbers are finite.
    #[test]
    fn a_damaged_dcc_is_read_or_refused(
        at in 0usize..1_000_000,
        len in 0usize..64,
        splice in hostile(),
        cut in any::<bool>(),
    ) {
        let mut s = crate::domain::certificates::Snapshot::example();
        s.number = "FUZZ-2026-000001".into();
        let mut xml = super::dcc::render(&s).unwrap();
        let at = at % xml.len();
        if cut {
            xml.truncate(at);
        } else {
            let end = (at + len).min(xml.len());
            xml.splice(at..end, splice.into_bytes());
        }
        if let Ok(d) = super::dcc_read::read(&xml) {
            for r in &d.results {
                prop_assert!(r.value.is_finite());
                if let Some((u, k, p)) = r.expanded {
                    prop_assert!(u.is_finite() && k.is_finite() && p.is_finite());
                }
            }
        }
    }
}
