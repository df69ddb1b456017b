//! /api/v1/uncertainty/evaluate and `metrocal uncertainty evaluate`: the same JSON in
//! and out, and a 422 naming the field for each kind of bad input.

use crate::support::TestApp;
use rocket::http::Status;
use serde_json::{json, Value};

fn simple() -> Value {
    json!({
        "measurands": [{"name": "l", "unit": "mm"}],
        "model": "d = d0 + d1\nl = l_s + d",
        "inputs": [
            {"name": "l_s", "value": 50.000623, "unit": "mm",
             "uncertainty": {"kind": "normal", "expanded": 0.000075, "k": 3, "dof": 18}},
            {"name": "d0", "value": 215, "unit": "nm", "uncertainty": {"kind": "normal", "u": 5.8, "dof": 24}},
            {"name": "d1", "value": 0, "unit": "nm", "uncertainty": {"kind": "rectangular", "half_width": 10}}
        ]
    })
}

#[rocket::async_test]
async fn the_api_evaluates_the_documented_format() {
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    let res = user
        .api(app.client.post("/api/v1/uncertainty/evaluate"))
        .body(simple().to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    let r = &v["results"][0];
    assert_eq!(r["name"], "l");
    assert_eq!(r["unit"], "mm");
    // u² = 25² + 5.8² + (10/√3)² nm².
    let want = (25f64.powi(2) + 5.8f64.powi(2) + 100.0 / 3.0).sqrt() * 1e-6;
    assert!((r["standard_uncertainty"].as_f64().unwrap() - want).abs() < 1e-15);
    assert_eq!(v["correlation"], json!([[1.0]]));
    assert!(r["report"]
        .as_str()
        .unwrap()
        .starts_with("l = 50.000838 mm, U = 0.000056 mm (k = "));
    // Visitors may not run the engine.
    let res = app
        .client
        .post("/api/v1/uncertainty/evaluate")
        .header(rocket::http::ContentType::JSON)
        .body(simple().to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
}

/// A change to the simple problem that makes it wrong.
type Edit = Box<dyn Fn(&mut Value)>;

#[rocket::async_test]
async fn bad_input_is_422_naming_the_field() {
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    let cases: Vec<(Edit, &str, &str)> = vec![
        (
            Box::new(|p| p["inputs"][2]["uncertainty"]["kind"] = json!("lognormal")),
            "inputs[2].uncertainty.kind",
            "uncertainty.kind_unknown",
        ),
        (
            Box::new(|p| p["inputs"][1]["uncertainty"]["u"] = json!(-1)),
            "inputs[1].uncertainty.u",
            "uncertainty.negative",
        ),
        (
            Box::new(|p| p["correlations"] = json!([{"a": "l_s", "b": "d0", "r": 1.5}])),
            "correlations[0].r",
            "uncertainty.correlation_range",
        ),
        (
            Box::new(|p| {
                p["inputs"][2]["uncertainty"] = json!({"kind": "normal", "u": 1});
                p["correlations"] = json!([
                    {"a": "l_s", "b": "d0", "r": 0.9}, {"a": "l_s", "b": "d1", "r": 0.9}, {"a": "d0", "b": "d1", "r": -0.9}
                ]);
            }),
            "correlations",
            "uncertainty.correlation_not_psd",
        ),
        (
            Box::new(|p| p["inputs"][1]["unit"] = json!("mg")),
            "model",
            "uncertainty.dimension",
        ),
        (
            Box::new(|p| p["model"] = json!("l = l_s * d0 / d1")),
            "model",
            "uncertainty.model_undefined",
        ),
        (
            Box::new(|p| p["monte_carlo"] = json!({"trials": 10, "seed": 1})),
            "monte_carlo.trials",
            "uncertainty.too_few_trials",
        ),
        (
            Box::new(|p| p["measurands"][0]["unit"] = json!("kg")),
            "measurands[0].unit",
            "uncertainty.dimension",
        ),
        (
            Box::new(|p| p["model"] = json!("l = l_s + ")),
            "model",
            "uncertainty.model_invalid",
        ),
        (
            Box::new(|p| p["inputs"][0]["value"] = json!("fifty")),
            "inputs[0].value",
            "request.json_invalid",
        ),
    ];
    for (edit, field, code) in cases {
        let mut p = simple();
        edit(&mut p);
        let res = user
            .api(app.client.post("/api/v1/uncertainty/evaluate"))
            .body(p.to_string())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::UnprocessableEntity, "{field}");
        let v: Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["fields"][field].is_string(), "{field}: {v}");
    }
}

#[test]
fn the_cli_evaluates_a_file_or_standard_input() {
    use std::io::Write;
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/calibration-data/uncertainty/gum-h1-end-gauge.json"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_metrocal"))
        .args(["uncertainty", "evaluate", file])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((v["results"][0]["standard_uncertainty"].as_f64().unwrap() * 1e6 - 31.66).abs() < 0.005);

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_metrocal"))
        .args(["uncertainty", "evaluate", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut bad = simple();
    bad["inputs"][0]["uncertainty"]["kind"] = json!("gaussian");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(bad.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inputs[0].uncertainty.kind"), "{err}");
}

/// docs/uncertainty.md shows the output of its first example; it must be what the
/// engine prints, to the last digit.
#[test]
fn the_documented_output_is_the_engines() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/uncertainty.md")).unwrap();
    let after = doc
        .split("calibration-data/uncertainty/end-gauge-simple.json` prints:")
        .nth(1)
        .expect("the worked output is in the document");
    let block = after.split("```json").nth(1).unwrap().split("```").next().unwrap();
    let documented: Value = serde_json::from_str(block).unwrap();
    let problem = metrocal::domain::uncertainty::problem::parse_problem(include_str!(
        "../../calibration-data/uncertainty/end-gauge-simple.json"
    ))
    .unwrap();
    let printed = serde_json::to_value(metrocal::domain::uncertainty::evaluate(&problem).unwrap()).unwrap();
    assert_eq!(documented, printed);
}

/// The command line applies the server's limits unless the operator lifts them.
#[test]
fn the_cli_applies_the_limits_and_may_lift_them() {
    use std::io::Write;
    let run = |extra: &[&str], problem: &Value| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_metrocal"))
            .args(["uncertainty", "evaluate", "-"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(problem.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // 2,200 operations: more than a server evaluates.
    let mut big = simple();
    big["model"] = json!(format!("d = d0 + d1{}\nl = l_s + d", " + d1 - d1".repeat(1100)));
    let out = run(&[], &big);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("model: the model has") && err.contains("at most 2000"),
        "{err}"
    );
    let out = run(&["--no-limits"], &big);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A smaller work limit refuses what the default allows, naming the trials.
    let mut mc = simple();
    mc["monte_carlo"] = json!({"trials": 100_000});
    assert!(run(&[], &mc).status.success());
    let out = run(&["--max-work", "100000"], &mc);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("monte_carlo.trials"));
}

/// The conformity calculator through the API (issue 21): ILAC-G8:09/2019 Figures 3–5
/// with a tolerance of 10.000 V ± 0.010 V and U = 0.002 V; a value exactly on a limit;
/// a one-sided limit; and a 422 naming the field. It writes nothing.
#[rocket::async_test]
async fn the_conformity_calculator_follows_ilac_g8() {
    let app = TestApp::demo().await;
    let user = app.user("enterprise").await;
    let events = app.count("audit_events").await;
    let ask = |measured: &str, rule: &str| {
        json!({"measured": measured, "lower_limit": "9.990 V", "upper_limit": "10.010 V",
               "expanded_uncertainty": "0.002 V", "k": 2, "rule": rule})
    };
    for (measured, rule, decision) in [
        ("10.0085 V", "simple", "pass"),
        ("10.010 V", "simple", "pass"),
        ("10.0105 V", "simple", "fail"),
        ("10.0085 V", "guarded", "fail"),
        ("10.008 V", "guarded", "pass"),
        ("10.0085 V", "non_binary", "conditional_pass"),
        ("10.0115 V", "non_binary", "conditional_fail"),
    ] {
        let (status, a) = app
            .post_as(&user, "/api/v1/conformity/decide", ask(measured, rule))
            .await;
        assert_eq!(
            (status, a["decision"].as_str()),
            (200, Some(decision)),
            "{measured} {rule}: {a}"
        );
        assert_eq!(a["unit"], "V");
    }
    let (_, a) = app
        .post_as(&user, "/api/v1/conformity/decide", ask("10.0085 V", "guarded"))
        .await;
    assert_eq!(a["guard_band"], 0.002);
    assert_eq!(a["acceptance_limits"], json!({"lower": 9.992, "upper": 10.008}));
    let (_, a) = app
        .post_as(
            &user,
            "/api/v1/conformity/decide",
            json!({"measured": "49 µm", "upper_limit": "50 µm", "expanded_uncertainty": "2 µm", "rule": "guarded"}),
        )
        .await;
    assert_eq!(a["decision"], "fail", "{a}");
    assert_eq!(a["acceptance_limits"], json!({"lower": null, "upper": 48.0}));
    let (status, e) = app
        .post_as(
            &user,
            "/api/v1/conformity/decide",
            json!({"measured": "10 V", "rule": "sometimes"}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(e["error"]["fields"]["rule"].is_string(), "{e}");
    assert_eq!(app.count("audit_events").await, events, "a calculator writes nothing");
}
