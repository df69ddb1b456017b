//! Uncertainty budgets in the app: saved against a standard, shown with the budget
//! table and the Monte Carlo histogram, recomputed identically, audited, refused with
//! field messages, and invisible to other organisations.

use crate::support::{form, TestApp, TestUser, CENTRE, INSTITUTE};
use rocket::http::{ContentType, Cookie, Status};
use serde_json::Value;

/// The end gauge of docs/uncertainty.md as the form's fields (three inputs: a normal
/// given as U and k, a normal given as u, a rectangular), with `extra` fields appended.
fn end_gauge<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("title", "Gauge block comparator, 50 mm"),
        ("about", "docs/uncertainty.md, first example"),
        ("measurands", "l mm"),
        ("model", "d = d0 + d1\nl = l_s + d"),
        ("in.0.name", "l_s"),
        ("in.0.value", "50.000623"),
        ("in.0.unit", "mm"),
        ("in.0.kind", "normal"),
        ("in.0.expanded", "0.000075"),
        ("in.0.k", "3"),
        ("in.0.dof", "18"),
        ("in.1.name", "d0"),
        ("in.1.value", "215"),
        ("in.1.unit", "nm"),
        ("in.1.kind", "normal"),
        ("in.1.u", "5.8"),
        ("in.1.dof", "24"),
        ("in.2.name", "d1"),
        ("in.2.value", "0"),
        ("in.2.unit", "nm"),
        ("in.2.kind", "rectangular"),
        ("in.2.half_width", "10"),
        ("coverage", "probability"),
        ("coverage_value", "0.9545"),
        ("rounding", "nearest"),
        ("mc", "fixed"),
        ("mc_trials", "200000"),
        ("mc_seed", "7"),
        ("mc_digits", "2"),
    ];
    f.extend_from_slice(extra);
    f
}

async fn institute_standard(app: &TestApp) -> i64 {
    let institute = app.organisation_id(INSTITUTE).await;
    let (_, page) = app
        .get_json(&format!("/api/v1/standards?owner={institute}&per_page=1"))
        .await;
    page["items"][0]["id"].as_i64().unwrap()
}

async fn post(app: &TestApp, user: &TestUser, uri: &str, fields: &[(&str, &str)]) -> (Status, String, String) {
    let res = user
        .browser(app.client.post(uri.to_owned()))
        .header(ContentType::Form)
        .body(form(fields))
        .dispatch()
        .await;
    let status = res.status();
    let location = res.headers().get_one("Location").unwrap_or("").to_owned();
    (status, location, res.into_string().await.unwrap_or_default())
}

async fn page(app: &TestApp, user: &TestUser, uri: &str) -> (Status, String) {
    let res = user
        .browser(app.client.get(uri.to_owned()))
        .cookie(Cookie::new("lang", "en"))
        .dispatch()
        .await;
    (res.status(), res.into_string().await.unwrap_or_default())
}

/// The row of the stored budget.
async fn stored(app: &TestApp, id: i32) -> metrocal::store::entities::uncertainty_budget::Model {
    metrocal::store::budgets::budget_by_id(&app.db, id)
        .await
        .unwrap()
        .unwrap()
}

#[rocket::async_test]
async fn a_budget_is_saved_shown_and_recomputed_identically() {
    let app = TestApp::demo().await;
    let admin = app.user("institute_admin").await;
    let std_id = institute_standard(&app).await;
    let (status, location, _) = post(&app, &admin, &format!("/standards/{std_id}/budgets"), &end_gauge(&[])).await;
    assert_eq!(status, Status::SeeOther);
    let id: i32 = location.strip_prefix("/budgets/").unwrap().parse().unwrap();

    // The inputs are kept exactly as entered: every number reads back as the same double.
    let row = stored(&app, id).await;
    assert_eq!(row.revision, 1);
    let problem: Value = serde_json::from_str(&row.problem).unwrap();
    assert_eq!(problem["inputs"][0]["value"].as_f64().unwrap(), 50.000623);
    assert_eq!(
        problem["inputs"][0]["uncertainty"]["expanded"].as_f64().unwrap(),
        0.000075
    );
    assert_eq!(problem["inputs"][1]["uncertainty"]["u"].as_f64().unwrap(), 5.8);
    assert_eq!(problem["model"], "d = d0 + d1\nl = l_s + d");

    // The figures: u_c² = (75/3)² + 5.8² + 10²/3 nm² (GUM 4.3.7 for the rectangular
    // term), so u_c = 26.31 nm; ν_eff by Welch–Satterthwaite (GUM G.4.1) = 22.02.
    let result: Value = serde_json::from_str(&row.result).unwrap();
    let r = &result["results"][0];
    let want_u = (25f64.powi(2) + 5.8f64.powi(2) + 100.0 / 3.0).sqrt() * 1e-6;
    assert!((r["standard_uncertainty"].as_f64().unwrap() - want_u).abs() < 1e-15);
    let nu = want_u.powi(4) / ((25e-6f64).powi(4) / 18.0 + (5.8e-6f64).powi(4) / 24.0);
    assert!((r["effective_dof"].as_f64().unwrap() - nu).abs() < 1e-9, "{nu}");
    let report = r["report"].as_str().unwrap().to_owned();
    assert!(
        report.starts_with("l = 50.000838 mm, U = 0.000056 mm (k = 2."),
        "{report}"
    );
    assert_eq!(r["monte_carlo"]["trials"], 200_000);

    // The page: the statement, the budget table, the histogram with the GUM curve.
    let (status, html) = page(&app, &admin, &location).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains(&report), "the report line is on the page");
    for name in ["l_s", "d0", "d1"] {
        assert!(
            html.contains(&format!("<td class=\"code\">{name}</td>")),
            "{name} in the budget table"
        );
    }
    assert!(html.contains("<svg viewBox=\"0 0 640 260\""), "the histogram is drawn");
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 60, "one bar a bin");
    assert!(html.contains("<path class=\"gum\" d=\"M"), "with the GUM curve");
    assert!(html.contains("Gauge block comparator, 50 mm"));

    // The standard lists it.
    let (_, html) = page(&app, &admin, &format!("/standards/{std_id}")).await;
    assert!(html.contains(&format!("href=\"/budgets/{id}\"")));

    // Recomputed from the stored problem: the same result to the last bit.
    let (status, _, html) = post(&app, &admin, &format!("/budgets/{id}/recompute"), &[]).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("class=\"notice\""), "recomputation reports identical");
    let again = metrocal::domain::uncertainty::evaluate_with(
        &metrocal::domain::uncertainty::problem::parse_problem(&row.problem).unwrap(),
        metrocal::service::budgets::HISTOGRAM_BINS,
    )
    .unwrap();
    assert_eq!(serde_json::to_string(&again).unwrap(), row.result);

    // Opened for editing and saved unchanged: nothing changes, no event, same revision.
    let (status, html) = page(&app, &admin, &format!("/budgets/{id}/edit")).await;
    assert_eq!(status, Status::Ok);
    assert!(
        html.contains("value=\"50.000623\""),
        "the form shows the value as entered"
    );
    let events = app.events("uncertainty_budget.update").await;
    let (status, _, _) = post(
        &app,
        &admin,
        &format!("/budgets/{id}"),
        &end_gauge(&[("action", "save")]),
    )
    .await;
    assert_eq!(status, Status::SeeOther);
    assert_eq!(app.events("uncertainty_budget.update").await, events);
    assert_eq!(stored(&app, id).await.revision, 1);

    // The API returns the same.
    let res = admin
        .api(app.client.get(format!("/api/v1/budgets/{id}")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(v["result"]["results"][0]["report"], report.as_str());
    assert_eq!(v["standard"]["id"], std_id);
}

#[rocket::async_test]
async fn a_change_is_audited_input_by_input_and_counts_a_revision() {
    let app = TestApp::demo().await;
    let admin = app.user("institute_admin").await;
    let std_id = institute_standard(&app).await;
    let no_mc = [("mc", "none")];
    let (_, location, _) = post(
        &app,
        &admin,
        &format!("/standards/{std_id}/budgets"),
        &end_gauge(&no_mc),
    )
    .await;
    let id: i32 = location.strip_prefix("/budgets/").unwrap().parse().unwrap();
    assert_eq!(app.events("uncertainty_budget.create").await, 1);

    let mut changed = end_gauge(&no_mc);
    for f in changed.iter_mut() {
        if f.0 == "in.1.u" {
            f.1 = "6.1";
        }
    }
    let (status, _, _) = post(&app, &admin, &format!("/budgets/{id}"), &changed).await;
    assert_eq!(status, Status::SeeOther);
    assert_eq!(stored(&app, id).await.revision, 2);
    let history = metrocal::service::audit::history(&app.db, "uncertainty_budget", id)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    let changes = &history[1].changes;
    let d0 = &changes["input d0"];
    assert!(d0[0].as_str().unwrap().contains("\"u\":5.8"), "{d0}");
    assert!(d0[1].as_str().unwrap().contains("\"u\":6.1"), "{d0}");
    assert!(changes.get("input l_s").is_none(), "unchanged inputs are not listed");
    assert!(changes.get("result l").is_some(), "the new result is recorded");
    assert_eq!(history[1].actor, admin.email);
    // The page shows who changed what.
    let (_, html) = page(&app, &admin, &location).await;
    assert!(html.contains("input d0"));
}

#[rocket::async_test]
async fn bad_input_comes_back_with_field_messages_and_saves_nothing() {
    let app = TestApp::demo().await;
    let tech = app.user_in("technician", INSTITUTE).await;
    let std_id = institute_standard(&app).await;
    let uri = format!("/standards/{std_id}/budgets");
    // (what is wrong, the field it puts right, the form field named in the page).
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("in.1.value", "2.15.0")], "in.1.value"),
        (vec![("in.2.kind", "gaussian")], "in.2.kind"),
        (vec![("in.1.u", "-5.8")], "in.1.u"),
        (vec![("in.2.unit", "kg")], "model"),
        (vec![("model", "d = d0 + d1\nl = l_s + d0 * d1 / d1")], "model"),
        (vec![("correlations", "l_s d0 1.5")], "correlations"),
        (vec![("mc_trials", "500")], "mc_trials"),
        (vec![("title", " ")], "title"),
    ];
    for (edit, field) in cases {
        let mut fields = end_gauge(&[("mc", "none")]);
        for (k, v) in &edit {
            fields.retain(|(fk, _)| fk != k);
            fields.push((k, v));
        }
        if field == "mc_trials" {
            fields.retain(|(k, _)| *k != "mc");
            fields.push(("mc", "fixed"));
        }
        let (status, _, html) = post(&app, &tech, &uri, &fields).await;
        assert_eq!(status, Status::UnprocessableEntity, "{edit:?}");
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{edit:?}: the message sits at {field}"
        );
        // What was typed is shown again.
        for (k, v) in &edit {
            if !v.trim().is_empty() && k.starts_with("in.") {
                assert!(
                    html.contains(&format!("value=\"{v}\"")) || html.contains(&format!("selected>{v}")),
                    "{k}={v} kept"
                );
            }
        }
        assert!(html.contains("value=\"50.000623\""), "the other inputs are kept");
    }
    assert_eq!(app.count("uncertainty_budgets").await, 0);
    assert_eq!(app.events("uncertainty_budget.create").await, 0);
}

#[rocket::async_test]
async fn evaluate_previews_without_saving_and_more_rows_keep_the_input() {
    let app = TestApp::demo().await;
    let tech = app.user_in("technician", INSTITUTE).await;
    let std_id = institute_standard(&app).await;
    let uri = format!("/standards/{std_id}/budgets");
    let (status, _, html) = post(&app, &tech, &uri, &end_gauge(&[("action", "preview"), ("mc", "none")])).await;
    assert_eq!(status, Status::Ok);
    assert!(
        html.contains("l = 50.000838 mm, U = 0.000056 mm"),
        "the preview shows the result"
    );
    let (status, _, html) = post(&app, &tech, &uri, &end_gauge(&[("action", "add_rows")])).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("name=\"in.7.name\""), "three rows and five more");
    assert!(html.contains("value=\"215\""));
    assert_eq!(app.count("uncertainty_budgets").await, 0);
}

#[rocket::async_test]
async fn another_organisation_neither_sees_nor_changes_a_budget() {
    let app = TestApp::demo().await;
    let admin = app.user("institute_admin").await;
    let std_id = institute_standard(&app).await;
    let (_, location, _) = post(
        &app,
        &admin,
        &format!("/standards/{std_id}/budgets"),
        &end_gauge(&[("mc", "none"), ("title", "Internal CMC budget 7731")]),
    )
    .await;
    let id: i32 = location.strip_prefix("/budgets/").unwrap().parse().unwrap();
    let outsider = app.user_in("technician", CENTRE).await;
    let (status, _) = page(&app, &outsider, &location).await;
    assert_eq!(status, Status::NotFound);
    let (status, body_missing) = page(&app, &outsider, "/budgets/999999").await;
    assert_eq!(status, Status::NotFound);
    let (_, body_theirs) = page(&app, &outsider, &location).await;
    let strip = |body: &str, uri: &str| -> String {
        // The request id differs from request to request.
        let body = body.replace(uri, "").replace(&uri.replace('/', "&#x2f;"), "");
        let at = body.find("Request id:").unwrap();
        body[..at].to_owned()
    };
    assert_eq!(
        strip(&body_theirs, &location),
        strip(&body_missing, "/budgets/999999"),
        "another organisation's budget is indistinguishable from none"
    );
    let (_, html) = page(&app, &outsider, &format!("/standards/{std_id}")).await;
    assert!(
        !html.contains("Internal CMC budget 7731"),
        "the standard's page does not list it"
    );
    let (status, _, _) = post(
        &app,
        &outsider,
        &format!("/budgets/{id}"),
        &end_gauge(&[("mc", "none")]),
    )
    .await;
    assert_eq!(status, Status::NotFound);
    let res = outsider
        .api(app.client.get(format!("/api/v1/budgets/{id}")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotFound);
    // The public sees the standard but not its budgets.
    let res = app.client.get(format!("/standards/{std_id}")).dispatch().await;
    assert!(!res.into_string().await.unwrap().contains("Internal CMC budget 7731"));
    assert_eq!(stored(&app, id).await.revision, 1);
}

#[rocket::async_test]
async fn the_largest_budget_fits_the_form_and_one_more_input_is_refused() {
    let app = TestApp::demo().await;
    let admin = app.user("institute_admin").await;
    let std_id = institute_standard(&app).await;
    let uri = format!("/standards/{std_id}/budgets");
    let readings = "10.0012 10.0015 10.0009 10.0011 10.0014 10.0010 10.0013 10.0012 10.0011 10.0016";
    let budget = |n: usize| -> Vec<(String, String)> {
        let names: Vec<String> = (0..n).map(|i| format!("x{i}")).collect();
        let mut f = vec![
            ("title".to_owned(), "Mean of many channels".to_owned()),
            ("measurands".to_owned(), "y V".to_owned()),
            ("model".to_owned(), format!("y = ({}) / {n}", names.join(" + "))),
            ("mc".to_owned(), "none".to_owned()),
        ];
        for (i, name) in names.iter().enumerate() {
            for (k, v) in [
                ("name", name.as_str()),
                ("unit", "V"),
                ("kind", "type_a"),
                ("readings", readings),
            ] {
                f.push((format!("in.{i}.{k}"), v.to_owned()));
            }
        }
        f
    };
    let largest = budget(metrocal::domain::uncertainty::form::MAX_ROWS);
    let fields: Vec<(&str, &str)> = largest.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, location, _) = post(&app, &admin, &uri, &fields).await;
    assert_eq!(
        status,
        Status::SeeOther,
        "200 inputs with ten readings each are accepted"
    );
    assert!(location.starts_with("/budgets/"));
    let too_many = budget(metrocal::domain::uncertainty::form::MAX_ROWS + 1);
    let fields: Vec<(&str, &str)> = too_many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, _, html) = post(&app, &admin, &uri, &fields).await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(html.contains("id=\"inputs-error\""));
    assert!(
        html.contains("name=\"in.200.name\" value=\"x200\""),
        "every row is shown again"
    );
    assert_eq!(app.count("uncertainty_budgets").await, 1);
}

#[rocket::async_test]
async fn a_huge_uncertainty_is_refused_and_an_unreadable_saved_result_is_a_notice_not_a_500() {
    let app = TestApp::demo().await;
    let admin = app.user("institute_admin").await;
    let std_id = institute_standard(&app).await;
    // u = 1e308 squares to infinity: refused with the form's field named, nothing saved.
    let before = app.count("uncertainty_budgets").await;
    let mut huge = end_gauge(&[]);
    for f in huge.iter_mut() {
        if f.0 == "in.1.u" {
            f.1 = "1e308";
        }
    }
    let (status, _, html) = post(&app, &admin, &format!("/standards/{std_id}/budgets"), &huge).await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(
        html.contains("in.1.u-error"),
        "the field is marked: {}",
        &html[html.find("field-error").unwrap_or(0)..][..300]
    );
    assert_eq!(app.count("uncertainty_budgets").await, before);

    // A budget saved before that rule, whose result holds a number JSON cannot carry
    // (serialised as null), made its page, its API and the standard's page 500 for good.
    let (_, location, _) = post(&app, &admin, &format!("/standards/{std_id}/budgets"), &end_gauge(&[])).await;
    let id: i32 = location.strip_prefix("/budgets/").unwrap().parse().unwrap();
    let row = stored(&app, id).await;
    let broken = row
        .result
        .replacen("\"standard_uncertainty\":", "\"standard_uncertainty\":null,\"was\":", 1);
    assert_ne!(broken, row.result);
    app.sql(&format!(
        "UPDATE uncertainty_budgets SET result = '{}' WHERE id = {id}",
        broken.replace('\'', "''")
    ))
    .await;
    let (status, html) = page(&app, &admin, &location).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("cannot be read"), "the page says so");
    let (status, html) = page(&app, &admin, &format!("/standards/{std_id}")).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("Result unreadable"));
    let (status, html) = page(&app, &admin, &format!("/budgets/{id}/edit")).await;
    assert_eq!(status, Status::Ok, "{html}");
    let (status, v) = app.get_as(&admin, &format!("/api/v1/budgets/{id}")).await;
    assert_eq!(status, 200);
    assert!(v["result"].is_null(), "{v}");
}
