//! Interval proposals through the app: the staircase on one instrument, A3 and S2 on a
//! group pooled across the province, approval by someone other than the proposer, and
//! the interval applied by the next daily run.

use crate::support::{TestApp, ENTERPRISE_A, ENTERPRISE_B};
use metrocal::service::{schedule, Actor};
use serde_json::{json, Value};

/// `count` instruments of `owner` in category 01219000, each calibrated on 2024-12-01 and
/// 2025-12-01 (365 days), the first `ok` of them found in tolerance the second time.
async fn group(app: &TestApp, owner: i32, tag: &str, count: usize, ok: usize) {
    group_between(app, owner, tag, count, ok, "2024-12-01", "2025-12-01").await;
}

#[rocket::async_test]
async fn proposals_are_approved_by_another_person_and_then_apply() {
    let app = TestApp::demo().await;
    // Only this test's instruments in category 01219000.
    app.sql("DELETE FROM calibrations WHERE item_kind = 'instrument' AND item_id IN (SELECT id FROM instruments WHERE category_code = '01219000')").await;
    app.sql("DELETE FROM instruments WHERE category_code = '01219000'")
        .await;
    let a = app.organisation_id(ENTERPRISE_A).await;
    let b = app.organisation_id(ENTERPRISE_B).await;
    // A group pooled over two enterprises: 12 of 20 in tolerance at the end of a year.
    group(&app, a, "GA", 10, 4).await;
    group(&app, b, "GB", 10, 8).await;
    let operator = Actor::system("test");
    schedule::run_daily(&operator, &app.db, "2026-11-28".parse().unwrap(), chrono::Utc::now())
        .await
        .unwrap();
    let proposer = app.user("enterprise").await;
    let approver = app.user_in("enterprise", ENTERPRISE_A).await;

    // A3 at target 0.90: 12/20 = 0.6, 95 % Clopper–Pearson [0.3605, 0.8088]: shorten to
    // t·ln 0.9/ln 0.6 with t = 365/30.436875 = 11.992 months: 2.47, limited by RP-1's
    // maximum change (a factor of 2) to 5.996, so 6 months (issue 21, defect 7: it was 2).
    let (status, p) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "group", "category_code": "01219000", "method": "a3"}),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(
        (p["current_months"].as_i64(), p["proposed_months"].as_i64()),
        (Some(12), Some(6))
    );
    assert_eq!(p["status"], "pending");
    let history: Value = serde_json::from_str(p["history"].as_str().unwrap()).unwrap();
    assert_eq!(
        (history["n"].as_i64(), history["in_tolerance"].as_i64()),
        (Some(20), Some(12))
    );
    let params: Value = serde_json::from_str(p["params"].as_str().unwrap()).unwrap();
    assert_eq!(params["result"]["proposal"], "shorten");
    // S2 on the same results: all at one interval, so RP-1's F test has nothing to test
    // the model against, and no interval is proposed (issue 21: only an accepted model).
    let (status, s2) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "group", "category_code": "01219000", "method": "s2"}),
        )
        .await;
    assert_eq!(status, 422, "{s2}");
    assert!(s2["error"]["fields"]["method"].is_string(), "{s2}");
    assert_eq!(s2["error"]["code"], "interval.model_untested", "{s2}");
    // A3 with the calculator's settings: a factor of 4 allows 2.47 months to stand as
    // 3 (2.998 rounded), and a bad confidence is named.
    let (status, p4) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "group", "category_code": "01219000", "method": "a3", "max_change_factor": 4}),
        )
        .await;
    assert_eq!((status, p4["proposed_months"].as_i64()), (201, Some(3)), "{p4}");
    let (status, e) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "group", "category_code": "01219000", "method": "a3", "confidence": 2}),
        )
        .await;
    assert!(status == 422 && e["error"]["fields"]["confidence"].is_string(), "{e}");
    let (status, e) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "group", "category_code": "01219000", "method": "guess"}),
        )
        .await;
    assert!(status == 422 && e["error"]["fields"]["method"].is_string(), "{e}");

    // The proposer cannot approve their own proposal; another person of the organisation can.
    let id = p["id"].as_i64().unwrap();
    let decision = format!("/api/v1/interval-proposals/{id}/decision");
    let (status, e) = app.post_as(&proposer, &decision, json!({"decision": "approve"})).await;
    assert!(status == 422 && e["error"]["fields"]["decision"].is_string(), "{e}");
    // Another organisation does not see it.
    let other = app.user_in("enterprise", ENTERPRISE_B).await;
    let (status, _) = app.post_as(&other, &decision, json!({"decision": "approve"})).await;
    assert_eq!(status, 404);
    let (status, d) = app.post_as(&approver, &decision, json!({"decision": "approve"})).await;
    assert_eq!((status, d["status"].as_str()), (200, Some("approved")), "{d}");
    let (status, _) = app.post_as(&approver, &decision, json!({"decision": "reject"})).await;
    assert_eq!(status, 409, "decided once");
    assert_eq!(app.events("interval.propose").await, 2);
    assert_eq!(app.events("interval.approve").await, 1);
    // Applied to enterprise A's ten instruments only.
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM item_intervals WHERE months = 6")
            .await,
        10
    );
    // The next run moves their due dates: calibrated 2025-12-01 for 6 months, in date
    // until 2026-05-31.
    schedule::run_daily(&operator, &app.db, "2026-11-29".parse().unwrap(), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) AS n FROM due_items WHERE owner_id = {a} AND label LIKE 'Gauge G-1 GA-%' AND interval_months = 6 AND due_on = '2026-05-31'")
        )
        .await,
        10
    );

    // The staircase on one instrument of enterprise B found within half its MPE: 12 → 15.
    let b_proposer = app.user_in("enterprise", ENTERPRISE_B).await;
    let gb0 = app
        .scalar("SELECT id AS n FROM instruments WHERE serial = 'GB-0'")
        .await;
    let (status, p) = app
        .post_as(
            &b_proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "item", "item_kind": "instrument", "item_id": gb0}),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(
        (p["method"].as_str(), p["proposed_months"].as_i64()),
        (Some("staircase"), Some(15))
    );
    // Out of tolerance (GB-9): halved to 6.
    let gb9 = app
        .scalar("SELECT id AS n FROM instruments WHERE serial = 'GB-9'")
        .await;
    let (_, p9) = app
        .post_as(
            &b_proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "item", "item_kind": "instrument", "item_id": gb9}),
        )
        .await;
    assert_eq!(p9["proposed_months"].as_i64(), Some(6), "{p9}");
    // Rejected: nothing changes.
    let (status, _) = app
        .post_as(
            &other,
            &format!("/api/v1/interval-proposals/{}/decision", p9["id"]),
            json!({"decision": "reject"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM item_intervals WHERE item_id = {gb9}"
        ))
        .await,
        0
    );
    // Enterprise A cannot propose for B's instrument.
    let (status, e) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "item", "item_kind": "instrument", "item_id": gb0}),
        )
        .await;
    assert!(status == 422 && e["error"]["fields"]["item_id"].is_string(), "{e}");
}

/// `count` instruments of `owner` in category 01219000 calibrated on `first` and
/// `second`, the first `ok` of them found in tolerance the second time.
async fn group_between(app: &TestApp, owner: i32, tag: &str, count: usize, ok: usize, first: &str, second: &str) {
    let now = "2026-01-01T00:00:00Z";
    for i in 0..count {
        app.sql(&format!(
            "INSERT INTO instruments (owner_id, name, manufacturer, model, serial, category_code, quantity, \
                 mpe_si, mpe_unit, created_at, updated_at) VALUES ({owner}, 'Gauge', 'M', 'G-1', '{tag}-{i}', \
                 '01219000', 'length', 0.00002, 'mm', '{now}', '{now}')"
        ))
        .await;
        let id = app
            .scalar(&format!("SELECT id AS n FROM instruments WHERE serial = '{tag}-{i}'"))
            .await;
        let error = if i < ok { 0.000005 } else { 0.00003 };
        // The first certificate is valid until the day before the second calibration.
        let day_before = (second.parse::<chrono::NaiveDate>().unwrap() - chrono::Days::new(1)).to_string();
        for (cert, on, until, e) in [
            ("A", first, day_before.as_str(), 0.0),
            ("B", second, "2026-11-30", error),
        ] {
            app.sql(&format!(
                "INSERT INTO calibrations (item_kind, item_id, provider_evidence, certificate_no, calibrated_on, \
                 valid_until, quantity, mpe_si, as_found_error_si, source, created_at) VALUES ('instrument', {id}, '', \
                 '{tag}-{i}-{cert}', '{on}', '{until}', 'length', 0.00002, {e}, 'manual', '{now}')"
            ))
            .await;
        }
    }
}

/// S2 proposes only from a model RP-1's F test accepts, and the staircase follows the
/// organisation's own parameters and then the request's (issue 21).
#[rocket::async_test]
async fn s2_needs_an_accepted_model_and_the_staircase_takes_the_organisations_parameters() {
    let app = TestApp::demo().await;
    app.sql("DELETE FROM calibrations WHERE item_kind = 'instrument' AND item_id IN (SELECT id FROM instruments WHERE category_code = '01219000')").await;
    app.sql("DELETE FROM instruments WHERE category_code = '01219000'")
        .await;
    let a = app.organisation_id(ENTERPRISE_A).await;
    // 23 of 25 in tolerance after 6 months, 21 of 25 after 12, 19 of 25 after 18
    // (183, 365 and 548 days, to the nearest month 6, 12 and 18). SciPy (brentq on the
    // likelihood's score; scipy.stats.f.ppf): λ = 0.0147635202959575 per month,
    // t* = −ln 0.9/λ = 7.137 months, F = 0.00667 < F(0.95; 2, 72) = 3.124: accepted, 7.
    group_between(&app, a, "S6", 25, 23, "2025-06-01", "2025-12-01").await;
    group_between(&app, a, "S12", 25, 21, "2024-12-01", "2025-12-01").await;
    group_between(&app, a, "S18", 25, 19, "2024-06-01", "2025-12-01").await;
    schedule::run_daily(
        &Actor::system("test"),
        &app.db,
        "2026-11-28".parse().unwrap(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let proposer = app.user("enterprise").await;
    let (status, p) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "group", "category_code": "01219000", "method": "s2", "reliability_target": 0.9}),
        )
        .await;
    assert_eq!((status, p["proposed_months"].as_i64()), (201, Some(7)), "{p}");
    let params: Value = serde_json::from_str(p["params"].as_str().unwrap()).unwrap();
    assert!(
        (params["result"]["lambda"].as_f64().unwrap() - 0.014_763_520_295_957_5).abs() < 1e-12,
        "{params}"
    );
    assert_eq!(params["result"]["f_test"]["accept"], true);

    // The staircase: S6-0 was found within half its MPE (5 of 20 µm). metrocal's
    // default extends 12 → 15; the enterprise's own rule (extend by 1.5 within 0.3 of
    // the MPE, at most 24 months) gives 18, and the request's factor 2 gives 24.
    let item = app
        .scalar("SELECT id AS n FROM instruments WHERE serial = 'S6-0'")
        .await;
    let ask = |extra: Value| {
        let mut body = json!({"scope": "item", "item_kind": "instrument", "item_id": item});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let (_, p) = app
        .post_as(&proposer, "/api/v1/interval-proposals", ask(json!({})))
        .await;
    assert_eq!(p["proposed_months"].as_i64(), Some(15), "{p}");
    let res = proposer
        .browser(app.client.post("/schedule/settings"))
        .header(rocket::http::ContentType::Form)
        .body(crate::support::form(&[
            ("warning_days", "30"),
            ("early_window_days", "0"),
            ("default_interval_months", "12"),
            ("assessment_validity_years", "4"),
            ("staircase_extend_threshold", "0.3"),
            ("staircase_extend_factor", "1.5"),
            ("staircase_shorten_factor", "0.5"),
            ("staircase_min_months", "3"),
            ("staircase_max_months", "24"),
            ("staircase_whole_months", "on"),
            ("tur_limit", "3"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status().code, 303, "saved");
    let (_, p) = app
        .post_as(&proposer, "/api/v1/interval-proposals", ask(json!({})))
        .await;
    assert_eq!(p["proposed_months"].as_i64(), Some(18), "{p}");
    let (_, p) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            ask(json!({"parameters": {"extend_factor": 2}})),
        )
        .await;
    assert_eq!(p["proposed_months"].as_i64(), Some(24), "{p}");
    let params: Value = serde_json::from_str(p["params"].as_str().unwrap()).unwrap();
    assert_eq!(params["step"]["clamped"], false, "{params}");
    let (status, e) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            ask(json!({"parameters": {"shorten_factor": 3}})),
        )
        .await;
    assert!(
        status == 422 && e["error"]["fields"]["parameters.shorten_factor"].is_string(),
        "{e}"
    );
    // Out-of-range rules are refused field by field on the form, in the lab's words.
    let res = proposer
        .browser(app.client.post("/schedule/settings"))
        .header(rocket::http::ContentType::Form)
        .body(crate::support::form(&[
            ("warning_days", "30"),
            ("early_window_days", "0"),
            ("default_interval_months", "12"),
            ("assessment_validity_years", "4"),
            ("staircase_extend_factor", "0.5"),
            ("staircase_min_months", "10"),
            ("staircase_max_months", "6"),
            ("tur_limit", "abc"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status().code, 422);
    let html = res.into_string().await.unwrap();
    for f in [
        "staircase_extend_factor-error",
        "staircase_max_months-error",
        "tur_limit-error",
    ] {
        assert!(html.contains(f), "{f}");
    }
    assert!(html.contains("value=\"abc\""));
}
