//! Timings of the schedules at province scale, for bench/schedule.sh: the daily run
//! (recomputing every due date and status, first with everything to write and then with
//! nothing changed), the recall list of the laboratory with the most items, and the
//! planner over 12 weeks (with the default capacities, and with every laboratory held
//! to 3 calibrations a week per category), through the service layer against the
//! database in DATABASE_URL.

use metrocal::service::{schedule, Actor};
use sea_orm::{ConnectionTrait, Statement};
use std::time::Instant;

#[path = "common.rs"]
mod common;
use common::summary;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[rocket::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names the generated province");
    let db = metrocal::store::connect(&url).await.unwrap();
    let operator = Actor::system("bench");
    let today = "2026-11-28".parse().unwrap();
    let backend = db.get_database_backend();
    println!("case\tmedian_ms\tmin_ms\tp90_ms\tmax_ms\truns");
    let mut first = Vec::new();
    let mut again = Vec::new();
    for _ in 0..3 {
        for table in ["due_items", "reminders"] {
            db.execute_raw(Statement::from_string(backend, format!("DELETE FROM {table}")))
                .await
                .unwrap();
        }
        let t = Instant::now();
        let s = schedule::run_daily(&operator, &db, today, chrono::Utc::now())
            .await
            .unwrap();
        first.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(s.changed, s.items);
        for _ in 0..3 {
            let t = Instant::now();
            let s = schedule::run_daily(&operator, &db, today, chrono::Utc::now())
                .await
                .unwrap();
            again.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(s.changed, 0);
        }
        eprintln!("{} items: {} due soon, {} overdue", s.items, s.due_soon, s.overdue);
    }
    summary("daily run, every item written", first);
    summary("daily run, nothing changed", again);
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT lab_id, COUNT(*) AS n FROM due_items WHERE lab_id IS NOT NULL \
             GROUP BY lab_id ORDER BY n DESC LIMIT 1"
                .to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let lab: i32 = row.try_get("", "lab_id").unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    eprintln!("largest laboratory: {lab} with {n} items");
    let system = Actor::system("bench");
    for (name, bucket) in [
        ("one lab's recall list, first page of 100", None),
        ("one lab's recall list, due next month", Some("next_month")),
    ] {
        let rq = schedule::RecallQuery {
            organisation: Some(lab.to_string()),
            bucket: bucket.map(str::to_owned),
            ..Default::default()
        };
        schedule::recall(&system, &db, &rq, today, false).await.unwrap();
        let mut ms = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let list = schedule::recall(&system, &db, &rq, today, false).await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(!list.rows.is_empty());
        }
        summary(name, ms);
    }
    let start = "2026-11-30".parse().unwrap();
    for (name, tight) in [
        ("planner, 12 weeks, default capacity", false),
        ("planner, 12 weeks, 3 a week per laboratory and category", true),
    ] {
        if tight {
            db.execute_raw(Statement::from_string(
                backend,
                "INSERT INTO lab_capacity (lab_id, category_code, per_week, updated_by, updated_at) \
                 SELECT DISTINCT owner_id, '*', 3, NULL, '2026-11-28T00:00:00Z' FROM standards"
                    .to_owned(),
            ))
            .await
            .unwrap();
        }
        let mut ms = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let p = metrocal::service::planner::plan(&system, &db, &Default::default(), start, 12)
                .await
                .unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(p.on_time + p.late + p.unplaced, p.items);
            if ms.len() == 1 {
                eprintln!(
                    "{name}: {} items, {} on time, {} late, {} not placed",
                    p.items, p.on_time, p.late, p.unplaced
                );
            }
        }
        summary(name, ms);
        if tight {
            db.execute_raw(Statement::from_string(backend, "DELETE FROM lab_capacity".to_owned()))
                .await
                .unwrap();
        }
    }
}
