//! /api/v1: the register list's filters, the error shape, create and update.

use crate::support::{today, DemoCsv, TestApp};
use chrono::NaiveDate;
use rocket::http::{ContentType, Status};
use serde_json::{json, Value};

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().expect("items")
}

#[rocket::async_test]
async fn list_total_and_city_filter_match_the_demo_files() {
    let app = TestApp::demo().await;
    let demo = DemoCsv::load();
    let (status, all) = app.get_json("/api/v1/standards").await;
    assert_eq!(status, 200);
    assert_eq!(all["total"], demo.standards.len() as u64);
    assert_eq!(items(&all).len(), 50, "default page size is 50");

    // The oracle: standards whose owner sits in Guangzhou, counted from the CSV files.
    let expected = demo
        .standards
        .iter()
        .filter(|s| demo.org_city(&demo.std(s, "owner")) == "440100")
        .count();
    let (_, gz) = app.get_json("/api/v1/standards?city=440100&per_page=200").await;
    assert_eq!(gz["total"], expected as u64);
    assert!(expected > 0);
    for s in items(&gz) {
        assert_eq!(s["city"]["code"], "440100");
    }
}

#[rocket::async_test]
async fn category_level_and_owner_filters() {
    let app = TestApp::demo().await;
    let demo = DemoCsv::load();
    let expected = demo
        .standards
        .iter()
        .filter(|s| demo.std(s, "category_code").starts_with("12"))
        .count();
    let (_, v) = app.get_json("/api/v1/standards?category=12&per_page=200").await;
    assert_eq!(v["total"], expected as u64);
    assert!(items(&v)
        .iter()
        .all(|s| s["category_code"].as_str().unwrap().starts_with("12")));

    let (_, v) = app
        .get_json("/api/v1/standards?level=provincial_public&per_page=200")
        .await;
    let expected = demo
        .standards
        .iter()
        .filter(|s| demo.std(s, "level") == "provincial_public")
        .count();
    assert_eq!(v["total"], expected as u64);

    let owner = demo.std(&demo.standards[0], "owner");
    let expected = demo.standards.iter().filter(|s| demo.std(s, "owner") == owner).count();
    let (_, v) = app
        .get_json(&format!("/api/v1/standards?owner={owner}&per_page=200"))
        .await;
    assert_eq!(v["total"], expected as u64);
    assert!(items(&v).iter().all(|s| s["owner"]["code"] == owner.as_str()));
}

#[rocket::async_test]
async fn status_follows_the_certificate_date() {
    let app = TestApp::demo().await;
    let demo = DemoCsv::load();
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    // JJF 1033: a standard in service whose certificate has lapsed is expired.
    let expired = demo
        .standards
        .iter()
        .filter(|s| {
            let st = demo.std(s, "status");
            st == "expired" || (st == "in_service" && day(&demo.std(s, "cert_expires_on")) < today())
        })
        .count();
    let (_, v) = app.get_json("/api/v1/standards?status=expired&per_page=200").await;
    assert_eq!(v["total"], expired as u64);
    assert!(expired > 0, "the demo set has lapsed certificates");
    for s in items(&v) {
        assert_eq!(s["status"], "expired");
        assert!(s["days_to_expiry"].as_i64().unwrap() < 0);
    }
    let in_service = demo
        .standards
        .iter()
        .filter(|s| demo.std(s, "status") == "in_service" && day(&demo.std(s, "cert_expires_on")) >= today())
        .count();
    let (_, v) = app.get_json("/api/v1/standards?status=in_service&per_page=200").await;
    assert_eq!(v["total"], in_service as u64);

    let within = demo
        .standards
        .iter()
        .filter(|s| {
            let d = (day(&demo.std(s, "cert_expires_on")) - today()).num_days();
            (0..=90).contains(&d) && matches!(demo.std(s, "status").as_str(), "in_service" | "suspended")
        })
        .count();
    let (_, v) = app
        .get_json("/api/v1/standards?expiring_within_days=90&per_page=200")
        .await;
    assert_eq!(v["total"], within as u64);
}

#[rocket::async_test]
async fn search_sort_and_pages() {
    let app = TestApp::demo().await;
    let demo = DemoCsv::load();
    // Full text over the name (CJK, two characters), the certificate number and the code.
    let expected = demo
        .standards
        .iter()
        .filter(|s| demo.std(s, "name_zh").contains("砝码"))
        .count();
    let (_, v) = app
        .get_json("/api/v1/standards?q=%E7%A0%9D%E7%A0%81&per_page=200")
        .await;
    assert_eq!(v["total"], expected as u64);
    // Three characters and more: on PostgreSQL the unspaced search column's trigram index
    // answers them (migration 015); the same standards on both engines, as the files say.
    for term in ["检定装置", "标准装置", "压力表"] {
        let expected = demo
            .standards
            .iter()
            .filter(|s| {
                let name = demo.std(s, "name_zh");
                name.contains(term)
            })
            .count();
        let (_, v) = app
            .get_json(&format!(
                "/api/v1/standards?q={}&per_page=200",
                form_urlencoded::byte_serialize(term.as_bytes()).collect::<String>()
            ))
            .await;
        // No organisation's name holds these words, so the names alone are the oracle.
        assert_eq!(v["total"], expected as u64, "{term}");
        assert!(expected > 0, "{term}");
    }
    // A search's page is in the same order as the whole register's, whichever way the
    // engine finds it (on PostgreSQL a search with few matches sorts them itself).
    let (_, everything) = app.get_json("/api/v1/standards?per_page=200&page=1").await;
    let (_, rest) = app.get_json("/api/v1/standards?per_page=200&page=2").await;
    let order: Vec<&Value> = items(&everything)
        .iter()
        .chain(items(&rest))
        .map(|s| &s["id"])
        .collect();
    for sort in ["name", "-cert_expires_on"] {
        let (_, all) = app
            .get_json(&format!("/api/v1/standards?per_page=200&sort={sort}"))
            .await;
        let (_, more) = app
            .get_json(&format!("/api/v1/standards?per_page=200&page=2&sort={sort}"))
            .await;
        let whole: Vec<&Value> = items(&all).iter().chain(items(&more)).map(|s| &s["id"]).collect();
        let (_, found) = app
            .get_json(&format!(
                "/api/v1/standards?q=%E5%8E%8B%E5%8A%9B%E8%A1%A8&per_page=200&sort={sort}"
            ))
            .await;
        let ids: Vec<&Value> = items(&found).iter().map(|s| &s["id"]).collect();
        let expected: Vec<&Value> = whole.iter().copied().filter(|id| ids.contains(id)).collect();
        assert_eq!(ids, expected, "{sort}");
        assert!(!ids.is_empty());
    }
    assert_eq!(order.len(), 201);
    let cert = demo.std(&demo.standards[17], "cert_no");
    let digits = &cert[cert.len() - 9..cert.len() - 3]; // the 6-digit serial of the number
    let (_, v) = app.get_json(&format!("/api/v1/standards?q={digits}")).await;
    assert_eq!(v["total"], 1, "{digits}");
    assert_eq!(items(&v)[0]["cert_no"], cert.as_str());
    let (_, v) = app
        .get_json("/api/v1/standards?q=04900100+%E9%93%82%E7%94%B5%E9%98%BB")
        .await;
    assert!(items(&v).iter().all(|s| s["category_code"] == "04900100"));

    // Search syntax typed by a person is text, never query syntax: quotes, FTS
    // operators, SQL and a single character all answer 200 and change nothing.
    for q in [
        "%22%E7%A0%9D",
        "a%22b%22c",
        "NEAR(x%20y)",
        "x%27%3B%20DROP%20TABLE%20standards%3B--",
        "%E7%A0%9D",
        "*",
    ] {
        let (status, v) = app.get_json(&format!("/api/v1/standards?q={q}")).await;
        assert_eq!(status, 200, "{q}");
        assert!(v["total"].is_u64());
    }
    assert_eq!(app.count("standards").await, 201);

    let (_, v) = app
        .get_json("/api/v1/standards?sort=-cert_expires_on&per_page=200")
        .await;
    let dates: Vec<&str> = items(&v)
        .iter()
        .map(|s| s["cert_expires_on"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));

    let (_, p1) = app.get_json("/api/v1/standards?per_page=20&page=1").await;
    let (_, p2) = app.get_json("/api/v1/standards?per_page=20&page=2").await;
    assert_eq!(p1["pages"], 11, "201 standards, 20 a page");
    let ids1: Vec<&Value> = items(&p1).iter().map(|s| &s["id"]).collect();
    assert!(items(&p2).iter().all(|s| !ids1.contains(&&s["id"])));
}

#[rocket::async_test]
async fn bad_list_parameters_are_422_naming_the_field() {
    let app = TestApp::demo().await;
    for (query, field) in [
        ("per_page=201", "per_page"),
        ("per_page=0", "per_page"),
        ("page=abc", "page"),
        ("colour=red", "colour"),
        ("status=lost", "status"),
        ("city=999999", "city"),
        ("category=0", "category"),
        ("level=x", "level"),
        ("sort=price", "sort"),
        ("expiring_within_days=-3", "expiring_within_days"),
        ("owner=91350100M000100Y43", "owner"),
    ] {
        let res = app.client.get(format!("/api/v1/standards?{query}")).dispatch().await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "{query}");
        assert_eq!(res.content_type(), Some(ContentType::JSON));
        let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
        assert!(v["error"]["fields"][field].is_string(), "{query}: {v}");
        assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string());
    }
}

#[rocket::async_test]
async fn not_found_uses_the_error_shape() {
    let app = TestApp::demo().await;
    let (status, v) = app.get_json("/api/v1/standards/999999").await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "not_found");
    let (status, v) = app.get_json("/api/v1/no-such-thing").await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "not_found");
}

fn owner_code(demo: &DemoCsv) -> String {
    let ci = demo.org_headers.iter().position(|h| h == "code").unwrap();
    let ki = demo.org_headers.iter().position(|h| h == "kind").unwrap();
    demo.organisations.iter().find(|o| &o[ki] == "institute").unwrap()[ci].to_owned()
}

fn new_standard(owner: &str) -> Value {
    json!({
        "name_zh": "二等铂电阻温度计标准装置",
        "name_en": "Platinum resistance thermometer standard",
        "category_code": "04900100",
        "owner": owner,
        "level": "city_public",
        "cert_no": "[2026]粤社量标证字第900001号",
        "cert_authority": "广州市市场监督管理局",
        "cert_issued_on": "2026-03-01",
        "cert_expires_on": "2030-02-28",
        "status": "in_service",
        "quantity": "temperature",
        "range_min": "-60 °C",
        "range_max": "419.527 °C",
        "accuracy_kind": "uncertainty",
        "accuracy": "0.03 °C",
        "regulations": "JJG 160-2007",
        "responsible_person": "陈志明"
    })
}

#[rocket::async_test]
async fn an_administrator_creates_and_updates_a_standard() {
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let owner = owner_code(&DemoCsv::load());
    let body = new_standard(&owner).to_string();
    let res = admin
        .api(app.client.post("/api/v1/standards"))
        .body(&body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Created);
    let location = res.headers().get_one("Location").unwrap().to_owned();
    let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(location, format!("/api/v1/standards/{}", v["id"]));
    // -60 °C is 213.15 K; the uncertainty of 0.03 °C is a difference of 0.03 K.
    assert!((v["range_min_si"].as_f64().unwrap() - 213.15).abs() < 1e-9);
    assert_eq!(v["range_min"], "-60 °C");
    assert!((v["accuracy_si"].as_f64().unwrap() - 0.03).abs() < 1e-12);
    assert_eq!(v["city"]["code"], "440100");
    assert_eq!(app.count("standards").await, 202);

    let mut changed = new_standard(&owner);
    changed["status"] = json!("suspended");
    changed["range_max"] = json!("300 °C");
    let res = admin
        .api(app.client.put(location.clone()))
        .body(changed.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let (_, v) = app.get_json(&location).await;
    assert_eq!(v["standard"]["status"], "suspended");
    assert_eq!(v["standard"]["range_max"], "300 °C");
}

#[rocket::async_test]
async fn the_public_cannot_write() {
    let app = TestApp::demo().await;
    let owner = owner_code(&DemoCsv::load());
    let res = app
        .client
        .post("/api/v1/standards")
        .header(rocket::http::ContentType::JSON)
        .body(new_standard(&owner).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
    // A forged forwarding header or a made-up token changes nothing.
    let res = app
        .client
        .post("/api/v1/standards")
        .header(rocket::http::Header::new("X-Real-IP", "127.0.0.1"))
        .header(rocket::http::Header::new(
            "Authorization",
            "Bearer mtc_0000000000000000",
        ))
        .body(new_standard(&owner).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
    let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "unauthenticated");
    assert_eq!(app.count("standards").await, 201);
}

#[rocket::async_test]
async fn bad_input_is_422_with_every_field_named_and_nothing_written() {
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let owner = owner_code(&DemoCsv::load());
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"range_max": "0.5 kg"}), "range_max", "quantity.wrong_kind"),
        (json!({"range_min": "twelve mm"}), "range_min", "quantity.number"),
        (json!({"range_min": "12 parsecs"}), "range_min", "quantity.unit_unknown"),
        (
            json!({"category_code": "0490010X"}),
            "category_code",
            "standard.category_format",
        ),
        (
            json!({"category_code": "02900100"}),
            "category_code",
            "standard.category_unknown",
        ),
        (
            json!({"owner": "91350100M000100Y44"}),
            "owner",
            "standard.owner_unknown",
        ),
        (
            json!({"cert_expires_on": "2025-01-01"}),
            "cert_expires_on",
            "standard.dates_out_of_order",
        ),
        (
            json!({"cert_issued_on": "2026-02-30"}),
            "cert_issued_on",
            "date.invalid",
        ),
        (json!({"level": "national"}), "level", "standard.level_invalid"),
        (json!({"accuracy": 0.03}), "accuracy", "request.not_text"),
        (json!({"colour": "red"}), "colour", "request.unknown_field"),
    ];
    for (patch, field, code) in cases {
        let mut body = new_standard(&owner);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = admin
            .api(app.client.post("/api/v1/standards"))
            .body(body.to_string())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "{field}");
        let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
        assert!(v["error"]["fields"][field].is_string(), "{field}: {v}");
        if v["error"]["fields"].as_object().unwrap().len() == 1 {
            assert_eq!(v["error"]["code"], code, "{v}");
        }
    }
    let res = admin
        .api(app.client.post("/api/v1/standards"))
        .body("{not json")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let huge = format!("{{\"name_zh\": \"{}\"}}", "x".repeat(100_000));
    let res = admin
        .api(app.client.post("/api/v1/standards"))
        .body(huge)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert_eq!(app.count("standards").await, 201, "nothing half-written");
}

#[rocket::async_test]
async fn a_taken_certificate_number_is_409() {
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let demo = DemoCsv::load();
    let mut body = new_standard(&owner_code(&demo));
    body["cert_no"] = json!(demo.std(&demo.standards[0], "cert_no"));
    let res = admin
        .api(app.client.post("/api/v1/standards"))
        .body(body.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Conflict);
    let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "standard.cert_no_taken");
    assert!(v["error"]["fields"]["cert_no"].is_string());
}

#[rocket::async_test]
async fn openapi_document_is_generated_from_the_handlers() {
    let app = TestApp::empty().await;
    let (status, doc) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let list = &doc["paths"]["/api/v1/standards"]["get"];
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in metrocal::service::standards::LIST_PARAMS {
        assert!(names.contains(p), "{p} missing from {names:?}");
    }
    assert!(doc["paths"]["/api/v1/standards/{id}"]["put"].is_object());
    assert!(doc["components"]["schemas"]["StandardView"]["properties"]["range_min_si"].is_object());
}

#[rocket::async_test]
async fn dashboard_counts_add_up() {
    let app = TestApp::demo().await;
    let (status, d) = app.get_json("/api/v1/dashboard").await;
    assert_eq!(status, 200);
    assert_eq!(d["total"], 201);
    assert_eq!(d["target"], 46000);
    // 200 / 46,000 = 0.43 % → 0.4 to one decimal.
    assert_eq!(d["progress_percent"], 0.4);
    let by_city: u64 = d["by_city"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    let by_cat: u64 = d["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(by_city, 201);
    assert_eq!(by_cat, 201);
    assert_eq!(d["by_city"].as_array().unwrap().len(), 21);
    // Six calendar months from 2026-11-28 is 2027-05-28: 181 days.
    assert_eq!(d["expiring_within_days"], 181);
    let (_, expired) = app.get_json("/api/v1/standards?status=expired").await;
    assert_eq!(d["expired_total"], expired["total"]);
}

#[rocket::async_test]
async fn a_repeated_search_sees_every_change_to_the_register() {
    // Searches are answered from memory while the register is unchanged; a change made
    // through the service must show in the very next search.
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let owner = owner_code(&DemoCsv::load());
    let query = "/api/v1/standards?q=%E9%93%82%E7%94%B5%E9%98%BB&per_page=200"; // 铂电阻
    let (_, before) = app.get_json(query).await;
    let (_, again) = app.get_json(query).await;
    assert_eq!(before, again);
    let n = before["total"].as_u64().unwrap();

    let res = admin
        .api(app.client.post("/api/v1/standards"))
        .body(new_standard(&owner).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Created);
    let location = res.headers().get_one("Location").unwrap().to_owned();
    let (_, after) = app.get_json(query).await;
    assert_eq!(
        after["total"].as_u64().unwrap(),
        n + 1,
        "the new standard is found at once"
    );

    let mut renamed = new_standard(&owner);
    renamed["name_zh"] = json!("二等标准水银温度计标准装置");
    let res = admin
        .api(app.client.put(location))
        .body(renamed.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let (_, renamed_away) = app.get_json(query).await;
    assert_eq!(
        renamed_away["total"].as_u64().unwrap(),
        n,
        "the renamed standard is no longer found"
    );
}

/// On PostgreSQL the register's totals are kept by statement triggers (migrations 015
/// and 016), not counted: the whole register, each city, discipline and recorded status,
/// and the dates of expiry. After inserts, updates that move standards between cities,
/// disciplines, statuses and expiry dates (one row and many in one statement), updates
/// that move nothing, and deletes, every total the list and the dashboard give equals a
/// count of the rows. On SQLite the same totals are counted, and the test holds too.
#[rocket::async_test]
async fn the_registers_kept_totals_equal_a_count_after_every_kind_of_change() {
    use metrocal::store::standards::{
        count_by_category_code, count_by_region, count_standards, list_standards, StandardQuery, StatusCond,
    };
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let region = app.scalar("SELECT MIN(region_id) AS n FROM standards").await as i32;
    let other = app.scalar("SELECT MAX(region_id) AS n FROM standards").await as i32;
    let prefix = app.scalar_text("SELECT MIN(category_code) AS t FROM standards").await[..2].to_owned();
    let t = today();
    let until = t + chrono::Days::new(181);
    let queries: Vec<(StandardQuery, String)> = vec![
        (StandardQuery::default(), "SELECT COUNT(*) AS n FROM standards".into()),
        (
            StandardQuery {
                region_id: Some(region),
                ..Default::default()
            },
            format!("SELECT COUNT(*) AS n FROM standards WHERE region_id = {region}"),
        ),
        (
            StandardQuery {
                category_prefix: Some(prefix.clone()),
                ..Default::default()
            },
            format!("SELECT COUNT(*) AS n FROM standards WHERE category_code LIKE '{prefix}%'"),
        ),
        (
            StandardQuery {
                region_id: Some(region),
                status: Some(StatusCond::Stored("suspended")),
                ..Default::default()
            },
            format!("SELECT COUNT(*) AS n FROM standards WHERE region_id = {region} AND status = 'suspended'"),
        ),
        (
            StandardQuery {
                expiring: Some((t, until)),
                ..Default::default()
            },
            format!(
                "SELECT COUNT(*) AS n FROM standards WHERE cert_expires_on BETWEEN '{t}' AND '{until}' \
                 AND status IN ('in_service', 'suspended')"
            ),
        ),
        (
            StandardQuery {
                status: Some(StatusCond::ExpiredOn(t)),
                ..Default::default()
            },
            format!(
                "SELECT COUNT(*) AS n FROM standards WHERE status = 'expired' \
                 OR (status = 'in_service' AND cert_expires_on < '{t}')"
            ),
        ),
        (
            StandardQuery {
                status: Some(StatusCond::InServiceOn(t)),
                ..Default::default()
            },
            format!("SELECT COUNT(*) AS n FROM standards WHERE status = 'in_service' AND cert_expires_on >= '{t}'"),
        ),
    ];
    let check = |when: &'static str| {
        let (app, queries) = (&app, &queries);
        async move {
            for (q, sql) in queries {
                let (_, total) = list_standards(&app.db, q).await.unwrap();
                assert_eq!(total as i64, app.scalar(sql).await, "{when}: {sql}");
            }
            assert_eq!(
                count_standards(&app.db).await.unwrap() as i64,
                app.scalar("SELECT COUNT(*) AS n FROM standards").await,
                "{when}"
            );
            // The most recently expired first, as the dashboard lists them.
            let expired = StandardQuery {
                status: Some(StatusCond::ExpiredOn(t)),
                sort: metrocal::store::standards::SortKey::CertExpiresOn,
                descending: true,
                limit: 10,
                ..Default::default()
            };
            let (rows, _) = list_standards(&app.db, &expired).await.unwrap();
            let ids: Vec<i64> = rows.iter().map(|r| i64::from(r.id)).collect();
            let mut expected = Vec::new();
            let n = app
                .scalar(&format!(
                    "SELECT COUNT(*) AS n FROM standards WHERE status = 'expired' \
                     OR (status = 'in_service' AND cert_expires_on < '{t}')"
                ))
                .await;
            for i in 0..n.min(10) {
                let sql = format!(
                    "SELECT id AS n FROM standards WHERE status = 'expired' \
                     OR (status = 'in_service' AND cert_expires_on < '{t}') \
                     ORDER BY cert_expires_on DESC, id DESC LIMIT 1 OFFSET {i}"
                );
                expected.push(app.scalar(&sql).await);
            }
            assert_eq!(ids, expected, "{when}: the expired, latest first");
            let mut by_region = count_by_region(&app.db).await.unwrap();
            by_region.sort();
            let counted = app
                .scalar("SELECT COUNT(DISTINCT COALESCE(region_id, 0)) AS n FROM standards")
                .await;
            assert_eq!(by_region.len() as i64, counted, "{when}: {by_region:?}");
            for (id, n) in &by_region {
                let sql = match id {
                    Some(id) => format!("SELECT COUNT(*) AS n FROM standards WHERE region_id = {id}"),
                    None => "SELECT COUNT(*) AS n FROM standards WHERE region_id IS NULL".into(),
                };
                assert_eq!(*n, app.scalar(&sql).await, "{when}: city {id:?}");
            }
            let by_code = count_by_category_code(&app.db).await.unwrap();
            assert_eq!(
                by_code.len() as i64,
                app.scalar("SELECT COUNT(DISTINCT category_code) AS n FROM standards")
                    .await,
                "{when}"
            );
            for (code, n) in &by_code {
                let sql = format!("SELECT COUNT(*) AS n FROM standards WHERE category_code = '{code}'");
                assert_eq!(*n, app.scalar(&sql).await, "{when}: discipline {code}");
            }
        }
    };
    check("as loaded").await;

    // Inserted through the service, then moved, suspended and withdrawn one at a time.
    let owner = owner_code(&DemoCsv::load());
    let res = admin
        .api(app.client.post("/api/v1/standards"))
        .body(new_standard(&owner).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Created);
    let id: i64 = app.scalar("SELECT MAX(id) AS n FROM standards").await;
    check("after an insert").await;
    for (sql, when) in [
        (
            format!("UPDATE standards SET region_id = {other} WHERE id = {id}"),
            "one moved city",
        ),
        (
            format!("UPDATE standards SET region_id = NULL WHERE id = {id}"),
            "one without a city",
        ),
        (
            format!("UPDATE standards SET category_code = '{prefix}999999' WHERE id = {id}"),
            "one moved discipline",
        ),
        (
            format!("UPDATE standards SET status = 'suspended' WHERE id = {id}"),
            "one suspended",
        ),
        (
            format!(
                "UPDATE standards SET cert_expires_on = '{}' WHERE id = {id}",
                t + chrono::Days::new(3)
            ),
            "one renewed",
        ),
        // Many rows in one statement, some moving and some not.
        (
            format!("UPDATE standards SET status = 'suspended', region_id = {region} WHERE id % 5 = 0"),
            "many suspended",
        ),
        (
            format!(
                "UPDATE standards SET cert_expires_on = '{}' WHERE id % 7 = 0",
                t - chrono::Days::new(1)
            ),
            "many expired",
        ),
        (
            "UPDATE standards SET name_en = name_en || ' ' WHERE id % 3 = 0".into(),
            "nothing counted moved",
        ),
        // Recorded expired by hand, with a date still to come: first among the expired.
        (
            format!(
                "UPDATE standards SET status = 'expired', cert_expires_on = '{}' WHERE id = {id}",
                t + chrono::Days::new(400)
            ),
            "one recorded expired early",
        ),
        (format!("DELETE FROM standards WHERE id = {id}"), "a delete"),
    ] {
        app.sql(&sql).await;
        check(when).await;
    }
}
