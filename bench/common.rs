//! What the benchmark programs share: the line each case prints.

/// Prints a case's median, minimum, 90th percentile and maximum (ms) and its run count,
/// tab-separated under the header `case median_ms min_ms p90_ms max_ms runs`.
pub fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{}",
        q(0.5),
        ms[0],
        q(0.9),
        ms[ms.len() - 1],
        ms.len()
    );
}
