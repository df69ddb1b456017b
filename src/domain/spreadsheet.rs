//! CSV cells and spreadsheets. A spreadsheet program runs a cell that begins with
//! `=`, `+`, `-` or `@` (and, in some, a tab or a carriage return) as a formula, so a
//! name typed as `=HYPERLINK(…)` in the register would act when a laboratory opens a
//! downloaded list (OWASP "CSV injection"). Every CSV meant for a spreadsheet writes
//! such a cell with a leading `'`, which spreadsheets show as text.
//!
//! The import/export format (docs/data-format.md) does the same and reverses it on
//! import: a cell that begins with `'` loses exactly that one character. So that this
//! round-trips every value, export also doubles the `'` of a value that itself begins
//! with one. A plain number or quantity (`-0.5`, `+3`, `-60 °C`) can run nothing and is
//! written as it is.

use std::borrow::Cow;

/// A number, optionally followed by a unit made of letters, digits and the unit signs
/// (`-60 °C`, `+3.5 mm`, `-1e-9`, `-2 m/s^2`): nothing a spreadsheet could call.
fn is_plain_quantity(cell: &str) -> bool {
    let body = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let end = body
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == 'e' || c == 'E') && i > 0)
                || ((c == '+' || c == '-') && body[..i].ends_with(['e', 'E'])))
        })
        .map_or(body.len(), |(i, _)| i);
    let (number, unit) = body.split_at(end);
    number.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && number.parse::<f64>().is_ok()
        && unit
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '°' | 'µ' | 'Ω' | '%' | '·' | '/' | '^' | '℃'))
}

fn runs_as_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_quantity(cell)
}

/// A cell for a spreadsheet: a formula-like cell gets a leading `'`.
pub fn cell(text: &str) -> Cow<'_, str> {
    if runs_as_formula(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A cell of the import/export format: as [`cell`], and a value that begins with `'`
/// gets another, so that [`unescape`] gives back exactly what was stored.
pub fn escape(text: &str) -> Cow<'_, str> {
    if runs_as_formula(text) || text.starts_with('\'') {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The value of an imported cell: one leading `'` is removed.
pub fn unescape(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_numbers_left_alone() {
        // OWASP CSV injection: = + - @ tab CR start a formula.
        for f in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+2",
            "-2+3+cmd|' /C calc'!A0",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "-",
            "+",
        ] {
            assert_eq!(cell(f), format!("'{f}"), "{f:?}");
        }
        for n in [
            "-0.5",
            "+3",
            "-1e-6",
            "12.5",
            "2026-11-28",
            "量块",
            "",
            "'quoted",
            "-60 °C",
            "+3.5 mm",
            "-2 m/s^2",
        ] {
            assert_eq!(cell(n), n, "{n:?}");
        }
    }

    #[test]
    fn the_exchange_format_round_trips_every_value() {
        for v in [
            "=HYPERLINK(1)",
            "'",
            "''=x",
            "'already",
            "-5",
            "-",
            "@",
            "plain",
            "",
            "\tx",
            "-inf",
        ] {
            let written = escape(v);
            assert!(!runs_as_formula(&written), "{v:?} is written as {written:?}");
            assert_eq!(unescape(&written), v, "{v:?}");
        }
    }
}
