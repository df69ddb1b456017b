//! Fuzzing the CSV import at scale (issue: bad input at scale): the demo data set's files
//! with a cell replaced by hostile text, bytes flipped, a file cut short or a hostile line
//! added. Every import either succeeds or is refused with an error naming its place, never
//! a panic; a refused import leaves the database exactly as it was (counts, certificates,
//! audit head).

use crate::support::TestApp;
use metrocal::service::backup::fingerprint;
use metrocal::service::transfer::{import, Bundle, ImportError, Quiet};
use metrocal::service::Actor;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

const FILES: [(&str, &[u8]); 5] = [
    (
        "organisations.csv",
        include_bytes!("../../calibration-data/demo/organisations.csv"),
    ),
    (
        "standards.csv",
        include_bytes!("../../calibration-data/demo/standards.csv"),
    ),
    ("devices.csv", include_bytes!("../../calibration-data/demo/devices.csv")),
    (
        "instruments.csv",
        include_bytes!("../../calibration-data/demo/instruments.csv"),
    ),
    (
        "calibrations.csv",
        include_bytes!("../../calibration-data/demo/calibrations.csv"),
    ),
];

const HOSTILE: [&str; 10] = [
    "'; DROP TABLE standards; --",
    "<script>alert(1)</script>",
    "=HYPERLINK(\"http://evil.example\")",
    "1e309 mm",
    "-1 K",
    "\u{202e}mm 5",
    "\"unterminated",
    "\0",
    "２０２６-１１-２８",
    "9999999999999999999999999",
];

#[derive(Debug, Clone)]
enum Mutation {
    Cell { row: usize, col: usize, text: usize },
    Flip { at: usize, byte: u8 },
    Cut { at: usize },
    Line { at: usize, text: usize },
}

fn mutate(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    match *m {
        Mutation::Cell { row, col, text: h } => {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let r = 1 + row % (lines.len() - 1).max(1);
            let mut cells: Vec<String> = lines[r].split(',').map(str::to_owned).collect();
            let c = col % cells.len();
            cells[c] = format!("\"{}\"", HOSTILE[h % HOSTILE.len()].replace('"', "\"\""));
            lines[r] = cells.join(",");
            (lines.join("\n") + "\n").into_bytes()
        }
        Mutation::Flip { at, byte } => {
            let mut b = bytes.to_vec();
            let i = at % b.len();
            b[i] ^= byte.max(1);
            b
        }
        Mutation::Cut { at } => bytes[..at % bytes.len()].to_vec(),
        Mutation::Line { at, text: h } => {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let i = 1 + at % lines.len();
            lines.insert(i.min(lines.len()), HOSTILE[h % HOSTILE.len()].to_owned());
            (lines.join("\n") + "\n").into_bytes()
        }
    }
}

fn mutations() -> impl Strategy<Value = (usize, Mutation)> {
    use proptest::prelude::*;
    let m = prop_oneof![
        (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(|(row, col, text)| Mutation::Cell { row, col, text }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Cut { at }),
        (any::<usize>(), any::<usize>()).prop_map(|(at, text)| Mutation::Line { at, text }),
    ];
    (0usize..FILES.len(), m)
}

#[rocket::async_test]
async fn a_damaged_or_hostile_import_is_all_or_nothing() {
    let app = TestApp::demo().await;
    let operator = Actor::system("fuzz");
    let mut runner = TestRunner::deterministic();
    let strategy = mutations();
    let mut before = fingerprint(&app.db).await.unwrap();
    let (mut refused, mut accepted) = (0, 0);
    for _ in 0..32 {
        let (file, m) = strategy.new_tree(&mut runner).unwrap().current();
        let files: Vec<(&str, Vec<u8>)> = FILES
            .iter()
            .enumerate()
            .map(|(i, (name, bytes))| (*name, if i == file { mutate(bytes, &m) } else { bytes.to_vec() }))
            .collect();
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let bundle = Bundle::from_static(&refs);
        match import(&operator, &app.db, &bundle, chrono::Utc::now(), &Quiet).await {
            Ok(_) => {
                // A harmless change (a name, a free-text cell): imported whole.
                accepted += 1;
                before = fingerprint(&app.db).await.unwrap();
            }
            Err(e) => {
                refused += 1;
                if let ImportError::Row(r) = &e {
                    assert!(!r.file.is_empty() && !r.column.is_empty(), "{m:?}: {e}");
                }
                assert_eq!(
                    fingerprint(&app.db).await.unwrap(),
                    before,
                    "{m:?} in {}: {e}",
                    FILES[file].0
                );
            }
        }
    }
    assert!(refused > 0, "the mutations must reach the checks ({accepted} accepted)");
}
