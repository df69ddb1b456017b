//! Planning through the app: the planner's proposal for a laboratory within its weekly
//! capacity and holidays, what cannot be met and why, accepting it as work orders, and
//! each work order's moves with who may make them, all audited.

use crate::support::{form, TestApp, INSTITUTE};
use metrocal::service::{planner, schedule, Actor};
use rocket::http::{ContentType, Status};
use serde_json::{json, Value};

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[rocket::async_test]
async fn the_plan_keeps_to_capacity_and_holidays_and_work_orders_move_step_by_step() {
    let app = TestApp::demo().await;
    let institute = app.organisation_id(INSTITUTE).await as i64;
    let operator = Actor::system("test");
    // Monday 30 November 2026.
    schedule::run_daily(&operator, &app.db, day("2026-11-30"), chrono::Utc::now())
        .await
        .unwrap();
    let lab = app.user("scheduler").await;
    let browser_post = |uri: &str, fields: &[(&str, &str)]| {
        lab.browser(app.client.post(uri.to_owned()))
            .header(ContentType::Form)
            .body(form(fields))
    };

    // Two calibrations a week in every category, and a laboratory holiday on the
    // Wednesday of the second week.
    let res = browser_post("/schedule/capacity", &[("category_code", "*"), ("per_week", "2")])
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let res = browser_post("/schedule/holidays", &[("on_date", "2026-12-09"), ("name", "盘点")])
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(app.events("lab_capacity.update").await, 1);
    assert_eq!(app.events("holiday.create").await, 1);
    // Refused input comes back with the field named and the typed value kept.
    let res = browser_post("/schedule/capacity", &[("category_code", "99x"), ("per_week", "-3")])
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = res.into_string().await.unwrap();
    assert!(html.contains("cap-per_week-error") && html.contains("cap-category_code-error"));
    assert!(html.contains("value=\"99x\""), "the typed value is kept");

    let (status, p) = app.get_as(&lab, "/api/v1/plan?weeks=4&start=2026-11-30").await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["lab_id"], institute);
    let load = &p["load"]["weeks"];
    let weeks = load.as_array().expect("the institute has a load");
    assert_eq!(weeks.len(), 4);
    // Per category, 2 a week; the holiday week has 4 days: 2 × 4 / 5 = 1 per category.
    let categories: std::collections::BTreeSet<&str> = p["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["category_code"].as_str().unwrap())
        .collect();
    assert!(!categories.is_empty());
    for w in weeks {
        assert!(w["planned"].as_u64() <= w["capacity"].as_u64(), "{w}");
    }
    assert_eq!(weeks[1]["monday"], "2026-12-07");
    assert_eq!(weeks[0]["capacity"].as_u64().unwrap() % 2, 0);
    assert!(
        weeks[1]["capacity"].as_u64().unwrap() * 2 == weeks[0]["capacity"].as_u64().unwrap(),
        "the holiday week has half the capacity (rounded down per category): {load}"
    );
    // No category gets more than its 2 a week (1 in the holiday week).
    let mut per: std::collections::BTreeMap<(String, String), u32> = Default::default();
    for i in p["planned"].as_array().unwrap() {
        *per.entry((
            i["category_code"].as_str().unwrap().to_owned(),
            i["planned_on"].as_str().unwrap().to_owned(),
        ))
        .or_default() += 1;
    }
    for ((cat, d), n) in &per {
        let limit = if d.as_str() >= "2026-12-07" && d.as_str() < "2026-12-14" {
            1
        } else {
            2
        };
        assert!(*n <= limit, "{cat} on {d}: {n}");
    }
    // The items planned on time are planned on or before their due date.
    for i in p["planned"].as_array().unwrap() {
        if i["reason"].is_null() {
            assert!(i["planned_on"].as_str() <= i["due_on"].as_str(), "{i}");
        }
    }
    // What cannot be met says why.
    for i in p["unmet"].as_array().unwrap() {
        assert!(
            [
                "already_overdue",
                "capacity_before_due",
                "no_day_before_due",
                "no_laboratory",
                "no_capacity"
            ]
            .contains(&i["reason"].as_str().unwrap()),
            "{i}"
        );
    }
    let (status, e) = app.get_as(&lab, "/api/v1/plan?weeks=0").await;
    assert!(status == 422 && e["error"]["fields"]["weeks"].is_string(), "{e}");
    // Another laboratory's plan is not the scheduler's to read.
    let (status, _) = app.get_as(&lab, &format!("/api/v1/plan?lab={}", institute + 1)).await;
    assert_eq!(status, 404);
    // An enterprise has no plan.
    let holder = app.user("enterprise").await;
    let (status, _) = app.get_as(&holder, "/api/v1/plan").await;
    assert_eq!(status, 403);

    // The page shows the chart, and accepting makes a work order per planned item.
    let res = lab
        .browser(app.client.get("/schedule/plan?weeks=4&start=2026-11-30"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(html.contains("<svg") && !html.contains("http://") && !html.contains("https://"));
    let planned = p["planned"].as_array().unwrap().len() as i64;
    let (orders_before, created_before) = (app.count("work_orders").await, app.events("work_order.create").await);
    let res = browser_post("/schedule/plan/accept", &[("weeks", "4"), ("start", "2026-11-30")])
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(app.count("work_orders").await, orders_before + planned);
    assert_eq!(app.events("work_order.create").await, created_before + planned);
    // Accepted items leave the next proposal.
    let (_, again) = app.get_as(&lab, "/api/v1/plan?weeks=4&start=2026-11-30").await;
    assert_eq!(again["planned"].as_array().unwrap().len(), 0, "{}", again["planned"]);

    // One order through its states.
    let (status, list) = app.get_as(&lab, "/api/v1/work-orders?limit=1").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"].as_i64(), Some(planned));
    let id = list["orders"][0]["id"].as_i64().unwrap();
    let uri = format!("/api/v1/work-orders/{id}/status");
    // Skipping a state is refused, naming the field.
    let (status, e) = app.post_as(&lab, &uri, json!({"status": "in_calibration"})).await;
    assert!(status == 422 && e["error"]["fields"]["status"].is_string(), "{e}");
    let (status, w) = app.post_as(&lab, &uri, json!({"status": "received"})).await;
    assert_eq!((status, w["status"].as_str()), (200, Some("received")), "{w}");
    let (status, _) = app.post_as(&lab, &uri, json!({"status": "in_calibration"})).await;
    assert_eq!(status, 200);
    // Nor under review by hand: the technician's signature on its record moves it there.
    let (status, e) = app.post_as(&lab, &uri, json!({"status": "awaiting_review"})).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("work_order.review_by_signature")),
        "{e}"
    );
    // Nobody completes an order by hand, a reviewer neither (issue 20, defect 4: an order
    // went to completed while its record was an unsigned draft): the issue of its
    // record's certificate completes it. An enterprise moves nothing.
    let (status, _) = app.post_as(&holder, &uri, json!({"status": "completed"})).await;
    assert_eq!(status, 404, "another organisation's order does not exist for it");
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    for who in [&lab, &reviewer] {
        let (status, e) = app.post_as(who, &uri, json!({"status": "completed"})).await;
        assert_eq!(
            (status, e["error"]["fields"]["status"].as_str().is_some()),
            (422, true),
            "{e}"
        );
    }
    assert_eq!(app.events("work_order.move").await, 2);
    // A completed order (the demo's, completed by its certificate) stays completed.
    let done = app
        .scalar(&format!(
            "SELECT MIN(w.id) AS n FROM work_orders w JOIN organisations o ON o.id = w.lab_id \
             WHERE w.status = 'completed' AND o.code = '{INSTITUTE}'"
        ))
        .await;
    let (status, _) = app
        .post_as(
            &lab,
            &format!("/api/v1/work-orders/{done}/status"),
            json!({"status": "cancelled", "note": "late"}),
        )
        .await;
    assert_eq!(status, 422, "a completed order stays completed");

    // Cancelling needs a reason, and is audited as a cancellation.
    let (_, list) = app.get_as(&lab, "/api/v1/work-orders?status=planned&limit=1").await;
    let other = list["orders"][0]["id"].as_i64().unwrap();
    let uri = format!("/api/v1/work-orders/{other}/status");
    let (status, e) = app.post_as(&lab, &uri, json!({"status": "cancelled"})).await;
    assert!(status == 422 && e["error"]["fields"]["note"].is_string(), "{e}");
    let (status, _) = app
        .post_as(&lab, &uri, json!({"status": "cancelled", "note": "客户撤回"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.events("work_order.cancel").await, 1);
    // A cancelled item can be ordered again by hand; a second open order is refused.
    let w: Value = {
        let (_, list) = app.get_as(&lab, "/api/v1/work-orders?status=cancelled").await;
        list["orders"][0].clone()
    };
    let body = json!({"item_kind": w["item_kind"], "item_id": w["item_id"], "planned_on": "2026-12-15"});
    let (status, created) = app.post_as(&lab, "/api/v1/work-orders", body.clone()).await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = app.post_as(&lab, "/api/v1/work-orders", body).await;
    assert_eq!(status, 409);
    let (status, e) = app
        .post_as(
            &lab,
            "/api/v1/work-orders",
            json!({"item_kind": "ship", "item_id": 1, "planned_on": "2026-02-30"}),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&String> = e["error"]["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["item_kind", "planned_on"], "{e}");
    // The enterprise sees the orders for its own items, read-only.
    let (status, list) = app
        .get_as(&holder, "/api/v1/work-orders?side=holder&status=completed")
        .await;
    assert_eq!(status, 200);
    for o in list["orders"].as_array().unwrap() {
        assert!(o["moves"].as_array().unwrap().is_empty());
    }
}

#[rocket::async_test]
async fn the_cli_prints_the_province_plan() {
    let app = TestApp::demo().await;
    let operator = Actor::system("test");
    schedule::run_daily(&operator, &app.db, day("2026-11-30"), chrono::Utc::now())
        .await
        .unwrap();
    let p = planner::plan(
        &operator,
        &app.db,
        &planner::PlanCache::default(),
        day("2026-11-30"),
        12,
    )
    .await
    .unwrap();
    assert_eq!(p.weeks.len(), 12);
    assert_eq!(p.end, day("2027-02-19"));
    assert_eq!(p.on_time + p.late + p.unplaced, p.items);
    assert_eq!(p.unmet.len(), p.late + p.unplaced);
    // Every laboratory's load is within its capacity, every week.
    for l in &p.labs {
        for w in &l.weeks {
            assert!(w.planned <= w.capacity, "{} {:?}", l.lab, w);
        }
    }
    assert!(p.items > 0 && !p.planned.is_empty());
}
