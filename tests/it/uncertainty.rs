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

fn close(v: &Value, want: f64, rel: f64) -> bool {
    v.as_f64().is_some_and(|x| ((x - want) / want).abs() < rel)
}

/// The risk calculator through the API (issue 21): JCGM 106:2012 §7.2 (specific risk,
/// eq. 11) and §9.5.2 (global risks, eq. 21–22, the configuration of Figure 16: a
/// process centred in a symmetric tolerance, p₀ = 0.9545, C_m = 4). Reference values
/// from SciPy (scipy.integrate.dblquad over the joint density, epsrel 1e-12); see
/// docs/uncertainty.md, "Conformity and risk".
#[rocket::async_test]
async fn the_risk_calculator_follows_jcgm_106() {
    let app = TestApp::demo().await;
    let user = app.user("enterprise").await;
    let events = app.count("audit_events").await;
    // Specific: tolerance ±10 µm, u = 1 µm, measured 8.5 µm: accepted, p_c = Φ(1.5) −
    // Φ(−18.5) = 0.9331927987311419, PFA = 0.0668072012688581.
    let (status, a) = app
        .post_as(
            &user,
            "/api/v1/conformity/risk",
            json!({"lower_limit": "-10 µm", "upper_limit": "10 µm", "standard_uncertainty": "1 µm",
                   "measured": "8.5 µm"}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let s = &a["specific"];
    assert_eq!(s["accepted"], true);
    assert!(
        close(&s["probability_conforming"], 0.933_192_798_731_141_9, 1e-12),
        "{a}"
    );
    assert!(close(&s["pfa"], 0.066_807_201_268_858_1, 1e-10), "{a}");
    assert!(s["pfr"].is_null() && a["global"].is_null());
    // Rejected at 10.5 µm: PFR = Φ(−0.5) = 0.3085375387259869; bare numbers take the unit
    // of the first quantity written with one.
    let (_, a) = app
        .post_as(
            &user,
            "/api/v1/conformity/risk",
            json!({"lower_limit": "-10 µm", "upper_limit": 10, "standard_uncertainty": 1, "measured": 10.5}),
        )
        .await;
    assert_eq!(a["specific"]["accepted"], false, "{a}");
    assert!(close(&a["specific"]["pfr"], 0.308_537_538_725_986_9, 1e-12), "{a}");
    // Global: tolerance ±1 mV, σ = 0.5 mV, u = 0.125 mV: R_C = 0.00800608483445009,
    // R_P = 0.0148508842112549, p₀ = 0.954499736103642; the same process given by p₀.
    for process in [
        json!({"mean": "0 mV", "sd": "0.5 mV"}),
        json!({"mean": "0 mV", "in_tolerance_probability": 0.954_499_736_103_642}),
    ] {
        let (status, a) = app
            .post_as(
                &user,
                "/api/v1/conformity/risk",
                json!({"lower_limit": "-1 mV", "upper_limit": "1 mV", "standard_uncertainty": "0.125 mV",
                       "process": process}),
            )
            .await;
        assert_eq!(status, 200, "{a}");
        let g = &a["global"];
        assert!(
            close(&g["in_tolerance_probability"], 0.954_499_736_103_642, 1e-10),
            "{a}"
        );
        assert!(close(&g["pfa"], 0.008_006_084_834_450_09, 1e-6), "{a}");
        assert!(close(&g["pfr"], 0.014_850_884_211_254_9, 1e-6), "{a}");
        let accepted = 0.954_499_736_103_642 - 0.014_850_884_211_254_9 + 0.008_006_084_834_450_09;
        assert!(
            close(&g["conditional_pfa"], 0.008_006_084_834_450_09 / accepted, 1e-6),
            "{a}"
        );
        assert!(a["specific"].is_null());
    }
    // Guarded acceptance (±0.75 mV), a mean of 0.1 mV and a bias of 0.02 mV:
    // R_C = 0.00018864541781642, R_P = 0.106837955621187.
    let (_, a) = app
        .post_as(
            &user,
            "/api/v1/conformity/risk",
            json!({"lower_limit": "-1 mV", "upper_limit": "1 mV", "standard_uncertainty": "0.125 mV",
                   "acceptance_limits": {"lower": "-0.75 mV", "upper": "0.75 mV"},
                   "measurement_bias": "0.02 mV", "process": {"mean": "0.1 mV", "sd": "0.5 mV"}}),
        )
        .await;
    assert!(close(&a["global"]["pfa"], 0.000_188_645_417_816_42, 1e-6), "{a}");
    assert!(close(&a["global"]["pfr"], 0.106_837_955_621_187, 1e-6), "{a}");
    // Bad input names the field.
    for (body, field) in [
        (
            json!({"upper_limit": "1 mV", "standard_uncertainty": "0 mV", "measured": "0 mV"}),
            "standard_uncertainty",
        ),
        (
            json!({"upper_limit": "1 mV", "standard_uncertainty": "1 mV"}),
            "measured",
        ),
        (
            json!({"standard_uncertainty": "1 mV", "measured": "0 mV"}),
            "upper_limit",
        ),
        (
            json!({"upper_limit": "1 mV", "standard_uncertainty": "1 kg", "measured": "0 mV"}),
            "standard_uncertainty",
        ),
        (
            json!({"upper_limit": "1 mV", "standard_uncertainty": "0.1 mV",
                "process": {"mean": "0 mV", "in_tolerance_probability": 0.3}}),
            "process.in_tolerance_probability",
        ),
        (
            json!({"upper_limit": "1 mV", "standard_uncertainty": "0.1 mV", "process": {"mean": "0 mV"}}),
            "process.sd",
        ),
    ] {
        let (status, e) = app.post_as(&user, "/api/v1/conformity/risk", body.clone()).await;
        assert_eq!(status, 422, "{body}: {e}");
        assert!(e["error"]["fields"][field].is_string(), "{body}: {e}");
    }
    assert_eq!(app.count("audit_events").await, events, "a calculator writes nothing");
}

/// The interval calculator through the API (issue 21): ILAC-G24:2022 method 1 (the
/// staircase) with metrocal's default parameters and with a laboratory's own; NCSLI RP-1
/// method A3 (the interval test) including an all-in-tolerance group; RP-1 method S2
/// with an F test that accepts and one that rejects (SciPy reference values, as in the
/// unit tests of domain::intervals).
#[rocket::async_test]
async fn the_interval_calculator_follows_ilac_g24_and_rp1() {
    let app = TestApp::demo().await;
    let user = app.user("scheduler").await;
    // Staircase from 12 months, MPE 0.2: 0.05 (≤ ½ MPE) extends to 15; 0.15 holds;
    // 0.25 (> MPE) halves to 7.5, rounded to 8 whole months; 0.0 extends to 10.
    let (status, a) = app
        .post_as(
            &user,
            "/api/v1/intervals/analyse",
            json!({"method": "staircase", "initial_interval_months": 12, "mpe": 0.2,
                   "as_found_errors": [0.05, 0.15, -0.25, 0.0]}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let actions: Vec<&str> = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["extend", "hold", "shorten", "extend"]);
    assert_eq!(a["steps"][2]["interval_unclamped_months"], 8.0);
    assert_eq!(a["final_interval_months"], 10.0);
    // A laboratory's own: extend within 0.3 of the MPE by ×1.5, shorten ×0.7, 6–18
    // months, exact: 12 → 18 (0.05), → 27 unclamped, clamped to 18 (0.0), → 12.6 (0.3).
    let (_, a) = app
        .post_as(
            &user,
            "/api/v1/intervals/analyse",
            json!({"method": "staircase", "initial_interval_months": 12, "mpe": 0.2,
                   "as_found_errors": [0.05, 0.0, 0.3],
                   "parameters": {"extend_threshold": 0.3, "extend_factor": 1.5, "shorten_factor": 0.7,
                                  "min_months": 6, "max_months": 18, "rounding": "none"}}),
        )
        .await;
    assert_eq!(a["steps"][1]["interval_unclamped_months"], 27.0, "{a}");
    assert_eq!(
        (
            a["steps"][1]["clamped"].clone(),
            a["steps"][1]["interval_after_months"].clone()
        ),
        (json!(true), json!(18.0))
    );
    assert!(close(&a["final_interval_months"], 12.6, 1e-12), "{a}");
    // A3, 12 of 20 in tolerance at 365 days, target 0.90: Clopper–Pearson 95 %
    // [0.360543, 0.808810] lies below the target: shorten; 365·ln 0.9/ln 0.6 =
    // 75.2832 days, limited by the change factor 2 to 182.5.
    let (status, a) = app
        .post_as(
            &user,
            "/api/v1/intervals/analyse",
            json!({"method": "a3", "n": 20, "in_tolerance": 12, "current_interval_days": 365,
                   "reliability_target": 0.9}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["decision"], "shorten");
    assert!(close(&a["observed_reliability"], 0.6, 1e-15));
    assert!(close(&a["confidence_interval"][0], 0.360_542_587, 1e-8), "{a}");
    assert!(close(&a["confidence_interval"][1], 0.808_809_939, 1e-8), "{a}");
    assert!(close(&a["unclamped_interval_days"], 75.283_201_205_904_19, 1e-9), "{a}");
    assert_eq!(a["new_interval_days"], 182.5);
    // All 36 in tolerance: R₀ = 1 leaves I₀·ln R*/ln R₀ undefined; the lower bound
    // 0.025^(1/36) = 0.902606 stands in: 365·ln 0.9/ln 0.902606 = 375.30 days.
    let (_, a) = app
        .post_as(
            &user,
            "/api/v1/intervals/analyse",
            json!({"method": "a3", "n": 36, "in_tolerance": 36, "current_interval_days": 365,
                   "reliability_target": 0.9, "confidence": 0.95}),
        )
        .await;
    assert_eq!(a["decision"], "extend", "{a}");
    assert!(a["unclamped_interval_days"].is_null());
    assert!(close(&a["new_interval_days"], 375.300_194_263_565_9, 1e-9), "{a}");
    // S2: accepted and rejected fits.
    let (status, a) = app
        .post_as(
            &user,
            "/api/v1/intervals/analyse",
            json!({"method": "s2", "reliability_target": 0.9, "groups": [
                {"interval": 6, "n": 50, "in_tolerance": 46}, {"interval": 12, "n": 50, "in_tolerance": 42},
                {"interval": 18, "n": 50, "in_tolerance": 38}]}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert!(close(&a["lambda"], 0.014_763_520_295_957_5, 1e-10), "{a}");
    assert!(close(&a["interval"], 7.136_544_235_095_18, 1e-9), "{a}");
    assert!(close(&a["f_test"]["f"], 0.013_621_140_332_911_8, 1e-7), "{a}");
    assert!(close(&a["f_test"]["f_critical"], 3.057_620_651_649_39, 1e-9), "{a}");
    assert_eq!(a["f_test"]["accept"], true);
    let (_, a) = app
        .post_as(
            &user,
            "/api/v1/intervals/analyse",
            json!({"method": "s2", "reliability_target": 0.9, "groups": [
                {"interval": 6, "n": 100, "in_tolerance": 70}, {"interval": 12, "n": 100, "in_tolerance": 95},
                {"interval": 24, "n": 100, "in_tolerance": 60}]}),
        )
        .await;
    assert!(close(&a["f_test"]["f"], 18.790_603_248_453_2, 1e-9), "{a}");
    assert_eq!(a["f_test"]["accept"], false);
    // Bad input names the field.
    for (body, field) in [
        (json!({"method": "guess"}), "method"),
        (
            json!({"method": "staircase", "mpe": 0.2, "as_found_errors": [0.1]}),
            "initial_interval_months",
        ),
        (
            json!({"method": "staircase", "initial_interval_months": 12, "mpe": 0.2, "as_found_errors": [0.1],
                "parameters": {"rounding": "weekly"}}),
            "parameters.rounding",
        ),
        (
            json!({"method": "a3", "n": 10, "in_tolerance": 11, "current_interval_days": 365}),
            "in_tolerance",
        ),
        (
            json!({"method": "a3", "n": 10, "in_tolerance": 9, "current_interval_days": 365, "confidence": 1.5}),
            "confidence",
        ),
        (
            json!({"method": "s2", "groups": [{"interval": 6, "n": 5, "in_tolerance": 6}]}),
            "groups[0].in_tolerance",
        ),
        (
            json!({"method": "s2", "groups": [{"interval": 6, "n": 5, "in_tolerance": 5}]}),
            "groups",
        ),
    ] {
        let (status, e) = app.post_as(&user, "/api/v1/intervals/analyse", body.clone()).await;
        assert_eq!(status, 422, "{body}: {e}");
        assert!(e["error"]["fields"][field].is_string(), "{body}: {e}");
    }
}
