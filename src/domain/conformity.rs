//! Statements of conformity (ILAC-G8:09/2019; ISO/IEC 17025 §7.8.6): the decision for a
//! measured error against its maximum permissible error (MPE), under the decision rule
//! agreed with the customer, taking the expanded uncertainty U into account.

vocabulary! {
    /// The decision rule agreed with the customer before the work (ILAC-G8 §4.2).
    DecisionRule {
        // §4.2.1: simple acceptance (shared risk), w = 0: pass when |e| ≤ MPE.
        Simple => "simple", "简单接受", "simple acceptance";
        // §4.2.2: guarded acceptance with guard band w = r·U (r = 1 unless the record
        // says otherwise): pass when |e| ≤ MPE − w, otherwise fail (binary). The
        // certificate states r and w as applied (`Snapshot::rule_statement`).
        Guarded => "guarded", "保护带接受", "guarded acceptance";
        // §4.2.3 and Figure 5: non-binary, with guard band w = r·U either side of the limit.
        NonBinary => "non_binary", "非二元判定", "non-binary statement";
    }
}

vocabulary! {
    /// The outcome for a point or an item.
    Decision {
        Pass => "pass", "合格", "pass";
        ConditionalPass => "conditional_pass", "有条件合格", "conditional pass";
        ConditionalFail => "conditional_fail", "有条件不合格", "conditional fail";
        Fail => "fail", "不合格", "fail";
    }
}

impl Decision {
    /// Worse outcomes compare greater: an item takes its worst point's decision.
    pub fn severity(self) -> u8 {
        match self {
            Decision::Pass => 0,
            Decision::ConditionalPass => 1,
            Decision::ConditionalFail => 2,
            Decision::Fail => 3,
        }
    }
}

/// The decision for an indication error `error` with expanded uncertainty `u` against a
/// symmetric limit ±`mpe` (all in the same unit). The acceptance limit is MPE − w and
/// the rejection limit MPE + w, with w = U for the guarded rules (ILAC-G8 §4.2.2).
pub fn decide(rule: DecisionRule, error: f64, mpe: f64, u: f64) -> Decision {
    let e = error.abs();
    let w = u.abs();
    match rule {
        DecisionRule::Simple => {
            if e <= mpe {
                Decision::Pass
            } else {
                Decision::Fail
            }
        }
        DecisionRule::Guarded => {
            if e <= mpe - w {
                Decision::Pass
            } else {
                Decision::Fail
            }
        }
        DecisionRule::NonBinary => {
            if e <= mpe - w {
                Decision::Pass
            } else if e <= mpe {
                Decision::ConditionalPass
            } else if e <= mpe + w {
                Decision::ConditionalFail
            } else {
                Decision::Fail
            }
        }
    }
}

/// A decision against tolerance limits as laboratories write them: a lower limit, an
/// upper limit or both (one-sided, or asymmetric about the nominal), for a measured value
/// `x` with the guard band `w` (0 for simple acceptance; ILAC-G8:09/2019 §4.2). Values
/// closer than `quantum / 2` count as equal, so that a value on a limit in the digits
/// entered is on it. Returns the decision and the acceptance limits (L + w, U − w).
pub fn decide_between(
    rule: DecisionRule,
    x: f64,
    lower: Option<f64>,
    upper: Option<f64>,
    w: f64,
    quantum: f64,
) -> (Decision, Option<f64>, Option<f64>) {
    let w = if rule == DecisionRule::Simple { 0.0 } else { w.abs() };
    let within = |lo: Option<f64>, hi: Option<f64>| {
        let near = |a: f64, b: f64| (a - b).abs() < quantum / 2.0;
        lo.is_none_or(|l| x > l || near(x, l)) && hi.is_none_or(|h| x < h || near(x, h))
    };
    let (acc_lo, acc_hi) = (lower.map(|l| l + w), upper.map(|u| u - w));
    let decision = match rule {
        DecisionRule::Simple | DecisionRule::Guarded => {
            if within(acc_lo, acc_hi) {
                Decision::Pass
            } else {
                Decision::Fail
            }
        }
        DecisionRule::NonBinary => {
            if within(acc_lo, acc_hi) {
                Decision::Pass
            } else if within(lower, upper) {
                Decision::ConditionalPass
            } else if within(lower.map(|l| l - w), upper.map(|u| u + w)) {
                Decision::ConditionalFail
            } else {
                Decision::Fail
            }
        }
    };
    (decision, acc_lo, acc_hi)
}

/// The item's error once the reference's own error is known. Errors here are
/// indication (or nominal) value minus true value (JJF 1001-2011 §5.3 示值误差). The
/// item's error was found against the reference's value, e = x − r. When the reference
/// itself was off by δ = r − t, the true value was t = r − δ, so the item's error was
/// x − t = e + δ.
pub fn corrected_error(error: f64, reference_error: f64) -> f64 {
    error + reference_error
}

#[cfg(test)]
mod tests {
    use super::*;

    // ILAC-G8:09/2019 §4.2 and Figure 5, with an MPE of ±10 units and U = 2 units:
    // the acceptance limit is 8, the rejection limit 12.
    #[test]
    fn decisions_follow_ilac_g8() {
        use Decision::*;
        use DecisionRule::*;
        let cases = [
            // (rule, error, expected)
            (Simple, 9.9, Pass),
            (Simple, -10.0, Pass), // on the limit: accepted under simple acceptance
            (Simple, 10.1, Fail),
            (Guarded, 8.0, Pass), // on the acceptance limit MPE − U
            (Guarded, -8.1, Fail),
            (Guarded, 9.0, Fail),
            (NonBinary, 7.9, Pass),
            (NonBinary, 8.0, Pass),
            (NonBinary, 8.5, ConditionalPass),
            (NonBinary, -10.0, ConditionalPass),
            (NonBinary, 10.5, ConditionalFail),
            (NonBinary, 12.0, ConditionalFail),
            (NonBinary, -12.01, Fail),
        ];
        for (rule, e, want) in cases {
            assert_eq!(decide(rule, e, 10.0, 2.0), want, "{rule:?} e = {e}");
        }
    }

    #[test]
    fn a_reference_error_moves_the_item_error_by_its_own_sign() {
        // A 100 g reference weight whose conventional mass is 100.002 g (nominal minus
        // true = −2 mg) made a balance that read 100.001 g look 1 mg high; it was 1 mg low.
        assert!((corrected_error(1.0, -2.0) - -1.0).abs() < 1e-12);
        // With MPE ±1.5 mg, U = 0.2 mg, non-binary: the recorded pass stays a pass here,
        // but a reference error of −3 mg turns it into a fail (|1 − 3| = 2 > 1.7).
        assert_eq!(
            decide(DecisionRule::NonBinary, corrected_error(1.0, -2.0), 1.5, 0.2),
            Decision::Pass
        );
        assert_eq!(
            decide(DecisionRule::NonBinary, corrected_error(1.0, -3.0), 1.5, 0.2),
            Decision::Fail
        );
    }
}
