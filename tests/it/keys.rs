//! The laboratories' signing keys sealed in the database under the operator's
//! key-encryption key (issue 22): any instance given that key signs with the one key of
//! a laboratory; a server without it says plainly that it cannot sign; the operator
//! rotates the key-encryption key; key files of before are migrated.

use crate::support::TestApp;
use metrocal::domain::certificates::Snapshot;
use metrocal::service::certificates::{issue, rotate_kek, verify_file, IssueRequest};
use metrocal::service::keys::{Kek, KeyStore};
use metrocal::service::{Actor, Error};
use sea_orm::ConnectionTrait;

async fn two_organisations(app: &TestApp) -> (i32, i32) {
    app.db
        .execute_unprepared(
            "INSERT INTO organisations (code, kind, name_zh, name_en, region_id, created_at, updated_at) VALUES \
             ('124400001JA7N1F563', 'institute', '广东省计量测试研究院', 'GIM', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), \
             ('91440100KMJQMXMD0D', 'enterprise', '广州示例仪器有限公司', 'Example', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        )
        .await
        .unwrap();
    (
        app.organisation_id("124400001JA7N1F563").await,
        app.organisation_id("91440100KMJQMXMD0D").await,
    )
}

async fn issue_with(app: &TestApp, keys: &KeyStore, lab: i32, customer: i32) -> Result<String, Error> {
    issue(
        &Actor::system("test"),
        &app.db,
        keys,
        IssueRequest {
            lab_id: lab,
            customer_id: customer,
            snapshot: Snapshot::example(),
            amends: None,
        },
        chrono::Utc::now(),
    )
    .await
    .map(|c| c.dcc)
}

#[rocket::async_test]
async fn keys_are_sealed_in_the_database_and_open_only_with_their_key_encryption_key() {
    let app = TestApp::empty().await;
    let (lab, customer) = two_organisations(&app).await;
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (kek1, kek2) = (Kek::generate(), Kek::generate());
    // Two instances given the same key-encryption key, each with a data directory of its
    // own: both sign with the laboratory's one key, and neither writes a key file.
    let a = KeyStore::with_kek(one.path(), kek1.clone());
    let b = KeyStore::with_kek(two.path(), kek1.clone());
    let first = issue_with(&app, &a, lab, customer).await.unwrap();
    let second = issue_with(&app, &b, lab, customer).await.unwrap();
    for dcc in [&first, &second] {
        assert!(verify_file(&app.db, dcc.as_bytes()).await.unwrap().genuine);
    }
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) AS n FROM lab_keys WHERE lab_id = {lab}"))
            .await,
        1,
        "one key for the laboratory"
    );
    let sealed = app
        .scalar_text(&format!(
            "SELECT sealed_private AS t FROM lab_keys WHERE lab_id = {lab}"
        ))
        .await;
    assert!(sealed.len() > 100, "{sealed}");
    assert!(!one.path().join("keys").exists() && !two.path().join("keys").exists());
    // A server given another key-encryption key (a restore without it) says plainly that
    // it cannot sign, and issues nothing.
    let stranger = KeyStore::with_kek(two.path(), kek2.clone());
    let before = app.count("certificates").await;
    match issue_with(&app, &stranger, lab, customer).await {
        Err(Error::Conflict { code, message, .. }) => {
            assert_eq!(code, "keys.cannot_sign");
            assert!(
                message.contains("cannot sign") && message.contains("METROCAL_KEY_ENCRYPTION_KEY"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(app.count("certificates").await, before);
    // The operator rotates the key-encryption key: the old one no longer opens the key,
    // the new one does, and the certificates signed before still verify.
    let n = rotate_kek(&Actor::system("test"), &app.db, &a, &kek2, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(app.events("keys.rotate_kek").await, 1);
    assert!(matches!(
        issue_with(&app, &a, lab, customer).await,
        Err(Error::Conflict {
            code: "keys.cannot_sign",
            ..
        })
    ));
    let third = issue_with(&app, &stranger, lab, customer).await.unwrap();
    for dcc in [&first, &second, &third] {
        assert!(verify_file(&app.db, dcc.as_bytes()).await.unwrap().genuine);
    }
    // A sealed key moved onto another laboratory's row does not open there (the
    // laboratory and key id are authenticated with it).
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO lab_keys (lab_id, key_id, public_key, created_at, sealed_private, kek_id) \
             SELECT {customer}, 'ffffffffffffffff', public_key, created_at, sealed_private, kek_id FROM lab_keys \
             WHERE lab_id = {lab}"
        ))
        .await
        .unwrap();
    assert!(matches!(
        issue_with(&app, &stranger, customer, lab).await,
        Err(Error::Conflict {
            code: "keys.cannot_sign",
            ..
        })
    ));
}

#[rocket::async_test]
async fn a_key_file_of_before_is_sealed_into_the_database_on_first_start() {
    let app = TestApp::empty().await;
    let (lab, customer) = two_organisations(&app).await;
    let dir = tempfile::tempdir().unwrap();
    // A key as the key store kept it before: a file of 64 hex digits, mode 0600, and the
    // public half alone in the database.
    let secret: [u8; 32] = rand::random();
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let public = key.verifying_key().to_bytes();
    let key_id = metrocal::service::keys::key_id(&public);
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    let file = dir.path().join("keys").join(format!("lab-{lab}-{key_id}.ed25519"));
    std::fs::write(&file, format!("{}\n", hex::encode(secret))).unwrap();
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO lab_keys (lab_id, key_id, public_key, created_at) VALUES ({lab}, '{key_id}', '{}', \
             '2026-01-01T00:00:00Z')",
            hex::encode(public)
        ))
        .await
        .unwrap();
    let keys = KeyStore::with_kek(dir.path(), Kek::generate());
    assert_eq!(keys.migrate_files(&app.db).await.unwrap(), 1);
    assert!(!file.exists(), "the file is gone once sealed");
    assert_eq!(keys.migrate_files(&app.db).await.unwrap(), 0, "once");
    // It signs with the same key: the certificate names that key id and verifies.
    let dcc = issue_with(&app, &keys, lab, customer).await.unwrap();
    assert!(verify_file(&app.db, dcc.as_bytes()).await.unwrap().genuine);
    assert_eq!(
        app.scalar_text(&format!("SELECT key_id AS t FROM certificates WHERE lab_id = {lab}"))
            .await,
        key_id
    );
}
