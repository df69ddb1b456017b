//! A record's way to its certificate, written once as a state machine (DESIGN.md,
//! "Workflows are state machines"): from which state, by which action, who may move a
//! record, and where it then stands. Pure: the service loads the state, the actor's roles
//! and the record's history, asks [`next`], and applies the answer, with its signature,
//! its certificate and its audit event, in one transaction.
//!
//! | state | action | who | to |
//! |---|---|---|---|
//! | draft | correct a reading | technician | draft |
//! | draft | sign as performed (检定/校准) | technician | recorded |
//! | recorded | sign the review (核验) | reviewer | reviewed |
//! | reviewed | sign the approval (批准) | approver | issued (the certificate is made in the same transaction) |
//! | recorded | return with a reason (退回) | reviewer | draft, its signatures void |
//! | reviewed | return with a reason (退回) | reviewer or approver | draft, its signatures void |
//! | draft, recorded, reviewed | withdraw with a reason (撤回) | scheduler or institute admin | withdrawn |
//! | issued | amend its certificate with a reason (修订) | technician or approver | draft of revision n + 1, its signatures void |
//! | withdrawn | — | — | final |
//!
//! An amendment (ISO/IEC 17025 §7.8.8) reopens the issued record as the draft of its next
//! revision: who drafts it becomes one of its authors, the revision's results are
//! corrected and recomputed like a new record's, and it is signed as performed, reviewed
//! and approved again, by two people other than its drafter. Its approval issues the
//! certificate that supersedes the amended one; signatures belong to the revision they
//! were made on, so the new certificate prints only its own.
//!
//! Segregation of duties (ISO/IEC 17025 §6.2.5, §7.8.1.1; JJF 1069 on 检定、核验、批准)
//! counts everyone who touched the content: who entered or corrected the results took
//! part in the recording whoever signed it, and may not review, approve or return it; a
//! reviewer may not approve. Voided signatures still count: who reviewed a returned
//! record has seen it as a reviewer, and may review it again but not record it.

use crate::domain::accounts::{check_segregation, Duty, Role};
use crate::domain::Error;

vocabulary! {
    /// Where a record stands on its way to a certificate.
    RecordStatus {
        Draft => "draft", "草稿", "draft";
        Recorded => "recorded", "已记录", "recorded";
        Reviewed => "reviewed", "已核验", "reviewed";
        Approved => "approved", "已批准", "approved";
        Issued => "issued", "已出证", "issued";
        Withdrawn => "withdrawn", "已撤回", "withdrawn";
    }
}

vocabulary! {
    /// What can be done to a record.
    RecordAction {
        Correct => "correct", "更正读数", "correct a reading";
        SignPerformed => "sign_performed", "签名（检定/校准）", "sign as performed";
        Review => "review", "核验", "review";
        Approve => "approve", "批准", "approve";
        Return => "return", "退回", "return";
        Withdraw => "withdraw", "撤回", "withdraw";
        Amend => "amend", "修订", "amend";
    }
}

/// Who asks: their user (none for the operator's command line) and the roles they hold
/// in the record's laboratory.
#[derive(Debug, Clone)]
pub struct Mover<'a> {
    pub user: Option<i32>,
    pub roles: &'a [Role],
}

/// What the record has been through: who entered or corrected its results, and every
/// signature made on it (void or not), by duty.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The record is a revision after the first, opened by an amendment: it is not
    /// withdrawn (the certificate it amends stands until the revision is approved).
    pub amendment: bool,
    pub authors: Vec<i32>,
    pub signatures: Vec<(Duty, i32)>,
}

impl History {
    /// Everyone who took part, by duty: the authors as recorders, then the signers.
    fn earlier(&self) -> Vec<(Duty, i32)> {
        self.authors
            .iter()
            .map(|u| (Duty::Record, *u))
            .chain(self.signatures.iter().copied())
            .collect()
    }
}

/// An allowed move: the state after it, the signature it adds (a duty), and whether it
/// voids the signatures made so far and needs a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub to: RecordStatus,
    pub signs: Option<Duty>,
    pub voids_signatures: bool,
    pub needs_reason: bool,
}

/// Why a move is refused. The service answers 409 for a state, 403 for a role and 422
/// (naming the signer or the reason) for a duty or a missing reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Not from this state.
    State(Error),
    /// Not with these roles.
    Role,
    /// Not by this person (segregation of duties), or not without a reason.
    Invalid(Error),
}

/// The roles that may make `action` from `state` (empty when the state does not allow it).
pub fn roles_for(state: RecordStatus, action: RecordAction) -> &'static [Role] {
    use RecordAction as A;
    use RecordStatus as S;
    match (state, action) {
        (S::Draft, A::Correct | A::SignPerformed) => &[Role::Technician],
        (S::Recorded, A::Review | A::Return) => &[Role::Reviewer],
        (S::Reviewed, A::Approve) => &[Role::Approver],
        (S::Reviewed, A::Return) => &[Role::Reviewer, Role::Approver],
        (S::Draft | S::Recorded | S::Reviewed, A::Withdraw) => &[Role::Scheduler, Role::InstituteAdmin],
        (S::Issued, A::Amend) => &[Role::Technician, Role::Approver],
        _ => &[],
    }
}

/// The move `action` makes from `state`, for `who`, given the record's `history`, or why
/// not. `reason` is the text given with a return or a withdrawal.
pub fn next(
    state: RecordStatus,
    action: RecordAction,
    who: &Mover,
    history: &History,
    reason: &str,
) -> Result<Move, Refusal> {
    use RecordAction as A;
    use RecordStatus as S;
    let allowed = roles_for(state, action);
    if allowed.is_empty() {
        return Err(Refusal::State(state_error(state, action)));
    }
    if action == A::Withdraw && history.amendment {
        return Err(Refusal::State(Error::new(
            "status",
            "record.amendment_open",
            "this revision amends an issued certificate, which stands: return it to its technician instead",
        )));
    }
    if !allowed.iter().any(|r| who.roles.contains(r)) {
        return Err(Refusal::Role);
    }
    let (to, signs, voids, needs_reason) = match (state, action) {
        (S::Draft, A::Correct) => (S::Draft, None, false, true),
        (S::Draft, A::SignPerformed) => (S::Recorded, Some(Duty::Record), false, false),
        (S::Recorded, A::Review) => (S::Reviewed, Some(Duty::Review), false, false),
        (S::Reviewed, A::Approve) => (S::Issued, Some(Duty::Approve), false, false),
        (S::Recorded | S::Reviewed, A::Return) => (S::Draft, None, true, true),
        (_, A::Withdraw) => (S::Withdrawn, None, false, true),
        // A new revision: its history of signatures starts empty, its drafter is one of
        // its authors (the service records them), so no earlier duty bars drafting it.
        (S::Issued, A::Amend) => (S::Draft, None, true, true),
        _ => return Err(Refusal::State(state_error(state, action))),
    };
    // The duty the mover exercises: a return is a review (or approval) of the content.
    let duty = match (signs, action, who.roles) {
        (Some(d), _, _) => Some(d),
        (None, A::Return, _) if state == S::Recorded => Some(Duty::Review),
        (None, A::Return, roles) => Some(
            if roles.contains(&Role::Reviewer) && history_has(history, Duty::Review, who) {
                Duty::Review
            } else if roles.contains(&Role::Approver) {
                Duty::Approve
            } else {
                Duty::Review
            },
        ),
        (None, A::Correct, _) => Some(Duty::Record),
        _ => None,
    };
    if let (Some(d), Some(user)) = (duty, who.user) {
        check_segregation(d, user, &history.earlier()).map_err(Refusal::Invalid)?;
    }
    if needs_reason && reason.trim().is_empty() {
        let (code, message) = match action {
            A::Correct => ("record.reason_required", "say why the reading is corrected"),
            A::Return => (
                "record.return_reason_required",
                "say why the record is returned, so that the technician knows what to change",
            ),
            A::Amend => ("certificate.reason_required", "say why the certificate is amended"),
            _ => ("record.withdraw_reason_required", "say why the record is withdrawn"),
        };
        return Err(Refusal::Invalid(Error::new("reason", code, message)));
    }
    Ok(Move {
        to,
        signs,
        voids_signatures: voids,
        needs_reason,
    })
}

fn history_has(history: &History, duty: Duty, who: &Mover) -> bool {
    who.user
        .is_some_and(|u| history.signatures.iter().any(|(d, s)| *d == duty && *s == u))
}

fn state_error(state: RecordStatus, action: RecordAction) -> Error {
    use RecordStatus as S;
    let (code, message) = match state {
        S::Issued | S::Approved => (
            "record.signed",
            "the record is issued: it is changed only by amending its certificate".to_owned(),
        ),
        S::Draft | S::Recorded | S::Reviewed if action == RecordAction::Amend => (
            "record.state",
            "the record is not issued yet: correct it, or return it to its technician".to_owned(),
        ),
        S::Withdrawn => (
            "record.withdrawn",
            "the record was withdrawn: nothing more is done to it".to_owned(),
        ),
        _ => (
            "record.state",
            format!(
                "a record that is {} cannot be {}",
                state.name_en(),
                match action {
                    RecordAction::Correct => "corrected; return it to draft first",
                    RecordAction::SignPerformed => "signed as performed",
                    RecordAction::Review => "reviewed",
                    RecordAction::Approve => "approved",
                    RecordAction::Return => "returned",
                    RecordAction::Withdraw => "withdrawn",
                    RecordAction::Amend => "amended",
                }
            ),
        ),
    };
    Error::new("status", code, message)
}

/// The actions `who` could take on a record in `state` with `history` (the buttons a
/// page offers): each allowed by state and role and not refused by segregation of
/// duties. A missing reason is not counted against an action: the form asks for it.
pub fn offered(state: RecordStatus, who: &Mover, history: &History) -> Vec<RecordAction> {
    RecordAction::ALL
        .iter()
        .copied()
        .filter(|a| next(state, *a, who, history, "a reason").is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::RecordAction as A;
    use super::RecordStatus as S;
    use super::*;

    const TECH: i32 = 1;
    const TECH2: i32 = 2;
    const REVIEWER: i32 = 3;
    const APPROVER: i32 = 4;
    const SCHEDULER: i32 = 5;

    fn who(user: i32, roles: &[Role]) -> Mover<'_> {
        Mover {
            user: Some(user),
            roles,
        }
    }

    /// The expected answer for every state × action × role, written out as the table in
    /// the module's documentation and docs/workflow.md: `Some(to)` where the role may
    /// make the move, `None` where it may not (with the reason checked below).
    fn expected(state: S, action: A, role: Role) -> Option<S> {
        match (state, action, role) {
            (S::Draft, A::Correct, Role::Technician) => Some(S::Draft),
            (S::Draft, A::SignPerformed, Role::Technician) => Some(S::Recorded),
            (S::Recorded, A::Review, Role::Reviewer) => Some(S::Reviewed),
            (S::Reviewed, A::Approve, Role::Approver) => Some(S::Issued),
            (S::Recorded, A::Return, Role::Reviewer) => Some(S::Draft),
            (S::Reviewed, A::Return, Role::Reviewer | Role::Approver) => Some(S::Draft),
            (S::Draft | S::Recorded | S::Reviewed, A::Withdraw, Role::Scheduler | Role::InstituteAdmin) => {
                Some(S::Withdrawn)
            }
            (S::Issued, A::Amend, Role::Technician | Role::Approver) => Some(S::Draft),
            _ => None,
        }
    }

    #[test]
    fn every_state_action_and_role() {
        // One person holding one role, who has not touched the record before.
        let history = History::default();
        let mut allowed = 0;
        for state in S::ALL {
            for action in A::ALL {
                for role in Role::ALL {
                    let roles = [*role];
                    let got = next(*state, *action, &who(99, &roles), &history, "a reason");
                    match (expected(*state, *action, *role), got) {
                        (Some(to), Ok(m)) => {
                            assert_eq!(m.to, to, "{state:?} {action:?} {role:?}");
                            allowed += 1;
                        }
                        (None, Err(Refusal::State(e))) => {
                            assert!(roles_for(*state, *action).is_empty(), "{state:?} {action:?}");
                            assert!(
                                ["record.state", "record.signed", "record.withdrawn"].contains(&e.code),
                                "{e:?}"
                            );
                        }
                        (None, Err(Refusal::Role)) => {
                            assert!(
                                !roles_for(*state, *action).is_empty() && !roles_for(*state, *action).contains(role)
                            )
                        }
                        (want, got) => panic!("{state:?} {action:?} {role:?}: expected {want:?}, got {got:?}"),
                    }
                }
            }
        }
        // The technician's two moves, the review, the approval, three returns, and
        // withdrawals by two roles from three states, and amendments by two roles.
        assert_eq!(allowed, 2 + 1 + 1 + 3 + 6 + 2);
    }

    #[test]
    fn issued_and_withdrawn_records_are_final() {
        let all = Role::ALL;
        for state in [S::Issued, S::Withdrawn, S::Approved] {
            for action in A::ALL {
                if (state, *action) == (S::Issued, A::Amend) {
                    continue;
                }
                let r = next(
                    state,
                    *action,
                    &Mover { user: None, roles: all },
                    &History::default(),
                    "r",
                );
                assert!(matches!(r, Err(Refusal::State(_))), "{state:?} {action:?}: {r:?}");
            }
        }
        let Err(Refusal::State(e)) = next(
            S::Issued,
            A::Correct,
            &who(TECH, &[Role::Technician]),
            &History::default(),
            "",
        ) else {
            panic!()
        };
        assert_eq!(e.code, "record.signed");
    }

    #[test]
    fn an_amendment_reopens_the_record_for_two_others_to_sign() {
        // ISO/IEC 17025 §7.8.8 and issue 20, defect 2: the approver of revision 1 drafts
        // the amendment; the new revision's signatures start empty, the drafter is one
        // of its authors, and two other people review and approve it.
        let all = [Role::Technician, Role::Reviewer, Role::Approver];
        let issued = History {
            amendment: false,
            authors: vec![TECH],
            signatures: vec![
                (Duty::Record, TECH),
                (Duty::Review, REVIEWER),
                (Duty::Approve, APPROVER),
            ],
        };
        let m = next(S::Issued, A::Amend, &who(APPROVER, &all), &issued, "型号更正").unwrap();
        assert_eq!(
            m,
            Move {
                to: S::Draft,
                signs: None,
                voids_signatures: true,
                needs_reason: true
            }
        );
        let r = next(S::Issued, A::Amend, &who(APPROVER, &all), &issued, " ");
        assert!(
            matches!(&r, Err(Refusal::Invalid(e)) if e.code == "certificate.reason_required"),
            "{r:?}"
        );
        // Only a technician or an approver of the laboratory drafts an amendment.
        assert_eq!(
            next(S::Issued, A::Amend, &who(REVIEWER, &[Role::Reviewer]), &issued, "x"),
            Err(Refusal::Role)
        );
        // Revision 2: authored by the technician and the drafter, no signatures yet.
        let revision = History {
            amendment: true,
            authors: vec![TECH, APPROVER],
            signatures: vec![],
        };
        // The revision is returned or approved, never withdrawn: the certificate stands.
        let r = next(
            S::Draft,
            A::Withdraw,
            &who(SCHEDULER, &[Role::Scheduler]),
            &revision,
            "x",
        );
        assert!(
            matches!(&r, Err(Refusal::State(e)) if e.code == "record.amendment_open"),
            "{r:?}"
        );
        assert!(next(S::Draft, A::SignPerformed, &who(APPROVER, &all), &revision, "").is_ok());
        let signed = History {
            signatures: vec![(Duty::Record, APPROVER)],
            ..revision.clone()
        };
        // The drafter may neither review nor approve; two others do.
        assert!(next(S::Recorded, A::Review, &who(APPROVER, &all), &signed, "").is_err());
        assert!(next(S::Recorded, A::Review, &who(REVIEWER, &all), &signed, "").is_ok());
        let reviewed = History {
            signatures: vec![(Duty::Record, APPROVER), (Duty::Review, REVIEWER)],
            ..revision
        };
        assert!(next(S::Reviewed, A::Approve, &who(APPROVER, &all), &reviewed, "").is_err());
        assert!(next(S::Reviewed, A::Approve, &who(REVIEWER, &all), &reviewed, "").is_err());
        assert!(next(S::Reviewed, A::Approve, &who(SCHEDULER, &all), &reviewed, "").is_ok());
        // A record not yet issued has no certificate to amend.
        let r = next(S::Reviewed, A::Amend, &who(APPROVER, &all), &reviewed, "x");
        assert!(
            matches!(&r, Err(Refusal::State(e)) if e.code == "record.state"),
            "{r:?}"
        );
    }

    #[test]
    fn who_entered_the_results_may_sign_only_as_performed() {
        // DESIGN.md and issue 20, defect 3: the author entered the results; a second
        // technician signed as performed; the author holds every role.
        let all = [Role::Technician, Role::Reviewer, Role::Approver];
        let h = History {
            amendment: false,
            authors: vec![TECH],
            signatures: vec![(Duty::Record, TECH2)],
        };
        let r = next(S::Recorded, A::Review, &who(TECH, &all), &h, "");
        assert!(
            matches!(&r, Err(Refusal::Invalid(e)) if e.code == "duty.segregation"),
            "{r:?}"
        );
        let r = next(S::Recorded, A::Return, &who(TECH, &all), &h, "wrong reference");
        assert!(
            matches!(&r, Err(Refusal::Invalid(e)) if e.code == "duty.segregation"),
            "{r:?}"
        );
        // Somebody else reviews; the author may still not approve, nor the reviewer.
        assert!(next(S::Recorded, A::Review, &who(REVIEWER, &all), &h, "").is_ok());
        let h = History {
            amendment: false,
            signatures: vec![(Duty::Record, TECH2), (Duty::Review, REVIEWER)],
            ..h
        };
        assert!(next(S::Reviewed, A::Approve, &who(TECH, &all), &h, "").is_err());
        assert!(next(S::Reviewed, A::Approve, &who(REVIEWER, &all), &h, "").is_err());
        assert!(next(S::Reviewed, A::Approve, &who(APPROVER, &all), &h, "").is_ok());
        // The author may correct and sign again, after a return.
        assert!(next(S::Draft, A::Correct, &who(TECH, &all), &h, "typo").is_ok());
        assert!(next(S::Draft, A::SignPerformed, &who(TECH, &all), &h, "").is_ok());
        // Who reviewed (even a voided review) may not now record it.
        let r = next(S::Draft, A::Correct, &who(REVIEWER, &all), &h, "typo");
        assert!(matches!(r, Err(Refusal::Invalid(_))), "{r:?}");
        let r = next(S::Draft, A::SignPerformed, &who(REVIEWER, &all), &h, "");
        assert!(matches!(r, Err(Refusal::Invalid(_))), "{r:?}");
    }

    #[test]
    fn a_return_voids_the_signatures_and_needs_a_reason() {
        let h = History {
            amendment: false,
            authors: vec![TECH],
            signatures: vec![(Duty::Record, TECH), (Duty::Review, REVIEWER)],
        };
        let m = next(
            S::Reviewed,
            A::Return,
            &who(APPROVER, &[Role::Approver]),
            &h,
            "U of point 3 is below the CMC",
        )
        .unwrap();
        assert_eq!(
            m,
            Move {
                to: S::Draft,
                signs: None,
                voids_signatures: true,
                needs_reason: true
            }
        );
        // The reviewer who signed may take the review back too.
        assert!(next(
            S::Reviewed,
            A::Return,
            &who(REVIEWER, &[Role::Reviewer]),
            &h,
            "my mistake"
        )
        .is_ok());
        let r = next(S::Reviewed, A::Return, &who(APPROVER, &[Role::Approver]), &h, "   ");
        assert!(matches!(&r, Err(Refusal::Invalid(e)) if e.field == "reason"), "{r:?}");
        let r = next(S::Draft, A::Withdraw, &who(SCHEDULER, &[Role::Scheduler]), &h, "");
        assert!(
            matches!(&r, Err(Refusal::Invalid(e)) if e.code == "record.withdraw_reason_required"),
            "{r:?}"
        );
        // The operator's command line is no person: no segregation, but a reason still.
        let op = Mover {
            user: None,
            roles: Role::ALL,
        };
        assert!(next(S::Recorded, A::Return, &op, &h, "by the operator").is_ok());
    }

    #[test]
    fn the_page_offers_only_what_the_person_may_do() {
        let h = History {
            amendment: false,
            authors: vec![TECH],
            signatures: vec![(Duty::Record, TECH)],
        };
        // The technician who signed sees nothing to do on a recorded record (no review form).
        assert!(offered(S::Recorded, &who(TECH, &[Role::Technician, Role::Reviewer]), &h).is_empty());
        assert_eq!(
            offered(S::Recorded, &who(REVIEWER, &[Role::Reviewer]), &h),
            vec![A::Review, A::Return]
        );
        assert_eq!(
            offered(S::Draft, &who(TECH, &[Role::Technician]), &h),
            vec![A::Correct, A::SignPerformed]
        );
        assert_eq!(
            offered(S::Reviewed, &who(SCHEDULER, &[Role::Scheduler]), &h),
            vec![A::Withdraw]
        );
        // An issued record offers only the amendment of its certificate.
        assert_eq!(offered(S::Issued, &who(APPROVER, Role::ALL), &h), vec![A::Amend]);
    }
}
