//! What an amendment of a certificate may change, checked as a new record's fields are
//! (ISO/IEC 17025 §7.8.8). Pure: the service gives the record as it stands, the issued
//! certificate's content and the changes asked for, and writes the draft of the next
//! revision this returns.
//!
//! The changes are a JSON Merge Patch (RFC 7396). Two kinds of part are amendable:
//! - the record's own fields (`method`, `received_on`, `calibrated_on`,
//!   `interval_months`, `adjusted`), written to the record so that the new revision is
//!   reviewed, approved and printed from them;
//! - how the item and the customer print (`item`, `customer`), kept with the record as a
//!   patch over the certificate's content. The customer's code names whose certificate
//!   it is and never changes.
//!
//! Results are not patched: the new revision's readings are corrected on the record, as
//! a draft's are, and its errors, decisions and the CMC floor follow from them.

use crate::domain::certificates::{Item, Party};
use crate::domain::register::parse_date;
use crate::domain::Error;
use chrono::NaiveDate;
use serde_json::Value;

/// The parts of a certificate an amendment may change.
pub const AMENDABLE: &[&str] = &[
    "customer",
    "item",
    "method",
    "received_on",
    "calibrated_on",
    "interval_months",
    "adjusted",
];

/// How deeply an amendment's changes may nest: the deepest amendable part nests three
/// levels (item → name → zh), so more is a mistake or an attack on the stack.
pub const MAX_PATCH_DEPTH: usize = 8;

/// The record's amendable fields as they stand, and as the next revision will have them.
#[derive(Debug, Clone, PartialEq)]
pub struct Amendable {
    pub method: String,
    pub received_on: NaiveDate,
    pub calibrated_on: NaiveDate,
    pub interval_months: Option<i32>,
    pub adjusted: bool,
    /// How the item and the customer print: a merge patch over the certificate's content
    /// (only `item` and `customer`), accumulated over the record's amendments.
    pub print_changes: Option<Value>,
}

/// Checks `changes` (a merge patch) against the record's amendable fields `current` and
/// the amended certificate's content `issued`, with `reason`; the next revision's fields,
/// or every field that is wrong, each named by its path under `changes`.
pub fn amend(
    current: &Amendable,
    issued: &Value,
    changes: &Value,
    reason: &str,
    today: NaiveDate,
) -> Result<Amendable, Vec<Error>> {
    let mut e = Vec::new();
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        e.push(Error::new(
            "reason",
            "certificate.reason_required",
            "say why it is amended (at most 500 characters)",
        ));
    }
    if json_depth(changes) > MAX_PATCH_DEPTH {
        e.push(Error::new(
            "changes",
            "certificate.changes_too_deep",
            format!("the changes nest more than {MAX_PATCH_DEPTH} levels deep"),
        ));
        return Err(e);
    }
    let empty = serde_json::Map::new();
    let m = match changes {
        Value::Null => &empty,
        Value::Object(m) => m,
        _ => {
            e.push(Error::new(
                "changes",
                "certificate.changes_invalid",
                "the changes are an object naming the parts to change",
            ));
            return Err(e);
        }
    };
    for k in m.keys().filter(|k| !AMENDABLE.contains(&k.as_str())) {
        e.push(Error::new(
            format!("changes.{k}"),
            "certificate.not_amendable",
            format!(
                "not amendable; these are: {} (results are corrected on the record)",
                AMENDABLE.join(", ")
            ),
        ));
    }
    let mut next = current.clone();
    // How the item and the customer print: patched over the content as issued, and
    // checked to still be an item and a party.
    let mut print = current
        .print_changes
        .clone()
        .unwrap_or(Value::Object(Default::default()));
    for part in ["item", "customer"] {
        let Some(patch) = m.get(part) else { continue };
        let mut printed = issued.get(part).cloned().unwrap_or(Value::Null);
        merge_patch(&mut printed, patch);
        let checked = if part == "item" {
            serde_path_to_error::deserialize::<_, Item>(&printed).map(|_| ())
        } else {
            serde_path_to_error::deserialize::<_, Party>(&printed).map(|p| {
                if Some(p.code.as_str()) != issued.pointer("/customer/code").and_then(Value::as_str) {
                    e.push(Error::new(
                        "changes.customer.code",
                        "certificate.customer_code_fixed",
                        "the customer's code names whose certificate this is and cannot be amended; amend its name or address",
                    ));
                }
            })
        };
        match checked {
            Ok(()) => {
                let mut only = serde_json::Map::new();
                only.insert(part.to_owned(), patch.clone());
                merge_patch(&mut print, &Value::Object(only));
            }
            Err(x) => e.push(Error::new(
                format!("changes.{part}.{}", x.path()),
                "certificate.changes_invalid",
                x.inner().to_string(),
            )),
        }
    }
    if print.as_object().is_some_and(|o| !o.is_empty()) {
        next.print_changes = Some(print);
    }
    if let Some(v) = m.get("method") {
        match v.as_str().map(str::trim) {
            Some(t) if !t.is_empty() && t.chars().count() <= 200 => next.method = t.to_owned(),
            _ => e.push(Error::new(
                "changes.method",
                "field.required",
                "the JJG/JJF method (at most 200 characters)",
            )),
        }
    }
    let date = |field: &str, e: &mut Vec<Error>| -> Option<NaiveDate> {
        let v = m.get(field)?;
        let path = format!("changes.{field}");
        match v.as_str() {
            Some(t) => parse_date(&path, t).map_err(|x| e.push(x)).ok(),
            None => {
                e.push(Error::new(path, "date.invalid", "a date in the form YYYY-MM-DD"));
                None
            }
        }
    };
    if let Some(d) = date("received_on", &mut e) {
        next.received_on = d;
    }
    if let Some(d) = date("calibrated_on", &mut e) {
        next.calibrated_on = d;
    }
    if next.calibrated_on < next.received_on {
        e.push(Error::new(
            "changes.calibrated_on",
            "record.dates_out_of_order",
            "calibrated before it was received",
        ));
    }
    // An amendment corrects a calibration already made: its date is not after today.
    if next.calibrated_on > today {
        e.push(Error::new(
            "changes.calibrated_on",
            "record.in_future",
            "a calibration is recorded after it is done",
        ));
    }
    if let Some(v) = m.get("interval_months") {
        match v {
            Value::Null => next.interval_months = None,
            v => match v.as_i64().filter(|n| (1..=120).contains(n)) {
                Some(n) => next.interval_months = Some(n as i32),
                None => e.push(Error::new(
                    "changes.interval_months",
                    "record.interval_invalid",
                    "from 1 to 120 months",
                )),
            },
        }
    }
    if let Some(v) = m.get("adjusted") {
        match v.as_bool() {
            Some(b) => next.adjusted = b,
            None => e.push(Error::new(
                "changes.adjusted",
                "certificate.changes_invalid",
                "true when the item was adjusted, otherwise false",
            )),
        }
    }
    if e.is_empty() {
        Ok(next)
    } else {
        Err(e)
    }
}

/// The content as the amended certificate prints it: `print_changes` merged over the
/// `item` and `customer` of `content`.
pub fn apply_print_changes(content: &mut Value, print_changes: &Value) {
    let Some(p) = print_changes.as_object() else { return };
    for part in ["item", "customer"] {
        if let (Some(patch), Some(target)) = (p.get(part), content.get_mut(part)) {
            merge_patch(target, patch);
        }
    }
}

/// The nesting depth of a JSON value (a scalar is 0), counted without recursion.
pub fn json_depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    deepest
}

/// JSON Merge Patch (RFC 7396): objects merge key by key, `null` removes, anything else
/// replaces. Callers bound the patch's depth ([`MAX_PATCH_DEPTH`]).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("an object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        v => *target = v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn current() -> Amendable {
        Amendable {
            method: "JJG 34-2022".into(),
            received_on: day("2026-11-20"),
            calibrated_on: day("2026-11-24"),
            interval_months: Some(12),
            adjusted: false,
            print_changes: None,
        }
    }

    fn issued() -> Value {
        json!({
            "item": {"name": {"zh": "百分表检定仪", "en": "dial indicator calibrator"},
                     "manufacturer": "某厂", "model": "FL-445", "serial": "SN00000033"},
            "customer": {"name": {"zh": "甲企业", "en": "Enterprise A"}, "address": "广州", "code": "91440000A"},
        })
    }

    #[test]
    fn the_record_fields_and_the_print_of_the_item_change() {
        let today = day("2026-12-01");
        let next = amend(
            &current(),
            &issued(),
            &json!({"item": {"model": "FL-445（0–50 mm）"}, "calibrated_on": "2026-11-23", "interval_months": 6}),
            "型号规格更正",
            today,
        )
        .unwrap();
        assert_eq!(next.calibrated_on, day("2026-11-23"));
        assert_eq!(next.interval_months, Some(6));
        assert_eq!(
            next.print_changes,
            Some(json!({"item": {"model": "FL-445（0–50 mm）"}}))
        );
        // A second amendment adds to the first's print changes.
        let again = amend(
            &next,
            &issued(),
            &json!({"item": {"serial": "EB-2201-A"}}),
            "出厂编号更正",
            today,
        )
        .unwrap();
        let mut content = issued();
        apply_print_changes(&mut content, again.print_changes.as_ref().unwrap());
        assert_eq!(content["item"]["model"], "FL-445（0–50 mm）");
        assert_eq!(content["item"]["serial"], "EB-2201-A");
        assert_eq!(content["item"]["manufacturer"], "某厂");
        // Changes may be none: the readings are then corrected on the record.
        assert_eq!(
            amend(&current(), &issued(), &Value::Null, "读数更正", today).unwrap(),
            current()
        );
    }

    #[test]
    fn every_wrong_change_is_named() {
        let today = day("2026-12-01");
        let e = amend(
            &current(),
            &issued(),
            &json!({
                "number": "X", "points": [], "decision": "pass",
                "customer": {"code": "91440000B"}, "item": {"serial": 7},
                "method": " ", "received_on": "yesterday", "calibrated_on": "2026-12-02",
                "interval_months": 0, "adjusted": "yes",
            }),
            "",
            today,
        )
        .unwrap_err();
        let mut got: Vec<(String, &str)> = e.iter().map(|x| (x.field.clone(), x.code)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("changes.adjusted".to_owned(), "certificate.changes_invalid"),
                ("changes.calibrated_on".to_owned(), "record.in_future"),
                ("changes.customer.code".to_owned(), "certificate.customer_code_fixed"),
                ("changes.decision".to_owned(), "certificate.not_amendable"),
                ("changes.interval_months".to_owned(), "record.interval_invalid"),
                ("changes.item.serial".to_owned(), "certificate.changes_invalid"),
                ("changes.method".to_owned(), "field.required"),
                ("changes.number".to_owned(), "certificate.not_amendable"),
                ("changes.points".to_owned(), "certificate.not_amendable"),
                ("changes.received_on".to_owned(), "date.invalid"),
                ("reason".to_owned(), "certificate.reason_required"),
            ]
        );
        let e = amend(
            &current(),
            &issued(),
            &json!({"calibrated_on": "2026-11-19"}),
            "r",
            today,
        )
        .unwrap_err();
        assert_eq!(e[0].code, "record.dates_out_of_order");
        assert_eq!(
            amend(&current(), &issued(), &json!([1]), "r", today).unwrap_err()[0].field,
            "changes"
        );
    }

    #[test]
    fn the_depth_of_an_amendment_is_measured_without_recursion() {
        // A snapshot's deepest part: points → a point → its readings → a reading.
        let real = json!({"points": [{"readings": [1.0, 2.0]}], "customer": {"name": {"zh": "某"}}});
        assert_eq!(json_depth(&real), 4);
        assert!(json_depth(&real) <= MAX_PATCH_DEPTH);
        // 100,000 levels are measured (and then refused) without touching the stack.
        let mut deep = Value::Null;
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(json_depth(&deep), 100_000);
        let e = amend(&current(), &issued(), &deep, "r", day("2026-12-01")).unwrap_err();
        assert_eq!(e[0].code, "certificate.changes_too_deep");
        // serde_json's own drop of such a value recurses: leak it in the test instead.
        std::mem::forget(deep);
    }
}
