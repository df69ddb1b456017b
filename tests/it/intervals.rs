//! Interval proposals through the app: the staircase on one instrument, A3 and S2 on a
//! group pooled across the province, approval by someone other than the proposer, and
//! the interval applied by the next daily run.

use crate::support::{TestApp, ENTERPRISE_A, ENTERPRISE_B};
use metrocal::service::{schedule, Actor};
use serde_json::{json, Value};

/// `count` instruments of `owner` in category 01219000, each calibrated on 2024-12-01 and
/// 2025-12-01 (365 days), the first `ok` of them found in tolerance the second time.
async fn group(app: &TestApp, owner: i32, tag: &str, count: usize, ok: usize) {
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
        for (cert, on, until, e) in [
            ("A", "2024-12-01", "2025-11-30", 0.0),
            ("B", "2025-12-01", "2026-11-30", error),
        ] {
            app.sql(&format!(
                    "INSERT INTO calibrations (item_kind, item_id, provider_evidence, certificate_no, calibrated_on, \
                     valid_until, quantity, mpe_si, as_found_error_si, source, created_at) VALUES ('instrument', {id}, '', \
                     '{tag}-{i}-{cert}', '{on}', '{until}', 'length', 0.00002, {e}, 'manual', '{now}')"
                ),
            )
            .await;
        }
    }
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
    // S2 on the same results: all at one interval, so the fit gives the same interval.
    let (status, s2) = app
        .post_as(
            &proposer,
            "/api/v1/interval-proposals",
            json!({"scope": "group", "category_code": "01219000", "method": "s2"}),
        )
        .await;
    assert_eq!((status, s2["proposed_months"].as_i64()), (201, Some(2)), "{s2}");
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
