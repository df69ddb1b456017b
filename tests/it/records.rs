//! From a work order to an issued certificate through the web routes: the technician
//! records (typed units, standards valid on the day, U raised to the CMC), corrects a
//! reading (the original kept), signs; a reviewer and an approver sign with their
//! passwords, three different people; the certificate is issued, its DCC validates, the
//! calibration becomes a traceability link and the work order is completed.

use crate::support::{TestApp, TestUser, ENTERPRISE_A, INSTITUTE, PASSWORD};
use rocket::http::ContentType;
use serde_json::{json, Value};

fn field<'a>(e: &'a Value, name: &str) -> Option<&'a str> {
    e["error"]["fields"][name].as_str()
}

#[rocket::async_test]
async fn a_record_becomes_a_certificate_signed_by_three_people() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0042").await;
    // The demo's three records are there already.
    let records_before = app.count("calibration_records").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let good = json!({
        "kind": "calibration", "method": "JJG 146-2011", "decision_rule": "simple",
        "received_on": "2026-11-20", "calibrated_on": "2026-11-24",
        "temperature": "20.1 °C", "humidity": "52 %", "adjusted": false, "cmc": "0.08 µm",
        "standards": [standard],
        "points": [{"nominal": "100 mm", "reference": "100.00000 mm", "readings": "100.00012 100.00014 100.00010",
                    "u": "0.05 µm", "k": "2", "p": "0.95", "mpe": "±0.6 µm"}],
    });
    // The page's form: refused input comes back as typed, with the field's message.
    let res = technician
        .browser(app.client.get(format!("/work-orders/{wo}/record")))
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200);
    let res = technician
        .browser(app.client.post(format!("/work-orders/{wo}/record")))
        .header(ContentType::Form)
        .body(crate::support::form(&[
            ("kind", "calibration"),
            ("method", "JJG 146-2011"),
            ("p0_nominal", "100 kg"),
            ("p0_reference", "100 mm"),
            ("p0_readings", "100.0001"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status().code, 422);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains("value=\"100 kg\"") && html.contains("aria-invalid"),
        "{html}"
    );
    assert_eq!(app.count("calibration_records").await, records_before);
    let uri = format!("/api/v1/work-orders/{wo}/record");
    // A reading of the wrong kind, and a humidity above 100 %, are refused by field; nothing is written.
    let mut bad = good.clone();
    bad["points"][0]["nominal"] = json!("100 kg");
    bad["humidity"] = json!("120 %");
    let (status, e) = app.post_as(&technician, &uri, bad).await;
    assert_eq!(status, 422, "{e}");
    assert!(
        field(&e, "points[0].nominal").is_some() && field(&e, "humidity").is_some(),
        "{e}"
    );
    assert_eq!(app.count("calibration_records").await, records_before);
    // A standard whose own calibration had lapsed on the day cannot be used.
    let mut lapsed = good.clone();
    lapsed["calibrated_on"] = json!("2027-01-05");
    lapsed["received_on"] = json!("2027-01-04");
    let (status, e) = app.post_as(&technician, &uri, lapsed).await;
    assert_eq!(status, 422);
    assert!(
        field(&e, "standards").is_some() || field(&e, "calibrated_on").is_some(),
        "{e}"
    );
    // An enterprise user cannot record.
    let holder = app.user("enterprise").await;
    let (status, _) = app.post_as(&holder, &uri, good.clone()).await;
    assert_eq!(status, 404);
    let (status, r) = app.post_as(&technician, &uri, good.clone()).await;
    assert_eq!(status, 201, "{r}");
    let record = r["id"].as_i64().unwrap();
    let (status, _) = app.post_as(&technician, &uri, good.clone()).await;
    assert_eq!(status, 409, "one record per work order");

    // Hand arithmetic: the mean of the readings is 100.00012 mm, so the error is
    // +0.12 µm; U 0.05 µm is below the CMC 0.08 µm, so 0.08 µm is reported and flagged;
    // |0.12| ≤ 0.6 µm: pass under simple acceptance (ILAC-G8 §4.2.1).
    let v = view(&app, &technician, record).await;
    let p = &v["points"][0];
    assert!((p["error_si"].as_f64().unwrap() - 1.2e-7).abs() < 1e-15, "{p}");
    assert!((p["u_si"].as_f64().unwrap() - 8e-8).abs() < 1e-18);
    assert_eq!(p["raised_to_cmc"], true);
    assert_eq!(p["decision"], "pass");
    assert_eq!(
        p["readings"], "[\"100.00012\",\"100.00014\",\"100.00010\"]",
        "kept as entered"
    );

    // A corrected reading: the original kept, with the reason.
    let (status, _) = app
        .post_as(
            &technician,
            &format!("/api/v1/records/{record}/points/0/readings"),
            json!({"readings": "100.00012 100.00013 100.00011", "reason": "transcription error in the second reading"}),
        )
        .await;
    assert_eq!(status, 200);
    let v = view(&app, &technician, record).await;
    assert_eq!(
        v["edits"][0]["old_value"],
        "[\"100.00012\",\"100.00014\",\"100.00010\"]"
    );
    assert!((v["points"][0]["error_si"].as_f64().unwrap() - 1.2e-7).abs() < 1e-15);

    // The record's page shows the correction and offers the technician's signature.
    let res = technician
        .browser(app.client.get(format!("/records/{record}")))
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains("transcription error") && html.contains("name=\"password\""),
        "{html}"
    );
    // The technician signs with the password; a wrong one is refused and audited.
    let sign = format!("/api/v1/records/{record}/sign");
    let (status, e) = app.post_as(&technician, &sign, json!({"password": "not mine"})).await;
    assert!(status == 422 && field(&e, "password").is_some(), "{e}");
    assert_eq!(app.events("reauth.failed").await, 1);
    let (status, s) = app.post_as(&technician, &sign, json!({"password": PASSWORD})).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("recorded")), "{s}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM work_orders WHERE id = {wo} AND status = 'awaiting_review'"
        ))
        .await,
        1
    );
    // Corrections stop once reviewed; the technician may not review; someone who recorded
    // may not review even with the reviewer's role.
    let (status, _) = app.post_as(&technician, &sign, json!({"password": PASSWORD})).await;
    assert_eq!(status, 403);
    app.sql(&format!(
        "UPDATE users SET roles = 'technician,reviewer' WHERE id = {}",
        technician.id
    ))
    .await;
    let (status, e) = app.post_as(&technician, &sign, json!({"password": PASSWORD})).await;
    assert!(
        status == 422 && field(&e, "signer").is_some(),
        "the one who recorded does not review: {e}"
    );
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let (status, s) = app.post_as(&reviewer, &sign, json!({"password": PASSWORD})).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("reviewed")), "{s}");
    // The reviewer, also an approver, may not approve what they reviewed.
    let reviewer_approver_id = reviewer.id;
    app.sql(&format!(
        "UPDATE users SET roles = 'reviewer,approver' WHERE id = {reviewer_approver_id}"
    ))
    .await;
    let (status, e) = app.post_as(&reviewer, &sign, json!({"password": PASSWORD})).await;
    assert!(status == 422 && field(&e, "signer").is_some(), "{e}");
    let approver = app.user_in("approver", INSTITUTE).await;
    let (status, s) = app.post_as(&approver, &sign, json!({"password": PASSWORD})).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("issued")), "{s}");
    let number = s["certificate"].as_str().unwrap().to_owned();
    assert_eq!(
        app.events("record.sign").await,
        15,
        "the demo's three records' nine, its amendment's three, and these three"
    );

    // The certificate: the customer sees it, with its content and three signatures.
    let res = holder
        .api(app.client.get(format!("/api/v1/certificates/{number}")))
        .dispatch()
        .await;
    let c: Value = res.into_json().await.unwrap();
    assert_eq!(c["kind"], "calibration");
    assert_eq!(c["content"]["customer"]["code"], ENTERPRISE_A);
    let point = &c["content"]["points"][0];
    assert_eq!(
        (point["error"]["unit"].as_str(), point["u"]["unit"].as_str()),
        (Some("µm"), Some("µm"))
    );
    assert!(
        (point["error"]["value"].as_f64().unwrap() - 0.12).abs() < 1e-9,
        "{point}"
    );
    assert!((point["u"]["value"].as_f64().unwrap() - 0.08).abs() < 1e-9);
    assert_eq!(point["raised_to_cmc"], true);
    let roles: Vec<&str> = c["content"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["technician", "reviewer", "approver"]);
    assert_eq!(c["content"]["standards"][0]["certificate_no"], "NIM-2026-0815");
    // Its DCC validates against the PTB schema.
    let res = holder
        .api(app.client.get(format!("/api/v1/certificates/{number}/dcc")))
        .dispatch()
        .await;
    let dcc = res.into_bytes().await.unwrap();
    crate::support::dcc_validates(&dcc).unwrap();
    // The PDF carries the §7.8 content (ISO/IEC 17025 §7.8.2.1, §7.8.4.1, §7.8.6).
    let res = holder
        .api(app.client.get(format!("/api/v1/certificates/{number}/pdf")))
        .dispatch()
        .await;
    let pdf = res.into_bytes().await.unwrap();
    let text = crate::support::pdf_text(&pdf, true);
    let lab_name = c["content"]["lab"]["name"]["zh"].as_str().unwrap().to_owned();
    let customer_name = c["content"]["customer"]["name"]["zh"].as_str().unwrap().to_owned();
    for needle in [
        "校准证书",
        &lab_name,
        &number,
        &customer_name,
        "量块",
        "GB-100-0042",
        "JJG 146-2011",
        "2026-11-20",
        "2026-11-24",
        "20.1 °C",
        "52 %",
        "100 mm",
        // U = 0.08 µm stated to two significant digits, the error to its place.
        "0.120 µm",
        "0.080 µm",
        "NIM-2026-0815",
        "简单接受",
        "Page 1 of 1",
        "以下空白",
        // The QR code's link, under the server's configured public address.
        "https://metrocal.test/verify/",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // The calibration is now a link of the item's chain, and the work order is completed.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM calibrations WHERE source = 'recorded' AND certificate_no = '{number}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM work_orders WHERE id = {wo} AND status = 'completed'"
        ))
        .await,
        1
    );
    // Nothing is left to sign.
    let (status, _) = app.post_as(&approver, &sign, json!({"password": PASSWORD})).await;
    assert_eq!(status, 409);
}

/// The institute's first standard made a length standard in service (assessed to 2029,
/// calibrated for 2026, 0 to 1 m), and enterprise A's gauge block `serial` in calibration
/// at the institute: the standard's id and the work order's.
/// The laboratory's CMC table floors each point's U by the range it lies in, and a saved
/// budget of the laboratory can give a point's U, k and p.
#[rocket::async_test]
async fn cmc_lines_and_saved_budgets_give_the_points_u() {
    let app = TestApp::demo().await;
    let lab = app.organisation_id(INSTITUTE).await;
    let (standard, wo) = in_calibration(&app, "GB-040-0007").await;
    let admin = app.user("institute_admin").await;
    let cmc_added_before = app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'cmc.add' AND entity_id = '{lab}'"
        ))
        .await;
    let cmc = format!("/api/v1/organisations/{lab}/cmc");
    // Refused by field: a reversed range; an enterprise may not keep the table.
    let (status, e) = app
        .post_as(
            &admin,
            &cmc,
            json!({"quantity": "length", "range_min": "50 mm", "range_max": "0 mm", "cmc": "0.04 µm"}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(field(&e, "range_max").is_some(), "{e}");
    let holder = app.user("enterprise").await;
    let (status, _) = app
        .post_as(
            &holder,
            &cmc,
            json!({"quantity": "length", "range_min": "0 mm", "range_max": "50 mm", "cmc": "0.04 µm"}),
        )
        .await;
    assert_eq!(status, 403);
    // (0.04 µm + 0.5×10⁻⁶·L) up to 50 mm; 0.10 µm above it.
    for line in [
        json!({"quantity": "length", "range_min": "0 mm", "range_max": "50 mm", "cmc": "0.04 µm", "cmc_relative": "0.5 ppm", "method": "JJG 146-2011"}),
        json!({"quantity": "length", "range_min": "50 mm", "range_max": "1 m", "cmc": "0.10 µm", "method": "JJG 146-2011"}),
    ] {
        let (status, l) = app.post_as(&admin, &cmc, line).await;
        assert_eq!(status, 201, "{l}");
    }
    let (_, table) = app.get_as(&admin, &cmc).await;
    let length_lines = table["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["quantity"] == "length")
        .count();
    assert_eq!(length_lines, 2, "{table}");
    assert_eq!(table["lines"][0]["cmc_text"], "0.04 µm + 0.5×10⁻⁶·|x|");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'cmc.add' AND entity_id = '{lab}'"
        ))
        .await,
        cmc_added_before + 2
    );
    // A budget of the institute: U = 0.06 µm, k = 2, p = 0.9545; and one of another laboratory.
    let other = app.organisation_id(crate::support::CENTRE).await;
    let result = json!({"results": [{"name": "E", "unit": "µm", "estimate": 0.0, "standard_uncertainty": 0.03,
        "effective_dof": null, "coverage_factor": 2.0, "expanded_uncertainty": 0.06, "coverage_probability": 0.9545,
        "report": "U = 0.06 µm, k = 2", "contributions": [], "monte_carlo": null}], "correlation": [[1.0]]});
    for org in [lab, other] {
        app.sql(&format!(
            "INSERT INTO uncertainty_budgets (standard_id, organisation_id, title, problem, result, revision, created_at, updated_at) \
             VALUES ({standard}, {org}, '量块比较测量', '{{}}', '{result}', 1, '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')"
        ))
        .await;
    }
    let ours = app
        .scalar(&format!(
            "SELECT id AS n FROM uncertainty_budgets WHERE organisation_id = {lab}"
        ))
        .await;
    let theirs = app
        .scalar(&format!(
            "SELECT id AS n FROM uncertainty_budgets WHERE organisation_id = {other}"
        ))
        .await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let uri = format!("/api/v1/work-orders/{wo}/record");
    let record = |points: Value| {
        json!({
            "kind": "calibration", "method": "JJG 146-2011", "decision_rule": "simple",
            "received_on": "2026-11-20", "calibrated_on": "2026-11-24",
            "temperature": "20.0 °C", "humidity": "50 %", "cmc": "0.5 µm",
            "standards": [standard], "points": points,
        })
    };
    let point = |nominal: &str, u: &str, budget: String| {
        json!({"nominal": nominal, "reference": nominal, "readings": nominal.replace(" mm", ""),
               "u": u, "budget": budget, "mpe": "±0.6 µm"})
    };
    // Another laboratory's budget, and U given twice, are refused.
    let (status, e) = app
        .post_as(
            &technician,
            &uri,
            record(json!([
                point("40 mm", "", theirs.to_string()),
                point("40 mm", "0.05 µm", ours.to_string())
            ])),
        )
        .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(
        e["error"]["fields"]["points[0].budget"].as_str(),
        Some(format!("no budget {theirs} at this laboratory").as_str()),
        "{e}"
    );
    assert!(field(&e, "points[1].budget").is_some(), "{e}");
    let (status, r) = app
        .post_as(
            &technician,
            &uri,
            record(json!([
                point("40 mm", "0.05 µm", String::new()),
                point("100 mm", "", ours.to_string()),
                point("100 mm", "0.12 µm", String::new()),
            ])),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let v = view(&app, &technician, r["id"].as_i64().unwrap()).await;
    let p = |i: usize, name: &str| v["points"][i][name].clone();
    // By hand: at 40 mm the CMC is 0.04 µm + 0.5×10⁻⁶ × 40 mm = 0.04 + 0.02 = 0.06 µm, above
    // the 0.05 µm entered: raised. At 100 mm the CMC is 0.10 µm: the budget's 0.06 µm is
    // raised to it, k and p stay the budget's. 0.12 µm is above the CMC and stands. The
    // record's own 0.5 µm applies nowhere, since the table covers every point.
    assert!((p(0, "u_si").as_f64().unwrap() - 0.06e-6).abs() < 1e-15, "{v}");
    assert_eq!(p(0, "raised_to_cmc"), true);
    assert_eq!(p(0, "u_source"), "entered");
    assert!((p(1, "u_si").as_f64().unwrap() - 0.10e-6).abs() < 1e-15, "{v}");
    assert_eq!(p(1, "raised_to_cmc"), true);
    assert_eq!(p(1, "u_source"), format!("budget:{ours}"));
    assert_eq!(p(1, "k"), 2.0);
    assert_eq!(p(1, "p"), 0.9545);
    assert!((p(2, "u_si").as_f64().unwrap() - 0.12e-6).abs() < 1e-15, "{v}");
    assert_eq!(p(2, "raised_to_cmc"), false);
    // The CMC page shows the table.
    let res = admin
        .browser(app.client.get(format!("/organisations/{lab}/cmc")))
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200);
    assert!(res.into_string().await.unwrap().contains("0.1 µm"));
}

pub(crate) async fn in_calibration(app: &TestApp, serial: &str) -> (i64, i64) {
    let lab = app.organisation_id(INSTITUTE).await;
    let customer = app.organisation_id(ENTERPRISE_A).await;
    let now = "2026-11-01T00:00:00Z";
    // A length standard of the institute: in service, assessed to 2029, calibrated for 2026,
    // ranging 0 to 1 m.
    let standard = app
        .scalar(&format!("SELECT MIN(id) AS n FROM standards WHERE owner_id = {lab}"))
        .await;
    app.sql(&format!(
        "UPDATE standards SET quantity = 'length', range_min_si = 0, range_max_si = 1, status = 'in_service', \
             cert_expires_on = '2029-12-31' WHERE id = {standard}"
    ))
    .await;
    app.sql(&format!(
        "DELETE FROM calibrations WHERE item_kind = 'standard' AND item_id = {standard}"
    ))
    .await;
    app.sql(&format!(
            "INSERT INTO calibrations (item_kind, item_id, provider_evidence, certificate_no, calibrated_on, valid_until, \
             source, created_at) VALUES ('standard', {standard}, '', 'NIM-2026-0815', '2026-01-10', '2026-12-31', 'manual', '{now}')"
        ),
    )
    .await;
    // Enterprise A's gauge block, in calibration at the institute.
    app.sql(&format!(
            "INSERT INTO instruments (owner_id, name, manufacturer, model, serial, category_code, quantity, mpe_si, \
             mpe_unit, created_at, updated_at) VALUES ({customer}, '量块', '哈量', '100 mm 2 级', '{serial}', '01219000', \
             'length', 0.0000006, 'µm', '{now}', '{now}')"
        ),
    )
    .await;
    let instrument = app
        .scalar(&format!("SELECT id AS n FROM instruments WHERE serial = '{serial}'"))
        .await;
    app.sql(&format!(
        "INSERT INTO work_orders (lab_id, item_kind, item_id, owner_id, category_code, label, due_on, planned_on, \
             status, note, created_by, created_at, updated_at) VALUES ({lab}, 'instrument', {instrument}, {customer}, \
             '01219000', '量块 {serial}', '2026-12-01', '2026-11-23', 'in_calibration', '', NULL, '{now}', '{now}')"
    ))
    .await;
    let wo = app.scalar("SELECT MAX(id) AS n FROM work_orders").await;
    (standard, wo)
}

/// A one-point gauge-block record of `wo` entered by `user`, calibrated on `calibrated_on`
/// against `standard`: the record as the API answered it (201).
async fn one_point_record(app: &TestApp, user: &TestUser, wo: i64, standard: i64, calibrated_on: &str) -> Value {
    let (status, r) = app
        .post_as(
            user,
            &format!("/api/v1/work-orders/{wo}/record"),
            json!({
                "kind": "calibration", "method": "JJG 146-2011", "decision_rule": "simple",
                "received_on": "2026-11-20", "calibrated_on": calibrated_on,
                "temperature": "20.1 °C", "humidity": "52 %", "standards": [standard],
                "points": [{"nominal": "100 mm", "reference": "100 mm", "readings": "100.00012",
                            "u": "0.05 µm", "mpe": "±0.6 µm"}],
            }),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    r
}

/// The record signed as performed, reviewed and approved by `signers` in turn, each with
/// their password; the number of the certificate its approval issued.
async fn signed_by(app: &TestApp, record: i64, signers: [&TestUser; 3]) -> String {
    let sign = format!("/api/v1/records/{record}/sign");
    for u in signers {
        let (status, s) = app.post_as(u, &sign, json!({"password": PASSWORD})).await;
        assert_eq!(status, 200, "{s}");
    }
    view(app, signers[2], record).await["certificate"]
        .as_str()
        .expect("issued")
        .to_owned()
}

/// A one-point gauge-block record of `wo` with `extra` fields over the usual ones, entered
/// by `user` against `standard`: its id (the API answered 201).
pub(crate) async fn gauge_record(app: &TestApp, user: &TestUser, wo: i64, standard: i64, extra: Value) -> i64 {
    let mut body = json!({
        "kind": "calibration", "method": "JJG 146-2011", "decision_rule": "simple",
        "received_on": "2026-11-20", "calibrated_on": "2026-11-24",
        "temperature": "20.1 °C", "humidity": "52 %", "standards": [standard],
        "points": [{"nominal": "100 mm", "reference": "100 mm", "readings": "100.00012",
                    "u": "0.05 µm", "mpe": "±0.6 µm"}],
    });
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    let (status, r) = app
        .post_as(user, &format!("/api/v1/work-orders/{wo}/record"), body)
        .await;
    assert_eq!(status, 201, "{r}");
    r["id"].as_i64().unwrap()
}

pub(crate) async fn view(app: &TestApp, u: &TestUser, record: i64) -> Value {
    u.api(app.client.get(format!("/api/v1/records/{record}")))
        .dispatch()
        .await
        .into_json::<Value>()
        .await
        .unwrap()
}

#[rocket::async_test]
async fn two_records_racing_for_one_work_order_are_one_201_and_one_409() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0777").await;
    let a = app.user_in("technician", INSTITUTE).await;
    let b = app.user_in("technician", INSTITUTE).await;
    let body = json!({
        "kind": "calibration", "method": "JJG 146-2011", "decision_rule": "simple",
        "received_on": "2026-11-20", "calibrated_on": "2026-11-24",
        "temperature": "20.1 °C", "humidity": "52 %", "adjusted": false,
        "standards": [standard],
        "points": [{"nominal": "100 mm", "reference": "100.00000 mm", "readings": "100.00012 100.00014",
                    "u": "0.05 µm", "k": "2", "p": "0.95", "mpe": "±0.6 µm"}],
    });
    let uri = format!("/api/v1/work-orders/{wo}/record");
    let (first, second) = tokio::join!(app.post_as(&a, &uri, body.clone()), app.post_as(&b, &uri, body.clone()));
    let mut codes = [first.0, second.0];
    codes.sort_unstable();
    // The unique key on the work order's record decides the race; the loser is told it
    // conflicts with what is stored (it was a 500 when the race reached the database).
    assert_eq!(codes, [201, 409], "{first:?} {second:?}");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM calibration_records WHERE work_order_id = {wo}"
        ))
        .await,
        1
    );
}

/// Issue 20, defect 1: an approval that cannot become a certificate commits nothing. A
/// record calibrated "tomorrow" (within the one-day slack a record allows) cannot be
/// issued today; the approver is told why, the record stays reviewed with the work order
/// awaiting review, and the approval can be tried again (before, the approval committed
/// first and every later attempt answered 409 "nothing is left to sign").
#[rocket::async_test]
async fn an_approval_that_cannot_issue_leaves_the_record_reviewed() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0777").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let tomorrow = (crate::support::today() + chrono::Duration::days(1)).to_string();
    let r = one_point_record(&app, &technician, wo, standard, &tomorrow).await;
    let record = r["id"].as_i64().unwrap();
    let sign = format!("/api/v1/records/{record}/sign");
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let approver = app.user_in("approver", INSTITUTE).await;
    for (u, want) in [(&technician, "recorded"), (&reviewer, "reviewed")] {
        let (status, s) = app.post_as(u, &sign, json!({"password": PASSWORD})).await;
        assert_eq!((status, s["status"].as_str()), (200, Some(want)), "{s}");
    }
    let certificates = app.count("certificates").await;
    for attempt in 1..=2 {
        let (status, e) = app.post_as(&approver, &sign, json!({"password": PASSWORD})).await;
        assert_eq!(status, 422, "attempt {attempt}: {e}");
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) AS n FROM calibration_records WHERE id = {record} AND status = 'reviewed' \
                 AND certificate_id IS NULL"
            ))
            .await,
            1,
            "attempt {attempt}: the record is still reviewed"
        );
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) AS n FROM record_signatures WHERE record_id = {record} AND role = 'approver'"
            ))
            .await,
            0,
            "attempt {attempt}: no approval signature stands"
        );
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) AS n FROM work_orders WHERE id = {wo} AND status = 'awaiting_review'"
            ))
            .await,
            1
        );
        assert_eq!(app.count("certificates").await, certificates);
    }
}

/// Issue 20, defect 1, in databases written before the fix: a record approved without its
/// certificate is put back to awaiting approval at start (the approval signature goes,
/// audited), and the approver can then approve it; one whose work order moved on is left
/// and reported.
#[rocket::async_test]
async fn records_stuck_approved_without_a_certificate_are_repaired() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0777").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let r = one_point_record(&app, &technician, wo, standard, "2026-11-24").await;
    let record = r["id"].as_i64().unwrap();
    let sign = format!("/api/v1/records/{record}/sign");
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let approver = app.user_in("approver", INSTITUTE).await;
    for u in [&technician, &reviewer] {
        assert_eq!(app.post_as(u, &sign, json!({"password": PASSWORD})).await.0, 200);
    }
    // What the old approval left behind: approved, the approver's signature, no certificate.
    app.sql(&format!(
        "UPDATE calibration_records SET status = 'approved' WHERE id = {record}"
    ))
    .await;
    app.sql(&format!(
        "INSERT INTO record_signatures (record_id, user_id, name, role, meaning, content_sha256, signed_at) \
         VALUES ({record}, {}, 'A', 'approver', '批准 / approved', 'x', '2026-11-28T08:00:00Z')",
        approver.id
    ))
    .await;
    let (status, _) = app.post_as(&approver, &sign, json!({"password": PASSWORD})).await;
    assert_eq!(status, 409, "stuck: nothing is left to sign");
    let db = metrocal::store::connect(&app.url).await.unwrap();
    let repair = metrocal::service::records::repair_stuck_approvals(&db, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!((repair.repaired, repair.left), (vec![record as i32], vec![]));
    assert_eq!(app.events("record.approval_undone").await, 1);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM record_signatures WHERE record_id = {record} AND role = 'approver'"
        ))
        .await,
        0
    );
    let (status, s) = app.post_as(&approver, &sign, json!({"password": PASSWORD})).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("issued")), "{s}");
    // Run again, nothing is left to repair.
    let again = metrocal::service::records::repair_stuck_approvals(&db, chrono::Utc::now())
        .await
        .unwrap();
    assert!(again.repaired.is_empty() && again.left.is_empty(), "{again:?}");
    // One whose work order moved on is reported, not touched.
    app.sql(&format!(
        "UPDATE calibration_records SET status = 'approved', certificate_id = NULL WHERE id = {record}"
    ))
    .await;
    let left = metrocal::service::records::repair_stuck_approvals(&db, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(left.repaired, Vec::<i32>::new());
    assert_eq!(left.left.len(), 1, "{left:?}");
    assert!(left.left[0].1.contains("completed"), "{left:?}");
}

/// Issue 20, defect 3: who entered the results may not review them, even when another
/// technician signed "performed" (before, only signatures counted).
#[rocket::async_test]
async fn the_author_of_the_results_may_not_review_them() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0777").await;
    let author = app.user_in("technician,reviewer", INSTITUTE).await;
    let r = one_point_record(&app, &author, wo, standard, "2026-11-24").await;
    let sign = format!("/api/v1/records/{}/sign", r["id"]);
    let second = app.user_in("technician", INSTITUTE).await;
    let (status, s) = app.post_as(&second, &sign, json!({"password": PASSWORD})).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("recorded")), "{s}");
    let (status, e) = app.post_as(&author, &sign, json!({"password": PASSWORD})).await;
    assert!(
        status == 422 && field(&e, "signer").is_some(),
        "the author reviewed: {status} {e}"
    );
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let (status, s) = app.post_as(&reviewer, &sign, json!({"password": PASSWORD})).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("reviewed")), "{s}");
}

/// Issue 20, defect 4 (first part): once a record exists its work order follows it. A
/// scheduler cannot cancel the order under a signed record (before: cancelled, and the
/// review and approval still issued a certificate), and a record whose order was
/// cancelled in an older database is not reviewed.
#[rocket::async_test]
async fn a_work_order_with_a_record_is_not_cancelled_under_it() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0777").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let r = one_point_record(&app, &technician, wo, standard, "2026-11-24").await;
    let sign = format!("/api/v1/records/{}/sign", r["id"]);
    assert_eq!(
        app.post_as(&technician, &sign, json!({"password": PASSWORD})).await.0,
        200
    );
    let scheduler = app.user_in("scheduler", INSTITUTE).await;
    let (status, e) = app
        .post_as(
            &scheduler,
            &format!("/api/v1/work-orders/{wo}/status"),
            json!({"status": "cancelled", "note": "客户撤回"}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("work_order.has_record")),
        "{e}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM work_orders WHERE id = {wo} AND status = 'awaiting_review'"
        ))
        .await,
        1
    );
    // An order cancelled under its record before this rule: its record is not reviewed.
    app.sql(&format!("UPDATE work_orders SET status = 'cancelled' WHERE id = {wo}"))
        .await;
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let (status, e) = app.post_as(&reviewer, &sign, json!({"password": PASSWORD})).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("record.work_order_closed")),
        "{e}"
    );
}

/// docs/workflow.md: a reviewer returns a signed record to its technician with a reason
/// (退回). It reopens as a draft, its signature is void and kept, the reason shows, the
/// work order is back in calibration, and the technician corrects and signs again; the
/// certificate then prints only the signatures made over its final content.
#[rocket::async_test]
async fn a_returned_record_reopens_with_its_signatures_void() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0801").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let r = one_point_record(&app, &technician, wo, standard, "2026-11-24").await;
    let id = r["id"].as_i64().unwrap();
    let sign = format!("/api/v1/records/{id}/sign");
    let back = format!("/api/v1/records/{id}/return");
    // A draft is not returned: there is nothing signed to send back.
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let (status, e) = app.post_as(&reviewer, &back, json!({"reason": "x"})).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("record.state")),
        "{e}"
    );
    assert_eq!(
        app.post_as(&technician, &sign, json!({"password": PASSWORD})).await.0,
        200
    );
    // A signed record is corrected only after a return (before, a correction after the
    // signature left it standing over content it never saw).
    let (status, e) = app
        .post_as(
            &technician,
            &format!("/api/v1/records/{id}/points/0/readings"),
            json!({"readings": "100.00013", "reason": "typo"}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("record.state")),
        "{e}"
    );
    // The technician who signed may not return it; the reviewer must say why.
    let (status, _) = app.post_as(&technician, &back, json!({"reason": "mine"})).await;
    assert_eq!(status, 403);
    let (status, e) = app.post_as(&reviewer, &back, json!({"reason": "  "})).await;
    assert!(status == 422 && field(&e, "reason").is_some(), "{e}");
    let (status, _) = app
        .post_as(&reviewer, &back, json!({"reason": "第 1 点读数与原始记录本不符"}))
        .await;
    assert_eq!(status, 200);
    let v = view(&app, &technician, id).await;
    assert_eq!(v["record"]["status"], "draft");
    assert_eq!(v["record"]["status_reason"], "第 1 点读数与原始记录本不符");
    assert!(v["signatures"][0]["voided_at"].is_string(), "{v}");
    assert_eq!(v["actions"], json!(["correct", "sign_performed"]));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM work_orders WHERE id = {wo} AND status = 'in_calibration'"
        ))
        .await,
        1
    );
    assert_eq!(app.events("record.return").await, 1);
    // The technician finds it in their queue, with the reason, and on the home page.
    let (_, q) = app.get_as(&technician, "/api/v1/queues").await;
    assert_eq!(q["returned"][0]["record_id"], id, "{q}");
    assert_eq!(q["returned"][0]["reason"], "第 1 点读数与原始记录本不符");
    let html = technician
        .browser(app.client.get("/"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        html.contains("第 1 点读数与原始记录本不符") && html.contains(&format!("/records/{id}")),
        "{html}"
    );
    // Corrected and signed again; reviewed and approved by two others.
    let (status, _) = app
        .post_as(
            &technician,
            &format!("/api/v1/records/{id}/points/0/readings"),
            json!({"readings": "100.00011", "reason": "按原始记录本更正"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.post_as(&technician, &sign, json!({"password": PASSWORD})).await.0,
        200
    );
    let (_, q) = app.get_as(&reviewer, "/api/v1/queues").await;
    assert_eq!(q["to_review"][0]["record_id"], id, "{q}");
    assert_eq!(
        app.post_as(&reviewer, &sign, json!({"password": PASSWORD})).await.0,
        200
    );
    let approver = app.user_in("approver", INSTITUTE).await;
    let (_, q) = app.get_as(&approver, "/api/v1/queues").await;
    assert_eq!(q["to_approve"][0]["record_id"], id, "{q}");
    let (status, s) = app.post_as(&approver, &sign, json!({"password": PASSWORD})).await;
    assert_eq!(status, 200, "{s}");
    // Four signatures on the record (one void), three on the certificate.
    let v = view(&app, &technician, id).await;
    assert_eq!(v["signatures"].as_array().unwrap().len(), 4);
    let number = s["certificate"].as_str().unwrap();
    let (status, c) = app.get_as(&approver, &format!("/api/v1/certificates/{number}")).await;
    assert_eq!(status, 200, "{c}");
    let printed = c["content"]["signatures"].as_array().unwrap();
    assert_eq!(printed.len(), 3, "{c}");
    assert!(printed.iter().all(|s| s["meaning"].is_string()), "{c}");
    // Nothing waits any more.
    let (_, q) = app.get_as(&approver, "/api/v1/queues").await;
    assert!(q["to_approve"].as_array().unwrap().is_empty(), "{q}");
}

/// docs/workflow.md: the approver may return a reviewed record too; the reviewer who
/// signed it is void with it, and the page of a person who has signed offers no form of
/// a step that is no longer theirs (before, the technician saw the review form after
/// signing and got a 403 "page may have expired").
#[rocket::async_test]
async fn a_person_who_has_signed_is_offered_no_later_step() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0802").await;
    let technician = app.user_in("technician,reviewer", INSTITUTE).await;
    let r = one_point_record(&app, &technician, wo, standard, "2026-11-24").await;
    let id = r["id"].as_i64().unwrap();
    let sign = format!("/api/v1/records/{id}/sign");
    assert_eq!(
        app.post_as(&technician, &sign, json!({"password": PASSWORD})).await.0,
        200
    );
    let page = |u: &TestUser| {
        let req = u.browser(app.client.get(format!("/records/{id}")));
        async move { req.dispatch().await.into_string().await.unwrap() }
    };
    let html = page(&technician).await;
    assert!(
        !html.contains("name=\"password\"") && !html.contains("/return"),
        "{html}"
    );
    assert_eq!(view(&app, &technician, id).await["actions"], json!([]));
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let html = page(&reviewer).await;
    assert!(
        html.contains("name=\"password\"") && html.contains(&format!("/records/{id}/return")),
        "{html}"
    );
    assert_eq!(
        app.post_as(&reviewer, &sign, json!({"password": PASSWORD})).await.0,
        200
    );
    let approver = app.user_in("approver", INSTITUTE).await;
    assert_eq!(view(&app, &approver, id).await["actions"], json!(["approve", "return"]));
    let (status, _) = app
        .post_as(
            &approver,
            &format!("/api/v1/records/{id}/return"),
            json!({"reason": "温度记录缺失"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM record_signatures WHERE record_id = {id} AND voided_at IS NOT NULL"
        ))
        .await,
        2
    );
    // The returned page shows the reason, in Chinese and in English.
    let html = page(&technician).await;
    assert!(html.contains("退回原因") && html.contains("温度记录缺失"), "{html}");
    let html = technician
        .browser(app.client.get(format!("/records/{id}")))
        .cookie(rocket::http::Cookie::new("lang", "en"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(html.contains("Returned because"), "{html}");
}

/// Issue 20, defect 4 (rest): a record that will not become a certificate is withdrawn
/// with a reason (audited) by whoever plans the work; only then is its work order
/// cancelled, and the work-order list offers the cancellation only then.
#[rocket::async_test]
async fn a_withdrawn_record_frees_its_work_order() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0803").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let r = one_point_record(&app, &technician, wo, standard, "2026-11-24").await;
    let id = r["id"].as_i64().unwrap();
    let scheduler = app.user_in("scheduler", INSTITUTE).await;
    let cancels = |l: &Value| {
        l["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == wo)
            .map(|o| o["moves"].as_array().unwrap().iter().any(|m| m[0] == "cancelled"))
    };
    let (_, l) = app.get_as(&scheduler, "/api/v1/work-orders").await;
    assert_eq!(cancels(&l), Some(false), "{l}");
    let withdraw = format!("/api/v1/records/{id}/withdraw");
    // Not by the technician; not without a reason.
    assert_eq!(app.post_as(&technician, &withdraw, json!({"reason": "x"})).await.0, 403);
    let (status, e) = app.post_as(&scheduler, &withdraw, json!({"reason": ""})).await;
    assert!(status == 422 && field(&e, "reason").is_some(), "{e}");
    let (status, _) = app
        .post_as(&scheduler, &withdraw, json!({"reason": "客户取回器具，未完成校准"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.events("record.withdraw").await, 1);
    // Final: nothing more is done to it.
    let (status, e) = app
        .post_as(
            &technician,
            &format!("/api/v1/records/{id}/sign"),
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (409, Some("record.withdrawn")),
        "{e}"
    );
    let (_, l) = app.get_as(&scheduler, "/api/v1/work-orders").await;
    assert_eq!(cancels(&l), Some(true), "{l}");
    let (status, e) = app
        .post_as(
            &scheduler,
            &format!("/api/v1/work-orders/{wo}/status"),
            json!({"status": "cancelled", "note": "客户取回器具"}),
        )
        .await;
    assert_eq!(status, 200, "{e}");
}

/// Issue 20, defect 2: an amendment bypassed review and misstated who signed. One approver
/// amended a certificate to state an error of 9 µm against an MPE of ±5 µm as "pass", and
/// revision 2 still listed revision 1's signatures. Now the amendment reopens the record
/// as revision 2: its reading is corrected on the record, the error and the decision are
/// recomputed (ISO/IEC 17025 §7.8.6, simple acceptance: |0.9 µm| > 0.6 µm fails), a
/// "pass" cannot be written into the certificate, and the new certificate carries only
/// revision 2's signatures. The work order stays completed and the traceability link now
/// names the amending certificate.
#[rocket::async_test]
async fn an_amendment_is_a_new_revision_recomputed_reviewed_and_approved() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0778").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let approver = app.user_in("approver", INSTITUTE).await;
    let r = one_point_record(&app, &technician, wo, standard, "2026-11-24").await;
    let record = r["id"].as_i64().unwrap();
    let sign = format!("/api/v1/records/{record}/sign");
    let password = json!({"password": PASSWORD});
    for u in [&technician, &reviewer, &approver] {
        let (status, s) = app.post_as(u, &sign, password.clone()).await;
        assert_eq!(status, 200, "{s}");
    }
    let first = view(&app, &approver, record).await["certificate"]
        .as_str()
        .unwrap()
        .to_owned();
    let amend = format!("/api/v1/certificates/{first}/amend");
    // The decision is not written into a certificate: it follows from the results.
    let (status, e) = app
        .post_as(
            &approver,
            &amend,
            json!({"reason": "读数录入错误", "changes": {"decision": "pass"}, "password": PASSWORD}),
        )
        .await;
    assert!(status == 422 && field(&e, "changes.decision").is_some(), "{e}");
    // The technician opens the amendment and corrects the reading on the record.
    let (status, opened) = app
        .post_as(
            &technician,
            &amend,
            json!({"reason": "读数录入错误 / reading mistyped", "password": PASSWORD}),
        )
        .await;
    assert_eq!((status, opened["revision"].as_i64()), (201, Some(2)), "{opened}");
    assert_eq!(opened["record_id"].as_i64(), Some(record));
    let v = view(&app, &technician, record).await;
    assert_eq!(v["record"]["status"], "draft");
    assert!(
        v["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["voided_at"].is_string()),
        "revision 1's signatures are void on the record: {v}"
    );
    let (status, e) = app
        .post_as(
            &technician,
            &format!("/api/v1/records/{record}/points/0/readings"),
            json!({"readings": "100.0009", "reason": "读数录入错误 / reading mistyped"}),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    let v = view(&app, &technician, record).await;
    assert_eq!(v["points"][0]["decision"], "fail", "recomputed: {v}");
    // Signed again by three people; the technician who corrected it does not review it.
    let (status, _) = app.post_as(&technician, &sign, password.clone()).await;
    assert_eq!(status, 200);
    app.sql(&format!(
        "UPDATE users SET roles = 'technician,reviewer' WHERE id = {}",
        technician.id
    ))
    .await;
    let (status, e) = app.post_as(&technician, &sign, password.clone()).await;
    assert!(status == 422 && field(&e, "signer").is_some(), "{e}");
    for (u, want) in [(&reviewer, "reviewed"), (&approver, "issued")] {
        let (status, s) = app.post_as(u, &sign, password.clone()).await;
        assert_eq!((status, s["status"].as_str()), (200, Some(want)), "{s}");
    }
    let v = view(&app, &approver, record).await;
    let second = v["certificate"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let (_, c) = app.get_as(&approver, &format!("/api/v1/certificates/{second}")).await;
    assert_eq!(c["content"]["decision"], "fail", "{c}");
    assert_eq!(c["content"]["points"][0]["decision"], "fail");
    assert_eq!(c["content"]["replaces"], first.as_str());
    assert_eq!(c["content"]["revision"], 2);
    let digests: Vec<&str> = c["content"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["content_sha256"].as_str().unwrap())
        .collect();
    assert_eq!(digests.len(), 3);
    assert!(digests.iter().all(|d| *d == v["content_sha256"].as_str().unwrap()));
    let (_, old) = app.get_as(&approver, &format!("/api/v1/certificates/{first}")).await;
    assert_eq!(old["status"], "superseded");
    assert_eq!(
        old["content"]["points"][0]["decision"], "pass",
        "revision 1 is as it was issued"
    );
    // The work order stays completed, now naming the amending certificate; the one
    // traceability link stands on the new certificate with the new decision.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM work_orders WHERE id = {wo} AND status = 'completed'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM calibrations WHERE certificate_no IN ('{first}', '{second}')"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM calibrations WHERE certificate_no = '{second}' AND decision = 'fail'"
        ))
        .await,
        1
    );
    assert_eq!(app.events("record.amend").await, 2, "the demo's and this one");
    // An amendment's revision is returned, never withdrawn: the certificate it amends stands.
    let (status, _) = app
        .post_as(
            &technician,
            &format!("/api/v1/certificates/{second}/amend"),
            json!({"reason": "again", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201);
    let scheduler = app.user_in("scheduler", INSTITUTE).await;
    let (status, e) = app
        .post_as(
            &scheduler,
            &format!("/api/v1/records/{record}/withdraw"),
            json!({"reason": "no longer wanted"}),
        )
        .await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "record.amendment_open");
}

/// One rule of validity (issue 20): the certificate's valid-until date, the traceability
/// link's validity and the schedule's due date agree, for the interval the record gives.
/// Calibrated 2026-11-24 for 6 months: valid until 2027-05-23 (the day before the same
/// date six months on; JJF 1139-2005 sets the interval, 有效期至 the last day).
#[rocket::async_test]
async fn the_certificate_the_link_and_the_due_date_agree_on_validity() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0779").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let record = gauge_record(
        &app,
        &technician,
        wo,
        standard,
        json!({"kind": "verification", "interval_months": "6", "on_site": true,
               "condition_on_receipt": "外壳轻微划痕，工作正常"}),
    )
    .await;
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let approver = app.user_in("approver", INSTITUTE).await;
    let number = signed_by(&app, record, [&technician, &reviewer, &approver]).await;
    let (_, c) = app.get_as(&approver, &format!("/api/v1/certificates/{number}")).await;
    assert_eq!(c["content"]["kind"], "verification");
    assert_eq!(c["content"]["valid_until"], "2027-05-23", "{c}");
    // ISO/IEC 17025 §7.8.2.1 c) and f): on site at the customer's, and the condition on
    // receipt, in the content and the DCC.
    assert_eq!(c["content"]["on_site"], true);
    assert_eq!(c["content"]["condition_on_receipt"], "外壳轻微划痕，工作正常");
    let dcc = approver
        .api(app.client.get(format!("/api/v1/certificates/{number}/dcc")))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        dcc.contains("<dcc:performanceLocation>customer</dcc:performanceLocation>") && dcc.contains("客户现场"),
        "{dcc}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM calibrations WHERE certificate_no = '{number}' AND valid_until = '2027-05-23'"
        ))
        .await,
        1
    );
    let due = metrocal::domain::schedule::due_date(
        &["2026-11-24".parse().unwrap()],
        6,
        &metrocal::domain::schedule::DueRules::default(),
    );
    assert_eq!(due, Some("2027-05-23".parse().unwrap()));
}

/// One formatter (issue 20): the record page, the certificate page, the PDF and the DCC
/// print the same figures. Nominal and reference keep the digits entered (100.000 mm);
/// U is stated to two significant digits and the error to U's place (JJF 1059.1-2012
/// §5.3.8): readings 100.00012, 100.00013, 100.00015 mm against 100.000 mm average an
/// error of 0.13333… µm, stated with U = 0.050 µm as 0.133 µm (not 0.13333333 µm).
#[rocket::async_test]
async fn the_page_the_pdf_and_the_dcc_state_the_same_figures() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0780").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let record = gauge_record(
        &app,
        &technician,
        wo,
        standard,
        json!({"points": [{"nominal": "100.000 mm", "reference": "100.000 mm",
                           "readings": "100.00012 100.00013 100.00015", "u": "0.05 µm", "mpe": "±0.6 µm"}]}),
    )
    .await;
    let v = view(&app, &technician, record).await;
    let shown = &v["shown"][0];
    assert_eq!(shown["nominal"], "100.000 mm", "{v}");
    assert_eq!(shown["reference"], "100.000 mm");
    assert_eq!(shown["error"], "0.133 µm");
    assert_eq!(shown["u"], "0.050 µm");
    assert_eq!((shown["k"].as_str(), shown["p"].as_str()), (Some("2"), Some("95 %")));
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let approver = app.user_in("approver", INSTITUTE).await;
    let number = signed_by(&app, record, [&technician, &reviewer, &approver]).await;
    let res = approver
        .api(app.client.get(format!("/api/v1/certificates/{number}/dcc")))
        .dispatch()
        .await;
    let dcc = res.into_string().await.unwrap();
    for needle in [
        "<si:value>100.000</si:value>",
        "<si:value>0.133</si:value>",
        "<si:valueExpandedMU>0.050</si:valueExpandedMU>",
    ] {
        assert!(dcc.contains(needle), "{needle} in {dcc}");
    }
    let res = approver
        .api(app.client.get(format!("/api/v1/certificates/{number}/pdf")))
        .dispatch()
        .await;
    let pdf = res.into_bytes().await.unwrap();
    let text = crate::support::pdf_text(&pdf, false);
    for needle in ["100.000 mm", "0.133 µm", "0.050 µm", "p = 95 %"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    let html = approver
        .browser(app.client.get(format!("/certificates/{number}")))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(html.contains("0.133 µm") && html.contains("100.000 mm"), "{html}");
}

/// A laboratory that rounds its uncertainties up (issue 20: GB/T 8170 half to even unless
/// the laboratory chooses rounding up): U = 0.0521 µm states as 0.053 µm, and as 0.052 µm
/// under GB/T 8170 (JJF 1059.1-2012 §5.3.8, two significant digits).
#[rocket::async_test]
async fn a_laboratory_chooses_to_round_its_uncertainty_up() {
    let app = TestApp::demo().await;
    let lab = app.organisation_id(INSTITUTE).await;
    let (standard, wo) = in_calibration(&app, "GB-100-0781").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    let admin = app.user_in("institute_admin", INSTITUTE).await;
    let uri = format!("/api/v1/organisations/{lab}/cmc/rounding");
    let (status, _) = app.post_as(&technician, &uri, json!({"u_rounding": "up"})).await;
    assert_eq!(status, 403, "the scope's keepers choose");
    let (status, e) = app.post_as(&admin, &uri, json!({"u_rounding": "sometimes"})).await;
    assert!(status == 422 && field(&e, "u_rounding").is_some(), "{e}");
    let (status, _) = app.post_as(&admin, &uri, json!({"u_rounding": "up"})).await;
    assert_eq!(status, 204);
    assert_eq!(app.events("organisation.u_rounding").await, 1);
    let record = gauge_record(
        &app,
        &technician,
        wo,
        standard,
        json!({"points": [{"nominal": "100.000 mm", "reference": "100.000 mm",
                           "readings": "100.00012 100.00013 100.00015", "u": "0.0521 µm", "mpe": "±0.6 µm"}]}),
    )
    .await;
    let v = view(&app, &technician, record).await;
    assert_eq!(v["shown"][0]["u"], "0.053 µm", "{v}");
    assert_eq!(v["shown"][0]["error"], "0.133 µm");
    let (status, _) = app.post_as(&admin, &uri, json!({"u_rounding": "half_even"})).await;
    assert_eq!(status, 204);
    let v = view(&app, &technician, record).await;
    assert_eq!(v["shown"][0]["u"], "0.052 µm", "{v}");
}

/// Tolerance limits as laboratories write them (issue 21): a point with asymmetric limits
/// on its error (−0.2 µm / +0.5 µm) is decided against them, shows them and its specific
/// risk on the page, and prints them on the certificate, the PDF and a DCC that
/// validates.
#[rocket::async_test]
async fn asymmetric_limits_decide_print_and_carry_their_risk() {
    let app = TestApp::demo().await;
    let (standard, wo) = in_calibration(&app, "GB-100-0781").await;
    let technician = app.user_in("technician", INSTITUTE).await;
    // +0.46 µm against an upper limit of +0.5 µm, U = 0.05 µm (k = 2): pass, and the
    // specific risk of false acceptance is 1 − [Φ((0.5 − 0.46)/0.025) − Φ((−0.2 −
    // 0.46)/0.025)] = Φ(−1.6) = 0.0548 (JCGM 106:2012 §9.3.2; scipy.stats.norm):
    // 5.5 %.
    let record = gauge_record(
        &app,
        &technician,
        wo,
        standard,
        json!({"points": [{"nominal": "100.000 mm", "reference": "100.000 mm", "readings": "100.00046",
                           "u": "0.05 µm", "lower_limit": "-0.2 µm", "upper_limit": "+0.5 µm"}]}),
    )
    .await;
    let v = view(&app, &technician, record).await;
    assert_eq!(v["points"][0]["decision"], "pass", "{v}");
    let shown = &v["shown"][0];
    assert_eq!(shown["mpe"], "−0.2 µm … +0.5 µm", "{v}");
    assert_eq!(shown["risk"]["kind"], "pfa");
    assert!(
        (shown["risk"]["probability"].as_f64().unwrap() - 0.054_799_291_699_557_98).abs() < 1e-9,
        "{v}"
    );
    assert_eq!(shown["risk"]["text"], "5.5\u{a0}%");
    let page = technician
        .browser(app.client.get(format!("/records/{record}")))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        page.contains("−0.2 µm … +0.5 µm") && page.contains("5.5\u{a0}%"),
        "{page}"
    );
    // A signed MPE is refused at its field, not read as ±.
    let (status, e) = app
        .post_as(
            &technician,
            &format!("/api/v1/work-orders/{wo}/record"),
            json!({"kind": "calibration", "method": "JJG 146-2011", "decision_rule": "simple",
                   "received_on": "2026-11-20", "calibrated_on": "2026-11-24", "temperature": "20.1 °C",
                   "humidity": "52 %", "standards": [standard],
                   "points": [{"nominal": "100 mm", "reference": "100 mm", "readings": "100.0004",
                               "u": "0.05 µm", "mpe": "-0.6 µm"}]}),
        )
        .await;
    assert!(status == 422 || status == 409, "{e}");
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let approver = app.user_in("approver", INSTITUTE).await;
    let number = signed_by(&app, record, [&technician, &reviewer, &approver]).await;
    let html = approver
        .browser(app.client.get(format!("/certificates/{number}")))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(html.contains("−0.2 µm … +0.5 µm"), "{html}");
    let pdf = approver
        .api(app.client.get(format!("/api/v1/certificates/{number}/pdf")))
        .dispatch()
        .await
        .into_bytes()
        .await
        .unwrap();
    let text = crate::support::pdf_text(&pdf, false);
    assert!(text.contains("−0.2 µm … +0.5"), "{text}");
    let dcc = approver
        .api(app.client.get(format!("/api/v1/certificates/{number}/dcc")))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        dcc.contains("Upper limit of the indication error") && dcc.contains("<si:value>0.5</si:value>"),
        "{dcc}"
    );
    crate::support::dcc_validates(dcc.as_bytes()).unwrap();
}
