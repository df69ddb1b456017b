//! A sweep of every mounted route with malformed and hostile input: SQL and HTML
//! injection, huge values, wrong types, unicode, in the path, the query, a form body and
//! a JSON body, as a system administrator (who may do most) and as an enterprise user.
//! Every answer is below 500, and what was refused changed nothing.

use crate::support::{TestApp, CSRF};
use metrocal::service::backup::fingerprint;
use rocket::http::{ContentType, Method};
use serde_json::json;

const PATH_VALUES: [&str; 5] = [
    "1%27%20OR%20%271%27%3D%271",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "99999999999999999999999",
    "-1",
    "%E2%80%AE%F0%9F%98%80",
];

const TEXT: [&str; 6] = [
    "'; DROP TABLE standards; --",
    "<img src=x onerror=alert(1)>",
    "1e309",
    "\u{202e}\u{1F600}",
    "-99999999999999999999",
    "",
];

fn form_body(text: &str) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("csrf", CSRF);
    for f in [
        "name_zh",
        "code",
        "kind",
        "email",
        "password",
        "q",
        "reason",
        "readings",
        "quantity",
        "range_min",
        "range_max",
        "cmc",
        "category_code",
        "per_week",
        "on_date",
        "method",
        "item_id",
        "item_kind",
        "certificate_no",
        "calibrated_on",
        "valid_until",
        "uncertainty",
        "roles",
        "status",
        "note",
        "p0_nominal",
    ] {
        s.append_pair(f, text);
    }
    s.finish()
}

fn json_bodies(text: &str) -> Vec<String> {
    vec![
        json!({
            "name_zh": text, "code": text, "kind": text, "email": text, "password": text, "reason": text,
            "readings": text, "quantity": text, "cmc": text, "item_id": text, "item_kind": text,
            "certificate_no": text, "calibrated_on": text, "valid_until": text, "changes": {"item": text},
            "points": [{"nominal": text, "reference": text, "readings": text}], "standards": [text],
        })
        .to_string(),
        // Wrong types and shapes.
        json!([1, 2, 3]).to_string(),
        json!({"points": "not a list", "standards": {"a": 1}, "changes": [1], "limit": -1}).to_string(),
        "{\"unterminated\": ".to_owned(),
        format!("{{\"name_zh\": \"{}\"}}", "长".repeat(100_000)),
        // Deep nesting, huge numbers and oversized text where the engine and the
        // amendments read them.
        hostile_problem().to_string(),
        format!("{}1{}", "[".repeat(200), "]".repeat(200)),
        json!({
            "changes": deep_object(200),
            "reason": "x".repeat(5_000),
            "note": "长".repeat(5_000),
            "points": [{"nominal": "1e308 mm", "reference": "1e308 mm", "readings": "1e308 1e308"}],
        })
        .to_string(),
    ]
}

/// An uncertainty problem that once killed or stalled the server: 8,000 nested
/// parentheses, a unit nested 5,000 deep, u = 1e308, 5·10⁷ trials of 20 measurands.
fn hostile_problem() -> serde_json::Value {
    let measurands: Vec<_> = (0..20)
        .map(|i| json!({"name": format!("y{i}"), "unit": format!("{}m{}", "(".repeat(5000), ")".repeat(5000))}))
        .collect();
    json!({
        "measurands": measurands,
        "model": format!("y = {}x{}", "(".repeat(8000), ")".repeat(8000)),
        "inputs": [{"name": "x", "value": 1e308, "unit": "m", "uncertainty": {"kind": "normal", "u": 1e308, "dof": 1e9}}],
        "coverage": {"probability": 0.9999999999999999},
        "monte_carlo": {"trials": 50_000_000u64},
    })
}

fn deep_object(depth: usize) -> serde_json::Value {
    let mut v = json!("x");
    for _ in 0..depth {
        v = json!({ "a": v });
    }
    v
}

#[rocket::async_test]
async fn every_route_answers_hostile_input_below_500() {
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let holder = app.user("enterprise").await;
    let routes: Vec<(Method, String)> = app
        .client
        .rocket()
        .routes()
        .map(|r| (r.method, r.uri.path().to_string()))
        .collect();
    let before = fingerprint(&app.db).await.unwrap();
    let mut changed_by_success: Vec<String> = Vec::new();
    let mut sent = 0;
    let mut failures = Vec::new();
    // Logging out would end the session the sweep runs in.
    for (method, template) in routes.iter().filter(|(_, t)| t != "/logout") {
        for (v, value) in PATH_VALUES.iter().enumerate() {
            // Each <param> segment (and <path..>) becomes the hostile value.
            let path: String = template
                .split('/')
                .map(|seg| if seg.starts_with('<') { *value } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let text = TEXT[v % TEXT.len()];
            let query = format!(
                "q={}&page=-1&per_page=99999999999&limit=abc&weeks=100000&date=2026-02-30&lab={}&format=%00",
                urlencoding(text),
                value
            );
            let uri = format!("{path}?{query}");
            let mut bodies: Vec<(ContentType, String)> = vec![(ContentType::Form, form_body(text))];
            if v == 0 {
                // Oversized text in every field, and a model nested 8,000 deep.
                bodies.push((ContentType::Form, form_body(&"长".repeat(5_000))));
                let mut deep = form_urlencoded::Serializer::new(String::new());
                deep.append_pair("csrf", CSRF);
                deep.append_pair("measurands", "y m");
                deep.append_pair("model", &format!("y = {}x{}", "(".repeat(8000), ")".repeat(8000)));
                deep.append_pair("in.0.name", "x");
                deep.append_pair("in.0.value", "1e308");
                deep.append_pair("in.0.unit", "m");
                deep.append_pair("in.0.kind", "normal");
                deep.append_pair("in.0.u", "1e308");
                deep.append_pair("action", "preview");
                bodies.push((ContentType::Form, deep.finish()));
            }
            if path.starts_with("/api/") && *method != Method::Get {
                bodies.extend(json_bodies(text).into_iter().map(|b| (ContentType::JSON, b)));
            }
            for (ct, body) in bodies {
                for (who, user) in [("system_admin", &admin), ("enterprise", &holder)] {
                    let req = app.client.req(*method, uri.clone());
                    let req = if path.starts_with("/api/") {
                        user.api(req)
                    } else {
                        user.browser(req)
                    };
                    let res = req.header(ct.clone()).body(body.clone()).dispatch().await;
                    let code = res.status().code;
                    let location = res.headers().get_one("Location").unwrap_or("").to_owned();
                    sent += 1;
                    if location.starts_with("/login") {
                        failures.push(format!("{who} {method} {uri}: the session was lost"));
                    }
                    if code >= 500 {
                        failures.push(format!("{who} {method} {uri} ({ct}): {code}"));
                    } else if code < 400 && *method != Method::Get {
                        changed_by_success.push(format!("{who} {method} {path}: {code} {location}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "5xx answers:\n{}", failures.join("\n"));
    eprintln!("{sent} requests; accepted writes: {changed_by_success:?}");
    assert!(sent > 1000, "{sent}");
    if changed_by_success.is_empty() {
        assert_eq!(
            fingerprint(&app.db).await.unwrap(),
            before,
            "refused input changed nothing"
        );
    }
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// 16 writers × 50 writes through `PUT /api/v1/standards/{id}`, each writer on its own
/// standard (`same_row` false) or all on one: no 5xx (SQLite answered 58 of 72 with 500
/// "database is locked" with nine writers), every acknowledged write is in the audit
/// trail, the row holds one of the written values, and the chain verifies.
async fn concurrent_writers(same_row: bool) {
    use crate::support::INSTITUTE;
    use rocket::futures::future::join_all;
    const WRITERS: usize = 16;
    const WRITES: usize = 50;
    let app = TestApp::demo().await;
    let admin = app.user_in("institute_admin", INSTITUTE).await;
    let institute = app.organisation_id(INSTITUTE).await;
    let (_, page) = app
        .get_json(&format!("/api/v1/standards?owner={institute}&per_page={WRITERS}"))
        .await;
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), WRITERS, "the institute owns enough standards");
    let mut bodies = Vec::new();
    for &id in &ids {
        let input =
            metrocal::service::standards::edit_form(&metrocal::service::Actor::system("test"), &app.db, id as i32)
                .await
                .unwrap();
        let mut body = json!({});
        for (k, v) in input.entries() {
            body[k] = json!(v);
        }
        bodies.push(body);
    }
    let events_before = app.events("standard.update").await;
    let writer = |w: usize| {
        let (app, admin) = (&app, &admin);
        let target = if same_row { 0 } else { w };
        let (id, mut body) = (ids[target], bodies[target].clone());
        async move {
            let mut acknowledged = Vec::new();
            let mut failures = Vec::new();
            for i in 0..WRITES {
                let person = format!("写入者 {w}-{i}");
                body["responsible_person"] = json!(person);
                let res = admin
                    .api(app.client.put(format!("/api/v1/standards/{id}")))
                    .body(body.to_string())
                    .dispatch()
                    .await;
                let code = res.status().code;
                if code == 200 {
                    acknowledged.push((id, person));
                } else {
                    failures.push(format!(
                        "{id} {person}: {code} {}",
                        res.into_string().await.unwrap_or_default()
                    ));
                }
            }
            (acknowledged, failures)
        }
    };
    let results = join_all((0..WRITERS).map(writer)).await;
    let failures: Vec<String> = results.iter().flat_map(|r| r.1.clone()).collect();
    assert!(
        failures.is_empty(),
        "{} refused:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    let acknowledged: Vec<(i64, String)> = results.into_iter().flat_map(|r| r.0).collect();
    assert_eq!(acknowledged.len(), WRITERS * WRITES);
    // Every acknowledged write is in the audit trail, once.
    assert_eq!(
        app.events("standard.update").await - events_before,
        (WRITERS * WRITES) as i64
    );
    for &id in &ids[..if same_row { 1 } else { WRITERS }] {
        let (_, v) = app.get_as(&admin, &format!("/api/v1/standards/{id}")).await;
        let now = v["standard"]["responsible_person"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            acknowledged.iter().any(|(i, p)| *i == id && *p == now),
            "standard {id} holds {now:?}, which no acknowledged write sent: {v}"
        );
        if !same_row {
            // A writer's own row ends with its last write.
            assert!(now.ends_with(&format!("-{}", WRITES - 1)), "{id}: {now}");
        }
    }
    let chain = metrocal::service::audit::verify(&app.db, None).await.unwrap();
    assert!(chain.is_ok(), "the audit chain verifies: {chain:?}");
}

#[rocket::async_test]
async fn concurrent_writers_on_distinct_rows_all_succeed() {
    concurrent_writers(false).await;
}

#[rocket::async_test]
async fn concurrent_writers_on_one_row_all_succeed() {
    concurrent_writers(true).await;
}
