//! The staff visual check (目視確認): an equal path to the automatic one.
//!
//! A staff member looks at the card and at the person and records what they
//! saw. No image is read and no biometric is computed; the result is the same
//! [`Outcome`] type as an automatic verification, with [`Method::StaffVisual`].

use crate::decision::outcome::{Decision, Outcome, Reason};

/// What a staff member concluded when comparing the card with the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffJudgement {
    /// The person is the card holder.
    SamePerson,
    /// The person is not the card holder.
    DifferentPerson,
    /// Staff could not tell.
    Unsure,
}

/// Records a staff visual check as an [`Outcome`].
///
/// Needs no engine, no model and no camera: it works when the automatic path
/// cannot (no camera, model failure) or must not be used (the person declines).
pub fn staff_visual_check(judgement: StaffJudgement) -> Outcome {
    Outcome::staff(match judgement {
        StaffJudgement::SamePerson => Decision::Match,
        StaffJudgement::DifferentPerson => Decision::NoMatch,
        StaffJudgement::Unsure => Decision::Inconclusive(Reason::StaffUnsure),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::outcome::Method;

    #[test]
    fn staff_outcomes_carry_no_score_and_the_staff_method() {
        for (j, d) in [
            (StaffJudgement::SamePerson, Decision::Match),
            (StaffJudgement::DifferentPerson, Decision::NoMatch),
            (StaffJudgement::Unsure, Decision::Inconclusive(Reason::StaffUnsure)),
        ] {
            let o = staff_visual_check(j);
            assert_eq!((o.decision, o.method, o.score, o.threshold), (d, Method::StaffVisual, None, None));
        }
    }
}
