//! Server-rendered pages: the dashboard, the list, the detail page, the forms, and
//! the language switch.

use crate::support::{visitor, DemoCsv, TestApp, CSRF};
use rocket::http::{ContentType, Cookie, Status};

async fn page(app: &TestApp, uri: &str) -> (Status, String) {
    let res = app.client.get(uri.to_owned()).dispatch().await;
    (res.status(), res.into_string().await.unwrap_or_default())
}

#[rocket::async_test]
async fn dashboard_list_and_detail_render() {
    let app = TestApp::demo().await;
    let (status, html) = page(&app, "/").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("全省计量标准概览"));
    assert!(html.contains(">201<"), "total shown");
    assert!(html.contains(">46,000<"), "target shown with separators");
    assert!(html.contains("深圳市") && html.contains("广州市"));

    let (status, html) = page(&app, "/standards?city=440300&sort=-cert_expires_on").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("<option value=\"440300\" selected>"));
    let (_, html) = page(&app, "/standards/1").await;
    assert!(html.contains("标准器及配套设备"));
}

#[rocket::async_test]
async fn bad_filters_show_the_typed_value_and_the_error() {
    let app = TestApp::demo().await;
    let (status, html) = page(&app, "/standards?expiring_within_days=soon&q=%3Cscript%3E").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(html.contains("value=\"soon\""));
    assert!(html.contains("expiring_within_days is a whole number"));
    // Typed text is escaped, never echoed as markup.
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
}

#[rocket::async_test]
async fn english_switch_sets_a_cookie_and_refuses_open_redirects() {
    let app = TestApp::demo().await;
    let res = app.client.get("/lang/en?next=/standards").dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(res.headers().get_one("Location"), Some("/standards"));
    let lang = res.cookies().get("lang").expect("lang cookie set").clone();
    let res = app.client.get("/standards").cookie(lang).dispatch().await;
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains("Measurement standards"),
        "the cookie switches the language"
    );
    // Another site is no place to return to: refused by name, never a redirect there.
    let res = app.client.get("/lang/en?next=//evil.example/").dispatch().await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert_eq!(res.headers().get_one("Location"), None);
    let res = app
        .client
        .get("/")
        .cookie(Cookie::new("lang", "zh-CN"))
        .dispatch()
        .await;
    assert!(res.into_string().await.unwrap().contains("全省计量标准概览"));
}

fn form_body(owner: &str, range_max: &str, expires: &str) -> String {
    let fields = [
        ("name_zh", "量块标准装置"),
        ("name_en", "Gauge block standard"),
        ("category_code", "01900100"),
        ("owner", owner),
        ("level", "city_public"),
        ("cert_no", "[2026]粤社量标证字第800001号"),
        ("cert_authority", "深圳市市场监督管理局"),
        ("cert_issued_on", "2026-01-10"),
        ("cert_expires_on", expires),
        ("status", "in_service"),
        ("quantity", "length"),
        ("range_min", "0.5 mm"),
        ("range_max", range_max),
        ("accuracy_kind", "uncertainty"),
        ("accuracy", "0.05 µm"),
        ("regulations", "JJG 146-2011"),
        ("responsible_person", "黄伟强"),
    ];
    form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", CSRF)
        .extend_pairs(fields)
        .finish()
}

fn an_institute(demo: &DemoCsv) -> String {
    let ki = demo.org_headers.iter().position(|h| h == "kind").unwrap();
    demo.organisations.iter().find(|o| &o[ki] == "institute").unwrap()[0].to_owned()
}

#[rocket::async_test]
async fn the_form_redisplays_input_with_field_errors() {
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let owner = an_institute(&DemoCsv::load());
    let res = admin
        .browser(app.client.post("/standards"))
        .header(ContentType::Form)
        .body(form_body(&owner, "0.5 kg", "2025-01-01"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = res.into_string().await.unwrap();
    // What was typed comes back, with a message beside each field at fault.
    assert!(html.contains("value=\"0.5 kg\""));
    assert!(html.contains("id=\"range_max-error\""));
    assert!(html.contains("id=\"cert_expires_on-error\""));
    // In the Chinese interface the message is Chinese, with the exact detail beneath.
    assert!(html.contains("单位与测量参数的量不符"), "localised message");
    assert!(html.contains("is a mass, but a length is expected"), "detail kept");
    assert!(html.contains("value=\"量块标准装置\""));
    assert_eq!(app.count("standards").await, 201);

    let res = admin
        .browser(app.client.post("/standards"))
        .header(ContentType::Form)
        .body(form_body(&owner, "100 mm", "2030-01-09"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let location = res.headers().get_one("Location").unwrap().to_owned();
    let (status, html) = page(&app, &location).await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("0.5 mm … 100 mm"));
    assert_eq!(app.count("standards").await, 202);
}

#[rocket::async_test]
async fn visitors_are_sent_to_log_in_and_other_roles_get_no_edit_forms() {
    let app = TestApp::demo().await;
    let res = app.client.get("/standards/new").dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(
        res.headers().get_one("Location"),
        Some("/login?next=%2Fstandards%2Fnew")
    );
    let owner = an_institute(&DemoCsv::load());
    let res = visitor(app.client.post("/standards/1"))
        .header(ContentType::Form)
        .body(form_body(&owner, "100 mm", "2030-01-09"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let technician = app.user("technician").await;
    let res = technician.browser(app.client.get("/standards/new")).dispatch().await;
    assert_eq!(res.status(), Status::Forbidden);
    assert_eq!(app.count("standards").await, 201);
}

#[rocket::async_test]
async fn unknown_pages_are_404_pages() {
    let app = TestApp::demo().await;
    let (status, html) = page(&app, "/standards/424242").await;
    assert_eq!(status, Status::NotFound);
    assert!(html.contains("404"));
    let (status, _) = page(&app, "/nowhere").await;
    assert_eq!(status, Status::NotFound);
}

#[rocket::async_test]
async fn the_regulator_registers_and_renames_an_organisation_with_its_history_kept() {
    let app = TestApp::demo().await;
    let regulator = app.user("regulator").await;
    let post = |uri: String, fields: Vec<(&'static str, &'static str)>| {
        regulator
            .browser(app.client.post(uri))
            .header(ContentType::Form)
            .body(crate::support::form(&fields))
    };
    // A wrong check character and a missing name come back on the form, as typed.
    let res = post(
        "/organisations".into(),
        vec![
            ("code", "91350100M000100Y44"),
            ("kind", "enterprise"),
            ("name_zh", ""),
            ("city", "440100"),
        ],
    )
    .dispatch()
    .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let html = res.into_string().await.unwrap();
    assert!(html.contains("value=\"91350100M000100Y44\""));
    assert!(html.contains("id=\"code-error\"") && html.contains("id=\"name_zh-error\""));
    // GB 32100-2015's worked example code is valid.
    let res = post(
        "/organisations".into(),
        vec![
            ("code", "91350100M000100Y43"),
            ("kind", "enterprise"),
            ("name_zh", "示例仪表厂"),
            ("city", "440100"),
        ],
    )
    .dispatch()
    .await;
    assert_eq!(res.status(), Status::SeeOther);
    let location = res.headers().get_one("Location").unwrap().to_owned();
    let res = post(
        location.clone(),
        vec![
            ("code", "91350100M000100Y43"),
            ("kind", "enterprise"),
            ("name_zh", "示例精密仪表厂"),
            ("city", "440300"),
        ],
    )
    .dispatch()
    .await;
    assert_eq!(res.status(), Status::SeeOther);
    let res = regulator.browser(app.client.get(location)).dispatch().await;
    let html = res.into_string().await.unwrap();
    assert!(html.contains("<del>示例仪表厂</del>") && html.contains("示例精密仪表厂"));
    assert!(html.contains("<del>440100</del>") && html.contains("440300"));
    assert_eq!(
        app.events("organisation.create").await,
        2,
        "the demo regulator and this one"
    );
    assert_eq!(
        app.events("organisation.update").await,
        5,
        "the demo's four street addresses and this one"
    );
}

#[rocket::async_test]
async fn renaming_an_owner_keeps_the_register_searchable_by_the_new_name() {
    let app = TestApp::demo().await;
    let regulator = app.user("regulator").await;
    let institute = app.organisation_id(crate::support::INSTITUTE).await;
    let (_, before) = app.get_json(&format!("/api/v1/standards?owner={institute}")).await;
    let owned = before["total"].as_u64().unwrap();
    assert!(owned > 0);
    let res = regulator
        .browser(app.client.post(format!("/organisations/{institute}")))
        .header(ContentType::Form)
        .body(crate::support::form(&[
            ("code", crate::support::INSTITUTE),
            ("kind", "institute"),
            ("name_zh", "南粤计量科学研究院"),
            ("city", "440100"),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    let q: String = form_urlencoded::byte_serialize("南粤计量".as_bytes()).collect();
    let (_, found) = app.get_json(&format!("/api/v1/standards?q={q}")).await;
    assert_eq!(found["total"].as_u64().unwrap(), owned);
}
