//! The demo data set's completed work, made at first start through the same services a
//! laboratory uses: the laboratories' street addresses and CMC tables, the calibrations
//! of the standards they use, and three work orders recorded, signed by a technician, a
//! reviewer and an approver, and issued: the centre's calibration certificate for
//! enterprise A (then amended), the institute's verification certificate for A and its
//! verification result notice for enterprise B. A new user sees the portal, the records
//! behind the certificates and the verification page working at once.
//!
//! The dates are fixed (November 2026), so the demo reads the same whenever it is loaded.

use super::certificates::amend;
use super::keys::KeyStore;
use super::records::{PointInput, RecordInput};
use super::traceability::CalibrationInput;
use super::{Actor, Error, Result};
use crate::store::entities::{organisation, work_order};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};

pub const INSTITUTE: &str = "124400001JA7N1F563";
pub const CENTRE: &str = "1244010002E6HRCU7H";
pub const ENTERPRISE_A: &str = "91440100KMJQMXMD0D";
pub const ENTERPRISE_B: &str = "91440100AUX54FQR6X";

/// The day the demo's certificates are issued.
const ISSUED_ON: &str = "2026-11-25";

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a demo date")
}

async fn org(db: &DatabaseConnection, code: &str) -> Result<organisation::Model> {
    crate::store::organisations::organisation_by_code(db, code)
        .await?
        .ok_or(Error::NotFound {
            what: "demo organisation",
        })
}

async fn standard_by_cert(db: &DatabaseConnection, cert_no: &str) -> Result<i32> {
    Ok(crate::store::standards::standard_by_cert_no(db, cert_no)
        .await?
        .ok_or(Error::NotFound { what: "demo standard" })?
        .id)
}

async fn instrument_by_serial(db: &DatabaseConnection, owner: i32, serial: &str) -> Result<(i32, String, String)> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let i = crate::store::entities::instrument::Entity::find()
        .filter(crate::store::entities::instrument::Column::OwnerId.eq(owner))
        .filter(crate::store::entities::instrument::Column::Serial.eq(serial))
        .one(db)
        .await?
        .ok_or(Error::NotFound {
            what: "demo instrument",
        })?;
    Ok((i.id, i.category_code, format!("{} {}", i.name, i.serial)))
}

/// A work order in calibration at `lab` for an instrument of `owner`.
async fn in_calibration(
    operator: &Actor,
    db: &DatabaseConnection,
    lab: i32,
    owner: i32,
    serial: &str,
    now: DateTime<Utc>,
) -> Result<i32> {
    let (id, category, label) = instrument_by_serial(db, owner, serial).await?;
    let txn = crate::store::begin(db).await?;
    let mut rows = crate::store::work_orders::insert_work_orders(
        &txn,
        vec![work_order::ActiveModel {
            lab_id: Set(lab),
            item_kind: Set("instrument".into()),
            item_id: Set(id),
            owner_id: Set(owner),
            category_code: Set(category),
            label: Set(label),
            due_on: Set(Some(day("2026-12-01"))),
            planned_on: Set(day("2026-11-23")),
            status: Set(crate::domain::work_orders::WorkOrderStatus::InCalibration
                .as_str()
                .into()),
            note: Set(String::new()),
            created_by: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }],
    )
    .await?;
    let w = rows.pop().expect("one inserted");
    super::work_orders::audit_created(&txn, operator, now, &w, "demo").await?;
    txn.commit().await?;
    Ok(w.id)
}

/// Records the work order's results and takes the three signatures; the approval
/// issues the certificate. Returns its number.
async fn record_and_sign(
    db: &DatabaseConnection,
    keys: &KeyStore,
    work_order: i32,
    input: RecordInput,
    now: DateTime<Utc>,
) -> Result<String> {
    let technician = Actor::system("李明（示例检定员 / sample technician）");
    let r = super::records::record(&technician, db, work_order, &input, day(ISSUED_ON), now).await?;
    sign_all(db, keys, r.id, now).await
}

/// The demo's technician, reviewer and approver sign the record in turn; the approval
/// issues the certificate. Returns its number.
async fn sign_all(db: &DatabaseConnection, keys: &KeyStore, record: i32, now: DateTime<Utc>) -> Result<String> {
    let technician = Actor::system("李明（示例检定员 / sample technician）");
    let reviewer = Actor::system("王芳（示例核验员 / sample reviewer）");
    let approver = Actor::system("陈刚（示例批准人 / sample approver）");
    for signer in [&technician, &reviewer, &approver] {
        let s = super::records::sign(signer, db, keys, record, "", "demo", day(ISSUED_ON), now).await?;
        if let Some(number) = s.certificate {
            return Ok(number);
        }
    }
    Err(Error::Internal("the demo record was not issued".into()))
}

fn point(nominal: &str, reference: &str, readings: &str, u: &str, mpe: &str) -> PointInput {
    PointInput {
        nominal: nominal.into(),
        reference: reference.into(),
        readings: readings.into(),
        u: u.into(),
        k: "2".into(),
        p: "0.95".into(),
        mpe: mpe.into(),
        ..Default::default()
    }
}

fn record(kind: &str, method: &str, standards: Vec<i32>, points: Vec<PointInput>) -> RecordInput {
    RecordInput {
        kind: kind.into(),
        method: method.into(),
        decision_rule: "simple".into(),
        received_on: "2026-11-20".into(),
        calibrated_on: "2026-11-24".into(),
        temperature: "20.2 °C".into(),
        humidity: "48 %".into(),
        standards,
        points,
        condition_on_receipt: "外观完好，工作正常 / in good order, working".into(),
        ..Default::default()
    }
}

/// Makes the demo's completed work. Runs once, right after the demo data set is loaded.
pub async fn complete(db: &DatabaseConnection, keys: &KeyStore, now: DateTime<Utc>) -> Result<()> {
    let operator = Actor::system("first start");
    let institute = org(db, INSTITUTE).await?;
    let centre = org(db, CENTRE).await?;
    let customer_a = org(db, ENTERPRISE_A).await?;
    let customer_b = org(db, ENTERPRISE_B).await?;

    // Street addresses (ISO/IEC 17025 §7.8.2.1 b), as each organisation's page keeps them.
    for (o, address) in [
        (&institute, "广州市天河区黄埔大道西 1 号（示例地址）"),
        (&centre, "广州市黄埔区科学大道 88 号（示例地址）"),
        (&customer_a, "广州市番禺区市桥街示例路 12 号"),
        (&customer_b, "广州市白云区示例工业园 3 栋"),
    ] {
        let mut input = super::organisations::edit_form(&operator, db, o.id).await?;
        input.address = address.into();
        super::organisations::update(&operator, db, o.id, &input, now).await?;
    }

    // The centre's dial indicator calibrator standard (in the demo data set) is
    // calibrated at NIM; the institute's weights there too, its balance standard at an
    // accredited laboratory.
    let centre_standard = standard_by_cert(db, "[2026]粤社量标证字第000201号").await?;
    let e2 = standard_by_cert(db, "[2025]粤社量标证字第000038号").await?;
    let balance = standard_by_cert(db, "[2025]粤社量标证字第000085号").await?;
    for (standard, provider, number, on, until, u) in [
        (
            centre_standard,
            "NIM-CN",
            "NIM-L2026-0318",
            "2026-03-18",
            "2027-03-17",
            "0.3 µm",
        ),
        (e2, "NIM-CN", "NIM-M2026-0412", "2026-04-12", "2027-04-11", "0.05 mg"),
        (
            balance,
            "CNAS-L0101",
            "L0101-2026-0907",
            "2026-09-07",
            "2027-09-06",
            "0.1 mg",
        ),
    ] {
        // A standard's calibration by an upstream provider, as a laboratory records it.
        let link = CalibrationInput {
            item_kind: "standard".into(),
            item_id: standard.to_string(),
            provider: provider.into(),
            provider_evidence: "KCDB / CNAS".into(),
            certificate_no: number.into(),
            calibrated_on: on.into(),
            valid_until: until.into(),
            uncertainty: u.into(),
            ..Default::default()
        };
        super::traceability::record_calibration(&operator, db, &link, now).await?;
    }

    // CMC tables: what each laboratory may report at best, range by range.
    for (lab, quantity, min, max, cmc, relative) in [
        (centre.id, "length", "0 mm", "50 mm", "1.0 µm", "5 ppm"),
        (institute.id, "mass", "1 mg", "20 kg", "0.1 mg", "0.2 ppm"),
        (institute.id, "mass", "20 kg", "200 kg", "10 mg", "0.5 ppm"),
    ] {
        let input = super::cmc::CmcInput {
            quantity: quantity.into(),
            range_min: min.into(),
            range_max: max.into(),
            cmc: cmc.into(),
            cmc_relative: relative.into(),
            method: String::new(),
        };
        super::cmc::add(&operator, db, lab, &input, now).await?;
    }

    // The centre calibrates enterprise A's dial indicator calibrator: errors of a few
    // µm; at 50 mm the U typed (1.0 µm) is below the CMC there (1.25 µm) and is raised.
    let wo = in_calibration(&operator, db, centre.id, customer_a.id, "SN00000033", now).await?;
    let calibration = record_and_sign(
        db,
        keys,
        wo,
        record(
            "calibration",
            "JJG 34-2022",
            vec![centre_standard],
            vec![
                point("10 mm", "10.0000 mm", "10.0043 10.0044 10.0042", "1.5 µm", ""),
                point("25 mm", "25.0000 mm", "25.0065 25.0066 25.0064", "1.5 µm", ""),
                point("50 mm", "50.0000 mm", "50.0081 50.0080 50.0082", "1.0 µm", ""),
            ],
        ),
        now,
    )
    .await?;
    // Amended: the model designation was written short. The record's revision 2 is
    // signed again, and its approval issues the amending certificate.
    let revision = amend(
        &Actor::system("李明（示例检定员 / sample technician）"),
        db,
        &calibration,
        "型号规格更正 / model designation corrected",
        &serde_json::json!({"item": {"model": "FL-445（0–50 mm）"}}),
        "",
        "demo",
        day(ISSUED_ON),
        now,
    )
    .await?;
    sign_all(db, keys, revision.record_id, now).await?;

    // The institute verifies enterprise A's 1 kg E2 weight (+1.1 mg within ±5 mg: pass,
    // a verification certificate) and enterprise B's electronic balance (+0.355 g at
    // 200 g against ±0.2 g: fail, a result notice).
    for (customer, serial, method, standard, p) in [
        (
            customer_a.id,
            "SN00000019",
            "JJG 99-2022",
            e2,
            point("1 kg", "1 kg", "1.0000012 1.0000010 1.0000011", "0.5 mg", "±5 mg"),
        ),
        (
            customer_b.id,
            "SN00000048",
            "JJG 1036-2022",
            balance,
            point("200 g", "200 g", "200.35 200.36", "0.02 g", "±0.2 g"),
        ),
    ] {
        let wo = in_calibration(&operator, db, institute.id, customer, serial, now).await?;
        let input = record("verification", method, vec![standard], vec![p]);
        record_and_sign(db, keys, wo, input, now).await?;
    }
    Ok(())
}
