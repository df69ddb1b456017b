//! Two app instances on one database (one SQLite file, or one PostgreSQL database), as
//! behind a load balancer: a change made through one is read at once through the other.
//! Instance A is `metrocal serve` in a process of its own; instance B is the app in this
//! one. Each has its own caches, keyed by the database's change counters, so neither
//! serves what the other has changed (a per-process counter cannot see the other).

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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(app: &TestApp) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_metrocal"))
        .arg("serve")
        .env("DATABASE_URL", &app.url)
        .env("METROCAL_DATA_DIR", &app.config.data_dir)
        .env("METROCAL_TODAY", crate::support::today().to_string())
        .env("METROCAL_DEMO_DATA", "false")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start metrocal serve");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(120), "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, port }
}

/// A request with a JSON body and a bearer token to instance A: the status and answer.
fn send(server: &Server, method: &str, path: &str, token: &str, body: &Value) -> (u16, String) {
    let body = body.to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out)
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
