//! The authorization matrix: every route of the app, tried by a visitor and by a user
//! of every role. The table must name every mounted route, so a new route cannot be
//! added without deciding who may use it.

use crate::support::{form, visitor, TestApp, TestUser, CENTRE, ENTERPRISE_A, ENTERPRISE_B, INSTITUTE};
use rocket::http::{ContentType, Method, Status};
use serde_json::json;
use std::collections::BTreeSet;

/// Who is asking.
const ACTORS: &[&str] = &[
    "anonymous",
    "regulator",
    "system_admin",
    "institute_admin",
    "scheduler",
    "technician",
    "reviewer",
    "approver",
    "enterprise",
];

/// What a request must answer: a status, and for redirects where it leads.
#[derive(Clone, Copy)]
enum Expect {
    Status(u16),
    /// 303 to a location starting with this.
    To(&'static str),
}
use Expect::{Status as S, To};

/// Each actor's expected answer, in the order of ACTORS.
type Row = [Expect; 9];

const ALL_200: Row = [S(200); 9];
const LOGIN: Expect = To("/login");
/// Pages for any logged-in user.
const USERS_200: Row = [LOGIN, S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)];
/// The register's editors: regulator, system admin, institute admin (own organisation).
const EDITORS: fn(Expect, Expect) -> Row = |ok, other| [LOGIN, ok, ok, ok, other, other, other, other, other];

/// Organisation management: the regulator and system admins.
const OVERSEERS: fn(Expect, Expect) -> Row = |ok, other| [LOGIN, ok, ok, other, other, other, other, other, other];

/// A valid unified social credit code, different for each actor.
fn uscc(actor: usize) -> String {
    let first17 = format!("914401007{actor:02}ABCDEF");
    let check = metrocal::domain::codes::uscc_check_char(&first17).unwrap();
    format!("{first17}{check}")
}

fn org_fields(code: &str, name_en: &str) -> Vec<(&'static str, String)> {
    vec![
        ("code", code.to_owned()),
        ("kind", "enterprise".into()),
        ("name_zh", "广州示例仪器有限公司".into()),
        ("name_en", name_en.to_owned()),
        ("city", "440100".into()),
    ]
}

struct Case {
    /// The route as mounted (method and URI template).
    route: (&'static str, &'static str),
    method: Method,
    uri: String,
    body: Body,
    expect: Row,
}

enum Body {
    None,
    Form(Vec<(&'static str, String)>),
    Json(serde_json::Value),
}

/// The certificate number the edits of the institute's standard give it: the regulator's
/// edit sets it first, and the owner's edits leave it (and the other fields the
/// regulator sets) as it is.
const REGULATED_CERT: &str = "[2026]粤社量标证字第MR00号";

fn standard_fields(owner: &str, cert_no: &str) -> Vec<(&'static str, String)> {
    [
        ("name_zh", "压力表标准装置"),
        ("category_code", "01900100"),
        ("owner", owner),
        ("level", "city_public"),
        ("cert_no", cert_no),
        ("cert_authority", "广东省市场监督管理局"),
        ("cert_issued_on", "2026-01-10"),
        ("cert_expires_on", "2030-01-09"),
        ("status", "in_service"),
        ("quantity", "pressure"),
        ("range_min", "0 MPa"),
        ("range_max", "60 MPa"),
        ("accuracy_kind", "accuracy_class"),
        ("accuracy", "0.05"),
        ("regulations", "JJG 49-2013"),
        ("responsible_person", "李明"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// A one-input budget without Monte Carlo (the matrix runs it 18 times).
fn budget_fields() -> Vec<(&'static str, String)> {
    [
        ("title", "Pressure gauge CMC"),
        ("measurands", "p MPa"),
        ("model", "p = p_s"),
        ("in.0.name", "p_s"),
        ("in.0.value", "10"),
        ("in.0.unit", "MPa"),
        ("in.0.kind", "normal"),
        ("in.0.u", "0.002"),
        ("mc", "none"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn json_of(fields: &[(&'static str, String)]) -> serde_json::Value {
    serde_json::Value::Object(fields.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect())
}

#[rocket::async_test]
async fn every_route_answers_every_role_as_the_matrix_says() {
    let app = TestApp::demo().await;
    let mut users: Vec<Option<TestUser>> = vec![None];
    for role in &ACTORS[1..] {
        users.push(Some(app.user(role).await));
    }
    let regulator = users[1].clone().unwrap();
    let institute = app.organisation_id(INSTITUTE).await;
    let enterprise_a = app.organisation_id(ENTERPRISE_A).await;
    // A standard the institute owns, for the edit routes.
    let (_, page) = app
        .get_json(&format!("/api/v1/standards?owner={institute}&per_page=2"))
        .await;
    let std_id = page["items"][0]["id"].as_i64().unwrap();
    // Another of its standards, as the reference of a link.
    let std2 = page["items"][1]["id"].as_i64().unwrap();
    // Targets that each actor's attempt may change: a token of the regulator's, a
    // user of the institute.
    let spare = app.user_in("scheduler", INSTITUTE).await;
    let (spare_token, _) = metrocal::service::accounts::create_token(
        &metrocal::service::Actor::system("test"),
        &app.db,
        Some(&regulator.email),
        "matrix target",
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let token_id = metrocal::store::accounts::tokens_of(&app.db, regulator.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| spare_token.starts_with(&t.prefix))
        .unwrap()
        .id;

    // A budget of the institute's standard, for the budget routes.
    let budget_form = budget_fields();
    let budget_id = metrocal::service::budgets::create(
        &metrocal::service::Actor::system("test"),
        &app.db,
        &metrocal::service::uncertainty::Evaluator::default(),
        std_id as i32,
        &metrocal::domain::uncertainty::form::BudgetForm::from_pairs(budget_form.iter().map(|(k, v)| (*k, v.as_str()))),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    // Budgets: the owner's staff who calibrate (not its scheduler) and system admins
    // write; the regulator reads; other organisations are told there is none.
    let budget_row = |ok: Expect, read_only: Expect| -> Row {
        [LOGIN, read_only, ok, ok, read_only, S(404), S(404), S(404), S(404)]
    };

    let cases = |actor: usize| -> Vec<Case> {
        let cert = |what: &str| format!("[2026]粤社量标证字第M{what}{actor:02}号");
        vec![
            Case {
                route: ("GET", "/"),
                method: Method::Get,
                uri: "/".into(),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("GET", "/static/style.css"),
                method: Method::Get,
                uri: "/static/style.css".into(),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("GET", "/lang/<code>?<next>"),
                method: Method::Get,
                uri: "/lang/en?next=/".into(),
                body: Body::None,
                expect: [To("/"); 9],
            },
            Case {
                route: ("GET", "/standards"),
                method: Method::Get,
                uri: "/standards".into(),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("GET", "/standards/<id>"),
                method: Method::Get,
                uri: format!("/standards/{std_id}"),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("GET", "/standards/new"),
                method: Method::Get,
                uri: "/standards/new".into(),
                body: Body::None,
                expect: EDITORS(S(200), S(403)),
            },
            Case {
                route: ("POST", "/standards"),
                method: Method::Post,
                uri: "/standards".into(),
                body: Body::Form(standard_fields(INSTITUTE, &cert("P"))),
                expect: EDITORS(To("/standards/"), S(403)),
            },
            Case {
                route: ("GET", "/standards/<id>/edit"),
                method: Method::Get,
                uri: format!("/standards/{std_id}/edit"),
                body: Body::None,
                expect: EDITORS(S(200), S(403)),
            },
            Case {
                route: ("POST", "/standards/<id>"),
                method: Method::Post,
                uri: format!("/standards/{std_id}"),
                // The regulator's fields as the regulator left them: an owner may not change them.
                body: Body::Form(standard_fields(INSTITUTE, REGULATED_CERT)),
                expect: EDITORS(To("/standards/"), S(403)),
            },
            Case {
                route: ("GET", "/login?<next>&<expired>"),
                method: Method::Get,
                uri: "/login".into(),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("POST", "/login"),
                method: Method::Post,
                uri: "/login".into(),
                body: Body::Form(vec![
                    ("email", "nobody@test.metrocal.example".into()),
                    ("password", "wrong password!".into()),
                ]),
                expect: [S(401); 9],
            },
            Case {
                route: ("GET", "/account?<changed>"),
                method: Method::Get,
                uri: "/account".into(),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("POST", "/account/password"),
                method: Method::Post,
                uri: "/account/password".into(),
                body: Body::Form(vec![
                    ("current_password", "not my password".into()),
                    ("new_password", "a brand new passphrase".into()),
                    ("confirm_password", "a brand new passphrase".into()),
                ]),
                expect: [LOGIN, S(422), S(422), S(422), S(422), S(422), S(422), S(422), S(422)],
            },
            Case {
                route: ("POST", "/account/tokens"),
                method: Method::Post,
                uri: "/account/tokens".into(),
                body: Body::Form(vec![("name", "script".into()), ("password", "not my password".into())]),
                expect: [LOGIN, S(422), S(422), S(422), S(422), S(422), S(422), S(422), S(422)],
            },
            Case {
                route: ("POST", "/account/tokens/<id>/revoke"),
                method: Method::Post,
                uri: format!("/account/tokens/{token_id}/revoke"),
                body: Body::Form(vec![]),
                expect: [
                    LOGIN,
                    To("/account"),
                    To("/account"),
                    S(404),
                    S(404),
                    S(404),
                    S(404),
                    S(404),
                    S(404),
                ],
            },
            Case {
                route: ("GET", "/organisations"),
                method: Method::Get,
                uri: "/organisations".into(),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("GET", "/organisations/new"),
                method: Method::Get,
                uri: "/organisations/new".into(),
                body: Body::None,
                expect: OVERSEERS(S(200), S(403)),
            },
            Case {
                route: ("POST", "/organisations"),
                method: Method::Post,
                uri: "/organisations".into(),
                body: Body::Form(org_fields(&uscc(actor), "new")),
                expect: OVERSEERS(To("/organisations/"), S(403)),
            },
            Case {
                route: ("GET", "/organisations/<id>/edit"),
                method: Method::Get,
                uri: format!("/organisations/{enterprise_a}/edit"),
                body: Body::None,
                expect: OVERSEERS(S(200), S(403)),
            },
            Case {
                route: ("POST", "/organisations/<id>"),
                method: Method::Post,
                uri: format!("/organisations/{enterprise_a}"),
                body: Body::Form(org_fields(ENTERPRISE_A, &format!("renamed by {actor}"))),
                expect: OVERSEERS(To("/organisations/"), S(403)),
            },
            Case {
                route: ("GET", "/organisations/<id>"),
                method: Method::Get,
                uri: format!("/organisations/{enterprise_a}"),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(404), S(404), S(404), S(404), S(404), S(200)],
            },
            Case {
                route: ("POST", "/organisations/<id>/users"),
                method: Method::Post,
                uri: format!("/organisations/{institute}/users"),
                body: Body::Form(vec![
                    ("email", format!("new-{actor}@test.metrocal.example")),
                    ("name", "New colleague".into()),
                    ("roles", "scheduler".into()),
                ]),
                expect: [LOGIN, S(403), S(201), S(201), S(403), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/organisations/<id>/users/<user_id>/disable"),
                method: Method::Post,
                uri: format!("/organisations/{institute}/users/{}/disable", spare.id),
                body: Body::Form(vec![]),
                expect: [
                    LOGIN,
                    S(403),
                    To("/organisations/"),
                    To("/organisations/"),
                    S(403),
                    S(404),
                    S(404),
                    S(404),
                    S(404),
                ],
            },
            Case {
                route: ("GET", "/standards/<standard_id>/budgets/new"),
                method: Method::Get,
                uri: format!("/standards/{std_id}/budgets/new"),
                body: Body::None,
                expect: budget_row(S(200), S(403)),
            },
            Case {
                route: ("POST", "/standards/<standard_id>/budgets"),
                method: Method::Post,
                uri: format!("/standards/{std_id}/budgets"),
                body: Body::Form(budget_fields()),
                expect: budget_row(To("/budgets/"), S(403)),
            },
            Case {
                route: ("GET", "/budgets/<id>"),
                method: Method::Get,
                uri: format!("/budgets/{budget_id}"),
                body: Body::None,
                expect: budget_row(S(200), S(200)),
            },
            Case {
                route: ("GET", "/budgets/<id>/edit"),
                method: Method::Get,
                uri: format!("/budgets/{budget_id}/edit"),
                body: Body::None,
                expect: budget_row(S(200), S(403)),
            },
            Case {
                route: ("POST", "/budgets/<id>"),
                method: Method::Post,
                uri: format!("/budgets/{budget_id}"),
                body: Body::Form(budget_fields()),
                expect: budget_row(To("/budgets/"), S(403)),
            },
            Case {
                route: ("POST", "/budgets/<id>/recompute"),
                method: Method::Post,
                uri: format!("/budgets/{budget_id}/recompute"),
                body: Body::Form(vec![]),
                expect: budget_row(S(200), S(200)),
            },
            Case {
                route: ("GET", "/traceability/<kind>/<id>"),
                method: Method::Get,
                uri: format!("/traceability/standard/{std_id}"),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("GET", "/traceability/<kind>/<id>/links/new"),
                method: Method::Get,
                uri: format!("/traceability/standard/{std_id}/links/new"),
                body: Body::None,
                expect: [LOGIN, S(403), S(200), S(200), S(403), S(403), S(403), S(403), S(403)],
            },
            // A DCC that is not one: refused with the file's message for those who may
            // import (the standard's owner's staff and system admins), 403 for the rest.
            Case {
                route: ("POST", "/traceability/<kind>/<id>/dcc"),
                method: Method::Post,
                uri: format!("/traceability/standard/{std_id}/dcc"),
                body: Body::Form(vec![
                    ("file", "<html/>".into()),
                    ("provider", String::new()),
                    ("valid_until", String::new()),
                ]),
                expect: [LOGIN, S(403), S(422), S(422), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("POST", "/traceability/<kind>/<id>/links"),
                method: Method::Post,
                uri: format!("/traceability/standard/{std_id}/links"),
                body: Body::Form(vec![
                    ("reference_kind", "standard".into()),
                    ("reference_id", std2.to_string()),
                    ("certificate_no", format!("FORM-{actor}")),
                    ("calibrated_on", "2026-01-05".into()),
                    ("valid_until", "2027-01-04".into()),
                ]),
                expect: [
                    LOGIN,
                    S(403),
                    To("/traceability/standard/"),
                    To("/traceability/standard/"),
                    S(403),
                    S(403),
                    S(403),
                    S(403),
                    S(403),
                ],
            },
            Case {
                route: ("GET", "/traceability/audit"),
                method: Method::Get,
                uri: "/traceability/audit".into(),
                body: Body::None,
                expect: OVERSEERS(S(200), S(403)),
            },
            Case {
                route: ("GET", "/traceability/impact"),
                method: Method::Get,
                uri: "/traceability/impact".into(),
                body: Body::None,
                expect: USERS_200,
            },
            // An impact analysis: the reference owner's staff and the overseers.
            Case {
                route: ("GET", "/traceability/impact.csv"),
                method: Method::Get,
                uri: format!("/traceability/impact.csv?kind=standard&id={std_id}&since=2020-01-01"),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(200), S(403), S(403), S(403), S(403)],
            },
            // Recall lists: each user's own organisation by default.
            Case {
                route: ("GET", "/schedule"),
                method: Method::Get,
                uri: "/schedule".into(),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("GET", "/schedule.csv"),
                method: Method::Get,
                uri: "/schedule.csv?side=holder".into(),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("GET", "/notifications"),
                method: Method::Get,
                uri: "/notifications".into(),
                body: Body::None,
                expect: USERS_200,
            },
            // The old address sends everyone on, before any check.
            Case {
                route: ("GET", "/inbox"),
                method: Method::Get,
                uri: "/inbox".into(),
                body: Body::None,
                expect: [S(308), S(308), S(308), S(308), S(308), S(308), S(308), S(308), S(308)],
            },
            Case {
                route: ("GET", "/schedule/feeds"),
                method: Method::Get,
                uri: "/schedule/feeds".into(),
                body: Body::None,
                expect: USERS_200,
            },
            // A feed of the user's own organisation: the schedulers, admins and enterprise users.
            Case {
                route: ("POST", "/schedule/feeds"),
                method: Method::Post,
                uri: "/schedule/feeds".into(),
                body: Body::Form(vec![("label", format!("feed {actor}"))]),
                expect: [LOGIN, S(403), S(200), S(200), S(200), S(403), S(403), S(403), S(200)],
            },
            Case {
                route: ("POST", "/schedule/feeds/<id>/revoke"),
                method: Method::Post,
                uri: "/schedule/feeds/999999/revoke".into(),
                body: Body::Form(vec![]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/calendar/<file>"),
                method: Method::Get,
                uri: "/calendar/0000.ics".into(),
                body: Body::None,
                expect: [S(404); 9],
            },
            Case {
                route: ("GET", "/schedule/settings"),
                method: Method::Get,
                uri: "/schedule/settings".into(),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("POST", "/schedule/settings"),
                method: Method::Post,
                uri: "/schedule/settings".into(),
                body: Body::Form(vec![
                    ("warning_days", "30".into()),
                    ("early_window_days", "0".into()),
                    ("default_interval_months", "12".into()),
                    ("assessment_validity_years", "4".into()),
                ]),
                expect: [
                    LOGIN,
                    S(403),
                    To("/schedule"),
                    To("/schedule"),
                    To("/schedule"),
                    S(403),
                    S(403),
                    S(403),
                    To("/schedule"),
                ],
            },
            // The planner: a laboratory's staff and those who oversee the province read it;
            // its schedulers and admins accept it and set its capacity and holidays.
            Case {
                route: ("GET", "/schedule/plan"),
                method: Method::Get,
                uri: "/schedule/plan?weeks=2".into(),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(403)],
            },
            Case {
                route: ("POST", "/schedule/plan/accept"),
                method: Method::Post,
                uri: "/schedule/plan/accept".into(),
                body: Body::Form(vec![("weeks", "2".into())]),
                expect: [
                    LOGIN,
                    S(403),
                    S(403),
                    To("/work-orders"),
                    To("/work-orders"),
                    S(403),
                    S(403),
                    S(403),
                    S(403),
                ],
            },
            Case {
                route: ("GET", "/schedule/capacity?<lab>"),
                method: Method::Get,
                uri: "/schedule/capacity".into(),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(403)],
            },
            Case {
                route: ("POST", "/schedule/capacity"),
                method: Method::Post,
                uri: "/schedule/capacity".into(),
                body: Body::Form(vec![("category_code", "*".into()), ("per_week", "20".into())]),
                expect: [
                    LOGIN,
                    S(403),
                    S(403),
                    To("/schedule/capacity"),
                    To("/schedule/capacity"),
                    S(403),
                    S(403),
                    S(403),
                    S(403),
                ],
            },
            Case {
                route: ("POST", "/schedule/holidays"),
                method: Method::Post,
                uri: "/schedule/holidays".into(),
                body: Body::Form(vec![("on_date", "2027-01-01".into()), ("name", "元旦".into())]),
                expect: [
                    LOGIN,
                    S(403),
                    S(403),
                    To("/schedule/capacity"),
                    To("/schedule/capacity"),
                    S(403),
                    S(403),
                    S(403),
                    S(403),
                ],
            },
            Case {
                route: ("POST", "/schedule/holidays/<id>/delete"),
                method: Method::Post,
                uri: "/schedule/holidays/999999/delete".into(),
                body: Body::Form(vec![]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/work-orders"),
                method: Method::Get,
                uri: "/work-orders".into(),
                body: Body::None,
                expect: USERS_200,
            },
            // An item the laboratory does not have: refused by name for its planners.
            Case {
                route: ("POST", "/work-orders"),
                method: Method::Post,
                uri: "/work-orders".into(),
                body: Body::Form(vec![
                    ("item_kind", "instrument".into()),
                    ("item_id", "999999".into()),
                    ("planned_on", "2026-12-01".into()),
                ]),
                expect: [LOGIN, S(403), S(403), S(422), S(422), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("POST", "/work-orders/<id>/move"),
                method: Method::Post,
                uri: "/work-orders/999999/move".into(),
                body: Body::Form(vec![("status", "received".into())]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            // A standard's lifecycle: its owner's staff and those who oversee the province
            // read it; the owner's admins, schedulers and technicians record (an empty
            // record is refused by field).
            Case {
                route: ("GET", "/standards/<id>/lifecycle"),
                method: Method::Get,
                uri: format!("/standards/{std_id}/lifecycle"),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/standards/<id>/checks"),
                method: Method::Post,
                uri: format!("/standards/{std_id}/checks"),
                body: Body::Form(vec![("kind", "stability".into())]),
                expect: [LOGIN, S(403), S(403), S(422), S(422), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/standards/<id>/logbook"),
                method: Method::Post,
                uri: format!("/standards/{std_id}/logbook"),
                body: Body::Form(vec![("kind", "staff".into())]),
                expect: [LOGIN, S(403), S(403), S(422), S(422), S(404), S(404), S(404), S(404)],
            },
            // Interval proposals: an organisation's admins, schedulers and enterprise users
            // propose and decide (an empty proposal is refused by field).
            Case {
                route: ("GET", "/schedule/intervals"),
                method: Method::Get,
                uri: "/schedule/intervals".into(),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("POST", "/schedule/intervals"),
                method: Method::Post,
                uri: "/schedule/intervals".into(),
                body: Body::Form(vec![("scope", "group".into()), ("method", "a3".into())]),
                expect: [LOGIN, S(403), S(403), S(422), S(422), S(403), S(403), S(403), S(422)],
            },
            Case {
                route: ("POST", "/schedule/intervals/<id>/decision"),
                method: Method::Post,
                uri: "/schedule/intervals/999999/decision".into(),
                body: Body::Form(vec![("decision", "approve".into())]),
                expect: [LOGIN, S(403), S(403), S(404), S(404), S(403), S(403), S(403), S(404)],
            },
            // Verification is public.
            Case {
                route: ("GET", "/verify/<token>"),
                method: Method::Get,
                uri: "/verify/0123456789abcdef0123456789abcdef".into(),
                body: Body::None,
                expect: [S(404); 9],
            },
            Case {
                route: ("GET", "/verify"),
                method: Method::Get,
                uri: "/verify".into(),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("POST", "/verify"),
                method: Method::Post,
                uri: "/verify".into(),
                body: Body::Form(vec![]),
                expect: [S(422); 9],
            },
            // The institute's demo verification certificate for enterprise A: its staff, the
            // customer and the overseers see it; the centre's staff are told it does not exist.
            Case {
                route: ("GET", "/certificates"),
                method: Method::Get,
                uri: "/certificates?q=2026".into(),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("GET", "/certificates/<number>"),
                method: Method::Get,
                uri: "/certificates/124400001JA7N1F563-2026-000001".into(),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(200)],
            },
            Case {
                route: ("GET", "/certificates/<number>/<file>"),
                method: Method::Get,
                uri: "/certificates/124400001JA7N1F563-2026-000001/dcc".into(),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(200)],
            },
            Case {
                route: ("GET", "/certificates.zip"),
                method: Method::Get,
                uri: "/certificates.zip?number=124400001JA7N1F563-2026-000001".into(),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(200)],
            },
            // The CMC table: read by anyone logged in, kept by the laboratory's admin
            // and approver (the approvers here are the centre's) and by system admins.
            Case {
                route: ("GET", "/organisations/<id>/cmc"),
                method: Method::Get,
                uri: format!("/organisations/{institute}/cmc"),
                body: Body::None,
                expect: USERS_200,
            },
            Case {
                route: ("POST", "/organisations/<id>/cmc"),
                method: Method::Post,
                uri: format!("/organisations/{institute}/cmc"),
                body: Body::Form(vec![("quantity", "length".into())]),
                expect: [LOGIN, S(403), S(422), S(422), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("POST", "/organisations/<id>/cmc/rounding"),
                method: Method::Post,
                uri: format!("/organisations/{institute}/cmc/rounding"),
                body: Body::Form(vec![("u_rounding", "sometimes".into())]),
                expect: [LOGIN, S(403), S(422), S(422), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("POST", "/organisations/<id>/cmc/<line>/delete"),
                method: Method::Post,
                uri: format!("/organisations/{institute}/cmc/999999/delete"),
                body: Body::Form(vec![]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            // Amending and withdrawing: the issuing laboratory's approvers (the matrix's
            // approver is the centre's, so it does not see the institute's certificate).
            Case {
                route: ("POST", "/certificates/<number>/amend"),
                method: Method::Post,
                uri: "/certificates/124400001JA7N1F563-2026-000001/amend".into(),
                body: Body::Form(vec![("reason", String::new()), ("password", "x".into())]),
                expect: [LOGIN, S(403), S(403), S(403), S(403), S(404), S(404), S(404), S(403)],
            },
            Case {
                route: ("POST", "/certificates/<number>/withdraw"),
                method: Method::Post,
                uri: "/certificates/124400001JA7N1F563-2026-000001/withdraw".into(),
                body: Body::Form(vec![("reason", String::new()), ("password", "x".into())]),
                expect: [LOGIN, S(403), S(403), S(403), S(403), S(404), S(404), S(404), S(403)],
            },
            // Signing keys: seen by the laboratory's staff and overseers, rotated by its
            // admin and by system admins.
            Case {
                route: ("GET", "/organisations/<id>/keys"),
                method: Method::Get,
                uri: format!("/organisations/{institute}/keys"),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/organisations/<id>/keys/rotate"),
                method: Method::Post,
                uri: format!("/organisations/{institute}/keys/rotate"),
                body: Body::Form(vec![]),
                expect: [
                    LOGIN,
                    S(403),
                    To("/organisations/"),
                    To("/organisations/"),
                    S(403),
                    S(404),
                    S(404),
                    S(404),
                    S(404),
                ],
            },
            // Records of nobody's work order: not found for everyone.
            Case {
                route: ("GET", "/work-orders/<id>/record"),
                method: Method::Get,
                uri: "/work-orders/999999/record".into(),
                body: Body::None,
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/work-orders/<id>/record"),
                method: Method::Post,
                uri: "/work-orders/999999/record".into(),
                body: Body::Form(vec![("password", "x".into())]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/records/<id>"),
                method: Method::Get,
                uri: "/records/999999".into(),
                body: Body::None,
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/records/<id>/sign"),
                method: Method::Post,
                uri: "/records/999999/sign".into(),
                body: Body::Form(vec![("password", "x".into())]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/records/<id>/points/<position>/readings"),
                method: Method::Post,
                uri: "/records/999999/points/0/readings".into(),
                body: Body::Form(vec![("password", "x".into())]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/records/<id>/return"),
                method: Method::Post,
                uri: "/records/999999/return".into(),
                body: Body::Form(vec![("reason", "x".into())]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/records/<id>/withdraw"),
                method: Method::Post,
                uri: "/records/999999/withdraw".into(),
                body: Body::Form(vec![("reason", "x".into())]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            // Nobody's notification: not found for everyone.
            Case {
                route: ("POST", "/notifications/<id>/read"),
                method: Method::Post,
                uri: "/notifications/999999/read".into(),
                body: Body::Form(vec![]),
                expect: [LOGIN, S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/audit"),
                method: Method::Get,
                uri: "/audit".into(),
                body: Body::None,
                expect: [LOGIN, S(200), S(200), S(200), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("POST", "/logout"),
                method: Method::Post,
                uri: "/logout".into(),
                body: Body::Form(vec![]),
                expect: [To("/"); 9],
            },
            // The API: bearer tokens only.
            Case {
                route: ("GET", "/api/v1/standards"),
                method: Method::Get,
                uri: "/api/v1/standards".into(),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("GET", "/api/v1/standards/<id>"),
                method: Method::Get,
                uri: format!("/api/v1/standards/{std_id}"),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("POST", "/api/v1/standards"),
                method: Method::Post,
                uri: "/api/v1/standards".into(),
                body: Body::Json(json_of(&standard_fields(INSTITUTE, &cert("A")))),
                expect: [S(401), S(201), S(201), S(201), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("PUT", "/api/v1/standards/<id>"),
                method: Method::Put,
                uri: format!("/api/v1/standards/{std_id}"),
                body: Body::Json(json_of(&standard_fields(INSTITUTE, REGULATED_CERT))),
                expect: [S(401), S(200), S(200), S(200), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("GET", "/api/v1/dashboard"),
                method: Method::Get,
                uri: "/api/v1/dashboard".into(),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("GET", "/api/v1/openapi.json"),
                method: Method::Get,
                uri: "/api/v1/openapi.json".into(),
                body: Body::None,
                expect: ALL_200,
            },
            Case {
                route: ("GET", "/api/v1/me"),
                method: Method::Get,
                uri: "/api/v1/me".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("DELETE", "/api/v1/tokens/<id>"),
                method: Method::Delete,
                uri: format!("/api/v1/tokens/{token_id}"),
                body: Body::None,
                expect: [S(401), S(204), S(204), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/api/v1/organisations/<id>"),
                method: Method::Get,
                uri: format!("/api/v1/organisations/{enterprise_a}"),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(404), S(404), S(404), S(404), S(404), S(200)],
            },
            Case {
                route: ("POST", "/api/v1/conformity/decide"),
                method: Method::Post,
                uri: "/api/v1/conformity/decide".into(),
                body: Body::Json(
                    json!({"measured": "10.0085 V", "lower_limit": "9.990 V", "upper_limit": "10.010 V",
                    "expanded_uncertainty": "0.002 V", "rule": "simple"}),
                ),
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("POST", "/api/v1/conformity/risk"),
                method: Method::Post,
                uri: "/api/v1/conformity/risk".into(),
                body: Body::Json(
                    json!({"lower_limit": "9.990 V", "upper_limit": "10.010 V", "standard_uncertainty": "0.001 V",
                    "measured": "10.0085 V"}),
                ),
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("POST", "/api/v1/intervals/analyse"),
                method: Method::Post,
                uri: "/api/v1/intervals/analyse".into(),
                body: Body::Json(json!({"method": "a3", "n": 20, "in_tolerance": 17, "current_interval_days": 365})),
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("POST", "/api/v1/uncertainty/evaluate"),
                method: Method::Post,
                uri: "/api/v1/uncertainty/evaluate".into(),
                body: Body::Json(json!({
                    "measurands": [{"name": "y", "unit": "V"}],
                    "model": "y = x",
                    "inputs": [{"name": "x", "value": 1, "unit": "V", "uncertainty": {"kind": "normal", "u": 0.1}}]
                })),
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("GET", "/api/v1/budgets/<id>"),
                method: Method::Get,
                uri: format!("/api/v1/budgets/{budget_id}"),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/api/v1/traceability/<kind>/<id>"),
                method: Method::Get,
                uri: format!("/api/v1/traceability/standard/{std_id}"),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("GET", "/api/v1/plan"),
                method: Method::Get,
                uri: "/api/v1/plan?weeks=2".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(403)],
            },
            Case {
                route: ("GET", "/api/v1/work-orders"),
                method: Method::Get,
                uri: "/api/v1/work-orders".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("POST", "/api/v1/work-orders"),
                method: Method::Post,
                uri: "/api/v1/work-orders".into(),
                body: Body::Json(json!({"item_kind": "instrument", "item_id": 999999, "planned_on": "2026-12-01"})),
                expect: [S(401), S(403), S(403), S(422), S(422), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("POST", "/api/v1/work-orders/<id>/status"),
                method: Method::Post,
                uri: "/api/v1/work-orders/999999/status".into(),
                body: Body::Json(json!({"status": "received"})),
                expect: [S(401), S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/api/v1/standards/<id>/lifecycle"),
                method: Method::Get,
                uri: format!("/api/v1/standards/{std_id}/lifecycle"),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/api/v1/standards/<id>/checks"),
                method: Method::Post,
                uri: format!("/api/v1/standards/{std_id}/checks"),
                body: Body::Json(json!({"kind": "stability"})),
                expect: [S(401), S(403), S(403), S(422), S(422), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/api/v1/standards/<id>/logbook"),
                method: Method::Post,
                uri: format!("/api/v1/standards/{std_id}/logbook"),
                body: Body::Json(json!({"kind": "staff"})),
                expect: [S(401), S(403), S(403), S(422), S(422), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/api/v1/interval-proposals"),
                method: Method::Get,
                uri: "/api/v1/interval-proposals".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("POST", "/api/v1/interval-proposals"),
                method: Method::Post,
                uri: "/api/v1/interval-proposals".into(),
                body: Body::Json(json!({"scope": "group", "method": "a3"})),
                expect: [S(401), S(403), S(403), S(422), S(422), S(403), S(403), S(403), S(422)],
            },
            Case {
                route: ("POST", "/api/v1/interval-proposals/<id>/decision"),
                method: Method::Post,
                uri: "/api/v1/interval-proposals/999999/decision".into(),
                body: Body::Json(json!({"decision": "approve"})),
                expect: [S(401), S(403), S(403), S(404), S(404), S(403), S(403), S(403), S(404)],
            },
            Case {
                route: ("GET", "/api/v1/verify/<token>"),
                method: Method::Get,
                uri: "/api/v1/verify/0123456789abcdef0123456789abcdef".into(),
                body: Body::None,
                expect: [S(404); 9],
            },
            Case {
                route: ("POST", "/api/v1/certificates/verify"),
                method: Method::Post,
                uri: "/api/v1/certificates/verify".into(),
                body: Body::Json(json!({"not": "a certificate"})),
                expect: ALL_200,
            },
            Case {
                route: ("GET", "/api/v1/certificates"),
                method: Method::Get,
                uri: "/api/v1/certificates".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("GET", "/api/v1/certificates/<number>"),
                method: Method::Get,
                uri: "/api/v1/certificates/124400001JA7N1F563-2026-000001".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(200)],
            },
            Case {
                route: ("GET", "/api/v1/certificates/<number>/<file>"),
                method: Method::Get,
                uri: "/api/v1/certificates/124400001JA7N1F563-2026-000001/dcc".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(200)],
            },
            // An issued certificate never changes.
            Case {
                route: ("PUT", "/api/v1/certificates/<number>"),
                method: Method::Put,
                uri: "/api/v1/certificates/124400001JA7N1F563-2026-000001".into(),
                body: Body::Json(json!({"method": "JJG 0-0000"})),
                expect: [S(401), S(409), S(409), S(409), S(409), S(404), S(404), S(404), S(409)],
            },
            Case {
                route: ("PATCH", "/api/v1/certificates/<number>"),
                method: Method::Patch,
                uri: "/api/v1/certificates/124400001JA7N1F563-2026-000001".into(),
                body: Body::Json(json!({"method": "JJG 0-0000"})),
                expect: [S(401), S(409), S(409), S(409), S(409), S(404), S(404), S(404), S(409)],
            },
            Case {
                route: ("POST", "/api/v1/work-orders/<id>/record"),
                method: Method::Post,
                uri: "/api/v1/work-orders/999999/record".into(),
                body: Body::Json(json!({"kind": "calibration"})),
                expect: [S(401), S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/api/v1/organisations/<id>/cmc"),
                method: Method::Get,
                uri: format!("/api/v1/organisations/{institute}/cmc"),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("POST", "/api/v1/organisations/<id>/cmc"),
                method: Method::Post,
                uri: format!("/api/v1/organisations/{institute}/cmc"),
                body: Body::Json(json!({"quantity": "length"})),
                expect: [S(401), S(403), S(422), S(422), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("POST", "/api/v1/organisations/<id>/cmc/rounding"),
                method: Method::Post,
                uri: format!("/api/v1/organisations/{institute}/cmc/rounding"),
                body: Body::Json(json!({"u_rounding": "sometimes"})),
                expect: [S(401), S(403), S(422), S(422), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("DELETE", "/api/v1/organisations/<id>/cmc/<line>"),
                method: Method::Delete,
                uri: format!("/api/v1/organisations/{institute}/cmc/999999"),
                body: Body::None,
                expect: [S(401), S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/api/v1/certificates/<number>/amend"),
                method: Method::Post,
                uri: "/api/v1/certificates/124400001JA7N1F563-2026-000001/amend".into(),
                body: Body::Json(json!({"reason": "", "changes": {}, "password": "x"})),
                expect: [S(401), S(403), S(403), S(403), S(403), S(404), S(404), S(404), S(403)],
            },
            Case {
                route: ("POST", "/api/v1/certificates/<number>/withdraw"),
                method: Method::Post,
                uri: "/api/v1/certificates/124400001JA7N1F563-2026-000001/withdraw".into(),
                body: Body::Json(json!({"reason": "", "password": "x"})),
                expect: [S(401), S(403), S(403), S(403), S(403), S(404), S(404), S(404), S(403)],
            },
            Case {
                route: ("GET", "/api/v1/organisations/<id>/keys"),
                method: Method::Get,
                uri: format!("/api/v1/organisations/{institute}/keys"),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/api/v1/organisations/<id>/keys/rotate"),
                method: Method::Post,
                uri: format!("/api/v1/organisations/{institute}/keys/rotate"),
                body: Body::Json(json!({})),
                expect: [S(401), S(403), S(200), S(200), S(403), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("GET", "/api/v1/records/<id>"),
                method: Method::Get,
                uri: "/api/v1/records/999999".into(),
                body: Body::None,
                expect: [S(401), S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/api/v1/records/<id>/sign"),
                method: Method::Post,
                uri: "/api/v1/records/999999/sign".into(),
                body: Body::Json(json!({"password": "x"})),
                expect: [S(401), S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/api/v1/records/<id>/points/<position>/readings"),
                method: Method::Post,
                uri: "/api/v1/records/999999/points/0/readings".into(),
                body: Body::Json(json!({"readings": "1", "reason": "x"})),
                expect: [S(401), S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/api/v1/records/<id>/return"),
                method: Method::Post,
                uri: "/api/v1/records/999999/return".into(),
                body: Body::Json(json!({"reason": "x"})),
                expect: [S(401), S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            Case {
                route: ("POST", "/api/v1/records/<id>/withdraw"),
                method: Method::Post,
                uri: "/api/v1/records/999999/withdraw".into(),
                body: Body::Json(json!({"reason": "x"})),
                expect: [S(401), S(404), S(404), S(404), S(404), S(404), S(404), S(404), S(404)],
            },
            // Anyone signed in has queues (empty outside a laboratory).
            Case {
                route: ("GET", "/api/v1/queues"),
                method: Method::Get,
                uri: "/api/v1/queues".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("GET", "/api/v1/recall"),
                method: Method::Get,
                uri: "/api/v1/recall?side=lab".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(200), S(200), S(200), S(200)],
            },
            Case {
                route: ("GET", "/api/v1/traceability/audit"),
                method: Method::Get,
                uri: "/api/v1/traceability/audit".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(403), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("GET", "/api/v1/traceability/impact"),
                method: Method::Get,
                uri: format!("/api/v1/traceability/impact?kind=standard&id={std_id}&since=2020-01-01"),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(200), S(403), S(403), S(403), S(403)],
            },
            // Links are entered by the item owner's calibration staff and system admins.
            Case {
                route: ("POST", "/api/v1/calibrations/dcc"),
                method: Method::Post,
                uri: format!("/api/v1/calibrations/dcc?item_kind=standard&item_id={std_id}"),
                body: Body::Json(json!({"not": "a DCC"})),
                expect: [S(401), S(403), S(422), S(422), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("POST", "/api/v1/calibrations"),
                method: Method::Post,
                uri: "/api/v1/calibrations".into(),
                body: Body::Json(json!({
                    "item_kind": "standard", "item_id": std_id, "reference_kind": "standard",
                    "reference_id": std2, "certificate_no": format!("AUTHZ-{actor}"),
                    "calibrated_on": "2026-01-05", "valid_until": "2027-01-04",
                })),
                expect: [S(401), S(403), S(201), S(201), S(403), S(403), S(403), S(403), S(403)],
            },
            Case {
                route: ("GET", "/api/v1/audit"),
                method: Method::Get,
                uri: "/api/v1/audit".into(),
                body: Body::None,
                expect: [S(401), S(200), S(200), S(200), S(403), S(403), S(403), S(403), S(403)],
            },
        ]
    };

    // Every mounted route is in the table, and nothing in the table is not mounted.
    let mounted: BTreeSet<(String, String)> = app
        .client
        .rocket()
        .routes()
        .map(|r| (r.method.as_str().to_owned(), r.uri.to_string()))
        .collect();
    let tabled: BTreeSet<(String, String)> = cases(0)
        .iter()
        .map(|c| (c.route.0.to_owned(), c.route.1.to_owned()))
        .collect();
    assert_eq!(mounted, tabled, "the matrix must list exactly the mounted routes");

    let mut failures = Vec::new();
    for (i, actor) in ACTORS.iter().enumerate() {
        for case in cases(i) {
            let mut req = app.client.req(case.method, case.uri.clone());
            let api = case.uri.starts_with("/api/");
            req = match (&users[i], api) {
                (Some(u), true) => u.api(req),
                (Some(u), false) => u.browser(req),
                (None, _) => visitor(req),
            };
            req = match &case.body {
                Body::None => req,
                Body::Form(fields) => {
                    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    req.header(ContentType::Form).body(form(&fields))
                }
                Body::Json(v) => req.header(ContentType::JSON).body(v.to_string()),
            };
            let res = req.dispatch().await;
            let status = res.status().code;
            let location = res.headers().get_one("Location").unwrap_or("").to_owned();
            let ok = match case.expect[i] {
                S(code) => status == code,
                To(prefix) => status == 303 && location.starts_with(prefix),
            };
            if !ok {
                let want = match case.expect[i] {
                    S(code) => code.to_string(),
                    To(p) => format!("303 → {p}"),
                };
                failures.push(format!(
                    "{actor:>15} {} {}: got {status} {location}, want {want}",
                    case.route.0, case.uri
                ));
            }
        }
    }
    assert!(failures.is_empty(), "authorization matrix:\n{}", failures.join("\n"));
}

#[rocket::async_test]
async fn another_enterprise_is_not_there_404_and_nothing_leaks() {
    let app = TestApp::demo().await;
    let clerk = app.user("enterprise").await;
    let b = app.organisation_id(ENTERPRISE_B).await;
    let own = app.organisation_id(ENTERPRISE_A).await;
    let missing = 999_999;
    // Their own organisation: yes. Another enterprise and a non-existent id answer the same.
    let res = clerk
        .api(app.client.get(format!("/api/v1/organisations/{own}")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let mut bodies = Vec::new();
    for id in [b, missing] {
        let res = clerk
            .api(app.client.get(format!("/api/v1/organisations/{id}")))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::NotFound);
        bodies.push(res.into_string().await.unwrap());
        let res = clerk
            .browser(app.client.get(format!("/organisations/{id}")))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::NotFound);
    }
    assert_eq!(
        bodies[0], bodies[1],
        "another enterprise's record is indistinguishable from none"
    );
    // The organisation list shows only their own.
    let res = clerk.browser(app.client.get("/organisations")).dispatch().await;
    let html = res.into_string().await.unwrap();
    assert!(html.contains(&format!("/organisations/{own}\"")));
    assert!(!html.contains(&format!("/organisations/{b}\"")));
    // Nor can they add or disable users there.
    let res = clerk
        .browser(app.client.post(format!("/organisations/{b}/users")))
        .header(ContentType::Form)
        .body(form(&[
            ("email", "x@test.metrocal.example"),
            ("name", "X"),
            ("roles", "enterprise"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotFound);
}

#[rocket::async_test]
async fn a_role_or_organisation_in_the_body_is_ignored() {
    let app = TestApp::demo().await;
    let admin = app.user("institute_admin").await;
    let own = app.organisation_id(INSTITUTE).await;
    let centre = app.organisation_id(CENTRE).await;
    let mut body = json_of(&standard_fields(CENTRE, "[2026]粤社量标证字第X0001号"));
    body["role"] = json!("system_admin");
    body["roles"] = json!(["regulator"]);
    body["organisation_id"] = json!(centre);
    body["owner_id"] = json!(centre);
    let res = admin
        .api(app.client.post("/api/v1/standards"))
        .body(body.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Created);
    let v: serde_json::Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(
        v["owner"]["id"],
        json!(own),
        "the standard belongs to the admin's own institute"
    );
    // The token still has the rights it had: not a system admin's.
    let res = admin.api(app.client.get("/api/v1/me")).dispatch().await;
    let me: serde_json::Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(me["roles"], json!(["institute_admin"]));
    assert_eq!(me["organisation_id"], json!(own));
    // An institute admin cannot edit another organisation's standard.
    let (_, page) = app.get_json("/api/v1/standards?per_page=50").await;
    let theirs = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["owner"]["id"] != json!(own))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = admin
        .api(app.client.put(format!("/api/v1/standards/{theirs}")))
        .body(json_of(&standard_fields(INSTITUTE, "[2026]粤社量标证字第X0002号")).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    // Nor grant a role beyond their own organisation's staff roles.
    let res = admin
        .browser(app.client.post(format!("/organisations/{own}/users")))
        .header(ContentType::Form)
        .body(form(&[
            ("email", "boss@test.metrocal.example"),
            ("name", "Boss"),
            ("roles", "system_admin"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert_eq!(app.count("users WHERE email = 'boss@test.metrocal.example'").await, 0);
}
