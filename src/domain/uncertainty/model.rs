//! Measurement models as text: `name = expression` lines, parsed once into a tape
//! (a list of operations in evaluation order) that is checked for dimensional
//! consistency, evaluated, and differentiated exactly by reverse-mode automatic
//! differentiation.
//!
//! Grammar: `+ - * / ^` (also `− × ÷`), parentheses, unary minus, numbers with
//! optional exponent, names, the functions sqrt, exp, ln, log10, sin, cos, tan, asin,
//! acos, atan, abs, and the constant pi. `^` binds tighter than unary minus
//! (`-x^2` is `-(x^2)`) and is right-associative.

use super::units::Dim;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fmt;

/// A model that could not be read or is inconsistent, with the position (in
/// characters from the start of the model text) and the offending text.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.position + 1)
    }
}

fn err<T>(position: usize, message: impl Into<String>) -> Result<T, ModelError> {
    Err(ModelError {
        position,
        message: message.into(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sqrt,
    Exp,
    Ln,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Abs,
}

impl Func {
    pub fn parse(name: &str) -> Option<Func> {
        Some(match name {
            "sqrt" => Func::Sqrt,
            "exp" => Func::Exp,
            "ln" => Func::Ln,
            "log10" => Func::Log10,
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" => Func::Tan,
            "asin" => Func::Asin,
            "acos" => Func::Acos,
            "atan" => Func::Atan,
            "abs" => Func::Abs,
            _ => return None,
        })
    }

    /// The value and the derivative at x.
    fn eval(self, x: f64) -> (f64, f64) {
        match self {
            Func::Sqrt => {
                let s = x.sqrt();
                (s, 0.5 / s)
            }
            Func::Exp => {
                let e = x.exp();
                (e, e)
            }
            Func::Ln => (x.ln(), 1.0 / x),
            Func::Log10 => (x.log10(), 1.0 / (x * std::f64::consts::LN_10)),
            Func::Sin => (x.sin(), x.cos()),
            Func::Cos => (x.cos(), -x.sin()),
            Func::Tan => {
                let c = x.cos();
                (x.tan(), 1.0 / (c * c))
            }
            Func::Asin => (x.asin(), 1.0 / (1.0 - x * x).sqrt()),
            Func::Acos => (x.acos(), -1.0 / (1.0 - x * x).sqrt()),
            Func::Atan => (x.atan(), 1.0 / (1.0 + x * x)),
            Func::Abs => (x.abs(), if x < 0.0 { -1.0 } else { 1.0 }),
        }
    }

    /// Where the function is not defined (or its derivative is not), by name.
    fn domain_error(self, x: f64) -> Option<&'static str> {
        match self {
            Func::Sqrt if x < 0.0 => Some("the square root of a negative number"),
            Func::Sqrt if x == 0.0 => Some("the square root at 0, where its derivative is infinite"),
            Func::Ln | Func::Log10 if x <= 0.0 => Some("the logarithm of a number that is not positive"),
            Func::Asin | Func::Acos if x.abs() >= 1.0 => Some("asin or acos outside (−1, 1)"),
            _ => None,
        }
    }
}

/// One operation of the tape. Operands are indices of earlier operations.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Input(usize),
    Const(f64),
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    Div(usize, usize),
    /// A power with a constant exponent.
    Powc(usize, f64),
    /// A power with a variable (dimensionless) exponent.
    Pow(usize, usize),
    Neg(usize),
    Call(Func, usize),
}

/// A parsed model: the tape, the span of source text of each operation (for errors),
/// and the operation that gives each defined name.
#[derive(Debug, Clone)]
pub struct Model {
    pub ops: Vec<Op>,
    spans: Vec<(usize, usize)>,
    text: Vec<char>,
    /// Each name defined by a line, with its operation.
    pub defined: Vec<(String, usize)>,
    /// The inputs the model uses, by name, in order of first use (index = Op::Input).
    pub inputs: Vec<String>,
}

impl Model {
    /// Parses the model. Names that are neither defined by an earlier line nor in
    /// `known_inputs` are errors.
    pub fn parse(text: &str, known_inputs: &[&str]) -> Result<Model, ModelError> {
        let chars: Vec<char> = text.chars().collect();
        let tokens = tokenize(&chars)?;
        let mut p = Parser {
            tokens: &tokens,
            pos: 0,
            depth: 0,
            model: Model {
                ops: Vec::new(),
                spans: Vec::new(),
                text: chars.clone(),
                defined: Vec::new(),
                inputs: Vec::new(),
            },
            known: known_inputs.iter().copied().collect(),
            names: HashMap::with_capacity_and_hasher(known_inputs.len(), Default::default()),
            consts: HashMap::default(),
        };
        p.lines()?;
        Ok(p.model)
    }

    /// The operation that gives `name`, if a line defines it.
    pub fn output(&self, name: &str) -> Option<usize> {
        self.defined.iter().rev().find(|(n, _)| n == name).map(|(_, i)| *i)
    }

    fn source(&self, op: usize) -> String {
        let (a, b) = self.spans[op];
        self.text[a..b].iter().collect::<String>().trim().to_owned()
    }

    /// Checks dimensional consistency, given the dimension of each input; returns the
    /// dimension of every operation.
    pub fn dimensions(&self, inputs: &[Dim]) -> Result<Vec<Dim>, ModelError> {
        let mut d: Vec<Dim> = Vec::with_capacity(self.ops.len());
        for (i, op) in self.ops.iter().enumerate() {
            let here = self.spans[i].0;
            let dim = match *op {
                Op::Input(k) => inputs[k],
                Op::Const(_) => Dim::NONE,
                Op::Add(a, b) | Op::Sub(a, b) => {
                    if !d[a].same(d[b]) {
                        return err(
                            here,
                            format!(
                                "'{}' {} '{}': the dimensions differ ({} and {})",
                                self.source(a),
                                if matches!(op, Op::Add(..)) { "+" } else { "−" },
                                self.source(b),
                                d[a],
                                d[b]
                            ),
                        );
                    }
                    d[a]
                }
                Op::Mul(a, b) => d[a] * d[b],
                Op::Div(a, b) => d[a] / d[b],
                Op::Powc(a, e) => d[a].pow(e),
                Op::Pow(a, b) => {
                    if !d[b].is_none() {
                        return err(
                            self.spans[b].0,
                            format!("the exponent '{}' must be dimensionless, not {}", self.source(b), d[b]),
                        );
                    }
                    if !d[a].is_none() {
                        return err(
                            here,
                            format!(
                                "'{}' has dimension {}; it can be raised only to a constant power",
                                self.source(a),
                                d[a]
                            ),
                        );
                    }
                    Dim::NONE
                }
                Op::Neg(a) => d[a],
                Op::Call(Func::Sqrt, a) => d[a].pow(0.5),
                Op::Call(Func::Abs, a) => d[a],
                Op::Call(f, a) => {
                    if !d[a].is_none() {
                        return err(
                            self.spans[a].0,
                            format!(
                                "{}('{}'): the argument must be dimensionless, not {}",
                                format!("{f:?}").to_lowercase(),
                                self.source(a),
                                d[a]
                            ),
                        );
                    }
                    Dim::NONE
                }
            };
            d.push(dim);
        }
        Ok(d)
    }

    /// The value of every operation at `x` (one value per input, in SI units).
    /// A division by zero or a function outside its domain is an error naming the
    /// sub-expression.
    pub fn values(&self, x: &[f64]) -> Result<Vec<f64>, ModelError> {
        let mut v = Vec::with_capacity(self.ops.len());
        for (i, op) in self.ops.iter().enumerate() {
            let value = match *op {
                Op::Input(k) => x[k],
                Op::Div(_, b) if v[b] == 0.0 => {
                    return err(
                        self.spans[b].0,
                        format!("division by zero: '{}' is 0 at the estimate", self.source(b)),
                    );
                }
                Op::Call(f, a) => {
                    if let Some(why) = f.domain_error(v[a]) {
                        return err(self.spans[i].0, format!("'{}': {why}", self.source(i)));
                    }
                    f.eval(v[a]).0
                }
                _ => step(op, &v),
            };
            if !value.is_finite() {
                return err(
                    self.spans[i].0,
                    format!("'{}' is not a finite number at the estimate", self.source(i)),
                );
            }
            v.push(value);
        }
        Ok(v)
    }

    /// Every operation over `n` trials at once (Monte Carlo). `tape` holds one column of
    /// `stride` values per operation; the columns of the input operations are filled by
    /// the caller. Non-finite results stay non-finite.
    pub fn eval_columns(&self, stride: usize, n: usize, tape: &mut [f64]) {
        for (i, op) in self.ops.iter().enumerate() {
            let (done, rest) = tape.split_at_mut(i * stride);
            let out = &mut rest[..n];
            let col = |k: usize| &done[k * stride..k * stride + n];
            match *op {
                Op::Input(_) => {}
                Op::Const(c) => out.fill(c),
                Op::Add(a, b) => zip2(out, col(a), col(b), |x, y| x + y),
                Op::Sub(a, b) => zip2(out, col(a), col(b), |x, y| x - y),
                Op::Mul(a, b) => zip2(out, col(a), col(b), |x, y| x * y),
                Op::Div(a, b) => zip2(out, col(a), col(b), |x, y| x / y),
                Op::Powc(a, e) => out.iter_mut().zip(col(a)).for_each(|(o, &x)| *o = powc(x, e)),
                Op::Pow(a, b) => zip2(out, col(a), col(b), f64::powf),
                Op::Neg(a) => out.iter_mut().zip(col(a)).for_each(|(o, &x)| *o = -x),
                Op::Call(f, a) => out.iter_mut().zip(col(a)).for_each(|(o, &x)| *o = f.eval(x).0),
            }
        }
    }

    /// ∂(operation `out`)/∂(input k) for every input, by one reverse sweep over the tape.
    pub fn gradient(&self, values: &[f64], out: usize) -> Vec<f64> {
        let mut adj = vec![0.0; out + 1];
        adj[out] = 1.0;
        let mut grad = vec![0.0; self.inputs.len()];
        for i in (0..=out).rev() {
            let g = adj[i];
            if g == 0.0 {
                continue;
            }
            match self.ops[i] {
                Op::Input(k) => grad[k] += g,
                Op::Const(_) => {}
                Op::Add(a, b) => {
                    adj[a] += g;
                    adj[b] += g;
                }
                Op::Sub(a, b) => {
                    adj[a] += g;
                    adj[b] -= g;
                }
                Op::Mul(a, b) => {
                    adj[a] += g * values[b];
                    adj[b] += g * values[a];
                }
                Op::Div(a, b) => {
                    adj[a] += g / values[b];
                    adj[b] -= g * values[a] / (values[b] * values[b]);
                }
                Op::Powc(a, e) => adj[a] += g * e * values[a].powf(e - 1.0),
                Op::Pow(a, b) => {
                    let (x, y) = (values[a], values[b]);
                    adj[a] += g * y * x.powf(y - 1.0);
                    if x > 0.0 {
                        adj[b] += g * values[i] * x.ln();
                    }
                }
                Op::Neg(a) => adj[a] -= g,
                Op::Call(f, a) => adj[a] += g * f.eval(values[a]).1,
            }
        }
        grad
    }
}

fn step(op: &Op, v: &[f64]) -> f64 {
    match *op {
        Op::Input(_) => f64::NAN, // set by the caller
        Op::Const(c) => c,
        Op::Add(a, b) => v[a] + v[b],
        Op::Sub(a, b) => v[a] - v[b],
        Op::Mul(a, b) => v[a] * v[b],
        Op::Div(a, b) => v[a] / v[b],
        Op::Powc(a, e) => powc(v[a], e),
        Op::Pow(a, b) => v[a].powf(v[b]),
        Op::Neg(a) => -v[a],
        Op::Call(f, a) => f.eval(v[a]).0,
    }
}

fn zip2(out: &mut [f64], a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

fn powc(x: f64, e: f64) -> f64 {
    if e == e.trunc() && e.abs() <= 64.0 {
        x.powi(e as i32)
    } else {
        x.powf(e)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Op(char),
    LParen,
    RParen,
    Comma,
    Assign,
    /// End of a line (newline or ';').
    Eol,
}

fn tokenize(chars: &[char]) -> Result<Vec<(Tok, usize, usize)>, ModelError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            '\n' | ';' => {
                i += 1;
                Tok::Eol
            }
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '+' => {
                i += 1;
                Tok::Op('+')
            }
            '-' | '−' => {
                i += 1;
                Tok::Op('-')
            }
            '*' | '×' | '·' => {
                i += 1;
                Tok::Op('*')
            }
            '/' | '÷' => {
                i += 1;
                Tok::Op('/')
            }
            '^' => {
                i += 1;
                Tok::Op('^')
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += 1;
                Tok::Assign
            }
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                    let mut j = i + 1;
                    if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                        j += 1;
                    }
                    if j < chars.len() && chars[j].is_ascii_digit() {
                        i = j;
                        while i < chars.len() && chars[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let text: String = chars[start..i].iter().collect();
                match text.parse::<f64>() {
                    Ok(v) => Tok::Num(v),
                    Err(_) => return err(start, format!("'{text}' is not a number")),
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                Tok::Name(chars[start..i].iter().collect())
            }
            other => return err(start, format!("unexpected character '{other}'")),
        };
        out.push((tok, start, i));
    }
    out.push((Tok::Eol, chars.len(), chars.len()));
    Ok(out)
}

/// How deeply parentheses, function calls, powers and signs may nest in a model. Each
/// level is a few frames of the recursive parser; the limit keeps a hostile model far
/// from the worker's stack (a real model nests a handful of levels).
pub const MAX_NESTING: usize = 64;

struct Parser<'a> {
    tokens: &'a [(Tok, usize, usize)],
    pos: usize,
    /// The nesting level of the expression being read.
    depth: usize,
    model: Model,
    known: HashSet<&'a str>,
    /// Names defined so far (by lines), and inputs seen.
    names: HashMap<String, usize>,
    /// Operations whose value is a constant (for exponents).
    consts: HashMap<usize, f64>,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].0
    }

    fn at(&self) -> usize {
        self.tokens[self.pos].1
    }

    fn push(&mut self, op: Op, span: (usize, usize)) -> usize {
        if let Some(c) = match op {
            Op::Const(c) => Some(c),
            Op::Neg(a) => self.consts.get(&a).map(|v| -v),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => {
                match (self.consts.get(&a), self.consts.get(&b)) {
                    (Some(&x), Some(&y)) => Some(step(&op, &{
                        let mut v = vec![0.0; a.max(b) + 1];
                        v[a] = x;
                        v[b] = y;
                        v
                    })),
                    _ => None,
                }
            }
            _ => None,
        } {
            self.consts.insert(self.model.ops.len(), c);
        }
        self.model.ops.push(op);
        self.model.spans.push(span);
        self.model.ops.len() - 1
    }

    fn lines(&mut self) -> Result<(), ModelError> {
        loop {
            while *self.peek() == Tok::Eol {
                if self.pos + 1 == self.tokens.len() {
                    if self.model.defined.is_empty() {
                        return err(self.at(), "the model has no line of the form 'name = expression'");
                    }
                    return Ok(());
                }
                self.pos += 1;
            }
            let (name, start) = match self.tokens[self.pos].clone() {
                (Tok::Name(n), s, _) => (n, s),
                (_, s, _) => return err(s, "a line starts with the name it defines, as in 'y = a + b'"),
            };
            self.pos += 1;
            if *self.peek() != Tok::Assign {
                return err(self.at(), format!("'=' expected after '{name}'"));
            }
            if Func::parse(&name).is_some() || name == "pi" {
                return err(start, format!("'{name}' is a built-in name and cannot be defined"));
            }
            if self.known.contains(name.as_str()) {
                return err(start, format!("'{name}' is an input; a line cannot redefine it"));
            }
            self.pos += 1;
            let op = self.expr()?;
            if *self.peek() != Tok::Eol {
                return err(self.at(), "an operator or the end of the line expected");
            }
            self.names.insert(name.clone(), op);
            self.model.defined.push((name, op));
        }
    }

    fn expr(&mut self) -> Result<usize, ModelError> {
        let start = self.at();
        let mut lhs = self.term()?;
        while let Tok::Op(c @ ('+' | '-')) = *self.peek() {
            self.pos += 1;
            let rhs = self.term()?;
            let end = self.tokens[self.pos - 1].2;
            lhs = self.push(
                if c == '+' { Op::Add(lhs, rhs) } else { Op::Sub(lhs, rhs) },
                (start, end),
            );
        }
        Ok(lhs)
    }

    fn term(&mut self) -> Result<usize, ModelError> {
        let start = self.at();
        let mut lhs = self.unary()?;
        while let Tok::Op(c @ ('*' | '/')) = *self.peek() {
            self.pos += 1;
            let rhs = self.unary()?;
            let end = self.tokens[self.pos - 1].2;
            lhs = self.push(
                if c == '*' { Op::Mul(lhs, rhs) } else { Op::Div(lhs, rhs) },
                (start, end),
            );
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<usize, ModelError> {
        self.depth += 1;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<usize, ModelError> {
        let start = self.at();
        if self.depth > MAX_NESTING {
            return err(
                start,
                format!("the expression nests more than {MAX_NESTING} levels deep (parentheses, functions, powers or signs)"),
            );
        }
        match *self.peek() {
            Tok::Op('-') => {
                self.pos += 1;
                let a = self.unary()?;
                let end = self.tokens[self.pos - 1].2;
                Ok(self.push(Op::Neg(a), (start, end)))
            }
            Tok::Op('+') => {
                self.pos += 1;
                self.unary()
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<usize, ModelError> {
        let start = self.at();
        let base = self.primary()?;
        if *self.peek() != Tok::Op('^') {
            return Ok(base);
        }
        self.pos += 1;
        let exponent = self.unary()?; // right-associative; allows 2^-1
        let end = self.tokens[self.pos - 1].2;
        Ok(match self.consts.get(&exponent) {
            Some(&e) => self.push(Op::Powc(base, e), (start, end)),
            None => self.push(Op::Pow(base, exponent), (start, end)),
        })
    }

    fn primary(&mut self) -> Result<usize, ModelError> {
        // The tokens outlive the parser's borrow: no copy of the name.
        let tokens = self.tokens;
        let (tok, start, end) = &tokens[self.pos];
        let (start, end) = (*start, *end);
        match tok {
            &Tok::Num(v) => {
                self.pos += 1;
                Ok(self.push(Op::Const(v), (start, end)))
            }
            Tok::LParen => {
                self.pos += 1;
                let inner = self.expr()?;
                if *self.peek() != Tok::RParen {
                    return err(self.at(), "')' expected");
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Name(name) => {
                self.pos += 1;
                if let Some(f) = Func::parse(name) {
                    if *self.peek() != Tok::LParen {
                        return err(self.at(), format!("'(' expected after the function {name}"));
                    }
                    self.pos += 1;
                    let arg = self.expr()?;
                    if *self.peek() == Tok::Comma {
                        return err(self.at(), format!("{name} takes one argument"));
                    }
                    if *self.peek() != Tok::RParen {
                        return err(self.at(), "')' expected");
                    }
                    self.pos += 1;
                    let end = self.tokens[self.pos - 1].2;
                    return Ok(self.push(Op::Call(f, arg), (start, end)));
                }
                if name == "pi" {
                    return Ok(self.push(Op::Const(std::f64::consts::PI), (start, end)));
                }
                if let Some(&op) = self.names.get(name.as_str()) {
                    return Ok(op);
                }
                if self.known.contains(name.as_str()) {
                    let k = self.model.inputs.len();
                    self.model.inputs.push(name.clone());
                    let op = self.push(Op::Input(k), (start, end));
                    self.names.insert(name.clone(), op);
                    return Ok(op);
                }
                err(
                    start,
                    format!("unknown name '{name}': not an input and not defined by an earlier line"),
                )
            }
            Tok::Eol => err(start, "the expression ends too early"),
            Tok::Op(c) => err(start, format!("unexpected '{c}'")),
            Tok::RParen => err(start, "unexpected ')'"),
            Tok::Comma => err(start, "unexpected ','"),
            Tok::Assign => err(start, "unexpected '='"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, inputs: &[(&str, f64)], out: &str) -> (f64, Vec<f64>) {
        let names: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
        let m = Model::parse(text, &names).unwrap();
        let x: Vec<f64> = m
            .inputs
            .iter()
            .map(|n| inputs.iter().find(|(k, _)| k == n).unwrap().1)
            .collect();
        let v = m.values(&x).unwrap();
        // The column-wise evaluation of Monte Carlo agrees, for one trial.
        let mut tape = vec![0.0; m.ops.len()];
        for (i, op) in m.ops.iter().enumerate() {
            if let Op::Input(k) = op {
                tape[i] = x[*k];
            }
        }
        m.eval_columns(1, 1, &mut tape);
        assert_eq!(v, tape, "the checked and the column-wise evaluation agree");
        let o = m.output(out).unwrap();
        (v[o], m.gradient(&v, o))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(eval("y = 2 + 3 * 4", &[], "y").0, 14.0);
        assert_eq!(eval("y = -2^2", &[], "y").0, -4.0);
        assert_eq!(eval("y = 2^3^2", &[], "y").0, 512.0);
        assert_eq!(eval("y = (2 + 3) × 4 ÷ 2 − 1", &[], "y").0, 9.0);
        assert_eq!(eval("y = 2^-1", &[], "y").0, 0.5);
        assert_eq!(eval("y = 1.5e3 + 2E-1", &[], "y").0, 1500.2);
        assert!((eval("y = sqrt(2) * pi", &[], "y").0 - std::f64::consts::PI * 2f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn later_lines_use_earlier_names_and_gradients_are_exact() {
        let (y, g) = eval(
            "d = d0 + d1\nl = l_s + d",
            &[("l_s", 50.0), ("d0", 0.2), ("d1", 0.01)],
            "l",
        );
        assert!((y - 50.21).abs() < 1e-12);
        assert_eq!(g, vec![1.0, 1.0, 1.0]);
        // y = a·b/c + sin(a): ∂y/∂a = b/c + cos(a), ∂y/∂b = a/c, ∂y/∂c = −a·b/c².
        let (a, b, c) = (0.3, 2.0, 4.0);
        let (_, g) = eval("y = a*b/c + sin(a)", &[("a", a), ("b", b), ("c", c)], "y");
        assert!((g[0] - (b / c + a.cos())).abs() < 1e-15);
        assert!((g[1] - a / c).abs() < 1e-15);
        assert!((g[2] + a * b / (c * c)).abs() < 1e-15);
        let (_, g) = eval("y = x^2.5 + exp(x) + ln(x) + log10(x) + atan(x)", &[("x", 0.7)], "y");
        let x: f64 = 0.7;
        let want = 2.5 * x.powf(1.5) + x.exp() + 1.0 / x + 1.0 / (x * 10f64.ln()) + 1.0 / (1.0 + x * x);
        assert!((g[0] - want).abs() < 1e-14);
    }

    #[test]
    fn errors_name_the_position() {
        let e = Model::parse("y = a + * b", &["a", "b"]).unwrap_err();
        assert_eq!(e.position, 8);
        let e = Model::parse("y = a + c", &["a"]).unwrap_err();
        assert_eq!(e.position, 8);
        assert!(e.message.contains("unknown name 'c'"));
        assert!(Model::parse("y = (a", &["a"]).unwrap_err().message.contains("')'"));
        assert!(Model::parse("a + b", &["a", "b"]).is_err());
        assert!(Model::parse("a = 1", &["a"]).unwrap_err().message.contains("input"));
        assert!(Model::parse("y = foo(a)", &["a"]).is_err());
        assert_eq!(Model::parse("y = a $ b", &["a", "b"]).unwrap_err().position, 6);
    }

    #[test]
    fn dimensions_are_checked_and_the_sub_expression_named() {
        let l = Dim([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let m = Dim([0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let model = Model::parse("y = l * 2 + (m / 3)", &["l", "m"]).unwrap();
        let e = model.dimensions(&[l, m]).unwrap_err();
        assert!(e.message.contains("'l * 2' + 'm / 3'"), "{}", e.message);
        assert!(e.message.contains("m and kg"), "{}", e.message);
        let model = Model::parse("y = sqrt(l^2 + l*l)", &["l"]).unwrap();
        let d = model.dimensions(&[l]).unwrap();
        assert!(d[model.output("y").unwrap()].same(l));
        let model = Model::parse("y = exp(l)", &["l"]).unwrap();
        assert!(model.dimensions(&[l]).unwrap_err().message.contains("dimensionless"));
        let model = Model::parse("y = l^k", &["l", "k"]).unwrap();
        assert!(model.dimensions(&[l, Dim::NONE]).is_err());
    }

    #[test]
    fn division_by_zero_at_the_estimate_is_named() {
        let m = Model::parse("y = a / (b - 1)", &["a", "b"]).unwrap();
        let e = m.values(&[1.0, 1.0]).unwrap_err();
        assert!(e.message.contains("'b - 1'"), "{}", e.message);
        let m = Model::parse("y = a^-1 + b^0.5", &["a", "b"]).unwrap();
        assert!(m.values(&[0.0, 1.0]).unwrap_err().message.contains("'a^-1'"));
        assert!(m.values(&[1.0, -1.0]).unwrap_err().message.contains("'b^0.5'"));
    }
}
