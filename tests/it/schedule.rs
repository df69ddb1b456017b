//! Schedules through the app: the daily run on the demo province, an instrument whose
//! due date is known, the recall list's filters and buckets with the organisation's
//! warning window, its CSV, tenancy, and notifications that a second run does not repeat.

use crate::support::{TestApp, ENTERPRISE_A, ENTERPRISE_B, INSTITUTE};
use metrocal::service::{schedule, Actor};
use rocket::http::Status;
use sea_orm::ConnectionTrait;

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

#[rocket::async_test]
async fn the_daily_run_the_recall_list_and_its_notifications() {
    let app = TestApp::demo().await;
    let a = app.organisation_id(ENTERPRISE_A).await;
    let institute = app.organisation_id(INSTITUTE).await;
    let holder = app.user("enterprise").await;
    let lab = app.user("scheduler").await;
    // An instrument of enterprise A, last calibrated by the institute on 2025-12-20
    // against one of its standards, and once before on a leap day.
    let standard: i64 = {
        let (_, page) = app
            .get_json(&format!("/api/v1/standards?owner={institute}&per_page=1"))
            .await;
        page["items"][0]["id"].as_i64().unwrap()
    };
    let now = "2026-01-01T00:00:00Z";
    app.sql(&format!(
        "INSERT INTO instruments (owner_id, name, manufacturer, model, serial, category_code, quantity, \
             mpe_si, mpe_unit, created_at, updated_at) VALUES ({a}, 'Caliper for recall', 'M', 'X-1', 'RECALL-1', \
             '0101', 'length', NULL, NULL, '{now}', '{now}')"
    ))
    .await;
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM instruments WHERE serial = 'RECALL-1'".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let instrument: i32 = row.try_get("", "id").unwrap();
    for (cert, on, until) in [
        ("R-2024", "2024-02-29", "2025-02-28"),
        ("R-2025", "2025-12-20", "2026-12-19"),
    ] {
        app.sql(&format!(
                "INSERT INTO calibrations (item_kind, item_id, reference_kind, reference_id, provider_evidence, \
                 lab_id, certificate_no, calibrated_on, valid_until, source, created_at) VALUES ('instrument', \
                 {instrument}, 'standard', {standard}, '', {institute}, '{cert}', '{on}', '{until}', 'manual', '{now}')"
            ))
        .await;
    }

    let operator = Actor::system("test");
    let today = day("2026-11-28");
    let first = schedule::run_daily(&operator, &app.db, today, chrono::Utc::now())
        .await
        .unwrap();
    let items = app.count("standards").await + app.count("devices").await + app.count("instruments").await;
    assert_eq!(first.items as i64, items);
    assert_eq!(first.changed, first.items, "the first run writes every item");
    assert_eq!(
        first.in_date + first.due_soon + first.overdue + first.out_of_service,
        first.items
    );
    assert!(first.notifications > 0, "{first:?}");
    let notifications = app.count("notifications").await;
    assert_eq!(notifications as u64, first.notifications);

    // The same day again: nothing changed, nothing sent twice.
    let second = schedule::run_daily(&operator, &app.db, today, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!((second.changed, second.notifications, second.repeated), (0, 0, true));
    assert_eq!(app.count("notifications").await, notifications);
    assert_eq!(app.count("job_runs").await, 2);
    assert_eq!(app.events("schedule.run").await, 2, "each run is audited");

    // The instrument: calibrated 2025-12-20 for 12 months, in date until 2026-12-19 (the
    // day before the same date a year on; domain::schedule::valid_until), 21 days after
    // 28 November:
    // due soon within the default 30-day window, due next month; the laboratory is the
    // institute named on its calibration.
    let uri = "/api/v1/recall?side=holder&q=RECALL-1";
    let (status, list) = app.get_as(&holder, uri).await;
    assert_eq!(status, 200, "{list}");
    let rows = list["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    let r = &rows[0];
    assert_eq!(r["due_on"], "2026-12-19");
    assert_eq!(r["last_calibrated_on"], "2025-12-20");
    assert_eq!(r["interval_months"], 12);
    assert_eq!(r["lab_id"], institute);
    let on = list["on"].as_str().unwrap().to_owned();
    // The list takes the status on the day asked.
    let (_, list) = app.get_as(&holder, &format!("{uri}&on=2026-11-28")).await;
    let r = &list["rows"][0];
    assert_eq!(
        (r["status"].as_str(), r["bucket"].as_str()),
        (Some("due_soon"), Some("next_month"))
    );
    let (_, list) = app.get_as(&holder, &format!("{uri}&on=2026-11-18")).await;
    assert_eq!(list["rows"][0]["status"], "in_date", "31 days before");
    let (_, list) = app.get_as(&holder, &format!("{uri}&on=2026-12-19")).await;
    assert_eq!(list["rows"][0]["status"], "due_soon", "its last day in date");
    let (_, list) = app.get_as(&holder, &format!("{uri}&on=2026-12-20")).await;
    assert_eq!(list["rows"][0]["status"], "overdue", "the day after");
    let (_, list) = app.get_as(&holder, &format!("{uri}&on=2026-12-21")).await;
    assert_eq!(
        (list["rows"][0]["status"].as_str(), list["rows"][0]["bucket"].as_str()),
        (Some("overdue"), Some("overdue"))
    );
    let _ = on;

    // A narrower warning window of the enterprise's own: 14 days, so in date on 28 November.
    app.sql(&format!(
        "INSERT INTO schedule_settings (organisation_id, month_end, early_window_days, warning_days, \
             default_interval_months, updated_at) VALUES ({a}, false, 0, 14, 12, '{now}')"
    ))
    .await;
    let (_, list) = app.get_as(&holder, &format!("{uri}&on=2026-11-28")).await;
    assert_eq!(list["rows"][0]["status"], "in_date");
    assert_eq!(list["rules"]["due"]["warning_days"], 14);
    // Keep to the month's end, and the next run moves the due date to 31 December.
    app.sql(&format!(
        "UPDATE schedule_settings SET month_end = true WHERE organisation_id = {a}"
    ))
    .await;
    let third = schedule::run_daily(&operator, &app.db, today, chrono::Utc::now())
        .await
        .unwrap();
    assert!(third.changed >= 1);
    let (_, list) = app.get_as(&holder, uri).await;
    assert_eq!(list["rows"][0]["due_on"], "2026-12-31");

    // Filters: by bucket and status the instrument is found where it belongs.
    let (_, list) = app
        .get_as(&holder, &format!("{uri}&on=2026-12-05&bucket=this_month"))
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 1, "{list}");
    let (_, list) = app
        .get_as(&holder, &format!("{uri}&on=2026-12-05&bucket=next_month"))
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 0);
    // 26 days before is outside the 14-day window, 11 days before inside it.
    let (_, list) = app
        .get_as(&holder, &format!("{uri}&on=2026-12-05&status=due_soon"))
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 0);
    let (_, list) = app
        .get_as(&holder, &format!("{uri}&on=2026-12-05&status=in_date"))
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 1);
    let (_, list) = app
        .get_as(&holder, &format!("{uri}&on=2026-12-20&status=due_soon"))
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 1);
    let (_, list) = app
        .get_as(&holder, &format!("{uri}&on=2026-12-17&status=due_soon"))
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 1, "14 days before");
    let (_, list) = app
        .get_as(&holder, &format!("{uri}&on=2026-12-16&status=due_soon"))
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 0, "15 days before");
    let (_, list) = app
        .get_as(&holder, &format!("{uri}&on=2026-12-05&status=overdue"))
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 0);
    // The bucket counts add up to the list's items in service.
    let (_, all) = app.get_as(&holder, "/api/v1/recall?side=holder&status=").await;
    let counted: i64 = all["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .sum();
    let (_, oos) = app
        .get_as(&holder, "/api/v1/recall?side=holder&status=out_of_service")
        .await;
    assert_eq!(counted + oos["total"].as_i64().unwrap(), all["total"].as_i64().unwrap());

    // The laboratory's side lists it too.
    let (_, list) = app.get_as(&lab, "/api/v1/recall?side=lab&q=RECALL-1").await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 1, "{list}");

    // Bad parameters: 422 naming the field.
    for (param, field) in [
        ("bucket=soonish", "bucket"),
        ("status=fine", "status"),
        ("side=both", "side"),
        ("on=2026-02-30", "on"),
        ("limit=-1", "limit"),
        ("kind=car", "kind"),
    ] {
        let (status, body) = app.get_as(&holder, &format!("/api/v1/recall?{param}")).await;
        assert_eq!(status, 422, "{param}: {body}");
        assert!(body.to_string().contains(field), "{param}: {body}");
    }
    // Another enterprise sees nothing of A's.
    let other = app.user_in("enterprise", ENTERPRISE_B).await;
    let (status, _) = app
        .get_as(&other, &format!("/api/v1/recall?side=holder&organisation={a}"))
        .await;
    assert_eq!(status, 403);
    let (_, own) = app.get_as(&other, "/api/v1/recall?side=holder&q=RECALL-1").await;
    assert_eq!(own["rows"].as_array().unwrap().len(), 0);

    // The page, and the CSV with the same row.
    let res = holder
        .browser(app.client.get("/schedule?side=holder&q=RECALL-1"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains("Caliper for recall") && html.contains("2026-12-31"),
        "{html}"
    );
    let res = holder
        .browser(app.client.get("/schedule.csv?side=holder&q=RECALL-1&on=2026-11-28"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let csv = res.into_string().await.unwrap();
    assert!(
        csv.contains("instrument,") && csv.contains(",2025-12-20,2026-12-31,in_date,next_month"),
        "{csv}"
    );
    let res = holder
        .browser(app.client.get("/schedule?bucket=soonish"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);

    // The holder's notifications have the day's notification; reading it marks it read, once.
    let fresh = app.user("enterprise").await;
    // On 20 December the instrument is due soon (11 days, within the 14-day window).
    schedule::run_daily(&operator, &app.db, day("2026-12-20"), chrono::Utc::now())
        .await
        .unwrap();
    let res = fresh.browser(app.client.get("/notifications")).dispatch().await;
    let html = res.into_string().await.unwrap();
    assert!(html.contains("本单位器具到期") && html.contains("项即将到期"), "{html}");
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT id FROM notifications WHERE user_id = {}", fresh.id),
        ))
        .await
        .unwrap()
        .expect("a notification for the new user");
    let id: i32 = row.try_get("", "id").unwrap();
    let post = |uri: String| {
        fresh
            .browser(app.client.post(uri))
            .header(rocket::http::ContentType::Form)
            .body(crate::support::form(&[]))
    };
    let res = post(format!("/notifications/{id}/read")).dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    let res = post(format!("/notifications/{id}/read")).dispatch().await;
    assert_eq!(res.status(), Status::NotFound, "already read");
    // Another user's notification is not found.
    let res = holder
        .browser(app.client.post(format!("/notifications/{id}/read")))
        .header(rocket::http::ContentType::Form)
        .body(crate::support::form(&[]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotFound);
}

#[rocket::async_test]
async fn a_calendar_feed_answers_until_it_is_revoked() {
    let app = TestApp::demo().await;
    let operator = Actor::system("test");
    schedule::run_daily(&operator, &app.db, day("2026-11-28"), chrono::Utc::now())
        .await
        .unwrap();
    let lab = app.user("scheduler").await;
    let post = |uri: &str, fields: &[(&str, &str)]| {
        lab.browser(app.client.post(uri.to_owned()))
            .header(rocket::http::ContentType::Form)
            .body(crate::support::form(fields))
    };
    let res = post("/schedule/feeds", &[("label", "实验室日历")]).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    // The page escapes the slashes of the address it shows.
    let html = html.replace("&#x2f;", "/");
    let start = html.find("/calendar/").expect("the address is shown once");
    let url: String = html[start..].chars().take_while(|c| *c != '<').collect();
    assert!(url.ends_with(".ics"), "{url}");
    assert_eq!(app.events("calendar_feed.create").await, 1);
    // A calendar program fetches it without logging in.
    let res = app.client.get(url.clone()).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.content_type().map(|c| c.sub().to_string()), Some("calendar".into()));
    let ics = res.into_string().await.unwrap();
    assert!(
        ics.starts_with("BEGIN:VCALENDAR") && ics.contains("BEGIN:VEVENT"),
        "{ics}"
    );
    // Every event is an all-day event on a due date the recall list gives.
    let (_, list) = app.get_as(&lab, "/api/v1/recall?side=lab&status=due_soon").await;
    let first = &list["rows"][0];
    let due = first["due_on"].as_str().unwrap().replace('-', "");
    assert!(ics.contains(&format!("DTSTART;VALUE=DATE:{due}")), "{due}");
    assert!(ics.contains(&format!(
        "UID:{}-{}@metrocal",
        first["item_kind"].as_str().unwrap(),
        first["item_id"]
    )));
    // A wrong token is not found; the page shows nothing of the token again.
    let res = app.client.get("/calendar/0123abcd.ics").dispatch().await;
    assert_eq!(res.status(), Status::NotFound);
    let res = lab.browser(app.client.get("/schedule/feeds")).dispatch().await;
    let html = res.into_string().await.unwrap();
    let html = html.replace("&#x2f;", "/");
    assert!(html.contains("实验室日历") && !html.contains(&url));
    // Revoked: the address stops answering. Another organisation cannot revoke it.
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM calendar_feeds".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let id: i32 = row.try_get("", "id").unwrap();
    let other = app.user("enterprise").await;
    let res = other
        .browser(app.client.post(format!("/schedule/feeds/{id}/revoke")))
        .header(rocket::http::ContentType::Form)
        .body(crate::support::form(&[]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotFound);
    assert_eq!(app.client.get(url.clone()).dispatch().await.status(), Status::Ok);
    let res = post(&format!("/schedule/feeds/{id}/revoke"), &[]).dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(app.client.get(url).dispatch().await.status(), Status::NotFound);
    assert_eq!(app.events("calendar_feed.revoke").await, 1);
    // A name too long is refused at its field, and nothing is saved.
    let long = "长".repeat(101);
    let res = post("/schedule/feeds", &[("label", &long)]).dispatch().await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert_eq!(app.count("calendar_feeds").await, 1);
}

#[rocket::async_test]
async fn an_organisation_sets_its_rules_and_bad_input_is_shown_again() {
    let app = TestApp::demo().await;
    let lab = app.user("scheduler").await;
    let post = |fields: &[(&str, &str)]| {
        lab.browser(app.client.post("/schedule/settings"))
            .header(rocket::http::ContentType::Form)
            .body(crate::support::form(fields))
    };
    let res = lab.browser(app.client.get("/schedule/settings")).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert!(
        res.into_string().await.unwrap().contains("value=\"30\""),
        "the default window"
    );
    // Out of range and not a number: 422, each field named, the typed values kept.
    let res = post(&[
        ("warning_days", "400"),
        ("early_window_days", "abc"),
        ("default_interval_months", "0"),
        ("assessment_validity_years", "11"),
    ])
    .dispatch()
    .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = res.into_string().await.unwrap();
    for f in [
        "warning_days-error",
        "early_window_days-error",
        "default_interval_months-error",
        "assessment_validity_years-error",
    ] {
        assert!(html.contains(f), "{f}");
    }
    assert!(html.contains("value=\"400\"") && html.contains("value=\"abc\""));
    assert_eq!(app.count("schedule_settings").await, 0, "nothing saved");
    // Saved and audited; the recall list shows the window.
    let res = post(&[
        ("month_end", "on"),
        ("warning_days", "14"),
        ("early_window_days", "30"),
        ("default_interval_months", "24"),
        ("assessment_validity_years", "5"),
    ])
    .dispatch()
    .await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(app.events("schedule_settings.update").await, 1);
    let (_, list) = app.get_as(&lab, "/api/v1/recall").await;
    assert_eq!(list["rules"]["due"]["warning_days"], 14);
    assert_eq!(list["rules"]["due"]["month_end"], true);
    assert_eq!(list["rules"]["default_interval_months"], 24);
    assert_eq!(list["rules"]["assessment_validity_years"], 5);
    // Someone who only reads may not change them.
    let technician = app.user("technician").await;
    let res = technician
        .browser(app.client.post("/schedule/settings"))
        .header(rocket::http::ContentType::Form)
        .body(crate::support::form(&[
            ("warning_days", "1"),
            ("early_window_days", "0"),
            ("default_interval_months", "12"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
}
