//! Ranking coaches for a participant. The score is a plain sum of visible parts, so a
//! supervisor can see exactly why one coach ranks above another:
//!
//! | part | points |
//! |---|---|
//! | speaks the participant's preferred language | 30 |
//! | each shared recovery pathway | 15 (at most 30) |
//! | each of the participant's needs in the coach's lived experience | 10 (at most 30) |
//! | each of the participant's needs in the coach's specialties | 5 (at most 10) |
//! | free places | up to 20, in proportion to the share of the caseload still free |
//!
//! The best possible score is 120. Ties go to the coach with more free places.

use uuid::Uuid;

use crate::db::models::coach_profiles::Coach;

pub const LANGUAGE_POINTS: u32 = 30;
pub const PATHWAY_POINTS: u32 = 15;
pub const PATHWAY_CAP: u32 = 30;
pub const LIVED_EXPERIENCE_POINTS: u32 = 10;
pub const LIVED_EXPERIENCE_CAP: u32 = 30;
pub const SPECIALTY_POINTS: u32 = 5;
pub const SPECIALTY_CAP: u32 = 10;
pub const LOAD_POINTS: u32 = 20;

/// What the ranking knows of the participant.
pub struct Seeker<'a> {
    pub preferred_language: Option<&'a str>,
    pub recovery_pathways: &'a [String],
    pub needs: &'a [String],
}

/// One ranked coach.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub coach_id: Uuid,
    pub display_name: String,
    pub score: u32,
    pub reasons: Vec<String>,
    pub free_places: i64,
}

/// Ranks coaches with free places, best first.
pub fn rank(seeker: &Seeker<'_>, coaches: Vec<Coach>) -> Vec<Suggestion> {
    let mut suggestions: Vec<Suggestion> = coaches
        .into_iter()
        .filter(|coach| coach.current_caseload < i64::from(coach.profile.max_caseload))
        .map(|coach| score(seeker, coach))
        .collect();
    suggestions.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(b.free_places.cmp(&a.free_places))
            .then(a.coach_id.cmp(&b.coach_id))
    });
    suggestions
}

fn shared<'a>(wanted: &'a [String], offered: &[String]) -> Vec<&'a String> {
    wanted.iter().filter(|tag| offered.contains(tag)).collect()
}

fn score(seeker: &Seeker<'_>, coach: Coach) -> Suggestion {
    let profile = &coach.profile;
    let mut score = 0;
    let mut reasons = Vec::new();
    if let Some(language) = seeker.preferred_language {
        if profile
            .languages
            .iter()
            .any(|l| l.eq_ignore_ascii_case(language))
        {
            score += LANGUAGE_POINTS;
            reasons.push(format!("speaks {}", language_name(language)));
        }
    }
    let pathways = shared(seeker.recovery_pathways, &profile.recovery_pathways);
    score += (PATHWAY_POINTS * pathways.len() as u32).min(PATHWAY_CAP);
    for pathway in pathways {
        reasons.push(format!("also on a {} pathway", tag_name(pathway)));
    }
    let lived = shared(seeker.needs, &profile.lived_experience);
    score += (LIVED_EXPERIENCE_POINTS * lived.len() as u32).min(LIVED_EXPERIENCE_CAP);
    for need in lived {
        reasons.push(format!("lived experience with {}", tag_name(need)));
    }
    let special = shared(seeker.needs, &profile.specialties);
    score += (SPECIALTY_POINTS * special.len() as u32).min(SPECIALTY_CAP);
    for need in special {
        reasons.push(format!("specialises in {}", tag_name(need)));
    }
    let max = i64::from(profile.max_caseload);
    let free = (max - coach.current_caseload).max(0);
    if max > 0 {
        score += (i64::from(LOAD_POINTS) * free / max) as u32;
    }
    reasons.push(format!("{free} of {max} places free"));
    Suggestion {
        coach_id: profile.user_id,
        display_name: coach.display_name,
        score,
        reasons,
        free_places: free,
    }
}

/// Tags read as words: `twelve_step` → "twelve step", `moud` → "MOUD".
fn tag_name(tag: &str) -> String {
    match tag {
        "moud" => "MOUD".into(),
        "lgbtq" => "LGBTQ+".into(),
        "smart_recovery" => "SMART Recovery".into(),
        "twelve_step" => "12-step".into(),
        other => other.replace('_', " "),
    }
}

fn language_name(tag: &str) -> String {
    let primary = tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
    let name = match primary.as_str() {
        "en" => "English",
        "es" => "Spanish",
        "fr" => "French",
        "pt" => "Portuguese",
        "zh" => "Chinese",
        "vi" => "Vietnamese",
        "ar" => "Arabic",
        "ru" => "Russian",
        "ko" => "Korean",
        "ht" => "Haitian Creole",
        "tl" => "Tagalog",
        "so" => "Somali",
        "asl" | "sgn" => "sign language",
        _ => return tag.to_owned(),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::coach_profiles::CoachProfile;
    use chrono::Utc;

    fn coach(
        name: &str,
        max: i32,
        current: i64,
        langs: &[&str],
        paths: &[&str],
        lived: &[&str],
    ) -> Coach {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect();
        Coach {
            profile: CoachProfile {
                user_id: Uuid::now_v7(),
                organization_id: Uuid::nil(),
                max_caseload: max,
                languages: tags(langs),
                specialties: vec!["housing".into()],
                lived_experience: tags(lived),
                recovery_pathways: tags(paths),
                bio: None,
                accepting_new: true,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            },
            display_name: name.into(),
            email: format!("{name}@example.org"),
            active: true,
            current_caseload: current,
        }
    }

    #[test]
    fn scores_add_up_and_reasons_read_as_sentences() {
        let pathways = vec!["moud".to_string()];
        let needs = vec!["opioids".to_string(), "housing".to_string()];
        let seeker = Seeker {
            preferred_language: Some("es"),
            recovery_pathways: &pathways,
            needs: &needs,
        };
        let ranked = rank(
            &seeker,
            vec![
                coach("ana", 25, 13, &["en", "es"], &["moud"], &["opioids"]),
                coach("bo", 25, 0, &["en"], &[], &[]),
                coach("full", 10, 10, &["es"], &["moud"], &["opioids"]),
            ],
        );
        assert_eq!(ranked.len(), 2, "coaches at capacity are left out");
        assert_eq!(ranked[0].display_name, "ana");
        // 30 language + 15 pathway + 10 lived + 5 specialty + 20 * 12 / 25 = 69
        assert_eq!(ranked[0].score, 69);
        assert_eq!(
            ranked[0].reasons,
            vec![
                "speaks Spanish",
                "also on a MOUD pathway",
                "lived experience with opioids",
                "specialises in housing",
                "12 of 25 places free"
            ]
        );
        // 5 specialty + 20 load
        assert_eq!(ranked[1].score, 25);
    }
}
