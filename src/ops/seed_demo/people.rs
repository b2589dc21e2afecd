//! Organizations, their staff, participants (some with a portal account) and the pairing of
//! each participant with a coach of the same organization.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::sql_types::{Array, Date, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ids::{epoch, Stream};
use super::{Hashes, Options, Progress, PASSWORDS};

pub const BATCH: usize = 10_000;

const FIRST_NAMES: &[&str] = &[
    "Alex", "Jordan", "Sam", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Maria", "José", "Aisha", "Dmitri", "Mei", "Kwame", "Fatima", "Liam", "Noah", "Emma", "Olivia",
    "Ava", "Lucas", "Mateo", "Sofia", "Elena", "Omar", "Grace", "Hana", "Theo",
];
const LAST_NAMES: &[&str] = &[
    "Rivera", "Nguyen", "Smith", "Johnson", "Garcia", "Okafor", "Kowalski", "Chen", "Patel",
    "Brown", "Lopez", "Haddad", "Murphy", "Silva", "Kim", "Walker", "Novak", "Baker", "Diaz",
    "Reyes", "Ito", "Mensah", "Larsen", "Costa", "Ahmed", "Fischer", "Moreau", "Young",
];
const PATHWAYS: &[&str] = &[
    "twelve_step",
    "smart_recovery",
    "medication_assisted",
    "faith_based",
    "harm_reduction",
    "natural_recovery",
];
const NEEDS: &[&str] = &[
    "housing",
    "employment",
    "transportation",
    "food",
    "legal",
    "mental_health",
    "childcare",
];
const PRONOUNS: &[&str] = &["she/her", "he/him", "they/them"];

pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub admin: Uuid,
    pub created_at: DateTime<Utc>,
}

pub struct Member {
    pub id: Uuid,
    pub number: usize,
    pub org: usize,
    pub coach: Uuid,
    pub full_name: String,
    /// When the pairing with the coach started; every later record is after it.
    pub since: DateTime<Utc>,
    pub has_portal: bool,
}

/// Who was created, for the tables that refer to them.
pub struct People {
    pub orgs: Vec<Org>,
    pub members: Vec<Member>,
    pub first_coach: usize,
}

impl People {
    pub fn logins(&self, seed: u64) -> Vec<(&'static str, String, &'static str)> {
        let participant = self
            .members
            .iter()
            .find(|m| m.has_portal)
            .map_or(1, |m| m.number);
        let numbers = [1, 1, self.first_coach, participant];
        PASSWORDS
            .iter()
            .zip(numbers)
            .map(|((role, password), n)| (*role, email(role, n, seed), *password))
            .collect()
    }
}

pub fn email(role: &str, number: usize, seed: u64) -> String {
    format!("{role}{number}@seed{seed}.demo.example")
}

/// The first organization's id for a seed: how a rerun is recognised.
pub fn first_organization_id(seed: u64) -> Uuid {
    Stream::new(seed, 1).id(org_created_at(0))
}

fn org_created_at(index: usize) -> DateTime<Utc> {
    epoch() - Duration::days(500) + Duration::minutes(index as i64)
}

/// The caseload the busiest coach gets.
pub fn max_caseload(options: &Options) -> u32 {
    let per_org = options.participants.div_ceil(options.organizations);
    let coaches = (options.coaches / options.organizations).max(1);
    per_org.div_ceil(coaches)
}

/// The coaches of organization `org`, by global index, as [`insert`] numbers them.
fn coach_of(options: &Options, org: usize, local: usize) -> usize {
    let orgs = options.organizations as usize;
    let coaches = options.coaches as usize;
    let in_org = coaches / orgs + usize::from(org < coaches % orgs);
    org + orgs * (local % in_org)
}

#[derive(Default)]
struct Users {
    id: Vec<Uuid>,
    org: Vec<Uuid>,
    email: Vec<String>,
    name: Vec<String>,
    role: Vec<String>,
    hash: Vec<String>,
    at: Vec<DateTime<Utc>>,
}

impl Users {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: Uuid,
        org: Uuid,
        email: String,
        name: String,
        role: &str,
        hash: &str,
        at: DateTime<Utc>,
    ) {
        self.id.push(id);
        self.org.push(org);
        self.email.push(email);
        self.name.push(name);
        self.role.push(role.to_owned());
        self.hash.push(hash.to_owned());
        self.at.push(at);
    }

    async fn flush(
        &mut self,
        conn: &mut AsyncPgConnection,
        progress: &mut Progress,
    ) -> diesel::QueryResult<()> {
        let rows = self.id.len();
        if rows == 0 {
            return Ok(());
        }
        diesel::sql_query(
            "INSERT INTO users (id, organization_id, email, display_name, role, password_hash, \
             created_at, updated_at) SELECT id, o, e, n, r, h, c, c FROM unnest($1::uuid[], \
             $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) \
             AS t(id, o, e, n, r, h, c)",
        )
        .bind::<Array<SqlUuid>, _>(std::mem::take(&mut self.id))
        .bind::<Array<SqlUuid>, _>(std::mem::take(&mut self.org))
        .bind::<Array<Text>, _>(std::mem::take(&mut self.email))
        .bind::<Array<Text>, _>(std::mem::take(&mut self.name))
        .bind::<Array<Text>, _>(std::mem::take(&mut self.role))
        .bind::<Array<Text>, _>(std::mem::take(&mut self.hash))
        .bind::<Array<Timestamptz>, _>(std::mem::take(&mut self.at))
        .execute(conn)
        .await?;
        progress.done("users", rows);
        Ok(())
    }
}

fn name(stream: &mut Stream) -> (String, String) {
    (
        (*stream.pick(FIRST_NAMES)).to_owned(),
        (*stream.pick(LAST_NAMES)).to_owned(),
    )
}

fn tags(stream: &mut Stream, from: &[&str], most: i64) -> String {
    let count = stream.range(0, most);
    let mut chosen: Vec<&str> = Vec::new();
    for _ in 0..count {
        let tag = *stream.pick(from);
        if !chosen.contains(&tag) {
            chosen.push(tag);
        }
    }
    chosen.join(",")
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    options: &Options,
    hashes: &Hashes,
    progress: &mut Progress,
) -> diesel::QueryResult<People> {
    let seed = options.seed;
    let mut orgs_stream = Stream::new(seed, 1);
    let mut staff = Stream::new(seed, 2);
    let mut users = Users::default();
    let mut orgs = Vec::new();
    for index in 0..options.organizations as usize {
        let created_at = org_created_at(index);
        let id = orgs_stream.id(created_at);
        let admin = staff.id(created_at);
        let supervisor = staff.id(created_at);
        let n = index + 1;
        let org_name = format!("Demo Recovery Community {n}");
        users.push(
            admin,
            id,
            email("admin", n, seed),
            format!("Admin {n}"),
            "admin",
            &hashes.admin,
            created_at,
        );
        let (first, last) = name(&mut staff);
        users.push(
            supervisor,
            id,
            email("supervisor", n, seed),
            format!("{first} {last}"),
            "supervisor",
            &hashes.supervisor,
            created_at,
        );
        orgs.push(Org {
            id,
            name: org_name,
            admin,
            created_at,
        });
    }
    diesel::sql_query(
        "INSERT INTO organizations (id, name, created_at) \
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])",
    )
    .bind::<Array<SqlUuid>, _>(orgs.iter().map(|o| o.id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(orgs.iter().map(|o| o.name.clone()).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(orgs.iter().map(|o| o.created_at).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    progress.done("organizations", orgs.len());
    let coaches = insert_coaches(conn, options, hashes, &orgs, &mut users, progress).await?;
    let members = insert_participants(conn, options, hashes, &orgs, &coaches, progress).await?;
    Ok(People {
        orgs,
        members,
        first_coach: 1,
    })
}

async fn insert_coaches(
    conn: &mut AsyncPgConnection,
    options: &Options,
    hashes: &Hashes,
    orgs: &[Org],
    users: &mut Users,
    progress: &mut Progress,
) -> diesel::QueryResult<Vec<Uuid>> {
    let mut stream = Stream::new(options.seed, 3);
    let caseload = i32::try_from((max_caseload(options) + 10).min(500)).unwrap_or(500);
    let (mut ids, mut org_ids, mut languages, mut pathways) = (vec![], vec![], vec![], vec![]);
    for index in 0..options.coaches as usize {
        let org = &orgs[index % orgs.len()];
        let at = org.created_at + Duration::hours(1 + index as i64 / orgs.len() as i64);
        let id = stream.id(at);
        let (first, last) = name(&mut stream);
        let n = index + 1;
        users.push(
            id,
            org.id,
            email("coach", n, options.seed),
            format!("{first} {last}"),
            "coach",
            &hashes.coach,
            at,
        );
        ids.push(id);
        org_ids.push(org.id);
        languages.push(if stream.percent(30) { "en,es" } else { "en" }.to_owned());
        pathways.push(tags(&mut stream, PATHWAYS, 3));
        if users.id.len() >= BATCH {
            users.flush(conn, progress).await?;
        }
    }
    users.flush(conn, progress).await?;
    for chunk in 0..ids.len().div_ceil(BATCH) {
        let range = chunk * BATCH..((chunk + 1) * BATCH).min(ids.len());
        diesel::sql_query(
            "INSERT INTO coach_profiles (user_id, organization_id, max_caseload, languages, \
             recovery_pathways, specialties, lived_experience, created_at, updated_at) \
             SELECT u, o, $5, string_to_array(l, ','), string_to_array(p, ','), \
             '{peer_support}', '{}', $6, $6 \
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS t(u, o, l, p)",
        )
        .bind::<Array<SqlUuid>, _>(&ids[range.clone()])
        .bind::<Array<SqlUuid>, _>(&org_ids[range.clone()])
        .bind::<Array<Text>, _>(&languages[range.clone()])
        .bind::<Array<Text>, _>(&pathways[range.clone()])
        .bind::<Int4, _>(caseload)
        .bind::<Timestamptz, _>(epoch() - Duration::days(450))
        .execute(conn)
        .await?;
        progress.done("coach_profiles", range.len());
    }
    Ok(ids)
}

#[derive(Default)]
struct Participants {
    id: Vec<Uuid>,
    org: Vec<Uuid>,
    user: Vec<Option<Uuid>>,
    first: Vec<String>,
    last: Vec<String>,
    pronouns: Vec<Option<String>>,
    birth: Vec<NaiveDate>,
    email: Vec<String>,
    language: Vec<String>,
    pathways: Vec<String>,
    needs: Vec<String>,
    created_by: Vec<Uuid>,
    at: Vec<DateTime<Utc>>,
    pairing: Vec<Uuid>,
    change: Vec<Uuid>,
    coach: Vec<Uuid>,
    since: Vec<DateTime<Utc>>,
}

async fn insert_participants(
    conn: &mut AsyncPgConnection,
    options: &Options,
    hashes: &Hashes,
    orgs: &[Org],
    coaches: &[Uuid],
    progress: &mut Progress,
) -> diesel::QueryResult<Vec<Member>> {
    let mut stream = Stream::new(options.seed, 4);
    let mut members = Vec::with_capacity(options.participants as usize);
    let mut rows = Participants::default();
    let mut portal = Users::default();
    for index in 0..options.participants as usize {
        let org_index = index % orgs.len();
        let org = &orgs[org_index];
        let local = index / orgs.len();
        let coach = coaches[coach_of(options, org_index, local)];
        let at = stream.minutes_after(epoch() - Duration::days(400), 0, 60 * 24 * 300);
        let since = stream.minutes_after(at, 60, 60 * 24 * 7);
        let id = stream.id(at);
        let (first, last) = name(&mut stream);
        let n = index + 1;
        let address = email("participant", n, options.seed);
        let has_portal = local.is_multiple_of(10);
        let user = has_portal.then(|| stream.id(at));
        if let Some(user) = user {
            portal.push(
                user,
                org.id,
                address.clone(),
                format!("{first} {last}"),
                "participant",
                &hashes.participant,
                at,
            );
        }
        rows.id.push(id);
        rows.org.push(org.id);
        rows.user.push(user);
        rows.pronouns.push(
            stream
                .percent(60)
                .then(|| (*stream.pick(PRONOUNS)).to_owned()),
        );
        rows.birth.push(
            NaiveDate::from_ymd_opt(1960 + i32::try_from(stream.range(0, 45)).unwrap_or(0), 1, 1)
                .unwrap_or_default()
                + Duration::days(stream.range(0, 364)),
        );
        rows.email.push(address);
        rows.language
            .push(if stream.percent(20) { "es" } else { "en" }.to_owned());
        rows.pathways.push(tags(&mut stream, PATHWAYS, 2));
        rows.needs.push(tags(&mut stream, NEEDS, 3));
        rows.created_by.push(org.admin);
        rows.at.push(at);
        rows.pairing.push(stream.id(since));
        rows.change.push(stream.id(since));
        rows.coach.push(coach);
        rows.since.push(since);
        members.push(Member {
            id,
            number: n,
            org: org_index,
            coach,
            full_name: format!("{first} {last}"),
            since,
            has_portal,
        });
        rows.first.push(first);
        rows.last.push(last);
        if rows.id.len() >= BATCH {
            portal.flush(conn, progress).await?;
            flush_participants(conn, &mut rows, progress).await?;
        }
    }
    portal.flush(conn, progress).await?;
    flush_participants(conn, &mut rows, progress).await?;
    Ok(members)
}

async fn flush_participants(
    conn: &mut AsyncPgConnection,
    rows: &mut Participants,
    progress: &mut Progress,
) -> diesel::QueryResult<()> {
    let count = rows.id.len();
    if count == 0 {
        return Ok(());
    }
    let rows = std::mem::take(rows);
    diesel::sql_query(
        "INSERT INTO participants (id, organization_id, user_id, first_name, last_name, pronouns, \
         date_of_birth, email, preferred_language, recovery_pathways, needs, intake_date, status, \
         created_by, created_at, updated_at) \
         SELECT id, o, u, f, l, pr, b, e, lang, string_to_array(pw, ','), string_to_array(nd, ','), \
         c::date, 'active', cb, c, c FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], \
         $5::text[], $6::text[], $7::date[], $8::text[], $9::text[], $10::text[], $11::text[], \
         $12::uuid[], $13::timestamptz[]) AS t(id, o, u, f, l, pr, b, e, lang, pw, nd, cb, c)",
    )
    .bind::<Array<SqlUuid>, _>(&rows.id)
    .bind::<Array<SqlUuid>, _>(&rows.org)
    .bind::<Array<Nullable<SqlUuid>>, _>(&rows.user)
    .bind::<Array<Text>, _>(&rows.first)
    .bind::<Array<Text>, _>(&rows.last)
    .bind::<Array<Nullable<Text>>, _>(&rows.pronouns)
    .bind::<Array<Date>, _>(&rows.birth)
    .bind::<Array<Text>, _>(&rows.email)
    .bind::<Array<Text>, _>(&rows.language)
    .bind::<Array<Text>, _>(&rows.pathways)
    .bind::<Array<Text>, _>(&rows.needs)
    .bind::<Array<SqlUuid>, _>(&rows.created_by)
    .bind::<Array<Timestamptz>, _>(&rows.at)
    .execute(conn)
    .await?;
    progress.done("participants", count);
    // Each enrolled on their intake date: their first episode of care.
    diesel::sql_query(
        "INSERT INTO episodes (id, organization_id, participant_id, started_on, created_by, \
         created_at, updated_at) SELECT gen_random_uuid(), o, id, c::date, cb, c, c \
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[]) AS t(id, o, cb, c)",
    )
    .bind::<Array<SqlUuid>, _>(&rows.id)
    .bind::<Array<SqlUuid>, _>(&rows.org)
    .bind::<Array<SqlUuid>, _>(&rows.created_by)
    .bind::<Array<Timestamptz>, _>(&rows.at)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "WITH src AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], \
         $5::uuid[], $6::uuid[], $7::timestamptz[]) AS t(id, sc, o, p, coach, actor, at)), \
         pairs AS (INSERT INTO pairings (id, organization_id, participant_id, coach_id, status, \
         started_at, created_by, created_at, updated_at) \
         SELECT id, o, p, coach, 'active', at, actor, at, at FROM src) \
         INSERT INTO status_changes (id, subject_type, subject_id, from_status, to_status, \
         actor_id, at) SELECT sc, 'pairing', id, NULL, 'active', actor, at FROM src",
    )
    .bind::<Array<SqlUuid>, _>(&rows.pairing)
    .bind::<Array<SqlUuid>, _>(&rows.change)
    .bind::<Array<SqlUuid>, _>(&rows.org)
    .bind::<Array<SqlUuid>, _>(&rows.id)
    .bind::<Array<SqlUuid>, _>(&rows.coach)
    .bind::<Array<SqlUuid>, _>(&rows.created_by)
    .bind::<Array<Timestamptz>, _>(&rows.since)
    .execute(conn)
    .await?;
    progress.done("pairings", count);
    progress.done("status_changes", count);
    Ok(())
}
