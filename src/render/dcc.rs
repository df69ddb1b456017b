//! A certificate snapshot as a PTB Digital Calibration Certificate (DCC 3.3.0, with
//! D-SI 2.2.1 values): administrative data (core data, item, laboratory, signatories,
//! customer, the conformity statement), and one measurement result holding the method,
//! the standards used as measuring equipment with their certificates, the environment
//! as influence conditions, and each point's reference value, indication error (with its
//! expanded uncertainty, k and p) and error after adjustment.
//!
//! A pure function of the snapshot: the same snapshot gives the same bytes.

use crate::domain::certificates::{Bilingual, Snapshot, Value};
use crate::domain::units::dsi_unit;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::io;

type W = Writer<Vec<u8>>;

/// The DCC's software entry names metrocal and its version.
const SOFTWARE: &str = "metrocal";

fn text(w: &mut W, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name).write_text_content(BytesText::new(value))?;
    Ok(())
}

/// A dcc:textType: one dcc:content per language.
fn bilingual(w: &mut W, name: &str, b: &Bilingual) -> io::Result<()> {
    w.create_element(name).write_inner_content(|w| {
        for (lang, t) in [("zh", &b.zh), ("en", &b.en)] {
            if !t.is_empty() {
                w.create_element("dcc:content")
                    .with_attribute(("lang", lang))
                    .write_text_content(BytesText::new(t))?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn both(zh: &str, en: &str) -> Bilingual {
    Bilingual {
        zh: zh.to_owned(),
        en: en.to_owned(),
    }
}

/// A number as D-SI's decimal: shortest round-trip form, no exponent for ordinary sizes.
fn decimal(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('e') || s.contains("inf") || s.contains("NaN") {
        format!("{v:.15e}")
    } else {
        s
    }
}

fn unit(v: &Value) -> String {
    dsi_unit(&v.unit).unwrap_or_else(|| "\\one".to_owned())
}

/// An si:real, with its expanded uncertainty when given; `stated` is the value as the
/// certificate states it (its digits, domain::numbers), else its shortest form.
fn real(w: &mut W, v: &Value, stated: Option<&str>, expanded: Option<(&str, f64, f64)>) -> io::Result<()> {
    w.create_element("si:real").write_inner_content(|w| {
        text(w, "si:value", &stated.map_or_else(|| decimal(v.value), str::to_owned))?;
        text(w, "si:unit", &unit(v))?;
        if let Some((u, k, p)) = expanded {
            w.create_element("si:measurementUncertaintyUnivariate")
                .write_inner_content(|w| {
                    w.create_element("si:expandedMU").write_inner_content(|w| {
                        text(w, "si:valueExpandedMU", u)?;
                        text(w, "si:coverageFactor", &decimal(k))?;
                        text(w, "si:coverageProbability", &decimal(p))?;
                        text(w, "si:distribution", "normal")
                    })?;
                    Ok(())
                })?;
        }
        Ok(())
    })?;
    Ok(())
}

fn quantity(
    w: &mut W,
    name: Bilingual,
    v: &Value,
    stated: Option<&str>,
    expanded: Option<(&str, f64, f64)>,
) -> io::Result<()> {
    w.create_element("dcc:quantity").write_inner_content(|w| {
        bilingual(w, "dcc:name", &name)?;
        real(w, v, stated, expanded)
    })?;
    Ok(())
}

fn contact(w: &mut W, name: &str, p: &crate::domain::certificates::Party) -> io::Result<()> {
    w.create_element(name).write_inner_content(|w| {
        bilingual(w, "dcc:name", &p.name)?;
        w.create_element("dcc:location").write_inner_content(|w| {
            if !p.address.is_empty() {
                text(w, "dcc:street", &p.address)?;
            }
            text(w, "dcc:countryCode", "CN")
        })?;
        Ok(())
    })?;
    Ok(())
}

/// The conformity statement's status in the DCC's vocabulary.
fn conformity(decision: &str) -> Option<&'static str> {
    Some(match decision {
        "pass" => "pass",
        "fail" => "fail",
        "conditional_pass" => "conditionalPass",
        "conditional_fail" => "conditionalFail",
        _ => return None,
    })
}

/// The DCC XML of a snapshot.
pub fn render(s: &Snapshot) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::with_capacity(16 * 1024), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("dcc:digitalCalibrationCertificate")
        .with_attribute(("xmlns:dcc", "https://ptb.de/dcc"))
        .with_attribute(("xmlns:si", "https://ptb.de/si"))
        .with_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"))
        .with_attribute((
            "xsi:schemaLocation",
            "https://ptb.de/dcc https://ptb.de/dcc/v3.3.0/dcc.xsd",
        ))
        .with_attribute(("schemaVersion", "3.3.0"))
        .write_inner_content(|w| {
            w.create_element("dcc:administrativeData")
                .write_inner_content(|w| administrative(w, s))?;
            w.create_element("dcc:measurementResults").write_inner_content(|w| {
                w.create_element("dcc:measurementResult")
                    .write_inner_content(|w| results(w, s))?;
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(w.into_inner())
}

fn administrative(w: &mut W, s: &Snapshot) -> io::Result<()> {
    w.create_element("dcc:dccSoftware").write_inner_content(|w| {
        w.create_element("dcc:software").write_inner_content(|w| {
            bilingual(w, "dcc:name", &both(SOFTWARE, SOFTWARE))?;
            text(w, "dcc:release", env!("CARGO_PKG_VERSION"))?;
            text(w, "dcc:type", "application")
        })?;
        Ok(())
    })?;
    w.create_element("dcc:coreData").write_inner_content(|w| {
        text(w, "dcc:countryCodeISO3166_1", "CN")?;
        text(w, "dcc:usedLangCodeISO639_1", "zh")?;
        text(w, "dcc:usedLangCodeISO639_1", "en")?;
        text(w, "dcc:mandatoryLangCodeISO639_1", "zh")?;
        text(w, "dcc:uniqueIdentifier", &s.number)?;
        text(w, "dcc:receiptDate", &s.received_on.to_string())?;
        text(w, "dcc:beginPerformanceDate", &s.calibrated_on.to_string())?;
        text(w, "dcc:endPerformanceDate", &s.calibrated_on.to_string())?;
        text(
            w,
            "dcc:performanceLocation",
            if s.on_site { "customer" } else { "laboratory" },
        )?;
        text(w, "dcc:issueDate", &s.issued_on.to_string())?;
        if let Some(replaced) = &s.replaces {
            w.create_element("dcc:reportAmendedSubstituted")
                .write_inner_content(|w| {
                    text(w, "dcc:typeOfChange", "substituted")?;
                    text(w, "dcc:replacedUniqueIdentifier", replaced)
                })?;
        }
        Ok(())
    })?;
    w.create_element("dcc:items").write_inner_content(|w| {
        w.create_element("dcc:item").write_inner_content(|w| {
            bilingual(w, "dcc:name", &s.item.name)?;
            if !s.item.manufacturer.is_empty() {
                w.create_element("dcc:manufacturer").write_inner_content(|w| {
                    bilingual(w, "dcc:name", &both(&s.item.manufacturer, &s.item.manufacturer))
                })?;
            }
            if !s.item.model.is_empty() {
                text(w, "dcc:model", &s.item.model)?;
            }
            w.create_element("dcc:identifications").write_inner_content(|w| {
                w.create_element("dcc:identification").write_inner_content(|w| {
                    text(w, "dcc:issuer", "manufacturer")?;
                    text(w, "dcc:value", &s.item.serial)?;
                    bilingual(w, "dcc:name", &both("出厂编号", "Serial number"))
                })?;
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(())
    })?;
    contact_lab(w, s)?;
    w.create_element("dcc:respPersons").write_inner_content(|w| {
        for g in &s.signatures {
            w.create_element("dcc:respPerson").write_inner_content(|w| {
                w.create_element("dcc:person")
                    .write_inner_content(|w| bilingual(w, "dcc:name", &both(&g.name, &g.name)))?;
                bilingual(
                    w,
                    "dcc:description",
                    &both(
                        &format!("{}，{}", g.meaning, crate::domain::certificates::beijing(g.signed_at)),
                        &format!(
                            "{}, {}; content SHA-256 {}",
                            g.meaning,
                            g.signed_at.to_rfc3339(),
                            g.content_sha256
                        ),
                    ),
                )?;
                text(w, "dcc:role", &g.role)?;
                text(w, "dcc:mainSigner", if g.role == "approver" { "true" } else { "false" })
            })?;
        }
        Ok(())
    })?;
    contact(w, "dcc:customer", &s.customer)?;
    let rule = s.rule_statement();
    w.create_element("dcc:statements").write_inner_content(|w| {
        // ISO/IEC 17025 §7.8.2.1 o) and §7.8.2.2: what the results relate to, and
        // reproduction only in full; §7.8.2.1 c): where the work was done.
        for (zh, en) in crate::domain::certificates::STATEMENTS {
            w.create_element("dcc:statement").write_inner_content(|w| {
                bilingual(w, "dcc:name", &both("声明", "Statement"))?;
                bilingual(w, "dcc:description", &both(zh, en))?;
                Ok(())
            })?;
        }
        let place = s.place();
        w.create_element("dcc:statement").write_inner_content(|w| {
            bilingual(w, "dcc:name", &both("检定/校准地点", "Place of calibration"))?;
            bilingual(w, "dcc:description", &both(&place.zh, &place.en))?;
            Ok(())
        })?;
        if let Some(condition) = &s.condition_on_receipt {
            w.create_element("dcc:statement").write_inner_content(|w| {
                bilingual(w, "dcc:name", &both("接收时状态", "Condition on receipt"))?;
                bilingual(w, "dcc:description", &both(condition, condition))?;
                Ok(())
            })?;
        }
        let (Some(d), Some(status)) = (&s.decision, s.decision.as_deref().and_then(conformity)) else {
            return Ok(());
        };
        w.create_element("dcc:statement").write_inner_content(|w| {
            bilingual(w, "dcc:name", &both("符合性声明", "Statement of conformity"))?;
            w.create_element("dcc:description").write_inner_content(|w| {
                for (lang, t) in [
                    ("zh", format!("判定规则：{}（ILAC-G8:09/2019）", rule.zh)),
                    (
                        "en",
                        format!("Decision rule: {} (ILAC-G8:09/2019); decision: {d}", rule.en),
                    ),
                ] {
                    w.create_element("dcc:content")
                        .with_attribute(("lang", lang))
                        .write_text_content(BytesText::new(&t))?;
                }
                Ok(())
            })?;
            text(w, "dcc:norm", "ILAC-G8:09/2019")?;
            if let Some(until) = s.valid_until {
                text(w, "dcc:date", &until.to_string())?;
            }
            text(w, "dcc:conformity", status)
        })?;
        Ok(())
    })?;
    Ok(())
}

fn contact_lab(w: &mut W, s: &Snapshot) -> io::Result<()> {
    w.create_element("dcc:calibrationLaboratory").write_inner_content(|w| {
        // The laboratory's unified social credit code: whoever imports this DCC finds
        // the laboratory in their register by it.
        if !s.lab.code.is_empty() {
            text(w, "dcc:calibrationLaboratoryCode", &s.lab.code)?;
        }
        contact(w, "dcc:contact", &s.lab)
    })?;
    Ok(())
}

fn results(w: &mut W, s: &Snapshot) -> io::Result<()> {
    bilingual(w, "dcc:name", &both("检定/校准结果", "Results"))?;
    w.create_element("dcc:usedMethods").write_inner_content(|w| {
        w.create_element("dcc:usedMethod").write_inner_content(|w| {
            bilingual(w, "dcc:name", &both(&s.method, &s.method))?;
            text(w, "dcc:norm", &s.method)
        })?;
        Ok(())
    })?;
    if !s.standards.is_empty() {
        w.create_element("dcc:measuringEquipments").write_inner_content(|w| {
            for e in &s.standards {
                w.create_element("dcc:measuringEquipment").write_inner_content(|w| {
                    bilingual(w, "dcc:name", &e.name)?;
                    w.create_element("dcc:certificate").write_inner_content(|w| {
                        bilingual(
                            w,
                            "dcc:referral",
                            &both(
                                &format!("校准证书，有效期至 {}；溯源至 {}", e.valid_until, e.calibrated_by),
                                &format!(
                                    "Calibration certificate valid until {}; traceable to {}",
                                    e.valid_until, e.calibrated_by
                                ),
                            ),
                        )?;
                        text(w, "dcc:referralID", &e.certificate_no)?;
                        // The upstream certificate's digest is not known when it was issued
                        // outside metrocal: its number stands in, and says so.
                        text(w, "dcc:procedure", "certificate number (no digest on record)")?;
                        text(w, "dcc:value", &e.certificate_no)?;
                        text(w, "dcc:traceable", "true")
                    })?;
                    if !e.serial.is_empty() || !e.assessment_no.is_empty() {
                        w.create_element("dcc:identifications").write_inner_content(|w| {
                            for (issuer, value, zh, en) in [
                                ("manufacturer", &e.serial, "出厂编号", "Serial number"),
                                ("other", &e.assessment_no, "计量标准考核证书", "Assessment certificate"),
                            ] {
                                if !value.is_empty() {
                                    w.create_element("dcc:identification").write_inner_content(|w| {
                                        text(w, "dcc:issuer", issuer)?;
                                        text(w, "dcc:value", value)?;
                                        bilingual(w, "dcc:name", &both(zh, en))
                                    })?;
                                }
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    }
    w.create_element("dcc:influenceConditions").write_inner_content(|w| {
        for (zh, en, v) in [
            ("环境温度", "Ambient temperature", &s.environment.temperature),
            ("相对湿度", "Relative humidity", &s.environment.humidity),
        ] {
            w.create_element("dcc:influenceCondition").write_inner_content(|w| {
                bilingual(w, "dcc:name", &both(zh, en))?;
                w.create_element("dcc:data")
                    .write_inner_content(|w| quantity(w, both(zh, en), v, None, None))?;
                Ok(())
            })?;
        }
        Ok(())
    })?;
    w.create_element("dcc:results").write_inner_content(|w| {
        for (i, p) in s.points.iter().enumerate() {
            let n = i + 1;
            let t = p.texts();
            w.create_element("dcc:result").write_inner_content(|w| {
                bilingual(
                    w,
                    "dcc:name",
                    &both(
                        &format!("测量点 {n}：标称值 {} {}", t.nominal, p.nominal.unit),
                        &format!("Point {n}: nominal {} {}", t.nominal, p.nominal.unit),
                    ),
                )?;
                w.create_element("dcc:data").write_inner_content(|w| {
                    quantity(w, both("标称值", "Nominal value"), &p.nominal, Some(&t.nominal), None)?;
                    quantity(
                        w,
                        both("参考值", "Reference value"),
                        &p.reference,
                        Some(&t.reference),
                        None,
                    )?;
                    let label = if p.raised_to_cmc {
                        both(
                            "示值误差（U 已按 CMC 报告）",
                            "Indication error (U reported at the CMC)",
                        )
                    } else {
                        both("示值误差", "Indication error")
                    };
                    quantity(w, label, &p.error, Some(&t.error), Some((&t.u, p.k, p.p)))?;
                    if let Some(left) = &p.as_left_error {
                        quantity(
                            w,
                            both("调整后示值误差", "Indication error after adjustment"),
                            left,
                            t.as_left_error.as_deref(),
                            Some((&t.u, p.k, p.p)),
                        )?;
                    }
                    if let Some(mpe) = &p.mpe {
                        quantity(
                            w,
                            both("最大允许误差", "Maximum permissible error"),
                            mpe,
                            t.mpe.as_deref(),
                            None,
                        )?;
                    }
                    if let Some(l) = &p.lower_limit {
                        quantity(
                            w,
                            both("示值误差下限", "Lower limit of the indication error"),
                            l,
                            t.lower_limit.as_deref(),
                            None,
                        )?;
                    }
                    if let Some(l) = &p.upper_limit {
                        quantity(
                            w,
                            both("示值误差上限", "Upper limit of the indication error"),
                            l,
                            t.upper_limit.as_deref(),
                            None,
                        )?;
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates with the offline PTB schema bundle (calibration-data/dcc/validate.sh,
    /// xmllint). CI installs xmllint; without it the test fails rather than passing unseen.
    pub(crate) fn assert_valid(xml: &[u8]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dcc.xml");
        std::fs::write(&path, xml).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration-data/dcc/validate.sh");
        let out = std::process::Command::new("bash")
            .arg(script)
            .arg(&path)
            .output()
            .expect("bash runs validate.sh");
        assert!(
            out.status.success(),
            "{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(xml)
        );
    }

    #[test]
    fn the_example_certificate_is_a_valid_dcc() {
        let s = Snapshot::example();
        let xml = render(&s).unwrap();
        assert_valid(&xml);
        let text = String::from_utf8(xml.clone()).unwrap();
        for needle in [
            "<dcc:uniqueIdentifier>GDJL-2026-000001</dcc:uniqueIdentifier>",
            "<si:unit>\\milli\\metre</si:unit>",
            "<si:unit>\\degreecelsius</si:unit>",
            // U = 0.00005 mm stated to two significant digits, the errors to its place
            // (JJF 1059.1-2012 §5.3.8).
            "<si:valueExpandedMU>0.000050</si:valueExpandedMU>",
            "<si:value>0.000120</si:value>",
            "<si:value>0.000020</si:value>",
            "<si:coverageFactor>2</si:coverageFactor>",
            "<si:coverageProbability>0.95</si:coverageProbability>",
            "<dcc:referralID>NIM-2026-0815</dcc:referralID>",
            "<dcc:conformity>pass</dcc:conformity>",
            "Indication error after adjustment",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        // The same snapshot, the same bytes.
        assert_eq!(render(&s).unwrap(), xml);
    }

    #[test]
    #[should_panic(expected = "INVALID")]
    fn the_validation_can_fail() {
        // The check is real: a DCC without its unique identifier is refused.
        let xml = String::from_utf8(render(&Snapshot::example()).unwrap()).unwrap();
        let broken = xml.replace("<dcc:uniqueIdentifier>GDJL-2026-000001</dcc:uniqueIdentifier>", "");
        assert_valid(broken.as_bytes());
    }

    #[test]
    fn an_amendment_names_the_certificate_it_replaces() {
        let mut s = Snapshot::example();
        s.number = "GDJL-2026-000002".into();
        s.revision = 2;
        s.replaces = Some("GDJL-2026-000001".into());
        s.amendment_reason = Some("客户名称更正 / customer name corrected".into());
        let xml = render(&s).unwrap();
        assert_valid(&xml);
        let text = String::from_utf8(xml).unwrap();
        assert!(text.contains("<dcc:replacedUniqueIdentifier>GDJL-2026-000001</dcc:replacedUniqueIdentifier>"));
    }

    #[test]
    fn a_verification_certificate_states_its_validity_and_a_notice_its_failure() {
        let mut s = Snapshot::example();
        s.kind = "verification".into();
        s.valid_until = Some("2027-11-23".parse().unwrap());
        let text = String::from_utf8(render(&s).unwrap()).unwrap();
        assert!(text.contains("<dcc:date>2027-11-23</dcc:date>"));
        s.kind = "verification_notice".into();
        s.valid_until = None;
        s.decision = Some("fail".into());
        s.points[0].decision = Some("fail".into());
        let xml = render(&s).unwrap();
        assert_valid(&xml);
        assert!(String::from_utf8(xml)
            .unwrap()
            .contains("<dcc:conformity>fail</dcc:conformity>"));
    }
}
