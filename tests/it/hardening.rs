//! Findings of the hostile probe that are not about evaluation: who may override whom,
//! redirects, query parameters out of range, spreadsheet formulas, file permissions,
//! what public verification shows, lookalike accounts and a certificate row edited in
//! the database.

use crate::support::{form, visitor, TestApp, CENTRE, ENTERPRISE_B, INSTITUTE, PASSWORD};
use rocket::http::{ContentType, Cookie, Status};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

/// The edit form's fields of a standard, as JSON for `PUT /api/v1/standards/{id}`.
async fn standard_body(app: &TestApp, id: i64) -> Value {
    let input = metrocal::service::standards::edit_form(&metrocal::service::Actor::system("test"), &app.db, id as i32)
        .await
        .unwrap();
    let mut body = json!({});
    for (k, v) in input.entries() {
        body[k] = json!(v);
    }
    body
}

async fn institute_standard(app: &TestApp) -> i64 {
    let own = app.organisation_id(INSTITUTE).await;
    let (_, page) = app.get_json(&format!("/api/v1/standards?owner={own}&per_page=1")).await;
    page["items"][0]["id"].as_i64().unwrap()
}

#[rocket::async_test]
async fn the_owner_cannot_undo_what_the_regulator_set() {
    let app = TestApp::demo().await;
    let regulator = app.user("regulator").await;
    let owner = app.user_in("institute_admin", INSTITUTE).await;
    let id = institute_standard(&app).await;
    let put = |who: &crate::support::TestUser, body: &Value| {
        let req = who
            .api(app.client.put(format!("/api/v1/standards/{id}")))
            .body(body.to_string());
        async move {
            let res = req.dispatch().await;
            (res.status().code, res.into_json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // The regulator suspends the standard.
    let mut body = standard_body(&app, id).await;
    body["status"] = json!("suspended");
    assert_eq!(put(&regulator, &body).await.0, 200);
    // The owner's admin put it back in service, moved the certificate's expiry to 2040
    // and tightened the accuracy: each is refused by name, and nothing changes.
    let before = standard_body(&app, id).await;
    let events = app.events("standard.update").await;
    let mut attempt = before.clone();
    attempt["status"] = json!("in_service");
    attempt["cert_expires_on"] = json!("2040-12-31");
    attempt["accuracy"] = json!("0.000001 mg");
    let (status, v) = put(&owner, &attempt).await;
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"]["code"], "standard.regulator_field");
    for f in ["status", "cert_expires_on", "accuracy"] {
        assert!(v["error"]["fields"][f].is_string(), "{f} is named: {v}");
    }
    assert!(v["error"]["fields"]["responsible_person"].is_null());
    assert_eq!(standard_body(&app, id).await, before);
    assert_eq!(app.events("standard.update").await, events);
    // Each of the certificate's fields alone is the regulator's too.
    for (field, value) in [
        ("cert_no", json!("[2026]粤社量标证字第999999号")),
        ("cert_authority", json!("某某局")),
        ("cert_issued_on", json!("2020-01-01")),
    ] {
        let mut attempt = before.clone();
        attempt[field] = value;
        let (status, v) = put(&owner, &attempt).await;
        assert_eq!(status, 403, "{field}: {v}");
        assert!(v["error"]["fields"][field].is_string());
    }
    // The owner still keeps their own fields.
    let mut own = before.clone();
    own["responsible_person"] = json!("林晓");
    assert_eq!(put(&owner, &own).await.0, 200);
    // The edit form shows the refusal on the field, not an error page.
    let mut fields: Vec<(String, String)> = before
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
        .collect();
    for f in fields.iter_mut() {
        if f.0 == "status" {
            f.1 = "in_service".into();
        }
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = owner
        .browser(app.client.post(format!("/standards/{id}")))
        .header(ContentType::Form)
        .body(form(&pairs))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    let html = res.into_string().await.unwrap();
    assert!(html.contains("status-error"), "the status field is marked");
}

#[rocket::async_test]
async fn an_institute_admin_cannot_disable_a_system_admin() {
    let app = TestApp::demo().await;
    let admin = app.user_in("institute_admin", INSTITUTE).await;
    let above = app.user_in("institute_admin,system_admin", INSTITUTE).await;
    let staff = app.user_in("technician", INSTITUTE).await;
    let org = app.organisation_id(INSTITUTE).await;
    let disable = |id: i32| {
        admin
            .browser(app.client.post(format!("/organisations/{org}/users/{id}/disable")))
            .header(ContentType::Form)
            .body(form(&[]))
            .dispatch()
    };
    assert_eq!(disable(above.id).await.status(), Status::Forbidden);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM users WHERE id = {} AND disabled_at IS NULL",
            above.id
        ))
        .await,
        1
    );
    // Their own staff, yes.
    assert_eq!(disable(staff.id).await.status(), Status::SeeOther);
}

#[rocket::async_test]
async fn redirects_go_only_to_paths_on_this_site() {
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    for (next, to) in [
        ("/\t/evil.example/phish", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\n/evil.example", "/"),
        ("/standards?page=2", "/standards?page=2"),
    ] {
        let res = visitor(app.client.post("/login"))
            .header(ContentType::Form)
            .body(form(&[("email", &user.email), ("password", PASSWORD), ("next", next)]))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::SeeOther, "{next:?}");
        assert_eq!(res.headers().get_one("Location"), Some(to), "{next:?}");
    }
    // The language switch refuses such a `next` by name instead of failing.
    let res = app.client.get("/lang/en?next=/%09x").dispatch().await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let res = app.client.get("/lang/en?next=/standards").dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(res.headers().get_one("Location"), Some("/standards"));
}

#[rocket::async_test]
async fn out_of_range_paging_is_a_4xx_naming_the_parameter() {
    let app = TestApp::demo().await;
    let regulator = app.user("regulator").await;
    let centre = app.user_in("scheduler", CENTRE).await;
    let centre_id = app.organisation_id(CENTRE).await;
    for (user, uri, field) in [
        (
            &regulator,
            "/api/v1/certificates?offset=9223372036854775808".to_owned(),
            "offset",
        ),
        (
            &centre,
            format!("/api/v1/recall?organisation={centre_id}&offset=9223372036854775808"),
            "offset",
        ),
        (
            &centre,
            "/api/v1/work-orders?offset=9223372036854775808".to_owned(),
            "offset",
        ),
        (&regulator, "/api/v1/audit?page=18446744073709551615".to_owned(), "page"),
    ] {
        let (status, v) = app.get_as(user, &uri).await;
        assert!((400..500).contains(&status), "{uri}: {status} {v}");
        assert!(v["error"]["fields"][field].is_string(), "{uri}: {v}");
    }
    for uri in [
        "/audit?page=18446744073709551615",
        "/organisations?page=18446744073709551615",
    ] {
        let res = regulator.browser(app.client.get(uri)).dispatch().await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "{uri}");
    }
    // Naming one certificate twice in a ZIP is refused by name, not a 500.
    let (_, list) = app.get_as(&regulator, "/api/v1/certificates").await;
    let n = list["certificates"][0]["number"].as_str().unwrap().to_owned();
    let res = regulator
        .browser(app.client.get(format!("/certificates.zip?number={n}&number={n}")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn spreadsheet_formulas_in_names_are_neutralised_in_csv() {
    let app = TestApp::demo().await;
    let regulator = app.user("regulator").await;
    let id = institute_standard(&app).await;
    let mut body = standard_body(&app, id).await;
    let formula = "=HYPERLINK(\"http://evil.example\",\"点击\")";
    body["name_zh"] = json!(formula);
    let res = regulator
        .api(app.client.put(format!("/api/v1/standards/{id}")))
        .body(body.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    // The recall list names its items as the daily run recorded them: one named so.
    metrocal::service::schedule::run_daily(
        &metrocal::service::Actor::system("test"),
        &app.db,
        crate::support::today(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    app.sql(&format!(
        "UPDATE due_items SET label = '{}'",
        formula.replace('\'', "''")
    ))
    .await;
    let scheduler = app.user_in("scheduler", INSTITUTE).await;
    let res = scheduler
        .browser(app.client.get("/schedule.csv?side=holder&status="))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let csv = res.into_string().await.unwrap();
    let mut cells = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let mut seen = false;
    for row in cells.records() {
        for cell in row.unwrap().iter() {
            assert!(
                !(cell.starts_with(['=', '+', '@', '\t', '\r'])
                    || cell.starts_with('-') && cell.parse::<f64>().is_err()),
                "a cell a spreadsheet would run: {cell:?}"
            );
            seen |= cell.contains("HYPERLINK");
        }
    }
    assert!(
        seen,
        "the item is in the list, neutralised: {}",
        &csv[..csv.len().min(400)]
    );
    // The exchange format writes it inert and reads it back exactly.
    let dir = tempfile::tempdir().unwrap();
    metrocal::service::transfer::export(
        &metrocal::service::Actor::system("test"),
        &app.db,
        dir.path(),
        &metrocal::service::transfer::Quiet,
    )
    .await
    .unwrap();
    let text = std::fs::read_to_string(dir.path().join("standards.csv")).unwrap();
    assert!(text.contains("'=HYPERLINK"), "exported with a leading '");
    let other = TestApp::empty().await;
    let bundle = metrocal::service::transfer::Bundle::from_dir(dir.path()).unwrap();
    metrocal::service::transfer::import(
        &metrocal::service::Actor::system("test"),
        &other.db,
        &bundle,
        chrono::Utc::now(),
        &metrocal::service::transfer::Quiet,
    )
    .await
    .unwrap();
    assert_eq!(
        other
            .scalar(&format!(
                "SELECT COUNT(*) AS n FROM standards WHERE name_zh = '{}'",
                formula.replace('\'', "''")
            ))
            .await,
        1,
        "the name round-trips exactly"
    );
}

#[cfg(unix)]
#[rocket::async_test]
async fn the_database_and_its_backups_are_the_operators_alone() {
    use std::os::unix::fs::PermissionsExt;
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        return; // PostgreSQL keeps its own files.
    }
    let app = TestApp::demo().await;
    let path = metrocal::store::sqlite_path(&app.url).unwrap();
    let mode = |p: &str| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600, "{path}");
    for side in ["-wal", "-shm"] {
        let p = format!("{path}{side}");
        if std::path::Path::new(&p).exists() {
            assert_eq!(mode(&p), 0o600, "{p}");
        }
    }
    let out = std::path::Path::new(&path).with_extension("backup");
    metrocal::service::backup::backup(&app.db, &app.url, &out)
        .await
        .unwrap();
    assert_eq!(mode(out.to_str().unwrap()), 0o600);
}

#[rocket::async_test]
async fn public_verification_does_not_show_the_withdrawal_reason() {
    let app = TestApp::demo().await;
    let secret = "内部：客户投诉，待查";
    app.sql(&format!(
        "UPDATE certificates SET status = 'withdrawn', status_reason = '{secret}' WHERE id = (SELECT MIN(id) FROM certificates)"
    ))
    .await;
    let token = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT token FROM certificates WHERE status = 'withdrawn'".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "token")
        .unwrap();
    let res = app.client.get(format!("/api/v1/verify/{token}")).dispatch().await;
    let text = res.into_string().await.unwrap();
    assert!(text.contains("withdrawn"), "{text}");
    assert!(!text.contains(secret), "{text}");
    let res = app.client.get(format!("/verify/{token}")).dispatch().await;
    assert!(!res.into_string().await.unwrap().contains(secret));
}

#[rocket::async_test]
async fn lookalike_accounts_are_refused_beside_a_real_one() {
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let real = app.user_in("technician", CENTRE).await;
    let centre = app.organisation_id(CENTRE).await;
    let users = app.count("users").await;
    let add = |email: String| {
        let req = admin
            .browser(app.client.post(format!("/organisations/{centre}/users")))
            .header(ContentType::Form)
            .body(form(&[("email", &email), ("name", "假冒"), ("roles", "technician")]));
        async move {
            let res = req.dispatch().await;
            (res.status(), res.into_string().await.unwrap_or_default())
        }
    };
    let (local, domain) = real.email.split_once('@').unwrap();
    for lookalike in [
        format!("{local}\u{200B}@{domain}"),
        format!("\u{202E}{local}@{domain}"),
        format!("{}@{domain}", local.replacen('e', "\u{0435}", 1)),
    ] {
        let (status, html) = add(lookalike.clone()).await;
        assert_eq!(status, Status::UnprocessableEntity, "{lookalike:?}");
        assert!(html.contains("email-error"), "the e-mail field is marked");
    }
    // A full-width spelling is the same address: taken.
    let wide: String = real
        .email
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                char::from_u32(c as u32 - 0x61 + 0xFF41).unwrap()
            } else {
                c
            }
        })
        .collect();
    let (status, _) = add(wide).await;
    assert_eq!(status, Status::Conflict);
    assert_eq!(app.count("users").await, users);
}

#[rocket::async_test]
async fn a_certificate_row_edited_behind_the_application_is_neither_served_nor_genuine() {
    let app = TestApp::demo().await;
    let a = app.user("enterprise").await;
    let b = app.user_in("enterprise", ENTERPRISE_B).await;
    let (_, mine) = app.get_as(&a, "/api/v1/certificates").await;
    let number = mine["certificates"][0]["number"].as_str().unwrap().to_owned();
    let token = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT token FROM certificates WHERE number = '{number}'"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "token")
        .unwrap();
    let verified = |token: String| {
        let req = app.client.get(format!("/api/v1/verify/{token}"));
        async move { req.dispatch().await.into_json::<Value>().await.unwrap() }
    };
    assert_eq!(verified(token.clone()).await["genuine"], true);
    // The customer is flipped in the database to enterprise B.
    let b_id = app.organisation_id(ENTERPRISE_B).await;
    app.sql(&format!(
        "UPDATE certificates SET customer_id = {b_id} WHERE number = '{number}'"
    ))
    .await;
    let res = b
        .browser(app.client.get(format!("/certificates/{number}/pdf")))
        .cookie(Cookie::new("lang", "en"))
        .dispatch()
        .await;
    assert_ne!(res.status(), Status::Ok, "B does not get A's PDF");
    assert!(res.content_type() != Some(ContentType::PDF));
    let (status, _) = app.get_as(&b, &format!("/api/v1/certificates/{number}/dcc")).await;
    assert_ne!(status, 200);
    assert_eq!(
        verified(token).await["genuine"],
        false,
        "verification no longer says genuine"
    );
}
