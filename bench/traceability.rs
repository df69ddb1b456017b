//! Timings of traceability at province scale, for bench/traceability.sh: the province
//! audit, the impact analysis of the provincial standard with the largest subtree, and
//! one instrument's chain, through the service layer against the database in
//! DATABASE_URL. Impact analysis is timed two ways: the recursive query the service
//! uses, and the same walk over every link held in memory (loading them not counted).

use metrocal::domain::traceability::{self as rules, Item, ItemKind, Link, Parent};
use metrocal::service::{traceability as svc, Actor};
use sea_orm::{ConnectionTrait, Statement};
use std::time::Instant;

#[path = "common.rs"]
mod common;
use common::summary;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn timed<T, F: std::future::Future<Output = T>>(runs: usize, mut f: impl FnMut(usize) -> F) -> Vec<f64> {
    f(0).await; // warm-up
    let mut ms = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(i + 1).await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms
}

#[rocket::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names the generated province");
    let db = metrocal::store::connect(&url).await.unwrap();
    let operator = Actor::system("bench");
    let as_of = "2026-11-28".parse().unwrap();
    let backend = db.get_database_backend();
    let one = |sql: &str| Statement::from_string(backend, sql.to_owned());
    // The provincial standard with the most calibrations made against it and below it:
    // the one with the most direct children is the root of the largest subtree.
    let row = db
        .query_one_raw(one(
            "SELECT c.reference_id AS id, COUNT(*) AS n FROM calibrations c JOIN standards s \
             ON s.id = c.reference_id WHERE c.reference_kind = 'standard' AND s.level = 'provincial_public' \
             GROUP BY c.reference_id ORDER BY n DESC, c.reference_id LIMIT 1",
        ))
        .await
        .unwrap()
        .expect("a provincial standard with children");
    let top: i32 = row.try_get("", "id").unwrap();
    let instruments: Vec<i32> = db
        .query_all_raw(one("SELECT id FROM instruments ORDER BY id"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("", "id").unwrap())
        .collect();
    println!("case\tmedian_ms\tmin_ms\tp90_ms\tmax_ms\truns");
    let cache = svc::ProvinceCache::default();
    let report = svc::audit(&operator, &db, &cache, as_of, Some(4.0)).await.unwrap();
    eprintln!(
        "audit: {} chains checked, {} broken; largest subtree at standard {top}",
        report.checked, report.broken
    );
    summary(
        "province audit, reading the register",
        timed(5, |_| async {
            cache.forget();
            svc::audit(&operator, &db, &cache, as_of, Some(4.0)).await.unwrap()
        })
        .await,
    );
    summary(
        "province audit, register unchanged since the last",
        timed(7, |_| async {
            svc::audit(&operator, &db, &cache, as_of, Some(4.0)).await.unwrap()
        })
        .await,
    );

    let impact = svc::impact(&operator, &db, &cache, "standard", top, "2023-11-28", None)
        .await
        .unwrap();
    eprintln!(
        "impact of standard {top} since 2023-11-28: {} calibrations, {} holders, depth up to {}",
        impact.affected.len(),
        impact.holders.len(),
        impact.affected.iter().map(|a| a.depth).max().unwrap_or(0)
    );
    summary(
        "impact, index read first (after a change) + report",
        timed(5, |_| async {
            cache.forget();
            svc::impact(&operator, &db, &cache, "standard", top, "2023-11-28", None)
                .await
                .unwrap()
        })
        .await,
    );
    summary(
        "impact, index kept + report",
        timed(15, |_| async {
            svc::impact(&operator, &db, &cache, "standard", top, "2023-11-28", None)
                .await
                .unwrap()
        })
        .await,
    );
    // The alternative measured before deciding: a recursive query for the subtree's
    // links (the same text on both engines), then the same walk over them.
    let since = "2023-11-28".parse().unwrap();
    let suspect = Item::new(ItemKind::Standard, top);
    summary(
        "impact, recursive query + walk (no report)",
        timed(15, |_| async {
            let rows = metrocal::store::traceability::links_below(&db, ("standard", top), since)
                .await
                .unwrap();
            let links: Vec<Link> = rows
                .into_iter()
                .filter_map(|l| {
                    Some(Link {
                        id: l.id,
                        item: Item::new(ItemKind::parse(&l.item_kind)?, l.item_id),
                        parent: Parent::Item(Item::new(
                            ItemKind::parse(l.reference_kind.as_deref()?)?,
                            l.reference_id?,
                        )),
                        certificate_no: l.certificate_no,
                        calibrated_on: l.calibrated_on,
                        valid_until: l.valid_until,
                        quantity: l.quantity.map(Into::into),
                        uncertainty: l.uncertainty_si,
                        mpe: l.mpe_si,
                    })
                })
                .collect();
            let found = rules::impact(&links, suspect, since);
            assert_eq!(found.len(), impact.affected.len(), "both ways find the same");
        })
        .await,
    );

    let picks: Vec<i32> = (0..200).map(|i| instruments[(i * 7919) % instruments.len()]).collect();
    summary(
        "one instrument's chain",
        timed(200, |i| {
            let id = picks[i % picks.len()];
            let (db, operator) = (&db, &operator);
            async move {
                svc::chain(operator, db, "instrument", id, as_of, Some(4.0))
                    .await
                    .unwrap()
            }
        })
        .await,
    );
}
