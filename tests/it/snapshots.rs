//! Whole documents as reviewable snapshots (insta): the JSON of the main API answers, a
//! DCC and a certificate's printed text. A change to any of them fails here and shows as
//! a diff (`cargo insta review`, or compare the `.snap.new` file beside the `.snap`).
//!
//! What changes from run to run is redacted, and only that: times (the demo data set is
//! recorded at the moment the test starts), signatures and the hashes over signed content
//! (each test's laboratories get new keys), verification tokens and row ids (the two
//! database engines number rows alike, but a redaction keeps the snapshots engine-free).
//! Every other value — names, dates of calibration, values, uncertainties, decisions,
//! certificate numbers — is compared exactly.

use crate::support::{TestApp, CENTRE};
use metrocal::domain::certificates::Snapshot;
use serde_json::{json, Value};

/// Keys whose values differ between runs by design.
const VOLATILE: &[&str] = &[
    "id",
    "signature",
    "token",
    "verify_url",
    "public_key",
    "key_id",
    "key_fingerprint",
    "content_sha256",
    "pdf_sha256",
    "dcc_sha256",
    "hash",
    "prev_hash",
];

fn is_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || s.strip_suffix(" UTC").is_some_and(|t| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").is_ok()
                || chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").is_ok()
        })
}

/// The document with its run-dependent values replaced by a placeholder naming what
/// was there.
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                let volatile = VOLATILE.contains(&k.as_str()) || k.ends_with("_id") && k != "item_id";
                if volatile && !x.is_null() {
                    *x = Value::String(format!("[{k}]"));
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(s) if is_time(s) => *s = "[time]".into(),
        _ => {}
    }
}

async fn get(app: &TestApp, user: &crate::support::TestUser, uri: &str) -> Value {
    let (status, mut v) = app.get_as(user, uri).await;
    assert_eq!(status, 200, "{uri}: {v}");
    redact(&mut v);
    v
}

/// The public register's first page, as an enterprise's script reads it.
#[rocket::async_test]
async fn the_register_list() {
    let app = TestApp::demo().await;
    let user = app.user("enterprise").await;
    insta::assert_json_snapshot!(get(&app, &user, "/api/v1/standards?per_page=3").await);
}

/// One standard with everything its page shows.
#[rocket::async_test]
async fn one_standard() {
    let app = TestApp::demo().await;
    let user = app.user("regulator").await;
    let first = app.scalar("SELECT MIN(id) AS n FROM standards").await;
    insta::assert_json_snapshot!(get(&app, &user, &format!("/api/v1/standards/{first}")).await);
}

/// The centre's first calibration record of the demo: points, decisions, signatures.
#[rocket::async_test]
async fn one_record() {
    let app = TestApp::demo().await;
    let user = app.user_in("technician", CENTRE).await;
    let first = app.scalar("SELECT MIN(id) AS n FROM calibration_records").await;
    insta::assert_json_snapshot!(get(&app, &user, &format!("/api/v1/records/{first}")).await);
}

/// A certificate as its laboratory's API returns it (the snapshot that was signed).
#[rocket::async_test]
async fn one_certificate() {
    let app = TestApp::demo().await;
    let user = app.user_in("approver", CENTRE).await;
    let list = get(&app, &user, "/api/v1/certificates").await;
    let number = list["certificates"][0]["number"]
        .as_str()
        .unwrap_or_else(|| panic!("the demo's centre has certificates: {list}"))
        .to_owned();
    insta::assert_json_snapshot!(get(&app, &user, &format!("/api/v1/certificates/{number}")).await);
}

/// The province dashboard, as the regulator's overview reads it.
#[rocket::async_test]
async fn the_dashboard() {
    let app = TestApp::demo().await;
    let user = app.user("regulator").await;
    insta::assert_json_snapshot!(get(&app, &user, "/api/v1/dashboard").await);
}

/// An evaluation through the API (GUM H.1's end gauge, shortened as the user guide does).
#[rocket::async_test]
async fn an_evaluation() {
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    let body = json!({
        "measurands": [{"name": "l", "unit": "mm"}],
        "model": "d = d0 + d1\nl = l_s + d",
        "inputs": [
            {"name": "l_s", "value": 50.000623, "unit": "mm",
             "uncertainty": {"kind": "normal", "expanded": 0.000075, "k": 3, "dof": 18}},
            {"name": "d0", "value": 215, "unit": "nm", "uncertainty": {"kind": "normal", "u": 5.8, "dof": 24}},
            {"name": "d1", "value": 0, "unit": "nm", "uncertainty": {"kind": "rectangular", "half_width": 10}}
        ]
    });
    let (status, v) = app.post_as(&user, "/api/v1/uncertainty/evaluate", body).await;
    assert_eq!(status, 200, "{v}");
    insta::assert_json_snapshot!(v);
}

/// A demo certificate's DCC as served, with the signature block and times redacted.
#[rocket::async_test]
async fn one_dcc() {
    let app = TestApp::demo().await;
    let user = app.user_in("approver", CENTRE).await;
    let list = get(&app, &user, "/api/v1/certificates").await;
    let number = list["certificates"][0]["number"].as_str().unwrap().to_owned();
    let res = user
        .api(app.client.get(format!("/api/v1/certificates/{number}/dcc")))
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200);
    let xml = res.into_string().await.unwrap();
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "[time]"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC", "[time]"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(UTC\+8\)", "[time]"),
        (r"<ds:SignatureValue>[^<]*</ds:SignatureValue>", "<ds:SignatureValue>[signature]</ds:SignatureValue>"),
        (r"<ds:DigestValue>[^<]*</ds:DigestValue>", "<ds:DigestValue>[digest]</ds:DigestValue>"),
        (r"<ds:X509Certificate>[^<]*</ds:X509Certificate>", "<ds:X509Certificate>[key]</ds:X509Certificate>"),
        (r"[0-9a-f]{64}", "[sha256]"),
        (r"/verify/[0-9A-Za-z_-]+", "/verify/[token]"),
    ]}, {
        insta::assert_snapshot!(xml);
    });
}

/// The printed text of a certificate, page by page, from the example snapshot that the
/// template's own tests use: nothing in it varies, so nothing is redacted.
#[test]
fn the_certificate_text() {
    let text = metrocal::render::pdf::text(&Snapshot::example(), "https://metrocal.test/verify/example").unwrap();
    insta::assert_snapshot!(text);
}
