//! Follow-up points across episodes, computed in SQL from the schedule's rules (given as data
//! by `domain::follow_up`, so the rules stay in one place): the work list of who is due, and
//! each participant's next point. The states match `domain::follow_up::schedule` exactly: an
//! interview makes a point `done`; an end before its window opened makes it `not_required`;
//! otherwise `upcoming`, `open` (to the due date), `overdue` (to the window's close), `missed`.
//! Points are listed up to the first one whose window opens after today or the end.

use chrono::NaiveDate;
use diesel::sql_types::{Array, Bool, Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::users::Role;
use crate::db::scope::Scope;

/// A rule of the schedule, as data: see `domain::follow_up::Rule`.
pub struct RuleRow {
    pub name: &'static str,
    /// `start`, `baseline` or `end`.
    pub anchor: &'static str,
    pub days: i32,
    pub years: i32,
    pub before: i32,
    pub after: i32,
    pub repeats: bool,
}

/// A point of someone's schedule, with its urgency (0 overdue, 1 open, 2 missed, 3 upcoming,
/// 4 done, 5 not required).
#[derive(Debug, Clone, QueryableByName)]
pub struct DuePoint {
    #[diesel(sql_type = SqlUuid)]
    pub episode_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: Uuid,
    #[diesel(sql_type = Text)]
    pub point: String,
    #[diesel(sql_type = Date)]
    pub due: NaiveDate,
    #[diesel(sql_type = Date)]
    pub window_opens: NaiveDate,
    #[diesel(sql_type = Date)]
    pub window_closes: NaiveDate,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Integer)]
    pub urgency: i32,
}

/// Which points to list, most urgent first.
#[derive(Debug, Default)]
pub struct PointFilter {
    pub states: Vec<String>,
    pub due_before: Option<NaiveDate>,
    /// Only these participants' points.
    pub participant_ids: Option<Vec<Uuid>>,
    /// After this point of the page before: `(urgency, due, episode_id, point)`.
    pub after: Option<(i32, NaiveDate, Uuid, String)>,
    /// Only each participant's most urgent point.
    pub first_per_participant: bool,
    pub limit: i64,
}

const POINTS: &str = "
WITH rules AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[],
        $7::bool[]) WITH ORDINALITY AS r(name, anchor, days, years, before, after, repeats, position)
),
episodes_in_scope AS MATERIALIZED (
    SELECT e.id, e.participant_id, e.started_on, e.ended_on,
        (now() AT TIME ZONE o.time_zone)::date AS today,
        coalesce(b.conducted_on, e.started_on) AS baseline
    FROM episodes e
    JOIN organizations o ON o.id = e.organization_id
    LEFT JOIN episode_interviews b ON b.episode_id = e.id
        AND b.point = (SELECT name FROM rules WHERE anchor = 'start' LIMIT 1)
    WHERE e.organization_id = $8
      AND (NOT $9 OR EXISTS (SELECT 1 FROM pairings pa WHERE pa.participant_id = e.participant_id
                             AND pa.coach_id = $10 AND pa.status <> 'ended'))
      AND ($11::uuid[] IS NULL OR e.participant_id = ANY ($11))
),
points AS (
    SELECT ep.id AS episode_id, ep.participant_id, ep.today, ep.ended_on, r.anchor, r.position, n,
        CASE WHEN r.repeats THEN r.name || '_' || n ELSE r.name END AS point,
        (CASE r.anchor WHEN 'start' THEN ep.started_on WHEN 'baseline' THEN ep.baseline
              ELSE ep.ended_on END
         + make_interval(years => r.years * n, days => r.days * n))::date AS due,
        r.before, r.after
    FROM episodes_in_scope ep
    CROSS JOIN rules r
    CROSS JOIN LATERAL generate_series(1, CASE WHEN r.repeats
        THEN greatest(1, (coalesce(ep.ended_on, ep.today) - ep.baseline) / 365 + 2) ELSE 1 END) n
    WHERE r.anchor <> 'end' OR ep.ended_on IS NOT NULL
),
dated AS (
    SELECT p.*, p.due - p.before AS window_opens, p.due + p.after AS window_closes,
        p.anchor <> 'end' AND p.due - p.before > coalesce(p.ended_on, p.today) AS beyond
    FROM points p
),
listed AS ({listed}),
stated AS (
    SELECT l.episode_id, l.participant_id, l.point, l.due, l.window_opens, l.window_closes,
        CASE WHEN i.id IS NOT NULL THEN 'done'
             WHEN l.anchor <> 'end' AND l.ended_on < l.window_opens THEN 'not_required'
             WHEN l.today < l.window_opens THEN 'upcoming'
             WHEN l.today <= l.due THEN 'open'
             WHEN l.today <= l.window_closes THEN 'overdue'
             ELSE 'missed' END AS state
    FROM listed l
    LEFT JOIN episode_interviews i ON i.episode_id = l.episode_id AND i.point = l.point
    WHERE NOT l.beyond OR l.beyond_rank = 1
),
ranked AS (
    SELECT s.*, CASE s.state WHEN 'overdue' THEN 0 WHEN 'open' THEN 1 WHEN 'missed' THEN 2
                             WHEN 'upcoming' THEN 3 WHEN 'done' THEN 4 ELSE 5 END AS urgency
    FROM stated s
    WHERE s.state = ANY ($12) AND ($13::date IS NULL OR s.due < $13)
),
chosen AS ({chosen})
SELECT episode_id, participant_id, point, due, window_opens, window_closes, state, urgency
FROM chosen
WHERE $14::int IS NULL
   OR (urgency, due, episode_id, point) > ($14, $15::date, $16::uuid, $17::text)
ORDER BY urgency, due, episode_id, point
LIMIT $18";

/// The points listed: up to the first beyond the horizon, numbering those beyond. Only
/// `upcoming` and `not_required` points can be beyond it, so without those states the ones
/// beyond are left out at once, and so are those whose window cannot give the states asked
/// for ($19: open or overdue, $20: missed, $21: upcoming, $22: done or not required).
const EVERY_LISTED: &str = "SELECT d.*, row_number() OVER (PARTITION BY d.episode_id, d.beyond
    ORDER BY d.position, d.n) AS beyond_rank FROM dated d";
const WITHIN_HORIZON: &str = "SELECT d.*, 1::bigint AS beyond_rank FROM dated d
    WHERE NOT d.beyond AND ($22
        OR ($19 AND d.window_opens <= d.today AND d.today <= d.window_closes)
        OR ($20 AND d.today > d.window_closes)
        OR ($21 AND d.today < d.window_opens))";

/// Every point, or each participant's most urgent one.
const EVERY_POINT: &str = "SELECT * FROM ranked";
const FIRST_PER_PARTICIPANT: &str = "SELECT DISTINCT ON (participant_id) * FROM ranked
    ORDER BY participant_id, urgency, due, episode_id, point";

/// The points `scope` may see that match `filter`, most urgent first (overdue, open, missed,
/// upcoming, done, not required; then by due date).
pub async fn points(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    rules: &[RuleRow],
    filter: &PointFilter,
) -> diesel::QueryResult<Vec<DuePoint>> {
    let column = |f: fn(&RuleRow) -> i32| rules.iter().map(f).collect::<Vec<i32>>();
    let after = filter.after.as_ref();
    let chosen = match filter.first_per_participant {
        true => FIRST_PER_PARTICIPANT,
        false => EVERY_POINT,
    };
    let asks = |states: &[&str]| filter.states.iter().any(|s| states.contains(&s.as_str()));
    let listed = match asks(&["upcoming", "not_required"]) {
        true => EVERY_LISTED,
        false => WITHIN_HORIZON,
    };
    let sql = POINTS
        .replace("{chosen}", chosen)
        .replace("{listed}", listed);
    diesel::sql_query(sql)
        .bind::<Array<Text>, _>(rules.iter().map(|r| r.name).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rules.iter().map(|r| r.anchor).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(column(|r| r.days))
        .bind::<Array<Integer>, _>(column(|r| r.years))
        .bind::<Array<Integer>, _>(column(|r| r.before))
        .bind::<Array<Integer>, _>(column(|r| r.after))
        .bind::<Array<Bool>, _>(rules.iter().map(|r| r.repeats).collect::<Vec<_>>())
        .bind::<SqlUuid, _>(scope.organization_id)
        .bind::<Bool, _>(scope.role == Role::Coach)
        .bind::<SqlUuid, _>(scope.user_id)
        .bind::<Nullable<Array<SqlUuid>>, _>(filter.participant_ids.clone())
        .bind::<Array<Text>, _>(filter.states.clone())
        .bind::<Nullable<Date>, _>(filter.due_before)
        .bind::<Nullable<Integer>, _>(after.map(|a| a.0))
        .bind::<Nullable<Date>, _>(after.map(|a| a.1))
        .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.2))
        .bind::<Nullable<Text>, _>(after.map(|a| a.3.clone()))
        .bind::<diesel::sql_types::BigInt, _>(filter.limit)
        .bind::<Bool, _>(asks(&["open", "overdue"]))
        .bind::<Bool, _>(asks(&["missed"]))
        .bind::<Bool, _>(asks(&["upcoming"]))
        .bind::<Bool, _>(asks(&["done", "not_required"]))
        .load(conn)
        .await
}
