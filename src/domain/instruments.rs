//! The assessment instruments Tandem knows, as data: each instrument's items, answer scale,
//! total range and published cut-off. Validation and scoring of a submission come from the
//! definition, so adding an instrument is adding an entry to [`ALL`]; no endpoint changes.

use serde::Serialize;
use utoipa::ToSchema;

use crate::http::validation::Checks;

/// One question of an instrument.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Item {
    /// 1-based position; answers are given in this order.
    #[schema(minimum = 1, example = 1)]
    pub number: u32,
    /// The area of recovery capital the item asks about, e.g. `housing`.
    pub domain: &'static str,
    /// The statement the person rates.
    pub prompt: &'static str,
}

/// One point of the answer scale.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ScalePoint {
    pub value: i32,
    pub label: &'static str,
}

/// The answer every item takes: an integer from `min` to `max`, each value labelled.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Scale {
    pub min: i32,
    pub max: i32,
    pub labels: &'static [ScalePoint],
}

/// The lowest and highest possible totals.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct TotalRange {
    pub min: i32,
    pub max: i32,
}

/// A published threshold: a total at or above `total` meets it.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Cutoff {
    pub total: i32,
    /// What meeting it indicates, and where the threshold comes from.
    pub description: &'static str,
}

/// An assessment instrument.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Instrument {
    /// What submissions name in `instrument`, e.g. `barc-10`.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub items: &'static [Item],
    pub scale: Scale,
    pub total: TotalRange,
    pub cutoff: Cutoff,
}

const AGREEMENT: &[ScalePoint] = &[
    ScalePoint {
        value: 1,
        label: "Strongly disagree",
    },
    ScalePoint {
        value: 2,
        label: "Disagree",
    },
    ScalePoint {
        value: 3,
        label: "Somewhat disagree",
    },
    ScalePoint {
        value: 4,
        label: "Somewhat agree",
    },
    ScalePoint {
        value: 5,
        label: "Agree",
    },
    ScalePoint {
        value: 6,
        label: "Strongly agree",
    },
];

/// The Brief Assessment of Recovery Capital (Vilsaint et al., 2017). The prompts below are
/// Tandem's own plain-language wording of each item's area, not the instrument's text.
pub const BARC_10: Instrument = Instrument {
    id: "barc-10",
    name: "Brief Assessment of Recovery Capital (BARC-10)",
    description: "Ten statements about the personal, social and community resources that \
support recovery. The person rates how much they agree with each one; higher totals mean \
more recovery capital.",
    items: &[
        Item { number: 1, domain: "recovery_priority", prompt: "Staying free of alcohol and other drugs comes first for me right now." },
        Item { number: 2, domain: "housing", prompt: "My home is safe and I expect to be able to stay there." },
        Item { number: 3, domain: "finances", prompt: "I have enough money to cover the basics I need each month." },
        Item { number: 4, domain: "physical_health", prompt: "My body and physical health are in good enough shape to get through my days." },
        Item { number: 5, domain: "social_support", prompt: "There are people in my life I can turn to when things get hard." },
        Item { number: 6, domain: "meaningful_activities", prompt: "I spend my time on things that feel worthwhile, such as work, study, caring or volunteering." },
        Item { number: 7, domain: "coping", prompt: "When stress or cravings come, I have ways of handling them that work for me." },
        Item { number: 8, domain: "substance_free_network", prompt: "Most of the people I spend time with do not drink heavily or use drugs." },
        Item { number: 9, domain: "purpose", prompt: "I have a sense of direction and things I am working towards in life." },
        Item { number: 10, domain: "recovery_community", prompt: "I take part in a recovery community or group that helps me." },
    ],
    scale: Scale { min: 1, max: 6, labels: AGREEMENT },
    total: TotalRange { min: 10, max: 60 },
    cutoff: Cutoff {
        total: 47,
        description: "A total of 47 or more is the level associated with sustained \
remission in the instrument's validation study.",
    },
};

/// Every instrument, in the order `GET /instruments` lists them.
pub const ALL: &[Instrument] = &[BARC_10];

/// The instrument `id` names.
pub fn find(id: &str) -> Option<&'static Instrument> {
    ALL.iter().find(|instrument| instrument.id == id)
}

/// The ids of [`ALL`], for messages: "`barc-10`".
pub fn known_ids() -> String {
    ALL.iter()
        .map(|instrument| format!("`{}`", instrument.id))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Instrument {
    /// Adds to `checks` what is wrong with `answers` under `field`: their number, else each
    /// answer outside the scale (`answers[3]`).
    pub fn check_answers(&self, checks: &mut Checks, field: &str, answers: &[i64]) {
        if answers.len() != self.items.len() {
            let message = format!(
                "must have exactly {} answers, one per item of {}",
                self.items.len(),
                self.id
            );
            checks.add(field, message);
            return;
        }
        let range = i64::from(self.scale.min)..=i64::from(self.scale.max);
        for (index, answer) in answers.iter().enumerate() {
            if !range.contains(answer) {
                let message = format!(
                    "item {} must be an integer between {} and {}",
                    index + 1,
                    self.scale.min,
                    self.scale.max
                );
                checks.add(&format!("{field}[{index}]"), message);
            }
        }
    }

    /// The total of answers that passed [`Instrument::check_answers`].
    pub fn score(&self, answers: &[i32]) -> i32 {
        answers.iter().sum()
    }

    pub fn meets_cutoff(&self, total: i32) -> bool {
        total >= self.cutoff.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_instrument() {
        let ids: Vec<&str> = ALL.iter().map(|instrument| instrument.id).collect();
        assert_eq!(ids, crate::http::limits::INSTRUMENT_IDS);
    }

    #[test]
    fn every_definition_is_consistent() {
        for instrument in ALL {
            let count = instrument.items.len() as i32;
            assert_eq!(instrument.total.min, count * instrument.scale.min);
            assert_eq!(instrument.total.max, count * instrument.scale.max);
            let span = instrument.scale.max - instrument.scale.min + 1;
            assert_eq!(instrument.scale.labels.len() as i32, span);
            assert!(
                (instrument.total.min..=instrument.total.max).contains(&instrument.cutoff.total)
            );
            for (index, item) in instrument.items.iter().enumerate() {
                assert_eq!(item.number as usize, index + 1);
            }
            assert_eq!(find(instrument.id).map(|i| i.id), Some(instrument.id));
        }
    }

    #[test]
    fn answers_are_checked_against_the_definition() {
        let refused = |answers: &[i64]| {
            let mut checks = Checks::new();
            BARC_10.check_answers(&mut checks, "answers", answers);
            match checks.finish() {
                Err(crate::http::error::AppError::Validation(errors)) => errors.len(),
                _ => 0,
            }
        };
        assert_eq!(refused(&[3; 10]), 0);
        assert_eq!(refused(&[3; 9]), 1);
        let mut answers = [3; 10];
        answers[0] = 0;
        answers[9] = 7;
        assert_eq!(refused(&answers), 2);
        assert!(BARC_10.meets_cutoff(47) && !BARC_10.meets_cutoff(46));
    }
}
