//! Issuing and verifying certificates: gap-free numbers under 50 concurrent issues, the
//! signing key file, the public verification page and upload, one changed byte detected,
//! amendments and withdrawal, and the command line's verify and export.

use crate::support::{visitor, TestApp, TestUser, ENTERPRISE_A, INSTITUTE, PASSWORD};
use metrocal::domain::certificates::Snapshot;
use metrocal::service::certificates::{issue, verify_file, withdraw, IssueRequest};
use metrocal::service::keys::KeyStore;
use metrocal::service::Actor;
use rocket::http::{ContentType, Status};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

#[rocket::async_test]
async fn numbers_signatures_verification_and_amendments() {
    let app = TestApp::demo().await;
    let lab = app.organisation_id(INSTITUTE).await;
    let customer = app.organisation_id(ENTERPRISE_A).await;
    // The app's own key store: the demo certificates were signed with its keys.
    let keys = app.client.rocket().state::<KeyStore>().unwrap().clone();
    let approver = Actor::system("test");
    // The demo set issued the institute's first two certificates of 2026.
    let demo_issues = app.events("certificate.issue").await;
    assert_eq!(demo_issues, 3);
    let now = chrono::Utc::now();
    let request = || IssueRequest {
        lab_id: lab,
        customer_id: customer,
        snapshot: Snapshot::example(),
        amends: None,
    };
    let first = issue(&approver, &app.db, &keys, request(), now).await.unwrap();
    assert_eq!(first.number, format!("{INSTITUTE}-2026-000003"));
    assert_eq!((first.revision, first.status.as_str()), (1, "issued"));
    // The private keys are sealed in the database, one per laboratory that has signed
    // (the institute and the centre); no key file is written. The key-encryption key
    // this single machine generated is readable by its owner only.
    assert!(!app.data_dir().join("keys").exists());
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM lab_keys WHERE sealed_private IS NOT NULL")
            .await,
        2
    );
    let kek = app.data_dir().join(metrocal::service::keys::KEK_FILE);
    assert_eq!(std::fs::metadata(&kek).unwrap().permissions().mode() & 0o777, 0o600);

    // 50 at once: no gap, no duplicate.
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (db, keys, actor) = (app.db.clone(), keys.clone(), approver.clone());
            let req = request();
            rocket::tokio::spawn(async move { issue(&actor, &db, &keys, req, chrono::Utc::now()).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().unwrap().seq);
    }
    seqs.sort();
    assert_eq!(seqs, (4..=53).collect::<Vec<i32>>());
    assert_eq!(app.events("certificate.issue").await, demo_issues + 51);

    // The DCC verifies as served; one changed byte does not.
    let dcc = first.dcc.clone().into_bytes();
    let v = verify_file(&app.db, &dcc).await.unwrap();
    assert!(v.genuine, "{v:?}");
    assert_eq!(v.number.as_deref(), Some(first.number.as_str()));
    assert_eq!(v.file, Some("dcc"));
    let mut tampered = dcc.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    let v = verify_file(&app.db, &tampered).await.unwrap();
    assert!(!v.genuine && v.number.is_none(), "{v:?}");
    // A stored certificate whose content was changed behind the system's back fails its signature.
    use sea_orm::ConnectionTrait;
    let second = seqs[0];
    app.db
        .execute_unprepared(&format!(
            "UPDATE certificates SET snapshot = replace(snapshot, 'GB-100-0042', 'GB-100-0043') WHERE seq = {second}"
        ))
        .await
        .unwrap();
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT dcc FROM certificates WHERE seq = {second}"),
        ))
        .await
        .unwrap()
        .unwrap();
    let dcc2: String = row.try_get("", "dcc").unwrap();
    let v = verify_file(&app.db, dcc2.as_bytes()).await.unwrap();
    assert!(!v.genuine, "the content no longer matches its digest: {v:?}");

    // The PDF too: as issued it verifies, one changed byte does not.
    let pdf = first.pdf.clone().expect("a PDF is issued");
    assert!(pdf.starts_with(b"%PDF-"));
    let v = verify_file(&app.db, &pdf).await.unwrap();
    assert!(v.genuine && v.file == Some("pdf"), "{v:?}");
    let mut bad_pdf = pdf.clone();
    let at = bad_pdf.len() / 2;
    bad_pdf[at] ^= 0x20;
    assert!(!verify_file(&app.db, &bad_pdf).await.unwrap().genuine);

    // The public page needs no login.
    let res = app.client.get(format!("/verify/{}", first.token)).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(
        html.contains(&first.number) && html.contains(&first.dcc_sha256),
        "{html}"
    );
    let res = app
        .client
        .get("/verify/00000000000000000000000000000000")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NotFound);
    let (status, v) = app.get_json(&format!("/api/v1/verify/{}", first.token)).await;
    assert_eq!((status, v["genuine"].as_bool()), (200, Some(true)), "{v}");
    // Uploading the file checks it byte for byte.
    let res = app
        .client
        .post("/api/v1/certificates/verify")
        .header(ContentType::Binary)
        .body(dcc.clone())
        .dispatch()
        .await;
    let v: Value = res.into_json().await.unwrap();
    assert_eq!(v["genuine"], true);
    let res = app
        .client
        .post("/api/v1/certificates/verify")
        .header(ContentType::Binary)
        .body(tampered.clone())
        .dispatch()
        .await;
    let v: Value = res.into_json().await.unwrap();
    assert_eq!(v["genuine"], false);
    let boundary = "metrocalboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.xml\"\r\nContent-Type: application/xml\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&dcc);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = visitor(app.client.post("/verify"))
        .header(ContentType::new("multipart", "form-data").with_params(("boundary", boundary)))
        .body(body)
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert!(res.into_string().await.unwrap().contains(&first.number));

    // An amendment: a new number, revision 2, the old one superseded and saying so.
    let amended = issue(
        &approver,
        &app.db,
        &keys,
        IssueRequest {
            amends: Some((first.id, "客户地址更正 / customer address corrected".into())),
            ..request()
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(amended.revision, 2);
    assert_eq!(amended.replaces_id, Some(first.id));
    assert!(amended.dcc.contains(&format!(
        "<dcc:replacedUniqueIdentifier>{}</dcc:replacedUniqueIdentifier>",
        first.number
    )));
    let (_, v) = app.get_json(&format!("/api/v1/verify/{}", first.token)).await;
    assert_eq!(v["status"], "superseded");
    assert_eq!(v["superseded_by"], amended.number.as_str());
    assert_eq!(v["genuine"], true, "still genuine, and still downloadable");
    // Only the current certificate can be amended again.
    let again = issue(
        &approver,
        &app.db,
        &keys,
        IssueRequest {
            amends: Some((first.id, "again".into())),
            ..request()
        },
        now,
    )
    .await;
    assert!(matches!(again, Err(metrocal::service::Error::Conflict { .. })));
    assert_eq!(app.events("certificate.amend").await, 2, "the demo's and this one");
    // Withdrawal.
    withdraw(
        &approver,
        &app.db,
        &amended.number,
        "item returned unrepaired",
        "",
        "test",
        now,
    )
    .await
    .unwrap();
    let (_, v) = app.get_json(&format!("/api/v1/verify/{}", amended.token)).await;
    assert_eq!(v["status"], "withdrawn");

    // A verification certificate for an item that failed is refused.
    let mut failed = Snapshot::example();
    failed.kind = "verification".into();
    failed.valid_until = Some("2027-11-23".parse().unwrap());
    failed.decision = Some("fail".into());
    let refused = issue(
        &approver,
        &app.db,
        &keys,
        IssueRequest {
            snapshot: failed,
            ..request()
        },
        now,
    )
    .await;
    assert!(matches!(refused, Err(metrocal::service::Error::Invalid { .. })));
}

#[rocket::async_test]
async fn the_command_line_verifies_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    // A database of its own, migrated, with one organisation pair from the demo set.
    let db = metrocal::store::connect(&url).await.unwrap();
    metrocal::store::migrate(&db).await.unwrap();
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(
        "INSERT INTO organisations (code, kind, name_zh, name_en, region_id, created_at, updated_at) VALUES \
         ('124400001JA7N1F563', 'institute', '广东省计量测试研究院', 'GIM', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), \
         ('91440100KMJQMXMD0D', 'enterprise', '广州示例仪器有限公司', 'Example', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .await
    .unwrap();
    let keys = KeyStore::new(dir.path());
    let c = issue(
        &Actor::system("test"),
        &db,
        &keys,
        IssueRequest {
            lab_id: 1,
            customer_id: 2,
            snapshot: Snapshot::example(),
            amends: None,
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    drop(db);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_metrocal"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("METROCAL_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out_dir = dir.path().join("out");
    let o = run(&["certificate", "export", &c.number, "--out", out_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = out_dir.join(format!("{}.xml", c.number));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        c.dcc.as_bytes(),
        "byte for byte as served"
    );
    let pdf = out_dir.join(format!("{}.pdf", c.number));
    assert_eq!(
        std::fs::read(&pdf).unwrap(),
        c.pdf.clone().unwrap(),
        "the PDF as served"
    );
    let o = run(&["certificate", "verify", pdf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = run(&["certificate", "verify", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("GENUINE"));
    // One byte changed: exit code not 0.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 1;
    let bad = out_dir.join("altered.xml");
    std::fs::write(&bad, bytes).unwrap();
    let o = run(&["certificate", "verify", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("NOT GENUINE"));

    // Rotating the key: a new id printed, the old certificate still genuine.
    let o = run(&["certificate", "rotate-key", "--lab", "124400001JA7N1F563"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let new_key = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert_eq!(new_key.len(), 16);
    assert_ne!(new_key, c.key_id);
    let o = run(&["certificate", "verify", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = run(&["certificate", "rotate-key", "--lab", "nobody"]);
    assert!(!o.status.success());
    // Amending from a file of changes opens the next revision of the certificate's
    // record; this one was issued without a record, so it is refused and stays current.
    let changes = dir.path().join("changes.json");
    std::fs::write(&changes, r#"{"item": {"serial": "GB-100-0042A"}}"#).unwrap();
    let o = run(&[
        "certificate",
        "amend",
        &c.number,
        "--reason",
        "出厂编号更正",
        "--changes",
        changes.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not issued from a record"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let amended = c.number.clone();
    // Withdrawing it; a second withdrawal is refused.
    let o = run(&["certificate", "withdraw", &amended, "--reason", "客户退回"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["certificate", "withdraw", &amended, "--reason", "again"]);
    assert!(!o.status.success());
    let o = run(&[
        "certificate",
        "verify",
        "--format",
        "json",
        out_dir.join(format!("{amended}.xml")).to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["genuine"].as_bool()),
        (Some("withdrawn"), Some(true))
    );
}

#[rocket::async_test]
async fn the_portal_shows_each_enterprise_its_own() {
    let app = TestApp::demo().await;
    let a = app.user("enterprise").await;
    let b = app.user_in("enterprise", crate::support::ENTERPRISE_B).await;
    let list = |u: &crate::support::TestUser, q: &str| {
        let req = u.api(app.client.get(format!("/api/v1/certificates?q={q}")));
        async move { req.dispatch().await.into_json::<Value>().await.unwrap() }
    };
    // Enterprise A: the centre's calibration certificate (amended, so two) and the
    // institute's verification certificate; B: its result notice.
    let la = list(&a, "").await;
    let lb = list(&b, "").await;
    assert_eq!(la["total"], 3, "{la}");
    assert_eq!(lb["total"], 1, "{lb}");
    let kinds: Vec<&str> = la["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"calibration") && kinds.contains(&"verification"));
    assert_eq!(lb["certificates"][0]["kind"], "verification_notice");
    // Each demo certificate stands on a record signed by three people, and states the
    // laboratory's street address.
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM calibration_records WHERE status = 'issued' AND certificate_id IS NOT NULL"
        )
        .await,
        3
    );
    // Nine signatures, and three more on the amended record's revision 2, of which the
    // first three are void (they stay on revision 1 and its certificate).
    assert_eq!(app.scalar("SELECT COUNT(*) AS n FROM record_signatures").await, 12);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM record_signatures WHERE voided_at IS NULL AND revision = 2")
            .await,
        3
    );
    let first = la["certificates"][0]["number"].as_str().unwrap().to_owned();
    let (_, c) = app.get_as(&a, &format!("/api/v1/certificates/{first}")).await;
    assert!(
        c["content"]["lab"]["address"].as_str().unwrap().contains("广州市"),
        "{c}"
    );
    // Searching by the item.
    assert_eq!(list(&a, "SN00000019").await["total"], 1);
    // B's notice is not there for A, whatever is guessed.
    let notice = lb["certificates"][0]["number"].as_str().unwrap().to_owned();
    for uri in [
        format!("/api/v1/certificates/{notice}"),
        format!("/api/v1/certificates/{notice}/dcc"),
    ] {
        let res = a.api(app.client.get(uri.clone())).dispatch().await;
        assert_eq!(res.status(), Status::NotFound, "{uri}");
    }
    let mine = la["certificates"][0]["number"].as_str().unwrap().to_owned();
    let res = a
        .browser(
            app.client
                .get(format!("/certificates.zip?number={mine}&number={notice}")),
        )
        .dispatch()
        .await;
    assert_eq!(
        res.status(),
        Status::NotFound,
        "one foreign number spoils the whole ZIP"
    );
    // The PDF, as served every time: the same bytes.
    let pdf_uri = format!("/certificates/{mine}/pdf");
    let res = a.browser(app.client.get(pdf_uri.clone())).dispatch().await;
    assert_eq!(res.content_type(), Some(ContentType::PDF));
    let first_pdf = res.into_bytes().await.unwrap();
    let again = a
        .browser(app.client.get(pdf_uri))
        .dispatch()
        .await
        .into_bytes()
        .await
        .unwrap();
    assert_eq!(again, first_pdf);
    // A's own file: an attachment with a safe name, the bytes as issued.
    let res = a
        .browser(app.client.get(format!("/certificates/{mine}/dcc")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        res.headers().get_one("Content-Disposition"),
        Some(format!("attachment; filename=\"{mine}.xml\"").as_str())
    );
    let bytes = res.into_bytes().await.unwrap();
    let v = verify_file(&app.db, &bytes).await.unwrap();
    assert!(v.genuine);
    // A ZIP of two of A's certificates holds both DCCs.
    let other = la["certificates"][1]["number"].as_str().unwrap().to_owned();
    let res = a
        .browser(
            app.client
                .get(format!("/certificates.zip?number={mine}&number={other}")),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let zip = res.into_bytes().await.unwrap();
    assert_eq!(&zip[..2], b"PK");
    let text = String::from_utf8_lossy(&zip);
    assert!(text.contains(&format!("{mine}.xml")) && text.contains(&format!("{other}.xml")));
    // An issued certificate cannot be edited.
    let res = a
        .api(app.client.put(format!("/api/v1/certificates/{mine}")))
        .body("{}")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Conflict);
    // The portal page lists them.
    let res = a.browser(app.client.get("/certificates")).dispatch().await;
    let html = res.into_string().await.unwrap();
    assert!(html.contains(&mine) && !html.contains(&notice));
}

/// The institute's approver amends and withdraws through the API, signing with their
/// password; its admin rotates the signing key, and what the old key signed still verifies.
#[rocket::async_test]
async fn amending_withdrawing_and_rotating_through_the_api() {
    let app = TestApp::demo().await;
    let lab = app.organisation_id(INSTITUTE).await;
    let approver = app.user_in("approver", INSTITUTE).await;
    let (_, list) = app.get_as(&approver, "/api/v1/certificates?limit=200").await;
    let current = list["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "issued" && c["lab_id"] == lab)
        .unwrap_or_else(|| panic!("an issued certificate of the institute in {list}"));
    let number = current["number"].as_str().unwrap().to_owned();
    let token = current["token"].as_str().unwrap().to_owned();
    let amend = format!("/api/v1/certificates/{number}/amend");
    let body = |changes: Value, password: &str| serde_json::json!({"reason": "出厂编号更正 / serial number corrected", "changes": changes, "password": password});
    let serial = serde_json::json!({"item": {"serial": "EB-2201-A"}});
    // Refused: a part that is not amendable (results are corrected on the record), a
    // wrong type, a wrong password.
    let (status, e) = app
        .post_as(&approver, &amend, body(serde_json::json!({"number": "X"}), PASSWORD))
        .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["changes.number"].is_string(), "{e}");
    let (status, e) = app
        .post_as(&approver, &amend, body(serde_json::json!({"points": []}), PASSWORD))
        .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["changes.points"].is_string(), "{e}");
    let (status, e) = app
        .post_as(
            &approver,
            &amend,
            body(serde_json::json!({"calibrated_on": "yesterday"}), PASSWORD),
        )
        .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["changes.calibrated_on"].is_string(), "{e}");
    let (status, e) = app.post_as(&approver, &amend, body(serial.clone(), "wrong")).await;
    assert_eq!(status, 422, "a wrong password signs nothing");
    assert!(e["error"]["fields"]["password"].is_string(), "{e}");
    // Not the issuing laboratory's technician or approver: a reviewer is refused, an
    // enterprise sees nothing.
    let reviewer = app.user_in("reviewer", INSTITUTE).await;
    let (status, _) = app.post_as(&reviewer, &amend, body(serial.clone(), PASSWORD)).await;
    assert_eq!(status, 403);
    let holder = app.user("enterprise").await;
    // The enterprise that is not this certificate's customer.
    let a = app.organisation_id(ENTERPRISE_A).await;
    let stranger = if current["customer_id"] == a {
        crate::support::ENTERPRISE_B
    } else {
        ENTERPRISE_A
    };
    let other_customer = app.user_in("enterprise", stranger).await;
    let (status, _) = app
        .post_as(&other_customer, &amend, body(serial.clone(), PASSWORD))
        .await;
    assert_eq!(status, 404);
    let before = app.count("certificates").await;
    // Issue 20, defect 2: one approver amended a certificate and it was issued at once,
    // with the old revision's signatures. Now the amendment opens revision 2 of the record,
    // drafted by someone who holds every role of the laboratory.
    let drafter = app.user_in("technician,reviewer,approver", INSTITUTE).await;
    let (status, opened) = app.post_as(&drafter, &amend, body(serial, PASSWORD)).await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(
        (opened["revision"].as_i64(), opened["status"].as_str()),
        (Some(2), Some("draft"))
    );
    assert_eq!(opened["amends"], number.as_str());
    assert_eq!(app.count("certificates").await, before, "nothing is issued yet");
    let (_, v) = app.get_json(&format!("/api/v1/verify/{token}")).await;
    assert_eq!(
        v["status"], "issued",
        "the amended certificate stays current until then"
    );
    // The drafter signs as performed, and may then neither review nor approve it.
    let sign = format!("/api/v1/records/{}/sign", opened["record_id"]);
    let password = serde_json::json!({"password": PASSWORD});
    let (status, s) = app.post_as(&drafter, &sign, password.clone()).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("recorded")), "{s}");
    let (status, e) = app.post_as(&drafter, &sign, password.clone()).await;
    assert_eq!(status, 422, "the drafter does not review the amendment: {e}");
    let (status, s) = app.post_as(&reviewer, &sign, password.clone()).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("reviewed")), "{s}");
    let (status, e) = app.post_as(&drafter, &sign, password.clone()).await;
    assert_eq!(status, 422, "the drafter does not approve the amendment: {e}");
    let (status, s) = app.post_as(&approver, &sign, password).await;
    assert_eq!((status, s["status"].as_str()), (200, Some("issued")), "{s}");
    assert_eq!(app.count("certificates").await, before + 1);
    let new_number = s["certificate"].as_str().unwrap().to_owned();
    assert_ne!(new_number, number);
    let (_, new) = app
        .get_as(&approver, &format!("/api/v1/certificates/{new_number}"))
        .await;
    assert_eq!(new["revision"], current["revision"].as_i64().unwrap() + 1);
    assert_eq!(new["replaces"], number.as_str());
    let detail = new.clone();
    assert_eq!(detail["content"]["item"]["serial"], "EB-2201-A");
    assert_eq!(
        detail["content"]["amendment_reason"],
        "出厂编号更正 / serial number corrected"
    );
    // Only the signatures made over revision 2's content: the drafter's, the reviewer's and
    // the approver's, all over one digest; none of revision 1's.
    let signatures = detail["content"]["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 3, "{signatures:?}");
    let roles: Vec<&str> = signatures.iter().map(|g| g["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["technician", "reviewer", "approver"]);
    assert!(signatures
        .iter()
        .all(|g| g["content_sha256"] == signatures[0]["content_sha256"]));
    let (_, old) = app.get_as(&approver, &format!("/api/v1/certificates/{number}")).await;
    assert!(old["content"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["content_sha256"] != signatures[0]["content_sha256"]));
    let (_, v) = app.get_json(&format!("/api/v1/verify/{token}")).await;
    assert_eq!(
        (v["status"].as_str(), v["superseded_by"].as_str()),
        (Some("superseded"), Some(new_number.as_str()))
    );
    // The amending certificate's DCC says what it replaces, and validates.
    let res = approver
        .api(app.client.get(format!("/api/v1/certificates/{new_number}/dcc")))
        .dispatch()
        .await;
    let dcc = res.into_string().await.unwrap();
    assert!(dcc.contains(&format!(
        "<dcc:replacedUniqueIdentifier>{number}</dcc:replacedUniqueIdentifier>"
    )));
    crate::support::dcc_validates(dcc.as_bytes()).unwrap();
    // The superseded one can no longer be amended or withdrawn.
    let (status, _) = app
        .post_as(
            &approver,
            &amend,
            body(serde_json::json!({"method": "JJG 1036-2022"}), PASSWORD),
        )
        .await;
    assert_eq!(status, 409);

    // Withdrawal needs a reason; then the verification page says withdrawn.
    let withdraw_uri = format!("/api/v1/certificates/{new_number}/withdraw");
    let (status, e) = app
        .post_as(
            &approver,
            &withdraw_uri,
            serde_json::json!({"reason": " ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["reason"].is_string(), "{e}");
    let (status, w) = app
        .post_as(
            &approver,
            &withdraw_uri,
            serde_json::json!({"reason": "客户退回 / returned", "password": PASSWORD}),
        )
        .await;
    assert_eq!((status, w["status"].as_str()), (200, Some("withdrawn")), "{w}");
    let (_, v) = app
        .get_json(&format!("/api/v1/verify/{}", new["token"].as_str().unwrap()))
        .await;
    assert_eq!(
        (v["status"].as_str(), v["genuine"].as_bool()),
        (Some("withdrawn"), Some(true))
    );
    assert_eq!(app.events("certificate.withdraw").await, 1);

    // Key rotation: the institute's admin, not its approver; the old key stays.
    let rotate = format!("/api/v1/organisations/{lab}/keys/rotate");
    let (status, _) = app.post_as(&approver, &rotate, Value::Null).await;
    assert_eq!(status, 403);
    let (status, _) = app.post_as(&holder, &rotate, Value::Null).await;
    assert_eq!(status, 404);
    let admin = app.user("institute_admin").await;
    let (_, keys) = app.get_as(&admin, &format!("/api/v1/organisations/{lab}/keys")).await;
    let old_key = keys[0]["key_id"].as_str().unwrap().to_owned();
    let (status, r) = app.post_as(&admin, &rotate, Value::Null).await;
    assert_eq!(status, 200, "{r}");
    let new_key = r["key_id"].as_str().unwrap().to_owned();
    assert_ne!(new_key, old_key);
    let (_, keys) = app.get_as(&admin, &format!("/api/v1/organisations/{lab}/keys")).await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(keys
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["key_id"] == old_key.as_str() && k["retired_at"].is_string()));
    assert_eq!(app.events("certificate.key_rotate").await, 1);
    // What the old key signed still verifies; the next certificate is signed with the new key.
    let (_, v) = app.get_json(&format!("/api/v1/verify/{token}")).await;
    assert_eq!(v["genuine"], true, "{v}");
    let (list_status, list) = app.get_as(&approver, "/api/v1/certificates?limit=200").await;
    assert_eq!(list_status, 200);
    let still = list["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "issued" && c["lab_id"] == lab)
        .cloned()
        .expect("the institute's other demo certificate, still current");
    {
        let c = still;
        let n = c["number"].as_str().unwrap();
        let (status, opened) = app
            .post_as(
                &drafter,
                &format!("/api/v1/certificates/{n}/amend"),
                body(serde_json::json!({"method": "JJG 1036-2022 (2)"}), PASSWORD),
            )
            .await;
        assert_eq!(status, 201, "{opened}");
        let sign = format!("/api/v1/records/{}/sign", opened["record_id"]);
        let mut fresh = Value::Null;
        for u in [&drafter, &reviewer, &approver] {
            let (status, s) = app.post_as(u, &sign, serde_json::json!({"password": PASSWORD})).await;
            assert_eq!(status, 200, "{s}");
            fresh = s;
        }
        let key_of = app
            .scalar(&format!(
                "SELECT COUNT(*) AS n FROM certificates WHERE number = '{}' AND key_id = '{new_key}'",
                fresh["certificate"].as_str().unwrap()
            ))
            .await;
        assert_eq!(key_of, 1, "signed with the new key");
    }
}

/// Issue 20: when the server's public address is this machine, the QR code of every
/// certificate it issues opens nowhere for a customer. The issuing laboratory's
/// administrator is told so on each certificate's page (in both languages); nobody else
/// is, and a server with a public address tells nobody.
#[rocket::async_test]
async fn a_local_public_address_is_told_to_the_issuing_laboratory() {
    use rocket::http::Cookie;
    let app = TestApp::demo_with(|c| c.public_url = "http://localhost:8000".into()).await;
    let admin = app.user_in("institute_admin", metrocal::service::demo::CENTRE).await;
    let (_, l) = app.get_as(&admin, "/api/v1/certificates").await;
    let number = l["certificates"][0]["number"]
        .as_str()
        .expect("the demo's certificates")
        .to_owned();
    let page = |u: &TestUser, lang: &'static str| {
        let req = u
            .browser(app.client.get(format!("/certificates/{number}")))
            .cookie(Cookie::new("lang", lang));
        async move { req.dispatch().await.into_string().await.unwrap() }
    };
    let html = page(&admin, "zh-CN").await;
    assert!(html.contains("localhost:8000") && html.contains("二维码"), "{html}");
    let html = page(&admin, "en").await;
    assert!(html.contains("QR code and verification link"), "{html}");
    let approver = app.user_in("approver", metrocal::service::demo::CENTRE).await;
    assert!(!page(&approver, "en").await.contains("QR code and verification link"));
    // The test servers' own address is public: no warning.
    let app = TestApp::demo().await;
    let admin = app.user_in("institute_admin", metrocal::service::demo::CENTRE).await;
    let html = admin
        .browser(app.client.get(format!("/certificates/{number}")))
        .cookie(Cookie::new("lang", "en"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        html.contains(&number) && !html.contains("QR code and verification link"),
        "{html}"
    );
}

/// Each kind of document the demo issues, as an auditor reads it (issue 20): the
/// calibration certificate and its amendment (revision 2), the verification certificate
/// and the verification result notice. Each PDF carries the ISO/IEC 17025:2017 §7.8
/// statements, the place, Beijing signature times and the number in groups; the
/// verification documents carry the regulation, 检定日期 and 合格 / 不合格; every DCC
/// validates against the PTB DCC 3.3.0 schema bundle.
#[rocket::async_test]
async fn every_kind_of_document_states_what_a_quality_manager_checks() {
    let app = TestApp::demo().await;
    let regulator = app.user("regulator").await;
    let (_, list) = app.get_as(&regulator, "/api/v1/certificates?limit=200").await;
    let all = list["certificates"].as_array().unwrap().clone();
    let kinds: Vec<(&str, i64)> = all
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["revision"].as_i64().unwrap()))
        .collect();
    for want in [
        ("calibration", 1),
        ("calibration", 2),
        ("verification", 1),
        ("verification_notice", 1),
    ] {
        assert!(kinds.contains(&want), "{want:?} in {kinds:?}");
    }
    for c in &all {
        let number = c["number"].as_str().unwrap();
        let kind = c["kind"].as_str().unwrap();
        let get = |file: &str| {
            regulator
                .api(app.client.get(format!("/api/v1/certificates/{number}/{file}")))
                .dispatch()
        };
        let pdf = get("pdf").await.into_bytes().await.unwrap();
        let text = crate::support::pdf_text(&pdf, false);
        let grouped = metrocal::domain::certificates::spoken_number(number);
        let mut needles = vec![
            "本证书的结果仅对所检定/校准的器具有效",
            "The results relate only to the item calibrated.",
            "不得部分复制本证书",
            "地点 Place",
            "(UTC+8)",
            grouped.as_str(),
        ];
        match kind {
            "verification" => needles.extend(["检定证书", "检定规程 Regulation", "检定日期", "合格 pass", "有效期至"]),
            "verification_notice" => {
                needles.extend(["检定结果通知书", "检定规程 Regulation", "检定日期", "不合格 fail"])
            }
            _ => needles.extend(["校准证书", "校准日期 Date of calibration"]),
        }
        if c["revision"] == 2 {
            needles.extend(["第 2 版", "本证书替代", "型号规格更正"]);
        }
        for needle in needles {
            assert!(
                text.contains(needle),
                "{number} ({kind}): missing {needle:?} in\n{text}"
            );
        }
        assert!(!text.contains(" UTC\n"), "{number}: a time in UTC");
        let xml = get("dcc").await.into_string().await.unwrap();
        if let Err(report) = crate::support::dcc_validates(xml.as_bytes()) {
            panic!("{number}: {report}");
        }
        assert!(
            xml.contains("The results relate only to the item calibrated."),
            "{number}"
        );
    }
}
