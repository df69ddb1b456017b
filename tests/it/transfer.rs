//! generate → import → export: all-or-nothing imports, idempotent re-imports, and a
//! round trip that gives the same files back.

use crate::support::{fresh_database_url, TestApp};
use chrono::{NaiveDate, Utc};
use metrocal::service::generate::{generate, Spec};
use metrocal::service::transfer::{export, import, Bundle, ImportError, Quiet};
use metrocal::service::Actor;

static OPERATOR: std::sync::LazyLock<Actor> = std::sync::LazyLock::new(|| Actor::system("test"));

fn spec(n: usize) -> Spec {
    Spec {
        standards: n,
        seed: 7,
        as_of: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
    }
}

async fn counts(app: &TestApp) -> (i64, i64, i64) {
    (
        app.count("organisations").await,
        app.count("standards").await,
        app.count("devices").await,
    )
}

#[rocket::async_test]
async fn import_is_idempotent_and_export_round_trips() {
    let app = TestApp::empty().await;
    let dir = tempfile::tempdir().unwrap();
    let (orgs, stds, devs) = generate(&spec(120), dir.path(), &Quiet).unwrap();
    let bundle = Bundle::from_dir(dir.path()).unwrap();
    let s = import(&OPERATOR, &app.db, &bundle, Utc::now(), &Quiet).await.unwrap();
    assert_eq!((s.organisations, s.standards, s.devices), (orgs, stds, devs));
    assert_eq!(counts(&app).await, (orgs as i64, stds as i64, devs as i64));

    // The same data again changes nothing.
    import(&OPERATOR, &app.db, &bundle, Utc::now(), &Quiet).await.unwrap();
    assert_eq!(counts(&app).await, (orgs as i64, stds as i64, devs as i64));

    // Export, import into a fresh database, export again: the files are identical.
    let out1 = tempfile::tempdir().unwrap();
    export(&OPERATOR, &app.db, out1.path(), &Quiet).await.unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(other_dir.path()).await;
    let other = metrocal::setup_database(&metrocal::config::AppConfig {
        database_url: url,
        data_dir: other_dir.path().into(),
        demo_data: false,
        ..Default::default()
    })
    .await
    .unwrap();
    import(
        &OPERATOR,
        &other,
        &Bundle::from_dir(out1.path()).unwrap(),
        Utc::now(),
        &Quiet,
    )
    .await
    .unwrap();
    let out2 = tempfile::tempdir().unwrap();
    export(&OPERATOR, &other, out2.path(), &Quiet).await.unwrap();
    for f in ["organisations.csv", "standards.csv", "devices.csv"] {
        let a = std::fs::read_to_string(out1.path().join(f)).unwrap();
        let b = std::fs::read_to_string(out2.path().join(f)).unwrap();
        assert_eq!(a, b, "{f} differs after a round trip");
    }
    // The exported standards are the generated ones, value for value.
    let generated = std::fs::read_to_string(dir.path().join("standards.csv")).unwrap();
    let exported = std::fs::read_to_string(out1.path().join("standards.csv")).unwrap();
    let mut g: Vec<&str> = generated.lines().collect();
    let mut e: Vec<&str> = exported.lines().collect();
    g.sort();
    e.sort();
    let differing: Vec<_> = g.iter().zip(&e).filter(|(a, b)| a != b).take(3).collect();
    assert!(differing.is_empty() && g.len() == e.len(), "{differing:#?}");
}

/// Replaces one cell of a CSV file (line is 1-based, the header is line 1).
fn corrupt(path: &std::path::Path, line: usize, column: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == column).unwrap();
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&headers).unwrap();
    for (i, rec) in r.records().enumerate() {
        let mut rec: Vec<String> = rec.unwrap().iter().map(str::to_owned).collect();
        if i + 2 == line {
            rec[col] = value.to_owned();
        }
        w.write_record(&rec).unwrap();
    }
    w.flush().unwrap();
}

#[rocket::async_test]
async fn a_bad_row_aborts_the_whole_import_and_names_its_place() {
    let app = TestApp::demo().await;
    let before = counts(&app).await;
    let cases = [
        ("standards.csv", 57, "range_max", "3 Bq", "is an activity"),
        ("standards.csv", 90, "category_code", "01000000", "level 2"),
        ("standards.csv", 12, "cert_expires_on", "2001-01-01", "expires"),
        ("organisations.csv", 5, "code", "91350100M000100Y44", "check character"),
        ("devices.csv", 200, "standard_cert_no", "[1999]无此证书", "no standard"),
        ("devices.csv", 150, "cal_due", "2020-13-01", "not a date"),
    ];
    for (file, line, column, value, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        generate(&spec(100), dir.path(), &Quiet).unwrap();
        corrupt(&dir.path().join(file), line, column, value);
        let result = import(
            &OPERATOR,
            &app.db,
            &Bundle::from_dir(dir.path()).unwrap(),
            Utc::now(),
            &Quiet,
        )
        .await;
        let Err(err) = result else {
            panic!("{file}:{line} {column}={value} was accepted")
        };
        let ImportError::Row(row) = &err else { panic!("{err}") };
        assert_eq!(
            (row.file.as_str(), row.line, row.column.as_str()),
            (file, line as u64, column),
            "{err}"
        );
        assert!(row.reason.contains(reason), "{file}: {}", row.reason);
        assert_eq!(counts(&app).await, before, "{file}:{line} left the database changed");
    }
}

#[rocket::async_test]
async fn only_system_admins_import() {
    let app = TestApp::demo().await;
    let dir = tempfile::tempdir().unwrap();
    generate(&spec(5), dir.path(), &Quiet).unwrap();
    let bundle = Bundle::from_dir(dir.path()).unwrap();
    let err = import(&Actor::public("test"), &app.db, &bundle, Utc::now(), &Quiet)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ImportError::Service(metrocal::service::Error::Unauthenticated)
    ));
    // A regulator reads everything but does not bulk-load the register.
    let regulator = app.user("regulator").await;
    let actor = metrocal::service::accounts::token_user(&app.db, &regulator.token, Utc::now())
        .await
        .unwrap()
        .map(|p| Actor::user(p, "test"))
        .unwrap();
    let err = import(&actor, &app.db, &bundle, Utc::now(), &Quiet).await.unwrap_err();
    assert!(matches!(err, ImportError::Service(metrocal::service::Error::Forbidden)));
    assert_eq!(app.count("standards").await, 201);
    assert_eq!(
        app.events("register.import").await,
        1,
        "only the demo data's own import"
    );
}

async fn schema_objects(app: &TestApp) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let backend = app.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Sqlite => {
            "SELECT type || ' ' || name FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY 1"
        }
        // Each index as it is defined, and the triggers, of the test's own schema.
        _ => {
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             UNION ALL SELECT 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND NOT t.tgisinternal \
             ORDER BY 1"
        }
    };
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .unwrap();
    rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect()
}

#[rocket::async_test]
async fn a_bulk_import_rebuilds_its_indexes_and_a_failed_one_restores_them() {
    // Above the bulk threshold: secondary indexes and search triggers are dropped and
    // rebuilt inside the import's transaction.
    let app = TestApp::empty().await;
    let before = schema_objects(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, stds, devs) = generate(&spec(2500), dir.path(), &Quiet).unwrap();
    assert!(stds + devs > 5000);

    // A bad last row: everything is rolled back, the indexes and triggers included.
    let bad = tempfile::tempdir().unwrap();
    generate(&spec(2500), bad.path(), &Quiet).unwrap();
    corrupt(&bad.path().join("devices.csv"), devs + 1, "cal_date", "2026-02-30");
    // The date is caught before writing; a reference error is caught during writing.
    let err = import(
        &OPERATOR,
        &app.db,
        &Bundle::from_dir(bad.path()).unwrap(),
        Utc::now(),
        &Quiet,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cal_date"), "{err}");
    corrupt(&bad.path().join("devices.csv"), devs + 1, "cal_date", "2026-02-01");
    corrupt(
        &bad.path().join("devices.csv"),
        devs + 1,
        "standard_cert_no",
        "[1999]无此证书",
    );
    let err = import(
        &OPERATOR,
        &app.db,
        &Bundle::from_dir(bad.path()).unwrap(),
        Utc::now(),
        &Quiet,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("standard_cert_no"), "{err}");
    assert_eq!(counts(&app).await, (0, 0, 0));
    assert_eq!(
        schema_objects(&app).await,
        before,
        "indexes and triggers survive a failed import"
    );

    import(
        &OPERATOR,
        &app.db,
        &Bundle::from_dir(dir.path()).unwrap(),
        Utc::now(),
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!(
        schema_objects(&app).await,
        before,
        "the same indexes and triggers after a bulk import"
    );
    assert_eq!(app.count("standards").await, stds as i64);

    // The rebuilt search index answers, and agrees with a plain scan of the same text.
    let (_, v) = app
        .get_json("/api/v1/standards?q=%E5%8E%8B%E5%8A%9B%E8%A1%A8&per_page=1")
        .await; // 压力表
    let scanned = {
        use sea_orm::ConnectionTrait;
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                format!(
                    "SELECT COUNT(*) AS n FROM standards WHERE search_text LIKE '%{}%'",
                    metrocal::domain::register::search_form("压力表")
                ),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    assert!(scanned > 0);
    assert_eq!(v["total"], scanned);
}

/// The bulk writer sends each batch to PostgreSQL as one array per column, in the text
/// form COPY also reads (on SQLite as bound parameters). Text that looks like the
/// format's own syntax, doubles that have no short decimal form, the extremes of the
/// range, absent values and times to the microsecond read back exactly as written.
#[rocket::async_test]
async fn the_bulk_writer_stores_every_value_exactly() {
    use metrocal::store::entities::instrument;
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let app = TestApp::demo().await;
    let owner = app.scalar("SELECT MIN(id) AS n FROM organisations").await as i32;
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-08T04:31:07.123456Z")
        .unwrap()
        .with_timezone(&Utc);
    let texts = [
        "plain",
        "",
        "NULL",
        "{braces}, commas",
        "\"quoted\" and \\back\\slashed\\",
        "数字压力计 0～60 MPa",
        " leading and trailing ",
        "tab\tand\nnewline",
    ];
    let numbers = [
        Some(0.1),
        Some(1.0 / 3.0),
        Some(1e-7),
        Some(-2.5e-12),
        Some(6.02214076e23),
        Some(f64::MIN_POSITIVE),
        Some(f64::MAX),
        None,
    ];
    let rows: Vec<instrument::ActiveModel> = texts
        .iter()
        .zip(numbers)
        .enumerate()
        .map(|(i, (text, mpe))| instrument::ActiveModel {
            owner_id: Set(owner),
            name: Set(text.to_string()),
            manufacturer: Set(format!("{text}{i}")),
            model: Set(String::new()),
            serial: Set(format!("EXACT-{i}")),
            category_code: Set("01010100".into()),
            quantity: Set(if i % 2 == 0 { None } else { Some(text.to_string()) }),
            mpe_si: Set(mpe),
            mpe_unit: Set(mpe.map(|_| "Pa".to_owned())),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        })
        .collect();
    metrocal::store::traceability::upsert_instruments(&app.db, rows)
        .await
        .unwrap();
    let stored: Vec<instrument::Model> = instrument::Entity::find()
        .filter(instrument::Column::Serial.starts_with("EXACT-"))
        .order_by_asc(instrument::Column::Serial)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), texts.len());
    for (i, row) in stored.iter().enumerate() {
        assert_eq!(row.name, texts[i]);
        assert_eq!(row.manufacturer, format!("{}{i}", texts[i]));
        assert_eq!(row.quantity.as_deref(), if i % 2 == 0 { None } else { Some(texts[i]) });
        assert_eq!(
            row.mpe_si.map(f64::to_bits),
            numbers[i].map(f64::to_bits),
            "{:?}",
            numbers[i]
        );
        assert_eq!(row.created_at, at);
    }
}
