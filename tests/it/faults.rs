//! Faults: the process killed with SIGKILL at random moments during a bulk import,
//! during a schedule run, and while records are amended, signed, reviewed and approved
//! into certificates. After each kill the database passes SQLite's integrity check,
//! nothing is half-written (no partial import, no certificate number without its PDF and
//! DCC, no gap in a laboratory's sequence, no record approved without its certificate),
//! every approval the server answered is there with its certificate, and the audit chain
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

    // 3. The centre's calibration record amended, signed, reviewed and approved through
    //    the API, over and over, by three people each with their password, while the
    //    server is killed: an approval and its certificate are one transaction, so no
    //    record is ever approved without its certificate (issue 20, defect 1).
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("issue.db").display());
    let s = serve(&url, &data); // the first start loads the demo data set
    kill_after(s.child, Duration::ZERO);
    let mut tokens = Vec::new();
    for role in ["technician", "reviewer", "approver"] {
        let email = format!("{role}@faults.example");
        let mut c = metrocal(&url, &data);
        c.args([
            "user",
            "add",
            "--email",
            &email,
            "--name",
            role,
            "--org",
            metrocal::service::demo::CENTRE,
            "--role",
            role,
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
        c.args(["token", "create", "--email", &email]);
        tokens.push(ok(c).trim().to_owned());
    }
    let db = metrocal::store::connect(&url).await.unwrap();
    let record = scalar(
        &db,
        "SELECT r.id FROM calibration_records r JOIN certificates c ON c.id = r.certificate_id \
         WHERE c.kind = 'calibration' AND c.status = 'issued' ORDER BY r.id LIMIT 1",
    )
    .await;
    db.close().await.ok();
    let password = "\"password\": \"correct horse battery staple\"";
    let mut answered: Vec<String> = Vec::new();
    let mut servers_killed = 0;
    // Each amendment changes the method differently, so that each is a real change.
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
            let status: String = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT status FROM calibration_records WHERE id = {record}"),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index(0)
                .unwrap();
            // The record's next step, by the one whose step it is.
            let (path, token, body) = match status.as_str() {
                "issued" => {
                    let current: String = db
                        .query_one_raw(Statement::from_string(
                            db.get_database_backend(),
                            format!(
                                "SELECT c.number FROM certificates c JOIN calibration_records r \
                                 ON r.certificate_id = c.id WHERE r.id = {record}"
                            ),
                        ))
                        .await
                        .unwrap()
                        .unwrap()
                        .try_get_by_index(0)
                        .unwrap();
                    attempt += 1;
                    (
                        format!("/api/v1/certificates/{current}/amend"),
                        &tokens[0],
                        format!(
                            "{{\"reason\": \"fault test\", \"changes\": {{\"method\": \"JJG 34-2022 ({attempt})\"}}, {password}}}"
                        ),
                    )
                }
                "draft" => (
                    format!("/api/v1/records/{record}/sign"),
                    &tokens[0],
                    format!("{{{password}}}"),
                ),
                "recorded" => (
                    format!("/api/v1/records/{record}/sign"),
                    &tokens[1],
                    format!("{{{password}}}"),
                ),
                "reviewed" => (
                    format!("/api/v1/records/{record}/sign"),
                    &tokens[2],
                    format!("{{{password}}}"),
                ),
                other => panic!("the record stands {other}"),
            };
            match post(port, &path, token, &body) {
                Some((200, text)) if text.contains("\"status\":\"issued\"") => {
                    let number = text
                        .split("\"certificate\":\"")
                        .nth(1)
                        .and_then(|t| t.split('"').next())
                        .unwrap()
                        .to_owned();
                    answered.push(number);
                }
                Some((status, text)) if status < 500 && status != 409 && !(200..300).contains(&status) => {
                    panic!("{status}: {text}")
                }
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
                "{number} was answered as issued"
            );
        }
        // No approval without its certificate; every issued record has one, current.
        assert_eq!(
            scalar(
                &db,
                "SELECT COUNT(*) FROM calibration_records WHERE status = 'approved'"
            )
            .await,
            0
        );
        assert_eq!(
            scalar(
                &db,
                "SELECT COUNT(*) FROM calibration_records r WHERE r.status = 'issued' AND NOT EXISTS \
                 (SELECT 1 FROM certificates c WHERE c.id = r.certificate_id AND c.status = 'issued')"
            )
            .await,
            0
        );
        db.close().await.ok();
    }
    assert!(!answered.is_empty(), "no amendment was approved between the kills");
    eprintln!(
        "faults: {n} rounds each; imports killed part-way {killed}, schedule runs killed {runs_killed}, \
         servers killed {servers_killed} with {} amendments answered approved, all present",
        answered.len()
    );
}
