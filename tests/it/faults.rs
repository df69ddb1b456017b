//! Faults: the process killed with SIGKILL at random moments during a bulk import, while
//! certificates are being issued, and during a schedule run. After each kill the
//! database passes SQLite's integrity check, nothing is half-written (no partial
//! import, no certificate number without its PDF and DCC, no gap in a laboratory's
//! sequence), every issue the server answered 201 is there, and the audit chain
//! verifies.
//!
//! `FAULT_ROUNDS` sets the kills per phase (default 8, so that CI stays quick; the
//! figures in docs/benchmarks.md are from `FAULT_ROUNDS=100`). SQLite only: the
//! integrity check and the single file are what a kill can damage there; PostgreSQL's
//! own crash recovery is not ours to test.

use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn rounds() -> usize {
    std::env::var("FAULT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(8)
}

fn metrocal(url: &str, data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_metrocal"));
    c.env("DATABASE_URL", url)
        .env("METROCAL_DATA_DIR", data)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn ok(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Kills the child with SIGKILL after `after` and reaps it.
fn kill_after(mut child: Child, after: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return false; // finished first
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();
    !finished
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// What must hold after every kill.
async fn consistent(url: &str, data: &Path) {
    let db = metrocal::store::connect(url).await.unwrap();
    let check: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(check, "ok");
    // No certificate without its files; no gap and no duplicate in any sequence.
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM certificates WHERE pdf IS NULL OR pdf_sha256 IS NULL OR dcc = '' OR signature = ''"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM certificate_sequences s WHERE s.last_seq <> \
             (SELECT COUNT(*) FROM certificates c WHERE c.lab_id = s.lab_id AND c.year = s.year)"
        )
        .await,
        0
    );
    db.close().await.ok();
    let mut c = metrocal(url, data);
    c.args(["audit", "verify"]);
    ok(c);
}

struct Server {
    child: Child,
    port: u16,
}

fn serve(url: &str, data: &Path) -> Server {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = metrocal(url, data);
    c.arg("serve")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1");
    let child = c.spawn().unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(120), "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, port }
}

/// A POST with a JSON body and a bearer token; the status, or None when the connection
/// broke (the server was killed).
fn post(port: u16, path: &str, token: &str, body: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    Some((status, out))
}

#[rocket::async_test]
async fn kill_nine_leaves_a_consistent_database() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        return; // SQLite only (see the module's note)
    }
    let n = rounds();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut rng = rand::rng();

    // 1. A bulk import of 3,000 standards (29,000 calibrations), killed part-way.
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("import.db").display());
    let set = dir.path().join("set");
    let mut c = metrocal(&url, &data);
    c.args(["generate", "--standards", "3000", "--out", set.to_str().unwrap()]);
    ok(c);
    let mut c = metrocal(&url, &data);
    c.arg("migrate");
    ok(c);
    // How long a whole import takes here, on a scratch copy, to aim the kills.
    let scratch = format!("sqlite://{}?mode=rwc", dir.path().join("scratch.db").display());
    let mut c = metrocal(&scratch, &data);
    c.args(["import", set.to_str().unwrap()]);
    let started = Instant::now();
    ok(c);
    let whole = started.elapsed().as_millis() as u64;
    let db = metrocal::store::connect(&scratch).await.unwrap();
    let full = scalar(&db, "SELECT COUNT(*) FROM standards").await;
    db.close().await.ok();
    let mut killed = 0;
    for _ in 0..n {
        let mut c = metrocal(&url, &data);
        c.args(["import", set.to_str().unwrap()]);
        if kill_after(
            c.spawn().unwrap(),
            Duration::from_millis(rng.random_range(0..whole.max(50))),
        ) {
            killed += 1;
        }
        consistent(&url, &data).await;
        let db = metrocal::store::connect(&url).await.unwrap();
        let now = scalar(&db, "SELECT COUNT(*) FROM standards").await;
        db.close().await.ok();
        assert!(now == 0 || now == full, "a partial import: {now} of {full} standards");
    }
    assert!(killed > 0, "no import was killed part-way");

    // 2. The daily schedule run over them, killed part-way; a later run completes.
    let mut c = metrocal(&url, &data);
    c.args(["import", set.to_str().unwrap()]);
    ok(c);
    // How long a whole run takes here, to aim the kills inside it.
    let mut c = metrocal(&url, &data);
    c.args(["schedule", "run", "--date", "2026-11-30"]);
    let started = Instant::now();
    ok(c);
    let whole_run = started.elapsed().as_millis() as u64;
    let mut runs_killed = 0;
    for round in 0..n {
        let mut c = metrocal(&url, &data);
        c.args(["schedule", "run", "--date", &format!("2026-12-{:02}", 1 + round % 28)]);
        if kill_after(
            c.spawn().unwrap(),
            Duration::from_millis(rng.random_range(0..whole_run.max(50))),
        ) {
            runs_killed += 1;
        }
        consistent(&url, &data).await;
    }
    let mut c = metrocal(&url, &data);
    c.args(["schedule", "run", "--date", "2026-12-30"]);
    ok(c);
    consistent(&url, &data).await;

    // 3. Certificates issued through the API (each an amendment of the centre's current
    //    calibration certificate, signed with the approver's password) while the server
    //    is killed.
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("issue.db").display());
    let s = serve(&url, &data); // the first start loads the demo data set
    kill_after(s.child, Duration::ZERO);
    let mut c = metrocal(&url, &data);
    c.args([
        "user",
        "add",
        "--email",
        "approver@faults.example",
        "--name",
        "Approver",
        "--org",
        metrocal::service::demo::CENTRE,
        "--role",
        "approver",
        "--password-stdin",
    ])
    .stdin(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let mut c = metrocal(&url, &data);
    c.args(["token", "create", "--email", "approver@faults.example"]);
    let token = ok(c).trim().to_owned();
    let mut answered: Vec<String> = Vec::new();
    let mut servers_killed = 0;
    // Each attempt changes the method differently: an issue whose answer the kill cut
    // off is committed, and the same change again would change nothing.
    let mut attempt = 0;
    for _ in 0..n {
        let s = serve(&url, &data);
        let port = s.port;
        let stop = Instant::now() + Duration::from_millis(rng.random_range(0..1500));
        let killer = std::thread::spawn(move || {
            let wait = stop.saturating_duration_since(Instant::now());
            kill_after(s.child, wait)
        });
        let db = metrocal::store::connect(&url).await.unwrap();
        while Instant::now() < stop {
            let current: String = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT number FROM certificates WHERE kind = 'calibration' AND status = 'issued' \
                     ORDER BY id DESC LIMIT 1",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index(0)
                .unwrap();
            let body = format!(
                "{{\"reason\": \"fault test\", \"changes\": {{\"method\": \"JJG 34-2022 ({})\"}}, \
                 \"password\": \"correct horse battery staple\"}}",
                attempt
            );
            attempt += 1;
            match post(port, &format!("/api/v1/certificates/{current}/amend"), &token, &body) {
                Some((201, text)) => {
                    let number = text
                        .split("\"number\":\"")
                        .nth(1)
                        .and_then(|t| t.split('"').next())
                        .unwrap()
                        .to_owned();
                    answered.push(number);
                }
                Some((status, text)) if status < 500 && status != 409 => panic!("{status}: {text}"),
                _ => {}
            }
        }
        db.close().await.ok();
        if killer.join().unwrap() {
            servers_killed += 1;
        }
        consistent(&url, &data).await;
        let db = metrocal::store::connect(&url).await.unwrap();
        for number in &answered {
            assert_eq!(
                scalar(
                    &db,
                    &format!("SELECT COUNT(*) FROM certificates WHERE number = '{number}'")
                )
                .await,
                1,
                "{number} was answered 201"
            );
        }
        db.close().await.ok();
    }
    assert!(!answered.is_empty(), "no certificate was issued between the kills");
    eprintln!(
        "faults: {n} rounds each; imports killed part-way {killed}, schedule runs killed {runs_killed}, \
         servers killed {servers_killed} with {} certificates answered 201, all present",
        answered.len()
    );
}
