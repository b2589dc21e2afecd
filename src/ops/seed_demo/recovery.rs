//! The recovery work of each participant: goals (each with its first status in the history),
//! signed session notes written by the coach, and BARC-10 assessments.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::sql_types::{Array, Date, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ids::{epoch, Stream};
use super::people::{Member, People};
use super::{Options, Progress};

const GOALS: &[(&str, &str)] = &[
    (
        "substance_use",
        "Stay connected to a recovery meeting each week",
    ),
    ("housing", "Move into stable recovery housing"),
    ("employment_education", "Finish a job-readiness course"),
    ("physical_health", "See a primary care doctor"),
    ("mental_health", "Keep appointments with a counselor"),
    ("relationships_family", "Reconnect with family on Sundays"),
    ("legal", "Resolve outstanding fines"),
    ("finances", "Open a bank account and keep a budget"),
    (
        "community_participation",
        "Volunteer at the community center",
    ),
    ("purpose_spirituality", "Find a practice that brings calm"),
];
const SESSION_TYPES: &[&str] = &[
    "individual",
    "phone",
    "video",
    "text",
    "outreach",
    "care_coordination",
];
const SUMMARIES: &[&str] = &[
    "Checked in about the week; meetings attended and plans for the weekend.",
    "Worked on the housing application together and called the intake line.",
    "Talked through a difficult family visit and practiced a coping plan.",
    "Reviewed goals; celebrated 30 days and set the next step.",
    "Rode together to the clinic appointment and debriefed afterwards.",
    "Short phone check-in; doing well, asked for resume help next time.",
];
const BODY: &str = "Participant led the conversation. Strengths noted: consistency, humor, \
support from a sibling. Next step agreed together; coach will follow up as planned.";

/// Participants per round trip group: their goals, notes and assessments go in together.
const MEMBERS_PER_BATCH: usize = 500;

#[derive(Default)]
struct Goals {
    id: Vec<Uuid>,
    change: Vec<Uuid>,
    org: Vec<Uuid>,
    participant: Vec<Uuid>,
    title: Vec<String>,
    domain: Vec<String>,
    target: Vec<NaiveDate>,
    by: Vec<Uuid>,
    at: Vec<DateTime<Utc>>,
}

#[derive(Default)]
struct Notes {
    id: Vec<Uuid>,
    org: Vec<Uuid>,
    participant: Vec<Uuid>,
    author: Vec<Uuid>,
    kind: Vec<String>,
    occurred: Vec<DateTime<Utc>>,
    minutes: Vec<i32>,
    summary: Vec<String>,
    body: Vec<Option<String>>,
    visibility: Vec<String>,
    goals: Vec<String>,
    mood: Vec<Option<i32>>,
    craving: Vec<Option<i32>>,
    follow_up: Vec<Option<String>>,
    due: Vec<Option<NaiveDate>>,
    at: Vec<DateTime<Utc>>,
}

#[derive(Default)]
struct Assessments {
    id: Vec<Uuid>,
    org: Vec<Uuid>,
    participant: Vec<Uuid>,
    answers: Vec<String>,
    total: Vec<i32>,
    taken: Vec<DateTime<Utc>>,
    by: Vec<Uuid>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    options: &Options,
    people: &People,
    progress: &mut Progress,
) -> diesel::QueryResult<()> {
    let mut stream = Stream::new(options.seed, 5);
    for members in people.members.chunks(MEMBERS_PER_BATCH) {
        let (mut goals, mut notes, mut tests) = Default::default();
        for member in members {
            let org = people.orgs[member.org].id;
            let ids = plan(&mut stream, options, org, member, &mut goals);
            write_notes(&mut stream, options, org, member, &ids, &mut notes);
            assess(&mut stream, options, org, member, &mut tests);
        }
        flush_goals(conn, goals, progress).await?;
        flush_notes(conn, notes, progress).await?;
        flush_assessments(conn, tests, progress).await?;
    }
    Ok(())
}

/// Spreads `count` moments evenly from `from` to the demo epoch.
fn moment(from: DateTime<Utc>, index: u32, count: u32) -> DateTime<Utc> {
    let span = (epoch() - from).num_minutes().max(1);
    from + Duration::minutes(span * i64::from(index + 1) / i64::from(count + 1))
}

fn plan(
    stream: &mut Stream,
    options: &Options,
    org: Uuid,
    member: &Member,
    rows: &mut Goals,
) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for index in 0..options.goals_per_participant {
        let at = stream.minutes_after(member.since, 30 + i64::from(index) * 60, 60 * 24 * 14);
        let (domain, title) = *stream.pick(GOALS);
        let id = stream.id(at);
        ids.push(id);
        rows.id.push(id);
        rows.change.push(stream.id(at));
        rows.org.push(org);
        rows.participant.push(member.id);
        rows.title.push(title.to_owned());
        rows.domain.push(domain.to_owned());
        rows.target
            .push(at.date_naive() + Duration::days(stream.range(30, 180)));
        rows.by.push(member.coach);
        rows.at.push(at);
    }
    ids
}

fn write_notes(
    stream: &mut Stream,
    options: &Options,
    org: Uuid,
    member: &Member,
    goals: &[Uuid],
    rows: &mut Notes,
) {
    let count = options.notes_per_participant;
    for index in 0..count {
        let occurred = stream.minutes_after(moment(member.since, index, count), 0, 120);
        let last = index + 1 == count;
        let follow_up = last && stream.percent(40);
        rows.id.push(stream.id(occurred + Duration::hours(2)));
        rows.org.push(org);
        rows.participant.push(member.id);
        rows.author.push(member.coach);
        rows.kind.push((*stream.pick(SESSION_TYPES)).to_owned());
        rows.occurred.push(occurred);
        rows.minutes
            .push(i32::try_from(stream.range(15, 90)).unwrap_or(30));
        rows.summary.push((*stream.pick(SUMMARIES)).to_owned());
        rows.body.push(stream.percent(50).then(|| BODY.to_owned()));
        let visibility = match stream.range(0, 99) {
            0..=79 => "care_team",
            80..=94 => "participant",
            _ => "restricted",
        };
        rows.visibility.push(visibility.to_owned());
        let linked =
            (!goals.is_empty() && stream.percent(50)).then(|| stream.pick(goals).to_string());
        rows.goals.push(linked.unwrap_or_default());
        let checked_in = stream.percent(70);
        rows.mood
            .push(checked_in.then(|| stream.range(1, 5) as i32));
        rows.craving
            .push(checked_in.then(|| stream.range(0, 10) as i32));
        rows.follow_up
            .push(follow_up.then(|| "Call to confirm the next appointment".to_owned()));
        rows.due
            .push(follow_up.then(|| epoch().date_naive() + Duration::days(stream.range(1, 14))));
        rows.at.push(occurred + Duration::hours(2));
    }
}

fn assess(
    stream: &mut Stream,
    options: &Options,
    org: Uuid,
    member: &Member,
    rows: &mut Assessments,
) {
    let count = options.assessments_per_participant;
    for index in 0..count {
        let taken = moment(member.since, index, count);
        let answers: Vec<i64> = (0..10).map(|_| stream.range(2, 6)).collect();
        rows.id.push(stream.id(taken));
        rows.org.push(org);
        rows.participant.push(member.id);
        rows.answers.push(
            answers
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
        rows.total.push(answers.iter().sum::<i64>() as i32);
        rows.taken.push(taken);
        rows.by.push(member.coach);
    }
}

async fn flush_goals(
    conn: &mut AsyncPgConnection,
    rows: Goals,
    progress: &mut Progress,
) -> diesel::QueryResult<()> {
    if rows.id.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "WITH src AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], \
         $5::text[], $6::text[], $7::date[], $8::uuid[], $9::timestamptz[]) \
         AS t(id, sc, o, p, title, domain, target, actor, at)), \
         g AS (INSERT INTO goals (id, organization_id, participant_id, title, domain, target_date, \
         status, created_by, created_at, updated_at) \
         SELECT id, o, p, title, domain, target, 'active', actor, at, at FROM src) \
         INSERT INTO status_changes (id, subject_type, subject_id, from_status, to_status, \
         actor_id, at) SELECT sc, 'goal', id, NULL, 'active', actor, at FROM src",
    )
    .bind::<Array<SqlUuid>, _>(&rows.id)
    .bind::<Array<SqlUuid>, _>(&rows.change)
    .bind::<Array<SqlUuid>, _>(&rows.org)
    .bind::<Array<SqlUuid>, _>(&rows.participant)
    .bind::<Array<Text>, _>(&rows.title)
    .bind::<Array<Text>, _>(&rows.domain)
    .bind::<Array<Date>, _>(&rows.target)
    .bind::<Array<SqlUuid>, _>(&rows.by)
    .bind::<Array<Timestamptz>, _>(&rows.at)
    .execute(conn)
    .await?;
    progress.done("goals", rows.id.len());
    progress.done("status_changes", rows.id.len());
    Ok(())
}

async fn flush_notes(
    conn: &mut AsyncPgConnection,
    rows: Notes,
    progress: &mut Progress,
) -> diesel::QueryResult<()> {
    if rows.id.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO session_notes (id, organization_id, participant_id, author_id, session_type, \
         occurred_at, duration_minutes, summary, body, visibility, goal_ids, mood, craving, \
         follow_up, follow_up_due, signed_at, created_at, updated_at) \
         SELECT id, o, p, a, k, occ, m, s, b, v, string_to_array(g, ',')::uuid[], mood, craving, \
         f, due, at + interval '10 minutes', at, at + interval '10 minutes' \
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], \
         $6::timestamptz[], $7::int4[], $8::text[], $9::text[], $10::text[], $11::text[], \
         $12::int4[], $13::int4[], $14::text[], $15::date[], $16::timestamptz[]) \
         AS t(id, o, p, a, k, occ, m, s, b, v, g, mood, craving, f, due, at)",
    )
    .bind::<Array<SqlUuid>, _>(&rows.id)
    .bind::<Array<SqlUuid>, _>(&rows.org)
    .bind::<Array<SqlUuid>, _>(&rows.participant)
    .bind::<Array<SqlUuid>, _>(&rows.author)
    .bind::<Array<Text>, _>(&rows.kind)
    .bind::<Array<Timestamptz>, _>(&rows.occurred)
    .bind::<Array<Int4>, _>(&rows.minutes)
    .bind::<Array<Text>, _>(&rows.summary)
    .bind::<Array<Nullable<Text>>, _>(&rows.body)
    .bind::<Array<Text>, _>(&rows.visibility)
    .bind::<Array<Text>, _>(&rows.goals)
    .bind::<Array<Nullable<Int4>>, _>(&rows.mood)
    .bind::<Array<Nullable<Int4>>, _>(&rows.craving)
    .bind::<Array<Nullable<Text>>, _>(&rows.follow_up)
    .bind::<Array<Nullable<Date>>, _>(&rows.due)
    .bind::<Array<Timestamptz>, _>(&rows.at)
    .execute(conn)
    .await?;
    progress.done("session_notes", rows.id.len());
    Ok(())
}

async fn flush_assessments(
    conn: &mut AsyncPgConnection,
    rows: Assessments,
    progress: &mut Progress,
) -> diesel::QueryResult<()> {
    if rows.id.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO assessments (id, organization_id, participant_id, instrument, answers, total, \
         taken_at, submitted_by, submitted_by_user_id, created_at) \
         SELECT id, o, p, 'barc-10', string_to_array(a, ',')::int4[], total, at, 'staff', actor, at \
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int4[], \
         $6::timestamptz[], $7::uuid[]) AS x(id, o, p, a, total, at, actor)",
    )
    .bind::<Array<SqlUuid>, _>(&rows.id)
    .bind::<Array<SqlUuid>, _>(&rows.org)
    .bind::<Array<SqlUuid>, _>(&rows.participant)
    .bind::<Array<Text>, _>(&rows.answers)
    .bind::<Array<Int4>, _>(&rows.total)
    .bind::<Array<Timestamptz>, _>(&rows.taken)
    .bind::<Array<SqlUuid>, _>(&rows.by)
    .execute(conn)
    .await?;
    progress.done("assessments", rows.id.len());
    Ok(())
}
