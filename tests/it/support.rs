//! Test harness: one app and one database per test.

use chrono::NaiveDate;
use metrocal::config::AppConfig;
use rocket::http::{ContentType, Cookie, Header};
use rocket::local::asynchronous::{Client, LocalRequest};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::OnceCell;

/// The date the demo data set describes; tests run "on" it so that expiry is stable.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

pub struct TestApp {
    pub client: Client,
    /// The configuration the app was started with (a second instance uses it too).
    pub config: AppConfig,
    pub db: DatabaseConnection,
    /// The database's URL, for the command line.
    pub url: String,
    dir: tempfile::TempDir,
}

static PG_READY: OnceCell<()> = OnceCell::const_new();

/// A fresh database URL: a temp SQLite file, or a new schema on TEST_DATABASE_URL.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let admin = metrocal::store::connect(&base)
                .await
                .expect("connect TEST_DATABASE_URL");
            PG_READY
                .get_or_init(|| async {
                    // Extensions are per database; install pg_trgm once, in public, so that
                    // every test schema (search_path = schema, public) sees its operators.
                    admin
                        .execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
                        .await
                        .expect("create pg_trgm");
                })
                .await;
            let schema = format!("it_{}", rand_suffix());
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create schema");
            admin.close().await.ok();
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-c%20search_path%3D{schema}%2Cpublic")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("metrocal.db").display()),
    }
}

/// An empty database as on a new machine, for a restore: on PostgreSQL a new database
/// `name` on TEST_DATABASE_URL's server (with the test app's connection options, so that
/// its schema is found), on SQLite the file `name.db` in `dir`. [`drop_new_database`]
/// removes it.
pub async fn new_database(app: &TestApp, dir: &std::path::Path, name: &str) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let admin = metrocal::store::connect(&base).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            admin.close().await.ok();
            let (server, _) = base.rsplit_once('/').unwrap();
            let options = app.url.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default();
            format!("{server}/{name}?{options}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display()),
    }
}

/// Removes a database made by [`new_database`] on PostgreSQL (a SQLite file goes with
/// its directory).
pub async fn drop_new_database(name: &str) {
    if let Ok(base) = std::env::var("TEST_DATABASE_URL") {
        if !base.is_empty() {
            let admin = metrocal::store::connect(&base).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .unwrap();
        }
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:04x}", n, std::process::id() & 0xffff)
}

impl TestApp {
    /// The app with the demo data set loaded (201 standards).
    pub async fn demo() -> TestApp {
        Self::start(true).await
    }

    /// The app with reference data only.
    pub async fn empty() -> TestApp {
        Self::start(false).await
    }

    async fn start(demo_data: bool) -> TestApp {
        Self::start_with(demo_data, |_| {}).await
    }

    /// The app with the demo data set, configured by `adjust` first.
    pub async fn demo_with(adjust: impl FnOnce(&mut AppConfig)) -> TestApp {
        Self::start_with(true, adjust).await
    }

    async fn start_with(demo_data: bool, adjust: impl FnOnce(&mut AppConfig)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database_url(dir.path()).await;
        let mut config = AppConfig {
            database_url: url.clone(),
            data_dir: dir.path().join("data"),
            demo_data,
            today: Some(today()),
            public_url: "https://metrocal.test".into(),
            ..Default::default()
        };
        adjust(&mut config);
        let rocket = metrocal::rocket(config.clone()).unwrap();
        // Untracked: each request carries exactly the cookies the test gives it, so
        // requests of different users in one test never share a session.
        let client = Client::untracked(rocket).await.expect("valid rocket");
        let db = metrocal::store::connect(&url).await.unwrap();
        TestApp {
            client,
            config,
            db,
            url,
            dir,
        }
    }

    /// The app's data directory (cookie key, demo account passwords).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// A user with one role, in an organisation that suits it (the demo data set's),
    /// with a browser session and an API token.
    pub async fn user(&self, role: &str) -> TestUser {
        let org = match role {
            "regulator" | "system_admin" => self.regulator_org().await,
            "institute_admin" | "scheduler" => INSTITUTE.to_owned(),
            "technician" | "reviewer" | "approver" => CENTRE.to_owned(),
            "enterprise" => ENTERPRISE_A.to_owned(),
            other => panic!("no such role {other}"),
        };
        self.user_in(role, &org).await
    }

    /// The demo province's regulator (created with the demo accounts).
    pub async fn regulator_org(&self) -> String {
        let (orgs, _) = metrocal::store::organisations::list_organisations(&self.db, Some("regulator"), None, 1, 0)
            .await
            .unwrap();
        orgs.first().expect("the demo data has a regulator").code.clone()
    }

    /// A user with `roles` (comma-separated) in the organisation with code `org`.
    pub async fn user_in(&self, roles: &str, org: &str) -> TestUser {
        use metrocal::service::{accounts, Actor};
        let n = NEXT_USER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!("{}-{n}@test.metrocal.example", roles.replace(',', "-"));
        let input = accounts::NewUser {
            email: email.clone(),
            name: format!("Test {roles} {n}"),
            organisation: org.to_owned(),
            roles: roles.to_owned(),
            password: PASSWORD.to_owned(),
            one_time: false,
        };
        let now = chrono::Utc::now();
        let user = accounts::add_user(&Actor::system("test"), &self.db, &input, now)
            .await
            .expect("add user");
        let (token, _) = accounts::create_token(&Actor::system("test"), &self.db, Some(&email), "test", None, now)
            .await
            .expect("create token");
        let session = self.session_for(user.id).await;
        TestUser {
            id: user.id,
            email,
            token,
            session,
        }
    }

    /// A new session for a user, written straight to the store (no password hashing:
    /// tests that exercise the login itself go through /login).
    pub async fn session_for(&self, user_id: i32) -> String {
        use metrocal::store::entities::session;
        use sea_orm::ActiveValue::Set;
        let secret = metrocal::service::random_hex(32);
        let now = chrono::Utc::now();
        metrocal::store::accounts::insert_session(
            &self.db,
            session::ActiveModel {
                user_id: Set(user_id),
                token_hash: Set(metrocal::service::accounts::sha256_hex(&secret)),
                client_addr: Set("192.0.2.1".into()),
                created_at: Set(now),
                last_seen_at: Set(now),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        secret
    }

    pub async fn organisation_id(&self, code: &str) -> i32 {
        metrocal::store::organisations::organisation_by_code(&self.db, code)
            .await
            .unwrap()
            .expect("organisation in the demo data")
            .id
    }

    /// The number of audit events with this action.
    pub async fn events(&self, action: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                self.db.get_database_backend(),
                match self.db.get_database_backend() {
                    sea_orm::DbBackend::Postgres => "SELECT COUNT(*) AS n FROM audit_events WHERE action = $1",
                    _ => "SELECT COUNT(*) AS n FROM audit_events WHERE action = ?",
                },
                [action.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    pub async fn get_json(&self, uri: &str) -> (u16, serde_json::Value) {
        let res = self.client.get(uri.to_owned()).dispatch().await;
        let status = res.status().code;
        let body = res.into_string().await.unwrap_or_default();
        (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
    }

    /// Runs the SQL a test sets its scene with; a failure names the statement.
    pub async fn sql(&self, text: &str) {
        use sea_orm::ConnectionTrait;
        self.db
            .execute_unprepared(text)
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }

    /// The whole number a query returns in its column `n`.
    pub async fn scalar(&self, query: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                query.to_owned(),
            ))
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .unwrap_or_else(|| panic!("{query}: no row"));
        row.try_get::<i64>("", "n")
            .or_else(|_| row.try_get::<i32>("", "n").map(i64::from))
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    /// The text a query returns in its column `t`.
    pub async fn scalar_text(&self, query: &str) -> String {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                query.to_owned(),
            ))
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .unwrap_or_else(|| panic!("{query}: no row"));
        row.try_get::<String>("", "t")
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    /// A GET of the API as `user`: the status and the JSON body (null when there is none).
    pub async fn get_as(&self, user: &TestUser, uri: &str) -> (u16, serde_json::Value) {
        let res = user.api(self.client.get(uri.to_owned())).dispatch().await;
        let status = res.status().code;
        (status, res.into_json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A POST of `body` as JSON to the API as `user`: the status and the JSON body.
    pub async fn post_as(&self, user: &TestUser, uri: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let res = user
            .api(self.client.post(uri.to_owned()))
            .header(rocket::http::ContentType::JSON)
            .body(body.to_string())
            .dispatch()
            .await;
        let status = res.status().code;
        (status, res.into_json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

/// The password every test user has.
pub const PASSWORD: &str = "correct horse battery staple";
/// The CSRF token test browsers hold (in the cookie, and echoed in forms).
pub const CSRF: &str = "test-csrf-token-0123456789abcdef";
/// Organisations of the demo data set.
pub const INSTITUTE: &str = "124400001JA7N1F563";
pub const CENTRE: &str = "1244010002E6HRCU7H";
pub const ENTERPRISE_A: &str = "91440100KMJQMXMD0D";
pub const ENTERPRISE_B: &str = "91440100AUX54FQR6X";

static NEXT_USER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// A test user: their session (for pages) and API token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i32,
    pub email: String,
    pub token: String,
    pub session: String,
}

impl TestUser {
    /// A page request in this user's browser: their session and CSRF cookies.
    pub fn browser<'c>(&self, req: LocalRequest<'c>) -> LocalRequest<'c> {
        req.private_cookie(Cookie::new("session", self.session.clone()))
            .private_cookie(Cookie::new("csrf", CSRF))
    }

    /// An API request with this user's bearer token.
    pub fn api<'c>(&self, req: LocalRequest<'c>) -> LocalRequest<'c> {
        req.header(Header::new("Authorization", format!("Bearer {}", self.token)))
            .header(ContentType::JSON)
    }
}

/// A browser that has not logged in, holding a CSRF cookie.
pub fn visitor(req: LocalRequest<'_>) -> LocalRequest<'_> {
    req.private_cookie(Cookie::new("csrf", CSRF))
}

/// A form body with the CSRF token and `fields`.
pub fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("csrf", CSRF);
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The demo data set's rows, read straight from calibration-data/demo: the oracle the
/// API's answers are checked against.
pub struct DemoCsv {
    pub organisations: Vec<csv::StringRecord>,
    pub standards: Vec<csv::StringRecord>,
    pub org_headers: csv::StringRecord,
    pub std_headers: csv::StringRecord,
}

impl DemoCsv {
    pub fn load() -> DemoCsv {
        let read = |name: &str| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration-data/demo/").to_owned() + name;
            let mut r = csv::Reader::from_path(path).unwrap();
            let headers = r.headers().unwrap().clone();
            (headers, r.records().map(|x| x.unwrap()).collect::<Vec<_>>())
        };
        let (org_headers, organisations) = read("organisations.csv");
        let (std_headers, standards) = read("standards.csv");
        DemoCsv {
            organisations,
            standards,
            org_headers,
            std_headers,
        }
    }

    pub fn std(&self, row: &csv::StringRecord, col: &str) -> String {
        let i = self.std_headers.iter().position(|h| h == col).unwrap();
        row[i].to_owned()
    }

    pub fn org_city(&self, code: &str) -> String {
        let ci = self.org_headers.iter().position(|h| h == "code").unwrap();
        let ct = self.org_headers.iter().position(|h| h == "city").unwrap();
        self.organisations
            .iter()
            .find(|o| &o[ci] == code)
            .map(|o| o[ct].to_owned())
            .unwrap()
    }
}

/// Every Rust source below `dir`, with its path, for the tests that read the code.
pub fn rust_sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// A certificate PDF's text, as `pdftotext` (poppler-utils) reads it; `layout` keeps the
/// columns in place.
pub fn pdf_text(pdf: &[u8], layout: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, pdf).unwrap();
    let mut cmd = std::process::Command::new("pdftotext");
    if layout {
        cmd.arg("-layout");
    }
    let out = cmd.arg(&path).arg("-").output().expect("pdftotext (poppler-utils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether a DCC validates against the PTB DCC 3.3.0 schema bundle: Err with the
/// validator's report when it does not.
pub fn dcc_validates(xml: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dcc.xml");
    std::fs::write(&path, xml).unwrap();
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/calibration-data/dcc/validate.sh"))
        .arg(&path)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
