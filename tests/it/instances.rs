//! Two app instances on one database (one SQLite file, or one PostgreSQL database), as
//! behind a load balancer: a change made through one is read at once through the other.
//! Instance A is `metrocal serve` in a process of its own, with a data directory of its
//! own; instance B is the app in this one. They share only what the operator gives every
//! instance: the database, the cookie secret and the key-encryption key
//! (docs/operations.md). Each has its own caches, keyed by the database's change
//! counters, so neither serves what the other has changed; a session made on one is
//! valid on the other; certificates issued through either are numbered in one sequence
//! and signed with the laboratory's one key.

use crate::support::{TestApp, INSTITUTE};
use rocket::local::asynchronous::Client;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// `metrocal serve` on the test app's database and data directory, in its own process.
struct Server {
    child: std::process::Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(app: &TestApp) -> Server {
    // The secrets B made for itself, given to A as an operator gives them to every
    // instance; A's data directory is its own.
    let secret = std::fs::read_to_string(app.config.data_dir.join("secret.key")).unwrap();
    let kek = std::fs::read_to_string(app.config.data_dir.join(metrocal::service::keys::KEK_FILE)).unwrap();
    serve_on(&app.url, secret.trim(), Some(kek.trim()))
}

/// `metrocal serve` on the database at `url`, with a data directory of its own, the
/// cookie secret `secret` and the key-encryption key `kek` (none: it makes its own, as a
/// single-machine install does).
fn serve_on(url: &str, secret: &str, kek: Option<&str>) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_metrocal"));
    cmd.arg("serve")
        .env("DATABASE_URL", url)
        .env("METROCAL_DATA_DIR", data.path())
        .env("ROCKET_SECRET_KEY", secret)
        .env_remove("METROCAL_KEY_ENCRYPTION_KEY")
        .env_remove("METROCAL_KEY_ENCRYPTION_KEY_FILE")
        .env("METROCAL_PUBLIC_URL", "https://metrocal.test")
        .env("METROCAL_TODAY", crate::support::today().to_string())
        .env("METROCAL_DEMO_DATA", "false")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null());
    if let Some(kek) = kek {
        cmd.env("METROCAL_KEY_ENCRYPTION_KEY", kek);
    }
    let child = cmd.spawn().expect("start metrocal serve");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(120), "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        port,
        _data: data,
    }
}

/// A GET to instance A with a raw Cookie header: the status and the response.
fn get_with_cookie(server: &Server, path: &str, cookie: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out)
}

/// A request with a JSON body and a bearer token to instance A: the status and answer.
fn send(server: &Server, method: &str, path: &str, token: &str, body: &Value) -> (u16, String) {
    try_send(server.port, method, path, token, body).expect("instance A answers")
}

/// The same, or None when the connection broke (the instance was killed).
fn try_send(port: u16, method: &str, path: &str, token: &str, body: &Value) -> Option<(u16, String)> {
    let body = body.to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    Some((status, out))
}

async fn get(client: &Client, user: &crate::support::TestUser, uri: &str) -> Value {
    let res = user.api(client.get(uri.to_owned())).dispatch().await;
    assert_eq!(res.status().code, 200, "{uri}");
    res.into_json().await.unwrap()
}

#[rocket::async_test]
async fn a_rename_through_one_instance_is_in_the_others_register_at_once() {
    let a = TestApp::demo().await;
    let server = serve(&a);
    let b = &a.client;
    let regulator = a.user("regulator").await;
    let institute = a.organisation_id(INSTITUTE).await;
    let list = format!("/api/v1/standards?owner={institute}&per_page=200");
    // B has the page in its cache.
    let before = get(b, &regulator, &list).await;
    let id = before["items"][0]["id"].as_i64().unwrap();
    assert_eq!(get(b, &regulator, &list).await, before, "served again as it was");
    // Renamed through A...
    let input = metrocal::service::standards::edit_form(&metrocal::service::Actor::system("test"), &a.db, id as i32)
        .await
        .unwrap();
    let mut body = json!({});
    for (k, v) in input.entries() {
        body[k] = json!(v);
    }
    body["name_zh"] = json!("更名后的计量标准装置");
    let (status, answer) = send(
        &server,
        "PUT",
        &format!("/api/v1/standards/{id}"),
        &regulator.token,
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    // ...is on B's very next page, and in its search.
    let after = get(b, &regulator, &list).await;
    let row = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap();
    assert_eq!(row["name_zh"], "更名后的计量标准装置");
    let found = get(b, &regulator, "/api/v1/standards?q=%E6%9B%B4%E5%90%8D%E5%90%8E").await;
    assert_eq!(found["total"], 1, "{found}");
}

#[rocket::async_test]
async fn a_work_order_opened_through_one_instance_leaves_the_others_plan_at_once() {
    let a = TestApp::demo().await;
    let server = serve(&a);
    let b = &a.client;
    let regulator = a.user("regulator").await;
    // The day's due items, as the daily run records them.
    metrocal::service::schedule::run_daily(
        &metrocal::service::Actor::system("test"),
        &a.db,
        crate::support::today(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let plan = "/api/v1/plan?weeks=26&start=2026-11-30";
    let before = get(b, &regulator, plan).await;
    assert_eq!(get(b, &regulator, plan).await, before, "B's plan is cached");
    let item = before["planned"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["lab_id"].is_i64())
        .unwrap_or_else(|| panic!("the plan books an item at a laboratory: {before}"))
        .clone();
    let lab_code =
        a.db.query_one_raw(sea_orm::Statement::from_string(
            a.db.get_database_backend(),
            format!("SELECT code FROM organisations WHERE id = {}", item["lab_id"]),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "code")
        .unwrap();
    let scheduler = a.user_in("scheduler", &lab_code).await;
    let (status, answer) = send(
        &server,
        "POST",
        "/api/v1/work-orders",
        &scheduler.token,
        &json!({"item_kind": item["item_kind"], "item_id": item["item_id"].to_string(), "planned_on": item["planned_on"]}),
    );
    assert_eq!(status, 201, "{answer}");
    let after = get(b, &regulator, plan).await;
    assert_eq!(
        after["items"].as_u64().unwrap() + 1,
        before["items"].as_u64().unwrap(),
        "the item with an open work order is no longer planned, on B too"
    );
    assert!(!after["planned"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["item_kind"] == item["item_kind"] && i["item_id"] == item["item_id"]));
}

#[rocket::async_test]
async fn a_session_made_on_one_instance_is_valid_on_the_other() {
    let a = TestApp::demo().await;
    let server = serve(&a);
    let user = a.user("scheduler").await;
    // Log in through B, as a browser does.
    let res = crate::support::visitor(a.client.post("/login"))
        .header(rocket::http::ContentType::Form)
        .body(crate::support::form(&[
            ("email", &user.email),
            ("password", crate::support::PASSWORD),
        ]))
        .dispatch()
        .await;
    assert_eq!(res.status().code, 303, "logged in");
    let cookie = res
        .headers()
        .get("Set-Cookie")
        .find(|c| c.starts_with("session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("a session cookie");
    // The next request lands on A: the same session, no login page.
    let (status, page) = get_with_cookie(&server, "/work-orders", &cookie);
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("action=\"/login\""), "A asked to log in again");
    // Without it, A sends the browser to log in.
    let (status, _) = get_with_cookie(&server, "/work-orders", "session=forged");
    assert_eq!(status, 303);
}

#[rocket::async_test]
async fn certificates_issued_through_either_instance_are_one_sequence_under_one_key() {
    use crate::records::{gauge_record, in_calibration, view};
    let a = TestApp::demo().await;
    let server = serve(&a);
    let technician = a.user_in("technician", INSTITUTE).await;
    let reviewer = a.user_in("reviewer", INSTITUTE).await;
    let approver = a.user_in("approver", INSTITUTE).await;
    let lab = a.organisation_id(INSTITUTE).await;
    let mut numbers = Vec::new();
    for i in 0..4 {
        let (standard, wo) = in_calibration(&a, &format!("TWO-{i}")).await;
        let record = gauge_record(&a, &technician, wo, standard, json!({})).await;
        let sign = format!("/api/v1/records/{record}/sign");
        let password = json!({"password": crate::support::PASSWORD});
        for u in [&technician, &reviewer] {
            let (status, s) = a.post_as(u, &sign, password.clone()).await;
            assert_eq!(status, 200, "{s}");
        }
        // The approval, which issues the certificate, alternately through A and B.
        if i % 2 == 0 {
            let (status, s) = send(&server, "POST", &sign, &approver.token, &password);
            assert_eq!(status, 200, "{s}");
        } else {
            let (status, s) = a.post_as(&approver, &sign, password.clone()).await;
            assert_eq!(status, 200, "{s}");
        }
        numbers.push(
            view(&a, &approver, record).await["certificate"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // One sequence: the numbers' serials follow each other.
    let serials: Vec<u32> = numbers
        .iter()
        .map(|n| n.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    for w in serials.windows(2) {
        assert_eq!(w[1], w[0] + 1, "{numbers:?}");
    }
    // One key of the laboratory signed them all, and each verifies through either.
    assert_eq!(
        a.scalar(&format!(
            "SELECT COUNT(*) AS n FROM lab_keys WHERE lab_id = {lab} AND retired_at IS NULL"
        ))
        .await,
        1
    );
    let keys = a
        .scalar(&format!(
            "SELECT COUNT(DISTINCT key_id) AS n FROM certificates WHERE lab_id = {lab} AND number IN ('{}')",
            numbers.join("','")
        ))
        .await;
    assert_eq!(keys, 1);
    for n in &numbers {
        // Through A, by the token of its QR code; through B, the DCC file itself.
        let token = a
            .scalar_text(&format!("SELECT token AS t FROM certificates WHERE number = '{n}'"))
            .await;
        let (status, answer) = send(
            &server,
            "GET",
            &format!("/api/v1/verify/{token}"),
            &approver.token,
            &json!({}),
        );
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains("\"genuine\":true"), "{n} through A: {answer}");
        let dcc = approver
            .api(a.client.get(format!("/api/v1/certificates/{n}/dcc")))
            .dispatch()
            .await
            .into_bytes()
            .await
            .unwrap();
        let verdict = metrocal::service::certificates::verify_file(&a.db, &dcc).await.unwrap();
        assert!(verdict.genuine, "{n} through B: {}", verdict.reason);
    }
}

/// Two instances started together run the day's job once: each checks, under the job's
/// database lock, whether the day's run has finished (issue 22).
#[rocket::async_test]
async fn two_instances_started_together_run_the_days_job_once() {
    let a = TestApp::demo().await;
    let before = a.count("job_runs").await;
    let (one, two) = (
        metrocal::store::connect(&a.url).await.unwrap(),
        metrocal::store::connect(&a.url).await.unwrap(),
    );
    let day = crate::support::today();
    let now = chrono::Utc::now();
    let (x, y) = tokio::join!(
        metrocal::service::schedule::run_if_due(&one, day, now),
        metrocal::service::schedule::run_if_due(&two, day, now)
    );
    let ran = [x.unwrap(), y.unwrap()].iter().filter(|r| r.is_some()).count();
    assert_eq!(ran, 1, "one of the two ran it");
    assert_eq!(a.count("job_runs").await, before + 1);
    assert_eq!(
        a.scalar(&format!(
            "SELECT COUNT(*) AS n FROM job_runs WHERE job = 'schedule' AND on_date = '{day}'"
        ))
        .await,
        1
    );
}

/// Two instances started together on a new database both come up: the migrations run
/// once, one instance after the other (an advisory lock on PostgreSQL, the file's lock
/// on SQLite).
#[rocket::async_test]
async fn two_instances_started_together_migrate_one_after_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::fresh_database_url(dir.path()).await;
    let (one, two) = (
        metrocal::store::connect(&url).await.unwrap(),
        metrocal::store::connect(&url).await.unwrap(),
    );
    let (x, y) = tokio::join!(metrocal::store::migrate(&one), metrocal::store::migrate(&two));
    x.unwrap();
    y.unwrap();
    let tables = one
        .query_one_raw(sea_orm::Statement::from_string(
            one.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(tables as usize, migrations_count(), "each migration applied once");
}

fn migrations_count() -> usize {
    use migrations::MigratorTrait;
    migrations::Migrator::migrations().len()
}

/// A restore onto a fresh machine (issue 22). The backup carries the laboratories' keys
/// sealed, never the key-encryption key. A server on the restored database given that
/// key issues certificates with the laboratory's key of before, and they verify beside
/// those issued before the backup. A server without it says plainly that it cannot sign
/// and issues nothing, while every certificate still verifies (that needs only the
/// public keys).
#[rocket::async_test]
async fn a_restored_register_signs_only_with_its_key_encryption_key() {
    use crate::records::{gauge_record, in_calibration, view};
    let a = TestApp::demo().await;
    let technician = a.user_in("technician", INSTITUTE).await;
    let reviewer = a.user_in("reviewer", INSTITUTE).await;
    let approver = a.user_in("approver", INSTITUTE).await;
    let lab = a.organisation_id(INSTITUTE).await;
    let password = json!({"password": crate::support::PASSWORD});
    // One certificate issued before the backup, and two records awaiting approval.
    let mut records = Vec::new();
    for i in 0..3 {
        let (standard, wo) = in_calibration(&a, &format!("RESTORE-{i}")).await;
        let record = gauge_record(&a, &technician, wo, standard, json!({})).await;
        let sign = format!("/api/v1/records/{record}/sign");
        let signers = if i == 0 {
            vec![&technician, &reviewer, &approver]
        } else {
            vec![&technician, &reviewer]
        };
        for u in signers {
            let (status, s) = a.post_as(u, &sign, password.clone()).await;
            assert_eq!(status, 200, "{s}");
        }
        records.push(record);
    }
    let before = view(&a, &approver, records[0]).await["certificate"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_before = a
        .scalar_text(&format!(
            "SELECT key_id AS t FROM certificates WHERE number = '{before}'"
        ))
        .await;

    // `metrocal backup`, then `metrocal restore` into a database of a new machine.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrocal.backup");
    let run = |url: &str, args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_metrocal"))
            .args(args)
            .env("DATABASE_URL", url)
            .env("METROCAL_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    run(&a.url, &["backup", "--out", file.to_str().unwrap()]);
    let pg = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    let target_name = format!("restored_{}", std::process::id());
    let target = crate::support::new_database(&a, dir.path(), &target_name).await;
    run(&target, &["restore", file.to_str().unwrap()]);
    let restored = metrocal::store::connect(&target).await.unwrap();
    let certificates = |db: sea_orm::DatabaseConnection| async move {
        db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM certificates",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
    };
    let secret = std::fs::read_to_string(a.config.data_dir.join("secret.key")).unwrap();
    let kek = std::fs::read_to_string(a.config.data_dir.join(metrocal::service::keys::KEK_FILE)).unwrap();
    let genuine = |server: &Server, number: &str| {
        let number = number.to_owned();
        let port = server.port;
        let target = target.clone();
        async move {
            let db = metrocal::store::connect(&target).await.unwrap();
            let token: String = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT token FROM certificates WHERE number = '{number}'"),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get("", "token")
                .unwrap();
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                s,
                "GET /api/v1/verify/{token} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            assert!(out.contains("\"genuine\":true"), "{number}: {out}");
        }
    };

    // Without the key-encryption key: a single-machine server makes a key of its own; on
    // PostgreSQL, where every instance must be given one, it is given another.
    let stranger = metrocal::service::keys::Kek::generate().to_hex();
    let without = serve_on(&target, secret.trim(), pg.as_ref().map(|_| stranger.as_str()));
    let n = certificates(restored.clone()).await;
    let (status, answer) = send(
        &without,
        "POST",
        &format!("/api/v1/records/{}/sign", records[1]),
        &approver.token,
        &password,
    );
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer.contains("keys.cannot_sign") && answer.contains("METROCAL_KEY_ENCRYPTION_KEY"),
        "{answer}"
    );
    assert_eq!(certificates(restored.clone()).await, n, "nothing issued");
    genuine(&without, &before).await;
    drop(without);

    // With it: the restored server signs with the laboratory's key of before.
    let with = serve_on(&target, secret.trim(), Some(kek.trim()));
    for record in &records[1..] {
        let (status, answer) = send(
            &with,
            "POST",
            &format!("/api/v1/records/{record}/sign"),
            &approver.token,
            &password,
        );
        assert_eq!(status, 200, "{answer}");
    }
    assert_eq!(certificates(restored.clone()).await, n + 2);
    let db = &restored;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT number, key_id FROM certificates WHERE lab_id = {lab} ORDER BY id DESC LIMIT 2"),
        ))
        .await
        .unwrap();
    for row in rows {
        let number: String = row.try_get("", "number").unwrap();
        let key: String = row.try_get("", "key_id").unwrap();
        assert_eq!(key, key_before, "{number} is signed with the key of before");
        genuine(&with, &number).await;
    }
    genuine(&with, &before).await;
    drop(with);
    restored.close().await.ok();
    crate::support::drop_new_database(&target_name).await;
}

/// One instance killed (SIGKILL) at a random moment while it approves records into
/// certificates; the other carries on. Every approval the killed instance acknowledged
/// is there with its certificate, no certificate lacks its files, no record is approved
/// without one, the laboratory's numbers have no gap, and the audit chain verifies
/// (issue 22; on PostgreSQL and on one SQLite file).
#[rocket::async_test]
async fn killing_one_instance_mid_request_loses_nothing_it_acknowledged() {
    use crate::records::{gauge_record, in_calibration};
    use rand::Rng;
    let a = TestApp::demo().await;
    let technician = a.user_in("technician", INSTITUTE).await;
    let reviewer = a.user_in("reviewer", INSTITUTE).await;
    let approver = a.user_in("approver", INSTITUTE).await;
    let password = json!({"password": crate::support::PASSWORD});
    let mut pending = Vec::new();
    for i in 0..12 {
        let (standard, wo) = in_calibration(&a, &format!("KILL-{i}")).await;
        let record = gauge_record(&a, &technician, wo, standard, json!({})).await;
        for u in [&technician, &reviewer] {
            let (status, s) = a
                .post_as(u, &format!("/api/v1/records/{record}/sign"), password.clone())
                .await;
            assert_eq!(status, 200, "{s}");
        }
        pending.push(record);
    }
    let mut rng = rand::rng();
    let mut acknowledged: Vec<(i64, String)> = Vec::new();
    let mut kills = 0;
    while !pending.is_empty() && kills < 6 {
        let server = serve(&a);
        let port = server.port;
        let after = Duration::from_millis(rng.random_range(50..1200));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(after);
            drop(server); // SIGKILL
        });
        while let Some(&record) = pending.first() {
            match try_send(
                port,
                "POST",
                &format!("/api/v1/records/{record}/sign"),
                &approver.token,
                &password,
            ) {
                Some((200, answer)) => {
                    let v: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
                    acknowledged.push((record, v["certificate"].as_str().unwrap().to_owned()));
                    pending.remove(0);
                }
                Some((409, answer)) => {
                    // Approved by a request whose answer the kill swallowed.
                    let issued = a
                        .scalar(&format!(
                            "SELECT COUNT(*) AS n FROM calibration_records WHERE id = {record} AND status = 'issued'"
                        ))
                        .await;
                    assert_eq!(issued, 1, "{answer}");
                    pending.remove(0);
                }
                Some((status, answer)) => panic!("{status}: {answer}"),
                None => break,
            }
        }
        killer.join().unwrap();
        kills += 1;
    }
    eprintln!(
        "{kills} kills, {} approvals acknowledged by the instance killed, {} left to the other",
        acknowledged.len(),
        pending.len()
    );
    // The other instance approves what is left.
    for record in pending {
        let (status, s) = a
            .post_as(&approver, &format!("/api/v1/records/{record}/sign"), password.clone())
            .await;
        assert!(status == 200 || status == 409, "{status}: {s}");
    }
    for (record, number) in &acknowledged {
        assert_eq!(
            a.scalar(&format!(
                "SELECT COUNT(*) AS n FROM certificates c JOIN calibration_records r ON r.certificate_id = c.id \
                 WHERE r.id = {record} AND c.number = '{number}' AND r.status = 'issued'"
            ))
            .await,
            1,
            "{number}, acknowledged, is there"
        );
    }
    assert_eq!(
        a.scalar(
            "SELECT COUNT(*) AS n FROM certificates WHERE pdf IS NULL OR pdf_sha256 IS NULL OR dcc = '' OR signature = ''"
        )
        .await,
        0,
        "every certificate has its files"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) AS n FROM calibration_records WHERE status = 'issued' AND certificate_id IS NULL")
            .await,
        0
    );
    assert_eq!(
        a.scalar(
            "SELECT COUNT(*) AS n FROM certificate_sequences s WHERE s.last_seq <> \
             (SELECT COUNT(*) FROM certificates c WHERE c.lab_id = s.lab_id AND c.year = s.year)"
        )
        .await,
        0,
        "no gap in any laboratory's numbers"
    );
    assert_eq!(
        a.scalar("SELECT COUNT(*) AS n FROM calibration_records WHERE status = 'reviewed'")
            .await,
        0,
        "every record was approved, through one instance or the other"
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_metrocal"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &a.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}
