//! How metrocal states a number, once, for every place a metrologist reads one: the
//! budget report, the record page, the certificate page, the PDF and the DCC.
//!
//! - A result and its expanded uncertainty U (JJF 1059.1-2012 §5.3.8; GUM §7.2.6;
//!   ILAC-P14:09/2020 §5.3): U to two significant digits, the result to the same decimal
//!   place as U's last digit.
//! - Rounding on the decimal digits a person reads, not on the binary value the computer
//!   holds: 1.15 rounds as the number one point one five, although the nearest binary
//!   value is 1.149999…. The rule is GB/T 8170-2008 §3.3 (round half to even: 1.15 → 1.2,
//!   1.25 → 1.2, 6.85 → 6.8, 6.851 → 6.9) unless rounding up is asked for (an
//!   uncertainty may be rounded up, never down below what was evaluated or a CMC).
//! - A nominal or reference value as entered keeps its digits ("1.000 mm" stays 1.000).
//! - k with at most two decimals ("2", "2.16"), and p as a percentage ("95 %", "95.45 %").

/// How the last kept digit is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// GB/T 8170-2008 §3.3: to the nearest, a tie to the even digit.
    HalfEven,
    /// Up, away from zero: what is dropped is never lost from an uncertainty.
    Up,
}

impl Rounding {
    /// The stable name kept for a laboratory: `half_even` or `up`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rounding::HalfEven => "half_even",
            Rounding::Up => "up",
        }
    }

    pub fn parse(s: &str) -> Option<Rounding> {
        match s.trim() {
            "half_even" => Some(Rounding::HalfEven),
            "up" => Some(Rounding::Up),
            _ => None,
        }
    }

    /// How a U is rounded for a laboratory that chose `self`: up when the laboratory
    /// rounds up or when the U was raised to its CMC (so that it never prints below it).
    pub fn for_u(self, raised_to_cmc: bool) -> Rounding {
        if raised_to_cmc {
            Rounding::Up
        } else {
            self
        }
    }
}

/// The decimal digits of `x` as its shortest round-trip text writes them: the digits
/// (no leading zeros) and the power of ten of the first one (1.15 → [1,1,5], 0).
fn decimal(x: f64) -> (bool, Vec<u8>, i32) {
    let text = format!("{:e}", x.abs());
    let (mantissa, exp) = text.split_once('e').expect("e-notation has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    (x.is_sign_negative() && x != 0.0, digits, exp)
}

/// `x` rounded to the decimal place 10^`place` (−2 for hundredths), as the digits and the
/// power of ten of the last digit.
fn round_digits(x: f64, place: i32, rounding: Rounding) -> (bool, Vec<u8>) {
    let (negative, digits, exp) = decimal(x);
    // The digits kept: those at powers exp, exp−1, … down to `place`.
    let keep = exp - place + 1;
    if keep < 0 {
        // Everything is below half of the last place: 0, or one unit when rounding up.
        let up = rounding == Rounding::Up && digits.iter().any(|d| *d != 0);
        return (negative, vec![u8::from(up)]);
    }
    let keep = keep as usize;
    let mut kept: Vec<u8> = digits.iter().copied().take(keep).collect();
    kept.resize(keep, 0);
    let rest = if digits.len() > keep { &digits[keep..] } else { &[][..] };
    let carry = match rounding {
        Rounding::Up => rest.iter().any(|d| *d != 0),
        Rounding::HalfEven => match rest.first() {
            None => false,
            Some(d) if *d > 5 => true,
            Some(d) if *d < 5 => false,
            // Exactly a 5: above half if anything follows, else to the even digit.
            Some(_) => rest[1..].iter().any(|d| *d != 0) || kept.last().is_some_and(|d| d % 2 == 1),
        },
    };
    if kept.is_empty() {
        return (negative, vec![u8::from(carry)]);
    }
    if carry {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    (negative, kept)
}

/// `x` rounded to the place 10^`place`, as plain decimal text ("0.0012", "120", "-3.50").
pub fn at_place(x: f64, place: i32, rounding: Rounding) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let (negative, digits) = round_digits(x, place, rounding);
    let mut int: Vec<u8>;
    let frac: Vec<u8>;
    if place >= 0 {
        int = digits;
        int.extend(std::iter::repeat_n(0, place as usize));
        frac = Vec::new();
    } else {
        let decimals = (-place) as usize;
        let mut all = digits;
        if all.len() <= decimals {
            let mut padded = vec![0; decimals + 1 - all.len()];
            padded.extend(all);
            all = padded;
        }
        let split = all.len() - decimals;
        int = all[..split].to_vec();
        frac = all[split..].to_vec();
    }
    while int.len() > 1 && int[0] == 0 {
        int.remove(0);
    }
    let zero = int.iter().chain(frac.iter()).all(|d| *d == 0);
    let mut out = String::new();
    if negative && !zero {
        out.push('-');
    }
    out.extend(int.iter().map(|d| char::from(b'0' + d)));
    if !frac.is_empty() {
        out.push('.');
        out.extend(frac.iter().map(|d| char::from(b'0' + d)));
    }
    out
}

/// The decimal place of U's second significant digit once U is rounded (9.96 → 10: the
/// place moves one up).
pub fn u_place(u: f64, rounding: Rounding) -> i32 {
    let (_, _, exp) = decimal(u);
    let place = exp - 1;
    let (_, digits) = round_digits(u, place, rounding);
    if digits.len() > 2 {
        place + 1
    } else {
        place
    }
}

/// A result `y` and its expanded uncertainty `u` as stated: U to two significant
/// digits, y to U's last decimal place (JJF 1059.1-2012 §5.3.8). Returns (y, U) as text.
/// `rounding` applies to U; y is always rounded half to even.
pub fn state(y: f64, u: f64, rounding: Rounding) -> (String, String) {
    if !(u.is_finite() && u > 0.0) {
        return (plain(y), plain(u));
    }
    let place = u_place(u, rounding);
    (at_place(y, place, Rounding::HalfEven), at_place(u, place, rounding))
}

/// A value at U's decimal place, U stated to two significant digits (an error after
/// adjustment, a guard band).
pub fn at_u_place(x: f64, u: f64, rounding: Rounding) -> String {
    if !(u.is_finite() && u > 0.0) {
        return plain(x);
    }
    at_place(x, u_place(u, rounding), Rounding::HalfEven)
}

/// A value with no uncertainty of its own to set its digits: at most 12 significant
/// digits, so that conversion noise (0.30000000000000004) never prints, in plain decimals.
pub fn plain(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return if x == 0.0 { "0".into() } else { format!("{x}") };
    }
    let (_, _, exp) = decimal(x);
    let text = at_place(x, exp - 11, Rounding::HalfEven);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A number as the person typed it, when it is one ("1.000" stays "1.000"); None
/// otherwise.
pub fn as_entered(text: &str) -> Option<String> {
    let t = text.trim();
    let ok = !t.is_empty()
        && t.trim_start_matches(['-', '+'])
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && t.chars().filter(|c| *c == '.').count() <= 1
        && t.chars().any(|c| c.is_ascii_digit());
    ok.then(|| t.trim_start_matches('+').to_owned())
}

/// The decimal places of a number as typed ("100.0006" → 4, "±0.6" → 1, "100" → 0);
/// None for e-notation or anything that is not a plain decimal.
pub fn decimal_places(text: &str) -> Option<i32> {
    let t = text.trim().trim_start_matches(['±', '+', '-']).trim();
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    Some(t.split_once('.').map_or(0, |(_, f)| f.len() as i32))
}

/// A coverage factor as stated: at most two decimals, without trailing zeros (2, 2.16).
pub fn k(k: f64) -> String {
    let text = at_place(k, -2, Rounding::HalfEven);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A coverage probability as a percentage, at most two decimals (95 %, 95.45 %).
pub fn percent(p: f64) -> String {
    let text = at_place(p * 100.0, -2, Rounding::HalfEven);
    format!("{} %", text.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_to_even_on_the_digits_read() {
        // GB/T 8170-2008 §3.3.3 and its examples: a dropped 5 with nothing after it
        // rounds to the even digit; anything after it rounds up.
        assert_eq!(at_place(1.15, -1, Rounding::HalfEven), "1.2");
        assert_eq!(at_place(1.25, -1, Rounding::HalfEven), "1.2");
        assert_eq!(at_place(6.85, -1, Rounding::HalfEven), "6.8");
        assert_eq!(at_place(6.851, -1, Rounding::HalfEven), "6.9");
        assert_eq!(at_place(0.0350, -2, Rounding::HalfEven), "0.04");
        assert_eq!(at_place(0.0450, -2, Rounding::HalfEven), "0.04");
        assert_eq!(at_place(-2.5, 0, Rounding::HalfEven), "-2");
        assert_eq!(at_place(12.5, 0, Rounding::HalfEven), "12");
        assert_eq!(at_place(13.5, 0, Rounding::HalfEven), "14");
        // GB/T 8170 §3.2 example: 1268 to the hundreds is 1300 (13 × 10²).
        assert_eq!(at_place(1268.0, 2, Rounding::HalfEven), "1300");
        assert_eq!(at_place(9.96, -1, Rounding::HalfEven), "10.0");
        assert_eq!(at_place(0.004, -2, Rounding::HalfEven), "0.00");
        assert_eq!(at_place(-0.004, -2, Rounding::HalfEven), "0.00");
        assert_eq!(at_place(0.0004, -2, Rounding::Up), "0.01");
    }

    #[test]
    fn u_to_two_significant_digits_and_the_result_to_its_place() {
        // JJF 1059.1-2012 §5.3.8: U = 0.0586 → 0.059, y = 10.0249 → 10.025.
        assert_eq!(
            state(10.0249, 0.0586, Rounding::HalfEven),
            ("10.025".into(), "0.059".into())
        );
        // A U of 1.0 prints as 1.0, and the error beside it to the tenth (not "1" and 1.3).
        assert_eq!(
            state(1.3333333333, 1.0, Rounding::HalfEven),
            ("1.3".into(), "1.0".into())
        );
        // 0.996 rounds to 1.0: the place moves.
        assert_eq!(
            state(123.456, 0.996, Rounding::HalfEven),
            ("123.5".into(), "1.0".into())
        );
        // Rounded up, a CMC of 1.24 µm never prints as 1.2.
        assert_eq!(state(10.04, 1.24, Rounding::Up), ("10.0".into(), "1.3".into()));
        assert_eq!(state(10.04, 1.24, Rounding::HalfEven), ("10.0".into(), "1.2".into()));
        // Already two digits: up adds nothing.
        assert_eq!(state(1.0, 0.068, Rounding::Up).1, "0.068");
        assert_eq!(
            state(50.000838, 0.0000684, Rounding::HalfEven),
            ("50.000838".into(), "0.000068".into())
        );
        assert_eq!(
            state(123456.0, 1234.0, Rounding::HalfEven),
            ("123500".into(), "1200".into())
        );
    }

    #[test]
    fn plain_values_k_p_and_entered_digits() {
        assert_eq!(plain(0.1 + 0.2), "0.3");
        assert_eq!(plain(20.100000000000023), "20.1");
        assert_eq!(plain(100.0), "100");
        assert_eq!(plain(-0.00012), "-0.00012");
        assert_eq!(k(2.0), "2");
        assert_eq!(k(2.1649), "2.16");
        assert_eq!(k(1.96), "1.96");
        assert_eq!(percent(0.95), "95 %");
        assert_eq!(percent(0.9545), "95.45 %");
        assert_eq!(percent(0.9973), "99.73 %");
        assert_eq!(as_entered(" 1.000 ").as_deref(), Some("1.000"));
        assert_eq!(as_entered("+25.0000").as_deref(), Some("25.0000"));
        assert_eq!(as_entered("1e3"), None);
        assert_eq!(as_entered("."), None);
    }
}
