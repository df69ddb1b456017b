//! The audit trail: what each change records, the history on detail pages, the
//! append-only rule, and detection of tampering with the hash chain.

use crate::support::{TestApp, INSTITUTE};
use metrocal::domain::audit::{Break, Head};
use metrocal::service::audit::{self, Changes, Entry};
use metrocal::service::Actor;
use rocket::http::{ContentType, Status};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{json, Value};

async fn exec(app: &TestApp, sql: &str) -> Result<(), sea_orm::DbErr> {
    app.db
        .execute_raw(Statement::from_string(app.db.get_database_backend(), sql.to_owned()))
        .await
        .map(|_| ())
}

/// What someone with direct access to the database could do: switch the
/// append-only triggers off.
async fn disable_guards(app: &TestApp) {
    match app.db.get_database_backend() {
        DbBackend::Postgres => exec(app, "ALTER TABLE audit_events DISABLE TRIGGER USER")
            .await
            .unwrap(),
        _ => {
            exec(app, "DROP TRIGGER audit_events_no_update").await.unwrap();
            exec(app, "DROP TRIGGER audit_events_no_delete").await.unwrap();
        }
    }
}

async fn verify(app: &TestApp, head: Option<&Head>) -> Result<u64, Break> {
    audit::verify(&app.db, head).await.unwrap().map(|v| v.checked)
}

#[rocket::async_test]
async fn an_edit_records_who_when_and_the_old_and_new_values_under_the_request_id() {
    let app = TestApp::demo().await;
    let admin = app.user_in("institute_admin", INSTITUTE).await;
    let own = app.organisation_id(INSTITUTE).await;
    let (_, page) = app.get_json(&format!("/api/v1/standards?owner={own}&per_page=1")).await;
    let id = page["items"][0]["id"].as_i64().unwrap();
    let (_, before) = app.get_json(&format!("/api/v1/standards/{id}")).await;
    let s = &before["standard"];
    let mut body = json!({});
    for f in metrocal::domain::register::StandardInput::FIELDS {
        body[*f] = json!("");
    }
    // The form's text of the current record, with two fields changed.
    let res = admin
        .browser(app.client.get(format!("/standards/{id}/edit")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let input = metrocal::service::standards::edit_form(&metrocal::service::Actor::system("test"), &app.db, id as i32)
        .await
        .unwrap();
    let mut old_regulations = String::new();
    for (k, v) in input.entries() {
        body[k] = json!(v);
        if k == "regulations" {
            old_regulations = v.to_owned();
        }
    }
    // The owner's own fields (a suspension is the regulator's: tests/it/limits.rs).
    body["regulations"] = json!("JJF 1033-2023");
    body["responsible_person"] = json!("周海燕");
    let res = admin
        .api(app.client.put(format!("/api/v1/standards/{id}")))
        .body(body.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let request_id = res.headers().get_one("X-Request-Id").unwrap().to_owned();

    let regulator = app.user("regulator").await;
    let res = regulator
        .api(
            app.client
                .get(format!("/api/v1/audit?entity_type=standard&entity_id={id}")),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(v["total"], 1);
    let e = &v["items"][0];
    assert_eq!(e["action"], "standard.update");
    assert_eq!(e["actor"], json!(admin.email));
    assert_eq!(e["actor_user_id"], json!(admin.id));
    assert_eq!(e["organisation_id"], json!(own));
    assert_eq!(e["request_id"], json!(request_id));
    assert_eq!(
        e["changes"],
        json!({
            "regulations": [old_regulations, "JJF 1033-2023"],
            "responsible_person": [s["responsible_person"], "周海燕"],
        }),
        "only the changed fields, each with its old value"
    );
    let at = chrono::DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - at.to_utc()).num_seconds().abs() < 60);

    // The history is on the detail page for the regulator and the owner's staff...
    let res = regulator
        .browser(app.client.get(format!("/standards/{id}")))
        .dispatch()
        .await;
    let html = res.into_string().await.unwrap();
    assert!(html.contains("变更历史") && html.contains("周海燕") && html.contains(&admin.email));
    assert!(html.contains(&format!("<del>{}</del>", s["responsible_person"].as_str().unwrap())));
    // ...but not for the public, who see the register only.
    let res = app.client.get(format!("/standards/{id}")).dispatch().await;
    let html = res.into_string().await.unwrap();
    assert!(!html.contains("变更历史") && !html.contains(&admin.email));

    // Saving the same values again changes nothing and records nothing.
    let res = admin
        .api(app.client.put(format!("/api/v1/standards/{id}")))
        .body(body.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(app.events("standard.update").await, 1);
}

#[rocket::async_test]
async fn a_refused_or_failed_change_leaves_no_event() {
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let events = app.count("audit_events").await;
    // A conflict (taken certificate number) and a rule violation: nothing written.
    let (_, page) = app.get_json("/api/v1/standards?per_page=2").await;
    let taken = page["items"][1]["cert_no"].as_str().unwrap().to_owned();
    let id = page["items"][0]["id"].as_i64().unwrap();
    let input = metrocal::service::standards::edit_form(&Actor::system("test"), &app.db, id as i32)
        .await
        .unwrap();
    let mut body = json!({});
    for (k, v) in input.entries() {
        body[k] = json!(v);
    }
    body["cert_no"] = json!(taken);
    let res = admin
        .api(app.client.put(format!("/api/v1/standards/{id}")))
        .body(body.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Conflict);
    body["cert_no"] = json!("[2026]新证书号");
    body["cert_expires_on"] = json!("not a date");
    let res = admin
        .api(app.client.put(format!("/api/v1/standards/{id}")))
        .body(body.to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert_eq!(app.count("audit_events").await, events);

    // A transaction that appended its event and then failed takes the event with it:
    // the chain has no gap and the next event follows on.
    let head_before = audit::head(&app.db).await.unwrap();
    let txn = metrocal::store::begin(&app.db).await.unwrap();
    let operator = Actor::system("test");
    let mut changes = Changes::new();
    changes.note("name_zh", json!("不会保存"));
    audit::record(
        &txn,
        &operator,
        chrono::Utc::now(),
        Entry {
            action: "standard.update",
            entity_type: "standard",
            entity_id: id.to_string(),
            changes,
        },
    )
    .await
    .unwrap();
    let dup = txn
        .execute_raw(Statement::from_string(
            txn.get_database_backend(),
            format!("INSERT INTO users (organisation_id, email, name, roles, password_hash, must_change_password, created_at, updated_at) SELECT organisation_id, email, name, roles, password_hash, must_change_password, created_at, updated_at FROM users WHERE id = {}", admin.id),
        ))
        .await;
    assert!(dup.is_err(), "a duplicate e-mail fails the transaction");
    drop(txn); // rolled back
    assert_eq!(app.count("audit_events").await, events);
    assert_eq!(audit::head(&app.db).await.unwrap(), head_before);
    app.user("technician").await; // more events after the failed one
    assert!(verify(&app, None).await.is_ok());
}

#[rocket::async_test]
async fn the_database_refuses_to_change_or_delete_an_event() {
    let app = TestApp::demo().await;
    assert!(app.count("audit_events").await > 0);
    assert!(exec(&app, "UPDATE audit_events SET actor = 'someone else'")
        .await
        .is_err());
    assert!(exec(&app, "DELETE FROM audit_events").await.is_err());
    if app.db.get_database_backend() == DbBackend::Postgres {
        assert!(exec(&app, "TRUNCATE audit_events").await.is_err());
    }
    assert!(verify(&app, None).await.is_ok());
}

#[rocket::async_test]
async fn tampering_with_the_chain_is_detected() {
    let app = TestApp::demo().await;
    for role in ["regulator", "technician", "reviewer", "approver"] {
        app.user(role).await;
    }
    let n = app.count("audit_events").await as u64;
    assert!(n >= 10, "{n} events");
    let head = audit::head(&app.db).await.unwrap();
    assert_eq!(verify(&app, Some(&head)).await, Ok(n));
    disable_guards(&app).await;

    // Edited: one value changed in event 5.
    exec(
        &app,
        "UPDATE audit_events SET changes = '{\"status\":[null,\"withdrawn\"]}' WHERE seq = 5",
    )
    .await
    .unwrap();
    assert_eq!(verify(&app, Some(&head)).await, Err(Break::Edited { seq: 5 }));
    // Re-hashing the edited event moves the break to the next link, not away.
    let fake = "a".repeat(64);
    exec(&app, &format!("UPDATE audit_events SET hash = '{fake}' WHERE seq = 5"))
        .await
        .unwrap();
    assert!(matches!(verify(&app, Some(&head)).await, Err(Break::Edited { seq: 5 })));

    // Deleted: event 7 removed.
    let app = TestApp::demo().await;
    app.user("regulator").await;
    let head = audit::head(&app.db).await.unwrap();
    disable_guards(&app).await;
    exec(&app, "DELETE FROM audit_events WHERE seq = 7").await.unwrap();
    assert_eq!(
        verify(&app, Some(&head)).await,
        Err(Break::Missing { seq: 7, found: 8 })
    );

    // Reordered: events 3 and 4 swap places (their numbers swapped).
    let app = TestApp::demo().await;
    app.user("regulator").await;
    let head = audit::head(&app.db).await.unwrap();
    disable_guards(&app).await;
    exec(&app, "UPDATE audit_events SET seq = -3 WHERE seq = 3")
        .await
        .unwrap();
    exec(&app, "UPDATE audit_events SET seq = 3 WHERE seq = 4")
        .await
        .unwrap();
    exec(&app, "UPDATE audit_events SET seq = 4 WHERE seq = -3")
        .await
        .unwrap();
    assert!(matches!(verify(&app, Some(&head)).await, Err(Break::Edited { seq: 3 })));

    // Truncated: the last two events removed and the head row moved back to match.
    // Only the head kept outside the database tells.
    let app = TestApp::demo().await;
    app.user("regulator").await;
    let head = audit::head(&app.db).await.unwrap();
    disable_guards(&app).await;
    let keep = head.seq - 2;
    exec(&app, &format!("DELETE FROM audit_events WHERE seq > {keep}"))
        .await
        .unwrap();
    let last_hash: String = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT hash FROM audit_events WHERE seq = {keep}"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "hash")
        .unwrap();
    exec(
        &app,
        &format!("UPDATE audit_head SET seq = {keep}, hash = '{last_hash}'"),
    )
    .await
    .unwrap();
    assert!(
        verify(&app, None).await.is_ok(),
        "self-consistent without the outside head"
    );
    assert_eq!(
        verify(&app, Some(&head)).await,
        Err(Break::Truncated {
            last_seq: keep,
            head_seq: head.seq
        })
    );
}

#[rocket::async_test]
async fn the_audit_page_lists_and_filters_for_the_regulator_only() {
    let app = TestApp::demo().await;
    let regulator = app.user("regulator").await;
    let enterprise = app.user("enterprise").await;
    let res = regulator
        .browser(app.client.get("/audit?action=user.create"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains(&enterprise.email),
        "the enterprise user's creation is listed"
    );
    assert!(!html.contains("register.import"));
    let res = regulator
        .browser(app.client.get("/audit?from=yesterday"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert!(res.into_string().await.unwrap().contains("value=\"yesterday\""));
    let res = regulator
        .api(app.client.get("/api/v1/audit?action=register.import"))
        .dispatch()
        .await;
    let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    assert_eq!(v["total"], 1);
    let files = &v["items"][0]["changes"];
    assert_eq!(files["standards"], json!([null, 201]));
    // The SHA-256 of the demo standards file, computed here independently of the app.
    use sha2::Digest;
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/calibration-data/demo/standards.csv"
    ))
    .unwrap();
    assert_eq!(
        files["sha256:standards.csv"][1],
        json!(hex::encode(sha2::Sha256::digest(&bytes)))
    );
    let res = enterprise.browser(app.client.get("/audit")).dispatch().await;
    assert_eq!(res.status(), Status::Forbidden);
    let res = app
        .client
        .get("/api/v1/audit")
        .header(ContentType::JSON)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
}
