//! Timings of issuing certificates, for bench/certificates.sh: one certificate (number,
//! snapshot, PDF, DCC, signature, in its transaction), re-downloading a PDF, and a batch
//! of 1,000, through the service layer against a fresh database in DATABASE_URL.

use metrocal::domain::certificates::Snapshot;
use metrocal::service::certificates::{download, issue, IssueRequest};
use metrocal::service::keys::KeyStore;
use metrocal::service::Actor;
use sea_orm::ConnectionTrait;
use std::time::Instant;

#[path = "common.rs"]
mod common;
use common::summary;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[rocket::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names an empty database");
    let keys_dir = std::env::var("KEYS_DIR").expect("KEYS_DIR names a folder for the signing keys");
    let db = metrocal::store::connect(&url).await.unwrap();
    metrocal::store::migrate(&db).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO organisations (code, kind, name_zh, name_en, region_id, created_at, updated_at) VALUES \
         ('124400001JA7N1F563', 'institute', '广东省计量测试研究院', 'Guangdong Institute of Metrology', NULL, \
          '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), \
         ('91440100KMJQMXMD0D', 'enterprise', '广州示例仪器有限公司', 'Guangzhou Example Instruments', NULL, \
          '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .await
    .unwrap();
    let keys = KeyStore::new(std::path::Path::new(&keys_dir));
    let actor = Actor::system("bench");
    let request = || IssueRequest {
        lab_id: 1,
        customer_id: 2,
        snapshot: Snapshot::example(),
        amends: None,
    };
    println!("case\tmedian_ms\tmin_ms\tp90_ms\tmax_ms\truns");
    // The first issue makes the key and loads the font and template.
    let first = issue(&actor, &db, &keys, request(), chrono::Utc::now()).await.unwrap();
    let mut one = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        issue(&actor, &db, &keys, request(), chrono::Utc::now()).await.unwrap();
        one.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    summary(
        "issue one certificate (number, snapshot, PDF, DCC, signature, audit)",
        one,
    );
    let mut again = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let (_, pdf) = download(&actor, &db, &first.number, "pdf").await.unwrap();
        again.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(pdf.starts_with(b"%PDF"));
    }
    summary("re-download a PDF", again);
    let mut batch = Vec::new();
    for _ in 0..2 {
        let t = Instant::now();
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (db, keys, actor) = (db.clone(), keys.clone(), actor.clone());
                let req = request();
                rocket::tokio::spawn(async move { issue(&actor, &db, &keys, req, chrono::Utc::now()).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        batch.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    summary("a batch of 1,000 certificates", batch);
}
