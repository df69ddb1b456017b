//! No single request may kill, stall or exhaust the server: the uncertainty engine's
//! parsers are bounded in depth, an evaluation's cost is checked before it runs, Monte
//! Carlo runs a bounded number at a time and stops at its deadline, and numbers too
//! large to compute with are refused by name.

use crate::support::{TestApp, TestUser};
use serde_json::{json, Value};
use std::time::Duration;

async fn evaluate(app: &TestApp, user: &TestUser, body: &Value) -> (u16, Value, Option<String>) {
    let res = user
        .api(app.client.post("/api/v1/uncertainty/evaluate"))
        .body(body.to_string())
        .dispatch()
        .await;
    let status = res.status().code;
    let retry = res.headers().get_one("Retry-After").map(str::to_owned);
    (status, res.into_json().await.unwrap_or(Value::Null), retry)
}

fn problem(model: &str, measurands: &[&str], trials: Option<u64>) -> Value {
    let mut p = json!({
        "measurands": measurands.iter().map(|m| json!({"name": m, "unit": "mm"})).collect::<Vec<_>>(),
        "model": model,
        "inputs": [
            {"name": "x", "value": 1.0, "unit": "mm", "uncertainty": {"kind": "normal", "u": 0.001}},
            {"name": "z", "value": 2.0, "unit": "mm", "uncertainty": {"kind": "rectangular", "half_width": 0.002}}
        ]
    });
    if let Some(t) = trials {
        p["monte_carlo"] = json!({"trials": t, "seed": 7});
    }
    p
}

fn field_message<'a>(v: &'a Value, field: &str) -> &'a str {
    v["error"]["fields"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no message for {field} in {v}"))
}

#[rocket::async_test]
async fn deeply_nested_models_are_refused_not_a_stack_overflow() {
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    // 8,000 parentheses (a 16 KB body) aborted the whole server with a stack overflow.
    let deep = format!("y = {}x{}", "(".repeat(8000), ")".repeat(8000));
    let (status, v, _) = evaluate(&app, &user, &problem(&deep, &["y"], None)).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "uncertainty.model_invalid");
    let message = field_message(&v, "model");
    assert!(message.contains("nests more than 64 levels"), "{message}");
    // The position is named: the 65th parenthesis is character 65 + "y = ".
    assert!(message.contains("(at character 69)"), "{message}");
    // 60,000 minus signs did the same: now longer than a model may be, and 10,000 (within
    // the length) nest too deep.
    let signs = format!("y = {}x", "-".repeat(60_000));
    let (status, v, _) = evaluate(&app, &user, &problem(&signs, &["y"], None)).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "uncertainty.model_too_long");
    let signs = format!("y = {}x", "-".repeat(10_000));
    let (status, v, _) = evaluate(&app, &user, &problem(&signs, &["y"], None)).await;
    assert_eq!(status, 422, "{v}");
    assert!(field_message(&v, "model").contains("nests more than 64 levels"));
    // So do functions and powers, and a unit with nested parentheses.
    let calls = format!("y = {}x{}", "abs(".repeat(1000), ")".repeat(1000));
    let (status, v, _) = evaluate(&app, &user, &problem(&calls, &["y"], None)).await;
    assert_eq!(status, 422);
    assert!(field_message(&v, "model").contains("nests"));
    let mut p = problem("y = x", &["y"], None);
    p["measurands"][0]["unit"] = json!(format!("{}mm{}", "(".repeat(5000), ")".repeat(5000)));
    let (status, v, _) = evaluate(&app, &user, &p).await;
    assert_eq!(status, 422, "{v}");
    assert!(field_message(&v, "measurands[0].unit").contains("nest more than 8 levels"));
    // A model nested as deep as real ones are still evaluates.
    let fine = format!("y = {}x + z{}", "(".repeat(60), ")".repeat(60));
    let (status, v, _) = evaluate(&app, &user, &problem(&fine, &["y"], None)).await;
    assert_eq!(status, 200, "{v}");
    // The server is still there.
    let (status, _, _) = evaluate(&app, &user, &problem("y = x + z", &["y"], None)).await;
    assert_eq!(status, 200);
}

#[rocket::async_test]
async fn an_evaluation_that_would_exhaust_memory_or_cpu_is_refused_before_it_starts() {
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    // 20 measurands × 5·10⁷ trials asked for 8 GB in a 931-byte body.
    let names: Vec<String> = (1..=20).map(|i| format!("y{i}")).collect();
    let model: String = names.iter().map(|n| format!("{n} = x + z\n")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let started = std::time::Instant::now();
    let (status, v, _) = evaluate(&app, &user, &problem(&model, &refs, Some(50_000_000))).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "uncertainty.too_much_work");
    let message = field_message(&v, "monte_carlo.trials");
    assert!(message.contains("use at most"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused before any trial is drawn"
    );
    // 21 measurands is more than one evaluation takes.
    let names: Vec<String> = (1..=21).map(|i| format!("y{i}")).collect();
    let model: String = names.iter().map(|n| format!("{n} = x\n")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (status, v, _) = evaluate(&app, &user, &problem(&model, &refs, None)).await;
    assert_eq!(status, 422);
    assert!(field_message(&v, "measurands").contains("at most 20"));
    // A 40 KB model of 20,000 operations at 10,000 trials peaked at 2.6 GB.
    let long = format!("y = x{}", " + x".repeat(10_000));
    let (status, v, _) = evaluate(&app, &user, &problem(&long, &["y"], Some(10_000))).await;
    assert_eq!(status, 422);
    assert_eq!(v["error"]["code"], "uncertainty.model_too_long");
    let big = format!("y = x{}", "+x".repeat(2_000));
    let (status, v, _) = evaluate(&app, &user, &problem(&big, &["y"], Some(10_000))).await;
    assert_eq!(status, 422);
    assert_eq!(v["error"]["code"], "uncertainty.model_too_large");
    assert!(field_message(&v, "model").contains("at most 2000"));
    // 4,000 operations at 2·10⁶ trials held both cores for 41 s, three at a time.
    let heavy = format!("y = x{}", "+x".repeat(1500));
    let (status, v, _) = evaluate(&app, &user, &problem(&heavy, &["y"], Some(2_000_000))).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "uncertainty.too_much_work");
}

#[rocket::async_test]
async fn monte_carlo_runs_a_bounded_number_at_once_and_a_full_queue_is_503() {
    let app = TestApp::demo_with(|c| {
        c.evaluation.concurrent = 1;
        c.evaluation.queue = 0;
    })
    .await;
    let user = app.user("technician").await;
    // Long enough (debug build, one thread) that the second arrives while it runs.
    let slow = problem("y = x + z", &["y"], Some(20_000_000));
    let quick = problem("y = x + z", &["y"], Some(10_000));
    let (first, second) = tokio::join!(evaluate(&app, &user, &slow), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        evaluate(&app, &user, &quick).await
    });
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(second.0, 503, "{}", second.1);
    assert_eq!(second.1["error"]["code"], "busy");
    let retry: u64 = second.2.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry));
    // The place is free again; GUM-only evaluations never queue.
    assert_eq!(evaluate(&app, &user, &quick).await.0, 200);
}

#[rocket::async_test]
async fn an_evaluation_past_its_deadline_is_stopped_and_answered() {
    let app = TestApp::demo_with(|c| c.evaluation.deadline_secs = 1).await;
    let user = app.user("technician").await;
    let slow = problem(&format!("y = x{}", " + z".repeat(30)), &["y"], Some(40_000_000));
    let started = std::time::Instant::now();
    let (status, v, _) = evaluate(&app, &user, &slow).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "uncertainty.stopped");
    assert!(field_message(&v, "monte_carlo").contains("longer than 1 s"));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[rocket::async_test]
async fn a_huge_effective_dof_returns_the_normal_coverage_factor() {
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    // y = a + b, a normal u = 1 without dof, b student_t u = 0.02 with 9 dof: ν_eff is
    // 9·(1 + 0.02²)²/0.02⁴ ≈ 5.6·10⁷, where the t-quantile never returned.
    let body = json!({
        "measurands": [{"name": "y", "unit": "V"}],
        "model": "y = a + b",
        "inputs": [
            {"name": "a", "value": 1.0, "unit": "V", "uncertainty": {"kind": "normal", "u": 1.0}},
            {"name": "b", "value": 0.0, "unit": "V", "uncertainty": {"kind": "normal", "u": 0.02, "dof": 9}}
        ]
    });
    let answer = tokio::time::timeout(Duration::from_secs(30), evaluate(&app, &user, &body))
        .await
        .expect("the evaluation returns");
    assert_eq!(answer.0, 200, "{}", answer.1);
    // JCGM 100 G.3.2: k → the normal quantile (2.000 at p = 95.45 %) as ν → ∞.
    let k = answer.1["results"][0]["coverage_factor"].as_f64().unwrap();
    assert!((k - 2.0).abs() < 1e-4, "k = {k}");
}

#[rocket::async_test]
async fn numbers_too_large_to_compute_with_are_named() {
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    let mut p = problem("y = x + z", &["y"], None);
    p["inputs"][0]["uncertainty"] = json!({"kind": "normal", "u": 1e308});
    let (status, v, _) = evaluate(&app, &user, &p).await;
    assert_eq!(status, 422, "{v}");
    assert!(field_message(&v, "inputs[0].uncertainty.u").contains("too large"));
    let mut p = problem("y = x + z", &["y"], None);
    p["coverage"] = json!({"probability": 0.9999999999999999});
    let (status, v, _) = evaluate(&app, &user, &p).await;
    assert_eq!(status, 422, "{v}");
    assert!(v["error"]["fields"]["coverage"].is_string(), "{v}");
}
