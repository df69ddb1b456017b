//! A standard's assessment lifecycle through the app: checks recorded with typed units
//! and their verdicts, the logbook, the renewal package's gaps with their dates, the
//! renewal reminders sent once per milestone, and an expired standard refused as a
//! reference.

use crate::support::{TestApp, INSTITUTE};
use metrocal::domain::units::QuantityKind;
use metrocal::service::{schedule, Actor};
use sea_orm::ConnectionTrait;
use serde_json::json;

async fn notifications(app: &TestApp, kind: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM notifications WHERE kind = '{kind}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[rocket::async_test]
async fn checks_logbook_gaps_reminders_and_an_expired_reference() {
    let app = TestApp::demo().await;
    let institute = app.organisation_id(INSTITUTE).await;
    let (_, page) = app
        .get_json(&format!("/api/v1/standards?owner={institute}&per_page=2"))
        .await;
    let id = page["items"][0]["id"].as_i64().unwrap();
    let other = page["items"][1]["id"].as_i64().unwrap();
    let technician = app.user_in("technician", INSTITUTE).await;
    let holder = app.user("enterprise").await;
    let uri = format!("/api/v1/standards/{id}/lifecycle");
    let (status, v) = app.get_as(&technician, &uri).await;
    assert_eq!(status, 200, "{v}");
    let (status, _) = app.get_as(&holder, &uri).await;
    assert_eq!(
        status, 404,
        "another organisation's standard's lifecycle does not exist for it"
    );
    let kind = QuantityKind::parse(v["quantity"].as_str().unwrap()).expect("a kind of quantity");
    let unit = kind.si_symbol();
    let wrong = if kind == QuantityKind::Mass { "m" } else { "kg" };

    // Stability of a new standard: four group means more than a month apart.
    // JJF 1033-2023 C.1.2: max − min = 10.0021 − 10.0012 = 0.0009 < 0.001: pass.
    let checks = format!("/api/v1/standards/{id}/checks");
    let stability = json!({
        "kind": "stability", "performed_on": "2026-04-15", "unit": unit,
        "values": "2026-01-10 10.0015\n2026-02-11 10.0021\n2026-03-12 10.0012\n2026-04-15 10.0018",
        "limit": format!("0.001 {unit}"), "limit_source": "mpe",
    });
    let (status, r) = app.post_as(&technician, &checks, stability.clone()).await;
    assert_eq!((status, r["passed"].as_bool()), (201, Some(true)), "{r}");
    // A limit in a unit of another kind, and three means, are refused by field.
    let mut bad = stability.clone();
    bad["limit"] = json!(format!("0.001 {wrong}"));
    bad["values"] = json!("2026-01-10 1\n2026-03-10 1\n2026-05-10 1");
    let (status, e) = app.post_as(&technician, &checks, bad).await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["limit"].is_string(), "{e}");
    let mut few = stability.clone();
    few["values"] = json!("2026-01-10 1\n2026-03-10 1\n2026-05-10 1");
    let (status, e) = app.post_as(&technician, &checks, few).await;
    assert!(status == 422 && e["error"]["fields"]["values"].is_string(), "{e}");
    // Repeatability: s = 0.001636391694485729 (Python statistics.stdev) against 0.0017 and 0.0016.
    let readings = "100.012 100.015 100.011 100.013 100.016 100.012 100.014 100.013 100.015 100.012";
    let (status, r) = app
        .post_as(
            &technician,
            &checks,
            json!({"kind": "repeatability", "performed_on": "2026-05-01", "unit": unit, "values": readings,
               "limit": format!("0.0017 {unit}"), "limit_source": "budget"}),
        )
        .await;
    assert_eq!((status, r["passed"].as_bool()), (201, Some(true)), "{r}");
    let (status, r) = app
        .post_as(
            &technician,
            &checks,
            json!({"kind": "repeatability", "performed_on": "2026-05-02", "unit": unit, "values": readings,
               "limit": format!("0.0016 {unit}"), "limit_source": "budget"}),
        )
        .await;
    assert_eq!((status, r["passed"].as_bool()), (201, Some(false)), "{r}");
    assert!(r["warning"].is_null(), "ten readings: {r}");
    // Six readings are recorded, with the warning that JJF 1033-2023 asks for ten.
    let (status, r) = app
        .post_as(
            &technician,
            &checks,
            json!({"kind": "repeatability", "performed_on": "2026-05-03", "unit": unit,
               "values": "100.012 100.015 100.011 100.013 100.016 100.012",
               "limit": format!("0.0017 {unit}"), "limit_source": "budget"}),
        )
        .await;
    assert_eq!(
        (status, r["warning"].as_str()),
        (201, Some("check.few_readings")),
        "{r}"
    );
    assert_eq!(app.events("standard_check.create").await, 4);
    // The enterprise cannot record a check on the institute's standard.
    let (status, _) = app.post_as(&holder, &checks, stability.clone()).await;
    assert_eq!(status, 404);

    // The logbook.
    let logbook = format!("/api/v1/standards/{id}/logbook");
    let (status, _) = app
        .post_as(
            &technician,
            &logbook,
            json!({"kind": "staff", "occurred_on": "2026-06-01", "description": "检定员张三调离，李四接任"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, e) = app
        .post_as(
            &technician,
            &logbook,
            json!({"kind": "coffee", "occurred_on": "2026-06-01", "description": ""}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["kind"].is_string() && e["error"]["fields"]["description"].is_string());
    assert_eq!(app.events("logbook.create").await, 1);

    // The renewal package: a certificate issued 2024-03-01, valid to 2028-02-29; one
    // device with certificates to 2025-01-31 and from 2025-03-01: a gap in February 2025.
    app.sql(&format!(
        "UPDATE standards SET cert_issued_on = '2024-03-01', cert_expires_on = '2028-02-29' WHERE id = {id}"
    ))
    .await;
    app.sql(&format!("DELETE FROM devices WHERE standard_id = {id} AND id NOT IN (SELECT MIN(id) FROM devices WHERE standard_id = {id})")).await;
    let device: i64 = {
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                format!("SELECT MIN(id) AS id FROM devices WHERE standard_id = {id}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i32>("", "id").unwrap() as i64
    };
    app.sql(&format!(
        "DELETE FROM calibrations WHERE item_kind = 'device' AND item_id = {device}"
    ))
    .await;
    let now = "2026-01-01T00:00:00Z";
    for (cert, on, until) in [
        ("D-2024", "2024-02-01", "2025-01-31"),
        ("D-2025", "2025-03-01", "2026-02-28"),
        ("D-2026", "2026-03-01", "2027-02-28"),
    ] {
        app.sql(&format!(
                "INSERT INTO calibrations (item_kind, item_id, provider_evidence, certificate_no, calibrated_on, \
                 valid_until, source, created_at) VALUES ('device', {device}, '', '{cert}', '{on}', '{until}', 'manual', '{now}')"
            ),
        )
        .await;
    }
    let (_, v) = app.get_as(&technician, &uri).await;
    let gaps = v["gaps"].as_array().unwrap();
    let device_gaps: Vec<(&str, &str)> = gaps
        .iter()
        .filter(|g| g["kind"] == "device_certificate")
        .map(|g| (g["from"].as_str().unwrap(), g["to"].as_str().unwrap()))
        .collect();
    assert_eq!(device_gaps, [("2025-02-01", "2025-02-28")], "{gaps:?}");
    // The first certificate year (2024-03-01 to 2025-02-28) had no checks recorded.
    assert!(gaps
        .iter()
        .any(|g| g["kind"] == "stability" && g["from"] == "2024-03-01" && g["to"] == "2025-02-28"));
    // JJF 1033-2023: apply at least six months before expiry (valid to 2028-02-29: by
    // 2027-08-29); reminders from nine months before (2027-05-29).
    assert_eq!(v["application_deadline"], "2027-08-29");
    assert_eq!(v["renewal_opens"], "2027-05-29");

    // Reminders: the deadline day once, then the application overdue once.
    let operator = Actor::system("test");
    let run = |d: &'static str| schedule::run_daily(&operator, &app.db, day(d), chrono::Utc::now());
    let before = notifications(&app, "renewal").await;
    run("2027-08-28").await.unwrap();
    let s1 = run("2027-08-29").await.unwrap();
    assert!(s1.reminders.renewal >= 1, "{s1:?}");
    let after = notifications(&app, "renewal").await;
    assert!(after > before, "the scheduler and admin of the institute are told");
    let s2 = run("2027-08-29").await.unwrap();
    assert_eq!(s2.reminders.renewal, 0);
    assert_eq!(notifications(&app, "renewal").await, after, "nothing twice");
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n FROM reminders WHERE subject_id = {id} AND milestone = 'renewal:2028-02-29:6m'"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1);
    // The day after the deadline: overdue, once; no more before expiry.
    let s3 = run("2027-08-30").await.unwrap();
    assert!(s3.reminders.renewal >= 1, "overdue: {s3:?}");
    run("2027-11-29").await.unwrap();
    let milestones = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT milestone FROM reminders WHERE subject_id = {id} AND milestone LIKE 'renewal:2028-02-29:%' \
                 ORDER BY id"
            ),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "milestone").unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        milestones,
        [
            "renewal:2028-02-29:7m",
            "renewal:2028-02-29:6m",
            "renewal:2028-02-29:overdue"
        ],
        "every reminder before the deadline, then the overdue one"
    );

    // A standard whose certificate had expired on the day cannot be the reference.
    app.sql(&format!(
        "UPDATE standards SET cert_expires_on = '2026-03-31' WHERE id = {other}"
    ))
    .await;
    let admin = app.user("institute_admin").await;
    let link = |on: &str| {
        json!({"item_kind": "standard", "item_id": id, "reference_kind": "standard", "reference_id": other,
               "certificate_no": format!("X-{on}"), "calibrated_on": on, "valid_until": "2027-03-31"})
    };
    let (status, e) = app.post_as(&admin, "/api/v1/calibrations", link("2026-04-01")).await;
    assert!(status == 422 && e["error"]["fields"]["reference_id"].is_string(), "{e}");
    // On its last valid day it could.
    let (status, e) = app.post_as(&admin, "/api/v1/calibrations", link("2026-03-31")).await;
    assert_eq!(status, 201, "{e}");
}
