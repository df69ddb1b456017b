//! The register of measurement standards: the closed vocabularies (hierarchy level,
//! status, organisation kind) and the rules that turn a submitted record into a valid one.

use super::codes::{validate_jjf1022, validate_uscc};
use super::units::{parse_quantity, parse_tolerance, QuantityKind};
use super::Error;
use chrono::NaiveDate;

vocabulary! {
    /// Where a standard stands in the national hierarchy (《计量法》 and JJF 1033).
    Level {
        NationalPrimary => "national_primary", "国家计量基准", "national primary standard";
        ProvincialPublic => "provincial_public", "省级社会公用计量标准", "provincial public standard";
        CityPublic => "city_public", "市级社会公用计量标准", "city public standard";
        CountyPublic => "county_public", "县级社会公用计量标准", "county public standard";
        DepartmentHighest => "department_highest", "部门最高计量标准", "department highest standard";
        EnterpriseHighest => "enterprise_highest", "企事业单位最高计量标准", "enterprise highest standard";
    }
}

vocabulary! {
    /// The operating status of a standard. `expired` is also derived from the
    /// assessment certificate's expiry date (see [`effective_status`]).
    Status {
        InService => "in_service", "在用", "in service";
        Suspended => "suspended", "暂停", "suspended";
        Expired => "expired", "过期", "expired";
        Withdrawn => "withdrawn", "撤销", "withdrawn";
    }
}

vocabulary! {
    /// The kinds of organisation in the province's metrology network.
    OrgKind {
        Regulator => "regulator", "计量行政部门", "provincial regulator";
        Institute => "institute", "计量技术机构", "metrology institute";
        MeasurementCentre => "measurement_centre", "产业计量测试中心", "industrial measurement centre";
        Enterprise => "enterprise", "企业", "enterprise";
        ExternalNmi => "external_nmi", "国家计量院（外部）", "national metrology institute (external)";
        AccreditedLab => "accredited_lab", "认可实验室（外部）", "accredited laboratory (external)";
    }
}

vocabulary! {
    /// How a standard's metrological capability is stated on its assessment certificate.
    AccuracyKind {
        Uncertainty => "uncertainty", "不确定度", "expanded uncertainty";
        AccuracyClass => "accuracy_class", "准确度等级", "accuracy class";
        Mpe => "mpe", "最大允许误差", "maximum permissible error";
    }
}

vocabulary! {
    /// The part a device plays in a standard (JJF 1033-2023 §4.1).
    DeviceRole {
        StandardDevice => "standard_device", "标准器", "standard device";
        Auxiliary => "auxiliary", "配套设备", "auxiliary equipment";
    }
}

impl OrgKind {
    /// Organisations registered in China carry a unified social credit code; external
    /// providers abroad are identified by another key (e.g. their KCDB acronym).
    pub fn has_uscc(self) -> bool {
        !matches!(self, OrgKind::ExternalNmi | OrgKind::AccreditedLab)
    }

    /// Whether this kind of organisation may own a standard in the register.
    pub fn may_own_standards(self) -> bool {
        matches!(
            self,
            OrgKind::Institute | OrgKind::MeasurementCentre | OrgKind::Enterprise
        )
    }
}

/// The status shown and filtered on, as of `today`: a standard recorded as in service
/// whose assessment certificate expired before `today` is expired (JJF 1033-2023 §6:
/// the certificate is the permission to operate the standard).
pub fn effective_status(stored: Status, cert_expires_on: NaiveDate, today: NaiveDate) -> Status {
    match stored {
        Status::InService if cert_expires_on < today => Status::Expired,
        s => s,
    }
}

/// A standard as submitted (form, JSON or CSV): every field is text, as typed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StandardInput {
    pub name_zh: String,
    pub name_en: String,
    pub category_code: String,
    pub owner: String,
    pub level: String,
    pub cert_no: String,
    pub cert_authority: String,
    pub cert_issued_on: String,
    pub cert_expires_on: String,
    pub status: String,
    pub quantity: String,
    pub range_min: String,
    pub range_max: String,
    pub accuracy_kind: String,
    pub accuracy: String,
    pub regulations: String,
    pub responsible_person: String,
}

impl StandardInput {
    /// The input's field names, in form order. The API and CSV use exactly these.
    pub const FIELDS: &'static [&'static str] = &[
        "name_zh",
        "name_en",
        "category_code",
        "owner",
        "level",
        "cert_no",
        "cert_authority",
        "cert_issued_on",
        "cert_expires_on",
        "status",
        "quantity",
        "range_min",
        "range_max",
        "accuracy_kind",
        "accuracy",
        "regulations",
        "responsible_person",
    ];

    /// Every field with its value, in form order (for audit diffs and exports).
    pub fn entries(&self) -> [(&'static str, &str); 17] {
        [
            ("name_zh", &self.name_zh),
            ("name_en", &self.name_en),
            ("category_code", &self.category_code),
            ("owner", &self.owner),
            ("level", &self.level),
            ("cert_no", &self.cert_no),
            ("cert_authority", &self.cert_authority),
            ("cert_issued_on", &self.cert_issued_on),
            ("cert_expires_on", &self.cert_expires_on),
            ("status", &self.status),
            ("quantity", &self.quantity),
            ("range_min", &self.range_min),
            ("range_max", &self.range_max),
            ("accuracy_kind", &self.accuracy_kind),
            ("accuracy", &self.accuracy),
            ("regulations", &self.regulations),
            ("responsible_person", &self.responsible_person),
        ]
    }

    pub fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "name_zh" => &mut self.name_zh,
            "name_en" => &mut self.name_en,
            "category_code" => &mut self.category_code,
            "owner" => &mut self.owner,
            "level" => &mut self.level,
            "cert_no" => &mut self.cert_no,
            "cert_authority" => &mut self.cert_authority,
            "cert_issued_on" => &mut self.cert_issued_on,
            "cert_expires_on" => &mut self.cert_expires_on,
            "status" => &mut self.status,
            "quantity" => &mut self.quantity,
            "range_min" => &mut self.range_min,
            "range_max" => &mut self.range_max,
            "accuracy_kind" => &mut self.accuracy_kind,
            "accuracy" => &mut self.accuracy,
            "regulations" => &mut self.regulations,
            "responsible_person" => &mut self.responsible_person,
            _ => return None,
        })
    }
}

/// A standard that has passed every rule of the register, with typed values.
/// The owner is still the code the user gave; the service resolves it.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardDraft {
    pub name_zh: String,
    pub name_en: String,
    pub category_code: String,
    pub owner_code: String,
    pub level: Level,
    pub cert_no: String,
    pub cert_authority: String,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
    pub status: Status,
    pub quantity: QuantityKind,
    pub range_min_si: f64,
    pub range_max_si: f64,
    pub range_min_unit: &'static str,
    pub range_max_unit: &'static str,
    pub accuracy_kind: AccuracyKind,
    pub accuracy_si: Option<f64>,
    pub accuracy_unit: Option<&'static str>,
    pub accuracy_text: String,
    pub regulations: String,
    pub responsible_person: String,
}

/// Parses a calendar date written as YYYY-MM-DD.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, Error> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::new(field, "date.missing", "a date is required (YYYY-MM-DD)"));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
        Error::new(
            field,
            "date.invalid",
            format!("'{t}' is not a date in the form YYYY-MM-DD"),
        )
    })
}

fn required(errors: &mut Vec<Error>, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(Error::new(field, "field.missing", "this field is required"));
    } else if v.chars().count() > max {
        errors.push(Error::new(field, "field.too_long", format!("at most {max} characters")));
    }
    v.to_owned()
}

fn optional(errors: &mut Vec<Error>, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.chars().count() > max {
        errors.push(Error::new(field, "field.too_long", format!("at most {max} characters")));
    }
    v.to_owned()
}

/// Checks a submitted standard against every rule of the register and returns the
/// typed draft, or every field error at once (so a form can show them all).
pub fn validate_standard(input: &StandardInput) -> Result<StandardDraft, Vec<Error>> {
    let mut errors = Vec::new();
    let name_zh = required(&mut errors, "name_zh", &input.name_zh, 200);
    let name_en = optional(&mut errors, "name_en", &input.name_en, 200);
    let category_code = match validate_jjf1022("category_code", &input.category_code) {
        Ok(c) => c.as_str().to_owned(),
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };
    let owner_code = required(&mut errors, "owner", &input.owner, 64);
    let level = Level::parse(&input.level).unwrap_or_else(|| {
        errors.push(Error::new(
            "level",
            "standard.level_invalid",
            format!("choose one of: {}", Level::choices()),
        ));
        Level::ProvincialPublic
    });
    let cert_no = required(&mut errors, "cert_no", &input.cert_no, 128);
    let cert_authority = required(&mut errors, "cert_authority", &input.cert_authority, 200);
    let issued = parse_date("cert_issued_on", &input.cert_issued_on)
        .map_err(|e| errors.push(e))
        .ok();
    let expires = parse_date("cert_expires_on", &input.cert_expires_on)
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(i), Some(x)) = (issued, expires) {
        if x <= i {
            errors.push(Error::new(
                "cert_expires_on",
                "standard.dates_out_of_order",
                format!("the certificate expires ({x}) on or before it was issued ({i})"),
            ));
        }
    }
    let status_text = if input.status.trim().is_empty() {
        "in_service"
    } else {
        input.status.trim()
    };
    let status = Status::parse(status_text).unwrap_or_else(|| {
        errors.push(Error::new(
            "status",
            "standard.status_invalid",
            format!("choose one of: {}", Status::choices()),
        ));
        Status::InService
    });
    let quantity = QuantityKind::parse(input.quantity.trim());
    if quantity.is_none() || quantity == Some(QuantityKind::TemperatureInterval) {
        let names: Vec<&str> = QuantityKind::ALL
            .iter()
            .filter(|k| **k != QuantityKind::TemperatureInterval)
            .map(|k| k.as_str())
            .collect();
        errors.push(Error::new(
            "quantity",
            "standard.quantity_invalid",
            format!("choose one of: {}", names.join(", ")),
        ));
    }
    let mut range = (0.0, 0.0, "", "");
    let mut accuracy = (None, None, String::new());
    let accuracy_kind = AccuracyKind::parse(&input.accuracy_kind).unwrap_or_else(|| {
        errors.push(Error::new(
            "accuracy_kind",
            "standard.accuracy_kind_invalid",
            format!("choose one of: {}", AccuracyKind::choices()),
        ));
        AccuracyKind::Uncertainty
    });
    if let Some(kind) = quantity.filter(|k| *k != QuantityKind::TemperatureInterval) {
        let min = parse_quantity("range_min", &input.range_min, kind)
            .map_err(|e| errors.push(e))
            .ok();
        let max = parse_quantity("range_max", &input.range_max, kind)
            .map_err(|e| errors.push(e))
            .ok();
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo.si > hi.si {
                errors.push(Error::new(
                    "range_max",
                    "standard.range_inverted",
                    format!(
                        "the upper limit {} is below the lower limit {}",
                        hi.display(),
                        lo.display()
                    ),
                ));
            }
            range = (lo.si, hi.si, lo.unit, hi.unit);
        }
        match accuracy_kind {
            AccuracyKind::AccuracyClass => {
                accuracy.2 = required(&mut errors, "accuracy", &input.accuracy, 64);
            }
            AccuracyKind::Uncertainty | AccuracyKind::Mpe => match parse_tolerance("accuracy", &input.accuracy, kind) {
                Ok(q) if q.si < 0.0 => errors.push(Error::new(
                    "accuracy",
                    "standard.accuracy_negative",
                    "an uncertainty or MPE is stated as a non-negative value (the ± is implied)",
                )),
                Ok(q) => accuracy = (Some(q.si), Some(q.unit), q.display()),
                Err(e) => errors.push(e),
            },
        }
    }
    let regulations = optional(&mut errors, "regulations", &input.regulations, 500);
    let responsible_person = required(&mut errors, "responsible_person", &input.responsible_person, 100);

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(StandardDraft {
        name_zh,
        name_en,
        category_code,
        owner_code,
        level,
        cert_no,
        cert_authority,
        cert_issued_on: issued.expect("checked"),
        cert_expires_on: expires.expect("checked"),
        status,
        quantity: quantity.expect("checked"),
        range_min_si: range.0,
        range_max_si: range.1,
        range_min_unit: range.2,
        range_max_unit: range.3,
        accuracy_kind,
        accuracy_si: accuracy.0,
        accuracy_unit: accuracy.1,
        accuracy_text: accuracy.2,
        regulations,
        responsible_person,
    })
}

/// An organisation as submitted (form or CSV row): every field is text, as typed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct OrganisationInput {
    pub code: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    /// The GB/T 2260 code of its city.
    pub city: String,
    /// The street address its certificates print (ISO/IEC 17025 §7.8.2.1 b).
    pub address: String,
}

impl OrganisationInput {
    pub const FIELDS: &'static [&'static str] = &["code", "kind", "name_zh", "name_en", "city", "address"];

    pub fn entries(&self) -> [(&'static str, &str); 6] {
        [
            ("code", &self.code),
            ("kind", &self.kind),
            ("name_zh", &self.name_zh),
            ("name_en", &self.name_en),
            ("city", &self.city),
            ("address", &self.address),
        ]
    }

    pub fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name {
            "code" => &mut self.code,
            "kind" => &mut self.kind,
            "name_zh" => &mut self.name_zh,
            "name_en" => &mut self.name_en,
            "city" => &mut self.city,
            "address" => &mut self.address,
            _ => return None,
        })
    }
}

impl super::TextFields for OrganisationInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        self.field_mut(name)
    }
}

impl super::TextFields for StandardInput {
    fn text_field_mut(&mut self, name: &str) -> Option<&mut String> {
        self.field_mut(name)
    }
}

/// A checked organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationDraft {
    pub code: String,
    pub kind: OrgKind,
    pub name_zh: String,
    pub name_en: String,
    pub region_code: Option<String>,
    pub address: String,
}

/// Checks an organisation: its kind, its code against the kind (GB 32100 for
/// organisations registered in China), its names, and its city (required for
/// organisations in China). Every field error at once.
pub fn validate_organisation(
    input: &OrganisationInput,
    known_region: impl Fn(&str) -> bool,
) -> Result<OrganisationDraft, Vec<Error>> {
    let mut errors = Vec::new();
    let kind = OrgKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(Error::new(
            "kind",
            "organisation.kind_invalid",
            format!("'{}' is not one of: {}", input.kind.trim(), OrgKind::choices()),
        ));
    }
    let code = kind.and_then(|k| {
        validate_org_code("code", k, &input.code)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let name_zh = input.name_zh.trim();
    if name_zh.is_empty() || name_zh.chars().count() > 200 {
        errors.push(Error::new(
            "name_zh",
            "field.missing",
            "a name of 1 to 200 characters is required",
        ));
    }
    let name_en = input.name_en.trim();
    if name_en.chars().count() > 200 {
        errors.push(Error::new("name_en", "field.too_long", "at most 200 characters"));
    }
    let address = input.address.trim();
    if address.chars().count() > 300 {
        errors.push(Error::new("address", "field.too_long", "at most 300 characters"));
    }
    let city = input.city.trim();
    let region_code = if city.is_empty() {
        if kind.is_some_and(OrgKind::has_uscc) {
            errors.push(Error::new(
                "city",
                "field.missing",
                "the city (GB/T 2260 code) is required",
            ));
        }
        None
    } else if known_region(city) {
        Some(city.to_owned())
    } else {
        errors.push(Error::new(
            "city",
            "region.code_invalid",
            format!("'{city}' is not a GB/T 2260 code in the register"),
        ));
        None
    };
    match (kind, code) {
        (Some(kind), Some(code)) if errors.is_empty() => Ok(OrganisationDraft {
            code,
            kind,
            name_zh: name_zh.to_owned(),
            name_en: name_en.to_owned(),
            region_code,
            address: address.to_owned(),
        }),
        _ => Err(errors),
    }
}

/// Checks an organisation's identifying code against its kind.
pub fn validate_org_code(field: &str, kind: OrgKind, code: &str) -> Result<String, Error> {
    if kind.has_uscc() {
        validate_uscc(field, code)
    } else {
        let c = code.trim();
        if c.is_empty() || c.len() > 64 {
            Err(Error::new(
                field,
                "organisation.code_invalid",
                "an identifier of 1 to 64 characters is required",
            ))
        } else {
            Ok(c.to_owned())
        }
    }
}

/// The text the register's full-text search matches against: name, English name,
/// JJF 1022 code, certificate number and owner, in [`search_form`].
pub fn search_text(name_zh: &str, name_en: &str, category_code: &str, cert_no: &str, owner_name: &str) -> String {
    search_form(&format!("{name_zh} {name_en} {category_code} {cert_no} {owner_name}"))
}

/// The form in which both the indexed text and a search term are compared: lower
/// case, with a space after every non-ASCII character.
///
/// Trigram indexes need three characters, and Chinese search words are often two
/// ("砝码", "压力"). With the space, "砝码" is searched as "砝 码 ", which a trigram
/// index answers. Because every character maps to the same text wherever it stands
/// and search terms never contain whitespace, a term is a substring of a text exactly
/// when its search form is a substring of the text's search form.
pub fn search_form(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars().flat_map(char::to_lowercase) {
        out.push(c);
        if !c.is_ascii() {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod organisation_tests {
    use super::*;

    #[test]
    fn an_organisation_is_checked_field_by_field() {
        let ok = OrganisationInput {
            // The worked example of GB 32100-2015 (check character Y).
            code: "91350100M000100Y43".into(),
            kind: "enterprise".into(),
            name_zh: "福州某企业".into(),
            name_en: String::new(),
            city: "440100".into(),
            address: "福州市鼓楼区示例路 1 号".into(),
        };
        let d = validate_organisation(&ok, |c| c == "440100").unwrap();
        assert_eq!(d.address, "福州市鼓楼区示例路 1 号");
        assert_eq!(
            (d.kind, d.region_code.as_deref()),
            (OrgKind::Enterprise, Some("440100"))
        );
        let bad = OrganisationInput {
            code: "91350100M000100Y44".into(),
            name_zh: " ".into(),
            city: "999999".into(),
            address: "路".repeat(301),
            ..ok.clone()
        };
        let errors = validate_organisation(&bad, |c| c == "440100").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "name_zh", "address", "city"]);
        let unknown_kind = OrganisationInput {
            kind: "ministry".into(),
            ..ok
        };
        assert_eq!(
            validate_organisation(&unknown_kind, |_| true).unwrap_err()[0].code,
            "organisation.kind_invalid"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    pub(crate) fn sample() -> StandardInput {
        StandardInput {
            name_zh: "量块标准装置".into(),
            name_en: "Gauge block standard".into(),
            category_code: "01219000".into(),
            owner: "91350100M000100Y43".into(),
            level: "provincial_public".into(),
            cert_no: "[2024]粤社量标证字第0001号".into(),
            cert_authority: "广东省市场监督管理局".into(),
            cert_issued_on: "2024-03-01".into(),
            cert_expires_on: "2028-02-29".into(),
            status: "in_service".into(),
            quantity: "length".into(),
            range_min: "0.5 mm".into(),
            range_max: "100 mm".into(),
            accuracy_kind: "uncertainty".into(),
            accuracy: "0.05 µm".into(),
            regulations: "JJG 146-2011".into(),
            responsible_person: "李工".into(),
        }
    }

    #[test]
    fn expiry_is_derived_from_the_certificate_date() {
        let exp = d("2026-06-30");
        assert_eq!(
            effective_status(Status::InService, exp, d("2026-06-30")),
            Status::InService
        );
        assert_eq!(
            effective_status(Status::InService, exp, d("2026-07-01")),
            Status::Expired
        );
        // A withdrawn or suspended standard keeps its recorded status.
        assert_eq!(
            effective_status(Status::Withdrawn, exp, d("2027-01-01")),
            Status::Withdrawn
        );
        assert_eq!(
            effective_status(Status::Suspended, exp, d("2027-01-01")),
            Status::Suspended
        );
    }

    #[test]
    fn a_valid_standard_is_typed() {
        let s = validate_standard(&sample()).unwrap();
        assert_eq!(s.quantity, QuantityKind::Length);
        assert!((s.range_min_si - 0.0005).abs() < 1e-15);
        assert!((s.range_max_si - 0.1).abs() < 1e-15);
        assert_eq!((s.range_min_unit, s.range_max_unit), ("mm", "mm"));
        assert!((s.accuracy_si.unwrap() - 5e-8).abs() < 1e-20);
        assert_eq!(s.accuracy_text, "0.05 µm");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut i = sample();
        i.category_code = "0100".into();
        i.range_max = "0.5 kg".into();
        i.cert_expires_on = "2020-01-01".into();
        i.level = "galactic".into();
        i.name_zh = "  ".into();
        let errs = validate_standard(&i).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in ["category_code", "range_max", "cert_expires_on", "level", "name_zh"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        let dates = errs.iter().find(|e| e.field == "cert_expires_on").unwrap();
        assert_eq!(dates.code, "standard.dates_out_of_order");
    }

    #[test]
    fn inverted_range_and_temperature_accuracy() {
        let mut i = sample();
        i.range_min = "200 mm".into();
        let errs = validate_standard(&i).unwrap_err();
        assert_eq!(errs[0].code, "standard.range_inverted");

        let mut t = sample();
        t.quantity = "temperature".into();
        t.range_min = "-60 °C".into();
        t.range_max = "300 °C".into();
        t.accuracy = "0.03 °C".into();
        let s = validate_standard(&t).unwrap();
        assert!((s.range_min_si - 213.15).abs() < 1e-9);
        // The uncertainty is a temperature difference: 0.03 K, not 273.18 K.
        assert!((s.accuracy_si.unwrap() - 0.03).abs() < 1e-12);
    }

    #[test]
    fn accuracy_class_is_kept_as_text() {
        let mut i = sample();
        i.accuracy_kind = "accuracy_class".into();
        i.accuracy = "0.02级".into();
        let s = validate_standard(&i).unwrap();
        assert_eq!(s.accuracy_si, None);
        assert_eq!(s.accuracy_text, "0.02级");
    }

    #[test]
    fn search_form_keeps_substrings_and_only_substrings() {
        assert_eq!(search_form("砝码E2"), "砝 码 e2");
        let text = search_text(
            "E2等级砝码标准装置",
            "Class E2 weights",
            "12900100",
            "[2025]粤社量标证字第000038号",
            "深圳市计量院",
        );
        for term in [
            "砝码",
            "等级砝码",
            "e2",
            "class e2",
            "000038号",
            "第000038",
            "深圳",
            "12900100",
        ] {
            assert!(text.contains(&search_form(term)), "{term}");
        }
        // Not substrings of the original (they straddle a space between fields, or skip
        // a character): not substrings of the search form either.
        for term in ["装置class", "码装", "深市", "号深圳"] {
            assert!(!text.contains(&search_form(term)), "{term}");
        }
    }

    #[test]
    fn org_codes_follow_the_kind() {
        assert!(validate_org_code("code", OrgKind::Institute, "91350100M000100Y43").is_ok());
        assert!(validate_org_code("code", OrgKind::Institute, "PTB").is_err());
        assert_eq!(validate_org_code("code", OrgKind::ExternalNmi, "PTB").unwrap(), "PTB");
    }
}
