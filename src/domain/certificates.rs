//! A certificate's content (ISO/IEC 17025 §7.8; JJF 1069, JJF 1071): the frozen snapshot
//! that the PDF and the DCC are rendered from and that the signatures bind, the rules
//! for which kind may be issued, the reported uncertainty's floor at the laboratory's
//! CMC (ILAC-P14), the certificate number, and the §7.8 content checklist.

use super::conformity::{Decision, DecisionRule};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

vocabulary! {
    /// The three documents (JJF 1069).
    CertificateKind {
        Calibration => "calibration", "校准证书", "calibration certificate";
        Verification => "verification", "检定证书", "verification certificate";
        VerificationNotice => "verification_notice", "检定结果通知书", "verification result notice";
    }
}

vocabulary! {
    /// A certificate's standing.
    CertificateStatus {
        Issued => "issued", "有效", "valid";
        Superseded => "superseded", "已被替代", "amended (superseded)";
        Withdrawn => "withdrawn", "已撤回", "withdrawn";
    }
}

/// Which document a verification's verdict allows: a verification certificate only for
/// an item that passed, a result notice for one that failed (JJG 1002 / JJF 1069 §4).
/// A calibration certificate carries no verdict of its own and is always allowed.
pub fn kind_allowed(kind: CertificateKind, verdict: Option<Decision>) -> Result<(), &'static str> {
    match (kind, verdict) {
        (CertificateKind::Calibration, _) => Ok(()),
        (CertificateKind::Verification, Some(Decision::Pass)) => Ok(()),
        (CertificateKind::Verification, _) => Err("a verification certificate is issued only when the verdict is pass"),
        (CertificateKind::VerificationNotice, Some(Decision::Fail | Decision::ConditionalFail)) => Ok(()),
        (CertificateKind::VerificationNotice, _) => {
            Err("a verification result notice is issued only when the verdict is fail")
        }
    }
}

/// The coverage factor a CMC is stated at: an expanded uncertainty with a coverage
/// probability of about 95 %, k = 2 (ILAC-P14:09/2020 §5.2; CNAS-CL01-G003).
pub const CMC_K: f64 = 2.0;

/// The expanded uncertainty reported for a point whose own is `u` at coverage factor `k`:
/// never smaller than the laboratory's CMC for that range (ILAC-P14:09/2020 §5.4).
/// Like is compared with like: the standard uncertainties u/k and CMC/[`CMC_K`]; a
/// raised U is stated at the point's own k (k·CMC/2), so that the standard uncertainty
/// it implies is the CMC's. Returns the value and whether it was raised.
pub fn reported_u(u: f64, k: f64, cmc: Option<f64>) -> (f64, bool) {
    let k = if k.is_finite() && k > 0.0 { k } else { CMC_K };
    match cmc {
        Some(c) if c / CMC_K > u / k => (k * c / CMC_K, true),
        _ => (u, false),
    }
}

/// One line of a laboratory's CMC table, in SI: over [min, max] of a quantity, an
/// expanded uncertainty of `absolute + relative · |x|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CmcLine {
    pub min: f64,
    pub max: f64,
    pub absolute: f64,
    pub relative: f64,
}

/// The laboratory's CMC at the value `x`: of the lines whose range holds `x` (both ends
/// included), the smallest, since a laboratory may claim its best capability there and
/// no better (ILAC-P14:09/2020 §5.4). `None` when no line covers `x`.
pub fn cmc_at(lines: &[CmcLine], x: f64) -> Option<f64> {
    lines
        .iter()
        .filter(|l| l.min <= x && x <= l.max)
        .map(|l| l.absolute + l.relative * x.abs())
        .min_by(f64::total_cmp)
}

/// A reported result and its expanded uncertainty as a certificate states them
/// (JJF 1059.1-2012 §5.3.8; GUM §7.2.6): U to two significant digits, and the value to
/// the same decimal place as U's last digit, rounded half to even on the decimal digits
/// (GB/T 8170; `domain::numbers::state`). Values in one unit.
pub fn round_to_u(value: f64, u: f64) -> (f64, f64) {
    stated(value, u, super::numbers::Rounding::HalfEven)
}

/// [`round_to_u`] for a U raised to the CMC: U is rounded up to two significant digits
/// (JJF 1059.1-2012 §5.3.8 allows rounding an uncertainty up), so that rounding never
/// states a U below the CMC (a CMC of 1.24 µm prints as U = 1.3 µm, not 1.2 µm).
pub fn round_to_u_up(value: f64, u: f64) -> (f64, f64) {
    stated(value, u, super::numbers::Rounding::Up)
}

fn stated(value: f64, u: f64, rounding: super::numbers::Rounding) -> (f64, f64) {
    if !(u.is_finite() && u > 0.0 && value.is_finite()) {
        return (value, u);
    }
    let (v, u2) = super::numbers::state(value, u, rounding);
    (v.parse().unwrap_or(value), u2.parse().unwrap_or(u))
}

/// The item's decision: its worst point's.
pub fn item_decision(points: impl IntoIterator<Item = Decision>) -> Option<Decision> {
    points.into_iter().max_by_key(|d| d.severity())
}

/// A certificate number: the laboratory's code, the year and its sequence in that year
/// ("GDJL-2026-000123").
pub fn number(lab_code: &str, year: i32, seq: u32) -> String {
    format!("{lab_code}-{year}-{seq:06}")
}

/// A text in both languages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bilingual {
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub name: Bilingual,
    pub address: String,
    /// Unified social credit code, or another key.
    pub code: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub name: Bilingual,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
}

/// A value in the unit it was entered in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Value {
    pub value: f64,
    /// A unit symbol of metrocal's catalogue ("mm", "°C", "%").
    pub unit: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub temperature: Value,
    /// Relative humidity in %.
    pub humidity: Value,
}

/// A standard used, for the traceability statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StandardUsed {
    pub name: Bilingual,
    pub serial: String,
    /// Its own calibration certificate and validity.
    pub certificate_no: String,
    pub valid_until: NaiveDate,
    /// Its assessment certificate (public standards).
    pub assessment_no: String,
    /// Who calibrated it (the traceability).
    pub calibrated_by: String,
}

/// One measurement point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub nominal: Value,
    pub reference: Value,
    pub readings: Vec<f64>,
    /// Indication error, as found: mean reading − reference.
    pub error: Value,
    /// Expanded uncertainty, as reported (at least the CMC), its coverage factor and probability.
    pub u: Value,
    pub k: f64,
    pub p: f64,
    /// The uncertainty was raised to the laboratory's CMC.
    pub raised_to_cmc: bool,
    pub mpe: Option<Value>,
    pub decision: Option<String>,
    /// After adjustment, when the item was adjusted.
    pub as_left_error: Option<Value>,
    /// The nominal and reference values' numbers as entered ("1.000"), to print with
    /// their digits. Absent from snapshots issued before they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nominal_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_text: Option<String>,
    /// A tolerance given as limits on the error rather than ±MPE: as typed
    /// ("−0.005 V … +0.010 V", "≤ +50 µm"), and its lower and upper limits at the point.
    /// Absent from snapshots of points with an MPE or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_limit: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_limit: Option<Value>,
}

/// A point's numbers as every rendering of a certificate prints them (the PDF, the DCC,
/// the certificate page): `domain::numbers`, once. Numbers only; the units are the
/// point's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointText {
    pub nominal: String,
    pub reference: String,
    pub error: String,
    pub u: String,
    pub mpe: Option<String>,
    /// The tolerance as printed in the MPE column: "±0.6" (with the point's unit after
    /// it) or the limits as typed.
    pub tolerance: Option<String>,
    pub lower_limit: Option<String>,
    pub upper_limit: Option<String>,
    pub as_left_error: Option<String>,
    pub k: String,
    pub p: String,
}

impl Point {
    /// The point's numbers as stated: nominal and reference as entered, U to two
    /// significant digits (rounded up when raised to the CMC, so it never prints below
    /// it) and the errors to U's decimal place (JJF 1059.1-2012 §5.3.8; GB/T 8170).
    pub fn texts(&self) -> PointText {
        use super::numbers::{self, Rounding};
        let rounding = if self.raised_to_cmc {
            Rounding::Up
        } else {
            Rounding::HalfEven
        };
        let (error, u) = numbers::state(self.error.value, self.u.value, rounding);
        PointText {
            nominal: self
                .nominal_text
                .clone()
                .unwrap_or_else(|| numbers::plain(self.nominal.value)),
            reference: self
                .reference_text
                .clone()
                .unwrap_or_else(|| numbers::plain(self.reference.value)),
            error,
            u,
            mpe: self.mpe.as_ref().map(|m| numbers::plain(m.value)),
            tolerance: self.limits_text.clone().or_else(|| {
                self.mpe
                    .as_ref()
                    .map(|m| super::units::with_unit(&format!("±{}", numbers::plain(m.value)), &m.unit))
            }),
            lower_limit: self.lower_limit.as_ref().map(|m| numbers::plain(m.value)),
            upper_limit: self.upper_limit.as_ref().map(|m| numbers::plain(m.value)),
            as_left_error: self
                .as_left_error
                .as_ref()
                .map(|a| numbers::at_u_place(a.value, self.u.value, rounding)),
            k: numbers::k(self.k),
            p: numbers::percent(self.p),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub name: String,
    /// technician, reviewer or approver.
    pub role: String,
    /// What the signature means ("recorded", "reviewed (核验)", "approved (批准)").
    pub meaning: String,
    pub signed_at: DateTime<Utc>,
    /// The SHA-256 of the record content signed.
    pub content_sha256: String,
}

/// Everything a certificate says, frozen at issue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub number: String,
    pub kind: String,
    pub revision: u32,
    /// The certificate this one replaces, and why (§7.8.8).
    pub replaces: Option<String>,
    pub amendment_reason: Option<String>,
    pub lab: Party,
    pub customer: Party,
    pub item: Item,
    /// JJG/JJF method.
    pub method: String,
    pub received_on: NaiveDate,
    pub calibrated_on: NaiveDate,
    pub issued_on: NaiveDate,
    /// Verification certificates: valid until.
    pub valid_until: Option<NaiveDate>,
    /// A recommended interval, only when the customer asked for one.
    pub interval_months: Option<u32>,
    pub environment: Environment,
    pub standards: Vec<StandardUsed>,
    pub points: Vec<Point>,
    pub decision_rule: Option<String>,
    /// The guard band as a multiple r of U (w = r·U) under a guarded rule, as the record
    /// applied it (ILAC-G8:09/2019 §4.2.2). Absent from snapshots issued before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_multiple: Option<f64>,
    pub decision: Option<String>,
    pub adjusted: bool,
    pub signatures: Vec<Signature>,
    /// The item's condition on receipt, when stated (§7.8.2.1 f)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_on_receipt: Option<String>,
    /// Performed on site at the customer's (§7.8.2.1 c)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_site: bool,
}

/// What every certificate says of itself (ISO/IEC 17025:2017 §7.8.2.1 o) and §7.8.2.2;
/// JJF 1069): its results relate only to the item, and it is reproduced only in full.
pub const STATEMENTS: [(&str, &str); 2] = [
    (
        "本证书的结果仅对所检定/校准的器具有效。",
        "The results relate only to the item calibrated.",
    ),
    (
        "未经本实验室书面批准，不得部分复制本证书。",
        "This certificate shall not be reproduced except in full without the written approval of the laboratory.",
    ),
];

/// A time as the certificate prints it: Beijing time (UTC+8), to the minute.
pub fn beijing(t: DateTime<Utc>) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&offset).format("%Y-%m-%d %H:%M (UTC+8)").to_string()
}

/// A certificate number in groups that can be read out over the telephone: the
/// laboratory's code in fours, then the year, then the sequence in threes
/// ("124400001JA7N1F563-2026-000001" reads "1244 0000 1JA7 N1F5 63 – 2026 – 000 001").
pub fn spoken_number(number: &str) -> String {
    let group = |part: &str, size: usize| -> String {
        let chars: Vec<char> = part.chars().collect();
        chars
            .chunks(size)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let parts: Vec<&str> = number.split('-').collect();
    match parts.as_slice() {
        [code, year, seq] => format!("{} – {year} – {}", group(code, 4), group(seq, 3)),
        _ => group(number, 4),
    }
}

impl Snapshot {
    /// The canonical bytes of the content (JSON, fields in declaration order) and their SHA-256.
    pub fn digest(&self) -> (Vec<u8>, String) {
        let bytes = serde_json::to_vec(self).expect("a snapshot always serialises");
        let hash = hex::encode(Sha256::digest(&bytes));
        (bytes, hash)
    }

    pub fn kind(&self) -> Option<CertificateKind> {
        CertificateKind::parse(&self.kind)
    }

    pub fn rule(&self) -> Option<DecisionRule> {
        self.decision_rule.as_deref().and_then(DecisionRule::parse)
    }

    /// The decision rule as applied, in both languages: its name and, for a guarded rule,
    /// the guard band w = r·U with each point's w in the unit of its U (ILAC-G8:09/2019
    /// §4.2.2), so that the certificate says what the decisions were made with.
    pub fn rule_statement(&self) -> Bilingual {
        let Some(rule) = self.rule() else {
            return Bilingual::default();
        };
        match (rule, self.guard_multiple) {
            (DecisionRule::Simple, _) | (_, None) => Bilingual {
                zh: rule.name_zh().to_owned(),
                en: rule.name_en().to_owned(),
            },
            (_, Some(r)) => {
                let r_text = super::units::format_value(super::units::round_sig(r, 6), "");
                let ws: Vec<String> = self
                    .points
                    .iter()
                    .map(|p| {
                        // w to the place of U's last digit, as U prints.
                        let w =
                            super::numbers::at_u_place(r * p.u.value, p.u.value, super::numbers::Rounding::HalfEven);
                        super::units::with_unit(&w, &p.u.unit)
                    })
                    .collect();
                Bilingual {
                    zh: format!("{}，保护带 w = {r_text}·U（{}）", rule.name_zh(), ws.join("；")),
                    en: format!("{} with guard band w = {r_text}·U ({})", rule.name_en(), ws.join("; ")),
                }
            }
        }
    }

    /// Where the calibration was performed (ISO/IEC 17025 §7.8.2.1 c)): at the
    /// laboratory's address, or on site at the customer's.
    pub fn place(&self) -> Bilingual {
        if self.on_site {
            Bilingual {
                zh: format!("客户现场：{}", self.customer.address),
                en: format!("on site at the customer's: {}", self.customer.address),
            }
        } else {
            Bilingual {
                zh: format!("本实验室：{}", self.lab.address),
                en: format!("at the laboratory: {}", self.lab.address),
            }
        }
    }
}

impl Snapshot {
    /// A complete calibration certificate of a gauge block, for the tests and the
    /// documentation: every §7.8 item present, one point adjusted.
    pub fn example() -> Snapshot {
        let d = |s: &str| s.parse::<NaiveDate>().expect("a date");
        let v = |value: f64, unit: &str| Value {
            value,
            unit: unit.to_owned(),
        };
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("a time");
        Snapshot {
            number: "GDJL-2026-000001".into(),
            kind: "calibration".into(),
            revision: 1,
            replaces: None,
            amendment_reason: None,
            lab: Party {
                name: Bilingual {
                    zh: "广东省计量测试研究院".into(),
                    en: "Guangdong Institute of Metrology".into(),
                },
                address: "广州市天河区".into(),
                code: "124400001JA7N1F563".into(),
            },
            customer: Party {
                name: Bilingual {
                    zh: "广州示例仪器有限公司".into(),
                    en: "Guangzhou Example Instruments Co., Ltd.".into(),
                },
                address: "广州市黄埔区".into(),
                code: "91440100KMJQMXMD0D".into(),
            },
            item: Item {
                name: Bilingual {
                    zh: "量块".into(),
                    en: "Gauge block".into(),
                },
                manufacturer: "哈量".into(),
                model: "100 mm 2 级".into(),
                serial: "GB-100-0042".into(),
            },
            method: "JJG 146-2011".into(),
            received_on: d("2026-11-20"),
            calibrated_on: d("2026-11-24"),
            issued_on: d("2026-11-26"),
            valid_until: None,
            interval_months: None,
            environment: Environment {
                temperature: v(20.1, "°C"),
                humidity: v(52.0, "%"),
            },
            standards: vec![StandardUsed {
                name: Bilingual {
                    zh: "量块比较仪".into(),
                    en: "Gauge block comparator".into(),
                },
                serial: "EQ-017".into(),
                certificate_no: "NIM-2026-0815".into(),
                valid_until: d("2027-03-31"),
                assessment_no: "[2024]粤社量标证字第000038号".into(),
                calibrated_by: "中国计量科学研究院 / National Institute of Metrology, China".into(),
            }],
            points: vec![Point {
                nominal: v(100.0, "mm"),
                reference: v(100.0, "mm"),
                readings: vec![100.00012, 100.00013, 100.00011],
                error: v(0.00012, "mm"),
                u: v(0.00005, "mm"),
                k: 2.0,
                p: 0.95,
                raised_to_cmc: false,
                mpe: Some(v(0.0006, "mm")),
                decision: Some("pass".into()),
                as_left_error: Some(v(0.00002, "mm")),
                nominal_text: None,
                reference_text: None,
                limits_text: None,
                lower_limit: None,
                upper_limit: None,
            }],
            decision_rule: Some("simple".into()),
            guard_multiple: None,
            decision: Some("pass".into()),
            adjusted: true,
            signatures: ["technician", "reviewer", "approver"]
                .iter()
                .enumerate()
                .map(|(i, role)| Signature {
                    name: ["张三", "李四", "王五"][i].into(),
                    role: (*role).into(),
                    meaning: ["检定/校准 / performed", "核验 / reviewed", "批准 / approved"][i].into(),
                    signed_at: at("2026-11-25T08:00:00Z"),
                    content_sha256: "0".repeat(64),
                })
                .collect(),
            condition_on_receipt: Some("外观完好，工作正常 / in good order, working".into()),
            on_site: false,
        }
    }
}

/// What ISO/IEC 17025 §7.8.2.1 (and §7.8.4.1 for calibration, §7.8.6 for conformity)
/// requires that the snapshot lacks, by the clause's item; empty when complete.
pub fn checklist(s: &Snapshot) -> Vec<&'static str> {
    let mut missing = Vec::new();
    let mut need = |ok: bool, what: &'static str| {
        if !ok {
            missing.push(what);
        }
    };
    need(s.kind().is_some(), "a) title (kind of document)");
    need(
        !s.lab.name.zh.is_empty() && !s.lab.address.is_empty(),
        "b) laboratory name and address",
    );
    need(!s.number.is_empty(), "d) unique identification");
    need(!s.customer.name.zh.is_empty(), "e) customer");
    need(!s.method.is_empty(), "f) method");
    need(
        !s.item.name.zh.is_empty() && !s.item.serial.is_empty(),
        "g) item identification",
    );
    need(s.received_on <= s.calibrated_on, "h) date of receipt");
    need(s.calibrated_on <= s.issued_on, "i) dates of calibration and issue");
    need(!s.points.is_empty(), "m) results with units");
    need(
        s.points
            .iter()
            .all(|p| p.u.value > 0.0 && p.k > 0.0 && p.p > 0.0 && p.p < 1.0),
        "7.8.4.1 a) measurement uncertainty with k and p",
    );
    need(
        !s.environment.temperature.unit.is_empty(),
        "7.8.4.1 b) environmental conditions",
    );
    need(!s.standards.is_empty(), "7.8.4.1 c) metrological traceability");
    need(
        s.decision.is_none() || s.decision_rule.is_some(),
        "7.8.6 statement of conformity with its decision rule",
    );
    need(
        !s.adjusted || s.points.iter().all(|p| p.as_left_error.is_some()),
        "7.8.4.1 results before and after adjustment",
    );
    need(
        ["technician", "reviewer", "approver"]
            .iter()
            .all(|r| s.signatures.iter().any(|g| g.role == *r)),
        "o) the persons authorising the report",
    );
    need(
        s.kind() != Some(CertificateKind::Verification) || s.valid_until.is_some(),
        "verification certificate: valid until",
    );
    missing
}

#[cfg(test)]
mod tests {
    /// A CMC of (0.05 + 0.5·10⁻⁶·L) µm for gauge blocks up to 100 mm, as CNAS scopes
    /// write it: at 100 mm, 0.05 µm + 0.05 µm = 0.10 µm; at 100.001 mm no line applies;
    /// where a second, better line for 0–10 mm overlaps, the better one is the CMC.
    #[test]
    fn cmc_is_the_line_covering_the_value() {
        use super::{cmc_at, CmcLine};
        let lines = [
            CmcLine {
                min: 0.0005,
                max: 0.1,
                absolute: 0.05e-6,
                relative: 0.5e-6,
            },
            CmcLine {
                min: 0.0005,
                max: 0.01,
                absolute: 0.03e-6,
                relative: 0.0,
            },
        ];
        assert!((cmc_at(&lines, 0.1).unwrap() - 0.10e-6).abs() < 1e-15);
        assert!((cmc_at(&lines, 0.005).unwrap() - 0.03e-6).abs() < 1e-15);
        assert!((cmc_at(&lines, 0.0005).unwrap() - 0.03e-6).abs() < 1e-15);
        assert_eq!(cmc_at(&lines, 0.100001), None);
        assert_eq!(cmc_at(&lines, 0.0001), None);
        assert_eq!(cmc_at(&[], 0.05), None);
    }

    use super::*;

    #[test]
    fn the_rule_is_stated_as_applied() {
        // ILAC-G8:09/2019 §4.2.2: guarded acceptance with w = r·U; the record used r = 1.5
        // with U = 0.050 µm (two significant digits) at its one point, so w = 0.075 µm,
        // stated to U's decimal place.
        let mut s = Snapshot::example();
        s.points[0].u = Value {
            value: 0.05,
            unit: "µm".into(),
        };
        assert_eq!(s.rule_statement().en, "simple acceptance");
        s.decision_rule = Some("guarded".into());
        s.guard_multiple = Some(1.5);
        let st = s.rule_statement();
        assert_eq!(st.zh, "保护带接受，保护带 w = 1.5·U（0.075 µm）");
        assert_eq!(st.en, "guarded acceptance with guard band w = 1.5·U (0.075 µm)");
        // A snapshot issued before the guard band was kept names the rule alone, and its
        // serialised content (what its signatures bind) is unchanged.
        s.guard_multiple = None;
        assert_eq!(s.rule_statement().en, "guarded acceptance");
        assert!(!String::from_utf8(s.digest().0).unwrap().contains("guard_multiple"));
    }

    #[test]
    fn the_place_is_the_laboratory_or_the_customers_site() {
        // ISO/IEC 17025:2017 §7.8.2.1 c): where the work was performed.
        let mut s = Snapshot::example();
        assert_eq!(s.place().zh, "本实验室：广州市天河区");
        s.on_site = true;
        assert_eq!(s.place().en, "on site at the customer's: 广州市黄埔区");
        // Snapshots issued before these were kept read as at the laboratory, unchanged.
        let mut old = Snapshot::example();
        old.condition_on_receipt = None;
        let text = String::from_utf8(old.digest().0).unwrap();
        assert!(!text.contains("on_site") && !text.contains("condition_on_receipt"));
    }

    #[test]
    fn numbers_read_in_groups_and_times_in_beijing() {
        assert_eq!(
            spoken_number("124400001JA7N1F563-2026-000001"),
            "1244 0000 1JA7 N1F5 63 – 2026 – 000 001"
        );
        assert_eq!(spoken_number("GDJL-2026-000123"), "GDJL – 2026 – 000 123");
        // 2026-11-25 23:30 UTC is 07:30 the next morning in Beijing (UTC+8, no summer time).
        let t = "2026-11-25T23:30:00Z".parse().unwrap();
        assert_eq!(beijing(t), "2026-11-26 07:30 (UTC+8)");
    }
    use crate::domain::conformity::Decision::*;

    #[test]
    fn the_verdict_decides_the_document() {
        use CertificateKind::*;
        assert!(kind_allowed(Calibration, None).is_ok());
        assert!(kind_allowed(Calibration, Some(Fail)).is_ok());
        assert!(kind_allowed(Verification, Some(Pass)).is_ok());
        assert!(kind_allowed(Verification, Some(ConditionalPass)).is_err());
        assert!(kind_allowed(Verification, None).is_err());
        assert!(kind_allowed(VerificationNotice, Some(Fail)).is_ok());
        assert!(kind_allowed(VerificationNotice, Some(Pass)).is_err());
    }

    #[test]
    fn the_reported_uncertainty_is_never_below_the_cmc() {
        // ILAC-P14 §5.4: a U of 0.8 µm where the CMC is 1.0 µm is reported as 1.0 µm, flagged.
        assert_eq!(reported_u(0.8e-6, 2.0, Some(1.0e-6)), (1.0e-6, true));
        assert_eq!(reported_u(1.0e-6, 2.0, Some(1.0e-6)), (1.0e-6, false));
        assert_eq!(reported_u(1.2e-6, 2.0, Some(1.0e-6)), (1.2e-6, false));
        assert_eq!(reported_u(1.2e-6, 2.0, None), (1.2e-6, false));
        // Issue 20: U = 1.2 µm at k = 3 (u = 0.4 µm) against a CMC of 1.0 µm at about
        // 95 % (k = 2, u = 0.5 µm): its standard uncertainty is below the CMC's, so it is
        // raised, and stated at the point's k = 3: U = 3 × 0.5 = 1.5 µm (ILAC-P14 §5.4).
        let (u, raised) = reported_u(1.2e-6, 3.0, Some(1.0e-6));
        assert!(raised);
        assert!((u - 1.5e-6).abs() < 1e-18, "{u}");
    }

    #[test]
    fn results_are_stated_to_the_digits_of_their_uncertainty() {
        // JJF 1059.1-2012 §5.3.8: U with at most two significant digits, the result at the
        // same last digit. 100.021 47 g with U = 0.003 514 g: U = 0.0035 g, y = 100.0215 g.
        assert_eq!(round_to_u(100.02147, 0.003514), (100.0215, 0.0035));
        // Float noise from a conversion through SI goes: 0.119 999 999 992 µm with U 0.08 µm.
        assert_eq!(round_to_u(0.119999999992, 0.08), (0.12, 0.08));
        // U = 1.2 (two digits) keeps one decimal.
        assert_eq!(round_to_u(10.04, 1.234), (10.0, 1.2));
        // Raised to a CMC of 1.24 µm: U is rounded up, never below the CMC.
        assert_eq!(round_to_u_up(10.04, 1.24), (10.0, 1.3));
        assert_eq!(round_to_u_up(10.04, 1.2), (10.0, 1.2));
        assert_eq!(round_to_u_up(0.0123, 0.0025), (0.0123, 0.0025));
        assert_eq!(round_to_u_up(0.0123, 0.00251), (0.0123, 0.0026));
        assert_eq!(round_to_u(-0.0004449, 0.00027), (-0.00044, 0.00027));
    }

    #[test]
    fn the_item_takes_its_worst_point() {
        assert_eq!(item_decision([Pass, ConditionalPass, Pass]), Some(ConditionalPass));
        assert_eq!(item_decision([Pass, Fail, ConditionalFail]), Some(Fail));
        assert_eq!(item_decision([]), None);
    }

    #[test]
    fn numbers_have_the_lab_the_year_and_six_digits() {
        assert_eq!(number("GDJL", 2026, 123), "GDJL-2026-000123");
    }

    #[test]
    fn the_example_is_complete() {
        assert_eq!(checklist(&Snapshot::example()), Vec::<&str>::new());
    }

    #[test]
    fn the_checklist_names_what_is_missing() {
        let s = Snapshot::default();
        let missing = checklist(&s);
        assert!(missing.contains(&"a) title (kind of document)"));
        assert!(missing.contains(&"o) the persons authorising the report"));
        // The digest is of the content: one character changes it.
        let (_, a) = s.digest();
        let mut t = s.clone();
        t.method = "JJG 146-2011".into();
        assert_ne!(a, t.digest().1);
        assert_eq!(a.len(), 64);
    }
}
