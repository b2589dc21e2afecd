//! The follow-up schedule of an episode of care: which interviews a funder expects, when each
//! is due, the window it may be done in, and where each stands today.
//!
//! The schedule is data: [`SUPRT`] lists the points SAMHSA's SUPRT (GPRA before it) counts,
//! each a [`Rule`] (what its due date is counted from, how far, and the window around it).
//! Another funder's points (a 3-month check-in, HUD's annual assessment) are another table of
//! rules; nothing else changes.
//!
//! - `baseline`: within 30 days of the start (due on the 30th day);
//! - `reassessment_6m`: 180 days after the baseline interview, ±30 days;
//! - `annual_<n>`: each anniversary of the baseline interview, ±30 days (a baseline on 29
//!   February has its anniversaries on 28 February in other years);
//! - `closeout`: within 30 days after the end (due on the 30th day).
//!
//! Until the baseline interview is done, "the baseline" is the episode's start. A point's
//! state, `today` being the calendar date in the organization's time zone: `done` with an
//! interview; `not_required` when the episode ended before the point's window opened (a
//! closeout on the day a window opens still requires that point); else `upcoming` before the
//! window, `open` from its opening to the due date, `overdue` after the due date while the
//! window is open, and `missed` once it has closed.

use std::collections::HashMap;

use chrono::{Days, Months, NaiveDate};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::follow_ups::{self, DuePoint, PointFilter, RuleRow};
use crate::db::scope::Scope;

/// What a point's due date is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The episode's start.
    Start,
    /// The baseline interview (the start until it is done).
    Baseline,
    /// The episode's end: the point exists only once it has ended.
    End,
}

/// How far after its anchor a point is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    Days(u64),
    /// Whole years: the anniversary, on 28 February for 29 February in other years.
    Years(u32),
}

/// One kind of follow-up point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The point's name; a repeating point is `<name>_<n>` (`annual_1`).
    pub name: &'static str,
    pub anchor: Anchor,
    pub offset: Offset,
    /// Days the window opens before the due date, and closes after it.
    pub before: u64,
    pub after: u64,
    /// Whether the point comes again every `offset` (the n-th due `n × offset` after the
    /// anchor) for as long as the episode lasts.
    pub repeats: bool,
}

/// SAMHSA's SUPRT follow-up points.
pub const SUPRT: &[Rule] = &[
    Rule {
        name: "baseline",
        anchor: Anchor::Start,
        offset: Offset::Days(30),
        before: 30,
        after: 0,
        repeats: false,
    },
    Rule {
        name: "reassessment_6m",
        anchor: Anchor::Baseline,
        offset: Offset::Days(180),
        before: 30,
        after: 30,
        repeats: false,
    },
    Rule {
        name: "annual",
        anchor: Anchor::Baseline,
        offset: Offset::Years(1),
        before: 30,
        after: 30,
        repeats: true,
    },
    Rule {
        name: "closeout",
        anchor: Anchor::End,
        offset: Offset::Days(30),
        before: 30,
        after: 0,
        repeats: false,
    },
];

/// Where a point stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PointState {
    Upcoming,
    Open,
    Overdue,
    Done,
    Missed,
    NotRequired,
}

impl PointState {
    pub const ALL: [Self; 6] = [
        Self::Upcoming,
        Self::Open,
        Self::Overdue,
        Self::Done,
        Self::Missed,
        Self::NotRequired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upcoming => "upcoming",
            Self::Open => "open",
            Self::Overdue => "overdue",
            Self::Done => "done",
            Self::Missed => "missed",
            Self::NotRequired => "not_required",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// What the schedule is computed from.
#[derive(Debug, Clone, Copy)]
pub struct EpisodeDates {
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
}

/// A point of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub name: String,
    pub due: NaiveDate,
    pub window_opens: NaiveDate,
    pub window_closes: NaiveDate,
    pub state: PointState,
}

/// How many times a repeating point may come at most (a century of annual points).
const MAX_REPEATS: u32 = 100;

/// The schedule of `episode` under `rules` on `today`, in the rules' order. `done(name)`
/// gives the date of the interview that satisfied a point, if one did. Points are listed while
/// their window opens on or before the horizon (`today`, or the end of a closed episode), and
/// then one more: the next point, `upcoming` (or `not_required`: cancelled by the end). The
/// points counted from the end come last.
pub fn schedule(
    rules: &[Rule],
    episode: EpisodeDates,
    today: NaiveDate,
    done: impl Fn(&str) -> Option<NaiveDate>,
) -> Vec<Point> {
    let baseline = rules
        .iter()
        .find(|rule| rule.anchor == Anchor::Start)
        .and_then(|rule| done(rule.name))
        .unwrap_or(episode.started_on);
    let horizon = episode.ended_on.unwrap_or(today);
    let mut points = Vec::new();
    let mut past_horizon = false;
    for rule in rules {
        if past_horizon && rule.anchor != Anchor::End {
            continue;
        }
        let anchor = match rule.anchor {
            Anchor::Start => episode.started_on,
            Anchor::Baseline => baseline,
            Anchor::End => match episode.ended_on {
                Some(end) => end,
                None => continue,
            },
        };
        let times = if rule.repeats { MAX_REPEATS } else { 1 };
        for n in 1..=times {
            let name = match rule.repeats {
                true => format!("{}_{n}", rule.name),
                false => rule.name.to_owned(),
            };
            let Some(point) = point(rule, anchor, n, name, episode, today, &done) else {
                break;
            };
            let beyond = rule.anchor != Anchor::End && point.window_opens > horizon;
            points.push(point);
            if beyond {
                past_horizon = true;
                break;
            }
        }
    }
    points
}

fn point(
    rule: &Rule,
    anchor: NaiveDate,
    n: u32,
    name: String,
    episode: EpisodeDates,
    today: NaiveDate,
    done: &impl Fn(&str) -> Option<NaiveDate>,
) -> Option<Point> {
    let due = match rule.offset {
        Offset::Days(days) => anchor.checked_add_days(Days::new(days * u64::from(n)))?,
        Offset::Years(years) => anchor.checked_add_months(Months::new(12 * years * n))?,
    };
    let window_opens = due.checked_sub_days(Days::new(rule.before))?;
    let window_closes = due.checked_add_days(Days::new(rule.after))?;
    let cancelled =
        rule.anchor != Anchor::End && episode.ended_on.is_some_and(|end| end < window_opens);
    let state = if done(&name).is_some() {
        PointState::Done
    } else if cancelled {
        PointState::NotRequired
    } else if today < window_opens {
        PointState::Upcoming
    } else if today <= due {
        PointState::Open
    } else if today <= window_closes {
        PointState::Overdue
    } else {
        PointState::Missed
    };
    Some(Point {
        name,
        due,
        window_opens,
        window_closes,
        state,
    })
}

/// `rules` as the data the SQL of `db::models::follow_ups` computes points from.
pub fn rule_rows(rules: &[Rule]) -> Vec<RuleRow> {
    rules
        .iter()
        .map(|rule| {
            let (days, years) = match rule.offset {
                Offset::Days(days) => (days as i32, 0),
                Offset::Years(years) => (0, years as i32),
            };
            RuleRow {
                name: rule.name,
                anchor: match rule.anchor {
                    Anchor::Start => "start",
                    Anchor::Baseline => "baseline",
                    Anchor::End => "end",
                },
                days,
                years,
                before: rule.before as i32,
                after: rule.after as i32,
                repeats: rule.repeats,
            }
        })
        .collect()
}

/// The states a coach still has to act on, most urgent first.
pub const ACTIONABLE: [PointState; 3] =
    [PointState::Overdue, PointState::Open, PointState::Upcoming];

/// Each of `participant_ids`' next point to act on (overdue, then open, then upcoming; the
/// earliest due first), under [`SUPRT`].
pub async fn next_points(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_ids: Vec<Uuid>,
) -> QueryResult<HashMap<Uuid, DuePoint>> {
    let filter = PointFilter {
        states: ACTIONABLE.iter().map(|s| s.as_str().to_owned()).collect(),
        limit: participant_ids.len() as i64,
        participant_ids: Some(participant_ids),
        first_per_participant: true,
        ..PointFilter::default()
    };
    let rows = follow_ups::points(conn, scope, &rule_rows(SUPRT), &filter).await?;
    Ok(rows.into_iter().map(|p| (p.participant_id, p)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn states(points: &[Point]) -> Vec<(&str, PointState)> {
        points.iter().map(|p| (p.name.as_str(), p.state)).collect()
    }

    fn open(started: &str) -> EpisodeDates {
        EpisodeDates {
            started_on: day(started),
            ended_on: None,
        }
    }

    #[test]
    fn a_new_episode_has_an_open_baseline_and_the_reassessment_ahead() {
        let points = schedule(SUPRT, open("2026-01-10"), day("2026-01-20"), |_| None);
        use PointState::*;
        assert_eq!(
            states(&points),
            [("baseline", Open), ("reassessment_6m", Upcoming)]
        );
        let baseline = &points[0];
        assert_eq!(baseline.window_opens, day("2026-01-10"));
        assert_eq!(baseline.due, day("2026-02-09"));
        assert_eq!(baseline.window_closes, day("2026-02-09"));
    }

    #[test]
    fn the_reassessment_counts_from_the_baseline_interview_and_goes_overdue_then_missed() {
        let done = |name: &str| (name == "baseline").then(|| day("2026-01-15"));
        let at = |today| schedule(SUPRT, open("2026-01-10"), day(today), done);
        let reassessment = |today| at(today)[1].clone();
        assert_eq!(reassessment("2026-06-14").due, day("2026-07-14"));
        assert_eq!(reassessment("2026-06-13").state, PointState::Upcoming);
        assert_eq!(reassessment("2026-06-14").state, PointState::Open);
        assert_eq!(reassessment("2026-07-14").state, PointState::Open);
        assert_eq!(reassessment("2026-07-15").state, PointState::Overdue);
        // A window closing today is still open today.
        assert_eq!(reassessment("2026-08-13").state, PointState::Overdue);
        assert_eq!(reassessment("2026-08-14").state, PointState::Missed);
        assert_eq!(at("2026-01-20")[0].state, PointState::Done);
    }

    #[test]
    fn a_point_due_on_a_leap_day_and_anniversaries_of_a_leap_day() {
        // 180 days after 2027-09-02 is 2028-02-29.
        let done = |name: &str| (name == "baseline").then(|| day("2027-09-02"));
        let points = schedule(SUPRT, open("2027-09-01"), day("2028-02-29"), done);
        assert_eq!(points[1].name, "reassessment_6m");
        assert_eq!(points[1].due, day("2028-02-29"));
        assert_eq!(points[1].state, PointState::Open);
        // A baseline on 29 February has its anniversaries on 28 February, then 29 again.
        let done = |name: &str| (name == "baseline").then(|| day("2028-02-29"));
        let points = schedule(SUPRT, open("2028-02-01"), day("2032-03-30"), done);
        let annuals: Vec<NaiveDate> = points
            .iter()
            .filter(|p| p.name.starts_with("annual_"))
            .map(|p| p.due)
            .collect();
        assert_eq!(
            annuals,
            [
                day("2029-02-28"),
                day("2030-02-28"),
                day("2031-02-28"),
                day("2032-02-29"),
                day("2033-02-28")
            ]
        );
    }

    #[test]
    fn a_closeout_cancels_the_points_whose_window_had_not_opened() {
        use PointState::*;
        let done = |name: &str| (name == "baseline").then(|| day("2026-01-15"));
        // The reassessment window opens 2026-06-14.
        let closed = |end: &str| EpisodeDates {
            started_on: day("2026-01-10"),
            ended_on: Some(day(end)),
        };
        let points = schedule(SUPRT, closed("2026-06-13"), day("2026-06-20"), done);
        assert_eq!(
            states(&points),
            [
                ("baseline", Done),
                ("reassessment_6m", NotRequired),
                ("closeout", Open)
            ]
        );
        // A closeout on the day the window opens still requires the point.
        let points = schedule(SUPRT, closed("2026-06-14"), day("2026-06-20"), done);
        assert_eq!(
            states(&points),
            [
                ("baseline", Done),
                ("reassessment_6m", Open),
                ("annual_1", NotRequired),
                ("closeout", Open)
            ]
        );
        let closeout = points.last().unwrap();
        assert_eq!(closeout.window_opens, day("2026-06-14"));
        assert_eq!(closeout.window_closes, day("2026-07-14"));
    }

    #[test]
    fn a_baseline_never_done_is_missed_and_the_episode_counts_from_its_start() {
        let points = schedule(SUPRT, open("2026-01-10"), day("2026-03-01"), |_| None);
        assert_eq!(points[0].state, PointState::Missed);
        assert_eq!(points[1].due, day("2026-07-09"));
    }
}
