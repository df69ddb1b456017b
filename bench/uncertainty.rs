//! Timings of the uncertainty engine, for bench/uncertainty.sh: the GUM framework on
//! sum and product models of 10, 100 and 1000 inputs, and Monte Carlo with 10⁶ trials
//! on GUM H.1. Each figure is the median (and min–max) of repeated runs, in ms,
//! including parsing the problem and checking its inputs.

use metrocal::domain::uncertainty::{evaluate, Problem};

// The allocator of the metrocal binary (src/main.rs), so the figures are the app's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;

fn time(runs: usize, f: impl Fn()) -> (f64, f64, f64) {
    f(); // warm-up
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
}

fn model_problem(n: usize, op: &str) -> Problem {
    let names: Vec<String> = (1..=n).map(|i| format!("x{i}")).collect();
    let inputs: Vec<serde_json::Value> = names
        .iter()
        .map(|x| serde_json::json!({"name": x, "value": 1.0, "unit": "", "uncertainty": {"kind": "normal", "u": 0.01}}))
        .collect();
    let json = serde_json::json!({
        "measurands": [{"name": "y", "unit": ""}],
        "model": format!("y = {}", names.join(op)),
        "inputs": inputs,
    });
    serde_json::from_value(json).unwrap()
}

fn main() {
    // `gum` or `mc` runs only that part (for profiling); nothing runs both.
    let only = std::env::args().nth(1);
    let wants = |part: &str| only.as_deref().is_none_or(|o| o == part);
    println!("case\tmedian_ms\tmin_ms\tmax_ms");
    for n in [10, 100, 1000].into_iter().filter(|_| wants("gum")) {
        for (name, op) in [("sum", " + "), ("product", " * ")] {
            let p = model_problem(n, op);
            let runs = if n == 1000 { 51 } else { 201 };
            let (med, lo, hi) = time(runs, || {
                evaluate(&p).unwrap();
            });
            println!("gum {name} {n}\t{med:.4}\t{lo:.4}\t{hi:.4}");
        }
    }
    if !wants("mc") {
        return;
    }
    let h1: Problem =
        serde_json::from_str(include_str!("../calibration-data/uncertainty/gum-h1-end-gauge.json")).unwrap();
    let mut mc = h1.clone();
    mc.monte_carlo = Some(serde_json::from_value(serde_json::json!({"trials": 1000000, "seed": 1})).unwrap());
    let (med, lo, hi) = time(11, || {
        evaluate(&mc).unwrap();
    });
    println!("monte carlo H.1 1e6\t{med:.1}\t{lo:.1}\t{hi:.1}");
}
