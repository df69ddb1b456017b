//! Reference data shipped in calibration-data/: the cities of the province (GB/T 2260)
//! and the JJF 1022-2014 classification. Loaded at every start; loading is idempotent.

use super::Result;
use crate::store::entities::{category, region};
use crate::store::reference;
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Deserialize;

pub const REGIONS_CSV: &str = include_str!("../../calibration-data/regions.csv");
pub const JJF1022_CSV: &str = include_str!("../../calibration-data/jjf1022.csv");
pub const TEMPLATES_CSV: &str = include_str!("../../calibration-data/generator/templates.csv");

#[derive(Debug, Clone, Deserialize)]
pub struct RegionRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub parent_code: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CategoryRow {
    pub code: String,
    pub level: i16,
    pub name_zh: String,
    pub name_en: String,
    pub source: String,
}

/// A kind of standard the generator can produce, with a provincial temporary
/// JJF 1022 code under the catch-all 90 (JJF 1022-2014 §4.2(4)).
#[derive(Debug, Clone, Deserialize)]
pub struct TemplateRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub quantity: String,
    pub range_min: String,
    pub range_max: String,
    pub accuracy_kind: String,
    pub accuracy: String,
    pub regulations: String,
    /// "名称|English name" of the main standard device.
    pub standard_devices: String,
    /// Auxiliary equipment names, separated by "|".
    pub auxiliary: String,
    /// Relative frequency among the province's standards.
    pub weight: u32,
}

fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Vec<T> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<std::result::Result<Vec<T>, _>>()
        .expect("reference CSV shipped with metrocal is well-formed (checked by tests)")
}

pub fn regions() -> Vec<RegionRow> {
    parse(REGIONS_CSV)
}

/// The prefecture-level cities (without the province itself).
pub fn cities() -> Vec<RegionRow> {
    regions().into_iter().filter(|r| !r.parent_code.is_empty()).collect()
}

pub fn categories() -> Vec<CategoryRow> {
    let mut rows: Vec<CategoryRow> = parse(JJF1022_CSV);
    for t in templates() {
        rows.push(CategoryRow {
            level: 3,
            source: "provincial temporary code under the JJF 1022-2014 catch-all 90 (metrocal generator)".into(),
            code: t.code,
            name_zh: t.name_zh,
            name_en: t.name_en,
        });
    }
    rows
}

pub fn templates() -> Vec<TemplateRow> {
    parse(TEMPLATES_CSV)
}

/// Writes the reference tables (insert or update by code).
pub async fn load(db: &DatabaseConnection) -> Result<()> {
    let txn = crate::store::begin(db).await?;
    let regions: Vec<region::ActiveModel> = regions()
        .into_iter()
        .map(|r| region::ActiveModel {
            code: Set(r.code),
            name_zh: Set(r.name_zh),
            name_en: Set(r.name_en),
            parent_code: Set(Some(r.parent_code).filter(|p| !p.is_empty())),
            ..Default::default()
        })
        .collect();
    reference::upsert_regions(&txn, regions).await?;
    let cats: Vec<category::ActiveModel> = categories()
        .into_iter()
        .map(|c| category::ActiveModel {
            code: Set(c.code),
            level: Set(c.level),
            name_zh: Set(c.name_zh),
            name_en: Set(c.name_en),
            source: Set(c.source),
            ..Default::default()
        })
        .collect();
    reference::upsert_categories(&txn, cats).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::{validate_jjf1022, validate_region_code, JJF1022_LEVEL1};
    use crate::domain::register::{validate_standard, StandardInput};

    #[test]
    fn guangdong_has_21_prefecture_level_cities() {
        let cities = cities();
        assert_eq!(cities.len(), 21);
        for c in &cities {
            validate_region_code("code", &c.code).unwrap();
            assert!(c.code.starts_with("44"), "{}", c.code);
        }
        assert!(cities.iter().any(|c| c.code == "440300" && c.name_zh == "深圳市"));
    }

    #[test]
    fn every_level1_code_is_in_the_table() {
        let cats = categories();
        for (code, zh, _) in JJF1022_LEVEL1 {
            let row = cats.iter().find(|c| c.code == format!("{code}000000")).unwrap();
            assert_eq!(&row.name_zh, zh);
        }
    }

    #[test]
    fn templates_are_valid_standards() {
        for t in templates() {
            validate_jjf1022("code", &t.code).unwrap();
            let input = StandardInput {
                name_zh: t.name_zh.clone(),
                category_code: t.code.clone(),
                owner: "x".into(),
                level: "city_public".into(),
                cert_no: "x".into(),
                cert_authority: "x".into(),
                cert_issued_on: "2024-01-01".into(),
                cert_expires_on: "2028-01-01".into(),
                quantity: t.quantity.clone(),
                range_min: t.range_min.clone(),
                range_max: t.range_max.clone(),
                accuracy_kind: t.accuracy_kind.clone(),
                accuracy: t.accuracy.clone(),
                responsible_person: "x".into(),
                ..Default::default()
            };
            validate_standard(&input).unwrap_or_else(|e| panic!("{}: {e:?}", t.code));
        }
    }
}
