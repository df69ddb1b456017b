//! Truncated Taylor polynomials in two infinitesimals (total order ≤ 3), for the exact
//! second and third derivatives of a model that the GUM's second-order terms need
//! (JCGM 100 §5.1.2, note). Evaluating f(x + ε₁eᵢ + ε₂eⱼ) gives
//! ∂²f/∂xᵢ∂xⱼ = c₁₁ and ∂³f/∂xᵢ∂xⱼ² = 2·c₁₂.

use super::model::{Func, Model, Op};

/// Coefficients c[a][b] of ε₁^a ε₂^b, a + b ≤ 3 (unused entries stay 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jet(pub [[f64; 4]; 4]);

impl Jet {
    pub fn constant(v: f64) -> Jet {
        let mut c = [[0.0; 4]; 4];
        c[0][0] = v;
        Jet(c)
    }

    fn value(&self) -> f64 {
        self.0[0][0]
    }

    fn add(&self, o: &Jet) -> Jet {
        let mut c = self.0;
        for (a, row) in c.iter_mut().enumerate() {
            for (b, v) in row.iter_mut().enumerate() {
                *v += o.0[a][b];
            }
        }
        Jet(c)
    }

    fn scale(&self, k: f64) -> Jet {
        let mut c = self.0;
        for v in c.iter_mut().flatten() {
            *v *= k;
        }
        Jet(c)
    }

    fn mul(&self, o: &Jet) -> Jet {
        let mut c = [[0.0; 4]; 4];
        for a1 in 0..=3 {
            for b1 in 0..=(3 - a1) {
                let p = self.0[a1][b1];
                if p == 0.0 {
                    continue;
                }
                for a2 in 0..=(3 - a1 - b1) {
                    for b2 in 0..=(3 - a1 - b1 - a2) {
                        c[a1 + a2][b1 + b2] += p * o.0[a2][b2];
                    }
                }
            }
        }
        Jet(c)
    }

    /// g(self) from g and its first three derivatives at the value.
    fn compose(&self, g: [f64; 4]) -> Jet {
        let mut h = *self;
        h.0[0][0] = 0.0; // the infinitesimal part
        let h2 = h.mul(&h);
        let h3 = h2.mul(&h);
        Jet::constant(g[0])
            .add(&h.scale(g[1]))
            .add(&h2.scale(g[2] / 2.0))
            .add(&h3.scale(g[3] / 6.0))
    }
}

/// A function's value and first three derivatives at x.
fn derivatives(f: Func, x: f64) -> [f64; 4] {
    match f {
        Func::Sqrt => {
            let s = x.sqrt();
            [s, 0.5 / s, -0.25 / (x * s), 0.375 / (x * x * s)]
        }
        Func::Exp => {
            let e = x.exp();
            [e; 4]
        }
        Func::Ln => [x.ln(), 1.0 / x, -1.0 / (x * x), 2.0 / (x * x * x)],
        Func::Log10 => {
            let k = std::f64::consts::LN_10;
            [x.log10(), 1.0 / (x * k), -1.0 / (x * x * k), 2.0 / (x * x * x * k)]
        }
        Func::Sin => [x.sin(), x.cos(), -x.sin(), -x.cos()],
        Func::Cos => [x.cos(), -x.sin(), -x.cos(), x.sin()],
        Func::Tan => {
            let t = x.tan();
            let s = 1.0 + t * t;
            [t, s, 2.0 * t * s, 2.0 * s * (1.0 + 3.0 * t * t)]
        }
        Func::Asin | Func::Acos => {
            let w = 1.0 - x * x;
            let d = [1.0 / w.sqrt(), x / w.powf(1.5), (1.0 + 2.0 * x * x) / w.powf(2.5)];
            if f == Func::Asin {
                [x.asin(), d[0], d[1], d[2]]
            } else {
                [x.acos(), -d[0], -d[1], -d[2]]
            }
        }
        Func::Atan => {
            let w = 1.0 + x * x;
            [x.atan(), 1.0 / w, -2.0 * x / (w * w), (6.0 * x * x - 2.0) / (w * w * w)]
        }
        Func::Abs => [x.abs(), if x < 0.0 { -1.0 } else { 1.0 }, 0.0, 0.0],
    }
}

/// xᵉ and its derivatives e·xᵉ⁻¹, e(e−1)xᵉ⁻², e(e−1)(e−2)xᵉ⁻³; a derivative whose
/// coefficient is zero is zero, also at x = 0 (x² has third derivative 0, not 0·∞).
fn powc(x: f64, e: f64) -> [f64; 4] {
    let mut out = [0.0; 4];
    let mut coefficient = 1.0;
    for (k, slot) in out.iter_mut().enumerate() {
        if k > 0 {
            coefficient *= e - (k - 1) as f64;
        }
        *slot = if coefficient == 0.0 {
            0.0
        } else {
            let p = e - k as f64;
            coefficient
                * if p == p.trunc() && p.abs() <= 64.0 {
                    x.powi(p as i32)
                } else {
                    x.powf(p)
                }
        };
    }
    out
}

/// The model's operations evaluated on jets, with inputs i and j perturbed.
fn eval(model: &Model, x: &[f64], i: usize, j: usize) -> Vec<Jet> {
    let mut v: Vec<Jet> = Vec::with_capacity(model.ops.len());
    for op in &model.ops {
        let jet = match *op {
            Op::Input(k) => {
                let mut c = Jet::constant(x[k]);
                if k == i {
                    c.0[1][0] += 1.0;
                }
                if k == j {
                    c.0[0][1] += 1.0;
                }
                c
            }
            Op::Const(c) => Jet::constant(c),
            Op::Add(a, b) => v[a].add(&v[b]),
            Op::Sub(a, b) => v[a].add(&v[b].scale(-1.0)),
            Op::Mul(a, b) => v[a].mul(&v[b]),
            Op::Div(a, b) => {
                let q = v[b].value();
                v[a].mul(&v[b].compose([1.0 / q, -1.0 / (q * q), 2.0 / (q * q * q), -6.0 / (q * q * q * q)]))
            }
            Op::Powc(a, e) => v[a].compose(powc(v[a].value(), e)),
            Op::Pow(a, b) => {
                // a^b = exp(b·ln a)
                let ln = v[a].compose(derivatives(Func::Ln, v[a].value()));
                let t = v[b].mul(&ln);
                t.compose(derivatives(Func::Exp, t.value()))
            }
            Op::Neg(a) => v[a].scale(-1.0),
            Op::Call(f, a) => v[a].compose(derivatives(f, v[a].value())),
        };
        v.push(jet);
    }
    v
}

/// The second-order terms of JCGM 100 §5.1.2 (note) for output `out`:
/// Σᵢ Σⱼ [½ (∂²f/∂xᵢ∂xⱼ)² + ∂f/∂xᵢ · ∂³f/∂xᵢ∂xⱼ²] u²(xᵢ) u²(xⱼ).
pub fn second_order_terms(model: &Model, x: &[f64], u: &[f64], grad: &[f64], out: usize) -> f64 {
    let n = x.len();
    let mut sum = 0.0;
    for i in 0..n {
        if u[i] == 0.0 {
            continue;
        }
        for j in 0..n {
            if u[j] == 0.0 {
                continue;
            }
            let y = eval(model, x, i, j)[out];
            let d2 = y.0[1][1];
            let d3 = 2.0 * y.0[1][2];
            sum += (0.5 * d2 * d2 + grad[i] * d3) * u[i] * u[i] * u[j] * u[j];
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_derivatives_are_exact() {
        // f = x²·y + sin(x)·y³ at (0.7, 1.3).
        let m = Model::parse("f = x^2*y + sin(x)*y^3", &["x", "y"]).unwrap();
        let (x, y) = (0.7f64, 1.3f64);
        let out = m.output("f").unwrap();
        let xy = eval(&m, &[x, y], 0, 1)[out];
        // ∂²f/∂x∂y = 2x + 3y²cos x; ∂³f/∂x∂y² = 6y cos x.
        assert!((xy.0[1][1] - (2.0 * x + 3.0 * y * y * x.cos())).abs() < 1e-12);
        assert!((2.0 * xy.0[1][2] - 6.0 * y * x.cos()).abs() < 1e-12);
        let xx = eval(&m, &[x, y], 0, 0)[out];
        // ∂²f/∂x² = 2y − sin(x)y³; ∂³f/∂x³ = −cos(x)y³.
        assert!((xx.0[1][1] - (2.0 * y - x.sin() * y.powi(3))).abs() < 1e-12);
        assert!((2.0 * xx.0[1][2] + x.cos() * y.powi(3)).abs() < 1e-12);
        // Quotients, roots and logarithms through the series.
        let m = Model::parse("f = sqrt(x)/y + ln(x*y) + x^y", &["x", "y"]).unwrap();
        let out = m.output("f").unwrap();
        let j = eval(&m, &[x, y], 0, 1)[out];
        // ∂²/∂x∂y: −1/(2√x y²) + 0 + x^(y−1)(1 + y ln x).
        let want = -0.5 / (x.sqrt() * y * y) + x.powf(y - 1.0) * (1.0 + y * x.ln());
        assert!((j.0[1][1] - want).abs() < 1e-12, "{} vs {want}", j.0[1][1]);
    }

    #[test]
    fn gum_5_1_2_product_of_two_inputs() {
        // For y = x1·x2 with independent normal inputs the exact variance is
        // x2²u1² + x1²u2² + u1²u2²; the first-order terms give the first two and the
        // second-order terms exactly the last (JCGM 100 §5.1.2 note).
        let m = Model::parse("y = a*b", &["a", "b"]).unwrap();
        let out = m.output("y").unwrap();
        let (x, u) = ([2.0, 3.0], [0.5, 0.7]);
        let g = [3.0, 2.0];
        let s = second_order_terms(&m, &x, &u, &g, out);
        assert!((s - 0.25 * 0.49).abs() < 1e-15);
    }
}
