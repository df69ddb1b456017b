//! Traceability through the app: links entered by hand, an item's chain to an external
//! NMI, a cycle refused, the province audit, and an impact analysis whose recomputed
//! decisions flip, with its CSV.

use crate::support::{TestApp, CENTRE, ENTERPRISE_A, ENTERPRISE_B, INSTITUTE};
use rocket::http::{ContentType, Status};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

/// Five of the institute's standards.
async fn institute_standards(app: &TestApp) -> Vec<i64> {
    let institute = app.organisation_id(INSTITUTE).await;
    let (_, page) = app
        .get_json(&format!("/api/v1/standards?owner={institute}&per_page=5"))
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

async fn get(app: &TestApp, user: &crate::support::TestUser, uri: &str) -> (u16, Value) {
    let res = user.api(app.client.get(uri.to_owned())).dispatch().await;
    let status = res.status().code;
    (status, res.into_json().await.unwrap_or(Value::Null))
}

async fn sql(app: &TestApp, text: &str) {
    app.db.execute_unprepared(text).await.unwrap();
}

/// The demo set without its instruments and calibrations, so that a test builds the
/// chains it reasons about (the external NMI, NIM-CN, stays).
async fn without_links(app: &TestApp) {
    sql(app, "DELETE FROM calibrations").await;
    sql(app, "DELETE FROM instruments").await;
}

async fn post_link(app: &TestApp, user: &crate::support::TestUser, body: Value) -> (Status, Value) {
    let res = user
        .api(app.client.post("/api/v1/calibrations"))
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await;
    let status = res.status();
    (status, res.into_json().await.unwrap_or(Value::Null))
}

#[rocket::async_test]
async fn chains_links_cycles_and_the_province_audit() {
    let app = TestApp::demo().await;
    without_links(&app).await;
    let admin = app.user("institute_admin").await;
    let s = institute_standards(&app).await;
    let (a, b, c, d, e) = (s[0], s[1], s[2], s[3], s[4]);
    // a ← NIM (with its KCDB reference), b ← a, c ← b; d ← b on a certificate of b's
    // that had lapsed.
    let links = [
        json!({"item_kind": "standard", "item_id": a, "provider": "NIM-CN", "provider_evidence": "KCDB CMC 2024-0815",
               "certificate_no": "NIM-2026-001", "calibrated_on": "2026-01-05", "valid_until": "2027-01-04"}),
        json!({"item_kind": "standard", "item_id": b, "reference_kind": "standard", "reference_id": a,
               "certificate_no": "GD-2026-010", "calibrated_on": "2026-02-01", "valid_until": "2027-01-31"}),
        json!({"item_kind": "standard", "item_id": c, "reference_kind": "standard", "reference_id": b,
               "certificate_no": "GD-2026-020", "calibrated_on": "2026-03-01", "valid_until": "2027-02-28"}),
        json!({"item_kind": "standard", "item_id": d, "reference_kind": "standard", "reference_id": b,
               "certificate_no": "GD-2025-030", "calibrated_on": "2025-09-01", "valid_until": "2026-08-31"}),
    ];
    let created_before = app.events("calibration.create").await;
    for l in links {
        let (status, body) = post_link(&app, &admin, l).await;
        assert_eq!(status, Status::Created, "{body}");
    }
    assert_eq!(app.events("calibration.create").await, created_before + 4);

    // c's chain on 2026-11-28: c ← b ← a ← NIM, unbroken.
    let (status, chain) = get(
        &app,
        &admin,
        &format!("/api/v1/traceability/standard/{c}?as_of=2026-11-28"),
    )
    .await;
    assert_eq!(status, 200, "{chain}");
    let ids: Vec<i64> = chain["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["item"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [c, b, a]);
    assert_eq!(chain["broken"], false);
    assert_eq!(chain["steps"][2]["link"]["provider"]["evidence"], "KCDB CMC 2024-0815");
    // On 2027-03-01 c's own certificate (valid through 2027-02-28) has lapsed.
    let (_, later) = get(
        &app,
        &admin,
        &format!("/api/v1/traceability/standard/{c}?as_of=2027-03-01"),
    )
    .await;
    assert_eq!(later["steps"][0]["causes"], json!(["expired"]));
    // d was calibrated on 2025-09-01, before b had any link: b's chain was broken then.
    let (_, dchain) = get(
        &app,
        &admin,
        &format!("/api/v1/traceability/standard/{d}?as_of=2026-08-31"),
    )
    .await;
    assert_eq!(dchain["steps"][0]["causes"], json!(["parent_broken"]));
    assert_eq!(dchain["steps"][1]["causes"], json!(["no_calibration"]));

    // a ← c would close the cycle a ← c ← b ← a: refused, naming the field.
    let (status, body) = post_link(
        &app,
        &admin,
        json!({"item_kind": "standard", "item_id": a, "reference_kind": "standard", "reference_id": c,
               "certificate_no": "LOOP-1", "calibrated_on": "2026-04-01", "valid_until": "2027-03-31"}),
    )
    .await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert_eq!(
        body["error"]["fields"]["reference_id"]
            .as_str()
            .map(|m| m.contains("cycle")),
        Some(true),
        "{body}"
    );
    // Bad input is named field by field, and nothing is written.
    let (status, body) = post_link(
        &app,
        &admin,
        json!({"item_kind": "standard", "item_id": a, "reference_kind": "standard", "reference_id": b,
               "certificate_no": "", "calibrated_on": "2026-13-01", "valid_until": "2026-01-01", "uncertainty": "3 kg"}),
    )
    .await;
    assert_eq!(status, Status::UnprocessableEntity);
    for f in ["certificate_no", "calibrated_on"] {
        assert!(body["error"]["fields"][f].is_string(), "{f}: {body}");
    }
    assert_eq!(app.events("calibration.create").await, created_before + 4);
    // The same by the form: refused input comes back as typed, with the field's message;
    // good input is saved and leads back to the chain.
    let res = admin
        .browser(app.client.post(format!("/traceability/standard/{e}/links")))
        .header(ContentType::Form)
        .body(crate::support::form(&[
            ("reference_kind", "standard"),
            ("reference_id", &a.to_string()),
            ("certificate_no", "GD-2026-031"),
            ("calibrated_on", "2026-09-01"),
            ("valid_until", "2026-08-31"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains("value=\"GD-2026-031\"") && html.contains("valid_until-error"),
        "{html}"
    );
    let res = admin
        .browser(app.client.post(format!("/traceability/standard/{e}/links")))
        .header(ContentType::Form)
        .body(crate::support::form(&[
            ("reference_kind", "standard"),
            ("reference_id", &a.to_string()),
            ("certificate_no", "GD-2026-031"),
            ("calibrated_on", "2026-09-01"),
            ("valid_until", "2027-08-31"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(
        res.headers().get_one("Location"),
        Some(format!("/traceability/standard/{e}").as_str())
    );
    assert_eq!(app.events("calibration.create").await, created_before + 5);
    // Another organisation's staff may not link the institute's standards.
    let technician = app.user_in("technician", CENTRE).await;
    let (status, _) = post_link(
        &app,
        &technician,
        json!({"item_kind": "standard", "item_id": d, "reference_kind": "standard", "reference_id": a,
               "certificate_no": "X-1", "calibrated_on": "2026-04-01", "valid_until": "2027-03-31"}),
    )
    .await;
    assert_eq!(status, Status::Forbidden);

    // The province audit as of 2026-11-28: d is broken (its link had expired), a–c are
    // not; every other demo standard has no calibration on record yet.
    let regulator = app.user("regulator").await;
    let res = regulator
        .api(app.client.get("/api/v1/traceability/audit?as_of=2026-11-28"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let audit: Value = res.into_json().await.unwrap();
    let broken: Vec<i64> = audit["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["item"]["id"].as_i64().unwrap())
        .collect();
    assert!(
        broken.contains(&d) && !broken.contains(&a) && !broken.contains(&b) && !broken.contains(&c),
        "{a} {b} {c} {d}: {}",
        audit["chains"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| [a, b, c, d].contains(&x["item"]["id"].as_i64().unwrap()))
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let standards = app.count("standards").await as u64;
    assert_eq!(audit["checked"].as_u64(), Some(standards));
    // a, b, c and e (linked by the form) hold.
    assert_eq!(audit["broken"].as_u64(), Some(standards - 4));
    let count = |group: &str, key: &str| {
        audit[group]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .map(|c| c["count"].as_u64().unwrap())
    };
    assert_eq!(count("by_cause", "expired"), Some(1));
    assert_eq!(count("by_cause", "no_calibration"), Some(standards - 5));
    let by_city: u64 = audit["by_city"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_city, standards - 4, "every broken chain is counted under one city");
    // Not for the enterprise's eyes; the page is the regulator's too.
    let enterprise = app.user("enterprise").await;
    let res = enterprise
        .api(app.client.get("/api/v1/traceability/audit"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    let res = regulator
        .browser(app.client.get("/traceability/audit?as_of=2026-11-28&cause=expired"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(html.contains(&format!("/traceability/standard/{d}?as_of=2026-11-28")));
    // The chain page draws the chain as SVG, with no external resource.
    let res = admin
        .browser(app.client.get(format!("/traceability/standard/{c}?as_of=2026-11-28")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(html.contains("<svg") && html.contains("GD-2026-020") && html.contains("NIM-2026-001"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[rocket::async_test]
async fn impact_analysis_finds_the_downstream_and_the_flipped_decisions() {
    let app = TestApp::demo().await;
    without_links(&app).await;
    let s = institute_standards(&app).await;
    let (p, a) = (s[0], s[1]);
    let (ea, eb) = (
        app.organisation_id(ENTERPRISE_A).await,
        app.organisation_id(ENTERPRISE_B).await,
    );
    let ts = "'2026-01-01 00:00:00+00:00'";
    // P is a length standard, so its error reads in µm.
    sql(
        &app,
        &format!("UPDATE standards SET quantity = 'length' WHERE id = {p}"),
    )
    .await;
    for (id, owner, serial) in [(1, ea, "A-1"), (2, ea, "A-2"), (3, eb, "B-1"), (4, eb, "B-2")] {
        sql(
            &app,
            &format!(
                "INSERT INTO instruments (id, owner_id, name, manufacturer, model, serial, category_code, quantity, \
                 mpe_si, mpe_unit, created_at, updated_at) VALUES ({id}, {owner}, '游标卡尺', 'Mitutoyo', '530-122', \
                 '{serial}', '0101', 'length', 0.00002, 'µm', {ts}, {ts})"
            ),
        )
        .await;
    }
    // P (suspect from 2026-03-01; it read 3 µm high: as-found error +3 µm) calibrated:
    //   A on 2026-02-01 (before: clean) and 2026-04-01 (suspect);
    //   instrument 1 on 2026-03-01 (error +18 µm, MPE ±20 µm, U 1 µm, non-binary: pass;
    //     corrected +21 µm: conditional fail → flips);
    //   instrument 2 on 2026-05-01 (error −5 µm: pass; corrected −2 µm: still pass);
    // A then calibrated instrument 3 on 2026-03-15 (A not yet suspect: clean) and
    //   instrument 4 on 2026-06-01 (suspect, depth 2).
    let row = |id: i32, kind: &str, item: i64, reference: i64, on: &str, error: f64, decision: &str| {
        format!(
            "INSERT INTO calibrations (id, item_kind, item_id, reference_kind, reference_id, provider_evidence, \
             certificate_no, calibrated_on, valid_until, quantity, uncertainty_si, uncertainty_unit, mpe_si, \
             as_found_error_si, decision_rule, decision, source, created_at) VALUES ({id}, '{kind}', {item}, \
             'standard', {reference}, '', 'CAL-{id}', '{on}', '2030-01-01', 'length', 0.000001, 'µm', 0.00002, \
             {error}, 'non_binary', '{decision}', 'import', {ts})"
        )
    };
    for stmt in [
        row(1, "standard", a, p, "2026-02-01", 0.0, "pass"),
        row(2, "standard", a, p, "2026-04-01", 0.0, "pass"),
        row(3, "instrument", 1, p, "2026-03-01", 0.000018, "pass"),
        row(4, "instrument", 2, p, "2026-05-01", -0.000005, "pass"),
        row(5, "instrument", 3, a, "2026-03-15", 0.0, "pass"),
        row(6, "instrument", 4, a, "2026-06-01", 0.0, "pass"),
    ] {
        sql(&app, &stmt).await;
    }
    // The recursive query already keeps to the dates: calibration 1 (before the suspect
    // date) and 5 (before A was suspect) are not among its candidates.
    let mut candidates: Vec<i32> =
        metrocal::store::traceability::links_below(&app.db, ("standard", p as i32), "2026-03-01".parse().unwrap())
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
    candidates.sort_unstable();
    assert_eq!(candidates, [2, 3, 4, 6]);
    let admin = app.user("institute_admin").await;
    let uri = format!("/api/v1/traceability/impact?kind=standard&id={p}&since=2026-03-01&error=%2B3%20%C2%B5m");
    let res = admin.api(app.client.get(uri)).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let r: Value = res.into_json().await.unwrap();
    let got: Vec<(i64, i64)> = r["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["calibration_id"].as_i64().unwrap(), x["depth"].as_i64().unwrap()))
        .collect();
    assert_eq!(got, [(3, 1), (2, 1), (4, 1), (6, 2)]);
    assert_eq!(r["flips"], 1);
    assert_eq!(r["affected"][0]["recomputed_decision"], "conditional_fail");
    assert_eq!(r["affected"][0]["flips"], true);
    assert_eq!(r["affected"][2]["recomputed_decision"], "pass");
    // Only first-level results are recomputed.
    assert!(r["affected"][3]["recomputed_decision"].is_null());
    let holders: Vec<&str> = r["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        holders.len(),
        3,
        "the institute (standard A) and both enterprises: {holders:?}"
    );

    // The same as CSV, for the lab's notification list.
    let res = admin
        .browser(app.client.get(format!(
            "/traceability/impact.csv?kind=standard&id={p}&since=2026-03-01&error=%2B3%20%C2%B5m"
        )))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert!(res
        .headers()
        .get_one("Content-Disposition")
        .unwrap()
        .starts_with("attachment; filename=\"impact-standard-"));
    let csv = res.into_string().await.unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .ends_with("CAL-3,2026-03-01,pass,conditional_fail,true"),
        "{csv}"
    );

    // An error in the wrong kind of unit is named.
    let res = admin
        .api(app.client.get(format!(
            "/api/v1/traceability/impact?kind=standard&id={p}&since=2026-03-01&error=3%20kg"
        )))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let body: Value = res.into_json().await.unwrap();
    assert!(body["error"]["fields"]["reference_error"].is_string(), "{body}");
    // An enterprise cannot run it, nor see instrument 3's chain (enterprise B's).
    let enterprise = app.user("enterprise").await;
    let res = enterprise
        .api(app.client.get(format!(
            "/api/v1/traceability/impact?kind=standard&id={p}&since=2026-03-01"
        )))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    let res = enterprise
        .api(app.client.get("/api/v1/traceability/instrument/3"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotFound);
    let res = enterprise
        .api(app.client.get("/api/v1/traceability/instrument/1"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
}

#[rocket::async_test]
async fn the_generated_province_has_every_kind_of_break_and_the_demo_its_chains() {
    use metrocal::service::{generate, traceability, transfer, Actor};
    // A generated province of 1,500 standards, imported into an empty register.
    let app = TestApp::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = generate::Spec {
        standards: 1500,
        seed: 11,
        as_of: "2026-11-28".parse().unwrap(),
    };
    generate::generate(&spec, dir.path(), &transfer::Quiet).unwrap();
    let operator = Actor::system("test");
    let bundle = transfer::Bundle::from_dir(dir.path()).unwrap();
    let summary = transfer::import(&operator, &app.db, &bundle, chrono::Utc::now(), &transfer::Quiet)
        .await
        .unwrap();
    assert_eq!(summary.instruments, 3000);
    assert!(summary.calibrations > 10_000, "{summary:?}");
    let report = traceability::audit(&operator, &app.db, &Default::default(), spec.as_of, Some(4.0))
        .await
        .unwrap();
    let roots: Vec<&str> = report.by_root_cause.iter().map(|c| c.key.as_str()).collect();
    for cause in ["expired", "no_evidence", "uncertainty_not_smaller", "level_inverted"] {
        assert!(roots.contains(&cause), "{cause} is among the root causes: {roots:?}");
    }
    // Broken, but not mostly broken.
    assert!(
        report.broken * 4 < report.checked,
        "{} of {}",
        report.broken,
        report.checked
    );
    // The audit's columnar read of the links gives exactly the stored values.
    let columnar = metrocal::store::traceability::all_links(&app.db, &["standard", "device", "instrument"])
        .await
        .unwrap();
    let ids: Vec<i32> = columnar.iter().map(|l| l.id).collect();
    let stored: std::collections::HashMap<i32, _> = metrocal::store::traceability::calibrations_by_ids(&app.db, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    assert_eq!(columnar.len(), stored.len());
    for l in &columnar {
        let m = &stored[&l.id];
        assert_eq!(
            (l.uncertainty_si.map(f64::to_bits), l.mpe_si.map(f64::to_bits)),
            (m.uncertainty_si.map(f64::to_bits), m.mpe_si.map(f64::to_bits)),
            "calibration {}",
            l.id
        );
        let whole = metrocal::store::traceability::LinkRow::from_model(m.clone()).unwrap();
        assert_eq!(
            (l.item_kind, l.item_id, l.reference_kind, l.reference_id, l.provider_id),
            (
                whole.item_kind,
                whole.item_id,
                whole.reference_kind,
                whole.reference_id,
                whole.provider_id
            )
        );
        assert_eq!(
            (l.calibrated_on, l.valid_until, &l.quantity),
            (m.calibrated_on, m.valid_until, &whole.quantity)
        );
        let evidence = if m.provider_id.is_some() {
            m.provider_evidence.as_str()
        } else {
            ""
        };
        assert_eq!(l.provider_evidence, evidence);
    }
    // So does the columnar read of every standard and device.
    let standards = metrocal::store::traceability::standard_nodes(&app.db, None)
        .await
        .unwrap();
    let ids: Vec<i32> = standards.iter().map(|s| s.id).collect();
    let by_id = metrocal::store::traceability::standard_nodes(&app.db, Some(&ids))
        .await
        .unwrap();
    assert_eq!(standards.len(), spec.standards);
    assert_eq!(by_id.len(), standards.len());
    let by_id: std::collections::HashMap<i32, _> = by_id.into_iter().map(|s| (s.id, s)).collect();
    for s in &standards {
        let m = &by_id[&s.id];
        assert_eq!(
            (s.owner_id, s.region_id, &s.level, &s.quantity, &s.accuracy_kind),
            (m.owner_id, m.region_id, &m.level, &m.quantity, &m.accuracy_kind)
        );
        assert_eq!(s.accuracy_si.map(f64::to_bits), m.accuracy_si.map(f64::to_bits));
        assert_eq!((&s.cert_no, &s.name_zh), (&m.cert_no, &m.name_zh));
    }
    let devices = metrocal::store::traceability::device_nodes(&app.db, None)
        .await
        .unwrap();
    assert_eq!(devices.len(), app.count("devices").await as usize);
    let ids: Vec<i32> = devices.iter().map(|d| d.id).collect();
    let by_id: std::collections::HashMap<i32, _> = metrocal::store::traceability::device_nodes(&app.db, Some(&ids))
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    for d in &devices {
        let m = &by_id[&d.id];
        assert_eq!((d.standard_id, &d.name, &d.serial), (m.standard_id, &m.name, &m.serial));
    }
    // Importing the same files again changes nothing.
    let again = transfer::import(&operator, &app.db, &bundle, chrono::Utc::now(), &transfer::Quiet)
        .await
        .unwrap();
    assert_eq!(again, summary);
    assert_eq!(app.count("calibrations").await as usize, summary.calibrations);

    // The demo set that `cargo run` loads has chains: most reach the NIM or an
    // accredited laboratory.
    let demo = TestApp::demo().await;
    let report = traceability::audit(&operator, &demo.db, &Default::default(), spec.as_of, Some(4.0))
        .await
        .unwrap();
    assert!(
        report.checked > 400 && report.broken * 2 < report.checked,
        "{} of {}",
        report.broken,
        report.checked
    );
}

#[rocket::async_test]
async fn an_import_that_would_close_a_cycle_writes_nothing() {
    use metrocal::service::{transfer, Actor};
    let app = TestApp::demo().await;
    let before = app.count("calibrations").await;
    let (_, page) = app.get_json("/api/v1/standards?per_page=2").await;
    let x = page["items"][0]["cert_no"].as_str().unwrap().to_owned();
    let y = page["items"][1]["cert_no"].as_str().unwrap().to_owned();
    let header = transfer::CALIBRATION_COLUMNS.join(",");
    let row = |item: &str, reference: &str, cert: &str| {
        format!("standard,{item},standard,{reference},,,{cert},2026-01-05,2027-01-04,,,,,,\n")
    };
    let csv = format!("{header}\n{}{}", row(&x, &y, "LOOP-A"), row(&y, &x, "LOOP-B"));
    let bundle = transfer::Bundle::from_static(&[(transfer::CALIBRATIONS, csv.as_bytes())]);
    let err = transfer::import(
        &Actor::system("test"),
        &app.db,
        &bundle,
        chrono::Utc::now(),
        &transfer::Quiet,
    )
    .await
    .unwrap_err();
    match err {
        transfer::ImportError::Row(r) => {
            assert_eq!(
                (r.file.as_str(), r.column.as_str()),
                ("calibrations.csv", "reference"),
                "{r}"
            );
            assert!(r.reason.contains("cycle"), "{r}");
        }
        other => panic!("expected a row error, got {other}"),
    }
    assert_eq!(app.count("calibrations").await, before);
}

/// An upstream laboratory's DCC for one of the institute's standards becomes its
/// calibration link: number, date, laboratory (by the code it gives), U and the as-found
/// error. A file that is not a DCC, a laboratory without a code, another organisation's
/// user and the same certificate twice are refused, and nothing is written.
#[rocket::async_test]
async fn an_upstream_dcc_fills_in_the_calibration_link() {
    let app = TestApp::demo().await;
    let standard = institute_standards(&app).await[0];
    sql(
        &app,
        &format!("UPDATE standards SET quantity = 'length' WHERE id = {standard}"),
    )
    .await;
    // NIM's DCC for it: the example's indication error +0.00012 mm, U = 0.00005 mm (k = 2).
    let mut s = metrocal::domain::certificates::Snapshot::example();
    s.number = "NIM-DCC-2026-0042".into();
    s.lab.code = "NIM-CN".into();
    s.lab.name = metrocal::domain::certificates::Bilingual {
        zh: "中国计量科学研究院".into(),
        en: "National Institute of Metrology, China".into(),
    };
    let xml = metrocal::render::dcc::render(&s).unwrap();
    let admin = app.user("institute_admin").await;
    let post = |user: &crate::support::TestUser, query: String, body: Vec<u8>| {
        let req = user
            .api(app.client.post(format!("/api/v1/calibrations/dcc?{query}")))
            .header(ContentType::XML)
            .body(body);
        async move {
            let res = req.dispatch().await;
            let status = res.status().code;
            (status, res.into_json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let target = format!("item_kind=standard&item_id={standard}");
    let before = app.count("calibrations").await;
    let (status, e) = post(&admin, target.clone(), b"<html/>".to_vec()).await;
    assert_eq!(status, 422);
    assert!(
        e["error"]["fields"]["file"].as_str().unwrap().contains("root element"),
        "{e}"
    );
    // Without its code, the laboratory must be named.
    let anonymous = String::from_utf8(xml.clone()).unwrap().replace(
        "<dcc:calibrationLaboratoryCode>NIM-CN</dcc:calibrationLaboratoryCode>",
        "",
    );
    let (status, e) = post(&admin, target.clone(), anonymous.clone().into_bytes()).await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["provider"].is_string(), "{e}");
    let holder = app.user("enterprise").await;
    let (status, _) = post(&holder, target.clone(), xml.clone()).await;
    assert_eq!(status, 403, "only the standard's own laboratory links it");
    assert_eq!(app.count("calibrations").await, before);

    let (status, created) = post(&admin, format!("{target}&valid_until=2027-11-30"), xml.clone()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT certificate_no, CAST(calibrated_on AS TEXT) AS cal, CAST(valid_until AS TEXT) AS vu, \
                 uncertainty_si, uncertainty_unit, as_found_error_si, source, provider_id FROM calibrations WHERE id = {id}"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let text = |c: &str| row.try_get::<String>("", c).unwrap();
    assert_eq!(text("certificate_no"), "NIM-DCC-2026-0042");
    assert_eq!(text("cal"), s.calibrated_on.to_string());
    assert_eq!(text("vu"), "2027-11-30");
    assert_eq!(text("source"), "dcc");
    assert_eq!(text("uncertainty_unit"), "mm", "the unit the DCC states it in");
    let u: f64 = row.try_get("", "uncertainty_si").unwrap();
    assert!((u - 0.05e-6).abs() < 1e-15, "{u}");
    let e: f64 = row.try_get("", "as_found_error_si").unwrap();
    assert!((e - 0.12e-6).abs() < 1e-15, "{e}");
    let nim = app.organisation_id("NIM-CN").await;
    assert_eq!(row.try_get::<Option<i32>>("", "provider_id").unwrap(), Some(nim));
    assert!(app.events("calibration.create").await >= 1);
    // The same certificate again: a conflict, nothing added.
    let (status, _) = post(&admin, target.clone(), xml).await;
    assert_eq!(status, 409);
    assert_eq!(app.count("calibrations").await, before + 1);
    // The chain now reaches NIM through it.
    let (status, chain) = get(&app, &admin, &format!("/api/v1/traceability/standard/{standard}")).await;
    assert_eq!(status, 200);
    assert!(chain.to_string().contains("NIM-DCC-2026-0042"), "{chain}");
}

/// The test-uncertainty ratio limit is the item owner's setting (issue 21): 4 unless the
/// organisation sets its own (JJF 1094 practice often uses 3); a query's `tur_limit`
/// overrides it.
#[rocket::async_test]
async fn the_tur_limit_is_the_owners_setting() {
    let app = TestApp::demo().await;
    without_links(&app).await;
    let admin = app.user("institute_admin").await;
    let s = institute_standards(&app).await;
    let (a, b) = (s[0], s[1]);
    sql(
        &app,
        &format!("UPDATE standards SET quantity = 'length' WHERE id IN ({a}, {b})"),
    )
    .await;
    for l in [
        json!({"item_kind": "standard", "item_id": a, "provider": "NIM-CN", "certificate_no": "NIM-2026-002",
               "calibrated_on": "2026-01-05", "valid_until": "2027-01-04"}),
        // MPE 3.5 µm against U 1 µm: a ratio of 3.5.
        json!({"item_kind": "standard", "item_id": b, "reference_kind": "standard", "reference_id": a,
               "certificate_no": "GD-2026-011", "calibrated_on": "2026-02-01", "valid_until": "2027-01-31",
               "uncertainty": "1 µm", "mpe": "3.5 µm"}),
    ] {
        let (status, body) = post_link(&app, &admin, l).await;
        assert_eq!(status, Status::Created, "{body}");
    }
    let chain = |q: &'static str| {
        let admin = &admin;
        let app = &app;
        async move {
            get(
                app,
                admin,
                &format!("/api/v1/traceability/standard/{b}?as_of=2026-11-28{q}"),
            )
            .await
            .1
        }
    };
    let c = chain("").await;
    assert!((c["steps"][0]["tur"].as_f64().unwrap() - 3.5).abs() < 1e-9, "{c}");
    assert_eq!(
        (c["tur_limit"].as_f64(), c["steps"][0]["low_tur"].as_bool()),
        (Some(4.0), Some(true)),
        "{c}"
    );
    // The institute sets 3: the same link is no longer flagged; a query's 4 still flags it.
    let res = admin
        .browser(app.client.post("/schedule/settings"))
        .header(ContentType::Form)
        .body(crate::support::form(&[
            ("warning_days", "30"),
            ("early_window_days", "0"),
            ("default_interval_months", "12"),
            ("assessment_validity_years", "4"),
            ("tur_limit", "3"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let c = chain("").await;
    assert_eq!(
        (c["tur_limit"].as_f64(), c["steps"][0]["low_tur"].as_bool()),
        (Some(3.0), Some(false)),
        "{c}"
    );
    let c = chain("&tur_limit=4").await;
    assert_eq!(c["steps"][0]["low_tur"], true, "{c}");
}
