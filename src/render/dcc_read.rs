//! Reading a Digital Calibration Certificate (PTB DCC 3.x) issued by an upstream
//! laboratory, for one of our standards or devices: its unique identifier, the
//! performance dates, the calibration laboratory, and each measurement result's
//! quantities given as si:real with their D-SI unit and expanded uncertainty.
//!
//! Pure: bytes in, the certificate's data out, or a message naming what is missing. The
//! structure is read with quick-xml; a document that is not well-formed XML is refused.
//! Only si:real quantities are read (the form metrocal and most issuers use for
//! scalar results); list and complex quantities are counted, not read.

use chrono::NaiveDate;
use quick_xml::events::Event;
use quick_xml::Reader;

pub use crate::domain::calibrations::ResultQuantity;

/// What an upstream DCC says.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub unique_identifier: String,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub lab_name: String,
    pub lab_code: Option<String>,
    pub results: Vec<ResultQuantity>,
    /// Quantities in forms not read here (lists, complex values).
    pub unread: usize,
}

#[derive(Default)]
struct Building {
    names: Vec<String>,
    value: Option<f64>,
    unit: Option<String>,
    u: Option<f64>,
    k: Option<f64>,
    p: Option<f64>,
    other: bool,
}

#[derive(Default)]
struct Fields {
    id: Option<String>,
    begin: Option<NaiveDate>,
    end: Option<NaiveDate>,
    lab_name: Option<String>,
    lab_code: Option<String>,
}

/// The text of the element at the end of `path`, where it belongs.
fn take_text(path: &[String], text: String, building: Option<&mut Building>, f: &mut Fields) {
    let last = path.last().map(String::as_str).unwrap_or("");
    let parent = path.len().checked_sub(2).map(|i| path[i].as_str()).unwrap_or("");
    let within = |n: &str| path.iter().any(|p| p == n);
    let date = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok();
    if let Some(b) = building {
        let number = || text.parse::<f64>().ok().filter(|v| v.is_finite());
        match (parent, last) {
            ("name", "content") if path.len() >= 3 && path[path.len() - 3] == "quantity" => b.names.push(text.clone()),
            ("real", "value") => b.value = number(),
            ("real", "unit") => b.unit = Some(text.clone()),
            ("expandedMU", "valueExpandedMU") | ("expandedUnc", "uncertainty") => b.u = number(),
            ("expandedMU", "coverageFactor") | ("expandedUnc", "coverageFactor") => b.k = number(),
            ("expandedMU", "coverageProbability") | ("expandedUnc", "coverageProbability") => b.p = number(),
            _ => {}
        }
    } else if within("coreData") {
        match last {
            "uniqueIdentifier" => f.id = Some(text),
            "beginPerformanceDate" => f.begin = date(&text),
            "endPerformanceDate" => f.end = date(&text),
            _ => {}
        }
    } else if within("calibrationLaboratory") {
        match (parent, last) {
            (_, "calibrationLaboratoryCode") => f.lab_code = Some(text),
            ("name", "content") if f.lab_name.is_none() => f.lab_name = Some(text),
            _ => {}
        }
    }
}

/// How deeply elements may nest in a DCC read here. The PTB schema nests about a dozen
/// levels; the reader keeps one name per open element, so a hostile document of nested
/// elements is refused early instead of growing without bound.
pub const MAX_DEPTH: usize = 64;

/// Reads an upstream DCC.
pub fn read(xml: &[u8]) -> Result<Incoming, String> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    let mut fields = Fields::default();
    let mut results = Vec::new();
    let mut unread = 0;
    let mut building: Option<Building> = None;
    let mut root_seen = false;
    // An element's text, gathered across its text and entity-reference events.
    let mut pending = String::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("not well-formed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) => {
                let name = AsRef::<str>::as_ref(&e.local_name()).to_owned();
                pending.clear();
                if !root_seen {
                    if name != "digitalCalibrationCertificate" {
                        return Err(format!(
                            "not a Digital Calibration Certificate: the root element is {name}"
                        ));
                    }
                    root_seen = true;
                }
                if name == "quantity" && path.iter().any(|p| p == "results") {
                    building = Some(Building::default());
                }
                if let Some(b) = building.as_mut() {
                    if matches!(
                        name.as_str(),
                        "realListXMLList" | "complex" | "complexListXMLList" | "list" | "hybrid" | "constant"
                    ) {
                        b.other = true;
                    }
                }
                path.push(name);
                if path.len() > MAX_DEPTH {
                    return Err(format!(
                        "elements nest more than {MAX_DEPTH} levels deep at byte {}",
                        reader.buffer_position()
                    ));
                }
            }
            Event::Empty(e) if !root_seen => {
                let name = AsRef::<str>::as_ref(&e.local_name()).to_owned();
                return Err(format!(
                    "not a Digital Calibration Certificate: the root element is {name}"
                ));
            }
            Event::Text(t) => pending.push_str(&t.xml10_content()),
            Event::CData(t) => pending.push_str(&t.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match &*r.xml10_content() {
                        // The five entities XML predefines (XML 1.0 §4.6).
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => return Err(format!("unknown entity &{other}; at byte {}", reader.buffer_position())),
                    },
                };
                pending.push_str(&resolved);
            }
            Event::End(_) => {
                let text = std::mem::take(&mut pending).trim().to_owned();
                if !text.is_empty() {
                    take_text(&path, text, building.as_mut(), &mut fields);
                }
                let closed = path.pop().unwrap_or_default();
                if closed == "quantity" {
                    if let Some(b) = building.take() {
                        match (b.value, b.unit) {
                            (Some(value), Some(unit)) if !b.other => results.push(ResultQuantity {
                                name: b.names.first().cloned().unwrap_or_default(),
                                names: b.names,
                                value,
                                dsi_unit: unit,
                                expanded: b.u.map(|u| (u, b.k.unwrap_or(2.0), b.p.unwrap_or(0.95))),
                            }),
                            _ => unread += 1,
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !root_seen {
        return Err("not a Digital Calibration Certificate: the document is empty".into());
    }
    let Fields {
        id,
        begin,
        end,
        lab_name,
        lab_code,
    } = fields;
    let unique_identifier = id
        .filter(|i| !i.is_empty())
        .ok_or("the certificate has no dcc:uniqueIdentifier")?;
    let begin = begin.ok_or("the certificate has no dcc:beginPerformanceDate (YYYY-MM-DD)")?;
    if results.is_empty() {
        return Err("the certificate has no result given as si:real with a unit".into());
    }
    Ok(Incoming {
        unique_identifier,
        begin,
        end,
        lab_name: lab_name.unwrap_or_default(),
        lab_code: lab_code.filter(|c| !c.is_empty()),
        results,
        unread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::certificates::Snapshot;

    /// A DCC we issue reads back as what it says: the number, the date, the laboratory
    /// and each point's quantities with their D-SI units and U, k, p (the example's
    /// indication error +0.12 µm with U = 0.05 µm, k = 2, p = 0.95).
    #[test]
    fn our_own_dcc_reads_back() {
        let mut s = Snapshot::example();
        s.number = "1244010002E6HRCU7H-2026-000007".into();
        let xml = crate::render::dcc::render(&s).unwrap();
        let d = read(&xml).unwrap();
        assert_eq!(d.unique_identifier, s.number);
        assert_eq!(d.begin, s.calibrated_on);
        assert_eq!(d.lab_name, s.lab.name.zh);
        assert_eq!(
            d.lab_code.as_deref(),
            Some(s.lab.code.as_str()).filter(|c| !c.is_empty())
        );
        let error = d
            .results
            .iter()
            .find(|q| q.names.iter().any(|n| n == "Indication error"))
            .unwrap();
        let p = &s.points[0];
        assert_eq!(error.value, p.error.value);
        assert_eq!(error.dsi_unit, crate::domain::units::dsi_unit(&p.error.unit).unwrap());
        assert_eq!(error.expanded, Some((p.u.value, p.k, p.p)));
        let nominal = d.results.iter().find(|q| q.name == "标称值").unwrap();
        assert_eq!(nominal.expanded, None);
        assert_eq!(d.unread, 0);
    }

    #[test]
    fn deeply_nested_elements_are_refused_early() {
        let mut xml = String::from("<dcc:digitalCalibrationCertificate xmlns:dcc=\"https://ptb.de/dcc\">");
        xml.push_str(&"<a>".repeat(100_000));
        let e = read(xml.as_bytes()).unwrap_err();
        assert!(e.contains("nest more than 64 levels"), "{e}");
    }

    #[test]
    fn what_is_not_a_dcc_is_refused() {
        assert!(read(b"<html><body/></html>")
            .unwrap_err()
            .contains("root element is html"));
        assert!(read(b"<html/>").unwrap_err().contains("root element is html"));
        assert!(read(b"").is_err());
        assert!(read(b"<dcc:digitalCalibrationCertificate xmlns:dcc=\"x\"><a></b>").is_err());
        let no_results = br#"<dcc:digitalCalibrationCertificate xmlns:dcc="https://ptb.de/dcc">
            <dcc:administrativeData><dcc:coreData><dcc:uniqueIdentifier>PTB-1</dcc:uniqueIdentifier>
            <dcc:beginPerformanceDate>2026-03-02</dcc:beginPerformanceDate></dcc:coreData></dcc:administrativeData>
            </dcc:digitalCalibrationCertificate>"#;
        assert!(read(no_results).unwrap_err().contains("si:real"));
    }
}
