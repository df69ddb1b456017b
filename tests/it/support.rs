//! Test harness: one app and one database per test.

use chrono::NaiveDate;
use metrocal::config::AppConfig;
use rocket::local::asynchronous::{Client, LocalRequest};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::net::SocketAddr;
use tokio::sync::OnceCell;

/// The date the demo data set describes; tests run "on" it so that expiry is stable.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

pub struct TestApp {
    pub client: Client,
    pub db: DatabaseConnection,
    _dir: tempfile::TempDir,
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

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:04x}", n, std::process::id() & 0xffff)
}

impl TestApp {
    /// The app with the demo data set loaded (200 standards).
    pub async fn demo() -> TestApp {
        Self::start(true).await
    }

    /// The app with reference data only.
    pub async fn empty() -> TestApp {
        Self::start(false).await
    }

    async fn start(demo_data: bool) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database_url(dir.path()).await;
        let config = AppConfig {
            database_url: url.clone(),
            data_dir: dir.path().join("data"),
            demo_data,
            today: Some(today()),
        };
        let rocket = metrocal::rocket(config).unwrap();
        let client = Client::tracked(rocket).await.expect("valid rocket");
        let db = metrocal::store::connect(&url).await.unwrap();
        TestApp { client, db, _dir: dir }
    }

    /// A request from the machine's own operator (the loopback interface).
    pub fn local<'c>(&self, req: LocalRequest<'c>) -> LocalRequest<'c> {
        req.remote("127.0.0.1:50000".parse::<SocketAddr>().unwrap())
    }

    /// A request from elsewhere on the network.
    pub fn remote<'c>(&self, req: LocalRequest<'c>) -> LocalRequest<'c> {
        req.remote("203.0.113.7:50000".parse::<SocketAddr>().unwrap())
    }

    pub async fn get_json(&self, uri: &str) -> (u16, serde_json::Value) {
        let res = self.client.get(uri.to_owned()).dispatch().await;
        let status = res.status().code;
        let body = res.into_string().await.unwrap_or_default();
        (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
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
