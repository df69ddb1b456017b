//! Monte Carlo propagation of distributions (JCGM 101; JJF 1059.2): seeded and
//! reproducible, in parallel on all cores, with the probabilistically symmetric and
//! the shortest coverage intervals and the validation of the GUM framework (§8).

use super::model::Model;
use super::problem::Distribution;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, StandardNormal, StudentT};

/// Trials are drawn in blocks of this many; each block has its own random stream
/// (seed, block number), so the result does not depend on the number of threads.
const BLOCK: usize = 8192;

/// Fills `col` with draws of one input (JCGM 101 §6.4). Normal inputs that take part
/// in a correlation get their (already correlated) standard normals in `normals`.
fn fill(d: &Distribution, rng: &mut ChaCha8Rng, col: &mut [f64], normals: Option<&[f64]>) {
    let uniform = |rng: &mut ChaCha8Rng| rng.random::<f64>() * 2.0 - 1.0; // on [−1, 1)
    match *d {
        Distribution::Normal { mu, sigma } => match normals {
            Some(z) => col.iter_mut().zip(z).for_each(|(c, z)| *c = mu + sigma * z),
            None => col
                .iter_mut()
                .for_each(|c| *c = mu + sigma * rng.sample::<f64, _>(StandardNormal)),
        },
        Distribution::Rectangular { mu, a } => col.iter_mut().for_each(|c| *c = mu + a * uniform(rng)),
        // The sum of two rectangles of half-width a/2 (JCGM 101 §6.4.5).
        Distribution::Triangular { mu, a } => col
            .iter_mut()
            .for_each(|c| *c = mu + a * 0.5 * (uniform(rng) + uniform(rng))),
        // JCGM 101 §6.4.6: x + a·sin(2πr).
        Distribution::Arcsine { mu, a } => col
            .iter_mut()
            .for_each(|c| *c = mu + a * (std::f64::consts::TAU * rng.random::<f64>()).sin()),
        // JCGM 101 §6.4.4: the sum of two rectangles of half-widths a(1+β)/2 and a(1−β)/2.
        Distribution::Trapezoidal { mu, a, beta } => col
            .iter_mut()
            .for_each(|c| *c = mu + a * 0.5 * ((1.0 + beta) * uniform(rng) + (1.0 - beta) * uniform(rng))),
        // JCGM 101 §6.4.3: the half-width is drawn from [a − d, a + d] first.
        Distribution::CurvilinearTrapezoid { mu, a, d } => col.iter_mut().for_each(|c| {
            let half = a + d * uniform(rng);
            *c = mu + half * uniform(rng)
        }),
        // JCGM 101 §6.4.9: x + s·t_ν.
        Distribution::StudentT { mu, scale, dof } => {
            let t = StudentT::new(dof).expect("ν > 0");
            col.iter_mut().for_each(|c| *c = mu + scale * t.sample(rng))
        }
        Distribution::Constant(v) => col.fill(v),
    }
}

/// Correlated inputs (JCGM 101 §6.4.8): the normal inputs that take part in a
/// correlation are drawn jointly, z = L·n with L the Cholesky factor of their
/// correlation matrix.
pub struct Correlated {
    /// Input indices (into the model's inputs) drawn jointly.
    pub members: Vec<usize>,
    /// Lower-triangular factor, row-major, members × members.
    pub lower: Vec<f64>,
}

/// The output values of every trial, one vector per measurand. Each block of trials
/// is drawn input by input and the model evaluated over whole columns, which keeps the
/// inner loops simple enough for the compiler to vectorise.
pub fn simulate(
    model: &Model,
    outputs: &[usize],
    inputs: &[Distribution],
    correlated: &Correlated,
    trials: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let blocks = trials.div_ceil(BLOCK);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(blocks.max(1));
    let per_thread = blocks.div_ceil(threads);
    // Every thread writes its blocks straight into its own part of the results.
    let mut all: Vec<Vec<f64>> = vec![vec![0.0; trials]; outputs.len()];
    let mut parts: Vec<Vec<&mut [f64]>> = (0..threads).map(|_| Vec::new()).collect();
    for column in all.iter_mut() {
        let mut rest: &mut [f64] = column;
        for (t, part) in parts.iter_mut().enumerate() {
            let start = (t * per_thread * BLOCK).min(trials);
            let end = ((t + 1) * per_thread * BLOCK).min(trials);
            let (mine, tail) = rest.split_at_mut(end - start);
            part.push(mine);
            rest = tail;
        }
    }
    std::thread::scope(|s| {
        for (t, mut out) in parts.into_iter().enumerate() {
            s.spawn(move || {
                let first = t * per_thread;
                let last = ((t + 1) * per_thread).min(blocks);
                let m = correlated.members.len();
                // The tape column of each input's operation, where its draws go.
                let input_op: Vec<usize> = (0..inputs.len())
                    .map(|k| {
                        model
                            .ops
                            .iter()
                            .position(|op| matches!(op, super::model::Op::Input(x) if *x == k))
                            .expect("every model input has its operation")
                    })
                    .collect();
                let mut tape = vec![0.0; model.ops.len() * BLOCK];
                let mut z = vec![0.0; m * BLOCK];
                let mut joint = vec![0.0; m * BLOCK];
                for b in first..last {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(b as u64);
                    let n = BLOCK.min(trials - b * BLOCK);
                    // Jointly drawn normals: independent first, then z = L·n.
                    for v in z[..m * BLOCK].iter_mut() {
                        *v = rng.sample(StandardNormal);
                    }
                    for i in 0..m {
                        let row = &mut joint[i * BLOCK..(i + 1) * BLOCK];
                        row.fill(0.0);
                        for j in 0..=i {
                            let l = correlated.lower[i * m + j];
                            let src = &z[j * BLOCK..(j + 1) * BLOCK];
                            row.iter_mut().zip(src).for_each(|(r, v)| *r += l * v);
                        }
                    }
                    for (k, d) in inputs.iter().enumerate() {
                        let normals = correlated
                            .members
                            .iter()
                            .position(|&x| x == k)
                            .map(|i| &joint[i * BLOCK..i * BLOCK + n]);
                        let at = input_op[k] * BLOCK;
                        fill(d, &mut rng, &mut tape[at..at + n], normals);
                    }
                    model.eval_columns(BLOCK, n, &mut tape);
                    let at = (b - first) * BLOCK;
                    for (o, &op) in outputs.iter().enumerate() {
                        out[o][at..at + n].copy_from_slice(&tape[op * BLOCK..op * BLOCK + n]);
                    }
                }
            });
        }
    });
    all
}

/// The adaptive procedure of JCGM 101 §7.9.4: blocks of trials until twice the
/// standard deviation of each block statistic (mean, standard uncertainty, both ends
/// of the symmetric interval) is within the numerical tolerance δ of the standard
/// uncertainty from all trials so far, for every measurand. `run(h)` simulates block h;
/// `units` gives each measurand's (factor, offset) so δ is taken in its own unit.
/// Returns every trial's values and the number of blocks.
pub fn adaptive(
    run: impl Fn(u64) -> Vec<Vec<f64>>,
    measurands: usize,
    p: f64,
    digits: u32,
    min_blocks: u64,
    max_blocks: u64,
    units: &[(f64, f64)],
) -> (Vec<Vec<f64>>, u64) {
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); measurands];
    // Per measurand, per block: mean, u, low, high (in the measurand's unit).
    let mut stats: Vec<Vec<[f64; 4]>> = vec![Vec::new(); measurands];
    let mut h = 0;
    loop {
        let block = run(h);
        h += 1;
        for (j, values) in block.into_iter().enumerate() {
            let (factor, offset) = units[j];
            let mut sorted = values.clone();
            let s = summarise(&mut sorted, p);
            let to = |v: f64| v / factor - offset;
            stats[j].push([
                to(s.mean),
                s.standard_uncertainty / factor,
                to(s.interval.0),
                to(s.interval.1),
            ]);
            all[j].extend(values);
        }
        if h < min_blocks {
            continue;
        }
        let stable = (0..measurands).all(|j| {
            let n = all[j].len() as f64;
            let mean = all[j].iter().sum::<f64>() / n;
            let u = (all[j].iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() / units[j].0;
            let delta = tolerance(u, digits);
            (0..4).all(|k| {
                let xs: Vec<f64> = stats[j].iter().map(|s| s[k]).collect();
                let hh = xs.len() as f64;
                let avg = xs.iter().sum::<f64>() / hh;
                // The standard deviation of the average of h block values (§7.9.4 f).
                let s = (xs.iter().map(|x| (x - avg).powi(2)).sum::<f64>() / (hh * (hh - 1.0))).sqrt();
                2.0 * s <= delta
            })
        });
        if stable || h >= max_blocks {
            return (all, h);
        }
    }
}

/// Summary of one output (JCGM 101 §7.6, §7.7).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub mean: f64,
    pub standard_uncertainty: f64,
    pub interval: (f64, f64),
    pub shortest_interval: (f64, f64),
}

/// Mean, standard deviation and coverage intervals of the values for probability p.
/// Reorders `values`.
pub fn summarise(values: &mut [f64], p: f64) -> Summary {
    let m = values.len();
    let mean = values.iter().sum::<f64>() / m as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m as f64 - 1.0).max(1.0);
    // JCGM 101 §7.7.2: q = pM rounded to the nearest integer (pM + 1/2 truncated).
    let q = ((p * m as f64) + 0.5).floor() as usize;
    let q = q.clamp(1, m);
    let t = m - q; // the candidate starts r = 1, …, M − q
                   // Only the order statistics y(1…t+1) and y(q…M) are needed: partition around them
                   // and sort just those two ends (a full sort of 10⁶ values costs more than the rest).
    if q >= t + 2 {
        values.select_nth_unstable_by(t, |a, b| a.total_cmp(b));
        values[..=t].sort_unstable_by(|a, b| a.total_cmp(b));
        let hi = m - t - 1;
        values[t + 1..].select_nth_unstable_by(hi - (t + 1), |a, b| a.total_cmp(b));
        values[hi..].sort_unstable_by(|a, b| a.total_cmp(b));
    } else {
        values.sort_unstable_by(|a, b| a.total_cmp(b));
    }
    // Probabilistically symmetric (§7.7.2): r = (M − q)/2 when that is whole, else the
    // integer part of (M − q + 1)/2; the ends are y(r) and y(r+q) (1-based).
    let r = (((m - q) as f64) / 2.0 + 0.5).floor() as usize;
    let r = r.clamp(1, m - q + 1);
    let symmetric = (values[r - 1], values[(r + q - 1).min(m - 1)]);
    // Shortest (JCGM 101 §7.7.2): [y(r*), y(r*+q)] with r* minimising y(r+q) − y(r),
    // r = 1, …, M − q.
    let mut best = (f64::INFINITY, 0);
    for start in 0..t {
        let w = values[start + q] - values[start];
        if w < best.0 {
            best = (w, start);
        }
    }
    let shortest = (values[best.1], values[(best.1 + q).min(m - 1)]);
    Summary {
        mean,
        standard_uncertainty: var.sqrt(),
        interval: symmetric,
        shortest_interval: shortest,
    }
}

/// The trials counted into `bins` equal bins over the symmetric coverage interval
/// widened by 30 % of its width each side (about ±3.2 u for a normal output), within the
/// smallest and largest trial. Returns (low, high, counts, below, above); None when
/// every trial has the same value. `values` is as [`summarise`] left it (any order).
#[allow(clippy::type_complexity)]
pub fn histogram(values: &[f64], s: &Summary, bins: usize) -> Option<(f64, f64, Vec<u64>, u64, u64)> {
    let (lo, hi) = s.interval;
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let spread = 0.3 * (hi - lo);
    let low = (lo - spread).max(min);
    let high = (hi + spread).min(max);
    if high.partial_cmp(&low) != Some(std::cmp::Ordering::Greater) || bins == 0 {
        return None;
    }
    let mut counts = vec![0u64; bins];
    let (mut below, mut above) = (0, 0);
    let scale = bins as f64 / (high - low);
    for &v in values {
        if v < low {
            below += 1;
        } else if v > high {
            above += 1;
        } else {
            counts[(((v - low) * scale) as usize).min(bins - 1)] += 1;
        }
    }
    Some((low, high, counts, below, above))
}

/// The numerical tolerance δ of a standard uncertainty at `digits` significant digits
/// (JCGM 101 §7.9.2): u = c × 10^l with c a `digits`-digit integer; δ = 10^l / 2.
pub fn tolerance(u: f64, digits: u32) -> f64 {
    if u.is_nan() || u <= 0.0 {
        return 0.0;
    }
    let l = u.log10().floor() as i32 - (digits as i32 - 1);
    0.5 * 10f64.powi(l)
}

/// JCGM 101 §8.2: the GUM interval y ± U is validated when both of its ends are
/// within δ of the Monte Carlo interval's ends.
pub fn gum_validated(y: f64, big_u: f64, interval: (f64, f64), delta: f64) -> bool {
    ((y - big_u) - interval.0).abs() <= delta && ((y + big_u) - interval.1).abs() <= delta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_follows_jcgm_101_7_9_2() {
        // JCGM 101 §7.9.2: with 2 significant digits, u = 0.0539 is 54 × 10^-3, so δ = 0.5 × 10^-3.
        assert!((tolerance(0.0539, 2) - 0.0005).abs() < 1e-15);
        assert!((tolerance(2.0, 2) - 0.05).abs() < 1e-15);
        assert!((tolerance(2.0, 1) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn intervals_of_a_known_sample() {
        // 1..=100 with p = 0.95: q = 95, (M − q)/2 = 2.5 so r = 3: [y(3), y(98)].
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = summarise(&mut v, 0.95);
        assert_eq!(s.interval, (3.0, 98.0));
        assert_eq!(s.shortest_interval.1 - s.shortest_interval.0, 95.0);
        assert!((s.mean - 50.5).abs() < 1e-12);
        // Skewed values: the shortest interval sits where they are densest.
        let mut v: Vec<f64> = (0..1000).map(|i| (f64::from(i) / 1000.0).powi(3)).collect();
        let s = summarise(&mut v, 0.9);
        assert_eq!(s.shortest_interval.0, 0.0);
        assert!(s.shortest_interval.1 < s.interval.1);
    }
}
