//! Monte Carlo propagation of distributions (JCGM 101; JJF 1059.2): seeded and
//! reproducible, in parallel on all cores, with the probabilistically symmetric and
//! the shortest coverage intervals and the validation of the GUM framework (§8).

use super::model::Model;
use super::problem::Distribution;
use rand::distr::StandardUniform;
use rand::SeedableRng;
use rand_distr::{Distribution as _, StandardNormal, StudentT};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Trials are drawn in blocks of this many; each block has its own random stream
/// (seed, block number), so the result does not depend on the number of threads.
pub(crate) const BLOCK: usize = 8192;

/// Fills `col` with draws of one input (JCGM 101 §6.4). Normal inputs that take part
/// in a correlation get their (already correlated) standard normals in `normals`.
fn fill(d: &Distribution, rng: &mut Xoshiro256PlusPlus, col: &mut [f64], normals: Option<&[f64]>) {
    // Every draw goes through an iterator, which the compiler inlines into the loop (a
    // call per draw costs as much again as the draw).
    let mut r = StandardUniform.sample_iter(&mut *rng).map(|r: f64| r * 2.0 - 1.0); // on [−1, 1)
    let mut uniform = move || r.next().expect("an endless stream");
    match *d {
        Distribution::Normal { mu, sigma } => match normals {
            Some(z) => col.iter_mut().zip(z).for_each(|(c, z)| *c = mu + sigma * z),
            None => col
                .iter_mut()
                .zip(StandardNormal.sample_iter(rng))
                .for_each(|(c, z): (&mut f64, f64)| *c = mu + sigma * z),
        },
        Distribution::Rectangular { mu, a } => col.iter_mut().for_each(|c| *c = mu + a * uniform()),
        // The sum of two rectangles of half-width a/2 (JCGM 101 §6.4.5).
        Distribution::Triangular { mu, a } => col.iter_mut().for_each(|c| *c = mu + a * 0.5 * (uniform() + uniform())),
        // JCGM 101 §6.4.6: x + a·sin(2πr), r on [0, 1).
        Distribution::Arcsine { mu, a } => col
            .iter_mut()
            .for_each(|c| *c = mu + a * (std::f64::consts::PI * (uniform() + 1.0)).sin()),
        // JCGM 101 §6.4.4: the sum of two rectangles of half-widths a(1+β)/2 and a(1−β)/2.
        Distribution::Trapezoidal { mu, a, beta } => col
            .iter_mut()
            .for_each(|c| *c = mu + a * 0.5 * ((1.0 + beta) * uniform() + (1.0 - beta) * uniform())),
        // JCGM 101 §6.4.3: the half-width is drawn from [a − d, a + d] first.
        Distribution::CurvilinearTrapezoid { mu, a, d } => col.iter_mut().for_each(|c| {
            let half = a + d * uniform();
            *c = mu + half * uniform()
        }),
        // JCGM 101 §6.4.9: x + s·t_ν.
        Distribution::StudentT { mu, scale, dof } => {
            let t = StudentT::new(dof).expect("ν > 0");
            col.iter_mut()
                .zip(t.sample_iter(rng))
                .for_each(|(c, v)| *c = mu + scale * v)
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
/// inner loops simple enough for the compiler to vectorise. `threads` draw the blocks;
/// None when `stop` was set before every block was drawn.
#[allow(clippy::too_many_arguments)]
pub fn simulate(
    model: &Model,
    outputs: &[usize],
    inputs: &[Distribution],
    correlated: &Correlated,
    trials: usize,
    seed: u64,
    threads: usize,
    stop: &super::Stop,
) -> Option<Vec<Vec<f64>>> {
    use std::sync::atomic::Ordering;
    let blocks = trials.div_ceil(BLOCK);
    let threads = threads.max(1).min(blocks.max(1));
    // Block b draws from the generator seeded with `seed` and advanced by b jumps of 2¹²⁸
    // steps: non-overlapping streams, whichever core draws them.
    let mut stream = Xoshiro256PlusPlus::seed_from_u64(seed);
    let streams: Vec<Xoshiro256PlusPlus> = (0..blocks)
        .map(|_| {
            let this = stream.clone();
            stream.jump();
            this
        })
        .collect();
    let mut all: Vec<Vec<f64>> = vec![vec![0.0; trials]; outputs.len()];
    // The blocks are handed out one at a time to whichever core is free (a core that
    // another program holds up takes fewer), each with its generator and its part of the
    // results.
    let mut parts: Vec<Vec<&mut [f64]>> = (0..blocks).map(|_| Vec::with_capacity(outputs.len())).collect();
    for column in all.iter_mut() {
        for (part, chunk) in parts.iter_mut().zip(column.chunks_mut(BLOCK)) {
            part.push(chunk);
        }
    }
    let work = std::sync::Mutex::new(streams.into_iter().zip(parts));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
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
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = work.lock().expect("no drawing thread panics holding the work").next();
                    let Some((mut rng, mut out)) = next else { break };
                    let n = out.first().map_or(0, |c| c.len());
                    // Jointly drawn normals: independent first, then z = L·n.
                    z[..m * BLOCK]
                        .iter_mut()
                        .zip(StandardNormal.sample_iter(&mut rng))
                        .for_each(|(v, n): (&mut f64, f64)| *v = n);
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
                    for (o, &op) in outputs.iter().enumerate() {
                        out[o].copy_from_slice(&tape[op * BLOCK..op * BLOCK + n]);
                    }
                }
            });
        }
    });
    (!stop.load(Ordering::Relaxed)).then_some(all)
}

/// The adaptive procedure of JCGM 101 §7.9.4: blocks of trials until twice the
/// standard deviation of each block statistic (mean, standard uncertainty, both ends
/// of the symmetric interval) is within the numerical tolerance δ of the standard
/// uncertainty from all trials so far, for every measurand. `run(h)` simulates block h;
/// `units` gives each measurand's (factor, offset) so δ is taken in its own unit.
/// Returns every trial's values and the number of blocks; None when a block was stopped.
pub fn adaptive(
    run: impl Fn(u64) -> Option<Vec<Vec<f64>>>,
    measurands: usize,
    p: f64,
    digits: u32,
    min_blocks: u64,
    max_blocks: u64,
    units: &[(f64, f64)],
) -> Option<(Vec<Vec<f64>>, u64, bool)> {
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); measurands];
    // Per measurand, per block: mean, u, low, high (in the measurand's unit).
    let mut stats: Vec<Vec<[f64; 4]>> = vec![Vec::new(); measurands];
    let mut h = 0;
    loop {
        let block = run(h)?;
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
        // At the most blocks the limits allow, the run stops and says it had not
        // converged (JCGM 101 §7.9.4), rather than passing for a stable result.
        if stable || h >= max_blocks {
            return Some((all, h, stable));
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
/// Reorders `values`. Every figure is independent of the number of cores.
pub fn summarise(values: &mut [f64], p: f64) -> Summary {
    let m = values.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let mean = map_runs(values, threads, |r| r.iter().sum::<f64>()).iter().sum::<f64>() / m as f64;
    // JCGM 101 §7.7.2: q = pM rounded to the nearest integer (pM + 1/2 truncated).
    let q = ((p * m as f64) + 0.5).floor() as usize;
    let q = q.clamp(1, m);
    let t = m - q; // the candidate starts r = 1, …, M − q
    let hi = m - t - 1; // 0-based rank of y(q)
                        // Only the order statistics y(1…t+1) and y(q…M) are needed (a full sort of 10⁶
                        // values costs more than the rest of the evaluation).
    let (squares, tails) = spread_and_tails(values, mean, t + 1, threads);
    let var = squares / (m as f64 - 1.0).max(1.0);
    let (lower, upper) = tails.unwrap_or_else(|| order_statistics(values, t + 1, threads));
    // The i-th smallest value (0-based), for i ≤ t or i ≥ hi.
    let at = |i: usize| if i >= hi { upper[i - hi] } else { lower[i] };
    // Probabilistically symmetric (§7.7.2): r = (M − q)/2 when that is whole, else the
    // integer part of (M − q + 1)/2; the ends are y(r) and y(r+q) (1-based).
    let r = (((m - q) as f64) / 2.0 + 0.5).floor() as usize;
    let r = r.clamp(1, m - q + 1);
    let symmetric = (at(r - 1), at((r + q - 1).min(m - 1)));
    // Shortest (JCGM 101 §7.7.2): [y(r*), y(r*+q)] with r* minimising y(r+q) − y(r),
    // r = 1, …, M − q.
    let mut best = (f64::INFINITY, 0);
    for start in 0..t {
        let w = at(start + q) - at(start);
        if w < best.0 {
            best = (w, start);
        }
    }
    let shortest = (at(best.1), at((best.1 + q).min(m - 1)));
    Summary {
        mean,
        standard_uncertainty: var.sqrt(),
        interval: symmetric,
        shortest_interval: shortest,
    }
}

/// Values are summed, and their tails picked out, in runs of this many: each run by one
/// core, the runs' results combined in order, so every figure is the same bits on any
/// number of cores.
const RUN: usize = 1 << 14;

/// `f` of each run of [`RUN`] values, in parallel, the results in order.
fn map_runs<R: Send>(values: &mut [f64], threads: usize, f: impl Fn(&mut [f64]) -> R + Sync) -> Vec<R> {
    let mut runs: Vec<&mut [f64]> = values.chunks_mut(RUN).collect();
    if threads < 2 || runs.len() < 4 {
        return runs.into_iter().map(f).collect();
    }
    let per = runs.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .chunks_mut(per)
            .map(|mine| s.spawn(move || mine.iter_mut().map(|r| f(r)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a summarising thread does not panic"))
            .collect()
    })
}

/// The k smallest and the k largest values, each sorted ascending.
type Tails = (Vec<f64>, Vec<f64>);

/// Σ (v − mean)², and (in the same pass over the values) the `k` smallest and `k` largest
/// values, each sorted ascending, when thresholds read from an evenly spaced sample (with
/// a wide margin) leave few enough candidates beyond them. The tails are exact whenever
/// each side kept at least k values (the k most extreme are then all among them), and
/// None otherwise, or when the tails are too large for this to pay: the caller then
/// selects over everything.
fn spread_and_tails(values: &mut [f64], mean: f64, k: usize, threads: usize) -> (f64, Option<Tails>) {
    let limits = tail_limits(values, k);
    let runs = map_runs(values, threads, |run| {
        let squares = run.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>();
        // Each run moves its candidates to its ends: [low … | middle | … high].
        let (low, high) = limits.map_or((0, run.len()), |(a, b)| partition_tails(run, a, b));
        (squares, low, high)
    });
    let squares = runs.iter().map(|r| r.0).sum();
    let tails = limits.and_then(|_| {
        let parts: Vec<(&[f64], &[f64])> = values
            .chunks(RUN)
            .zip(&runs)
            .map(|(run, &(_, low, high))| (&run[..low], &run[high..]))
            .collect();
        merge_tails(&parts, k)
    });
    (squares, tails)
}

/// Thresholds below and above which the k smallest and k largest values are expected
/// to lie, with a margin, from an evenly spaced sample of 4096; None when the values are
/// too few, or the tails too thick, for a filtering pass to pay.
fn tail_limits(values: &[f64], k: usize) -> Option<(f64, f64)> {
    let m = values.len();
    if m < PARALLEL_SELECT || k.saturating_mul(8) > m {
        return None;
    }
    let mut sample: Vec<f64> = values.iter().step_by((m / 4096).max(1)).copied().collect();
    sample.sort_unstable_by(f64::total_cmp);
    let n = sample.len();
    // Expected k/m·n sample values below the k-th smallest; keep 30 % more, and some.
    let at = ((k as f64 / m as f64 * 1.3 + 0.002) * n as f64).ceil() as usize;
    (at < n / 2).then(|| (sample[at], sample[n - 1 - at]))
}

/// Moves the values ≤ `low` to the front of `run` and those ≥ `high` (and > `low`) to its
/// back; returns where the middle begins and ends.
fn partition_tails(run: &mut [f64], low: f64, high: f64) -> (usize, usize) {
    let (mut front, mut i, mut back) = (0, 0, run.len());
    while i < back {
        let v = run[i];
        if v.total_cmp(&low).is_le() {
            run.swap(front, i);
            front += 1;
            i += 1;
        } else if v.total_cmp(&high).is_ge() {
            back -= 1;
            run.swap(i, back);
        } else {
            i += 1;
        }
    }
    (front, back)
}

/// The `k` smallest and the `k` largest values, each sorted ascending. With several
/// cores and many values, each core selects the candidates of its own part (the k
/// smallest and k largest there), and the answer is selected from the candidates: the
/// values are unique order statistics, so this is exact.
fn order_statistics(values: &mut [f64], k: usize, threads: usize) -> (Vec<f64>, Vec<f64>) {
    let cmp = |a: &f64, b: &f64| a.total_cmp(b);
    let m = values.len();
    let part = m.div_ceil(threads.max(1));
    // Moves the k smallest to the front and the k largest to the back.
    let ends = |v: &mut [f64]| {
        let n = v.len();
        let k = k.min(n);
        if 2 * k >= n {
            v.sort_unstable_by(cmp);
            return;
        }
        v.select_nth_unstable_by(k - 1, cmp);
        let rest = &mut v[k..];
        let r = rest.len();
        rest.select_nth_unstable_by(r - k, cmp);
    };
    if threads >= 2 && m >= PARALLEL_SELECT && 2 * k < part {
        std::thread::scope(|s| {
            for c in values.chunks_mut(part) {
                s.spawn(move || ends(c));
            }
        });
        let parts: Vec<(&[f64], &[f64])> = values
            .chunks(part)
            .map(|c| (&c[..k.min(c.len())], &c[c.len() - k.min(c.len())..]))
            .collect();
        return merge_tails(&parts, k).expect("every part kept its k most extreme values");
    }
    ends(values);
    let k = k.min(m);
    let (mut low, mut high) = (values[..k].to_vec(), values[m - k..].to_vec());
    radsort::sort(&mut low);
    radsort::sort(&mut high);
    (low, high)
}

/// The k smallest of the low candidates and the k largest of the high ones, found in
/// parts, each sorted (one core each); None when a side has fewer than k.
fn merge_tails(parts: &[(&[f64], &[f64])], k: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let cmp = |a: &f64, b: &f64| a.total_cmp(b);
    let mut low: Vec<f64> = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    let mut high: Vec<f64> = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
    for (l, h) in parts {
        low.extend_from_slice(l);
        high.extend_from_slice(h);
    }
    if low.len() < k || high.len() < k {
        return None;
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            low.select_nth_unstable_by(k - 1, cmp);
            low.truncate(k);
            radsort::sort(&mut low);
        });
        let n = high.len();
        high.select_nth_unstable_by(n - k, cmp);
        high.drain(..n - k);
        radsort::sort(&mut high);
    });
    Some((low, high))
}

/// From this many trials on, the ends of the coverage intervals are selected on every
/// core.
const PARALLEL_SELECT: usize = 100_000;

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
/// (JCGM 101 §7.9.2): u = c × 10^l with c a `digits`-digit integer; δ = 10^l / 2. The
/// exponent is read off u as rounded to those digits, so that 0.0996 at two digits is
/// 10 × 10⁻² (δ = 0.005), not 99.6 × 10⁻³.
pub fn tolerance(u: f64, digits: u32) -> f64 {
    if u.is_nan() || u <= 0.0 {
        return 0.0;
    }
    let rounded = crate::domain::units::round_sig(u, digits as i32);
    let l = rounded.log10().floor() as i32 - (digits as i32 - 1);
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
        // Issue 21: a mantissa of 9.95–9.99 rounds up to the next decade. u = 0.0996 at
        // 2 digits is 10 × 10⁻² (§7.9.2's c must have 2 digits), so δ = 0.005, not 0.0005.
        assert!((tolerance(0.0996, 2) - 0.005).abs() < 1e-15);
        assert!((tolerance(0.0995, 2) - 0.005).abs() < 1e-15);
        assert!((tolerance(0.0994, 2) - 0.0005).abs() < 1e-15);
        assert!((tolerance(9.97, 1) - 5.0).abs() < 1e-12);
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

    #[test]
    fn the_ends_found_in_parts_are_those_of_a_full_sort() {
        // Values with many ties, in a scrambled order.
        let base: Vec<f64> = (0..300_001u64)
            .map(|i| ((i * 7919) % 100_003) as f64 / 7.0)
            .map(f64::floor)
            .collect();
        let mut sorted = base.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        for threads in [1, 2, 3, 8] {
            for k in [1, 13_651, 40_000] {
                let mut v = base.clone();
                let (low, high) = order_statistics(&mut v, k, threads);
                let (squares, fast) = spread_and_tails(&mut base.clone(), 1.5, k, threads);
                let (one_core, _) = spread_and_tails(&mut base.clone(), 1.5, k, 1);
                assert_eq!(
                    squares.to_bits(),
                    one_core.to_bits(),
                    "the same sum on any number of cores"
                );
                assert_eq!(
                    fast.is_some(),
                    k != 40_000,
                    "the one-pass path is taken for thin tails only"
                );
                if let Some((l, h)) = fast {
                    assert_eq!((l, h), (low.clone(), high.clone()), "the one-pass path agrees");
                }
                assert_eq!(low, sorted[..k], "threads {threads}, k {k}");
                assert_eq!(high, sorted[sorted.len() - k..], "threads {threads}, k {k}");
            }
            // The sums, and so the mean, are the same bits whatever the number of cores.
            let sum = |threads| {
                map_runs(&mut base.clone(), threads, |r| r.iter().sum::<f64>())
                    .iter()
                    .sum::<f64>()
            };
            assert_eq!(sum(threads).to_bits(), sum(1).to_bits());
        }
    }
}
